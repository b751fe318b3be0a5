// Package speculate is speculative decoding: a drafter proposes the next
// tokens cheaply (prompt lookup over the text so far, or a small draft
// model with the same vocabulary), the target model checks them all in one
// pass (one batch step, one trip through a swarm's route), and the longest
// prefix it agrees with is kept, plus one token of its own.
//
// Greedy requests give the same tokens as plain decoding, bit for bit: the
// engine is batch-invariant, so the target's logits of a row checked in a
// batch are those of the row computed alone, and a draft token is kept
// only when it is the argmax. Sampled requests use speculative sampling,
// which keeps the target distribution exactly: a draft token d drawn from
// the drafter's distribution q is kept with probability min(1, p(d)/q(d)),
// else a token is drawn from the residual max(0, p-q) normalized; a
// deterministic drafter (prompt lookup, a greedy draft model) has q a
// point mass, so d is kept with probability p(d).
//
// The number of tokens drafted per pass adapts (Controller) to the
// measured acceptance rate and to what a pass costs: its fixed part (a
// swarm route's round trips) against the cost of each extra row.
package speculate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/internal/enum"
)

// Mode is how a generation speculates.
type Mode int

// Modes.
const (
	// Off decodes one token per pass.
	Off Mode = iota
	// Auto speculates where it pays: the draft length adapts to the
	// acceptance rate and the pass cost, down to none. It drafts with the
	// draft model when there is one, else by prompt lookup.
	Auto
	// NGram drafts by prompt lookup (n-grams of the prompt and the text so
	// far), at least one token a pass when there is a match.
	NGram
	// Draft drafts with the draft model, at least one token a pass.
	Draft
)

func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case Auto:
		return "auto"
	case NGram:
		return "ngram"
	case Draft:
		return "draft"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode reads "off", "auto", "ngram" or "draft".
func ParseMode(s string) (Mode, error) {
	return enum.Parse("speculate: mode", s, Off, Auto, NGram, Draft)
}

// MarshalText writes m as String does.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads m as ParseMode does.
func (m *Mode) UnmarshalText(b []byte) error { return enum.Unmarshal(m, b, ParseMode) }

// For is the mode a request sampled by s (nil: greedy) runs with: Auto
// speculates only on deterministic requests (greedy, temperature 0),
// whose tokens are those of plain decoding; a seeded sampled request
// then draws the same tokens run after run (with speculation the draws
// depend on the draft lengths, which adapt to measured times). NGram and
// Draft speculate on every request.
func (m Mode) For(s *sample.Sampler) Mode {
	if m == Auto && s != nil && !s.Deterministic() {
		return Off
	}
	return m
}

// MaxDraft caps the tokens drafted for one pass.
const MaxDraft = 16

// Target is the model that verifies drafts: a local engine session or a
// route through a swarm.
type Target interface {
	// Step runs tokens at positions pos, pos+1, ... and writes the logits
	// of every row (len(tokens) * vocabulary) into logits.
	Step(ctx context.Context, pos int, tokens []int32, logits []float32) error
	// Rollback forgets every position from n on.
	Rollback(ctx context.Context, n int) error
}

// Drafter proposes tokens.
type Drafter interface {
	// Draft proposes up to k tokens to follow history. With a
	// non-deterministic sampler a drafter may draw them from a
	// distribution of its own and return it for each (q[i], over the
	// vocabulary); nil q means the tokens were chosen deterministically.
	Draft(ctx context.Context, history []int32, k int, s *sample.Sampler) (toks []int32, q [][]float64, err error)
	// Free reports whether drafting costs nothing worth measuring (prompt
	// lookup); the controller then shadows the drafter on passes that
	// draft nothing, to keep its acceptance rate current.
	Free() bool
}

// Stats count what speculation did in a generation.
type Stats struct {
	Passes   int           // target passes of the decode (verification steps)
	Tokens   int           // tokens they produced: each its kept drafts and one of the model's
	Drafted  int           // draft tokens sent for verification
	Accepted int           // draft tokens kept
	Saved    time.Duration // estimated decode time saved against one token a pass
}

// Decoder runs the decode loop of one generation with speculation.
type Decoder struct {
	Target  Target
	Drafter Drafter // nil: one token a pass
	Control *Controller
	Sampler *sample.Sampler // nil: greedy
	Vocab   int
	// MaxLen is the positions the target holds.
	MaxLen int
	Stop   func(tok int32) bool
	Emit   func(tok int32) error
	// Logits, when set, is given the target's logits of position pos just
	// before the token there is chosen (as engine.GenerateOptions.Logits).
	Logits func(pos int, logits []float32)
	// Now reads the clock (default time.Now).
	Now func() time.Time

	st Stats
}

// Result is how a decode ended.
type Result struct {
	Generated      int
	StoppedByToken bool
	Stats          Stats
}

func (d *Decoder) deterministic() bool { return d.Sampler == nil || d.Sampler.Deterministic() }

// choose picks the token of row logits (a copy is changed by penalties)
// after history, as plain decoding does.
func (d *Decoder) choose(pos int, row []float32, history []int32, scratch []float32) int32 {
	if d.Logits != nil {
		d.Logits(pos, row)
	}
	if d.Sampler == nil || d.Sampler.Greedy() {
		return sample.Argmax(row)
	}
	scratch = append(scratch[:0], row...)
	return d.Sampler.Sample(scratch, history)
}

// verify decides draft token tok (drawn from q, nil: deterministically)
// against the target's row logits after history: whether it is kept, and
// if not the token taken instead.
func (d *Decoder) verify(pos int, row []float32, history []int32, tok int32, q []float64, scratch []float32, p []float64) (bool, int32, []float64) {
	if d.deterministic() {
		t := d.choose(pos, row, history, scratch)
		return t == tok, t, p
	}
	if d.Logits != nil {
		d.Logits(pos, row)
	}
	scratch = append(scratch[:0], row...)
	p = d.Sampler.Dist(scratch, history, p)
	qd := 1.0
	if q != nil {
		qd = q[tok]
	}
	// Keep with probability min(1, p/q).
	if u := d.Sampler.Float64(); u*qd < p[tok] {
		return true, tok, p
	}
	// The residual max(0, p-q), normalized by Pick.
	for i := range p {
		qi := 0.0
		switch {
		case q != nil:
			qi = q[i]
		case int32(i) == tok:
			qi = 1
		}
		p[i] = max(0, p[i]-qi)
	}
	t := d.Sampler.Pick(p)
	if t < 0 { // p == q: cannot be rejected, but stay safe
		t = tok
	}
	return false, t, p
}

// Decode generates up to maxTokens tokens after history (the prompt, held
// by the target at positions 0..len-1), starting from logits, the
// target's logits after it.
func (d *Decoder) Decode(ctx context.Context, history []int32, logits []float32, maxTokens int) (Result, error) {
	var res Result
	now := d.Now
	if now == nil {
		now = time.Now
	}
	ctrl := d.Control
	if ctrl == nil {
		ctrl = NewController(Auto)
	}
	vocab := d.Vocab
	hist := append(make([]int32, 0, len(history)+maxTokens+MaxDraft), history...)
	pos := len(history)
	scratch := make([]float32, 0, vocab)
	var p []float64
	all := make([]float32, (MaxDraft+1)*vocab)
	tok := d.choose(pos, logits, hist, scratch)
	var shadow []int32 // a free drafter's guess on a pass that drafted nothing
	for {
		if len(shadow) > 0 {
			ctrl.observeAcceptance(1, btoi(shadow[0] == tok))
			shadow = nil
		}
		if d.Stop != nil && d.Stop(tok) {
			res.StoppedByToken = true
			break
		}
		res.Generated++
		hist = append(hist, tok)
		if err := d.Emit(tok); err != nil {
			res.Stats = d.st
			return res, err
		}
		if res.Generated >= maxTokens || pos >= d.MaxLen {
			break
		}
		k := min(ctrl.K(), maxTokens-res.Generated, d.MaxLen-pos-1)
		var drafts []int32
		var qs [][]float64
		if d.Drafter != nil && (k > 0 || d.Drafter.Free()) {
			var err error
			drafts, qs, err = d.Drafter.Draft(ctx, hist, max(k, 1), d.Sampler)
			if err != nil {
				res.Stats = d.st
				return res, fmt.Errorf("speculate: draft: %w", err)
			}
			if k == 0 {
				shadow, drafts, qs = drafts, nil, nil
			}
		}
		rows := append([]int32{tok}, drafts...)
		t0 := now()
		if err := d.Target.Step(ctx, pos, rows, all[:len(rows)*vocab]); err != nil {
			res.Stats = d.st
			return res, err
		}
		dur := now().Sub(t0)
		d.st.Passes++
		d.st.Drafted += len(drafts)
		// Keep the longest prefix of the drafts the target agrees with.
		i := 0
		var next int32
		done := false
		for ; i < len(drafts); i++ {
			row := all[i*vocab : (i+1)*vocab]
			var q []float64
			if qs != nil {
				q = qs[i]
			}
			var ok bool
			ok, next, p = d.verify(pos+i+1, row, hist, drafts[i], q, scratch, p)
			if !ok {
				break
			}
			if d.Stop != nil && d.Stop(drafts[i]) {
				res.StoppedByToken = true
				done = true
				break
			}
			res.Generated++
			hist = append(hist, drafts[i])
			if err := d.Emit(drafts[i]); err != nil {
				d.st.Accepted += i + 1
				res.Stats = d.st
				return res, err
			}
			if res.Generated >= maxTokens {
				done = true
				i++
				break
			}
		}
		d.st.Accepted += min(i, len(drafts))
		if len(drafts) > 0 {
			kept := min(i, len(drafts))
			miss := 0
			if kept < len(drafts) && !done {
				miss = 1
			}
			ctrl.observeAcceptance(kept+miss, kept)
		}
		ctrl.observePass(len(rows), dur)
		if done {
			break
		}
		if i == len(drafts) {
			next = d.choose(pos+len(rows), all[len(drafts)*vocab:len(rows)*vocab], hist, scratch)
		}
		n := pos + 1 + i
		if n < pos+len(rows) {
			if err := d.Target.Rollback(ctx, n); err != nil {
				res.Stats = d.st
				return res, err
			}
		}
		pos = n
		tok = next
	}
	d.st.Saved = ctrl.saved(d.st)
	d.st.Tokens = d.st.Passes + d.st.Accepted
	res.Stats = d.st
	return res, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ErrVocab is wrapped when a draft model's vocabulary differs from the
// target's.
var ErrVocab = errors.New("speculate: the draft model's vocabulary differs from the model's")
