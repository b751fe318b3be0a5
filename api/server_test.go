package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/metrics"
)

func ptr[T any](v T) *T { return &v }

func TestCompletionMatchesEngine(t *testing.T) {
	b, m, tok := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		prompt string
		n      int
	}{
		{"I dream of", 40},
		{"The network", 60},
		{"", 20},
		{"Once upon a time, in a swarm of machines,", 100}, // runs into the context end
	} {
		t.Run(tc.prompt, func(t *testing.T) {
			want := referenceText(t, m, tok, tc.prompt, tc.n)
			req := client.CompletionRequest{Prompt: tc.prompt, Sampling: client.Sampling{MaxTokens: ptr(tc.n), Temperature: ptr(0.0)}}
			got, err := c.Complete(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Choices) != 1 || got.Choices[0].Text != want {
				t.Fatalf("completion %q\nwant (engine) %q", got.Choices[0].Text, want)
			}
			u := got.Usage
			if u == nil || u.PromptTokens != len(tok.Encode(tc.prompt, true, false)) && tc.prompt != "" || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage %+v", u)
			}
			var streamed strings.Builder
			var finish string
			err = c.CompleteStream(ctx, req, func(ch api.Completion) error {
				for _, c := range ch.Choices {
					streamed.WriteString(c.Text)
					if c.FinishReason != nil {
						finish = *c.FinishReason
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if streamed.String() != want {
				t.Fatalf("streamed %q\nwant %q", streamed.String(), want)
			}
			if finish != *got.Choices[0].FinishReason {
				t.Errorf("streamed finish %q, non-streamed %q", finish, *got.Choices[0].FinishReason)
			}
		})
	}
}

func TestStopStrings(t *testing.T) {
	b, m, tok := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	c, _ := client.New(ts.URL)
	ref := referenceText(t, m, tok, "I dream of", 60)
	// Stop strings taken from the middle of the reference text, spanning
	// token boundaries; the output must end right before them.
	for _, stop := range []string{ref[10:16], ref[25:27], ref[len(ref)/2 : len(ref)/2+5]} {
		i := strings.Index(ref, stop)
		want := ref[:i]
		t.Run(stop, func(t *testing.T) {
			req := client.CompletionRequest{Prompt: "I dream of", Sampling: client.Sampling{MaxTokens: ptr(60), Temperature: ptr(0.0), Stop: []string{"never matches", stop}}}
			got, err := c.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Choices[0].Text != want || *got.Choices[0].FinishReason != "stop" {
				t.Fatalf("got %q (%s), want %q (stop)", got.Choices[0].Text, *got.Choices[0].FinishReason, want)
			}
			var chunks []string
			err = c.CompleteStream(context.Background(), req, func(ch api.Completion) error {
				chunks = append(chunks, ch.Choices[0].Text)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(chunks, ""); s != want {
				t.Fatalf("streamed %q, want %q", s, want)
			}
		})
	}
}

type badCase struct {
	name        string
	method      string
	path        string
	contentType string
	body        string
	status      int
	code        string // error.code; "" to not check
}

func TestBadRequests(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{MaxBodyBytes: 64 << 10})
	huge := strings.Repeat("dream of the network ", 2000) // far beyond 128 tokens, within the body cap
	hugeBody, _ := json.Marshal(map[string]any{"prompt": huge, "max_tokens": 4})
	oversized := `{"prompt":"` + strings.Repeat("x", 70<<10) + `"}`
	const json_ = "application/json"
	cases := []badCase{
		{"malformed JSON", "POST", "/v1/completions", json_, `{"prompt": "hi",`, 400, "invalid_json"},
		{"not an object", "POST", "/v1/completions", json_, `[1,2,3]`, 400, "invalid_type"},
		{"empty body", "POST", "/v1/completions", json_, ``, 400, "invalid_json"},
		{"trailing data", "POST", "/v1/completions", json_, `{"prompt":"a"} {}`, 400, "invalid_json"},
		{"wrong field type", "POST", "/v1/completions", json_, `{"prompt":"a","max_tokens":"ten"}`, 400, "invalid_type"},
		{"unknown model", "POST", "/v1/completions", json_, `{"model":"gpt-17","prompt":"a"}`, 404, "model_not_found"},
		{"unknown model chat", "POST", "/v1/chat/completions", json_, `{"model":"gpt-17","messages":[{"role":"user","content":"a"}]}`, 404, "model_not_found"},
		{"negative max_tokens", "POST", "/v1/completions", json_, `{"prompt":"a","max_tokens":-1}`, 400, "invalid_value"},
		{"negative max_completion_tokens", "POST", "/v1/chat/completions", json_, `{"messages":[{"role":"user","content":"a"}],"max_completion_tokens":-5}`, 400, "invalid_value"},
		{"temperature too high", "POST", "/v1/completions", json_, `{"prompt":"a","temperature":7}`, 400, "invalid_value"},
		{"negative temperature", "POST", "/v1/chat/completions", json_, `{"messages":[{"role":"user","content":"a"}],"temperature":-0.5}`, 400, "invalid_value"},
		{"top_p out of range", "POST", "/v1/completions", json_, `{"prompt":"a","top_p":1.5}`, 400, "invalid_value"},
		{"n 0", "POST", "/v1/completions", json_, `{"prompt":"a","n":0}`, 400, "invalid_value"},
		{"top_logprobs without logprobs", "POST", "/v1/chat/completions", json_, `{"messages":[{"role":"user","content":"a"}],"top_logprobs":2}`, 400, "invalid_value"},
		{"logprobs too many", "POST", "/v1/completions", json_, `{"prompt":"a","logprobs":50}`, 400, "invalid_value"},
		{"stop of wrong type", "POST", "/v1/completions", json_, `{"prompt":"a","stop":42}`, 400, "invalid_type"},
		{"too many stops", "POST", "/v1/completions", json_, `{"prompt":"a","stop":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}`, 400, "invalid_value"},
		{"prompt batch too large", "POST", "/v1/completions", json_, `{"prompt":["a","b"],"n":40}`, 400, "invalid_value"},
		{"prompt of wrong type", "POST", "/v1/completions", json_, `{"prompt":{"a":1}}`, 400, "invalid_type"},
		{"token id out of vocabulary", "POST", "/v1/completions", json_, `{"prompt":[1,99999]}`, 400, "invalid_value"},
		{"no messages", "POST", "/v1/chat/completions", json_, `{"messages":[]}`, 400, "invalid_value"},
		{"bad role", "POST", "/v1/chat/completions", json_, `{"messages":[{"role":"wizard","content":"a"}]}`, 400, "invalid_value"},
		{"image content", "POST", "/v1/chat/completions", json_, `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "invalid_type"},
		{"huge prompt", "POST", "/v1/completions", json_, string(hugeBody), 400, "context_length_exceeded"},
		{"huge chat", "POST", "/v1/chat/completions", json_, `{"messages":[{"role":"user","content":"` + huge + `"}]}`, 400, "context_length_exceeded"},
		{"wrong content type", "POST", "/v1/completions", "text/plain", `{"prompt":"a"}`, 415, "unsupported_media_type"},
		{"no content type", "POST", "/v1/completions", "", `{"prompt":"a"}`, 415, "unsupported_media_type"},
		{"text/plain chat", "POST", "/v1/chat/completions", "text/plain", `{"messages":[{"role":"user","content":"a"}]}`, 415, "unsupported_media_type"},
		{"form content type", "POST", "/v1/chat/completions", "application/x-www-form-urlencoded", `a=b`, 415, "unsupported_media_type"},
		{"oversized body", "POST", "/v1/completions", json_, oversized, 413, "request_too_large"},
		{"GET completions", "GET", "/v1/completions", "", ``, 405, "method_not_allowed"},
		{"POST models", "POST", "/v1/models", json_, `{}`, 405, "method_not_allowed"},
		{"unknown path", "GET", "/v1/embeddings", "", ``, 404, "not_found"},
		{"route of unknown model", "GET", "/api/v1/route?model=nope", "", ``, 404, "model_not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, ts.URL, tc)
			// The node keeps serving others.
			resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"I dream","max_tokens":3}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("a good request after a bad one: HTTP %d", resp.StatusCode)
			}
		})
	}
}

func checkError(t *testing.T, base string, tc badCase) {
	t.Helper()
	req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	if tc.contentType != "" {
		req.Header.Set("Content-Type", tc.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != tc.status {
		t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tc.status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var eb struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := eb.Error[k]; !ok {
			t.Errorf("error has no %q: %s", k, body)
		}
	}
	if msg, _ := eb.Error["message"].(string); msg == "" {
		t.Errorf("empty message: %s", body)
	}
	if tc.code != "" && eb.Error["code"] != tc.code {
		t.Errorf("code %v, want %q: %s", eb.Error["code"], tc.code, body)
	}
}

func TestClientDisconnectCancelsGeneration(t *testing.T) {
	metrics := metrics.New()
	local, _, _ := newLocal(t, api.LocalOptions{Metrics: metrics, MaxConcurrent: 1})
	slow := newSlow(local, 20*time.Millisecond)
	ts, _ := serve(t, slow, api.Options{Metrics: metrics})
	c, _ := client.New(ts.URL)

	ctx, cancel := context.WithCancel(context.Background())
	got := 0
	err := c.CompleteStream(ctx, client.CompletionRequest{Prompt: "I dream of", Sampling: client.Sampling{MaxTokens: ptr(100), Temperature: ptr(0.0)}},
		func(api.Completion) error {
			got++
			if got == 3 {
				cancel() // the client goes away mid-stream
			}
			return nil
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stream ended with %v, want context.Canceled", err)
	}
	gerr := waitErr(t, slow.endedCh, 5*time.Second)
	if !errors.Is(gerr, context.Canceled) {
		t.Fatalf("the backend's generation ended with %v, want context.Canceled", gerr)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, _ := local.Status(context.Background())
		snap := metrics.Snapshot()
		if st.Load.Active == 0 && snap.Sessions == 0 && snap.KVCacheBytes == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not released: load %+v, sessions %d, kv %d", st.Load, snap.Sessions, snap.KVCacheBytes)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The only slot is free again: the node keeps serving.
	res, err := c.Complete(context.Background(), client.CompletionRequest{Prompt: "I dream", Sampling: client.Sampling{MaxTokens: ptr(3)}})
	if err != nil || len(res.Choices) != 1 {
		t.Fatalf("after a disconnect: %v", err)
	}
}

func TestBusy(t *testing.T) {
	local, _, _ := newLocal(t, api.LocalOptions{MaxConcurrent: 1, MaxQueue: -1})
	slow := newSlow(local, 30*time.Millisecond)
	ts, _ := serve(t, slow, api.Options{})
	c, _ := client.New(ts.URL)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		once := false
		done <- c.CompleteStream(context.Background(), client.CompletionRequest{Prompt: "I dream", Sampling: client.Sampling{MaxTokens: ptr(20)}},
			func(api.Completion) error {
				if !once {
					once = true
					close(started)
				}
				return nil
			})
	}()
	<-started
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"a","max_tokens":2}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("HTTP %d (Retry-After %q), want 503: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	_, err = c.Complete(context.Background(), client.CompletionRequest{Prompt: "a", Sampling: client.Sampling{MaxTokens: ptr(2)}})
	if !errors.Is(err, api.ErrBusy) {
		t.Fatalf("client error %v, want api.ErrBusy", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestAPIKey(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{APIKey: "s3cret"})
	for _, tc := range []struct {
		name, path, auth string
		want             int
	}{
		{"no key", "/api/v1/status", "", 401},
		{"wrong key", "/api/v1/status", "Bearer nope", 401},
		{"key without Bearer", "/v1/models", "s3cret", 401},
		{"prefix of key", "/v1/models", "Bearer s3cre", 401},
		{"right key", "/api/v1/status", "Bearer s3cret", 200},
		{"right key, models", "/v1/models", "Bearer s3cret", 200},
		{"metrics need the key", "/metrics", "", 401},
		{"dashboard is public", "/", "", 200},
		{"dashboard assets are public", "/assets/app.js", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.URL+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	c, _ := client.New(ts.URL, client.WithAPIKey("s3cret"))
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckListenAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, key string
		ok        bool
	}{
		{"127.0.0.1:7717", "", true},
		{"localhost:7717", "", true},
		{"[::1]:7717", "", true},
		{"127.0.0.2:80", "", true},
		{":7717", "", false},
		{"0.0.0.0:7717", "", false},
		{"192.0.2.1:7717", "", false},
		{"example.com:7717", "", false},
		{"0.0.0.0:7717", "k", true},
		{"nonsense", "k", false},
	} {
		err := api.CheckListenAddr(tc.addr, tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListenAddr(%q, %q) = %v, want ok %v", tc.addr, tc.key, err, tc.ok)
		}
	}
	// A server refuses to start on a public address without a key.
	b, _, _ := newLocal(t, api.LocalOptions{})
	err := api.NewServer(b, api.Options{}).ListenAndServe(context.Background(), "0.0.0.0:0")
	if err == nil || !strings.Contains(err.Error(), "API key") {
		t.Fatalf("ListenAndServe on 0.0.0.0 without a key: %v", err)
	}
}

func TestServeShutsDown(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- api.NewServer(b, api.Options{}).ListenAndServe(ctx, "127.0.0.1:0") }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	metrics := metrics.New()
	b, _, _ := newLocal(t, api.LocalOptions{Metrics: metrics})
	ts, _ := serve(t, b, api.Options{Metrics: metrics})
	c, _ := client.New(ts.URL)
	if _, err := c.Complete(context.Background(), client.CompletionRequest{Prompt: "I dream", Sampling: client.Sampling{MaxTokens: ptr(5), Temperature: ptr(0.0)}}); err != nil {
		t.Fatal(err)
	}
	metrics.AddChunksFetched(3)
	metrics.AddRouteEvents(2, 1)
	metrics.AddRouteEvents(1, 0)
	metrics.AddNetworkBytes(100, 200)
	metrics.ObserveStep(`peer "x"`, 3*time.Millisecond)
	metrics.SetTransfer("fetch", "bafyModel", 10, 40)
	metrics.SetTransfer("fetch", "bafyModel", 25, 40) // the latest value wins
	metrics.SetTransfer("import", "/models/m.gguf", 7, 7)
	text, err := c.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"orbit_tokens_generated_total 5\n",
		"orbit_generations_total 1\n",
		"orbit_chunks_fetched_total 3\n",
		"orbit_failovers_total 3\n",
		"orbit_relayed_steps_total 1\n",
		"orbit_sessions 0\n",
		"orbit_kv_cache_bytes 0\n",
		`orbit_network_bytes_total{direction="out"} 200`,
		`orbit_http_requests_total{code="200",path="/v1/completions"} 1`, // labels in name order
		"go_goroutines ",                                                 // the Go runtime collector
		`orbit_step_latency_seconds_bucket{hop="local",le="+Inf"} 5`,
		`orbit_step_latency_seconds_bucket{hop="peer \"x\"",le="0.005"} 1`,
		`orbit_step_latency_seconds_count{hop="peer \"x\""} 1`,
		"# TYPE orbit_step_latency_seconds histogram",
		"# TYPE orbit_transfer_bytes gauge",
		`orbit_transfer_bytes{kind="fetch",model="bafyModel"} 25` + "\n",
		`orbit_transfer_size_bytes{kind="fetch",model="bafyModel"} 40` + "\n",
		`orbit_transfer_bytes{kind="import",model="/models/m.gguf"} 7` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line is "name{labels} value", of orbit's metrics or
	// the Go runtime's and the process's.
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "orbit_") && !strings.HasPrefix(f[0], "go_") && !strings.HasPrefix(f[0], "process_") {
			t.Errorf("bad sample line %q", line)
		}
	}
}

func TestChatCompletion(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	c, _ := client.New(ts.URL)
	req := client.ChatRequest{Model: testModelID, Messages: []api.ChatMessage{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "I dream of"}},
		Sampling: client.Sampling{MaxTokens: ptr(12), Temperature: ptr(0.0)}}
	got, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || got.Choices[0].Message.Role != "assistant" || got.Usage.CompletionTokens == 0 {
		t.Fatalf("%+v", got)
	}
	var text strings.Builder
	roles := 0
	var usage *api.Usage
	err = c.ChatStream(context.Background(), req, func(ch api.ChatChunk) error {
		if ch.Object != "chat.completion.chunk" {
			return fmt.Errorf("object %q", ch.Object)
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		for _, c := range ch.Choices {
			if c.Delta.Role != "" {
				roles++
			}
			text.WriteString(c.Delta.Content)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != got.Choices[0].Message.Content || roles != 1 {
		t.Fatalf("streamed %q (%d role deltas), non-streamed %q", text.String(), roles, got.Choices[0].Message.Content)
	}
	if usage == nil || *usage != *got.Usage {
		t.Fatalf("stream usage %+v, want %+v", usage, got.Usage)
	}
}

func TestMaxTokensZeroAndTokenPrompt(t *testing.T) {
	b, m, tok := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	body := func(s string) *bytes.Reader { return bytes.NewReader([]byte(s)) }
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", body(`{"prompt":"a","max_tokens":0}`))
	if err != nil {
		t.Fatal(err)
	}
	var c api.Completion
	json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if c.Choices[0].Text != "" || *c.Choices[0].FinishReason != "length" || c.Usage.CompletionTokens != 0 {
		t.Fatalf("max_tokens 0: %+v", c)
	}
	ids := tok.Encode("I dream of", true, false)
	idsJSON, _ := json.Marshal(map[string]any{"prompt": ids, "max_tokens": 15, "temperature": 0})
	resp, err = http.Post(ts.URL+"/v1/completions", "application/json", bytes.NewReader(idsJSON))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if want := referenceText(t, m, tok, "I dream of", 15); c.Choices[0].Text != want {
		t.Fatalf("token prompt: %q, want %q", c.Choices[0].Text, want)
	}
}
