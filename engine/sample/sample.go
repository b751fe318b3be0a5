// Package sample picks the next token from a model's logits: greedy, or
// random with temperature, top-k, top-p (nucleus) and min-p filtering, a
// repetition penalty and OpenAI's presence and frequency penalties. A Sampler with a given seed always makes the same
// choices for the same logits.
package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/orbitswarm/orbit/engine/kernels"
)

// Params configures a Sampler. The zero value is greedy.
type Params struct {
	Temperature float32 // 0 means greedy (argmax)
	TopK        int     // keep the K most likely tokens; 0 = all
	TopP        float32 // keep the smallest set with this much probability; 0 or 1 = all
	MinP        float32 // drop tokens below MinP times the top probability; 0 = off
	// RepeatPenalty divides positive logits (multiplies negative ones) of
	// tokens among the last RepeatLastN tokens; 0 or 1 = off.
	RepeatPenalty float32
	RepeatLastN   int // 0 means 64
	// PresencePenalty is subtracted from the logit of every token that
	// occurs among the last RepeatLastN tokens, FrequencyPenalty times the
	// number of its occurrences there (OpenAI's presence_penalty and
	// frequency_penalty, over llama.cpp's window); 0 = off, in [-2, 2].
	PresencePenalty  float32
	FrequencyPenalty float32
	Seed             uint64
}

// ErrParams is wrapped by errors about invalid parameters.
var ErrParams = errors.New("sample: invalid parameters")

// Validate reports parameters out of range.
func (p Params) Validate() error {
	switch {
	case p.Temperature < 0 || math.IsNaN(float64(p.Temperature)) || p.Temperature > 100:
		return fmt.Errorf("%w: temperature %v must be in [0, 100]", ErrParams, p.Temperature)
	case p.TopK < 0:
		return fmt.Errorf("%w: top_k %d is negative", ErrParams, p.TopK)
	case p.TopP < 0 || p.TopP > 1 || math.IsNaN(float64(p.TopP)):
		return fmt.Errorf("%w: top_p %v must be in [0, 1]", ErrParams, p.TopP)
	case p.MinP < 0 || p.MinP > 1 || math.IsNaN(float64(p.MinP)):
		return fmt.Errorf("%w: min_p %v must be in [0, 1]", ErrParams, p.MinP)
	case p.RepeatPenalty < 0 || math.IsNaN(float64(p.RepeatPenalty)):
		return fmt.Errorf("%w: repeat penalty %v is negative", ErrParams, p.RepeatPenalty)
	case p.RepeatLastN < 0:
		return fmt.Errorf("%w: repeat_last_n %d is negative", ErrParams, p.RepeatLastN)
	case !(p.PresencePenalty >= -2 && p.PresencePenalty <= 2):
		return fmt.Errorf("%w: presence penalty %v must be in [-2, 2]", ErrParams, p.PresencePenalty)
	case !(p.FrequencyPenalty >= -2 && p.FrequencyPenalty <= 2):
		return fmt.Errorf("%w: frequency penalty %v must be in [-2, 2]", ErrParams, p.FrequencyPenalty)
	}
	return nil
}

// Sampler chooses tokens. It is not safe for concurrent use.
type Sampler struct {
	p     Params
	rng   *rand.Rand
	cands []cand
	seen  map[int32]bool
	count map[int32]int
}

type cand struct {
	id    int32
	logit float32
	p     float64
}

// New returns a Sampler; it reports invalid parameters.
func New(p Params) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.RepeatLastN == 0 {
		p.RepeatLastN = 64
	}
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)), seen: map[int32]bool{}, count: map[int32]int{}}, nil
}

// Greedy reports whether the sampler always takes the argmax of the
// logits as they are: temperature 0 and no penalty. Callers may then skip
// it (and the history it needs).
func (s *Sampler) Greedy() bool {
	return s.p.Temperature == 0 && (s.p.RepeatPenalty == 0 || s.p.RepeatPenalty == 1) &&
		s.p.PresencePenalty == 0 && s.p.FrequencyPenalty == 0
}

// Argmax returns the index of the largest logit (the first of equals).
func Argmax(logits []float32) int32 {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// Sample picks a token from logits given the tokens so far. It may modify
// logits (the penalties).
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	c, tok := s.filter(logits, history)
	if c == nil {
		return tok
	}
	var sum float64
	for _, x := range c {
		sum += x.p
	}
	r := s.rng.Float64() * sum
	for _, x := range c {
		r -= x.p
		if r < 0 {
			return x.id
		}
	}
	// Rounding left r at or above 0: the last candidate that can be drawn
	// (not one of probability 0, such as a logit masked to -Inf).
	for i := len(c) - 1; i > 0; i-- {
		if c[i].p > 0 {
			return c[i].id
		}
	}
	return c[0].id
}

// Deterministic reports whether Sample always picks the argmax of the
// (penalized) logits: temperature 0.
func (s *Sampler) Deterministic() bool { return s.p.Temperature == 0 }

// Params returns the sampler's parameters.
func (s *Sampler) Params() Params { return s.p }

// Dist writes into p (grown to len(logits)) the distribution Sample draws
// from for these logits and history: every token's probability after the
// penalties, temperature and filters, zero for the tokens filtered out
// (a point mass on the argmax at temperature 0). It may modify logits as
// Sample does, and draws nothing.
func (s *Sampler) Dist(logits []float32, history []int32, p []float64) []float64 {
	if cap(p) < len(logits) {
		p = make([]float64, len(logits))
	}
	p = p[:len(logits)]
	clear(p)
	c, tok := s.filter(logits, history)
	if c == nil {
		p[tok] = 1
		return p
	}
	var sum float64
	for _, x := range c {
		sum += x.p
	}
	for _, x := range c {
		p[x.id] = x.p / sum
	}
	return p
}

// Float64 draws a number in [0, 1) from the sampler's random stream.
func (s *Sampler) Float64() float64 { return s.rng.Float64() }

// Pick draws an index from weights w (non-negative, not necessarily
// normalized) with the sampler's random stream; -1 when they sum to 0.
func (s *Sampler) Pick(w []float64) int32 {
	var sum float64
	last := -1
	for i, x := range w {
		sum += x
		if x > 0 {
			last = i
		}
	}
	if !(sum > 0) {
		return -1
	}
	r := s.rng.Float64() * sum
	for i, x := range w {
		if x <= 0 {
			continue
		}
		r -= x
		if r < 0 {
			return int32(i)
		}
	}
	return int32(last)
}

// filter applies the penalties and, at a positive temperature, returns
// the candidates Sample draws from with their probabilities (summing to
// 1 before the min-p and top-p cuts). At temperature 0, or when every
// logit is NaN, it returns nil and the token to take.
func (s *Sampler) filter(logits []float32, history []int32) ([]cand, int32) {
	if s.p.RepeatPenalty > 0 && s.p.RepeatPenalty != 1 {
		clear(s.seen)
		for _, t := range history[max(0, len(history)-s.p.RepeatLastN):] {
			if t >= 0 && int(t) < len(logits) && !s.seen[t] {
				s.seen[t] = true
				if logits[t] > 0 {
					logits[t] /= s.p.RepeatPenalty
				} else {
					logits[t] *= s.p.RepeatPenalty
				}
			}
		}
	}
	if s.p.PresencePenalty != 0 || s.p.FrequencyPenalty != 0 {
		clear(s.count)
		for _, t := range history[max(0, len(history)-s.p.RepeatLastN):] {
			if t >= 0 && int(t) < len(logits) {
				s.count[t]++
			}
		}
		for t, n := range s.count {
			logits[t] -= s.p.PresencePenalty + float32(s.p.FrequencyPenalty*float32(n))
		}
	}
	if s.p.Temperature == 0 {
		return nil, Argmax(logits)
	}
	c := s.cands[:0]
	for i, v := range logits {
		if !math.IsNaN(float64(v)) {
			c = append(c, cand{id: int32(i), logit: v})
		}
	}
	if len(c) == 0 {
		return nil, Argmax(logits)
	}
	// Sort by logit, descending; ties by id for determinism.
	slices.SortFunc(c, func(a, b cand) int {
		if a.logit != b.logit {
			if a.logit > b.logit {
				return -1
			}
			return 1
		}
		return int(a.id - b.id)
	})
	if s.p.TopK > 0 && s.p.TopK < len(c) {
		c = c[:s.p.TopK]
	}
	// Softmax with temperature.
	top := float64(c[0].logit)
	var sum float64
	for i := range c {
		c[i].p = kernels.Exp((float64(c[i].logit) - top) / float64(s.p.Temperature)) // the same bits on every CPU
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
	if s.p.MinP > 0 {
		cut := float64(s.p.MinP) * c[0].p
		k := 1
		for k < len(c) && c[k].p >= cut {
			k++
		}
		c = c[:k]
	}
	if s.p.TopP > 0 && s.p.TopP < 1 {
		var acc float64
		k := 0
		for k < len(c) {
			acc += c[k].p
			k++
			if acc >= float64(s.p.TopP) {
				break
			}
		}
		c = c[:k]
	}
	s.cands = c
	return c, 0
}
