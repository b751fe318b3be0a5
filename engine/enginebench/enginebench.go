// Package enginebench measures the engine's prompt processing (prefill)
// and generation (decode) speed on a GGUF model, the way llama.cpp's
// llama-bench does, and runs llama-bench itself on the same files so the
// two can be put side by side.
//
// A prefill test runs a prompt of random tokens through the whole model
// in one batch (chunks of at most 512 rows, llama.cpp's default
// micro-batch) and computes the last row's logits; a decode test starts
// from an empty KV cache and runs tokens one at a time, each with its
// logits, feeding random tokens as llama-bench's generation test does.
// Each test runs once untimed to warm up (page in the weights, size the
// scratch buffers), then Reps times; the speed reported is the mean of the
// repetitions' tokens per second, with their standard deviation, which is
// how llama-bench reports avg_ts and stddev_ts.
package enginebench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/kernels"
)

// prefillChunk is the most rows one Forward call takes (llama.cpp's
// default n_ubatch).
const prefillChunk = 512

// Config is what to measure.
type Config struct {
	Prompt int    // prompt tokens of the prefill test; 0 skips it
	Gen    int    // generated tokens of the decode test; 0 skips it
	Reps   int    // timed repetitions of each test (at least 1)
	Seed   uint64 // of the random tokens
}

// Speed is a rate in tokens per second over repetitions.
type Speed struct {
	Mean    float64   `json:"tokens_per_s"`
	Stddev  float64   `json:"stddev"`
	Samples []float64 `json:"samples"`
}

// Result is what one model did at one thread count.
type Result struct {
	Threads int    `json:"threads"`
	Kernels string `json:"kernels"`
	Prefill Speed  `json:"prefill"`
	Decode  Speed  `json:"decode"`
}

// Measure opens the model at path with a pool of threads workers running
// impl's kernels, and runs the prefill and decode tests of cfg.
func Measure(ctx context.Context, path string, threads int, impl kernels.Impl, cfg Config) (Result, error) {
	if cfg.Reps < 1 {
		cfg.Reps = 1
	}
	if cfg.Prompt < 0 || cfg.Gen < 0 || threads < 1 {
		return Result{}, fmt.Errorf("enginebench: prompt %d, gen %d, threads %d", cfg.Prompt, cfg.Gen, threads)
	}
	pool, err := kernels.NewPoolImpl(threads, impl)
	if err != nil {
		return Result{}, err
	}
	defer pool.Close()
	m, err := engine.Open(path, engine.Options{Embed: true, Head: true, Pool: pool})
	if err != nil {
		return Result{}, err
	}
	defer m.Close()
	if n := max(cfg.Prompt, cfg.Gen); n > m.Config.Context && m.Config.Context > 0 {
		return Result{}, fmt.Errorf("enginebench: %d tokens exceed the model's context of %d", n, m.Config.Context)
	}
	b := &bench{m: m, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6f72626974)), logits: make([]float32, m.Config.VocabSize)}
	res := Result{Threads: pool.Workers(), Kernels: pool.Impl().String()}
	if cfg.Prompt > 0 {
		if res.Prefill, err = b.repeat(ctx, cfg.Reps, cfg.Prompt, b.prefill); err != nil {
			return res, err
		}
	}
	if cfg.Gen > 0 {
		if res.Decode, err = b.repeat(ctx, cfg.Reps, cfg.Gen, b.decode); err != nil {
			return res, err
		}
	}
	return res, nil
}

type bench struct {
	m      *engine.Model
	rng    *rand.Rand
	logits []float32
	x      []float32
	rows   []engine.Row
	toks   []int32
}

// repeat runs test(n) once to warm up, then reps times, timing each.
func (b *bench) repeat(ctx context.Context, reps, n int, test func(context.Context, *engine.Session, int) error) (Speed, error) {
	sess, err := b.m.NewSession(n)
	if err != nil {
		return Speed{}, err
	}
	var sp Speed
	for r := -1; r < reps; r++ {
		if err := ctx.Err(); err != nil {
			return sp, err
		}
		sess.Truncate(0)
		start := time.Now()
		if err := test(ctx, sess, n); err != nil {
			return sp, err
		}
		if el := time.Since(start); r >= 0 {
			sp.Samples = append(sp.Samples, float64(n)/el.Seconds())
		}
	}
	sp.Mean, sp.Stddev = meanStddev(sp.Samples)
	return sp, nil
}

func (b *bench) randomTokens(n int) []int32 {
	b.toks = b.toks[:0]
	for range n {
		b.toks = append(b.toks, int32(b.rng.IntN(b.m.Config.VocabSize)))
	}
	return b.toks
}

// prefill runs n random tokens through the model in chunks and computes
// the last row's logits.
func (b *bench) prefill(ctx context.Context, sess *engine.Session, n int) error {
	dim := b.m.Config.Dim
	toks := b.randomTokens(n)
	for off := 0; off < n; off += prefillChunk {
		part := toks[off:min(off+prefillChunk, n)]
		if cap(b.x) < len(part)*dim {
			b.x = make([]float32, len(part)*dim)
		}
		x := b.x[:len(part)*dim]
		if err := b.m.Embed(part, x); err != nil {
			return err
		}
		b.rows = b.rows[:0]
		for i := range part {
			b.rows = append(b.rows, engine.Row{Session: sess, Pos: off + i})
		}
		if err := b.m.Forward(ctx, x, b.rows); err != nil {
			return err
		}
		if off+len(part) == n {
			if err := b.m.Head(x[(len(part)-1)*dim:], 1, b.logits); err != nil {
				return err
			}
		}
	}
	return nil
}

// decode runs n random tokens one at a time, each with its logits.
func (b *bench) decode(ctx context.Context, sess *engine.Session, n int) error {
	dim := b.m.Config.Dim
	if cap(b.x) < dim {
		b.x = make([]float32, dim)
	}
	x := b.x[:dim]
	toks := b.randomTokens(n)
	for i, tok := range toks {
		if err := b.m.Embed([]int32{tok}, x); err != nil {
			return err
		}
		if err := b.m.Forward(ctx, x, []engine.Row{{Session: sess, Pos: i}}); err != nil {
			return err
		}
		if err := b.m.Head(x, 1, b.logits); err != nil {
			return err
		}
	}
	return nil
}

// meanStddev returns the mean and the sample standard deviation of xs.
func meanStddev(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}
