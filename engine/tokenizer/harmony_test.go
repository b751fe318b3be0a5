package tokenizer

import (
	"slices"
	"testing"
)

// TestHarmonyTokens: a vocabulary with gpt-oss's control tokens renders
// <|start|>, <|channel|>, <|message|>, <|constrain|> and <|end|> as text
// and ends generation at <|return|> and <|call|>, not at <|end|>, as
// llama.cpp loads it (its "quick hack for gpt-oss"); without <|return|>
// and <|call|>, <|end|> stays a control token that ends generation.
func TestHarmonyTokens(t *testing.T) {
	harmony := []string{"<|return|>", "<|constrain|>", "<|channel|>", "<|start|>", "<|end|>", "<|message|>", "<|call|>"}
	load := func(extra []string) *Tokenizer {
		v := *loadTok(t, "llama-bpe").Vocab()
		v.Tokens = append(slices.Clone(v.Tokens), extra...)
		v.Types = slices.Clone(v.Types)
		for len(v.Types) < len(v.Tokens)-len(extra) {
			v.Types = append(v.Types, TokenNormal)
		}
		for range extra {
			v.Types = append(v.Types, TokenControl)
		}
		if v.Scores != nil {
			v.Scores = append(slices.Clone(v.Scores), make([]float32, len(extra))...)
		}
		tok, err := New(&v)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := load(harmony)
	const out = "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}"
	ids := tok.Encode(out+"<|call|>", false, true)
	if got := tok.Decode(ids); got != out {
		t.Errorf("decoded %q, want %q", got, out)
	}
	for _, s := range harmony {
		id, _ := tok.TokenID(s)
		if eog := s == "<|return|>" || s == "<|call|>"; tok.IsEOG(id) != eog {
			t.Errorf("%s: IsEOG %v, want %v", s, tok.IsEOG(id), eog)
		}
	}
	// Phi-3's <|end|>: no <|return|> or <|call|> beside it.
	tok = load([]string{"<|end|>", "<|user|>"})
	id, _ := tok.TokenID("<|end|>")
	if !tok.IsEOG(id) || len(tok.TokenPiece(id)) != 0 {
		t.Errorf("<|end|> without harmony: IsEOG %v, piece %q", tok.IsEOG(id), tok.TokenPiece(id))
	}
}
