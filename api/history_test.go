package api_test

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/clock"
)

// getRaw GETs base+path over HTTP and returns the 200 answer's body,
// decoded into out and as a map of its top-level fields.
func getRaw(t *testing.T, base, path string, out any) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: HTTP %d (%s): %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(data, &fields)
	return fields
}

// TestHistoryEndpoint: /api/v1/history has one sample per interval over
// the last minutes, oldest first; generations run through the API count
// their tokens into the interval they came in (tokens/s), and their time
// per token and to the first token into the one they ended in. The
// server's clock is a fake one, moved by the test.
func TestHistoryEndpoint(t *testing.T) {
	local, _, _ := newLocal(t, api.LocalOptions{})
	start := time.Date(2026, 12, 4, 12, 0, 1, 0, time.UTC)
	clk := clock.NewFake(start)
	ts, _ := serve(t, local, api.Options{Clock: clk, HistoryInterval: 5 * time.Second, HistoryLength: 6})

	var h api.HistoryResponse
	fields := getRaw(t, ts.URL, "/api/v1/history", &h)
	for _, f := range []string{"interval_s", "samples"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("history lacks %q: %v", f, fields)
		}
	}
	if h.IntervalSeconds != 5 || len(h.Samples) != 6 {
		t.Fatalf("interval %v s, %d samples; want 5 s, 6", h.IntervalSeconds, len(h.Samples))
	}
	for _, s := range h.Samples {
		if s.TokensPerSecond != 0 || s.Generations != 0 {
			t.Errorf("a new server's history has activity: %+v", s)
		}
	}

	// Two generations of 10 and 6 tokens in the interval [12:00:00, 12:00:05).
	const n1, n2 = 10, 6
	for _, n := range []int{n1, n2} {
		var c api.Completion
		postJSON(t, ts.URL, "/v1/completions", map[string]any{"model": testModelID, "prompt": "I dream of", "max_tokens": n, "temperature": 0}, &c)
		if c.Usage == nil || c.Usage.CompletionTokens != n || *c.Choices[0].FinishReason != api.FinishLength {
			t.Fatalf("completion: %+v", c)
		}
	}
	clk.Advance(12 * time.Second) // now 12:00:13, in [12:00:10, 12:00:15)
	var raw struct {
		Samples []map[string]json.RawMessage `json:"samples"`
	}
	getRaw(t, ts.URL, "/api/v1/history", &raw)
	for _, f := range []string{"at", "tokens_per_s", "generations", "latency_ms", "ttft_ms"} {
		if _, ok := raw.Samples[0][f]; !ok {
			t.Errorf("a sample lacks %q: %v", f, raw.Samples[0])
		}
	}
	getRaw(t, ts.URL, "/api/v1/history", &h)
	if len(h.Samples) != 6 {
		t.Fatalf("%d samples", len(h.Samples))
	}
	// Intervals ending 11:59:50 ... 12:00:15; the generations' is the
	// fourth (ending 12:00:05), the last runs now.
	for i, s := range h.Samples {
		wantAt := start.Truncate(5 * time.Second).Add(time.Duration(i-2) * 5 * time.Second)
		if i == len(h.Samples)-1 {
			wantAt = clk.Now()
		}
		if !s.At.Equal(wantAt) {
			t.Errorf("sample %d at %v, want %v", i, s.At, wantAt)
		}
		if i == 3 {
			continue
		}
		if s.TokensPerSecond != 0 || s.Generations != 0 || s.LatencyMS != 0 || s.TTFTMS != 0 {
			t.Errorf("sample %d (%v) has activity: %+v", i, s.At, s)
		}
	}
	s := h.Samples[3]
	if want := float64(n1+n2) / 5; math.Abs(s.TokensPerSecond-want) > 1e-9 {
		t.Errorf("tokens/s %v, want %v (16 tokens in 5 s)", s.TokensPerSecond, want)
	}
	if s.Generations != 2 || s.LatencyMS <= 0 || s.TTFTMS <= 0 || s.LatencyMS > 10_000 || s.TTFTMS > 10_000 {
		t.Errorf("the generations' sample: %+v", s)
	}

	// Past the history's length, the activity has scrolled out.
	clk.Advance(time.Minute)
	getRaw(t, ts.URL, "/api/v1/history", &h)
	for i, s := range h.Samples {
		if s.TokensPerSecond != 0 || s.Generations != 0 {
			t.Errorf("sample %d a minute later: %+v", i, s)
		}
	}
}

// TestKVCacheEndpoint: /api/v1/kv lists what a KVCacheReporter backend
// says of its servers' KV caches, and no servers for a backend that says
// nothing (the local one).
func TestKVCacheEndpoint(t *testing.T) {
	local, _, _ := newLocal(t, api.LocalOptions{})
	for _, tc := range []struct {
		name string
		b    api.Backend
		want int
	}{
		{"local backend", local, 0},
		{"swarm backend", &fakeSwarm{inner: local, model: testModelID}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := serve(t, tc.b, api.Options{})
			var kv api.KVCacheResponse
			fields := getRaw(t, ts.URL, "/api/v1/kv", &kv)
			if string(fields["servers"]) == "null" || len(kv.Servers) != tc.want {
				t.Fatalf("servers %s, want %d", fields["servers"], tc.want)
			}
			if tc.want == 0 {
				return
			}
			var raw struct {
				Servers []map[string]json.RawMessage `json:"servers"`
			}
			getRaw(t, ts.URL, "/api/v1/kv", &raw)
			for _, f := range []string{"peer", "self", "model", "start", "end", "sessions", "used_tokens", "budget_tokens", "used_bytes", "budget_bytes"} {
				if _, ok := raw.Servers[0][f]; !ok {
					t.Errorf("a server lacks %q: %v", f, raw.Servers[0])
				}
			}
			self := kv.Servers[0]
			if !self.Self || self.Peer != "12D3KooWSelfNode" || self.Sessions != 1 || self.UsedTokens != 128 || self.BudgetTokens != 4096 || self.BudgetBytes != 32<<20 {
				t.Errorf("this node's cache: %+v", self)
			}
		})
	}
}
