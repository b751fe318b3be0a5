package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/sharding"
)

// TestSwarmErrors drives the HTTP API of a swarm's entry node (the node
// backend, not the local engine): while blocks [2,4) have no server the
// swarm cannot serve and requests get OpenAI-style 503s with the code
// coverage_gap that name the missing blocks, without Retry-After (no
// server is joining);
// once the server joins, bad requests get OpenAI-style errors while a
// streamed generation runs alongside and finishes with the engine's text,
// and a good request after each bad one is served.
func TestSwarmErrors(t *testing.T) {
	m, tok := loadModel(t)
	const prompt, n = "I dream of", 24
	want := referenceText(t, m, tok, prompt, n)
	p := startSwarmEntry(t)
	model := p.root.String()
	slow := newSlow(p.backend, 15*time.Millisecond)
	ts, _ := serve(t, slow, api.Options{MaxBodyBytes: 64 << 10, Metrics: p.metrics})

	// The swarm lacks blocks [2,4).
	const json_ = "application/json"
	good := `{"model":"` + model + `","prompt":"` + prompt + `","max_tokens":24,"temperature":0}`
	for _, tc := range []badCase{
		{"completion with a gap", "POST", "/v1/completions", json_, good, 503, "coverage_gap"},
		{"streamed completion with a gap", "POST", "/v1/completions", json_, `{"model":"` + model + `","prompt":"a","stream":true}`, 503, "coverage_gap"},
		{"streamed chat with a gap", "POST", "/v1/chat/completions", json_, `{"model":"` + model + `","messages":[{"role":"user","content":"a"}],"stream":true}`, 503, "coverage_gap"},
		{"route with a gap", "GET", "/api/v1/route?model=" + model, "", ``, 503, "coverage_gap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, ts.URL, tc)
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", json_)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var eb api.ErrorBody
			err = json.NewDecoder(resp.Body).Decode(&eb)
			resp.Body.Close()
			if err != nil || !strings.Contains(eb.Error.Message, "blocks [2,4)") {
				t.Errorf("the message does not name the missing blocks [2,4): %+v %v", eb, err)
			}
			if ra := resp.Header.Get("Retry-After"); ra != "" {
				t.Errorf("a coverage gap with no server joining has Retry-After: %s", ra)
			}
		})
	}
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	req := client.CompletionRequest{Model: model, Prompt: prompt, Sampling: client.Sampling{MaxTokens: ptr(n), Temperature: ptr(0.0)}}
	if _, err := c.Complete(context.Background(), req); !errors.Is(err, api.ErrCoverageGap) || errors.Is(err, api.ErrBusy) {
		t.Fatalf("client error with a gap: %v, want api.ErrCoverageGap", err)
	}
	var gap *api.CoverageGapError
	if _, err := p.backend.Route(context.Background(), model); !errors.As(err, &gap) || len(gap.Missing) != 1 || gap.Missing[0] != (sharding.Span{Start: 2, End: 4}) || gap.Joining {
		t.Fatalf("backend route with a gap: %v (%+v), want a CoverageGapError of blocks [2,4)", err, gap)
	}

	p.addServer(t)

	// A streamed generation runs while the bad requests come.
	type streamed struct {
		text string
		err  error
	}
	started, done := make(chan struct{}), make(chan streamed, 1)
	go func() {
		var b strings.Builder
		err := c.CompleteStream(context.Background(), req, func(ch api.Completion) error {
			if b.Len() == 0 {
				close(started)
			}
			b.WriteString(ch.Choices[0].Text)
			return nil
		})
		done <- streamed{b.String(), err}
	}()
	select {
	case <-started:
	case r := <-done:
		t.Fatalf("the stream ended before its first token: %v", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("no first token")
	}
	huge := strings.Repeat("dream of the network ", 2000)
	hugeBody, _ := json.Marshal(map[string]any{"model": model, "prompt": huge, "max_tokens": 4})
	hugeChat, _ := json.Marshal(map[string]any{"model": model, "messages": []map[string]string{{"role": "user", "content": huge}}})
	for _, tc := range []badCase{
		{"malformed JSON", "POST", "/v1/completions", json_, `{"model":"` + model + `","prompt": "hi",`, 400, "invalid_json"},
		{"malformed chat JSON", "POST", "/v1/chat/completions", json_, `{"messages":[{"role":"user","content":"a"}`, 400, "invalid_json"},
		{"unknown model", "POST", "/v1/completions", json_, `{"model":"gpt-17","prompt":"a"}`, 404, "model_not_found"},
		{"unknown model chat", "POST", "/v1/chat/completions", json_, `{"model":"gpt-17","messages":[{"role":"user","content":"a"}]}`, 404, "model_not_found"},
		{"unknown model route", "GET", "/api/v1/route?model=gpt-17", "", ``, 404, "model_not_found"},
		{"negative max_tokens", "POST", "/v1/completions", json_, `{"model":"` + model + `","prompt":"a","max_tokens":-1}`, 400, "invalid_value"},
		{"negative max_tokens chat", "POST", "/v1/chat/completions", json_, `{"model":"` + model + `","messages":[{"role":"user","content":"a"}],"max_tokens":-3}`, 400, "invalid_value"},
		{"huge prompt", "POST", "/v1/completions", json_, string(hugeBody), 400, "context_length_exceeded"},
		{"huge chat", "POST", "/v1/chat/completions", json_, string(hugeChat), 400, "context_length_exceeded"},
		{"oversized body", "POST", "/v1/completions", json_, `{"prompt":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "request_too_large"},
		{"token id out of vocabulary", "POST", "/v1/completions", json_, `{"model":"` + model + `","prompt":[1,99999]}`, 400, "invalid_value"},
		{"wrong content type", "POST", "/v1/completions", "text/plain", good, 415, "unsupported_media_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, ts.URL, tc)
		})
	}
	// The model is named by its root CID, by its name (general.name) or
	// by an unambiguous prefix of the CID, everywhere.
	for _, name := range []string{model, "aidreams260K", model[:12]} {
		got, err := c.Complete(context.Background(), client.CompletionRequest{Model: name, Prompt: prompt, Sampling: client.Sampling{MaxTokens: ptr(n), Temperature: ptr(0.0)}})
		if err != nil || got.Choices[0].Text != want || got.Model != model {
			t.Errorf("completion of model %q: %+v, %v", name, got, err)
		}
		chat, err := c.Chat(context.Background(), client.ChatRequest{Model: name, Messages: []api.ChatMessage{{Role: "user", Content: "hi"}}, Sampling: client.Sampling{MaxTokens: ptr(3)}})
		if err != nil || chat.Model != model {
			t.Errorf("chat of model %q: %+v, %v", name, chat, err)
		}
		resp, err := http.Get(ts.URL + "/api/v1/route?model=" + name)
		if err != nil {
			t.Fatal(err)
		}
		var rr api.RouteResponse
		err = json.NewDecoder(resp.Body).Decode(&rr)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || rr.Model != model || len(rr.Hops) == 0 {
			t.Errorf("route of model %q: HTTP %d %+v %v", name, resp.StatusCode, rr, err)
		}
	}
	r := <-done
	if r.err != nil || r.text != want {
		t.Fatalf("the generation that ran alongside: %q, %v\nwant %q", r.text, r.err, want)
	}
	// The node keeps serving: the same request now succeeds, with the
	// single-process text.
	got, err := c.Complete(context.Background(), req)
	if err != nil || got.Choices[0].Text != want {
		t.Fatalf("after the bad requests: %+v, %v\nwant %q", got, err, want)
	}
}

// TestSwarmClientDisconnect: a client that goes away mid-stream cancels
// the generation through the swarm; the entry's and the server's sessions
// (and their KV cache) are released, and the node serves the next request.
func TestSwarmClientDisconnect(t *testing.T) {
	m, tok := loadModel(t)
	p := startSwarmPair(t)
	model := p.root.String()
	slow := newSlow(p.backend, 20*time.Millisecond)
	ts, _ := serve(t, slow, api.Options{Metrics: p.metrics})
	c, _ := client.New(ts.URL)

	ctx, cancel := context.WithCancel(context.Background())
	got, sawSessions := 0, false
	err := c.CompleteStream(ctx, client.CompletionRequest{Model: model, Prompt: "I dream of", Sampling: client.Sampling{MaxTokens: ptr(100), Temperature: ptr(0.0)}},
		func(api.Completion) error {
			got++
			if got == 3 {
				sawSessions = p.metrics.Snapshot().Sessions > 0 && p.serverMetrics.Snapshot().Sessions > 0
				cancel() // the client goes away mid-stream
			}
			return nil
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stream ended with %v, want context.Canceled", err)
	}
	if !sawSessions {
		t.Errorf("mid-stream, the nodes held no sessions: entry %+v, server %+v", p.metrics.Snapshot(), p.serverMetrics.Snapshot())
	}
	if gerr := waitErr(t, slow.endedCh, 10*time.Second); !errors.Is(gerr, context.Canceled) {
		t.Fatalf("the swarm generation ended with %v, want context.Canceled", gerr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, s := p.metrics.Snapshot(), p.serverMetrics.Snapshot()
		st, _ := p.backend.Status(context.Background())
		if e.Sessions == 0 && e.KVCacheBytes == 0 && s.Sessions == 0 && s.KVCacheBytes == 0 && st.Load.Active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not released: entry %+v, server %+v, load %+v", e, s, st.Load)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := c.Complete(context.Background(), client.CompletionRequest{Model: model, Prompt: "I dream of", Sampling: client.Sampling{MaxTokens: ptr(12), Temperature: ptr(0.0)}})
	if want := referenceText(t, m, tok, "I dream of", 12); err != nil || res.Choices[0].Text != want {
		t.Fatalf("after a disconnect: %+v, %v, want %q", res, err, want)
	}
}
