package tokenizer

import "math"

// bigram is a candidate merge of symbol left with the symbol after it.
// key orders the queue: smaller first; the low 32 bits are the left symbol's
// index, so ties go to the leftmost pair.
type bigram struct {
	key uint64
	end int32 // byte end of the right symbol when queued: detects stale entries
	id  int32 // the merged symbol's id
}

func (b bigram) left() int32 { return int32(uint32(b.key)) }

// rankKey orders BPE merges: lowest rank first.
func rankKey(rank int32, left int32) uint64 { return uint64(uint32(rank))<<32 | uint64(uint32(left)) }

// scoreKey orders SPM merges: highest score first.
func scoreKey(score float32, left int32) uint64 {
	if score == 0 {
		score = 0 // -0 ties with +0
	}
	// Map the float to a uint32 with the same order, then invert it.
	u := math.Float32bits(score)
	if u&(1<<31) != 0 {
		u = ^u
	} else {
		u |= 1 << 31
	}
	return uint64(^u)<<32 | uint64(uint32(left))
}

// bigramQueue is a binary min-heap of bigrams.
type bigramQueue []bigram

func (q *bigramQueue) push(b bigram) {
	h := append(*q, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].key <= b.key {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = b
	*q = h
}

func (q *bigramQueue) pop() bigram {
	h := *q
	top := h[0]
	n := len(h) - 1
	x := h[n]
	h = h[:n]
	if n > 0 {
		i := 0
		for {
			m := 2*i + 1
			if m >= n {
				break
			}
			if r := m + 1; r < n && h[r].key < h[m].key {
				m = r
			}
			if x.key <= h[m].key {
				break
			}
			h[i] = h[m]
			i = m
		}
		h[i] = x
	}
	*q = h
	return top
}

// symbol is a piece of the text being merged, in a doubly linked list.
type symbol struct {
	start, end int32 // byte range; start == end once merged away
	prev, next int32 // -1 at the ends
	id         int32 // symbol id (-1: not a piece)
}

// mergeSymbols runs the merge loop over syms (a linked list over the bytes
// of one word): pair(l, r) returns the queue key and merged id of merging
// symbol l with its neighbour r, if they can merge.
func mergeSymbols(q *bigramQueue, syms []symbol, pair func(l, r int32) (uint64, int32, bool)) {
	add := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		if key, id, ok := pair(l, r); ok {
			q.push(bigram{key: key, end: syms[r].end, id: id})
		}
	}
	*q = (*q)[:0]
	for i := 1; i < len(syms); i++ {
		add(int32(i-1), int32(i))
	}
	for len(*q) > 0 {
		b := q.pop()
		li := b.left()
		l := &syms[li]
		if l.start == l.end || l.next < 0 {
			continue // stale
		}
		r := &syms[l.next]
		if r.end != b.end {
			continue // stale
		}
		l.end = r.end
		l.next = r.next
		l.id = b.id
		r.start = r.end
		if l.next >= 0 {
			syms[l.next].prev = li
		}
		add(l.prev, li)
		add(li, l.next)
	}
}
