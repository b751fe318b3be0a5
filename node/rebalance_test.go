package node

import (
	"slices"
	"testing"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// TestRebalance: A serves [0,2) as the entry, B [2,4), C [0,2) too. B
// leaves, which opens a gap; in the next epoch whoever of A and C has the
// turn moves to [2,4) (the other keeps [0,2)) and generations work again.
func TestRebalance(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	off := func(cfg Config) Config {
		cfg.RebalanceInterval = -1 // steps are driven by the test
		// Measured speeds vary: only closing a gap may move a node.
		cfg.RebalanceThreshold = 10
		cfg.Encoding = protocol.EncodingF32
		return cfg
	}
	a := startNode(t, off(testConfig(t)))
	serve(t, a, src, ServeOptions{Blocks: spanOf(0, 2), Entry: true})
	b := startNode(t, off(testConfig(t, a)))
	serve(t, b, src, ServeOptions{Blocks: spanOf(2, 4)})
	c := startNode(t, off(testConfig(t, a)))
	serve(t, c, src, ServeOptions{Blocks: spanOf(0, 2)})
	waitView(t, a, src.ID(), 3)
	waitView(t, c, src.ID(), 3)

	cs := cases[0]
	steps := cs.Steps + 1 - len(cs.PromptTokens)
	if got, _ := generate(t, a, src.ID(), cs.PromptTokens, steps); !slices.Equal(got, cs.GeneratedTokens) {
		t.Fatalf("before: got %v, want %v", got, cs.GeneratedTokens)
	}

	// While B serves, nobody moves whatever the epoch.
	for epoch := range int64(3) {
		for _, n := range []*Node{a, b, c} {
			if sp, moved, err := n.Rebalance(t.Context(), src.ID(), epoch); err != nil || moved {
				t.Fatalf("epoch %d: %s moved to %v (%v) in a covered swarm", epoch, n.ID(), sp, err)
			}
		}
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// The epoch in which C holds the turn among the two left.
	ids := []string{a.ID().String(), c.ID().String()}
	epoch := int64(0)
	for !sharding.RebalanceTurn(ids, c.ID().String(), epoch) {
		epoch++
	}
	if _, moved, err := a.Rebalance(t.Context(), src.ID(), epoch); err != nil || moved {
		t.Fatalf("A moved out of turn (%v)", err)
	}
	sp, moved, err := c.Rebalance(t.Context(), src.ID(), epoch)
	if err != nil || !moved || sp != spanOf(2, 4) {
		t.Fatalf("C: span %v, moved %v, err %v; want a move to [2,4)", sp, moved, err)
	}
	if ms := c.Models(); len(ms) != 1 || ms[0].Span != spanOf(2, 4) {
		t.Fatalf("C serves %+v", ms)
	}
	// A sees the new span at once (the old one is no longer reported).
	waitView(t, a, src.ID(), 2)
	got, st := generate(t, a, src.ID(), cs.PromptTokens, steps)
	if !slices.Equal(got, cs.GeneratedTokens) {
		t.Fatalf("after: got %v, want %v", got, cs.GeneratedTokens)
	}
	if want := []RouteHop{{a.ID(), spanOf(0, 2)}, {c.ID(), spanOf(2, 4)}}; !slices.Equal(st.Route, want) {
		t.Fatalf("route %v, want %v", st.Route, want)
	}
	// The next epoch: nothing to gain, nobody moves.
	for _, n := range []*Node{a, c} {
		if _, moved, err := n.Rebalance(t.Context(), src.ID(), epoch+1); err != nil || moved {
			t.Fatalf("%s moved again (%v)", n.ID(), err)
		}
	}
}
