package speculate

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

const shared = "../../../shared"

// shapes are small models of every architecture the engine runs.
var shapes = []synth.Shape{
	{Name: "llama-spec", Arch: "llama", Dim: 64, Hidden: 160, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 10000, Eps: 1e-5, TiedEmbeddings: true},
	{Name: "qwen2-spec", Arch: "qwen2", Dim: 64, Hidden: 160, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 1e6, Eps: 1e-6, QKVBias: true, TiedEmbeddings: true},
	{Name: "qwen3-spec", Arch: "qwen3", Dim: 64, Hidden: 160, Layers: 4, Heads: 4, KVHeads: 2, Head: 32, QKNorm: true, Context: 256, RopeBase: 1e6, Eps: 1e-6, TiedEmbeddings: true},
	{Name: "mixtral-spec", Arch: "llama", Dim: 64, Hidden: 96, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 1e6, Eps: 1e-5, TiedEmbeddings: true, Experts: 4, ExpertsUsed: 2},
	{Name: "qwen3moe-spec", Arch: "qwen3moe", Dim: 64, Hidden: 96, Layers: 4, Heads: 4, KVHeads: 2, Head: 32, QKNorm: true, Context: 256, RopeBase: 1e6, Eps: 1e-6, TiedEmbeddings: true, Experts: 8, ExpertsUsed: 2, ExpertHidden: 48},
	{Name: "phi3-spec", Arch: "phi3", Dim: 64, Hidden: 128, Layers: 4, Heads: 4, KVHeads: 4, Context: 256, RopeBase: 10000, Eps: 1e-5},
	{Name: "gemma3-spec", Arch: "gemma3", Dim: 64, Hidden: 128, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true,
		SlidingWindow: 8, SlidingPattern: 2, RopeBaseLocal: 10000, RopeScaling: 8, FinalSoftcap: 30},
}

// model writes and loads a synthetic model of shape with aidreams260K's
// 512-token vocabulary.
func model(t testing.TB, shape synth.Shape, seed uint64) *engine.Model {
	t.Helper()
	vocab, err := tokenizer.LoadLlama2C(filepath.Join(shared, "models", "tok512.bin"), 512)
	if err != nil {
		t.Skipf("vocabulary not available: %v", err)
	}
	path := filepath.Join(t.TempDir(), shape.Name+".gguf")
	if err := synth.WriteFile(path, synth.Options{Shape: shape, Type: kernels.Q8_0, Vocab: vocab, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return open(t, path)
}

func open(t testing.TB, path string) *engine.Model {
	t.Helper()
	m, err := engine.Open(path, engine.Full())
	if err != nil {
		t.Skipf("model not available: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var prompt = []int32{1, 400, 300, 301, 45, 99, 400, 300, 301, 45, 99, 400, 300}

// generate runs m on prompt, plainly or speculating with d.
func generate(t testing.TB, m *engine.Model, maxTokens int, s *sample.Sampler, mode Mode, d Drafter) ([]int32, Stats) {
	t.Helper()
	sess, err := m.NewSession(len(prompt) + maxTokens)
	if err != nil {
		t.Fatal(err)
	}
	var out []int32
	emit := func(tok int32) error { out = append(out, tok); return nil }
	opt := engine.GenerateOptions{MaxTokens: maxTokens, Sampler: s, Stop: func(tok int32) bool { return tok == 2 }}
	var st Stats
	if d != nil {
		opt.Decode = Local(m, sess, opt, mode, d, emit, &st)
	}
	if _, err := m.Generate(context.Background(), sess, prompt, opt, emit); err != nil {
		t.Fatal(err)
	}
	return out, st
}

// TestLocalIdentical: greedy speculative decoding in one process gives
// bit for bit the tokens of plain decoding on every architecture and on
// aidreams260K, by prompt lookup and with draft models (the model itself:
// every draft kept; another: most rejected).
func TestLocalIdentical(t *testing.T) {
	other := model(t, shapes[0], 12)
	models := map[string]*engine.Model{"aidreams260K": open(t, filepath.Join(shared, "models", "aidreams260K.gguf"))}
	for _, s := range shapes {
		models[s.Name] = model(t, s, 11)
	}
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			const n = 64
			want, _ := generate(t, m, n, nil, Off, nil)
			self := &DraftModel{Model: m}
			for _, tc := range []struct {
				name string
				mode Mode
				d    func() Drafter
			}{
				{"ngram", NGram, func() Drafter { return PromptLookup{} }},
				{"self", Draft, func() Drafter { d, _ := self.NewDrafter(len(prompt) + n); return d }},
				{"other", Draft, func() Drafter { d, _ := (&DraftModel{Model: other}).NewDrafter(len(prompt) + n); return d }},
				{"auto", Auto, func() Drafter { return PromptLookup{} }},
			} {
				got, st := generate(t, m, n, nil, tc.mode, tc.d())
				if !slices.Equal(got, want) {
					t.Fatalf("%s: speculative %v\nplain %v", tc.name, got, want)
				}
				t.Logf("%s: %d passes, %d of %d drafts kept", tc.name, st.Passes, st.Accepted, st.Drafted)
				// A stop token ends a pass early: the drafts after it
				// count as not kept.
				if tc.name == "self" && st.Accepted < st.Drafted*9/10 {
					t.Fatalf("self-drafting kept %d of %d", st.Accepted, st.Drafted)
				}
			}
		})
	}
}

// TestPromptLookup drafts what followed the latest earlier occurrence of
// the longest suffix, reading on through the draft in a loop.
func TestPromptLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []int32
		k    int
		want []int32
	}{
		{"no match", []int32{1, 2, 3, 4}, 4, nil},
		{"bigram", []int32{5, 6, 7, 8, 5, 6}, 2, []int32{7, 8}},
		{"latest occurrence", []int32{5, 6, 7, 5, 6, 9, 5, 6}, 1, []int32{9}},
		{"longest suffix first", []int32{1, 2, 3, 9, 2, 3, 8, 1, 2, 3}, 1, []int32{9}},
		{"loop drafts on", []int32{4, 7, 4, 7}, 5, []int32{4, 7, 4, 7, 4}},
		{"unigram ignored", []int32{3, 1, 2, 3}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, q, err := PromptLookup{}.Draft(context.Background(), tc.h, tc.k, nil)
			if err != nil || q != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("draft %v (q %v, err %v), want %v", got, q, err, tc.want)
			}
		})
	}
}

// TestController: the draft length grows with the acceptance rate and
// with the fixed cost of a pass, and auto drafts nothing where a pass
// costs per row as much as it does fixed and drafts are seldom kept.
func TestController(t *testing.T) {
	run := func(mode Mode, base, perRow time.Duration, alpha float64) int {
		c := NewController(mode)
		c.observePass(1, base)
		c.observePass(5, base+4*perRow)
		for range 100 {
			c.observeAcceptance(1, btoi(c.alpha < alpha))
		}
		return c.K()
	}
	for _, tc := range []struct {
		name         string
		mode         Mode
		base, perRow time.Duration
		alpha        float64
		lo, hi       int
	}{
		{"long round trip, good drafts", Auto, 36 * time.Millisecond, 200 * time.Microsecond, 0.8, 8, MaxDraft},
		{"long round trip, poor drafts", Auto, 36 * time.Millisecond, 200 * time.Microsecond, 0.3, 1, 4},
		{"compute bound, poor drafts", Auto, time.Millisecond, time.Millisecond, 0.2, 0, 0},
		{"forced ngram drafts one at least", NGram, time.Millisecond, time.Millisecond, 0.2, 1, 1},
		{"off", Off, 36 * time.Millisecond, 0, 0.9, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k := run(tc.mode, tc.base, tc.perRow, tc.alpha); k < tc.lo || k > tc.hi {
				t.Fatalf("k = %d, want %d..%d", k, tc.lo, tc.hi)
			}
		})
	}
}

// greedyDrafter drafts a model's argmax whatever the request's sampling:
// deterministic drafts (q a point mass), kept with probability p(draft).
type greedyDrafter struct{ *ModelDrafter }

func (g greedyDrafter) Draft(ctx context.Context, h []int32, k int, _ *sample.Sampler) ([]int32, [][]float64, error) {
	return g.ModelDrafter.Draft(ctx, h, k, nil)
}

// TestSampledDistribution: speculative sampling keeps the model's
// distribution. Many seeded generations of three tokens (the first
// chosen plainly, the next two by verifying two drafts in one pass) are
// compared, by chi-square, with the exact distribution of plain sampling
// (enumerated through the model): the pair of the first two tokens and
// the third token. Drafters: none (plain sampling, which checks the
// test itself), a deterministic one (the model's argmax: q a point mass), a draft model
// sampled from its own distribution (q, residual resampling). The bound
// is the chi-square tail of probability below 1e-13 (Laurent-Massart):
// with fixed seeds the test is deterministic, and a correct sampler fails
// it with that probability at most over seeds.
func TestSampledDistribution(t *testing.T) {
	m := model(t, shapes[0], 21)
	params := sample.Params{Temperature: 1.5, TopK: 6}
	// The model drafts for itself, drawing from a flatter distribution:
	// q differs from p, so drafts are kept and rejected.
	flat := params
	flat.Temperature = 4
	exact := exactDist(t, m, params)
	const runs = 2000
	for _, tc := range []struct {
		name string
		d    func() Drafter
	}{
		{"plain", nil},
		{"deterministic draft", func() Drafter {
			d, _ := (&DraftModel{Model: m}).NewDrafter(len(prompt) + 3)
			return greedyDrafter{d}
		}},
		{"draft model", func() Drafter {
			d, _ := (&DraftModel{Model: m}).NewDrafter(len(prompt) + 3)
			d.drawer, _ = sample.New(flat)
			return d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pairs, thirds := map[[2]int32]int{}, map[int32]int{}
			var st Stats
			for i := range runs {
				p := params
				p.Seed = uint64(1000 + i)
				flat.Seed = uint64(5000 + i)
				s, err := sample.New(p)
				if err != nil {
					t.Fatal(err)
				}
				var d Drafter
				if tc.d != nil {
					d = tc.d()
				}
				got, one := generate(t, m, 3, s, NGram, d)
				if len(got) != 3 {
					t.Fatalf("generated %v", got)
				}
				pairs[[2]int32{got[0], got[1]}]++
				thirds[got[2]]++
				st.Drafted += one.Drafted
				st.Accepted += one.Accepted
			}
			t.Logf("%d of %d drafts kept", st.Accepted, st.Drafted)
			if tc.d != nil && (st.Accepted == 0 || st.Accepted == st.Drafted) {
				t.Fatalf("%d of %d drafts kept: both paths must run", st.Accepted, st.Drafted)
			}
			chiSquare(t, "pairs", pairs, exact.pairs, runs)
			chiSquare(t, "third tokens", thirds, exact.thirds, runs)
		})
	}
}

type dist struct {
	pairs  map[[2]int32]float64
	thirds map[int32]float64
}

// exactDist enumerates the distribution of the first three tokens plain
// sampling draws.
func exactDist(t *testing.T, m *engine.Model, params sample.Params) dist {
	s, err := sample.New(params)
	if err != nil {
		t.Fatal(err)
	}
	vocab := m.Config.VocabSize
	next := func(h []int32) []float64 {
		sess, err := m.NewSession(len(h))
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, len(h)*m.Config.Dim)
		if err := m.Embed(h, x); err != nil {
			t.Fatal(err)
		}
		rows := make([]engine.Row, len(h))
		for i := range rows {
			rows[i] = engine.Row{Session: sess, Pos: i}
		}
		if err := m.Forward(context.Background(), x, rows); err != nil {
			t.Fatal(err)
		}
		logits := make([]float32, vocab)
		if err := m.Head(x[(len(h)-1)*m.Config.Dim:], 1, logits); err != nil {
			t.Fatal(err)
		}
		return s.Dist(logits, h, nil)
	}
	d := dist{pairs: map[[2]int32]float64{}, thirds: map[int32]float64{}}
	p1 := next(prompt)
	for a, pa := range p1 {
		if pa == 0 {
			continue
		}
		ha := append(slices.Clone(prompt), int32(a))
		p2 := next(ha)
		for b, pb := range p2 {
			if pb == 0 {
				continue
			}
			d.pairs[[2]int32{int32(a), int32(b)}] += pa * pb
			for c, pc := range next(append(slices.Clone(ha), int32(b))) {
				if pc > 0 {
					d.thirds[int32(c)] += pa * pb * pc
				}
			}
		}
	}
	return d
}

// chiSquare tests counts (of n draws) against probabilities p; categories
// expected fewer than 5 times are pooled.
func chiSquare[K comparable](t *testing.T, what string, counts map[K]int, p map[K]float64, n int) {
	t.Helper()
	var stat, poolE float64
	poolO, df := 0, -1
	for k, pk := range p {
		e := pk * float64(n)
		if e < 5 {
			poolE += e
			poolO += counts[k]
			continue
		}
		o := float64(counts[k])
		stat += (o - e) * (o - e) / e
		df++
	}
	for k, c := range counts {
		if _, ok := p[k]; !ok {
			t.Fatalf("%s: %v drawn %d times has probability 0", what, k, c)
		}
	}
	if poolE > 0 {
		stat += (float64(poolO) - poolE) * (float64(poolO) - poolE) / max(poolE, 1)
		df++
	}
	const x = 30.0 // tail probability e^-30
	bound := float64(df) + 2*math.Sqrt(float64(df)*x) + 2*x
	t.Logf("%s: chi-square %.1f with %d degrees of freedom (bound %.1f)", what, stat, df, bound)
	if df < 1 || stat > bound {
		t.Fatalf("%s: chi-square %.1f with %d degrees of freedom exceeds %.1f: the distribution differs from plain sampling", what, stat, df, bound)
	}
}

// FuzzParseMode: ParseMode accepts exactly the four names, and a parsed
// mode prints back as its name.
func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"off", "auto", "ngram", "draft", "", "Auto", "mode(9)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			return
		}
		if m.String() != s {
			t.Fatalf("ParseMode(%q) = %v", s, m)
		}
		var back Mode
		if err := back.UnmarshalText([]byte(s)); err != nil || back != m {
			t.Fatalf("UnmarshalText(%q) = %v, %v", s, back, err)
		}
	})
}

// TestMaxDraftWithinRewindSlack: a pass of MaxDraft drafted positions
// plus the token before them can be rolled back on a sliding-window
// model's ring cache.
func TestMaxDraftWithinRewindSlack(t *testing.T) {
	if MaxDraft+1 > engine.RewindSlack {
		t.Fatalf("MaxDraft %d: a pass of %d rows exceeds engine.RewindSlack %d", MaxDraft, MaxDraft+1, engine.RewindSlack)
	}
}
