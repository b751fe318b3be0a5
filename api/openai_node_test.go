package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
)

// TestOpenAINodeClient drives the server with the official openai npm
// client. It is written against api.Backend: the swarm's backend can be
// swapped in for the local one.
func TestOpenAINodeClient(t *testing.T) {
	node := needNode(t)
	local, m, tok := newLocal(t, api.LocalOptions{})
	runOpenAINodeClient(t, node, local, func(prompt string, n int) string { return referenceText(t, m, tok, prompt, n) })
}

func runOpenAINodeClient(t *testing.T, node string, b api.Backend, reference func(string, int) string) {
	const prompt, n = "I dream of", 40
	ts, _ := serve(t, b, api.Options{APIKey: "node-test-key"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/openai_client.mjs", ts.URL+"/v1", testModelID, "node-test-key", prompt, "40")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res struct {
		ChatStream struct {
			Text, Role   string
			Chunks       int
			FinishReason string    `json:"finish_reason"`
			Usage        api.Usage `json:"usage"`
		} `json:"chat_stream"`
		Chat struct {
			Text         string
			FinishReason string    `json:"finish_reason"`
			Usage        api.Usage `json:"usage"`
		} `json:"chat"`
		Completion struct {
			Text         string
			FinishReason string    `json:"finish_reason"`
			Usage        api.Usage `json:"usage"`
		}
		Echo struct {
			Text     string
			Logprobs api.CompletionLogprobs
			Usage    api.Usage
		}
		ChatLogprobs []struct {
			Index    int
			Text     string
			Logprobs api.ChatLogprobs
		} `json:"chat_logprobs"`
		Models       []string
		UnknownModel struct {
			Status  int
			Message string
		} `json:"unknown_model"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("openai client: %s", out)
	if want := reference(prompt, n); res.Completion.Text != want {
		t.Errorf("completion %q\nwant (orbit generate) %q", res.Completion.Text, want)
	}
	if u := res.Completion.Usage; u.CompletionTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("completion usage %+v", u)
	}
	cs := res.ChatStream
	if cs.Chunks < 3 || cs.Role != "assistant" || cs.FinishReason == "" || cs.Text == "" {
		t.Errorf("chat stream %+v", cs)
	}
	if cs.Text != res.Chat.Text || cs.Usage != res.Chat.Usage || cs.FinishReason != res.Chat.FinishReason {
		t.Errorf("streamed chat %+v differs from non-streamed %+v", cs, res.Chat)
	}
	if len(res.Models) != 1 || res.Models[0] != testModelID {
		t.Errorf("models %v", res.Models)
	}
	if res.UnknownModel.Status != 404 {
		t.Errorf("unknown model: %+v", res.UnknownModel)
	}
	// The log-probabilities the client read are the server's (whose
	// values TestEchoLogprobs checks against the engine).
	var direct api.Completion
	postJSONKey(t, ts.URL, "node-test-key", "/v1/completions", map[string]any{"model": testModelID, "prompt": prompt, "echo": true, "logprobs": 1, "max_tokens": 0, "temperature": 0}, &direct)
	e := res.Echo
	if e.Text != prompt || e.Usage.PromptTokens != len(e.Logprobs.TokenLogprobs) || e.Logprobs.TokenLogprobs[0] != nil || e.Usage.CompletionTokens != 0 {
		t.Errorf("echo: %+v", e)
	}
	if got, want := e.Logprobs, *direct.Choices[0].Logprobs; len(got.TokenLogprobs) != len(want.TokenLogprobs) {
		t.Errorf("echo logprobs %+v, want %+v", got, want)
	} else {
		for i := 1; i < len(want.TokenLogprobs); i++ {
			if *got.TokenLogprobs[i] != *want.TokenLogprobs[i] || got.Tokens[i] != want.Tokens[i] || got.TextOffset[i] != want.TextOffset[i] {
				t.Errorf("echo token %d: %q %v @%d, want %q %v @%d", i, got.Tokens[i], *got.TokenLogprobs[i], got.TextOffset[i], want.Tokens[i], *want.TokenLogprobs[i], want.TextOffset[i])
			}
		}
	}
	if len(res.ChatLogprobs) != 2 || res.ChatLogprobs[1].Index != 1 || res.ChatLogprobs[0].Text != res.ChatLogprobs[1].Text {
		t.Errorf("chat with n=2 at temperature 0: %+v", res.ChatLogprobs)
	}
	for _, c := range res.ChatLogprobs {
		var text string
		for _, tl := range c.Logprobs.Content {
			text += tl.Token
			if len(tl.TopLogprobs) != 2 || tl.TopLogprobs[0].Token != tl.Token {
				t.Errorf("chat token %+v", tl)
			}
		}
		if text != c.Text || len(c.Logprobs.Content) == 0 {
			t.Errorf("chat choice %d: tokens %q, text %q", c.Index, text, c.Text)
		}
	}
}
