package swarmbackend_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/api/swarmbackend"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

const aidreamsPath = "../../../shared/models/aidreams260K.gguf"

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig is a loopback-only node: TCP on 127.0.0.1, no mDNS, no NAT.
func testConfig(bootstrap ...*node.Node) node.Config {
	cfg := node.Config{
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true, Logger: quietLogger(),
		StepTimeout: 10 * time.Second, IOTimeout: 10 * time.Second, DiscoveryTimeout: 2 * time.Second, Version: "test",
	}
	for _, b := range bootstrap {
		cfg.Bootstrap = append(cfg.Bootstrap, b.Addrs()[0].String())
	}
	return cfg
}

func startNode(t *testing.T, cfg node.Config) *node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func openStore(t *testing.T) *weights.Store {
	t.Helper()
	st, err := weights.Open(t.TempDir(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// serveStored makes n serve span of the stored model root.
func serveStored(t *testing.T, n *node.Node, root cid.Cid, opt node.ServeOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, err := n.StoreSource(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Serve(ctx, src, opt); err != nil {
		t.Fatal(err)
	}
}

// nodeAPI serves n's API (the node API and /metrics) over real HTTP on
// loopback and returns a client of it.
func nodeAPI(t *testing.T, n *node.Node, m *metrics.Metrics) *client.Client {
	t.Helper()
	ts := httptest.NewServer(api.NewServer(swarmbackend.New(n, swarmbackend.Options{Metrics: m, Logger: quietLogger()}),
		api.Options{Metrics: m, Logger: quietLogger()}))
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
	storeA := openStore(t)
	f, err := gguf.Open(aidreamsPath)
	if err != nil {
		t.Fatalf("opening the test model: %v", err)
	}
	root, err := storeA.Import(t.Context(), f, weights.ImportOptions{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Store = storeA
	a := startNode(t, cfg)
	serveStored(t, a, root, node.ServeOptions{Blocks: sharding.Span{Start: 0, End: 2}})

	var (
		mu       sync.Mutex
		c        *client.Client // set before B fetches anything
		seen     []api.Transfer // B's API during the fetch
		seenErr  error
		phases   []string // of the fetch of blocks 2-4, as the hook saw them
		observed bool
	)
	m := metrics.New()
	cfg = testConfig(a)
	cfg.Store = openStore(t)
	cfg.Metrics = m
	cfg.OnTransfer = func(tr node.Transfer) {
		if tr.Kind != node.TransferFetch || tr.Span != (sharding.Span{Start: 2, End: 4}) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if len(phases) == 0 || phases[len(phases)-1] != tr.Phase {
			phases = append(phases, tr.Phase)
		}
		// The first report that knows the size: ask the API over HTTP,
		// from inside the fetch, so the answer is from mid-transfer.
		if tr.Phase == node.PhaseFetching && tr.Total > 0 && !observed {
			observed = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := c.Status(ctx)
			seen, seenErr = st.Transfers, err
		}
	}
	b := startNode(t, cfg)
	mu.Lock()
	c = nodeAPI(t, b, m)
	mu.Unlock()
	serveStored(t, b, root, node.ServeOptions{Blocks: sharding.Span{Start: 2, End: 4}, Entry: true})

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
	if want := []string{node.PhaseFetching, node.PhaseDone}; fmt.Sprint(phases) != fmt.Sprint(want) {
		t.Fatalf("phases %v, want %v", phases, want)
	}

	// The tracker: one transfer per model, the span's fetch replacing the
	// metadata's.
	trs := b.Transfers()
	if len(trs) != 1 {
		t.Fatalf("transfers %+v, want one", trs)
	}
	tr := trs[0]
	if tr.Phase != node.PhaseDone || tr.Done != tr.Total || tr.Total != seen[0].TotalBytes || tr.Err != "" || tr.Finished.IsZero() ||
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
	s, err := metrics.ParseText(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"orbit_transfer_bytes", "orbit_transfer_size_bytes"} {
		if v, ok := s.Value(name, "kind", "fetch", "model", root.String()); !ok || v != float64(tr.Total) {
			t.Errorf("%s of the fetch: %v (found %v), want %d", name, v, ok, tr.Total)
		}
	}
	// Every chunk B fetched was counted (the metadata's and the span's).
	if chunks, _ := s.Value("orbit_chunks_fetched_total"); chunks <= 0 {
		t.Errorf("orbit_chunks_fetched_total %v after a fetch", chunks)
	}
	// A node serving only what it imported fetched nothing.
	if trs := a.Transfers(); len(trs) != 0 {
		t.Fatalf("node A's transfers %+v, want none", trs)
	}
}

// TestTransfer: a node's transfer as the node API reports it: the span
// only for a fetch, the error of a failed one, the elapsed time up to the
// end, or up to now while it runs.
func TestTransfer(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0.Add(10 * time.Second)
	for _, tc := range []struct {
		name string
		in   node.Transfer
		want api.Transfer
	}{
		{"running fetch",
			node.Transfer{Kind: node.TransferFetch, Model: "bafyM", Span: sharding.Span{Start: 2, End: 4}, Head: true, Phase: node.PhaseFetching,
				Done: 1, Total: 4, Rate: 2, ETA: 1500 * time.Millisecond, Started: t0},
			api.Transfer{Kind: "fetch", Model: "bafyM", Start: 2, End: 4, Head: true, Phase: "fetching", DoneBytes: 1, TotalBytes: 4,
				BytesPerSecond: 2, ETASeconds: 1.5, ElapsedSeconds: 10, StartedAt: t0}},
		{"failed fetch",
			node.Transfer{Kind: node.TransferFetch, Model: "bafyM", Span: sharding.Span{Start: 1, End: 3}, Embed: true, Phase: node.PhaseFailed,
				Started: t0, Finished: t0.Add(2 * time.Second), Err: "no providers"},
			api.Transfer{Kind: "fetch", Model: "bafyM", Start: 1, End: 3, Embed: true, Phase: "failed", ElapsedSeconds: 2,
				StartedAt: t0, FinishedAt: t0.Add(2 * time.Second), Error: "no providers"}},
		{"done import",
			node.Transfer{Kind: node.TransferImport, File: "m.gguf", Model: "bafyM", Span: sharding.Span{Start: 0, End: 4}, Phase: node.PhaseDone,
				Done: 9, Total: 9, Started: t0, Finished: t0.Add(3 * time.Second)},
			api.Transfer{Kind: "import", File: "m.gguf", Model: "bafyM", Phase: "done", DoneBytes: 9, TotalBytes: 9, ElapsedSeconds: 3,
				StartedAt: t0, FinishedAt: t0.Add(3 * time.Second)}},
	} {
		if got := swarmbackend.Transfer(tc.in, now); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}
