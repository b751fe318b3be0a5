package node

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// generateConcurrently runs k generations of the same prompt at once and
// returns their tokens.
func generateConcurrently(t testing.TB, entry *Node, model string, prompts [][]int32, n int) [][]int32 {
	t.Helper()
	out := make([][]int32, len(prompts))
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, errs[i] = entry.Generate(ctx, model, p, n, nil, nil, func(tok int32) error {
				out[i] = append(out[i], tok)
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("generation %d: %v", i, err)
		}
	}
	return out
}

// TestBatching: 8 concurrent generations through a 2-server swarm are
// batched into shared engine calls, and each gets exactly the tokens it
// gets alone.
func TestBatching(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	entry, servers := swarm(t, src, protocol.EncodingF16, sharding.Span{Start: 0, End: 2}, sharding.Span{Start: 2, End: 4})
	var prompts, want [][]int32
	for i := range 8 {
		c := cases[i%len(cases)]
		prompts = append(prompts, c.PromptTokens)
		want = append(want, c.GeneratedTokens[:min(40, len(c.GeneratedTokens))])
	}
	got := generateConcurrently(t, entry, src.ID(), prompts, 40)
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("generation %d: got %v\nwant %v", i, got[i], want[i])
		}
	}
	for _, s := range servers {
		sched := s.servedModel(src.ID()).sched
		st := sched.Stats()
		batches, rows, most := st.Calls, st.Rows, st.MaxRows
		t.Logf("server %s: %d rows in %d engine calls, largest %d rows", shortID(s.ID()), rows, batches, most)
		if most < 2 {
			t.Errorf("server %s never batched sessions together", shortID(s.ID()))
		}
	}
}

// logitsRun is one generation's tokens and the bits of every logit it
// saw, position by position.
type logitsRun struct {
	tokens []int32
	bits   [][]uint32
}

// generateLogits runs prompts through entry, concurrently or one after
// another, recording every generation's logits.
func generateLogits(t *testing.T, entry *Node, model string, prompts [][]int32, n int, concurrent bool) []logitsRun {
	t.Helper()
	out := make([]logitsRun, len(prompts))
	errs := make([]error, len(prompts))
	one := func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		r := &out[i]
		_, errs[i] = entry.GenerateWith(ctx, model, prompts[i], n, nil, nil, func(tok int32) error {
			r.tokens = append(r.tokens, tok)
			return nil
		}, GenerateHooks{PromptLogits: true, Logits: func(pos int, logits []float32) {
			b := make([]uint32, len(logits))
			for k, v := range logits {
				b[k] = math.Float32bits(v)
			}
			r.bits = append(r.bits, b)
		}})
	}
	var wg sync.WaitGroup
	for i := range prompts {
		if concurrent {
			wg.Go(func() { one(i) })
		} else {
			one(i)
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("generation %d: %v", i, err)
		}
	}
	return out
}

// TestBatchedBitwise: six generations of prompts of different lengths
// run at once through a 3-hop swarm of real libp2p hosts on loopback, so
// each server's engine calls carry rows of several sessions at different
// positions (prefill and decode mixed); every logit of every position is
// bitwise the one the same generation gets alone, and the servers' metrics
// show the batches that formed.
func TestBatchedBitwise(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	var servers []*Node
	var mets []*metrics.Metrics
	for i, sp := range []sharding.Span{spanOf(0, 1), spanOf(1, 3), spanOf(3, 4)} {
		var cfg Config
		if i == 0 {
			cfg = testConfig(t)
		} else {
			cfg = testConfig(t, servers[0])
		}
		// Steps of a few milliseconds, so that concurrent ones meet.
		cfg.ComputeCost = ComputeCost{Block: 2 * time.Millisecond, Row: 100 * time.Microsecond}
		cfg.Metrics = metrics.New()
		n := startNode(t, cfg)
		serve(t, n, src, ServeOptions{Blocks: sp})
		servers, mets = append(servers, n), append(mets, cfg.Metrics)
	}
	cfg := testConfig(t, servers[0])
	cfg.Metrics = metrics.New()
	entry := startNode(t, cfg)
	serve(t, entry, src, ServeOptions{NoBlocks: true, Entry: true})

	var prompts [][]int32
	for i := range 6 {
		p := cases[i%len(cases)].PromptTokens
		prompts = append(prompts, append(slices.Clone(p), int32(300+i*7))[:min(len(p)+1, 2+i*3)])
	}
	const n = 24
	alone := generateLogits(t, entry, src.ID(), prompts, n, false)
	before := make([]ComputeStats, len(servers))
	for i, s := range servers {
		before[i] = s.ComputeStats()
	}
	together := generateLogits(t, entry, src.ID(), prompts, n, true)
	for i := range prompts {
		a, b := alone[i], together[i]
		if !slices.Equal(a.tokens, b.tokens) {
			t.Fatalf("generation %d: tokens %v together, %v alone", i, b.tokens, a.tokens)
		}
		if len(a.bits) != len(b.bits) || len(a.bits) != len(prompts[i])-1+len(a.tokens) {
			t.Fatalf("generation %d: %d logit rows together, %d alone, want %d", i, len(b.bits), len(a.bits), len(prompts[i])-1+len(a.tokens))
		}
		for p := range a.bits {
			if !slices.Equal(a.bits[p], b.bits[p]) {
				t.Fatalf("generation %d: logits of row %d differ between batched and alone", i, p)
			}
		}
	}
	// The entry batched its generations' heads too.
	var b strings.Builder
	if err := cfg.Metrics.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	esc, err := metrics.ParseText(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	heads := esc["orbit_head_batch_rows"].GetMetric()[0].GetHistogram()
	t.Logf("entry: %v head rows in %d calls", heads.GetSampleSum(), heads.GetSampleCount())
	if heads.GetSampleSum() <= float64(heads.GetSampleCount()) {
		t.Errorf("entry: %v head rows in %d calls: never batched", heads.GetSampleSum(), heads.GetSampleCount())
	}
	for i, s := range servers {
		st := s.ComputeStats()
		calls, steps := st.Calls-before[i].Calls, st.Steps-before[i].Steps
		t.Logf("server %d: %d steps in %d engine calls, largest %d rows, busy %v", i, steps, calls, st.MaxRows, st.Busy)
		if steps <= calls {
			t.Errorf("server %d: %d steps in %d engine calls: no call batched several sessions", i, steps, calls)
		}
		var b strings.Builder
		if err := mets[i].WritePrometheus(&b); err != nil {
			t.Fatal(err)
		}
		sc, err := metrics.ParseText(strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if busy, ok := sc.Value("orbit_compute_busy_seconds_total"); !ok || busy < st.Busy.Seconds()*0.999 {
			t.Errorf("server %d: orbit_compute_busy_seconds_total %v (found %v), want %v", i, busy, ok, st.Busy.Seconds())
		}
		h := sc["orbit_batch_sessions"].GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != uint64(st.Calls) || h.GetSampleSum() != float64(st.Steps) {
			t.Errorf("server %d: orbit_batch_sessions %d calls of %v steps, want %d of %d", i, h.GetSampleCount(), h.GetSampleSum(), st.Calls, st.Steps)
		}
	}
}

// benchModel is ORBIT_BENCH_MODEL, or a synthetic Llama-3.2-1B-shaped
// q8_0 model cut to 4 blocks (written once per run).
func benchModel(b *testing.B) string {
	if p := os.Getenv("ORBIT_BENCH_MODEL"); p != "" {
		return p
	}
	vf, err := gguf.Open(spmVocabPath)
	if err != nil {
		b.Skipf("vocabulary not available: %v", err)
	}
	defer vf.Close()
	vocab, err := tokenizer.VocabFromGGUF(vf)
	if err != nil {
		b.Fatal(err)
	}
	shape, err := synth.ShapeByName("llama-1b")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.gguf")
	if err := synth.WriteFile(path, synth.Options{Shape: shape, Type: kernels.Q8_0, Vocab: vocab, Seed: 1, Layers: 4}); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkBatching compares total decode throughput of 1 and 8 concurrent
// generations on a 2-server swarm (blocks split in half, separate entry
// node), and one process running the whole model, for the per-hop cost.
//
//	go test ./node/ -run '^$' -bench Batching -benchtime 3x
func BenchmarkBatching(b *testing.B) {
	path := benchModel(b)
	const tokens = 32
	prompt := []int32{1, 450, 4996, 17354}
	b.Run("local", func(b *testing.B) {
		m, err := engine.Open(path, engine.Full())
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		var total int
		start := time.Now()
		for b.Loop() {
			sess, _ := m.NewSession(len(prompt) + tokens)
			st, err := m.Generate(context.Background(), sess, prompt, engine.GenerateOptions{MaxTokens: tokens}, func(int32) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			total += st.GeneratedTokens
		}
		el := time.Since(start)
		b.ReportMetric(float64(total)/el.Seconds(), "tok/s")
		b.ReportMetric(float64(el.Milliseconds())/float64(total), "ms/tok")
	})
	src, err := NewFileSource(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := engine.Open(path, engine.Options{NoBlocks: true})
	if err != nil {
		b.Fatal(err)
	}
	half := m.Config.Layers / 2
	m.Close()
	entry, _ := swarm(b, src, protocol.EncodingF16, sharding.Span{Start: 0, End: half}, sharding.Span{Start: half, End: 2 * half})
	// Warm up: the first generation gathers the swarm view (DHT lookups).
	generateConcurrently(b, entry, src.ID(), [][]int32{prompt}, 2)
	for _, k := range []int{1, 8} {
		b.Run(fmt.Sprintf("swarm-%dgen", k), func(b *testing.B) {
			prompts := make([][]int32, k)
			for i := range prompts {
				prompts[i] = append(slices.Clone(prompt), int32(100+i))
			}
			var total int
			start := time.Now()
			for b.Loop() {
				for _, toks := range generateConcurrently(b, entry, src.ID(), prompts, tokens) {
					total += len(toks)
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(total)/el.Seconds(), "tok/s")
			b.ReportMetric(float64(el.Milliseconds())/float64(total), "ms/tok")
		})
	}
}

// BenchmarkHopOverhead measures the network cost of a hop: aidreams260K
// (compute is negligible) on 4 one-block servers plus an entry node, against
// the single process. A token crosses 5 links (entry, 4 servers, entry).
//
//	go test ./node/ -run '^$' -bench HopOverhead -benchtime 5x
func BenchmarkHopOverhead(b *testing.B) {
	src := fileSource(b, aidreamsPath)
	prompt := []int32{1}
	const tokens = 127
	b.Run("local", func(b *testing.B) {
		var total int
		start := time.Now()
		for b.Loop() {
			total += len(localGenerate(b, aidreamsPath, prompt, tokens))
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(total), "ms/tok")
	})
	entry, _ := swarm(b, src, protocol.EncodingF16, spanOf(0, 1), spanOf(1, 2), spanOf(2, 3), spanOf(3, 4))
	generateConcurrently(b, entry, src.ID(), [][]int32{prompt}, 2)
	b.Run("swarm-4hops", func(b *testing.B) {
		var total int
		start := time.Now()
		for b.Loop() {
			toks, _ := generate(b, entry, src.ID(), prompt, tokens)
			total += len(toks)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(total), "ms/tok")
	})
}
