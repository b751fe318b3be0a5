package synth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

const spmVocabPath = "../../../shared/vocab/ggml-vocab-llama-spm.gguf"

var (
	spmOnce  sync.Once
	spmVocab *tokenizer.Vocab
	spmErr   error
)

func loadSPM(t testing.TB) *tokenizer.Vocab {
	t.Helper()
	spmOnce.Do(func() {
		f, err := gguf.Open(spmVocabPath)
		if err != nil {
			spmErr = err
			return
		}
		// The vocabulary copies what it needs; keep the map open for the
		// test process anyway since it is tiny.
		spmVocab, spmErr = tokenizer.VocabFromGGUF(f)
	})
	if spmErr != nil {
		t.Fatal(spmErr)
	}
	return spmVocab
}

func tinyShape(t testing.TB) Shape {
	s, err := ShapeByName("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func write(t testing.TB, opt Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, opt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestShapes(t *testing.T) {
	// Parameter counts with the vocabularies these models ship with.
	for _, tc := range []struct {
		name    string
		vocab   int
		headDim int
		params  float64 // approximate, in billions
	}{
		{"tiny", 32000, 16, 0.002245},
		{"small", 32000, 64, 0.01134},
		{"llama-1b", 128256, 64, 1.236},
		{"llama-8b", 128256, 128, 8.030},
		{"qwen2-0.5b", 151936, 64, 0.494},
		{"mixtral-8x7b", 32000, 128, 46.70},
		{"qwen3moe-30b-a3b", 151936, 128, 30.53},
		{"phi3-mini", 32064, 96, 3.821},
		{"gemma2-2b", 256000, 256, 2.614},
		{"gemma3-1b", 262144, 256, 0.99989},
		{"gemma3-4b", 262144, 256, 3.880},
		{"gpt-oss-20b", 201088, 64, 20.91},
		{"deepseek-v2-lite", 102400, 192, 15.71}, // the published 15.7B
		{"deepseek-v3", 129280, 192, 671.0},      // the published 671B (without the MTP block)
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ShapeByName(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if s.HeadDim() != tc.headDim {
				t.Errorf("head dim %d, want %d", s.HeadDim(), tc.headDim)
			}
			if s.Context > 8192 {
				t.Errorf("context %d not capped", s.Context)
			}
			ts, err := Tensors(Options{Shape: s, Vocab: &tokenizer.Vocab{Tokens: make([]string, tc.vocab)}})
			if err != nil {
				t.Fatal(err)
			}
			var n uint64
			for _, x := range ts {
				e := uint64(1)
				for _, d := range x.Dims {
					e *= d
				}
				n += e
			}
			if got := float64(n) / 1e9; math.Abs(got-tc.params) > 0.01*tc.params+0.0005 {
				t.Errorf("%.4fB parameters, want about %.3fB", got, tc.params)
			}
		})
	}
	if _, err := ShapeByName("gpt-5"); err == nil || !strings.Contains(err.Error(), "tiny") {
		t.Errorf("unknown shape: %v", err)
	}
}

func TestWriteTiny(t *testing.T) {
	vocab := loadSPM(t)
	s := tinyShape(t)
	for _, tc := range []struct {
		typ      kernels.DType
		matrix   kernels.DType // expected type of the matrices
		fileType int64
	}{
		{kernels.F32, kernels.F32, 0},
		{kernels.F16, kernels.F16, 1},
		{kernels.Q8_0, kernels.Q8_0, 7},
		{kernels.Q4_0, kernels.Q4_0, 2},
		{kernels.BF16, kernels.BF16, 32},
		{kernels.Q4_K, kernels.Q8_0, 15}, // rows of 64 are not whole 256-blocks
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			data := write(t, Options{Shape: s, Type: tc.typ, Vocab: vocab, Seed: 1})
			f, err := gguf.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			ints := map[string]int64{
				"llama.context_length": 512, "llama.embedding_length": 64, "llama.block_count": 4,
				"llama.feed_forward_length": 192, "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2,
				"llama.rope.dimension_count": 16, "llama.vocab_size": int64(len(vocab.Tokens)),
				"general.file_type": tc.fileType, "tokenizer.ggml.bos_token_id": int64(vocab.BOS),
			}
			for k, want := range ints {
				if got, err := f.Int(k); err != nil || got != want {
					t.Errorf("%s = %d (%v), want %d", k, got, err, want)
				}
			}
			floats := map[string]float64{"llama.rope.freq_base": 10000, "llama.attention.layer_norm_rms_epsilon": 1e-5}
			for k, want := range floats {
				if got, err := f.Float(k); err != nil || float32(got) != float32(want) {
					t.Errorf("%s = %v (%v), want %v", k, got, err, want)
				}
			}
			if a, err := f.String("general.architecture"); err != nil || a != "llama" {
				t.Errorf("architecture %q (%v)", a, err)
			}
			v2, err := tokenizer.VocabFromGGUF(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v2.Tokens, vocab.Tokens) || !reflect.DeepEqual(v2.Scores, vocab.Scores) {
				t.Error("vocabulary does not round-trip")
			}
			V := uint64(len(vocab.Tokens))
			want := map[string][]uint64{"token_embd.weight": {64, V}, "output_norm.weight": {64}}
			for i := 0; i < 4; i++ {
				p := fmt.Sprintf("blk.%d.", i)
				for n, d := range map[string][]uint64{
					"attn_norm.weight": {64}, "attn_q.weight": {64, 64}, "attn_k.weight": {64, 32}, "attn_v.weight": {64, 32},
					"attn_output.weight": {64, 64}, "ffn_norm.weight": {64}, "ffn_gate.weight": {64, 192},
					"ffn_down.weight": {192, 64}, "ffn_up.weight": {64, 192},
				} {
					want[p+n] = d
				}
			}
			if len(f.Tensors) != len(want) {
				t.Errorf("%d tensors, want %d (tied embeddings: no output.weight)", len(f.Tensors), len(want))
			}
			for name, dims := range want {
				ti, ok := f.Tensor(name)
				if !ok {
					t.Errorf("missing %s", name)
					continue
				}
				wt := tc.matrix
				if len(dims) == 1 {
					wt = kernels.F32
				}
				if !reflect.DeepEqual(ti.Dims, dims) || kernels.DType(ti.Type) != wt {
					t.Errorf("%s: %v %v, want %v %v", name, ti.Dims, ti.Type, dims, wt)
				}
			}
			// Norms are ones; matrices dequantize to about the generated values.
			checkValues(t, f, "blk.0.attn_norm.weight", 1, 0)
			checkValues(t, f, "blk.2.ffn_down.weight", 1/math.Sqrt(192), 1)
			checkValues(t, f, "token_embd.weight", 1/math.Sqrt(64), 1)
		})
	}
}

// checkValues checks the mean and standard deviation of a tensor.
func checkValues(t *testing.T, f *gguf.File, name string, wantStd float64, wantRandom float64) {
	t.Helper()
	ti, _ := f.Tensor(name)
	x := make([]float32, ti.Elements())
	if err := kernels.Dequantize(x, f.TensorData(ti), kernels.DType(ti.Type)); err != nil {
		t.Fatal(err)
	}
	var sum, sq float64
	for _, v := range x {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(x))
	mean := sum / n
	std := math.Sqrt(sq/n - mean*mean)
	if wantRandom == 0 {
		if mean != wantStd || std != 0 {
			t.Errorf("%s: mean %v std %v, want constant %v", name, mean, std, wantStd)
		}
		return
	}
	if math.Abs(mean) > 0.05*wantStd || math.Abs(std-wantStd) > 0.1*wantStd {
		t.Errorf("%s: mean %v std %v, want 0 and %v", name, mean, std, wantStd)
	}
}

func TestQwen2Tensors(t *testing.T) {
	s, err := ShapeByName("qwen2-0.5b")
	if err != nil {
		t.Fatal(err)
	}
	// Shrink to keep the test fast: the shape logic is the same.
	s.Dim, s.Hidden, s.Heads, s.KVHeads = 64, 96, 4, 2
	data := write(t, Options{Shape: s, Type: kernels.Q8_0, Vocab: loadSPM(t), Seed: 3, Layers: 2})
	f, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.Int("qwen2.block_count"); err != nil || n != 2 {
		t.Errorf("block_count %d (%v)", n, err)
	}
	if x, err := f.Float("qwen2.rope.freq_base"); err != nil || x != 1e6 {
		t.Errorf("rope base %v (%v)", x, err)
	}
	for name, dims := range map[string][]uint64{"blk.1.attn_q.bias": {64}, "blk.1.attn_k.bias": {32}, "blk.0.attn_v.bias": {32}} {
		ti, ok := f.Tensor(name)
		if !ok || !reflect.DeepEqual(ti.Dims, dims) || ti.Type != 0 {
			t.Errorf("%s: %v", name, ti)
		}
	}
	if _, ok := f.Tensor("output.weight"); ok {
		t.Error("tied qwen2 has output.weight")
	}
	if len(f.Tensors) != 2+2*12 {
		t.Errorf("%d tensors", len(f.Tensors))
	}
}

func TestUntiedOutput(t *testing.T) {
	s := tinyShape(t)
	s.TiedEmbeddings = false
	f, err := gguf.Parse(write(t, Options{Shape: s, Type: kernels.Q4_0, Vocab: loadSPM(t), Seed: 3, Layers: 1}))
	if err != nil {
		t.Fatal(err)
	}
	ti, ok := f.Tensor("output.weight")
	if !ok || !reflect.DeepEqual(ti.Dims, []uint64{64, uint64(len(loadSPM(t).Tokens))}) || kernels.DType(ti.Type) != kernels.Q4_0 {
		t.Errorf("output.weight: %v", ti)
	}
	if f.Tensors[len(f.Tensors)-1].Name != "output.weight" {
		t.Error("output.weight is not last")
	}
}

func TestDeterminism(t *testing.T) {
	vocab := loadSPM(t)
	s := tinyShape(t)
	base := Options{Shape: s, Type: kernels.Q8_0, Vocab: vocab, Seed: 42, Layers: 2}
	a := write(t, base)
	for _, tc := range []struct {
		name  string
		procs int
		seed  uint64
		same  bool
	}{
		{"same seed", 0, 42, true},
		{"same seed, one CPU", 1, 42, true},
		{"same seed, many CPUs", 7, 42, true},
		{"other seed", 0, 43, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.procs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			}
			opt := base
			opt.Seed = tc.seed
			b := write(t, opt)
			if bytes.Equal(a, b) != tc.same {
				t.Errorf("identical = %v, want %v", !tc.same, tc.same)
			}
			if !tc.same {
				fa, _ := gguf.Parse(a)
				fb, _ := gguf.Parse(b)
				for i := range fa.Tensors {
					ta, tb := &fa.Tensors[i], &fb.Tensors[i]
					isNorm := strings.Contains(ta.Name, "norm")
					if eq := bytes.Equal(fa.TensorData(ta), fb.TensorData(tb)); eq != isNorm {
						t.Errorf("%s: equal across seeds = %v", ta.Name, eq)
					}
				}
			}
		})
	}
	// A tensor generated on its own equals the one in the file, and the
	// layer count override does not change the tensors it keeps.
	ts, err := Tensors(base)
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := gguf.Parse(a)
	full := Options{Shape: s, Type: kernels.Q8_0, Vocab: vocab, Seed: 42}
	fb, err := gguf.Parse(write(t, full))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		var buf bytes.Buffer
		if err := ts[i].Stream(&buf, 42); err != nil {
			t.Fatal(err)
		}
		ta, _ := fa.Tensor(ts[i].Name)
		tb, _ := fb.Tensor(ts[i].Name)
		if !bytes.Equal(buf.Bytes(), fa.TensorData(ta)) || !bytes.Equal(buf.Bytes(), fb.TensorData(tb)) {
			t.Errorf("%s differs when generated alone or with more layers", ts[i].Name)
		}
	}
}

func TestStreamChunks(t *testing.T) {
	// Tensors larger than one chunk are split and reassembled in order.
	tn := Tensor{Name: "big", Dims: []uint64{1000, 3000}, Type: kernels.F32, Std: 1}
	var buf bytes.Buffer
	if err := tn.Stream(&buf, 9); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 4*1000*3000 {
		t.Fatalf("%d bytes", buf.Len())
	}
	row := make([]float32, 1000)
	want := make([]byte, 4000)
	for _, r := range []int{0, 1047, 1048, 2999} {
		tn.Row(9, r, row)
		if err := kernels.Quantize(want, row, kernels.F32); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes()[r*4000:(r+1)*4000], want) {
			t.Errorf("row %d out of place", r)
		}
	}
	// A failing writer stops the stream with its error.
	if err := tn.Stream(failingWriter{}, 9); !errors.Is(err, errStop) {
		t.Errorf("stream into a failing writer: %v", err)
	}
}

var errStop = errors.New("stop")

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errStop }

func TestOrdered(t *testing.T) {
	for _, tc := range []struct {
		n, workers, failAt int
	}{
		{0, 2, -1}, {1, 2, -1}, {50, 1, -1}, {50, 3, -1}, {50, 3, 17}, {50, 1, 0},
	} {
		t.Run(fmt.Sprintf("n%d_w%d_fail%d", tc.n, tc.workers, tc.failAt), func(t *testing.T) {
			var got []int
			err := ordered(tc.n, tc.workers, func(i int) ([]byte, error) {
				if i == tc.failAt {
					return nil, fmt.Errorf("chunk %d", i)
				}
				return []byte{byte(i)}, nil
			}, func(b []byte) error { got = append(got, int(b[0])); return nil })
			wantN := tc.n
			if tc.failAt >= 0 {
				if err == nil || err.Error() != fmt.Sprintf("chunk %d", tc.failAt) {
					t.Fatalf("error %v", err)
				}
				wantN = tc.failAt
			} else if err != nil {
				t.Fatal(err)
			}
			if len(got) != wantN {
				t.Fatalf("consumed %d, want %d", len(got), wantN)
			}
			for i, x := range got {
				if x != i {
					t.Fatalf("out of order: %v", got)
				}
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	vocab := loadSPM(t)
	s := tinyShape(t)
	bad := s
	bad.Heads = 3
	for _, tc := range []struct {
		name string
		opt  Options
		want string
	}{
		{"no vocab", Options{Shape: s}, "no vocabulary"},
		{"bad type", Options{Shape: s, Vocab: vocab, Type: 99}, "unsupported weight type"},
		{"bad shape", Options{Shape: bad, Vocab: vocab}, "heads"},
		{"bad arch", Options{Shape: Shape{Name: "x", Arch: "gpt2"}, Vocab: vocab}, "architecture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	opt := Options{Shape: tinyShape(t), Type: kernels.F16, Vocab: loadSPM(t), Seed: 5, Layers: 1}
	if err := WriteFile(path, opt); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !bytes.Equal(f.Bytes(), write(t, opt)) {
		t.Error("WriteFile and Write differ")
	}
}

func BenchmarkStream(b *testing.B) {
	for _, typ := range []kernels.DType{kernels.F32, kernels.F16, kernels.Q8_0, kernels.Q4_0} {
		b.Run(typ.String(), func(b *testing.B) {
			tn := Tensor{Name: "blk.0.ffn_up.weight", Dims: []uint64{2048, 8192}, Type: typ, Std: 0.02}
			b.SetBytes(int64(tn.Dims[0] * tn.Dims[1])) // one "byte" per parameter
			for b.Loop() {
				if err := tn.Stream(io.Discard, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A q4_k_m model is q4_k with q6_k where llama.cpp's Q4_K_M recipe puts
// it: the tied output (token_embd), and attn_v and ffn_down of the blocks
// use_more_bits picks (for 8 blocks: 0, 3, 6 and 7).
func TestMixed(t *testing.T) {
	s, err := ShapeByName("small")
	if err != nil {
		t.Fatal(err)
	}
	// A 512-token vocabulary keeps the embedding small.
	vocab, err := tokenizer.LoadLlama2C("../../../shared/models/tok512.bin", 512)
	if err != nil {
		t.Fatal(err)
	}
	s.Dim, s.Hidden = 256, 256
	f, err := gguf.Parse(write(t, Options{Shape: s, Type: kernels.Q4_K, Mixed: true, Vocab: vocab, Seed: 2, Layers: 8}))
	if err != nil {
		t.Fatal(err)
	}
	more := map[int]bool{0: true, 3: true, 6: true, 7: true}
	want := map[string]kernels.DType{"token_embd.weight": kernels.Q6_K, "output_norm.weight": kernels.F32}
	for i := 0; i < 8; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		for _, n := range []string{"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"} {
			want[p+n+".weight"] = kernels.Q4_K
		}
		for _, n := range []string{"attn_v", "ffn_down"} {
			want[p+n+".weight"] = kernels.Q4_K
			if more[i] {
				want[p+n+".weight"] = kernels.Q6_K
			}
		}
		want[p+"attn_norm.weight"], want[p+"ffn_norm.weight"] = kernels.F32, kernels.F32
	}
	if len(f.Tensors) != len(want) {
		t.Errorf("%d tensors, want %d", len(f.Tensors), len(want))
	}
	for name, wt := range want {
		ti, ok := f.Tensor(name)
		if !ok || kernels.DType(ti.Type) != wt {
			t.Errorf("%s: %v, want %v", name, ti, wt)
		}
	}
	if ft, err := f.Int("general.file_type"); err != nil || ft != 15 {
		t.Errorf("file type %d (%v), want 15 (Q4_K_M)", ft, err)
	}
	checkValues(t, f, "blk.3.ffn_down.weight", 1/math.Sqrt(256), 1)
	checkValues(t, f, "blk.4.ffn_down.weight", 1/math.Sqrt(256), 1)
	// Untied, the output is the q6_k matrix and token_embd stays q4_k.
	s.TiedEmbeddings = false
	f, err = gguf.Parse(write(t, Options{Shape: s, Type: kernels.Q4_K, Mixed: true, Vocab: vocab, Seed: 2, Layers: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for name, wt := range map[string]kernels.DType{"token_embd.weight": kernels.Q4_K, "output.weight": kernels.Q6_K, "blk.0.attn_v.weight": kernels.Q6_K} {
		if ti, ok := f.Tensor(name); !ok || kernels.DType(ti.Type) != wt {
			t.Errorf("untied: %s: %v, want %v", name, ti, wt)
		}
	}
	if _, err := Tensors(Options{Shape: s, Type: kernels.Q8_0, Mixed: true, Vocab: vocab}); err == nil {
		t.Error("a mixed q8_0 model was accepted")
	}
}

// The k-quant types need rows of whole 256-element super-blocks: the small
// shape has them, so every matrix is of the asked type.
// q5_k_m is q5_k with q6_k where q4_k_m has it; q3_k_m follows llama.cpp's
// Q3_K_M recipe: q6_k output, q4_k attn_output, attn_v q5_k in the first
// two blocks and q4_k after, ffn_down q5_k in the first sixteenth, q4_k in
// the other more-bits blocks, q3_k elsewhere.
func TestMixesQ5Q3(t *testing.T) {
	s, err := ShapeByName("small")
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := tokenizer.LoadLlama2C("../../../shared/models/tok512.bin", 512)
	if err != nil {
		t.Fatal(err)
	}
	s.Dim, s.Hidden = 256, 256
	const layers = 16 // more-bits blocks: 0, 1, 4, 7, 10, 13, 14, 15
	more := map[int]bool{0: true, 1: true, 4: true, 7: true, 10: true, 13: true, 14: true, 15: true}
	for _, tc := range []struct {
		typ    kernels.DType
		ft     int64
		wantOf func(i int, name string) kernels.DType
	}{
		{kernels.Q5_K, 17, func(i int, name string) kernels.DType {
			if (name == "attn_v" || name == "ffn_down") && more[i] {
				return kernels.Q6_K
			}
			return kernels.Q5_K
		}},
		{kernels.Q3_K, 12, func(i int, name string) kernels.DType {
			switch {
			case name == "attn_output":
				return kernels.Q4_K
			case name == "attn_v" && i < 2:
				return kernels.Q5_K
			case name == "attn_v":
				return kernels.Q4_K
			case name == "ffn_down" && i < 1:
				return kernels.Q5_K
			case name == "ffn_down" && more[i]:
				return kernels.Q4_K
			}
			return kernels.Q3_K
		}},
	} {
		t.Run(TypeName(tc.typ, true), func(t *testing.T) {
			f, err := gguf.Parse(write(t, Options{Shape: s, Type: tc.typ, Mixed: true, Vocab: vocab, Seed: 2, Layers: layers}))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]kernels.DType{"token_embd.weight": kernels.Q6_K}
			for i := 0; i < layers; i++ {
				for _, n := range []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"} {
					want[fmt.Sprintf("blk.%d.%s.weight", i, n)] = tc.wantOf(i, n)
				}
			}
			for name, wt := range want {
				if ti, ok := f.Tensor(name); !ok || kernels.DType(ti.Type) != wt {
					t.Errorf("%s: %v, want %v", name, ti, wt)
				}
			}
			if ft, err := f.Int("general.file_type"); err != nil || ft != tc.ft {
				t.Errorf("file type %d (%v), want %d", ft, err, tc.ft)
			}
		})
	}
}

func TestSmallEveryType(t *testing.T) {
	s, err := ShapeByName("small")
	if err != nil {
		t.Fatal(err)
	}
	vocab := loadSPM(t)
	for _, typ := range kernels.Types() {
		ts, err := Tensors(Options{Shape: s, Type: typ, Vocab: vocab})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			if len(x.Dims) == 2 && x.Type != typ {
				t.Errorf("%v: %s is %v", typ, x.Name, x.Type)
			}
		}
	}
}

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in    string
		typ   kernels.DType
		mixed bool
		ok    bool
	}{
		{"q8_0", kernels.Q8_0, false, true},
		{"BF16", kernels.BF16, false, true},
		{"q4_k", kernels.Q4_K, false, true},
		{"q6_k", kernels.Q6_K, false, true},
		{"Q4_K_M", kernels.Q4_K, true, true},
		{"q5_k_m", kernels.Q5_K, true, true},
		{"Q3_K_M", kernels.Q3_K, true, true},
		{"q8_0_m", 0, false, false},
		{"", 0, false, false},
	} {
		typ, mixed, err := ParseType(tc.in)
		if (err == nil) != tc.ok || typ != tc.typ || mixed != tc.mixed {
			t.Errorf("ParseType(%q) = %v, %v, %v", tc.in, typ, mixed, err)
		}
		if err == nil && !strings.EqualFold(TypeName(typ, mixed), tc.in) {
			t.Errorf("TypeName(%v, %v) = %q, want %q", typ, mixed, TypeName(typ, mixed), tc.in)
		}
	}
	names := TypeNames()
	for _, n := range names {
		if _, _, err := ParseType(n); err != nil {
			t.Errorf("TypeNames lists %q, which ParseType refuses: %v", n, err)
		}
	}
	if len(names) != len(kernels.Types())+3 {
		t.Errorf("TypeNames() = %v", names)
	}
}
