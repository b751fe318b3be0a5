package node

import (
	"bytes"
	"context"
	"testing"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
)

func TestBlockBytes(t *testing.T) {
	f, err := gguf.Open(aidreamsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := engine.ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	// aidreams260K, f32: attention 4 x 64x64, FFN 3 x 64x172, norms 2 x 64.
	want := int64(4 * (4*64*64 + 3*64*172 + 2*64))
	if got := blockBytes(f, &cfg); got != want {
		t.Errorf("block bytes from tensors = %d, want %d", got, want)
	}
	// Metadata only (as the store's metadata files are): estimated from the
	// shape and file type (f32 here), without the norms.
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
	w.Set("general.file_type", gguf.Uint32(0))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	meta, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := blockBytes(meta, &cfg), int64(4*(4*64*64+3*64*172)); got != want {
		t.Errorf("estimated block bytes = %d, want %d", got, want)
	}
}

func TestServeMemoryBudget(t *testing.T) {
	const block = 4 * (4*64*64 + 3*64*172 + 2*64) // aidreams260K, f32
	tests := []struct {
		budget int64
		want   int
	}{
		{2*block + 1, 2},
		{3 * block, 3},
		{1, 1}, // at least one block
		{0, 4}, // no budget: the whole model
	}
	for _, tc := range tests {
		n := startNode(t, testConfig(t))
		st, err := n.Serve(context.Background(), fileSource(t, aidreamsPath), ServeOptions{MemoryBudget: tc.budget})
		if err != nil {
			t.Fatal(err)
		}
		if st.Span.Len() != tc.want {
			t.Errorf("budget %d: span %v, want %d blocks", tc.budget, st.Span, tc.want)
		}
	}
}
