package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/weights"
)

// importModel imports the GGUF at path into a fresh store.
func importModel(t testing.TB, path string) (*weights.Store, cid.Cid) {
	t.Helper()
	fileSource(t, path) // skips when the model is missing
	st, err := weights.Open(t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root, err := st.Import(ctx, f, weights.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st, root
}

func emptyStore(t testing.TB) *weights.Store {
	t.Helper()
	st, err := weights.Open(t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func storeSource(t testing.TB, n *Node, root cid.Cid) *StoreSource {
	t.Helper()
	src, err := n.StoreSource(root)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestStoreSource: node A imports the model and serves blocks 0-2; node B
// starts with only the root CID and A to bootstrap from, fetches blocks
// 2-4 and the embedding and head from A, and a generation through both
// gives the reference tokens.
func TestStoreSource(t *testing.T) {
	cases := loadReference(t)
	storeA, root := importModel(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.Store = storeA
	a := startNode(t, cfg)
	serve(t, a, storeSource(t, a, root), ServeOptions{Blocks: spanOf(0, 2)})

	storeB := emptyStore(t)
	cfg = testConfig(t, a)
	cfg.Store = storeB
	cfg.Encoding = protocol.EncodingF32
	b := startNode(t, cfg)
	srcB := storeSource(t, b, root)
	if srcB.ID() != root.String() {
		t.Fatalf("model id %s, want the root CID %s", srcB.ID(), root)
	}
	serve(t, b, srcB, ServeOptions{Blocks: spanOf(2, 4), Entry: true})

	ms, err := storeB.Models(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || !ms[0].Root.Equals(root) || !ms[0].Embed || !ms[0].Head ||
		!slices.Equal(ms[0].LocalBlocks, []bool{false, false, true, true}) {
		t.Fatalf("B's store holds %+v, want blocks 2-4, embedding and head of %s", ms, root)
	}
	waitView(t, b, root.String(), 2)
	for _, c := range cases {
		got, st := generate(t, b, root.String(), c.PromptTokens, c.Steps+1-len(c.PromptTokens))
		if !slices.Equal(got, c.GeneratedTokens) {
			t.Fatalf("%q: got %v, want %v", c.Prompt, got, c.GeneratedTokens)
		}
		if want := []RouteHop{{a.ID(), spanOf(0, 2)}, {b.ID(), spanOf(2, 4)}}; !slices.Equal(st.Route, want) {
			t.Fatalf("route %v, want %v", st.Route, want)
		}
	}
}

// TestStoreSourceLocalOnly: without a swarm, missing parts are an error.
func TestStoreSourceLocalOnly(t *testing.T) {
	store, root := importModel(t, aidreamsPath)
	src := NewStoreSource(store, root)
	f, err := src.Open(t.Context(), engine.Span{Start: 0, End: 4}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	other := NewStoreSource(emptyStore(t), root)
	if _, err := other.Open(t.Context(), engine.Span{Start: 0, End: 1}, false, false); err == nil {
		t.Fatal("opened a model the store does not hold")
	}
}
