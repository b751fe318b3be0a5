package tokenizer

// bigram is a candidate merge of the adjacent symbols left and right.
// Higher pri merges first; ties go to the leftmost pair.
type bigram struct {
	pri   float64
	left  int32
	right int32
	end   int32 // byte end of right when queued: detects stale entries
	id    int32 // BPE: the merged symbol id
}

func (a *bigram) before(b *bigram) bool {
	if a.pri != b.pri {
		return a.pri > b.pri
	}
	return a.left < b.left
}

// bigramQueue is a binary heap of bigrams.
type bigramQueue []bigram

func (q *bigramQueue) push(b bigram) {
	h := append(*q, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *bigramQueue) pop() bigram {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].before(&h[l]) {
			m = r
		}
		if !h[m].before(&h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// symbol is a piece of the text being merged, in a doubly linked list.
type symbol struct {
	start, end int32 // byte range
	prev, next int32 // -1 at the ends
	id         int32 // BPE: symbol id
}
