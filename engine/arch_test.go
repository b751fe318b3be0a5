package engine

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sharding"
)

// archShapes are the small synthetic shapes of every architecture beyond
// llama and qwen2, each checked for split and batch invariance.
var archShapes = []string{"qwen3-tiny", "mixtral-tiny", "qwen3moe-tiny", "phi3-tiny", "gemma2-tiny", "gemma3-tiny", "gpt-oss-tiny", "deepseek2-tiny", "deepseek3-tiny"}

// synthFile writes a synthetic model of the named shape with n layers (0:
// the shape's) and the tok512 vocabulary, in memory.
func synthFile(t testing.TB, name string, dt kernels.DType, layers int) *gguf.File {
	t.Helper()
	vocab, err := tokenizer.LoadLlama2C(filepath.Join(shared, "models", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := synth.ShapeByName(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := synth.Write(&buf, synth.Options{Shape: shape, Type: dt, Vocab: vocab, Seed: 5, Layers: layers}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestArchSplitEqualsWhole: for every architecture, blocks [0,1) then
// [1,3) on separate models equal [0,3) on one, bit for bit.
func TestArchSplitEqualsWhole(t *testing.T) {
	for _, name := range archShapes {
		t.Run(name, func(t *testing.T) {
			f := synthFile(t, name, kernels.Q8_0, 3)
			tokens := []int32{1, 303, 281, 269, 435, 447, 275, 12, 99}
			whole := load(t, f, Full())
			want := forwardAll(t, whole, []*Model{whole}, whole, tokens)
			edge := load(t, f, Options{Embed: true, Head: true, NoBlocks: true})
			stages := []*Model{load(t, f, Options{Blocks: sharding.Span{Start: 0, End: 1}}), load(t, f, Options{Blocks: sharding.Span{Start: 1, End: 3}})}
			if i := bitsEqual(forwardAll(t, edge, stages, edge, tokens), want); i >= 0 {
				t.Fatalf("split logits differ at %d", i)
			}
		})
	}
}

// TestArchBatchEqualsSingle: for every architecture, the rows of three
// sequences (a prefill of several positions, decodes at other positions)
// run in one batch equal each row run alone, one position at a time.
func TestArchBatchEqualsSingle(t *testing.T) {
	for _, name := range archShapes {
		t.Run(name, func(t *testing.T) {
			m := load(t, synthFile(t, name, kernels.Q8_0, 2), Full())
			ctx := context.Background()
			dim, vocab := m.Config.Dim, m.Config.VocabSize
			prompts := [][]int32{{1, 303, 281, 7, 99, 400}, {1, 368}, {1, 5, 6, 7}}
			// The first positions of each prompt run alone; the rest of
			// them run batched together.
			split := []int{2, 1, 3}
			alone := map[[2]int][]float32{}
			var sessions []*Session
			for i, p := range prompts {
				s, _ := m.NewSession(16)
				sessions = append(sessions, s)
				for pos, tok := range p {
					x := make([]float32, dim)
					if err := m.Embed([]int32{tok}, x); err != nil {
						t.Fatal(err)
					}
					if err := m.Forward(ctx, x, []Row{{s, pos}}); err != nil {
						t.Fatal(err)
					}
					l := make([]float32, vocab)
					if err := m.Head(x, 1, l); err != nil {
						t.Fatal(err)
					}
					alone[[2]int{i, pos}] = l
				}
				s.Truncate(split[i])
			}
			var toks []int32
			var rows []Row
			var keys [][2]int
			for i, p := range prompts {
				for pos := split[i]; pos < len(p); pos++ {
					toks = append(toks, p[pos])
					rows = append(rows, Row{sessions[i], pos})
					keys = append(keys, [2]int{i, pos})
				}
			}
			x := make([]float32, len(toks)*dim)
			if err := m.Embed(toks, x); err != nil {
				t.Fatal(err)
			}
			if err := m.Forward(ctx, x, rows); err != nil {
				t.Fatal(err)
			}
			l := make([]float32, len(toks)*vocab)
			if err := m.Head(x, len(toks), l); err != nil {
				t.Fatal(err)
			}
			for r, k := range keys {
				if i := bitsEqual(l[r*vocab:(r+1)*vocab], alone[k]); i >= 0 {
					t.Fatalf("sequence %d position %d: batched logit %d differs from alone", k[0], k[1], i)
				}
			}
		})
	}
}

// TestRoute checks the router's choice and weights: highest probability
// first, the lower expert first among equal ones, weights renormalized to
// sum one (or not) and scaled.
func TestRoute(t *testing.T) {
	for _, tc := range []struct {
		name   string
		logits []float32
		k      int
		norm   bool
		scale  float32
		want   []int32
	}{
		{"distinct", []float32{0.1, 2, -1, 1.5}, 2, true, 0, []int32{1, 3}},
		{"tie at the boundary", []float32{0.5, 3, 0.5, 0.5}, 2, true, 0, []int32{1, 0}},
		{"tie first", []float32{1, 2, 2, 0}, 3, false, 0, []int32{1, 2, 0}},
		{"all equal", []float32{0, 0, 0, 0, 0, 0, 0, 0}, 3, true, 2.5, []int32{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := append([]float32(nil), tc.logits...)
			softmax(p)
			sel, w := make([]int32, tc.k), make([]float32, tc.k)
			route(append([]float32(nil), tc.logits...), sel, w, false, tc.norm, tc.scale)
			var sum float32
			for j, e := range sel {
				if e != tc.want[j] {
					t.Fatalf("chose %v, want %v", sel, tc.want)
				}
				if !tc.norm && w[j] != p[e] {
					t.Errorf("weight %d = %v, want the probability %v", j, w[j], p[e])
				}
				sum += w[j]
			}
			want := float32(1)
			if !tc.norm {
				want = 0
				for _, e := range sel {
					want += p[e]
				}
			}
			if tc.scale != 0 {
				want *= tc.scale
			}
			if d := sum - want; d > 1e-5*want || d < -1e-5*want {
				t.Errorf("weights %v sum to %v, want %v", w, sum, want)
			}
		})
	}
}

// TestGPTOSSConfig reads gpt-oss-20b's metadata as llama.cpp does: the
// experts' width, no renormalization, even blocks sliding-window rotating
// as the others, YaRN x32 from 4096 with llama.cpp's correction range
// (floor of 8.09 and ceil of 17.4 for base 150000 and 64 rotated
// dimensions) and the attention factors cancelling to about 1.3466.
func TestGPTOSSConfig(t *testing.T) {
	w := gguf.NewWriter()
	a := "gpt-oss"
	w.Set("general.architecture", gguf.String(a))
	for k, v := range map[string]uint32{"vocab_size": 201088, "context_length": 131072, "embedding_length": 2880,
		"block_count": 24, "feed_forward_length": 2880, "expert_feed_forward_length": 2880, "attention.head_count": 64,
		"attention.head_count_kv": 8, "attention.key_length": 64, "attention.value_length": 64, "rope.dimension_count": 64,
		"expert_count": 32, "expert_used_count": 4, "attention.sliding_window": 128, "rope.scaling.original_context_length": 4096} {
		w.Set(a+"."+k, gguf.Uint32(v))
	}
	w.Set(a+".rope.freq_base", gguf.Float32(150000))
	w.Set(a+".rope.scaling.type", gguf.String("yarn"))
	w.Set(a+".rope.scaling.factor", gguf.Float32(32))
	w.Set(a+".attention.layer_norm_rms_epsilon", gguf.Float32(1e-5))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Experts != 32 || c.ExpertsUsed != 4 || c.ExpertHidden != 2880 || c.ExpertNorm || !c.WeightSoftmax || !c.SwiGLUOAI {
		t.Errorf("experts %+v", c)
	}
	if !c.AttnSinks || !c.QKVBias || !c.OutBias || !c.ExpertBias || !c.RopeNeox || !c.LocalRopeShared {
		t.Errorf("attention %+v", c)
	}
	if c.SlidingWindow != 128 || !c.Local(0) || c.Local(1) || !c.Local(22) || c.Local(23) {
		t.Errorf("sliding window %d, pattern %d", c.SlidingWindow, c.SlidingPattern)
	}
	if !c.RopeYarn || c.RopeFreqScale != 1.0/32 || c.YarnLow != 8 || c.YarnHigh != 18 || math.Abs(float64(c.YarnMscale)-1.34657) > 1e-4 {
		t.Errorf("yarn %v scale %v range [%v, %v] mscale %v", c.RopeYarn, c.RopeFreqScale, c.YarnLow, c.YarnHigh, c.YarnMscale)
	}
	w.Set(a+".rope.scaling.type", gguf.String("longrope"))
	buf.Reset()
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if f, err = gguf.Parse(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if _, err := ConfigFromGGUF(f); !errors.Is(err, ErrUnsupported) {
		t.Errorf("longrope scaling: %v, want ErrUnsupported", err)
	}
}

// TestRouteWeightSoftmax: gpt-oss's routing picks the top logits (the
// lower index first of equal ones) and weighs them by the softmax over
// the chosen logits alone.
func TestRouteWeightSoftmax(t *testing.T) {
	logits := []float32{1, 3, 2, 3, 0}
	sel, w := make([]int32, 3), make([]float32, 3)
	route(logits, sel, w, true, false, 0)
	if sel[0] != 1 || sel[1] != 3 || sel[2] != 2 {
		t.Fatalf("chosen %v, want [1 3 2]", sel)
	}
	want := []float64{math.E / (2*math.E + 1), math.E / (2*math.E + 1), 1 / (2*math.E + 1)}
	for j := range w {
		if math.Abs(float64(w[j])-want[j]) > 1e-6 {
			t.Errorf("weights %v, want %v", w, want)
		}
	}
}
