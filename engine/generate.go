package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/sharding"
)

// GenerateOptions configures Generate.
type GenerateOptions struct {
	MaxTokens int             // new tokens to generate at most
	Sampler   *sample.Sampler // nil means greedy
	// Stop reports tokens that end the generation (they are not emitted).
	Stop func(tok int32) bool
	// PrefillChunk caps the rows of one prefill call (default 256).
	PrefillChunk int
	// Logits, when set, is given the model's logits for position pos (the
	// distribution of the token there, before any sampling changes them):
	// for each new token, just before it is chosen, and with PromptLogits
	// for every prompt position after the first (the prompt's scores).
	// The slice is valid only during the call.
	Logits       func(pos int, logits []float32)
	PromptLogits bool
	// Decode, when set, runs the decode after the prefill instead of one
	// token a pass (speculative decoding, package engine/speculate): from
	// the prompt (held by the session) and the logits after it, it
	// generates up to MaxTokens tokens and reports how many and whether a
	// Stop token ended them.
	Decode func(ctx context.Context, prompt []int32, logits []float32) (generated int, stopped bool, err error)
}

// Stats reports what a generation did and how long it took.
type Stats struct {
	PromptTokens    int
	GeneratedTokens int
	Prefill         time.Duration // prompt through the model, to the first logits
	Decode          time.Duration // all later tokens
	StoppedByToken  bool          // a Stop token ended it
}

// PrefillTokensPerSecond is the prompt processing rate.
func (s Stats) PrefillTokensPerSecond() float64 {
	return float64(s.PromptTokens) / s.Prefill.Seconds()
}

// DecodeTokensPerSecond is the rate of tokens after the first.
func (s Stats) DecodeTokensPerSecond() float64 {
	if s.GeneratedTokens <= 1 {
		return 0
	}
	return float64(s.GeneratedTokens-1) / s.Decode.Seconds()
}

// Generate runs prompt through a fully loaded model (embedding, every
// block, head) in sess, then samples up to MaxTokens new tokens, passing each
// to emit. It stops early on a Stop token, when emit returns an error, when
// the session is full, or when ctx is done.
func (m *Model) Generate(ctx context.Context, sess *Session, prompt []int32, opt GenerateOptions, emit func(tok int32) error) (Stats, error) {
	var st Stats
	if !m.hasEmbed || !m.hasHead || m.Span != (sharding.Span{Start: 0, End: m.Config.Layers}) {
		return st, fmt.Errorf("engine: Generate needs the whole model loaded")
	}
	if len(prompt) == 0 {
		return st, fmt.Errorf("%w: empty prompt", ErrBadInput)
	}
	if sess.Len() != 0 {
		return st, fmt.Errorf("%w: session already holds %d positions", ErrBadInput, sess.Len())
	}
	if len(prompt) > sess.MaxLen() {
		return st, fmt.Errorf("%w: prompt of %d tokens exceeds the session's %d positions", ErrBadInput, len(prompt), sess.MaxLen())
	}
	chunk := opt.PrefillChunk
	if chunk <= 0 {
		chunk = 256
	}
	dim, vocab := m.Config.Dim, m.Config.VocabSize
	logits := make([]float32, vocab)
	x := make([]float32, min(chunk, len(prompt))*dim)
	rows := make([]Row, 0, chunk)
	history := append(make([]int32, 0, len(prompt)+opt.MaxTokens), prompt...)

	start := time.Now()
	for off := 0; off < len(prompt); off += chunk {
		part := prompt[off:min(off+chunk, len(prompt))]
		xs := x[:len(part)*dim]
		if err := m.Embed(part, xs); err != nil {
			return st, err
		}
		rows = rows[:0]
		for i := range part {
			rows = append(rows, Row{Session: sess, Pos: off + i})
		}
		if err := m.Forward(ctx, xs, rows); err != nil {
			return st, err
		}
		if opt.PromptLogits && opt.Logits != nil {
			all := make([]float32, len(part)*vocab)
			if err := m.Head(xs, len(part), all); err != nil {
				return st, err
			}
			for r := range part {
				if pos := off + r + 1; pos < len(prompt) {
					opt.Logits(pos, all[r*vocab:(r+1)*vocab])
				}
			}
			if off+len(part) == len(prompt) {
				copy(logits, all[(len(part)-1)*vocab:])
			}
			continue
		}
		if off+len(part) == len(prompt) {
			if err := m.Head(xs[(len(part)-1)*dim:], 1, logits); err != nil {
				return st, err
			}
		}
	}
	st.PromptTokens = len(prompt)
	st.Prefill = time.Since(start)
	start = time.Now()
	if opt.Decode != nil {
		var err error
		st.GeneratedTokens, st.StoppedByToken, err = opt.Decode(ctx, prompt, logits)
		st.Decode = time.Since(start)
		return st, err
	}
	x = x[:dim]
	for st.GeneratedTokens < opt.MaxTokens {
		if opt.Logits != nil {
			opt.Logits(len(prompt)+st.GeneratedTokens, logits)
		}
		var tok int32
		if opt.Sampler == nil {
			tok = sample.Argmax(logits)
		} else {
			tok = opt.Sampler.Sample(logits, history)
		}
		if opt.Stop != nil && opt.Stop(tok) {
			st.StoppedByToken = true
			break
		}
		st.GeneratedTokens++
		history = append(history, tok)
		if err := emit(tok); err != nil {
			return st, err
		}
		if st.GeneratedTokens == opt.MaxTokens || sess.Len() >= sess.MaxLen() {
			break
		}
		if err := m.Embed([]int32{tok}, x); err != nil {
			return st, err
		}
		if err := m.Forward(ctx, x, []Row{{Session: sess, Pos: sess.Len()}}); err != nil {
			return st, err
		}
		if err := m.Head(x, 1, logits); err != nil {
			return st, err
		}
	}
	st.Decode = time.Since(start)
	return st, nil
}
