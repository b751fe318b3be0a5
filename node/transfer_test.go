package node

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/weights"
)

// nodeAPI serves n's API (the node API and /metrics) over real HTTP on
// loopback and returns a client of it.
func nodeAPI(t testing.TB, n *Node, metrics *api.Metrics) *client.Client {
	t.Helper()
	ts := httptest.NewServer(api.NewServer(n.APIBackend(APIOptions{Metrics: metrics}), api.Options{Metrics: metrics, Logger: testLogger(t)}))
	t.Cleanup(ts.Close)
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTransferFetchProgress: node B starts with an empty store and
// fetches blocks 2-4 (with the embedding and head) of a model node A
// imported. While the fetch runs, B's node API (real HTTP, through the Go
// client) reports it as fetching; when Serve returns, the tracker, the API
// and /metrics report it done with every byte.
func TestTransferFetchProgress(t *testing.T) {
	storeA, root := importModel(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.Store = storeA
	a := startNode(t, cfg)
	serve(t, a, storeSource(t, a, root), ServeOptions{Blocks: spanOf(0, 2)})

	var (
		mu       sync.Mutex
		c        *client.Client // set before B fetches anything
		seen     []api.Transfer // B's API during the fetch
		seenErr  error
		phases   []string // of the fetch of blocks 2-4, as the hook saw them
		observed bool
	)
	metrics := api.NewMetrics()
	cfg = testConfig(t, a)
	cfg.Store = emptyStore(t)
	cfg.Metrics = metrics
	cfg.OnTransfer = func(tr Transfer) {
		if tr.Kind != TransferFetch || tr.Span != spanOf(2, 4) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if len(phases) == 0 || phases[len(phases)-1] != tr.Phase {
			phases = append(phases, tr.Phase)
		}
		// The first report that knows the size: ask the API over HTTP,
		// from inside the fetch, so the answer is from mid-transfer.
		if tr.Phase == PhaseFetching && tr.Total > 0 && !observed {
			observed = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := c.Status(ctx)
			seen, seenErr = st.Transfers, err
		}
	}
	b := startNode(t, cfg)
	mu.Lock()
	c = nodeAPI(t, b, metrics)
	mu.Unlock()
	serve(t, b, storeSource(t, b, root), ServeOptions{Blocks: spanOf(2, 4), Entry: true})

	mu.Lock()
	defer mu.Unlock()
	if !observed || seenErr != nil {
		t.Fatalf("the API was not asked during the fetch (observed %v): %v", observed, seenErr)
	}
	if len(seen) != 1 {
		t.Fatalf("transfers during the fetch: %+v, want one", seen)
	}
	if got := seen[0]; got.Kind != "fetch" || got.Phase != "fetching" || got.Model != root.String() || got.Start != 2 || got.End != 4 ||
		!got.Embed || !got.Head || got.TotalBytes <= 0 || got.DoneBytes > got.TotalBytes || !got.FinishedAt.IsZero() || !got.Running() {
		t.Fatalf("transfer during the fetch: %+v", got)
	}
	if want := []string{PhaseFetching, PhaseDone}; fmt.Sprint(phases) != fmt.Sprint(want) {
		t.Fatalf("phases %v, want %v", phases, want)
	}

	// The tracker: one transfer per model, the span's fetch replacing the
	// metadata's.
	trs := b.Transfers()
	if len(trs) != 1 {
		t.Fatalf("transfers %+v, want one", trs)
	}
	tr := trs[0]
	if tr.Phase != PhaseDone || tr.Done != tr.Total || tr.Total != seen[0].TotalBytes || tr.Err != "" || tr.Finished.IsZero() ||
		tr.Finished.Before(tr.Started) || tr.ETA != 0 || tr.Running() {
		t.Fatalf("tracked transfer %+v, want done with %d bytes", tr, seen[0].TotalBytes)
	}
	if p := tr.Progress(); p.Done != p.Total || p.Elapsed <= 0 {
		t.Fatalf("progress %+v", p)
	}

	// The API over HTTP, after the fetch.
	ctx := t.Context()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Transfers) != 1 {
		t.Fatalf("API transfers %+v", st.Transfers)
	}
	if got := st.Transfers[0]; got.Phase != "done" || got.DoneBytes != got.TotalBytes || got.TotalBytes != tr.Total || got.ETASeconds != 0 ||
		got.FinishedAt.IsZero() || got.Error != "" || got.Model != root.String() {
		t.Fatalf("API transfer after the fetch: %+v", got)
	}
	text, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("orbit_transfer_bytes{kind=\"fetch\",model=%q} %d\n", root.String(), tr.Total),
		fmt.Sprintf("orbit_transfer_size_bytes{kind=\"fetch\",model=%q} %d\n", root.String(), tr.Total),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every chunk B fetched was counted (the metadata's and the span's).
	var chunks int
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, "orbit_chunks_fetched_total "); ok {
			chunks, _ = strconv.Atoi(v)
		}
	}
	if chunks <= 0 {
		t.Errorf("orbit_chunks_fetched_total %d after a fetch", chunks)
	}
	// A node serving only what it imported fetched nothing.
	if trs := a.Transfers(); len(trs) != 0 {
		t.Fatalf("node A's transfers %+v, want none", trs)
	}
}

// TestTransferFetchFails: a fetch that cannot finish is reported failed,
// with its error, by the tracker and the node API.
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
			st, err := b.APIBackend(APIOptions{}).Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Transfers) != 1 || st.Transfers[0].Phase != "failed" || st.Transfers[0].Error != tr.Err {
				t.Fatalf("API transfers %+v", st.Transfers)
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
