package tokenizer

import (
	"strings"
	"unicode/utf8"
)

const spaceEsc = "\u2581" // SentencePiece's escaped space

// spmState is the reusable scratch of one SPM encoding.
type spmState struct {
	syms []symbol
	q    bigramQueue
}

// encodeSPM appends the tokens of one text fragment (spaces not yet
// escaped) to out: SentencePiece BPE as llama.cpp does it. The text is split
// into UTF-8 characters, then the adjacent pair whose concatenation is the
// highest-scoring vocabulary piece is merged repeatedly (ties: leftmost).
// Characters that end up in no piece are emitted as byte tokens <0xNN>.
func (t *Tokenizer) encodeSPM(st *spmState, text string, out []int32) []int32 {
	if text == "" {
		return out
	}
	s := strings.ReplaceAll(text, " ", spaceEsc)
	// No merge can cross the start of a U+2581 whose preceding character
	// never precedes U+2581 inside a piece, so the text is merged in
	// independent words split there (small heaps, same result).
	lo := 0
	for i := 1; i < len(s); {
		j := strings.Index(s[i:], spaceEsc)
		if j < 0 {
			break
		}
		j += i
		r, _ := utf8.DecodeLastRuneInString(s[:j])
		if !t.crossSpace[r] {
			out = t.spmWord(st, s[lo:j], out)
			lo = j
		}
		i = j + len(spaceEsc)
	}
	return t.spmWord(st, s[lo:], out)
}

// spmWord merges one word of escaped text.
func (t *Tokenizer) spmWord(st *spmState, s string, out []int32) []int32 {
	if s == "" {
		return out
	}
	syms := st.syms[:0]
	for i := 0; i < len(s); {
		var id int32
		w := 1
		if c := s[i]; c < utf8.RuneSelf {
			id = t.spmASCII[c]
		} else {
			_, w = utf8.DecodeRuneInString(s[i:])
			var ok bool
			if id, ok = t.spmChar[s[i:i+w]]; !ok {
				id = -1
			}
		}
		n := int32(len(syms))
		syms = append(syms, symbol{start: int32(i), end: int32(i + w), prev: n - 1, next: n + 1, id: id})
		i += w
	}
	syms[len(syms)-1].next = -1
	st.syms = syms

	mergeSymbols(&st.q, syms, func(l, r int32) (uint64, int32, bool) {
		a, b := syms[l].id, syms[r].id
		if a < 0 || b < 0 {
			return 0, 0, false
		}
		id, ok := t.spmPairs[mergeKey(a, b)]
		if !ok {
			return 0, 0, false
		}
		return scoreKey(t.score(id), l), id, true
	})

	for i := int32(0); i >= 0; i = syms[i].next {
		if id := syms[i].id; id >= 0 && int(id) < t.n {
			out = append(out, id)
			continue
		}
		piece := s[syms[i].start:syms[i].end]
		for j := 0; j < len(piece); j++ {
			if id := t.byteTok[piece[j]]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}

func (t *Tokenizer) score(id int32) float32 {
	if t.v.Scores == nil {
		return 0
	}
	return t.v.Scores[id]
}

// unescapeSPM turns U+2581 back into spaces.
func unescapeSPM(s string) string {
	return strings.ReplaceAll(s, spaceEsc, " ")
}
