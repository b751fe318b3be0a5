package engine

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sharding"
)

// tinyQwen2 writes a small random-weight qwen2 model (QKV biases, split-half
// RoPE, grouped-query attention, tied head).
func tinyQwen2(t *testing.T, dt kernels.DType) *gguf.File {
	t.Helper()
	vocab, err := tokenizer.LoadLlama2C(filepath.Join(shared, "models", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	shape := synth.Shape{Name: "qwen2-test", Arch: "qwen2", Dim: 128, Hidden: 256, Layers: 4, Heads: 4, KVHeads: 2,
		Context: 256, RopeBase: 1e6, Eps: 1e-6, QKVBias: true, TiedEmbeddings: true}
	var buf bytes.Buffer
	if err := synth.Write(&buf, synth.Options{Shape: shape, Type: dt, Vocab: vocab, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestQwen2(t *testing.T) {
	for _, dt := range []kernels.DType{kernels.F32, kernels.Q8_0} {
		t.Run(dt.String(), func(t *testing.T) {
			f := tinyQwen2(t, dt)
			whole := load(t, f, Full())
			c := whole.Config
			if c.Arch != "qwen2" || !c.RopeNeox || !c.QKVBias || c.KVHeads != 2 {
				t.Fatalf("config %+v", c)
			}
			tokens := []int32{1, 300, 301, 302, 45, 99, 400}
			want := forwardAll(t, whole, []*Model{whole}, whole, tokens)
			edge := load(t, f, Options{Embed: true, Head: true, NoBlocks: true})
			stages := []*Model{load(t, f, Options{Blocks: sharding.Span{Start: 0, End: 1}}), load(t, f, Options{Blocks: sharding.Span{Start: 1, End: 4}})}
			if i := bitsEqual(forwardAll(t, edge, stages, edge, tokens), want); i >= 0 {
				t.Fatalf("split logits differ at %d", i)
			}
			// The biases are bound and used: zeroing them changes the output.
			g := rewrite(t, f, func(ti *gguf.TensorInfo, data []byte) ([]uint64, []byte) {
				if len(ti.Name) > 5 && ti.Name[len(ti.Name)-5:] == ".bias" {
					return ti.Dims, make([]byte, len(data))
				}
				return ti.Dims, data
			})
			nb := load(t, g, Full())
			if bitsEqual(forwardAll(t, nb, []*Model{nb}, nb, tokens), want) < 0 {
				t.Fatal("zeroing the QKV biases did not change the logits")
			}
		})
	}
}
