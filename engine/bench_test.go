package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/internal/platform"
)

// benchShape is one block of Llama 3.2 1B (dim 2048, ffn 8192, 32 heads,
// 8 KV heads) with a small vocabulary, so that building the model in the
// benchmark stays quick; per-token cost is dominated by the blocks.
type benchShape struct {
	dim, hidden, heads, kvHeads, layers, vocab int
}

var llama1bBlock = benchShape{dim: 2048, hidden: 8192, heads: 32, kvHeads: 8, layers: 2, vocab: 4096}

// randomModel writes a llama GGUF with random weights of type dt.
func randomModel(tb testing.TB, s benchShape, dt kernels.DType) *gguf.File {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	w := gguf.NewWriter()
	w.Set("general.architecture", gguf.String("llama"))
	w.Set("llama.context_length", gguf.Uint32(4096))
	w.Set("llama.embedding_length", gguf.Uint32(uint32(s.dim)))
	w.Set("llama.block_count", gguf.Uint32(uint32(s.layers)))
	w.Set("llama.feed_forward_length", gguf.Uint32(uint32(s.hidden)))
	w.Set("llama.attention.head_count", gguf.Uint32(uint32(s.heads)))
	w.Set("llama.attention.head_count_kv", gguf.Uint32(uint32(s.kvHeads)))
	w.Set("llama.rope.freq_base", gguf.Float32(500000))
	mat := func(name string, rows, cols int, t kernels.DType) {
		src := make([]float32, rows*cols)
		scale := float32(1 / float64(cols))
		for i := range src {
			src[i] = (rng.Float32()*2 - 1) * scale * 3
		}
		n, err := t.RowBytes(len(src))
		if err != nil {
			tb.Fatal(err)
		}
		q := make([]byte, n)
		if err := kernels.Quantize(q, src, t); err != nil {
			tb.Fatal(err)
		}
		dims := []uint64{uint64(cols)}
		if rows > 1 {
			dims = append(dims, uint64(rows))
		}
		w.AddTensor(name, gguf.TensorType(t), dims, q)
	}
	ones := func(name string, n int) {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		b := make([]byte, 4*n)
		if err := kernels.Quantize(b, v, kernels.F32); err != nil {
			tb.Fatal(err)
		}
		w.AddTensor(name, gguf.TensorType(kernels.F32), []uint64{uint64(n)}, b)
	}
	kv := s.dim / s.heads * s.kvHeads
	mat("token_embd.weight", s.vocab, s.dim, dt)
	for l := 0; l < s.layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		ones(p+"attn_norm.weight", s.dim)
		mat(p+"attn_q.weight", s.dim, s.dim, dt)
		mat(p+"attn_k.weight", kv, s.dim, dt)
		mat(p+"attn_v.weight", kv, s.dim, dt)
		mat(p+"attn_output.weight", s.dim, s.dim, dt)
		ones(p+"ffn_norm.weight", s.dim)
		mat(p+"ffn_gate.weight", s.hidden, s.dim, dt)
		mat(p+"ffn_up.weight", s.hidden, s.dim, dt)
		mat(p+"ffn_down.weight", s.dim, s.hidden, dt)
	}
	ones("output_norm.weight", s.dim)
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// BenchmarkDecode measures single-sequence decode over the blocks of a
// llama-1b-shaped model: tokens/s and weight bandwidth (SetBytes).
func BenchmarkDecode(b *testing.B) {
	for _, dt := range []kernels.DType{kernels.Q8_0, kernels.Q4_0, kernels.F16} {
		b.Run(dt.String(), func(b *testing.B) {
			m, err := Load(randomModel(b, llama1bBlock, dt), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			ctx := context.Background()
			sess, _ := m.NewSession(b.N + 1)
			x := make([]float32, m.Config.Dim)
			b.SetBytes(m.WeightBytes())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x[i%len(x)] = 1
				if err := m.Forward(ctx, x, []Row{{sess, i}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPrefill measures a 128-token prompt through the blocks.
func BenchmarkPrefill(b *testing.B) {
	const n = 128
	for _, dt := range []kernels.DType{kernels.Q8_0, kernels.Q4_0} {
		b.Run(dt.String(), func(b *testing.B) {
			m, err := Load(randomModel(b, llama1bBlock, dt), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			ctx := context.Background()
			x := make([]float32, n*m.Config.Dim)
			rows := make([]Row, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sess, _ := m.NewSession(n)
				for j := range rows {
					rows[j] = Row{sess, j}
				}
				if err := m.Forward(ctx, x, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkBatchedDecode measures decode of 8 sequences in one batch.
func BenchmarkBatchedDecode(b *testing.B) {
	const seqs = 8
	m, err := Load(randomModel(b, llama1bBlock, kernels.Q8_0), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	var ss []*Session
	for range seqs {
		s, _ := m.NewSession(b.N + 1)
		ss = append(ss, s)
	}
	x := make([]float32, seqs*m.Config.Dim)
	rows := make([]Row, seqs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, s := range ss {
			rows[j] = Row{s, i}
		}
		if err := m.Forward(ctx, x, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*seqs)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkRows measures one decode step of n sessions in one engine
// call (a server batching its sessions' steps), for n = 1 to 8,
// on one worker over the blocks of a llama-1b-shaped model (about 68 MB
// of q4 weights, more than the L3): ns/row is the step's time per
// session, which reusing each weight block for every row brings well
// below the one-row figure. On Linux cpu-ns/row is the same in CPU time
// of the working thread (the one worker is the benchmark's goroutine,
// locked to its thread), which a machine shared with other jobs disturbs
// far less than wall time.
func BenchmarkRows(b *testing.B) {
	for _, dt := range []kernels.DType{kernels.Q4_0, kernels.Q4_K, kernels.Q8_0, kernels.Q6_K, kernels.Q5_K, kernels.Q3_K} {
		// Each type's model is built inside its own sub-benchmark, so a
		// -bench filter naming some types skips building the others.
		b.Run(dt.String(), func(b *testing.B) {
			pool := kernels.NewPool(1)
			m, err := Load(randomModel(b, llama1bBlock, dt), Options{Pool: pool})
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			defer m.Close()
			for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8} {
				b.Run(fmt.Sprintf("n%d", n), func(b *testing.B) {
					ctx := context.Background()
					rows := make([]Row, n)
					for j := range rows {
						s, err := m.NewSession(b.N + 1)
						if err != nil {
							b.Fatal(err)
						}
						rows[j] = Row{s, 0}
					}
					x := make([]float32, n*m.Config.Dim)
					for i := range x {
						x[i] = float32(i%7) - 3
					}
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					b.ResetTimer()
					c0, cpu := platform.ThreadCPU()
					for i := 0; i < b.N; i++ {
						for j := range rows {
							rows[j].Pos = i
						}
						if err := m.Forward(ctx, x, rows); err != nil {
							b.Fatal(err)
						}
					}
					c1, _ := platform.ThreadCPU()
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
					if cpu {
						b.ReportMetric(float64((c1-c0).Nanoseconds())/float64(b.N*n), "cpu-ns/row")
					}
				})
			}
		})
	}
}

func TestForwardAllocs(t *testing.T) {
	m, err := Load(randomModel(t, benchShape{dim: 256, hidden: 512, heads: 8, kvHeads: 2, layers: 2, vocab: 256}, kernels.Q8_0), Full())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	sess, _ := m.NewSession(64)
	x := make([]float32, m.Config.Dim)
	logits := make([]float32, m.Config.VocabSize)
	tok := []int32{3}
	rows := make([]Row, 1)
	pos := 0
	step := func() {
		m.Embed(tok, x)
		rows[0] = Row{sess, pos}
		if err := m.Forward(ctx, x, rows); err != nil {
			t.Fatal(err)
		}
		m.Head(x, 1, logits)
		pos++
	}
	step() // warm up the scratch buffers
	if a := testing.AllocsPerRun(20, step); a > 0 {
		t.Errorf("%v allocations per decoded token in steady state", a)
	}
}
