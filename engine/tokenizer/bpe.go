package tokenizer

// mergeKey packs a pair of symbol ids.
func mergeKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// mergeVal is a merge's rank and the id of the merged symbol.
type mergeVal struct {
	rank int32
	id   int32
}

// bpeState is the reusable scratch of one BPE encoding.
type bpeState struct {
	rt   runeText
	syms []symbol
	q    bigramQueue
	word []byte
}

// encodeBPE appends the tokens of one raw text fragment to out: the
// pre-tokenizer splits it into words, and each word's bytes are merged by
// rank (lowest first, ties leftmost).
func (t *Tokenizer) encodeBPE(st *bpeState, text string, out []int32) []int32 {
	if text == "" {
		return out
	}
	st.rt.reset(text)
	off := st.rt.off
	t.split(&st.rt, 0, len(st.rt.r), func(a, b int) {
		out = t.bpeWord(st, text[off[a]:off[b]], out)
	})
	return out
}

// bpeWord merges the bytes of one pre-tokenized word.
func (t *Tokenizer) bpeWord(st *bpeState, w string, out []int32) []int32 {
	if len(w) == 1 {
		return t.emitSymbol(t.byteTok[w[0]], w, out)
	}
	if t.ignoreMerges {
		buf := st.word[:0]
		for i := 0; i < len(w); i++ {
			buf = append(buf, string(byteToRune[w[i]])...)
		}
		st.word = buf
		if id, ok := t.toID[string(buf)]; ok {
			return append(out, id)
		}
	}
	syms := st.syms[:0]
	for i := 0; i < len(w); i++ {
		n := int32(i)
		syms = append(syms, symbol{start: n, end: n + 1, prev: n - 1, next: n + 1, id: t.byteTok[w[i]]})
	}
	syms[len(syms)-1].next = -1
	st.syms = syms

	mergeSymbols(&st.q, syms, func(l, r int32) (uint64, int32, bool) {
		m, ok := t.merges[mergeKey(syms[l].id, syms[r].id)]
		return rankKey(m.rank, l), m.id, ok
	})
	for i := int32(0); i >= 0; i = syms[i].next {
		out = t.emitSymbol(syms[i].id, w[syms[i].start:syms[i].end], out)
	}
	return out
}

// emitSymbol appends symbol id, or, for a string that is not a vocabulary
// token, the byte tokens of its bytes (as llama.cpp does, bytes without a
// token are dropped).
func (t *Tokenizer) emitSymbol(id int32, raw string, out []int32) []int32 {
	if id >= 0 && int(id) < t.n {
		return append(out, id)
	}
	if len(raw) == 1 {
		return out
	}
	for i := 0; i < len(raw); i++ {
		if b := t.byteTok[raw[i]]; b >= 0 && int(b) < t.n {
			out = append(out, b)
		}
	}
	return out
}
