package tokenizer

import (
	"slices"
	"testing"
)

// TestGeneratedSPM: the generated vocabulary is valid, has the size its doc
// says, encodes any text (bytes it has no piece for fall back to byte
// tokens) and decodes it back, and merges a word's space with its first
// letter.
func TestGeneratedSPM(t *testing.T) {
	v := GeneratedSPM()
	if len(v.Tokens) != 380 {
		t.Fatalf("%d tokens, want 380", len(v.Tokens))
	}
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		pieces     []string // the tokens' texts, nil to skip
	}{
		{"words", "I dream of", []string{"<s>", "▁", "I", "▁d", "r", "e", "a", "m", "▁o", "f"}},
		{"punctuation", "a, b!", []string{"<s>", "▁a", ",", "▁b", "!"}},
		{"non-ASCII", "héllo ✓", nil},
		{"newlines", "x\ny\t", nil},
		{"empty", "", []string{"<s>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := tok.Encode(tc.text, true, false)
			if ids[0] != v.BOS {
				t.Fatalf("no BOS: %v", ids)
			}
			if got := tok.Decode(ids[1:]); got != tc.text && got != " "+tc.text {
				t.Errorf("decode(encode(%q)) = %q", tc.text, got)
			}
			if tc.pieces != nil {
				var got []string
				for _, id := range ids {
					got = append(got, v.Tokens[id])
				}
				if !slices.Equal(got, tc.pieces) {
					t.Errorf("pieces %q, want %q", got, tc.pieces)
				}
			}
		})
	}
}
