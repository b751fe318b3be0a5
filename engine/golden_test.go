package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sharding"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden.json from the generic kernels")

const goldenPath = "testdata/golden.json"

// goldenDigest is what one synthetic model computes for a fixed prompt:
// the hidden states after every block of the prefill, the prefill logits,
// the hop encodings (f16, q8_0) of the first block's output, the hidden
// states and logits of every greedy decode step, and the tokens chosen.
type goldenDigest struct {
	Blocks  []string `json:"blocks"`
	Logits  string   `json:"logits"`
	Hops    string   `json:"hops"`
	Decode  string   `json:"decode"`
	Tokens  []int32  `json:"tokens"`
	Weights string   `json:"weights"` // the GGUF file itself
}

// goldenShape is small enough to run in milliseconds yet has rows that are
// whole k-quant super-blocks and heads of 64 (the 16-lane float kernels'
// fast path) plus a feed-forward width that is not a multiple of 256 for
// the fallback types.
func goldenCases() []struct {
	name  string
	shape synth.Shape
	typ   kernels.DType
} {
	llama := synth.Shape{Name: "golden", Arch: "llama", Dim: 256, Hidden: 512, Layers: 3, Heads: 4, KVHeads: 2,
		Context: 64, RopeBase: 10000, Eps: 1e-5}
	qwen := synth.Shape{Name: "golden-qwen2", Arch: "qwen2", Dim: 256, Hidden: 768, Layers: 2, Heads: 4, KVHeads: 1,
		Context: 64, RopeBase: 1e6, Eps: 1e-6, QKVBias: true, TiedEmbeddings: true}
	var cs []struct {
		name  string
		shape synth.Shape
		typ   kernels.DType
	}
	for _, t := range []kernels.DType{kernels.F32, kernels.F16, kernels.BF16, kernels.Q8_0, kernels.Q4_0, kernels.Q4_K, kernels.Q6_K,
		kernels.Q4_1, kernels.Q5_0, kernels.MXFP4, kernels.Q3_K, kernels.Q5_K, kernels.IQ4_XS} {
		cs = append(cs, struct {
			name  string
			shape synth.Shape
			typ   kernels.DType
		}{"llama/" + t.String(), llama, t})
	}
	for _, t := range []kernels.DType{kernels.Q8_0, kernels.Q4_K, kernels.Q5_K} {
		cs = append(cs, struct {
			name  string
			shape synth.Shape
			typ   kernels.DType
		}{"qwen2/" + t.String(), qwen, t})
	}
	// The newer architectures, at their small synthetic shapes.
	for _, a := range []struct {
		shape string
		typ   kernels.DType
	}{{"mixtral-tiny", kernels.Q8_0}, {"mixtral-tiny", kernels.Q4_K}, {"qwen3moe-tiny", kernels.Q8_0}, {"phi3-tiny", kernels.Q8_0}, {"gemma2-tiny", kernels.Q8_0}, {"gemma3-tiny", kernels.Q8_0}, {"gpt-oss-tiny", kernels.Q8_0}, {"gpt-oss-tiny", kernels.MXFP4}, {"deepseek2-tiny", kernels.Q8_0}, {"deepseek3-tiny", kernels.Q4_K}} {
		s, err := synth.ShapeByName(a.shape)
		if err != nil {
			panic(err)
		}
		cs = append(cs, struct {
			name  string
			shape synth.Shape
			typ   kernels.DType
		}{a.shape + "/" + a.typ.String(), s, a.typ})
	}
	return cs
}

func hashFloats(h hash.Hash, x []float32) {
	var b [4]byte
	for _, v := range x {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
}

func digestOf(x []float32) string {
	h := sha256.New()
	hashFloats(h, x)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// runGolden computes the digest of the model at path with the given pool.
func runGolden(t *testing.T, path string, pool *kernels.Pool) goldenDigest {
	t.Helper()
	ctx := context.Background()
	m, err := Open(path, Options{Embed: true, Head: true, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config
	sess, err := m.NewSession(32)
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int32{1, 300, 17, 42, 511, 7, 256, 99, 3}
	n := len(prompt)
	x := make([]float32, n*c.Dim)
	if err := m.Embed(prompt, x); err != nil {
		t.Fatal(err)
	}
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Session: sess, Pos: i}
	}
	var d goldenDigest
	for b := 0; b < c.Layers; b++ {
		if err := m.ForwardSpan(ctx, x, rows, sharding.Span{Start: b, End: b + 1}); err != nil {
			t.Fatal(err)
		}
		d.Blocks = append(d.Blocks, digestOf(x))
		if b == 0 {
			h := sha256.New()
			for _, typ := range []kernels.DType{kernels.F16, kernels.Q8_0} {
				rb, _ := typ.RowBytes(c.Dim)
				enc := make([]byte, n*rb)
				for r := 0; r < n; r++ {
					if err := kernels.Quantize(enc[r*rb:(r+1)*rb], x[r*c.Dim:(r+1)*c.Dim], typ); err != nil {
						t.Fatal(err)
					}
				}
				h.Write(enc)
			}
			d.Hops = hex.EncodeToString(h.Sum(nil)[:12])
		}
	}
	logits := make([]float32, n*c.VocabSize)
	if err := m.Head(x, n, logits); err != nil {
		t.Fatal(err)
	}
	d.Logits = digestOf(logits)
	tok := sample.Argmax(logits[(n-1)*c.VocabSize:])
	dec := sha256.New()
	one := make([]float32, c.Dim)
	lg := make([]float32, c.VocabSize)
	for step := 0; step < 8; step++ {
		d.Tokens = append(d.Tokens, tok)
		if err := m.Embed([]int32{tok}, one); err != nil {
			t.Fatal(err)
		}
		if err := m.Forward(ctx, one, []Row{{Session: sess, Pos: n + step}}); err != nil {
			t.Fatal(err)
		}
		if err := m.Head(one, 1, lg); err != nil {
			t.Fatal(err)
		}
		hashFloats(dec, one)
		hashFloats(dec, lg)
		tok = sample.Argmax(lg)
	}
	d.Decode = hex.EncodeToString(dec.Sum(nil)[:12])
	return d
}

func fileDigest(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:12])
}

// TestGolden checks that every kernel set this machine has, at 1 and 3
// threads, computes bitwise the digests committed in testdata/golden.json
// (made by the generic kernels with -update-golden) for synthetic models of
// every weight type: so every CPU, whatever its kernels and architecture,
// proves it computes the one canonical result.
func TestGolden(t *testing.T) {
	vocab, err := tokenizer.LoadLlama2C("../../shared/models/tok512.bin", 512)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]goldenDigest{}
	if !*updateGolden {
		data, err := os.ReadFile(goldenPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]goldenDigest{}
	dir := t.TempDir()
	impls := kernels.Available()
	if *updateGolden {
		impls = []kernels.Impl{kernels.Generic}
	}
	for _, tc := range goldenCases() {
		path := filepath.Join(dir, fmt.Sprintf("%s-%s.gguf", tc.shape.Name, tc.typ))
		if err := synth.WriteFile(path, synth.Options{Shape: tc.shape, Type: tc.typ, Vocab: vocab, Seed: 9}); err != nil {
			t.Fatal(err)
		}
		weights := fileDigest(t, path)
		for _, impl := range impls {
			for _, threads := range []int{1, 3} {
				pool, err := kernels.NewPoolImpl(threads, impl)
				if err != nil {
					t.Fatal(err)
				}
				d := runGolden(t, path, pool)
				pool.Close()
				d.Weights = weights
				if *updateGolden {
					got[tc.name] = d
					continue
				}
				w, ok := want[tc.name]
				switch {
				case !ok:
					t.Errorf("%s: no golden digest; run go test ./engine -run TestGolden -update-golden", tc.name)
				case w.Weights != d.Weights:
					t.Errorf("%s: the synthetic model's bytes differ from the golden one's (%s, want %s): synth or the quantizers changed", tc.name, d.Weights, w.Weights)
				default:
					for b := range w.Blocks {
						if b >= len(d.Blocks) || d.Blocks[b] != w.Blocks[b] {
							t.Errorf("%s %s/%d threads: hidden states after block %d differ from the canonical ones", tc.name, impl, threads, b)
							break
						}
					}
					if d.Hops != w.Hops {
						t.Errorf("%s %s/%d threads: hop encodings differ", tc.name, impl, threads)
					}
					if d.Logits != w.Logits {
						t.Errorf("%s %s/%d threads: prefill logits differ", tc.name, impl, threads)
					}
					if d.Decode != w.Decode || !slices.Equal(d.Tokens, w.Tokens) {
						t.Errorf("%s %s/%d threads: decode differs: tokens %v, want %v", tc.name, impl, threads, d.Tokens, w.Tokens)
					}
				}
			}
		}
	}
	if *updateGolden {
		data, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d models)", goldenPath, len(got))
	}
}
