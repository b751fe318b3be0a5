package node

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
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
	f, err := src.Open(t.Context(), sharding.Span{Start: 0, End: 4}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	other := NewStoreSource(emptyStore(t), root)
	if _, err := other.Open(t.Context(), sharding.Span{Start: 0, End: 1}, false, false); err == nil {
		t.Fatal("opened a model the store does not hold")
	}
}

// corruptBlock flips a byte of the file holding block c in store.
func corruptBlock(t testing.TB, store *weights.Store, c cid.Cid) {
	t.Helper()
	var path string
	err := filepath.WalkDir(filepath.Join(store.Dir(), "blocks"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == c.String() {
			path = p
		}
		return err
	})
	if err != nil || path == "" {
		t.Fatalf("block %s not found in %s: %v", c, store.Dir(), err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStoreSourceRepairsCorruptBlocks: node B holds the whole model, but
// one of its stored blocks has rotted. Opening a span through B's
// StoreSource never uses the bad bytes: the block is fetched again from
// node A (found through the DHT), the span opens, and B's store verifies
// clean afterwards. Without a swarm, the same damage is a typed error
// naming the block.
func TestStoreSourceRepairsCorruptBlocks(t *testing.T) {
	storeA, root := importModel(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.Store = storeA
	cfg.RebalanceInterval = -1
	a := startNode(t, cfg)
	serve(t, a, storeSource(t, a, root), ServeOptions{Blocks: spanOf(0, 4)})
	span := spanOf(2, 4)
	want, err := storeA.OpenSpan(t.Context(), root, span, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()

	// pick returns the block a case damages, read from B's intact store.
	type pick func(t *testing.T, st *weights.Store) cid.Cid
	layer := func(t *testing.T, st *weights.Store, i int) *weights.LayerManifest {
		m, err := st.Manifest(t.Context(), root)
		if err != nil {
			t.Fatal(err)
		}
		l, err := st.Layer(t.Context(), m.Layers[i].CID)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, tc := range []struct {
		name string
		pick pick
	}{
		{"tensor chunk of a block in the span", func(t *testing.T, st *weights.Store) cid.Cid {
			return layer(t, st, 2).Tensors[1].Chunks[0]
		}},
		{"tensor chunk of the last block", func(t *testing.T, st *weights.Store) cid.Cid {
			l := layer(t, st, 3)
			return l.Tensors[len(l.Tensors)-1].Chunks[0]
		}},
		{"metadata chunk", func(t *testing.T, st *weights.Store) cid.Cid {
			m, err := st.Manifest(t.Context(), root)
			if err != nil {
				t.Fatal(err)
			}
			return m.MetadataChunks[0]
		}},
		{"layer manifest", func(t *testing.T, st *weights.Store) cid.Cid {
			m, err := st.Manifest(t.Context(), root)
			if err != nil {
				t.Fatal(err)
			}
			return m.Layers[2].CID
		}},
		{"root manifest", func(*testing.T, *weights.Store) cid.Cid { return root }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Without a swarm: a typed error naming the block.
			local, _ := importModel(t, aidreamsPath)
			bad := tc.pick(t, local)
			corruptBlock(t, local, bad)
			var ce *weights.CorruptError
			if _, err := NewStoreSource(local, root).Open(t.Context(), span, true, true); !errors.As(err, &ce) || !ce.CID.Equals(bad) {
				t.Fatalf("local-only open of a damaged store: %v, want a CorruptError naming %s", err, bad)
			}

			// With a swarm: repaired from A.
			storeB, _ := importModel(t, aidreamsPath)
			corruptBlock(t, storeB, bad)
			cfg := testConfig(t, a)
			cfg.Store = storeB
			cfg.RebalanceInterval = -1
			b := startNode(t, cfg)
			f, err := storeSource(t, b, root).Open(t.Context(), span, true, true)
			if err != nil {
				t.Fatalf("open with a corrupt block %s: %v", bad, err)
			}
			defer f.Close()
			if !bytes.Equal(f.Bytes(), want.Bytes()) {
				t.Fatal("the repaired span differs from the provider's")
			}
			rep, err := storeB.Verify(t.Context(), root)
			if err != nil || len(rep.Corrupt) != 0 || len(rep.Missing) != 0 {
				t.Fatalf("B's store after the repair: %+v, %v", rep, err)
			}
		})
	}
}

// TestServedCorruptBlockRepaired: node B serves the whole model from its
// store; one of its stored chunks rots. When a peer asks B for that chunk,
// B does not serve the bad bytes: it removes the chunk (the peer hears it
// is not there), stops counting the layer as whole, fetches the chunk
// again from node A and announces the layer again; its store then
// verifies clean.
func TestServedCorruptBlockRepaired(t *testing.T) {
	storeA, root := importModel(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.Store = storeA
	cfg.RebalanceInterval = -1
	a := startNode(t, cfg)
	serve(t, a, storeSource(t, a, root), ServeOptions{Blocks: spanOf(0, 4)})

	storeB, _ := importModel(t, aidreamsPath)
	cfg = testConfig(t, a)
	cfg.Store = storeB
	cfg.RebalanceInterval = -1
	b := startNode(t, cfg)
	serve(t, b, storeSource(t, b, root), ServeOptions{Blocks: spanOf(0, 4)})

	m, err := storeB.Manifest(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := storeB.Layer(t.Context(), m.Layers[1].CID)
	if err != nil {
		t.Fatal(err)
	}
	bad := l.Tensors[0].Chunks[0]
	corruptBlock(t, storeB, bad)

	// A peer asks B for the chunk, as a fetch would.
	client := protocol.NewBlockClient(a.Host(), 10*time.Second)
	var got protocol.Block
	err = client.Get(t.Context(), b.ID(), []cid.Cid{bad}, func(blk protocol.Block) error { got = blk; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got.Status == protocol.BlockOK || got.Data != nil {
		t.Fatalf("B served its corrupt chunk: status %v, %d bytes", got.Status, len(got.Data))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := storeB.GetBlock(t.Context(), bad)
		if err == nil && weights.VerifyBlock(bad, data) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's store did not get the chunk back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "the repair to end", func() bool { return !b.repairing.Load() })
	rep, err := storeB.Verify(t.Context(), root)
	if err != nil || len(rep.Corrupt) != 0 || len(rep.Missing) != 0 {
		t.Fatalf("B's store after the repair: %+v, %v", rep, err)
	}
	// B answers for the chunk again.
	err = client.Get(t.Context(), b.ID(), []cid.Cid{bad}, func(blk protocol.Block) error { got = blk; return nil })
	if err != nil || got.Status != protocol.BlockOK || weights.VerifyBlock(bad, got.Data) != nil {
		t.Fatalf("B after the repair: %v, status %v", err, got.Status)
	}
}
