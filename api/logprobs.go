package api

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// maxTopLogprobs caps top_logprobs (chat) and logprobs (completions).
const maxTopLogprobs = 20

// logSoftmax writes the log-probabilities of logits to out, in float64:
// out[i] = logits[i] - max - log(sum_j exp(logits[j] - max)), summed in
// index order with the canonical kernels.Exp and kernels.Log, so every
// machine gives the same bits for the same logits.
func logSoftmax(logits []float32, out []float64) {
	m := math.Inf(-1)
	for _, l := range logits {
		if v := float64(l); v > m {
			m = v
		}
	}
	var sum float64
	for _, l := range logits {
		sum += kernels.Exp(float64(l) - m)
	}
	lse := m + kernels.Log(sum)
	for i, l := range logits {
		out[i] = float64(l) - lse
	}
}

// topLogprobs returns the n most likely tokens of lp, most likely first
// (ties: the lower id first).
func topLogprobs(lp []float64, n int) []lpAlt {
	if n <= 0 {
		return nil
	}
	top := make([]lpAlt, 0, n+1)
	for id, v := range lp {
		if len(top) == n && v <= top[n-1].logprob {
			continue
		}
		i := len(top)
		for i > 0 && v > top[i-1].logprob {
			i--
		}
		top = append(top, lpAlt{})
		copy(top[i+1:], top[i:])
		top[i] = lpAlt{id: int32(id), logprob: v}
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

type lpAlt struct {
	id      int32
	logprob float64
}

// lpEntry is one token's log-probability and its alternatives; logprob
// is nil for a prompt's first token (nothing predicts it).
type lpEntry struct {
	id      int32
	logprob *float64
	top     []lpAlt
	offset  int // in the choice's text
}

// logprobRecorder collects the log-probabilities of a generation from the
// backend's logits (GenerateRequest.Logits): of the prompt's tokens when
// echoing, then of each generated token.
type logprobRecorder struct {
	top     int
	prompt  []int32
	lp      []float64
	entries []lpEntry
	sent    int // entries already streamed
}

func newLogprobRecorder(top int, prompt []int32, echo bool) *logprobRecorder {
	r := &logprobRecorder{top: top, prompt: prompt}
	if echo {
		r.entries = append(r.entries, lpEntry{id: prompt[0]})
	}
	return r
}

// logits is GenerateRequest.Logits.
func (r *logprobRecorder) logits(pos int, logits []float32) {
	if len(r.lp) != len(logits) {
		r.lp = make([]float64, len(logits))
	}
	logSoftmax(logits, r.lp)
	if pos < len(r.prompt) {
		r.entries = append(r.entries, r.entry(r.prompt[pos]))
	}
}

// generated records a new token at offset in the text, drawn from the
// distribution the latest logits call gave.
func (r *logprobRecorder) generated(id int32, offset int) {
	e := r.entry(id)
	e.offset = offset
	r.entries = append(r.entries, e)
}

func (r *logprobRecorder) entry(id int32) lpEntry {
	v := math.Inf(-1)
	if int(id) < len(r.lp) && id >= 0 {
		v = r.lp[id]
	}
	return lpEntry{id: id, logprob: &v, top: topLogprobs(r.lp, r.top)}
}

// unsent returns the entries not streamed yet and marks them sent.
func (r *logprobRecorder) unsent() []lpEntry {
	e := r.entries[r.sent:]
	r.sent = len(r.entries)
	return e
}

// tokenString is a token's text for logprobs: its piece when that is
// valid UTF-8, "bytes:\xNN..." when it is part of a character (as
// OpenAI writes byte tokens), the vocabulary text of a control token.
func tokenString(tok *tokenizer.Tokenizer, id int32) string {
	p := tok.TokenPiece(id)
	switch {
	case len(p) == 0:
		return tok.TokenText(id)
	case utf8.Valid(p):
		return string(p)
	}
	var b strings.Builder
	b.WriteString("bytes:")
	for _, c := range p {
		fmt.Fprintf(&b, "\\x%02x", c)
	}
	return b.String()
}

func tokenBytes(tok *tokenizer.Tokenizer, id int32) []int {
	p := tok.TokenPiece(id)
	if len(p) == 0 {
		p = []byte(tok.TokenText(id))
	}
	out := make([]int, len(p))
	for i, c := range p {
		out[i] = int(c)
	}
	return out
}

// completionLogprobs formats entries as /v1/completions does.
func completionLogprobs(tok *tokenizer.Tokenizer, entries []lpEntry) *CompletionLogprobs {
	out := &CompletionLogprobs{Tokens: []string{}, TokenLogprobs: []*float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	for _, e := range entries {
		out.Tokens = append(out.Tokens, tokenString(tok, e.id))
		out.TokenLogprobs = append(out.TokenLogprobs, e.logprob)
		out.TextOffset = append(out.TextOffset, e.offset)
		if e.logprob == nil {
			out.TopLogprobs = append(out.TopLogprobs, nil)
			continue
		}
		top := make(map[string]float64, len(e.top))
		for _, a := range e.top {
			k := tokenString(tok, a.id)
			if v, ok := top[k]; !ok || a.logprob > v {
				top[k] = a.logprob
			}
		}
		out.TopLogprobs = append(out.TopLogprobs, top)
	}
	return out
}

// chatLogprobs formats entries as /v1/chat/completions does.
func chatLogprobs(tok *tokenizer.Tokenizer, entries []lpEntry) *ChatLogprobs {
	out := &ChatLogprobs{Content: []ChatTokenLogprob{}}
	for _, e := range entries {
		c := ChatTokenLogprob{Token: tokenString(tok, e.id), Logprob: *e.logprob, Bytes: tokenBytes(tok, e.id), TopLogprobs: []TopLogprob{}}
		for _, a := range e.top {
			c.TopLogprobs = append(c.TopLogprobs, TopLogprob{Token: tokenString(tok, a.id), Logprob: a.logprob, Bytes: tokenBytes(tok, a.id)})
		}
		out.Content = append(out.Content, c)
	}
	return out
}
