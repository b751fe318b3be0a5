package api

import (
	"context"
	"sync"
	"time"

	"github.com/orbitswarm/orbit/clock"
)

// History defaults: 60 intervals of 5 seconds, the last 5 minutes.
const (
	DefaultHistoryInterval = 5 * time.Second
	DefaultHistoryLength   = 60
)

// HistorySample is one interval of the node's generations, as its API
// ran them.
type HistorySample struct {
	// At is the interval's end.
	At time.Time `json:"at"`
	// TokensPerSecond is the rate of tokens generated in the interval.
	TokensPerSecond float64 `json:"tokens_per_s"`
	// Generations counts the generations that ended in the interval;
	// LatencyMS is their mean time per generated token after the first
	// and TTFTMS their mean time to the first token (the prompt's
	// prefill), both 0 when none ended.
	Generations int     `json:"generations"`
	LatencyMS   float64 `json:"latency_ms"`
	TTFTMS      float64 `json:"ttft_ms"`
}

// HistoryResponse is /api/v1/history: the last minutes of the node's
// activity, one sample per interval, oldest first, the interval running
// now last.
type HistoryResponse struct {
	IntervalSeconds float64         `json:"interval_s"`
	Samples         []HistorySample `json:"samples"`
}

// bucket is one interval of a history: what happened in it so far.
type bucket struct {
	n            int64 // the interval's number: its start / interval
	tokens       int64
	gens         int
	decode, ttft time.Duration
	decoded      int64 // tokens after the first, over which decode ran
}

// history is a ring buffer of interval buckets. Tokens and ended
// generations are counted into the interval they happen in; intervals
// nothing happened in read as zero.
type history struct {
	clock    clock.Clock
	interval time.Duration

	mu   sync.Mutex
	ring []bucket
}

func newHistory(c clock.Clock, interval time.Duration, length int) *history {
	return &history{clock: clock.Or(c), interval: interval, ring: make([]bucket, length)}
}

// at returns the bucket of now, cleared when it held an older interval.
// h.mu is held.
func (h *history) at(now time.Time) *bucket {
	n := now.UnixNano() / int64(h.interval)
	b := &h.ring[int(n%int64(len(h.ring)))]
	if b.n != n {
		*b = bucket{n: n}
	}
	return b
}

// addTokens counts n generated tokens now.
func (h *history) addTokens(n int) {
	h.mu.Lock()
	h.at(h.clock.Now()).tokens += int64(n)
	h.mu.Unlock()
}

// addGeneration counts a generation that ended now: its time to the first
// token and its decode time over tokens-1 tokens.
func (h *history) addGeneration(ttft, decode time.Duration, tokens int) {
	h.mu.Lock()
	b := h.at(h.clock.Now())
	b.gens++
	b.ttft += ttft
	if tokens > 1 {
		b.decode += decode
		b.decoded += int64(tokens - 1)
	}
	h.mu.Unlock()
}

// samples returns the history, oldest first.
func (h *history) samples() HistoryResponse {
	now := h.clock.Now()
	cur := now.UnixNano() / int64(h.interval)
	out := HistoryResponse{IntervalSeconds: h.interval.Seconds(), Samples: make([]HistorySample, 0, len(h.ring))}
	h.mu.Lock()
	defer h.mu.Unlock()
	for n := cur - int64(len(h.ring)) + 1; n <= cur; n++ {
		start := time.Unix(0, n*int64(h.interval))
		end := start.Add(h.interval)
		s := HistorySample{At: end.UTC()}
		span := h.interval
		if n == cur {
			s.At, span = now.UTC(), max(now.Sub(start), time.Millisecond)
		}
		if b := h.ring[int(n%int64(len(h.ring)))]; b.n == n {
			s.TokensPerSecond = float64(b.tokens) / span.Seconds()
			s.Generations = b.gens
			if b.gens > 0 {
				s.TTFTMS = float64(b.ttft) / float64(time.Millisecond) / float64(b.gens)
			}
			if b.decoded > 0 {
				s.LatencyMS = float64(b.decode) / float64(time.Millisecond) / float64(b.decoded)
			}
		}
		out.Samples = append(out.Samples, s)
	}
	return out
}

// KVCacheUse is one server's KV cache for one model span: the sessions it
// holds and the positions (tokens of context) they reserve, against what
// its budget holds.
type KVCacheUse struct {
	Peer  string `json:"peer"`
	Self  bool   `json:"self"` // this node
	Model string `json:"model"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Sessions open on the span (-1: the server does not say).
	Sessions int `json:"sessions"`
	// UsedTokens of BudgetTokens positions are reserved by sessions (a
	// session reserves its maximum length when it opens); UsedBytes of
	// BudgetBytes the same in bytes, the budget shared by every model the
	// server serves. Budgets are 0 when the server does not say.
	UsedTokens   int   `json:"used_tokens"`
	BudgetTokens int   `json:"budget_tokens"`
	UsedBytes    int64 `json:"used_bytes"`
	BudgetBytes  int64 `json:"budget_bytes"`
}

// KVCacheResponse is /api/v1/kv.
type KVCacheResponse struct {
	Servers []KVCacheUse `json:"servers"`
}

// KVCacheReporter is implemented by backends that know the KV caches of
// the servers they use (a swarm node: its own and its peers'); the
// server's /api/v1/kv lists none for others.
type KVCacheReporter interface {
	KVCache(ctx context.Context) ([]KVCacheUse, error)
}
