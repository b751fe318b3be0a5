package node

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// TestDiscoverModels: a node that was not told which model to serve finds
// every model of the swarm (servers it is not connected to included,
// through the ModelsKey provider records), picks the one with unserved
// blocks, fetches that model's missing span from the store of the server
// that has it, and fills the gap.
func TestDiscoverModels(t *testing.T) {
	storeA, root := importModel(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.Store = storeA
	a := startNode(t, cfg)
	serve(t, a, storeSource(t, a, root), ServeOptions{Blocks: spanOf(0, 2)})

	synth := fileSource(t, synthModelLayers(t, 6))
	d := startNode(t, testConfig(t, a))
	serve(t, d, synth, ServeOptions{Blocks: spanOf(0, 6)})

	cfg = testConfig(t, a)
	cfg.Store = emptyStore(t)
	b := startNode(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var models []SwarmModel
	for {
		var err error
		if models, err = b.DiscoverModels(ctx); err != nil {
			t.Fatal(err)
		}
		if len(models) == 2 && models[0].Servers+models[1].Servers == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("models %+v", models)
		case <-time.After(100 * time.Millisecond):
		}
	}
	byID := map[string]SwarmModel{}
	for _, m := range models {
		byID[m.Model] = m
	}
	tests := []struct {
		model      string
		blocks     int
		coverage   []int
		bottleneck bool // > 0
	}{
		{root.String(), 4, []int{1, 1, 0, 0}, false},
		{synth.ID(), 6, []int{1, 1, 1, 1, 1, 1}, true},
	}
	for _, tc := range tests {
		m, ok := byID[tc.model]
		if !ok {
			t.Fatalf("model %s not discovered: %+v", tc.model, models)
		}
		if m.Blocks != tc.blocks || m.Servers != 1 || (m.Bottleneck > 0) != tc.bottleneck {
			t.Errorf("model %s: %+v", tc.model, m)
		}
		for i, c := range tc.coverage {
			if m.Coverage[i] != c {
				t.Errorf("model %s coverage %v, want %v", tc.model, m.Coverage, tc.coverage)
				break
			}
		}
	}

	// Both qualify: the one with gaps wins. Restricted to models whose ID
	// is a CID the store can fetch, the answer is the same.
	for _, accept := range []func(SwarmModel) bool{nil, func(m SwarmModel) bool {
		_, err := cid.Decode(m.Model)
		return err == nil && m.Model != synth.ID()
	}} {
		pick, ok := PickModel(models, accept)
		if !ok || pick.Model != root.String() {
			t.Fatalf("picked %+v, %v; want %s", pick, ok, root)
		}
	}
	if _, ok := PickModel(models, func(SwarmModel) bool { return false }); ok {
		t.Fatal("picked a model none of which was accepted")
	}

	st := serve(t, b, storeSource(t, b, root), ServeOptions{MaxBlocks: 2})
	if st.Span != spanOf(2, 4) {
		t.Fatalf("the joining node serves %v, want the gap [2,4)", st.Span)
	}
}
