package node

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/sharding"
)

// TestEntryModelHolds: the methods the HTTP API's backend uses hold a
// model (as a generation, so that a rebalance cannot retire it underneath)
// only while they read the model's file or engine parts, whether the model
// is named by ID or by general.name, and let go of it afterwards: a hold
// left behind would keep a replaced span mapped and Drain waiting forever.
func TestEntryModelHolds(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.RebalanceInterval = -1
	n := startNode(t, cfg)
	serve(t, n, src, ServeOptions{Blocks: spanOf(0, 4), Entry: true})
	srv := n.servedModel(src.ID())
	name := srv.name()
	if name == "" {
		t.Fatal("the model has no general.name")
	}
	if _, err := n.EntryModel("no such model"); !errors.Is(err, ErrNotEntry) {
		t.Fatalf("EntryModel of an unknown model: %v, want ErrNotEntry", err)
	}
	for _, tc := range []struct{ by, model string }{{"id", src.ID()}, {"name", name}} {
		model := tc.model
		t.Run(tc.by, func(t *testing.T) {
			s, err := n.entryOf(model)
			if err != nil {
				t.Fatal(err)
			}
			if s != srv || srv.busy() != 1 {
				t.Fatalf("entryOf(%q): %p held %d times, want %p once", model, s, srv.busy(), srv)
			}
			s.release(true)

			em, err := n.EntryModel(model)
			if err != nil {
				t.Fatal(err)
			}
			if em.ID != src.ID() || em.Name != name || em.Blocks != 4 || em.Config.VocabSize == 0 {
				t.Fatalf("EntryModel(%q) = %+v", model, em)
			}
			if b := srv.busy(); b != 0 {
				t.Fatalf("EntryModel left the model held %d times", b)
			}
			if _, err := n.Tokenizer(model); err != nil {
				t.Fatal(err)
			}
			if b := srv.busy(); b != 0 {
				t.Fatalf("Tokenizer left the model held %d times", b)
			}
			if _, err := n.PlanRoute(t.Context(), em.ID); err != nil {
				t.Fatal(err)
			}
			c := cases[0]
			var got []int32
			var observed int
			if _, err := n.GenerateObserved(t.Context(), em.ID, c.PromptTokens, 5, nil, func(int32) bool { return false }, func(tok int32) error {
				got = append(got, tok)
				return nil
			}, func(p peer.ID, span sharding.Span, d time.Duration) {
				if p == n.ID() && span == spanOf(0, 4) && d > 0 {
					observed++
				}
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.GeneratedTokens[:len(got)]) || len(got) == 0 {
				t.Errorf("generated %v, want a prefix of %v", got, c.GeneratedTokens)
			}
			if observed == 0 {
				t.Error("no step of this node's hop was observed")
			}
			// The generation's own sessions on this node end as its
			// control streams close, after GenerateObserved returns.
			srv.mu.Lock()
			gens := srv.gens
			srv.mu.Unlock()
			if gens != 0 {
				t.Fatalf("the model is still held by %d generations", gens)
			}
			waitFor(t, "the generation's sessions to end", func() bool { return srv.busy() == 0 })
		})
	}
}
