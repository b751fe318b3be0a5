package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/engine"
)

// postJSON posts body to base+path and decodes a 200 answer into out.
func postJSON(t *testing.T, base, path string, body any, out any) {
	t.Helper()
	postJSONKey(t, base, "", path, body, out)
}

// postJSONKey is postJSON with an API key.
func postJSONKey(t *testing.T, base, key, path string, body any, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: HTTP %d: %s", path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
}

// engineLogprobs scores ids with the engine directly: the log-probability
// of each token after the first given the ones before, from the head's
// logits over every position, with a plain float64 log-sum-exp.
func engineLogprobs(t *testing.T, m *engine.Model, ids []int32) (lps []float64, next []float64) {
	t.Helper()
	sess, err := m.NewSession(len(ids))
	if err != nil {
		t.Fatal(err)
	}
	dim, vocab := m.Config.Dim, m.Config.VocabSize
	x := make([]float32, len(ids)*dim)
	if err := m.Embed(ids, x); err != nil {
		t.Fatal(err)
	}
	rows := make([]engine.Row, len(ids))
	for i := range rows {
		rows[i] = engine.Row{Session: sess, Pos: i}
	}
	if err := m.Forward(context.Background(), x, rows); err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, len(ids)*vocab)
	if err := m.Head(x, len(ids), logits); err != nil {
		t.Fatal(err)
	}
	logSoftmax := func(l []float32) []float64 {
		mx := math.Inf(-1)
		for _, v := range l {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for _, v := range l {
			sum += math.Exp(float64(v) - mx)
		}
		out := make([]float64, len(l))
		for i, v := range l {
			out[i] = float64(v) - mx - math.Log(sum)
		}
		return out
	}
	for i := 1; i < len(ids); i++ {
		lps = append(lps, logSoftmax(logits[(i-1)*vocab : i*vocab])[ids[i]])
	}
	return lps, logSoftmax(logits[(len(ids)-1)*vocab:])
}

// TestEchoLogprobs is lm-evaluation-harness's log-likelihood request
// (local-completions): token-id prompts in a batch, echo, logprobs 1,
// max_tokens 0 or 1, temperature 0. Every prompt token after the first
// gets the log-probability the engine's logits give it; the first gets
// null; the top alternative is the greedy token.
func TestEchoLogprobs(t *testing.T) {
	b, m, tok := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	p1 := tok.Encode("I dream of the sea and the stars", true, false)
	p2 := tok.Encode("Once upon a time", true, false)
	for _, maxTokens := range []int{0, 1} {
		var res api.Completion
		postJSON(t, ts.URL, "/v1/completions", map[string]any{
			"model": testModelID, "prompt": [][]int32{p1, p2}, "echo": true, "logprobs": 1, "max_tokens": maxTokens, "temperature": 0,
		}, &res)
		if len(res.Choices) != 2 {
			t.Fatalf("%d choices, want 2", len(res.Choices))
		}
		for ci, ids := range [][]int32{p1, p2} {
			c := res.Choices[ci]
			lp := c.Logprobs
			if c.Index != ci || lp == nil || len(lp.Tokens) != len(ids)+maxTokens || len(lp.TokenLogprobs) != len(lp.Tokens) || len(lp.TopLogprobs) != len(lp.Tokens) || len(lp.TextOffset) != len(lp.Tokens) {
				t.Fatalf("choice %d: %+v", ci, c)
			}
			if lp.TokenLogprobs[0] != nil || lp.TopLogprobs[0] != nil {
				t.Errorf("choice %d: the first token has a log-probability", ci)
			}
			want, next := engineLogprobs(t, m, ids)
			var sum float64
			for i := 1; i < len(ids); i++ {
				got := lp.TokenLogprobs[i]
				if got == nil || math.Abs(*got-want[i-1]) > 1e-9 {
					t.Fatalf("choice %d token %d: logprob %v, the engine's %v", ci, i, got, want[i-1])
				}
				sum += *got
				if len(lp.TopLogprobs[i]) != 1 {
					t.Fatalf("choice %d token %d: top %v, want one", ci, i, lp.TopLogprobs[i])
				}
				if lp.Tokens[i] != string(tok.TokenPiece(ids[i])) {
					t.Errorf("choice %d token %d: %q, want %q", ci, i, lp.Tokens[i], tok.TokenPiece(ids[i]))
				}
			}
			if sum >= 0 || math.IsNaN(sum) {
				t.Errorf("choice %d: sum of logprobs %v", ci, sum)
			}
			// The echoed text is the prompt's, and the offsets point into it.
			if want := tok.Decode(ids); !strings.HasPrefix(c.Text, want) {
				t.Errorf("choice %d: text %q does not start with the prompt %q", ci, c.Text, want)
			}
			for i := 1; i < len(ids); i++ {
				want := lp.Tokens[i]
				if i == 1 {
					want = strings.TrimPrefix(want, " ") // no leading space right after BOS
				}
				if o := lp.TextOffset[i]; o < lp.TextOffset[i-1] || !strings.HasPrefix(c.Text[o:], want) {
					t.Errorf("choice %d token %d: offset %d does not point at %q in %q", ci, i, o, lp.Tokens[i], c.Text)
				}
			}
			if maxTokens == 1 {
				// The generated token is greedy: the top of its position.
				g := len(ids)
				best, bestLP := int32(0), math.Inf(-1)
				for id, v := range next {
					if v > bestLP {
						best, bestLP = int32(id), v
					}
				}
				if got := lp.TokenLogprobs[g]; got == nil || math.Abs(*got-bestLP) > 1e-9 || lp.Tokens[g] != string(tok.TokenPiece(best)) {
					t.Errorf("choice %d: generated %q %v, the greedy %q %v", ci, lp.Tokens[g], got, tok.TokenPiece(best), bestLP)
				}
				if v, ok := lp.TopLogprobs[g][lp.Tokens[g]]; !ok || v != *lp.TokenLogprobs[g] {
					t.Errorf("choice %d: the generated token is not its position's top: %v", ci, lp.TopLogprobs[g])
				}
				if lp.TextOffset[g] != len(tok.Decode(ids)) {
					t.Errorf("choice %d: generated offset %d, want %d", ci, lp.TextOffset[g], len(tok.Decode(ids)))
				}
			}
		}
		if res.Usage.PromptTokens != len(p1)+len(p2) || res.Usage.CompletionTokens != 2*maxTokens {
			t.Errorf("usage %+v", res.Usage)
		}
	}
}

// TestChatLogprobs: logprobs and top_logprobs on chat, streamed and not;
// at temperature 0 each token is the first of its top_logprobs, which come
// sorted, and the streamed log-probabilities equal the others.
func TestChatLogprobs(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	req := map[string]any{"messages": []map[string]string{{"role": "user", "content": "I dream of"}}, "max_tokens": 12, "temperature": 0, "logprobs": true, "top_logprobs": 3}
	var res api.ChatCompletion
	postJSON(t, ts.URL, "/v1/chat/completions", req, &res)
	lp := res.Choices[0].Logprobs
	if lp == nil || len(lp.Content) != res.Usage.CompletionTokens || len(lp.Content) == 0 {
		t.Fatalf("logprobs %+v for %d tokens", lp, res.Usage.CompletionTokens)
	}
	var text strings.Builder
	for i, c := range lp.Content {
		if len(c.TopLogprobs) != 3 || c.TopLogprobs[0].Token != c.Token || c.TopLogprobs[0].Logprob != c.Logprob || c.Logprob > 0 {
			t.Fatalf("token %d: %+v", i, c)
		}
		if !(c.TopLogprobs[0].Logprob >= c.TopLogprobs[1].Logprob && c.TopLogprobs[1].Logprob >= c.TopLogprobs[2].Logprob) {
			t.Errorf("token %d: top_logprobs not sorted: %+v", i, c.TopLogprobs)
		}
		if string(bytesOf(c.Bytes)) != c.Token {
			t.Errorf("token %d: bytes %v for %q", i, c.Bytes, c.Token)
		}
		text.WriteString(c.Token)
	}
	if text.String() != res.Choices[0].Message.Content {
		t.Errorf("tokens %q, content %q", text.String(), res.Choices[0].Message.Content)
	}
	// Streamed: the same log-probabilities, chunk by chunk.
	req["stream"] = true
	body, _ := json.Marshal(req)
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var streamed []api.ChatTokenLogprob
	err = client.ReadEvents(resp.Body, func(data []byte) error {
		var ch api.ChatChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return err
		}
		for _, c := range ch.Choices {
			if c.Logprobs != nil {
				streamed = append(streamed, c.Logprobs.Content...)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(streamed) != len(lp.Content) {
		t.Fatalf("streamed %d log-probabilities, want %d", len(streamed), len(lp.Content))
	}
	for i := range streamed {
		if streamed[i].Token != lp.Content[i].Token || streamed[i].Logprob != lp.Content[i].Logprob {
			t.Errorf("streamed token %d: %+v, want %+v", i, streamed[i], lp.Content[i])
		}
	}
}

func bytesOf(b []int) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = byte(v)
	}
	return out
}

// TestNChoices: n choices, each indexed, the first equal to the request
// with n=1 (same seed), sampled ones differing, and streamed choices equal
// to the others.
func TestNChoices(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	one := map[string]any{"prompt": "I dream of", "max_tokens": 16, "temperature": 1, "seed": 7}
	var single api.Completion
	postJSON(t, ts.URL, "/v1/completions", one, &single)
	three := map[string]any{"prompt": "I dream of", "max_tokens": 16, "temperature": 1, "seed": 7, "n": 3}
	var res api.Completion
	postJSON(t, ts.URL, "/v1/completions", three, &res)
	if len(res.Choices) != 3 || res.Choices[0].Text != single.Choices[0].Text {
		t.Fatalf("choices %+v; the single choice %q", res.Choices, single.Choices[0].Text)
	}
	seen := map[string]bool{}
	for i, c := range res.Choices {
		if c.Index != i || c.FinishReason == nil {
			t.Errorf("choice %d: %+v", i, c)
		}
		seen[c.Text] = true
	}
	if len(seen) < 2 {
		t.Errorf("3 sampled choices are all %q", res.Choices[0].Text)
	}
	if res.Usage.PromptTokens != single.Usage.PromptTokens || res.Usage.CompletionTokens != 48 {
		t.Errorf("usage %+v (one choice %+v)", res.Usage, single.Usage)
	}
	c, _ := client.New(ts.URL)
	texts := map[int]string{}
	err := c.CompleteStream(context.Background(), client.CompletionRequest{Prompt: "I dream of", Sampling: client.Sampling{MaxTokens: ptr(16), Temperature: ptr(1.0), Seed: ptr(int64(7)), N: ptr(3)}},
		func(ch api.Completion) error {
			for _, c := range ch.Choices {
				texts[c.Index] += c.Text
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for i, ch := range res.Choices {
		if texts[i] != ch.Text {
			t.Errorf("streamed choice %d %q, want %q", i, texts[i], ch.Text)
		}
	}
	// Chat: n choices too.
	var chat api.ChatCompletion
	postJSON(t, ts.URL, "/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi"}}, "max_tokens": 8, "n": 2, "seed": 3}, &chat)
	if len(chat.Choices) != 2 || chat.Choices[1].Index != 1 || chat.Choices[1].Message.Role != "assistant" {
		t.Fatalf("chat choices %+v", chat.Choices)
	}
}

// TestSwarmLogprobs: prompt scoring and logprobs through a swarm entry
// node: the last hop's output rows of the prompt go through the entry's
// head. Hidden states cross hops as f16, so the values are the engine's
// within a small tolerance.
func TestSwarmLogprobs(t *testing.T) {
	m, tok := loadModel(t)
	p := startSwarmPair(t)
	ts, _ := serve(t, p.backend, api.Options{Metrics: p.metrics})
	ids := tok.Encode("I dream of the sea and the stars", true, false)
	want, _ := engineLogprobs(t, m, ids)
	var res api.Completion
	postJSON(t, ts.URL, "/v1/completions", map[string]any{
		"model": p.root.String(), "prompt": ids, "echo": true, "logprobs": 2, "max_tokens": 3, "temperature": 0,
	}, &res)
	lp := res.Choices[0].Logprobs
	if lp == nil || len(lp.TokenLogprobs) != len(ids)+3 || lp.TokenLogprobs[0] != nil {
		t.Fatalf("logprobs %+v", lp)
	}
	for i := 1; i < len(ids); i++ {
		if got := lp.TokenLogprobs[i]; got == nil || math.Abs(*got-want[i-1]) > 0.02 {
			t.Errorf("token %d: %v, the engine's %v", i, got, want[i-1])
		}
	}
	for i := len(ids); i < len(lp.Tokens); i++ {
		if v, ok := lp.TopLogprobs[i][lp.Tokens[i]]; !ok || v != *lp.TokenLogprobs[i] || len(lp.TopLogprobs[i]) != 2 {
			t.Errorf("generated token %d %q is not the top of %v", i, lp.Tokens[i], lp.TopLogprobs[i])
		}
	}
}
