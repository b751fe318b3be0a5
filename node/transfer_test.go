package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/weights"
)

// TestTransferFetchFails: a fetch that cannot finish is reported failed,
// with its error, by the tracker (the node API reports the tracker's
// transfers: see package swarmbackend).
func TestTransferFetchFails(t *testing.T) {
	storeA, root := importModel(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.Store = storeA
	a := startNode(t, cfg)
	serve(t, a, storeSource(t, a, root), ServeOptions{Blocks: spanOf(0, 4)})

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name      string
		bootstrap []*Node
		ctx       context.Context
		want      error
	}{
		{"no providers", nil, context.Background(), weights.ErrNoProvider},
		{"context cancelled", []*Node{a}, cancelled, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, tc.bootstrap...)
			cfg.Store = emptyStore(t)
			b := startNode(t, cfg)
			ctx, cancel := context.WithTimeout(tc.ctx, 30*time.Second)
			defer cancel()
			_, err := storeSource(t, b, root).Open(ctx, spanOf(1, 3), false, false)
			if !errors.Is(err, tc.want) {
				t.Fatalf("open: %v, want %v", err, tc.want)
			}
			trs := b.Transfers()
			if len(trs) != 1 {
				t.Fatalf("transfers %+v, want one", trs)
			}
			tr := trs[0]
			if tr.Kind != TransferFetch || tr.Phase != PhaseFailed || tr.Err != err.Error() || tr.Finished.IsZero() || tr.Running() ||
				tr.Model != root.String() || tr.Span != spanOf(1, 3) {
				t.Fatalf("transfer %+v, want failed with %q", tr, err)
			}
		})
	}
}

// TestTransferImport: Node.Import records its progress, learns the root
// CID at the end, and calls the caller's progress callback too; a failed
// import is recorded as failed.
func TestTransferImport(t *testing.T) {
	fileSource(t, aidreamsPath) // skips when the model is missing
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		phases []string
		fail   bool
	}{
		{"ok", context.Background(), []string{PhaseImporting, PhaseDone}, false},
		{"cancelled", cancelled, []string{PhaseImporting, PhaseFailed}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var phases []string
			cfg := testConfig(t)
			cfg.Store = emptyStore(t)
			cfg.OnTransfer = func(tr Transfer) {
				mu.Lock()
				defer mu.Unlock()
				if len(phases) == 0 || phases[len(phases)-1] != tr.Phase {
					phases = append(phases, tr.Phase)
				}
			}
			n := startNode(t, cfg)
			f, err := gguf.Open(aidreamsPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var last weights.Progress
			root, err := n.Import(tc.ctx, f, aidreamsPath, weights.ImportOptions{Progress: func(p weights.Progress) { last = p }})
			if (err != nil) != tc.fail {
				t.Fatalf("import: %v, want failure %v", err, tc.fail)
			}
			trs := n.Transfers()
			if len(trs) != 1 {
				t.Fatalf("transfers %+v, want one", trs)
			}
			tr := trs[0]
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(phases) != fmt.Sprint(tc.phases) {
				t.Fatalf("phases %v, want %v", phases, tc.phases)
			}
			if tc.fail {
				if tr.Phase != PhaseFailed || tr.Err == "" || tr.Model != "" || !strings.Contains(tr.Err, "context canceled") {
					t.Fatalf("transfer %+v, want failed", tr)
				}
				return
			}
			if tr.Kind != TransferImport || tr.File != aidreamsPath || tr.Model != root.String() || tr.Phase != PhaseDone ||
				tr.Total == 0 || tr.Done != tr.Total || last.Done != tr.Total {
				t.Fatalf("transfer %+v (caller's last progress %+v), want done as %s", tr, last, root)
			}
		})
	}
}

// TestTransfersTracker checks the tracker alone: the latest transfer of a
// key replaces the older, whose later reports change nothing; reports
// after the end are ignored; a nil tracker records nothing.
func TestTransfersTracker(t *testing.T) {
	var nilTracker *transfers
	h := nilTracker.begin(Transfer{Kind: TransferFetch, Model: "m"})
	h.progress(weights.Progress{Done: 1, Total: 2})
	h.end(cid.Undef, nil)
	if got := nilTracker.list(); len(got) != 0 {
		t.Fatalf("nil tracker lists %v", got)
	}

	tr := newTransfers(nil, nil)
	old := tr.begin(Transfer{Kind: TransferFetch, Model: "m", Span: spanOf(0, 1)})
	cur := tr.begin(Transfer{Kind: TransferFetch, Model: "m", Span: spanOf(1, 2)})
	other := tr.begin(Transfer{Kind: TransferImport, File: "m.gguf"})
	old.progress(weights.Progress{Done: 5, Total: 5})
	old.end(cid.Undef, errors.New("old"))
	cur.progress(weights.Progress{Done: 1, Total: 4, Rate: 1})
	cur.end(cid.Undef, nil)
	cur.progress(weights.Progress{Done: 2, Total: 4}) // after the end: ignored
	other.end(cid.Undef, errors.New("boom"))

	got := tr.list()
	if len(got) != 2 {
		t.Fatalf("transfers %+v, want two", got)
	}
	for _, tc := range []struct {
		i                int
		kind, phase, err string
		span             [2]int
		done, total      int64
	}{
		{0, TransferFetch, PhaseDone, "", [2]int{1, 2}, 4, 4},
		{1, TransferImport, PhaseFailed, "boom", [2]int{0, 0}, 0, 0},
	} {
		g := got[tc.i]
		if g.Kind != tc.kind || g.Phase != tc.phase || g.Err != tc.err || g.Span != spanOf(tc.span[0], tc.span[1]) ||
			g.Done != tc.done || g.Total != tc.total || g.Finished.Before(g.Started) {
			t.Errorf("transfer %d: %+v", tc.i, g)
		}
	}
}
