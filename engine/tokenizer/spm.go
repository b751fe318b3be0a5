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

	syms := st.syms[:0]
	for i := 0; i < len(s); {
		_, w := utf8.DecodeRuneInString(s[i:])
		n := int32(len(syms))
		syms = append(syms, symbol{start: int32(i), end: int32(i + w), prev: n - 1, next: n + 1})
		i += w
	}
	syms[len(syms)-1].next = -1
	st.syms = syms

	q := st.q[:0]
	tryAdd := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		id, ok := t.pieces[s[syms[l].start:syms[r].end]]
		if !ok {
			return
		}
		q.push(bigram{pri: float64(t.score(id)), left: l, right: r, end: syms[r].end})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(int32(i-1), int32(i))
	}
	for len(q) > 0 {
		b := q.pop()
		l, r := &syms[b.left], &syms[b.right]
		if l.start == l.end || r.start == r.end || l.next != b.right || r.end != b.end {
			continue // stale
		}
		l.end = r.end
		l.next = r.next
		r.start = r.end // dead
		if l.next >= 0 {
			syms[l.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}
	st.q = q

	for i := int32(0); i >= 0; i = syms[i].next {
		piece := s[syms[i].start:syms[i].end]
		if id, ok := t.pieces[piece]; ok {
			out = append(out, id)
			continue
		}
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
