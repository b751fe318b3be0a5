package llama2c

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

var (
	aidreamsBin  = filepath.Join(sharedModels, "aidreams260K.bin")
	aidreamsTok  = filepath.Join(sharedModels, "tok512.bin")
	aidreamsGGUF = filepath.Join(sharedModels, "aidreams260K.gguf")
)

func TestConvertAidreamsMatchesReference(t *testing.T) {
	want, err := os.ReadFile(aidreamsGGUF)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.gguf")
	if err := Convert(aidreamsBin, aidreamsTok, out, Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstReference(t, got, want)
}

// checkAgainstReference requires got to be byte-identical to want, and
// names the differing metadata or tensors when it is not.
func checkAgainstReference(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("conversion differs from %s: %q", aidreamsGGUF, diffGGUF(t, got, want))
	}
}

// diffGGUF lists the differences between two GGUF images.
func diffGGUF(t *testing.T, got, want []byte) []string {
	t.Helper()
	g, err := gguf.Parse(got)
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	w, err := gguf.Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if g.Version != w.Version || g.Alignment != w.Alignment {
		add("version/alignment %d/%d, want %d/%d", g.Version, g.Alignment, w.Version, w.Alignment)
	}
	keys := func(f *gguf.File) []string {
		var ks []string
		for _, kv := range f.KV {
			ks = append(ks, kv.Key)
		}
		return ks
	}
	if !reflect.DeepEqual(keys(g), keys(w)) {
		add("metadata keys %q, want %q", keys(g), keys(w))
	}
	for _, kv := range w.KV {
		gv, ok := g.Get(kv.Key)
		if !ok || reflect.DeepEqual(gv, kv.Value) {
			continue
		}
		gs, ok1 := gv.Strings()
		ws, ok2 := kv.Value.Strings()
		if ok1 && ok2 && len(gs) == len(ws) {
			for i := range ws {
				if gs[i] != ws[i] {
					add("%s[%d]: %q, want %q", kv.Key, i, gs[i], ws[i])
				}
			}
			continue
		}
		add("%s: %s %.200s, want %s %.200s", kv.Key, gv.Type, fmt.Sprint(gv.Any()), kv.Value.Type, fmt.Sprint(kv.Value.Any()))
	}
	if len(g.Tensors) != len(w.Tensors) {
		add("%d tensors, want %d", len(g.Tensors), len(w.Tensors))
	}
	for i := range min(len(g.Tensors), len(w.Tensors)) {
		gt, wt := &g.Tensors[i], &w.Tensors[i]
		if gt.Name != wt.Name || !reflect.DeepEqual(gt.Dims, wt.Dims) || gt.Type != wt.Type || gt.Offset != wt.Offset {
			add("tensor %d: %s %v %v @%d, want %s %v %v @%d", i, gt.Name, gt.Dims, gt.Type, gt.Offset, wt.Name, wt.Dims, wt.Type, wt.Offset)
		} else if !bytes.Equal(g.TensorData(gt), w.TensorData(wt)) {
			add("tensor %s: data differs", gt.Name)
		}
	}
	return diffs
}

func TestWriteAidreamsMatchesReference(t *testing.T) {
	// The lower-level path (parsed model and vocabulary, io.Writer) gives
	// the same bytes when given the same name.
	m, err := Open(aidreamsBin)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := tokenizer.LoadLlama2C(aidreamsTok, m.VocabSize)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, m, v, Options{Name: "aidreams260K"}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(aidreamsGGUF)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstReference(t, buf.Bytes(), want)
}

func TestConvertTypes(t *testing.T) {
	m, err := Open(aidreamsBin)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := tokenizer.LoadLlama2C(aidreamsTok, m.VocabSize)
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]Weight{"token_embd.weight": m.TokenEmbedding(), "blk.3.ffn_down.weight": m.Block(3).W2,
		"blk.1.attn_k.weight": m.Block(1).WK, "output_norm.weight": m.RMSFinal()}
	for _, tc := range []struct {
		typ      kernels.DType
		fileType int64
		tol      float64 // max relative error (to the row's max abs)
	}{
		{kernels.F32, -1, 0},
		{kernels.F16, 1, 1e-3},
		{kernels.BF16, 32, 8e-3},
		{kernels.Q8_0, 7, 1e-2},
		{kernels.Q4_0, 2, 0.15},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			var notes []string
			var buf bytes.Buffer
			opt := Options{Name: "x", Type: tc.typ, Logf: func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) }}
			if err := Write(&buf, m, v, opt); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			ft, err := f.Int("general.file_type")
			if tc.fileType < 0 {
				if err == nil {
					t.Errorf("general.file_type set for f32")
				}
			} else if ft != tc.fileType {
				t.Errorf("general.file_type %d (%v), want %d", ft, err, tc.fileType)
			}
			if len(f.Tensors) != 2+9*m.Layers {
				t.Errorf("%d tensors", len(f.Tensors))
			}
			for _, ti := range f.Tensors {
				want := kernels.DType(ti.Type)
				switch {
				case len(ti.Dims) == 1:
					want = kernels.F32
				case tc.typ.BlockSize() > 1 && ti.Dims[0]%uint64(tc.typ.BlockSize()) != 0:
					want = kernels.F16 // ffn_down: rows of 172
				default:
					want = tc.typ
				}
				if kernels.DType(ti.Type) != want {
					t.Errorf("%s %v: type %v, want %v", ti.Name, ti.Dims, ti.Type, want)
				}
			}
			if wantNotes := 0; tc.typ.BlockSize() > 1 {
				wantNotes = m.Layers
				if len(notes) != wantNotes || !strings.Contains(notes[0], "ffn_down") {
					t.Errorf("notes %q", notes)
				}
			} else if len(notes) != 0 {
				t.Errorf("notes %q", notes)
			}
			for name, w := range ref {
				ti, ok := f.Tensor(name)
				if !ok {
					t.Fatalf("no %s", name)
				}
				got := make([]float32, ti.Elements())
				if err := kernels.Dequantize(got, f.TensorData(ti), kernels.DType(ti.Type)); err != nil {
					t.Fatal(err)
				}
				orig := w.Floats()
				for r := 0; r < w.Rows; r++ {
					row := orig[r*w.Cols : (r+1)*w.Cols]
					amax := 0.0
					for _, x := range row {
						amax = math.Max(amax, math.Abs(float64(x)))
					}
					for c, x := range row {
						if d := math.Abs(float64(got[r*w.Cols+c] - x)); d > tc.tol*amax {
							t.Fatalf("%s[%d,%d] = %v, want %v (tolerance %v)", name, r, c, got[r*w.Cols+c], x, tc.tol*amax)
						}
					}
				}
			}
		})
	}
}

// smallVocab is a vocabulary of n tokens in the llama2.c style.
func smallVocab(n int) *tokenizer.Vocab {
	v := &tokenizer.Vocab{Model: "llama", BOS: 1, EOS: 2, UNK: 0, PAD: -1}
	for i := 0; i < n; i++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("t%d", i))
		v.Scores = append(v.Scores, float32(-i))
		v.Types = append(v.Types, 1)
	}
	return v
}

func TestConvertUnsharedClassifier(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"shared", Config{Dim: 8, HiddenDim: 12, Layers: 2, Heads: 2, KVHeads: 1, VocabSize: 5, SeqLen: 3, SharedClassifier: true}},
		{"unshared", Config{Dim: 8, HiddenDim: 12, Layers: 3, Heads: 4, KVHeads: 2, VocabSize: 7, SeqLen: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(checkpoint(tc.c))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, m, smallVocab(tc.c.VocabSize), Options{Name: "ck"}); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			c := tc.c
			wantDims := map[string][]uint64{
				"token_embd.weight":        {uint64(c.Dim), uint64(c.VocabSize)},
				"blk.0.attn_norm.weight":   {uint64(c.Dim)},
				"blk.1.attn_q.weight":      {uint64(c.Dim), uint64(c.Dim)},
				"blk.1.attn_k.weight":      {uint64(c.Dim), uint64(c.KVDim())},
				"blk.1.attn_v.weight":      {uint64(c.Dim), uint64(c.KVDim())},
				"blk.1.attn_output.weight": {uint64(c.Dim), uint64(c.Dim)},
				"blk.1.ffn_gate.weight":    {uint64(c.Dim), uint64(c.HiddenDim)},
				"blk.1.ffn_down.weight":    {uint64(c.HiddenDim), uint64(c.Dim)},
				"blk.1.ffn_up.weight":      {uint64(c.Dim), uint64(c.HiddenDim)},
				"output_norm.weight":       {uint64(c.Dim)},
			}
			if !c.SharedClassifier {
				wantDims["output.weight"] = []uint64{uint64(c.Dim), uint64(c.VocabSize)}
			}
			for name, dims := range wantDims {
				ti, ok := f.Tensor(name)
				if !ok {
					t.Errorf("missing %s", name)
					continue
				}
				if !reflect.DeepEqual(ti.Dims, dims) {
					t.Errorf("%s dims %v, want %v", name, ti.Dims, dims)
				}
			}
			if _, ok := f.Tensor("output.weight"); ok && c.SharedClassifier {
				t.Error("output.weight written for a shared classifier")
			}
			if want := 2 + 9*c.Layers + len(wantDims) - 10; len(f.Tensors) != want {
				t.Errorf("%d tensors, want %d", len(f.Tensors), want)
			}
			if !c.SharedClassifier {
				ti, _ := f.Tensor("output.weight")
				if !bytes.Equal(f.TensorData(ti), m.Classifier().Bytes()) {
					t.Error("output.weight data differs from wcls")
				}
			}
			for key, want := range map[string]int64{
				"llama.context_length": int64(c.SeqLen), "llama.embedding_length": int64(c.Dim),
				"llama.block_count": int64(c.Layers), "llama.feed_forward_length": int64(c.HiddenDim),
				"llama.rope.dimension_count": int64(c.HeadSize()), "llama.attention.head_count": int64(c.Heads),
				"llama.attention.head_count_kv": int64(c.KVHeads),
			} {
				if got, err := f.Int(key); err != nil || got != want {
					t.Errorf("%s = %d (%v), want %d", key, got, err, want)
				}
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	m, err := Parse(checkpoint(Config{Dim: 8, HiddenDim: 12, Layers: 1, Heads: 2, KVHeads: 1, VocabSize: 5, SeqLen: 3, SharedClassifier: true}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"missing model", func() error { return Convert(filepath.Join(dir, "none.bin"), aidreamsTok, out, Options{}) }, "no such file"},
		{"missing tokenizer", func() error { return Convert(aidreamsBin, filepath.Join(dir, "none.bin"), out, Options{}) }, "tokenizer"},
		{"model is a tokenizer", func() error { return Convert(aidreamsTok, aidreamsTok, out, Options{}) }, "malformed"},
		{"vocab size", func() error { return Write(&bytes.Buffer{}, m, smallVocab(6), Options{}) }, "6 tokens"},
		{"nil vocab", func() error { return Write(&bytes.Buffer{}, m, nil, Options{}) }, "no vocabulary"},
		{"bad type", func() error { return Write(&bytes.Buffer{}, m, smallVocab(5), Options{Type: 99}) }, "unsupported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed conversions left %s behind", out)
	}
}

func TestModelName(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b/aidreams260K.bin": "aidreams260K",
		"stories15M.bin":        "stories15M",
		"noext":                 "noext",
		"x.tar.gz":              "x.tar",
	} {
		if got := ModelName(in); got != want {
			t.Errorf("ModelName(%q) = %q, want %q", in, got, want)
		}
	}
}
