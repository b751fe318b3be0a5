package tokenizer

import (
	"slices"
	"testing"
)

func splitWords(k preKind, s string) []string {
	var rt runeText
	rt.reset(s)
	var out []string
	splitterFor(k)(&rt, 0, len(rt.r), func(a, b int) { out = append(out, s[rt.off[a]:rt.off[b]]) })
	return out
}

func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		pre  string
		in   string
		want []string
	}{
		{"gpt-2", "Hello world  foo\n\nbar's 123abc", []string{"Hello", " world", " ", " foo", "\n", "\n", "bar", "'s", " 123", "abc"}},
		{"gpt-2", "a  ", []string{"a", "  "}},
		{"gpt-2", "x ?!\t\xffy", []string{"x", " ?!", "\t", "\xff", "y"}},
		{"llama-bpe", "Hello world  foo\n\nbar's 12345 ABC'S", []string{"Hello", " world", " ", " foo", "\n\n", "bar", "'s", " ", "123", "45", " ABC", "'S"}},
		{"llama3", "  \n\n  x...\n\ny", []string{"  \n\n", " ", " x", "...\n\n", "y"}},
		{"qwen2", "a 12345", []string{"a", " ", "1", "2", "3", "4", "5"}},
		{"default", "a+b=12345 x", []string{"a", "+", "b", "=", "123", "45", " x"}},
		{"gpt-4o", "Hello world  foo\n\nbar's 12345 ABC'S", []string{"Hello", " world", " ", " foo", "\n\n", "bar's", " ", "123", "45", " ABC'S"}},
		{"gpt-4o", "helloWorld HTMLParser iPhone", []string{"hello", "World", " HTMLParser", " i", "Phone"}},
		{"gpt-4o", "x !/\n/y", []string{"x", " !/\n/", "y"}},
		{"gpt-4o", "ÄPFEL über", []string{"Ä", "PFEL", " über"}},
	}
	for _, tc := range tests {
		got := splitWords(preKindOf(tc.pre), tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: split(%q) = %q, want %q", tc.pre, tc.in, got, tc.want)
		}
	}
}
