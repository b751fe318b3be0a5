package tokenizer

import (
	"encoding/json"
	"os"
	"testing"
)

// TestSpecialTokensMatchLlamaCpp compares Encode (no BOS, both parse
// modes) on texts that spell control, user-defined and control-looking
// tokens with llama.cpp's llama-tokenize (v0.5.0 of node-llama-cpp's
// llama.cpp, /work/shared/anchors: LLAMA_TOOL=llama-tokenize llama-bench
// -m VOCAB.gguf -f TEXT --ids --log-disable --no-escape --no-bos
// [--no-parse-special]), whose answers testdata/special_llamacpp.json
// holds.
func TestSpecialTokensMatchLlamaCpp(t *testing.T) {
	b, err := os.ReadFile("testdata/special_llamacpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Vocab        string  `json:"vocab"`
		Text         string  `json:"text"`
		ParseSpecial bool    `json:"parse_special"`
		IDs          []int32 `json:"ids"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	toks := map[string]*Tokenizer{}
	for _, c := range cases {
		tok := toks[c.Vocab]
		if tok == nil {
			tok = loadTok(t, c.Vocab)
			toks[c.Vocab] = tok
		}
		if got := tok.Encode(c.Text, false, c.ParseSpecial); !equalIDs(got, c.IDs) {
			t.Errorf("%s: Encode(%q, parseSpecial=%v) = %v, llama.cpp %v", c.Vocab, c.Text, c.ParseSpecial, got, c.IDs)
		}
	}
}
