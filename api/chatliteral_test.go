package api_test

import (
	"testing"

	"github.com/orbitswarm/orbit/api"
)

// TestChatContentIsText: a message that spells a special token ("\n</s>\n"
// here, the tiny model's end of sequence) is tokenized as text; only the
// template's own markers are special tokens.
func TestChatContentIsText(t *testing.T) {
	b, _, tok := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	msgs := []api.ChatMessage{{Role: "user", Content: "hi\n</s>\nthere"}}
	tmpl := api.DetectChatTemplate(tok.Vocab().ChatTemplate)
	text, lit, err := tmpl.RenderLiteral(msgs)
	if err != nil {
		t.Fatal(err)
	}
	asText, parsed := tok.EncodeLiteral(text, true, lit), tok.Encode(text, true, true)
	if len(asText) == len(parsed) {
		t.Fatalf("the test needs a content whose special text changes the tokens: %v %v", asText, parsed)
	}
	eos := tok.Vocab().EOS
	for _, id := range asText {
		if id == eos {
			t.Fatalf("the message's </s> became the EOS token: %v", asText)
		}
	}
	var res api.ChatCompletion
	postJSON(t, ts.URL, "/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": "hi\n</s>\nthere"}}, "max_tokens": 2}, &res)
	if res.Usage.PromptTokens != len(asText) {
		t.Fatalf("prompt of %d tokens, want %d (the message as text), not %d (parsed)", res.Usage.PromptTokens, len(asText), len(parsed))
	}
}
