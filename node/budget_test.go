package node

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
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

// TestBlockBytesMoE: a mixture-of-experts block counts every expert and the
// router, from the tensors and in the metadata-only estimate.
func TestBlockBytesMoE(t *testing.T) {
	shape, err := synth.ShapeByName("mixtral-tiny")
	if err != nil {
		t.Fatal(err)
	}
	vocab := &tokenizer.Vocab{Model: "llama", Tokens: make([]string, 300), BOS: 1, EOS: 2, UNK: 0, PAD: -1}
	for i := range vocab.Tokens {
		vocab.Tokens[i] = fmt.Sprintf("t%d", i)
	}
	var buf bytes.Buffer
	if err := synth.Write(&buf, synth.Options{Shape: shape, Vocab: vocab}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := engine.ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	d, e, h := int64(shape.Dim), int64(shape.Experts), int64(shape.Hidden)
	params := 2*d*int64(shape.QDim()) + 2*d*int64(shape.KVDim()) + e*d + e*3*d*h
	if got := cfg.BlockParams(); got != params {
		t.Fatalf("BlockParams = %d, want %d", got, params)
	}
	if got, want := blockBytes(f, &cfg), 4*(params+2*d); got != want {
		t.Errorf("block bytes from tensors = %d, want %d", got, want)
	}
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
	buf.Reset()
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	meta, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := blockBytes(meta, &cfg), 4*params; got != want {
		t.Errorf("estimated block bytes = %d, want %d", got, want)
	}
	active := params - int64(shape.Experts-shape.ExpertsUsed)*3*d*h
	if a := cfg.ActiveBlockParams(); a != active {
		t.Errorf("a token reads %d of the block's %d weights, want %d", a, params, active)
	}
}

// TestBlockBytesDeepseek2: a deepseek2 model's leading block is dense and
// the others hold experts; the block size is that of an expert block (all
// experts, the shared ones, the router and the selection bias), from the
// tensors and in the metadata-only estimate, and a token reads only
// ExpertsUsed routed experts of it.
func TestBlockBytesDeepseek2(t *testing.T) {
	shape, err := synth.ShapeByName("deepseek3-tiny")
	if err != nil {
		t.Fatal(err)
	}
	vocab := &tokenizer.Vocab{Model: "llama", Tokens: make([]string, 300), BOS: 1, EOS: 2, UNK: 0, PAD: -1}
	for i := range vocab.Tokens {
		vocab.Tokens[i] = fmt.Sprintf("t%d", i)
	}
	var buf bytes.Buffer
	if err := synth.Write(&buf, synth.Options{Shape: shape, Vocab: vocab}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := engine.ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	m := shape.MLA
	d, e, eh, heads, hd := int64(shape.Dim), int64(shape.Experts), int64(shape.ExpertHidden), int64(shape.Heads), int64(shape.HeadDim())
	kvl, rope, vh, ql := int64(m.KVLora), int64(m.RopeDims), int64(m.VHead), int64(m.QLora)
	attn := d*ql + ql*heads*hd + d*(kvl+rope) + heads*(hd-rope)*kvl + heads*vh*kvl + heads*vh*d
	shared := int64(m.SharedExperts) * 3 * d * eh
	params := attn + e*d + e*3*d*eh + shared
	if got := cfg.BlockParams(); got != params {
		t.Fatalf("BlockParams = %d, want %d", got, params)
	}
	norms := 2*d + ql + kvl + e // attn, ffn, q_a, kv_a norms and exp_probs_b
	if got, want := blockBytes(f, &cfg), 4*(params+norms); got != want {
		t.Errorf("block bytes from tensors = %d, want %d (the expert block, not the dense block 0)", got, want)
	}
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
	buf.Reset()
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	meta, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := blockBytes(meta, &cfg), 4*params; got != want {
		t.Errorf("estimated block bytes = %d, want %d", got, want)
	}
	active := params - (e-int64(shape.ExpertsUsed))*3*d*eh
	if a := cfg.ActiveBlockParams(); a != active {
		t.Errorf("a token reads %d of the block's %d weights, want %d", a, params, active)
	}
}
