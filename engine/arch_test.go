package engine

import (
	"bytes"
	"context"
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
var archShapes = []string{"qwen3-tiny", "mixtral-tiny", "qwen3moe-tiny", "phi3-tiny", "gemma2-tiny", "gemma3-tiny"}

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
			route(append([]float32(nil), tc.logits...), sel, w, tc.norm, tc.scale)
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
