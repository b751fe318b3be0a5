package speculate

import (
	"context"
	"fmt"
	"slices"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// PromptLookup drafts: it finds the latest earlier occurrence
// of the longest suffix of the text so far (MaxN tokens down to MinN) and
// proposes what followed it. It needs no model.
type PromptLookup struct {
	MinN, MaxN int // 0: 2 and 5
}

// Free implements Drafter.
func (PromptLookup) Free() bool { return true }

// Draft implements Drafter; its drafts are deterministic.
func (g PromptLookup) Draft(_ context.Context, h []int32, k int, _ *sample.Sampler) ([]int32, [][]float64, error) {
	lo, hi := g.MinN, g.MaxN
	if lo <= 0 {
		lo = 2
	}
	if hi <= 0 {
		hi = 5
	}
	n := len(h)
	for size := min(hi, n-1); size >= lo; size-- {
		suffix := h[n-size:]
		for i := n - size - 1; i >= 0; i-- {
			if !slices.Equal(h[i:i+size], suffix) {
				continue
			}
			// What followed the match, read on through the draft itself
			// so that a repeating loop drafts in full.
			out := make([]int32, 0, k)
			for j := i + size; len(out) < k; j++ {
				if j < n {
					out = append(out, h[j])
				} else {
					out = append(out, out[j-n])
				}
			}
			return out, nil, nil
		}
	}
	return nil, nil, nil
}

// DraftModel is a small model with the target's vocabulary, loaded in
// this process, that drafts tokens: a whole model, or the first blocks of
// the target itself with its head (self-speculation by early exit). It is
// safe for concurrent use; each generation drafts through its own
// ModelDrafter.
type DraftModel struct {
	Model *engine.Model
}

// NewDraftModel checks that m can draft for a target whose vocabulary is
// target (same size, same tokens): it has its embedding, its head and its
// blocks from the first on.
func NewDraftModel(m *engine.Model, draftTok, target *tokenizer.Tokenizer, targetVocab int) (*DraftModel, error) {
	if !m.HasEmbed() || !m.HasHead() || m.Span.Start != 0 || m.Span.Len() == 0 {
		return nil, fmt.Errorf("speculate: the draft model needs its embedding, head and first blocks loaded")
	}
	if err := CheckVocab(draftTok, target, m.Config.VocabSize, targetVocab); err != nil {
		return nil, err
	}
	return &DraftModel{Model: m}, nil
}

// CheckVocab reports (wrapping ErrVocab) a draft vocabulary that differs
// from the target's: in size or in any token.
func CheckVocab(draft, target *tokenizer.Tokenizer, draftSize, targetSize int) error {
	if draftSize != targetSize {
		return fmt.Errorf("%w: %d tokens, the model has %d", ErrVocab, draftSize, targetSize)
	}
	if draft == nil || target == nil {
		return nil
	}
	if draft.NumTokens() != target.NumTokens() {
		return fmt.Errorf("%w: the tokenizers have %d and %d tokens", ErrVocab, draft.NumTokens(), target.NumTokens())
	}
	for i := range int32(target.NumTokens()) {
		if draft.TokenText(i) != target.TokenText(i) {
			return fmt.Errorf("%w: token %d is %q in the draft model, %q in the model", ErrVocab, i, draft.TokenText(i), target.TokenText(i))
		}
	}
	return nil
}

// NewDrafter returns a drafter for one generation of up to maxLen
// positions.
func (dm *DraftModel) NewDrafter(maxLen int) (*ModelDrafter, error) {
	s, err := dm.Model.NewSession(maxLen)
	if err != nil {
		return nil, err
	}
	return &ModelDrafter{m: dm.Model, sess: s}, nil
}

// ModelDrafter drafts with a draft model for one generation: its session
// holds the text so far (it catches up, and rolls back to where the text
// changed, on each Draft).
type ModelDrafter struct {
	m      *engine.Model
	sess   *engine.Session
	fed    []int32         // tokens the session holds, in order
	drawer *sample.Sampler // draws sampled drafts (its own random stream)
	x      []float32
	logits []float32
}

// Free implements Drafter: a draft model costs compute.
func (*ModelDrafter) Free() bool { return false }

// Draft implements Drafter. Greedy requests (and temperature 0) draft the
// draft model's argmax; sampled ones draw from its distribution under the
// request's sampling parameters and return it.
func (d *ModelDrafter) Draft(ctx context.Context, h []int32, k int, s *sample.Sampler) ([]int32, [][]float64, error) {
	k = min(k, d.sess.MaxLen()-len(h))
	if k <= 0 || len(h) == 0 {
		return nil, nil, nil
	}
	same := 0
	for same < len(d.fed) && same < len(h) && d.fed[same] == h[same] {
		same++
	}
	if same == len(h) { // keep the last token's logits fresh: refeed it
		same--
	}
	d.sess.Truncate(same)
	d.fed = d.fed[:same]
	vocab := d.m.Config.VocabSize
	if cap(d.logits) < vocab {
		d.logits = make([]float32, vocab)
	}
	logits := d.logits[:vocab]
	if err := d.feed(ctx, h[same:], logits); err != nil {
		return nil, nil, err
	}
	sampled := s != nil && !s.Deterministic()
	if sampled && d.drawer == nil {
		p := s.Params()
		p.Seed ^= 0x5deece66d // a stream apart from the sampler's
		var err error
		if d.drawer, err = sample.New(p); err != nil {
			return nil, nil, err
		}
	}
	hist := slices.Clone(h)
	var out []int32
	var qs [][]float64
	for i := range k {
		var tok int32
		if sampled {
			q := d.drawer.Dist(slices.Clone(logits), hist, nil)
			tok = d.drawer.Pick(q)
			qs = append(qs, q)
		} else if s != nil && !s.Greedy() {
			tok = s.Sample(slices.Clone(logits), hist) // temperature 0 with penalties: no draw
		} else {
			tok = sample.Argmax(logits)
		}
		out = append(out, tok)
		hist = append(hist, tok)
		if i < k-1 {
			if err := d.feed(ctx, []int32{tok}, logits); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, qs, nil
}

// feed runs toks through the draft model after what it holds and leaves
// the logits of the last one.
func (d *ModelDrafter) feed(ctx context.Context, toks []int32, logits []float32) error {
	dim := d.m.Config.Dim
	n := len(toks)
	if cap(d.x) < n*dim {
		d.x = make([]float32, n*dim)
	}
	x := d.x[:n*dim]
	if err := d.m.Embed(toks, x); err != nil {
		return err
	}
	rows := make([]engine.Row, n)
	for i := range rows {
		rows[i] = engine.Row{Session: d.sess, Pos: len(d.fed) + i}
	}
	if err := d.m.Forward(ctx, x, rows); err != nil {
		return err
	}
	d.fed = append(d.fed, toks...)
	return d.m.Head(x[(n-1)*dim:], 1, logits)
}

// EngineTarget verifies on a fully loaded model in this process.
type EngineTarget struct {
	Model   *engine.Model
	Session *engine.Session
	x       []float32
}

// Step implements Target.
func (t *EngineTarget) Step(ctx context.Context, pos int, toks []int32, logits []float32) error {
	dim, n := t.Model.Config.Dim, len(toks)
	if cap(t.x) < n*dim {
		t.x = make([]float32, n*dim)
	}
	x := t.x[:n*dim]
	if err := t.Model.Embed(toks, x); err != nil {
		return err
	}
	rows := make([]engine.Row, n)
	for i := range rows {
		rows[i] = engine.Row{Session: t.Session, Pos: pos + i}
	}
	if err := t.Model.Forward(ctx, x, rows); err != nil {
		return err
	}
	return t.Model.Head(x, n, logits)
}

// Rollback implements Target.
func (t *EngineTarget) Rollback(_ context.Context, n int) error {
	t.Session.Truncate(n)
	return nil
}

// Local returns an engine.GenerateOptions.Decode that speculates on m in
// sess with drafter d (opt's MaxTokens, Sampler, Stop and Logits apply;
// emit is Generate's), and leaves what it did in st.
func Local(m *engine.Model, sess *engine.Session, opt engine.GenerateOptions, mode Mode, d Drafter, emit func(int32) error, st *Stats) func(context.Context, []int32, []float32) (int, bool, error) {
	return func(ctx context.Context, prompt []int32, logits []float32) (int, bool, error) {
		dec := Decoder{
			Target: &EngineTarget{Model: m, Session: sess}, Drafter: d, Control: NewController(mode), Sampler: opt.Sampler,
			Vocab: m.Config.VocabSize, MaxLen: sess.MaxLen(), Stop: opt.Stop, Emit: emit, Logits: opt.Logits,
		}
		res, err := dec.Decode(ctx, prompt, logits, opt.MaxTokens)
		if st != nil {
			*st = res.Stats
		}
		return res.Generated, res.StoppedByToken, err
	}
}
