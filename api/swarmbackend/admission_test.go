package swarmbackend_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/swarmbackend"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/sharding"
)

// TestAutoAdmission: without MaxConcurrent the backend sizes its slots
// from the swarm: 4 per hop of the route, and no more than the KV cache of
// the scarcest server holds, so that generations beyond it wait for a
// slot instead of failing on a full server. A set MaxConcurrent stays.
func TestAutoAdmission(t *testing.T) {
	src, err := node.NewFileSource(aidreamsPath)
	if err != nil {
		t.Skipf("model not available: %v", err)
	}
	m, err := engine.Open(aidreamsPath, engine.Options{NoBlocks: true})
	if err != nil {
		t.Fatal(err)
	}
	kvDim := m.Config.KVDim()
	m.Close()
	const prompt, gen = 4, 12
	// The last server's two blocks hold 2.5 sessions of prompt+gen
	// positions.
	session := int64(2 * (prompt + gen) * kvDim * 2 * 4)
	for _, tc := range []struct {
		name      string
		kv        int64 // the last server's budget (0: the default)
		set       int   // Options.MaxConcurrent
		wantLimit int
		// lowest: the free caches a view reports may still hold the
		// sessions of generations just ended, so the limit may be lower
		lowest int
	}{
		{"route depth", 0, 0, 3 * node.AdmissionPerHop, 3 * node.AdmissionPerHop},
		{"KV caches", session*5/2 + 1, 0, 2, 1},
		{"flag overrides", 0, 5, 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var servers []*node.Node
			for i, sp := range []sharding.Span{{Start: 0, End: 1}, {Start: 1, End: 2}, {Start: 2, End: 4}} {
				cfg := testConfig(servers...)
				if i == 2 {
					cfg.KVCacheBytes = tc.kv
				}
				n := startNode(t, cfg)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if _, err := n.Serve(ctx, src, node.ServeOptions{Blocks: sp}); err != nil {
					t.Fatal(err)
				}
				cancel()
				servers = append(servers, n)
			}
			entry := startNode(t, testConfig(servers[0]))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := entry.Serve(ctx, src, node.ServeOptions{NoBlocks: true, Entry: true}); err != nil {
				t.Fatal(err)
			}
			mets := metrics.New()
			b := swarmbackend.New(entry, swarmbackend.Options{MaxConcurrent: tc.set, MaxQueue: 16, Metrics: mets, Logger: quietLogger()})
			var wg sync.WaitGroup
			errs := make([]error, 6)
			var mu sync.Mutex
			most := 0
			for i := range errs {
				wg.Go(func() {
					req := api.GenerateRequest{Model: src.ID(), Prompt: []int32{1, 300 + int32(i), 350, 400}, MaxTokens: gen,
						Stop: func(int32) bool { return false }}
					_, errs[i] = b.Generate(ctx, req, func(int32) error {
						st, _ := b.Status(ctx)
						mu.Lock()
						most = max(most, st.Load.Active)
						mu.Unlock()
						return nil
					})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("generation %d: %v", i, err)
				}
			}
			st, err := b.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if l := st.Load.MaxConcurrent; l > tc.wantLimit || l < tc.lowest {
				t.Errorf("limit %d, want %d (at least %d)", l, tc.wantLimit, tc.lowest)
			}
			if most > tc.wantLimit {
				t.Errorf("%d generations ran at once, limit %d", most, tc.wantLimit)
			}
			t.Logf("limit %d, at most %d running", st.Load.MaxConcurrent, most)
		})
	}
}
