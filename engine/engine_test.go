package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/sharding"
)

const shared = "../../shared"

var modelPath = filepath.Join(shared, "models", "aidreams260K.gguf")

type refCase struct {
	Prompt          string  `json:"prompt"`
	Steps           int     `json:"steps"`
	PromptTokens    []int32 `json:"prompt_tokens"`
	Tokens          []int32 `json:"tokens"`
	GeneratedTokens []int32 `json:"generated_tokens"`
	Text            string  `json:"text"`
}

func loadRef(t testing.TB) []refCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shared, "reference", "aidreams260K-greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []refCase }
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no reference cases")
	}
	return ref.Cases
}

func openFile(t testing.TB, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func load(t testing.TB, f *gguf.File, opt Options) *Model {
	t.Helper()
	m, err := Load(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// generate runs greedy generation the way the reference does: up to steps
// positions, stopping when the model emits BOS.
func generate(t testing.TB, m *Model, c refCase, maxNew int) []int32 {
	t.Helper()
	sess, err := m.NewSession(c.Steps + 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []int32
	_, err = m.Generate(context.Background(), sess, c.PromptTokens, GenerateOptions{
		MaxTokens: maxNew,
		Stop:      func(tok int32) bool { return tok == 1 },
	}, func(tok int32) error { out = append(out, tok); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func firstDiff(a, b []int32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestGreedyMatchesReference(t *testing.T) {
	m := load(t, openFile(t, modelPath), Full())
	for _, c := range loadRef(t) {
		t.Run(c.Prompt, func(t *testing.T) {
			got := generate(t, m, c, c.Steps+1-len(c.PromptTokens))
			if i := firstDiff(got, c.GeneratedTokens); i >= 0 {
				t.Fatalf("tokens differ at %d: got %v, want %v", i, got[i:min(len(got), i+5)], c.GeneratedTokens[i:min(len(c.GeneratedTokens), i+5)])
			}
		})
	}
}

// quantizedCopy rewrites a GGUF with its 2-D matrices in type dt (those
// whose rows are not a whole number of blocks stay as they are, as
// llama.cpp's quantizer does).
func quantizedCopy(t testing.TB, f *gguf.File, dt kernels.DType) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data := f.TensorData(ti)
		if len(ti.Dims) == 2 && int(ti.Dims[0])%dt.BlockSize() == 0 && ti.Type == 0 {
			src := make([]float32, ti.Elements())
			if err := kernels.Dequantize(src, data, kernels.F32); err != nil {
				t.Fatal(err)
			}
			n, _ := dt.RowBytes(len(src))
			q := make([]byte, n)
			if err := kernels.Quantize(q, src, dt); err != nil {
				t.Fatal(err)
			}
			w.AddTensor(ti.Name, gguf.TensorType(dt), ti.Dims, q)
			continue
		}
		w.AddTensor(ti.Name, ti.Type, ti.Dims, data)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestQuantizedMatchesReference(t *testing.T) {
	tests := []struct {
		dt    kernels.DType
		match int // leading generated tokens that must equal the f32 reference
	}{
		{kernels.Q8_0, 16},
		{kernels.F16, 16},
	}
	f := openFile(t, modelPath)
	for _, tc := range tests {
		t.Run(tc.dt.String(), func(t *testing.T) {
			m := load(t, quantizedCopy(t, f, tc.dt), Full())
			for _, c := range loadRef(t) {
				got := generate(t, m, c, tc.match)
				want := c.GeneratedTokens[:min(tc.match, len(c.GeneratedTokens))]
				if i := firstDiff(got, want); i >= 0 {
					t.Errorf("prompt %q: token %d differs: got %v, want %v", c.Prompt, i, got, want)
				}
			}
		})
	}
}

// forwardAll embeds tokens, runs the given stage models in order and returns
// the logits of every row.
func forwardAll(t testing.TB, embed *Model, stages []*Model, head *Model, tokens []int32) []float32 {
	t.Helper()
	ctx := context.Background()
	dim := embed.Config.Dim
	x := make([]float32, len(tokens)*dim)
	if err := embed.Embed(tokens, x); err != nil {
		t.Fatal(err)
	}
	for _, s := range stages {
		sess, err := s.NewSession(len(tokens))
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]Row, len(tokens))
		for i := range rows {
			rows[i] = Row{Session: sess, Pos: i}
		}
		if err := s.Forward(ctx, x, rows); err != nil {
			t.Fatal(err)
		}
	}
	logits := make([]float32, len(tokens)*head.Config.VocabSize)
	if err := head.Head(x, len(tokens), logits); err != nil {
		t.Fatal(err)
	}
	return logits
}

func bitsEqual(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestSplitEqualsWhole(t *testing.T) {
	for _, dt := range []kernels.DType{kernels.F32, kernels.Q8_0} {
		t.Run(dt.String(), func(t *testing.T) {
			f := openFile(t, modelPath)
			if dt != kernels.F32 {
				f = quantizedCopy(t, f, dt)
			}
			tokens := []int32{1, 303, 281, 269, 435, 447, 275, 12, 99}
			whole := load(t, f, Full())
			want := forwardAll(t, whole, []*Model{whole}, whole, tokens)
			splits := [][]sharding.Span{
				{{Start: 0, End: 2}, {Start: 2, End: 4}},
				{{Start: 0, End: 1}, {Start: 1, End: 2}, {Start: 2, End: 3}, {Start: 3, End: 4}},
				{{Start: 0, End: 3}, {Start: 3, End: 4}},
			}
			for _, sp := range splits {
				edge := load(t, f, Options{Embed: true, Head: true, NoBlocks: true})
				var stages []*Model
				for _, s := range sp {
					stages = append(stages, load(t, f, Options{Blocks: s}))
				}
				got := forwardAll(t, edge, stages, edge, tokens)
				if i := bitsEqual(got, want); i >= 0 {
					t.Fatalf("split %v: logit %d differs: %v vs %v", sp, i, got[i], want[i])
				}
			}
		})
	}
}

// TestBatchEqualsSingle decodes three sequences at different positions in
// one batch and checks each row equals decoding it alone, bit for bit.
func TestBatchEqualsSingle(t *testing.T) {
	for _, dt := range []kernels.DType{kernels.F32, kernels.Q8_0} {
		t.Run(dt.String(), func(t *testing.T) {
			f := openFile(t, modelPath)
			if dt != kernels.F32 {
				f = quantizedCopy(t, f, dt)
			}
			m := load(t, f, Full())
			ctx := context.Background()
			dim, vocab := m.Config.Dim, m.Config.VocabSize
			prompts := [][]int32{{1, 303, 281}, {1, 368, 430, 324, 323}, {1}}
			next := []int32{269, 449, 388}
			prefill := func() []*Session {
				var ss []*Session
				for _, p := range prompts {
					s, _ := m.NewSession(16)
					x := make([]float32, len(p)*dim)
					if err := m.Embed(p, x); err != nil {
						t.Fatal(err)
					}
					rows := make([]Row, len(p))
					for i := range rows {
						rows[i] = Row{s, i}
					}
					if err := m.Forward(ctx, x, rows); err != nil {
						t.Fatal(err)
					}
					ss = append(ss, s)
				}
				return ss
			}
			// Alone.
			var alone []float32
			for i, s := range prefill() {
				x := make([]float32, dim)
				m.Embed(next[i:i+1], x)
				if err := m.Forward(ctx, x, []Row{{s, s.Len()}}); err != nil {
					t.Fatal(err)
				}
				l := make([]float32, vocab)
				m.Head(x, 1, l)
				alone = append(alone, l...)
			}
			// Together.
			ss := prefill()
			x := make([]float32, 3*dim)
			m.Embed(next, x)
			rows := []Row{{ss[0], ss[0].Len()}, {ss[1], ss[1].Len()}, {ss[2], ss[2].Len()}}
			if err := m.Forward(ctx, x, rows); err != nil {
				t.Fatal(err)
			}
			together := make([]float32, 3*vocab)
			m.Head(x, 3, together)
			if i := bitsEqual(together, alone); i >= 0 {
				t.Fatalf("batched logit %d differs from single: %v vs %v", i, together[i], alone[i])
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	f := openFile(t, modelPath)
	m := load(t, f, Full())
	other := load(t, f, Options{Blocks: sharding.Span{Start: 0, End: 2}})
	ctx := context.Background()
	dim := m.Config.Dim
	s, _ := m.NewSession(4)
	os, _ := other.NewSession(4)
	tests := []struct {
		name string
		run  func() error
	}{
		{"token out of range", func() error { return m.Embed([]int32{512}, make([]float32, dim)) }},
		{"negative token", func() error { return m.Embed([]int32{-1}, make([]float32, dim)) }},
		{"embed size", func() error { return m.Embed([]int32{1}, make([]float32, dim-1)) }},
		{"forward size", func() error { return m.Forward(ctx, make([]float32, dim+1), []Row{{s, 0}}) }},
		{"skipped position", func() error { return m.Forward(ctx, make([]float32, dim), []Row{{s, 2}}) }},
		{"past capacity", func() error { return m.Forward(ctx, make([]float32, dim), []Row{{s, 4}}) }},
		{"nil session", func() error { return m.Forward(ctx, make([]float32, dim), []Row{{nil, 0}}) }},
		{"foreign session", func() error { return m.Forward(ctx, make([]float32, dim), []Row{{os, 0}}) }},
		{"out of order", func() error {
			return m.Forward(ctx, make([]float32, 2*dim), []Row{{s, 1}, {s, 0}})
		}},
		{"head size", func() error { return m.Head(make([]float32, dim), 1, make([]float32, 3)) }},
		{"head not loaded", func() error { return other.Head(make([]float32, dim), 1, make([]float32, 512)) }},
		{"embed not loaded", func() error { return other.Embed([]int32{1}, make([]float32, dim)) }},
	}
	for _, tc := range tests {
		if err := tc.run(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := m.NewSession(0); err == nil {
		t.Error("zero-length session accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Forward(cctx, make([]float32, dim), []Row{{s, 0}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled forward: %v", err)
	}
}

// rewrite copies f, letting edit change or drop tensors (return nil to drop).
func rewrite(t testing.TB, f *gguf.File, edit func(ti *gguf.TensorInfo, data []byte) ([]uint64, []byte)) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		dims, data := edit(ti, f.TensorData(ti))
		if data != nil {
			w.AddTensor(ti.Name, ti.Type, dims, data)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestLoadBindsOnlyTheSpan(t *testing.T) {
	f := openFile(t, modelPath)
	// Drop block 3 and the head: a span of [0,2) still loads.
	g := rewrite(t, f, func(ti *gguf.TensorInfo, data []byte) ([]uint64, []byte) {
		if strings.HasPrefix(ti.Name, "blk.3.") || ti.Name == "output_norm.weight" {
			return nil, nil
		}
		return ti.Dims, data
	})
	if _, err := Load(g, Options{Blocks: sharding.Span{Start: 0, End: 2}}); err != nil {
		t.Fatalf("span [0,2) without block 3: %v", err)
	}
	if _, err := Load(g, Options{Blocks: sharding.Span{Start: 2, End: 4}}); err == nil || !strings.Contains(err.Error(), "blk.3.") {
		t.Fatalf("span [2,4) without block 3: %v", err)
	}
	if _, err := Load(g, Full()); err == nil {
		t.Fatal("full model without block 3 loaded")
	}
}

func TestLoadRejectsBadShapes(t *testing.T) {
	f := openFile(t, modelPath)
	g := rewrite(t, f, func(ti *gguf.TensorInfo, data []byte) ([]uint64, []byte) {
		if ti.Name == "blk.1.attn_q.weight" {
			return []uint64{32, 128}, data
		}
		return ti.Dims, data
	})
	_, err := Load(g, Full())
	if err == nil || !strings.Contains(err.Error(), "blk.1.attn_q.weight") {
		t.Fatalf("wrong shape: %v", err)
	}
	if _, err := Load(f, Options{Blocks: sharding.Span{Start: 2, End: 9}}); err == nil {
		t.Fatal("span past the last block accepted")
	}
}

func TestForwardSpanEqualsWhole(t *testing.T) {
	m := load(t, openFile(t, modelPath), Full())
	tokens := []int32{1, 388, 355, 260, 275}
	want := forwardAll(t, m, []*Model{m}, m, tokens)
	ctx := context.Background()
	x := make([]float32, len(tokens)*m.Config.Dim)
	if err := m.Embed(tokens, x); err != nil {
		t.Fatal(err)
	}
	for _, sp := range []sharding.Span{{Start: 0, End: 1}, {Start: 1, End: 3}, {Start: 3, End: 4}} {
		sess, _ := m.NewSession(len(tokens))
		rows := make([]Row, len(tokens))
		for i := range rows {
			rows[i] = Row{sess, i}
		}
		if err := m.ForwardSpan(ctx, x, rows, sp); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]float32, len(tokens)*m.Config.VocabSize)
	if err := m.Head(x, len(tokens), got); err != nil {
		t.Fatal(err)
	}
	if i := bitsEqual(got, want); i >= 0 {
		t.Fatalf("logit %d differs: %v vs %v", i, got[i], want[i])
	}
	part := load(t, openFile(t, modelPath), Options{Blocks: sharding.Span{Start: 1, End: 3}})
	sess, _ := part.NewSession(2)
	if err := part.ForwardSpan(ctx, make([]float32, m.Config.Dim), []Row{{sess, 0}}, sharding.Span{Start: 0, End: 2}); err == nil {
		t.Error("sub-span outside the loaded blocks accepted")
	}
}
