package node

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// Kinds of transfer.
const (
	TransferImport = "import" // a GGUF file into the weight store
	TransferFetch  = "fetch"  // blocks of a model from the swarm's providers
)

// Phases of a transfer.
const (
	PhaseImporting = "importing"
	PhaseFetching  = "fetching"
	PhaseDone      = "done"
	PhaseFailed    = "failed"
)

// Transfer is the progress of an import or fetch of a model's weights.
type Transfer struct {
	Kind string // TransferImport or TransferFetch
	// Model is the root CID; an import learns it when it is done.
	Model string
	// File is the GGUF file an import reads ("" for a fetch).
	File string
	// Span is the blocks a fetch gets (with the embedding and head when
	// Embed and Head are set).
	Span        sharding.Span
	Embed, Head bool
	Phase       string // PhaseImporting, PhaseFetching, PhaseDone or PhaseFailed
	// Done and Total count bytes; Total is 0 until known (a fetch learns it
	// once it has the manifests). Done includes bytes already stored.
	Done, Total int64
	Rate        float64       // bytes per second moved by this transfer
	ETA         time.Duration // 0 when unknown or finished
	Started     time.Time
	Finished    time.Time // zero while running
	Err         string    // why it failed
}

// Running reports whether the transfer has not ended yet.
func (t Transfer) Running() bool { return t.Phase == PhaseImporting || t.Phase == PhaseFetching }

// Progress is the transfer's progress as the weights package reports it.
func (t Transfer) Progress() weights.Progress {
	return t.ProgressAt(time.Now())
}

// ProgressAt is Progress with the time now given (a running transfer's
// elapsed time runs to it).
func (t Transfer) ProgressAt(now time.Time) weights.Progress {
	end := t.Finished
	if end.IsZero() {
		end = now
	}
	return weights.Progress{Done: t.Done, Total: t.Total, Elapsed: end.Sub(t.Started), Rate: t.Rate}
}

// key names the transfer in the tracker: one per model (or imported file)
// and kind, the latest replacing older ones.
func (t *Transfer) key() string {
	if t.Kind == TransferImport {
		return t.Kind + " " + t.File
	}
	return t.Kind + " " + t.Model
}

// label names the transfer in metrics: the model, or the file an import
// reads (its model is not known until the end).
func (t *Transfer) label() string {
	if t.Kind == TransferImport {
		return t.File
	}
	return t.Model
}

// transfers tracks the node's imports and fetches. It is safe for
// concurrent use; a nil *transfers tracks nothing.
type transfers struct {
	metrics *metrics.Metrics
	notify  func(Transfer) // Config.OnTransfer; may be nil
	clock   clock.Clock

	mu    sync.Mutex
	byKey map[string]*Transfer
}

// newTransfers returns a tracker on the system clock (set clock to
// change it).
func newTransfers(metrics *metrics.Metrics, notify func(Transfer)) *transfers {
	return &transfers{metrics: metrics, notify: notify, clock: clock.Real{}, byKey: map[string]*Transfer{}}
}

// transfer is the handle of one running transfer.
type transfer struct {
	tr *transfers
	t  *Transfer // guarded by tr.mu; replaced in byKey by a newer transfer of the same key
}

// begin records a new transfer, replacing the last one of its key.
func (tr *transfers) begin(t Transfer) *transfer {
	if tr == nil {
		return nil
	}
	t.Started = tr.clock.Now()
	if t.Kind == TransferImport {
		t.Phase = PhaseImporting
	} else {
		t.Phase = PhaseFetching
	}
	h := &transfer{tr: tr, t: &t}
	tr.mu.Lock()
	tr.byKey[t.key()] = h.t
	snap := t
	tr.mu.Unlock()
	tr.publish(snap)
	return h
}

// progress records a weights progress report.
func (h *transfer) progress(p weights.Progress) {
	if h == nil {
		return
	}
	h.tr.mu.Lock()
	if !h.t.Running() {
		h.tr.mu.Unlock()
		return
	}
	h.t.Done, h.t.Total, h.t.Rate, h.t.ETA = p.Done, p.Total, p.Rate, p.ETA()
	snap := *h.t
	h.tr.mu.Unlock()
	h.tr.publish(snap)
}

// end records the outcome; model, when valid, is the root CID learned.
func (h *transfer) end(model cid.Cid, err error) {
	if h == nil {
		return
	}
	h.tr.mu.Lock()
	t := h.t
	t.Finished, t.ETA = h.tr.clock.Now(), 0
	if model.Defined() {
		t.Model = model.String()
	}
	if err != nil {
		t.Phase, t.Err = PhaseFailed, err.Error()
	} else {
		t.Phase, t.Done = PhaseDone, t.Total
	}
	snap := *t
	h.tr.mu.Unlock()
	h.tr.publish(snap)
}

// publish passes a snapshot to the metrics and the OnTransfer hook,
// outside the lock.
func (tr *transfers) publish(t Transfer) {
	tr.metrics.SetTransfer(t.Kind, t.label(), t.Done, t.Total)
	if tr.notify != nil {
		tr.notify(t)
	}
}

// list returns copies of the transfers, oldest first.
func (tr *transfers) list() []Transfer {
	if tr == nil {
		return nil
	}
	tr.mu.Lock()
	out := make([]Transfer, 0, len(tr.byKey))
	for _, t := range tr.byKey {
		out = append(out, *t)
	}
	tr.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].key() < out[j].key()
	})
	return out
}

// Transfers returns the node's imports and fetches of weights: the latest
// of each model (and of each imported file), running or ended, oldest
// first.
func (n *Node) Transfers() []Transfer { return n.transfers.list() }

// Import imports the model in f (read from the file named file, which only
// labels the transfer) into the node's weight store, tracking its progress
// among the node's Transfers. opt.Progress, if set, is called too.
func (n *Node) Import(ctx context.Context, f *gguf.File, file string, opt weights.ImportOptions) (cid.Cid, error) {
	if n.cfg.Store == nil {
		return cid.Undef, fmt.Errorf("node: no weight store configured")
	}
	h := n.transfers.begin(Transfer{Kind: TransferImport, File: file})
	user := opt.Progress
	opt.Progress = func(p weights.Progress) {
		h.progress(p)
		if user != nil {
			user(p)
		}
	}
	root, err := n.cfg.Store.Import(ctx, f, opt)
	if err != nil {
		err = fmt.Errorf("node: import %s: %w", file, err)
	}
	h.end(root, err)
	return root, err
}
