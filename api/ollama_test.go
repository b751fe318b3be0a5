package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
)

// TestOllamaNodeClient drives the ollama API with the official ollama npm
// client: listing and showing the model, raw generation equal to the
// engine's greedy text (whole and streamed as NDJSON), chat whole and
// streamed, and an unknown model's error.
func TestOllamaNodeClient(t *testing.T) {
	node := needNode(t)
	local, m, tok := newLocal(t, api.LocalOptions{})
	const prompt, n = "I dream of", 24
	want := referenceText(t, m, tok, prompt, n)
	ts, _ := serve(t, local, api.Options{APIKey: "ollama-key"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/ollama_client.mjs", ts.URL, testModelID, "ollama-key", prompt, "24")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	t.Logf("ollama client: %s", out)
	type gen struct {
		Text            string
		Parts           int
		Role            string
		Done            bool
		DoneReason      string `json:"done_reason"`
		EvalCount       int    `json:"eval_count"`
		PromptEvalCount int    `json:"prompt_eval_count"`
	}
	var res struct {
		Tags []string
		Show struct {
			Family, Format string
			ContextLength  int `json:"context_length"`
		}
		Generate       gen
		GenerateStream gen `json:"generate_stream"`
		Chat           gen
		ChatStream     gen `json:"chat_stream"`
		UnknownModel   struct {
			Status int
			Error  string
		} `json:"unknown_model"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Tags) != 1 || res.Tags[0] != "aidreams 260K" {
		t.Errorf("tags %v", res.Tags)
	}
	if res.Show.Format != "gguf" || res.Show.ContextLength != m.Config.Context {
		t.Errorf("show %+v", res.Show)
	}
	g := res.Generate
	if g.Text != want || !g.Done || g.DoneReason != "length" || g.EvalCount != n || g.PromptEvalCount != len(tok.Encode(prompt, true, false)) {
		t.Errorf("generate %+v, want text %q", g, want)
	}
	gs := res.GenerateStream
	if gs.Text != want || gs.Parts < 3 || !gs.Done || gs.EvalCount != n {
		t.Errorf("streamed generate %+v, want text %q", gs, want)
	}
	if c := res.Chat; c.Text == "" || c.Role != "assistant" || !c.Done || c.EvalCount == 0 {
		t.Errorf("chat %+v", c)
	}
	if cs := res.ChatStream; cs.Text != res.Chat.Text || cs.Parts < 2 || !cs.Done || cs.EvalCount != res.Chat.EvalCount {
		t.Errorf("streamed chat %+v, whole %+v", cs, res.Chat)
	}
	if u := res.UnknownModel; u.Status != 404 || !strings.Contains(u.Error, "no-such-model") {
		t.Errorf("unknown model: %+v", u)
	}
}

// TestOllamaErrors: the ollama endpoints answer errors in ollama's shape.
func TestOllamaErrors(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	for _, tc := range []struct {
		path, body string
		status     int
		msg        string
	}{
		{"/api/generate", `{"model":"nope","prompt":"a"}`, 404, "nope"},
		{"/api/generate", `{"prompt":"a","images":["aGk="]}`, 400, "images"},
		{"/api/generate", `{"prompt":"a","options":{"temperature":9}}`, 400, "temperature"},
		{"/api/chat", `{"messages":[]}`, 400, "messages"},
		{"/api/chat", `{"messages":[{"role":"wizard","content":"a"}]}`, 400, "wizard"},
		{"/api/show", `{"model":"nope"}`, 404, "nope"},
		{"/api/generate", `{"prompt":`, 400, "JSON"},
	} {
		status, body := postRaw(t, ts.URL+tc.path, tc.body)
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || status != tc.status || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s %s: HTTP %d %s, want %d with %q", tc.path, tc.body, status, body, tc.status, tc.msg)
		}
	}
	// Streaming is the default: NDJSON lines, the last done.
	status, body := postRaw(t, ts.URL+"/api/generate", `{"prompt":"I dream","raw":true,"options":{"num_predict":5}}`)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	var last api.OllamaResponse
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); status != 200 || err != nil || !last.Done || last.EvalCount != 5 || len(lines) < 2 {
		t.Errorf("default stream: HTTP %d, %d lines, last %+v %v", status, len(lines), last, err)
	}
}

// postRaw posts a JSON body and returns the status and the body.
func postRaw(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
