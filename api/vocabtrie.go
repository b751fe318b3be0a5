package api

import (
	"bytes"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// vocabTrie is a byte trie over the pieces of a vocabulary's tokens, for
// the JSON mask (see jsonConstraint.mask): walked depth first with the
// recognizer's state copied at each byte, a prefix shared by many tokens
// is checked once and a byte the recognizer refuses drops every token
// below it. The tokens are sorted by their pieces, so the tokens below a
// node are one run of ids.
type vocabTrie struct {
	n     int        // the vocabulary's size
	ids   []int32    // the tokens with a piece, sorted by piece (ties by id)
	pos   []int32    // by id: where in ids (-1: no piece)
	nodes []trieNode // nodes[0] is the root (the empty prefix)
	items []trieItem // the nodes' children for a string (trieNode.item)
	// runes: by place in ids, the characters of the piece when it is
	// valid UTF-8 (-1: not), for strings whose characters are counted.
	runes []int32
	// blocks: the fewest and most runes of each runeBlock tokens of ids
	// (lo < 0: one of them is not valid UTF-8), so a counted string can
	// take a block whole.
	blocks []runeRange
	empty  []int32 // the tokens without a piece (control tokens)
	eog    []int32 // those of them that end the generation
}

// runeBlock is how many tokens of ids a runeRange covers.
const runeBlock = 32

// runeRange is the range of runes of a block of tokens.
type runeRange struct{ lo, hi int32 }

// trieNode is a prefix of pieces.
type trieNode struct {
	lo, hi     int32 // the tokens whose pieces start with the prefix: ids[lo:hi]
	ends       int32 // ids[lo:lo+ends] are the prefix itself
	kids, kend int32 // the longer prefixes by one byte: nodes[kids:kend]
	b          byte  // the prefix's last byte
	runes      int32 // the prefix's UTF-8 lead (non-continuation) bytes
	// plain: every byte of the pieces past the prefix is plain string
	// text (see plainByte).
	plain bool
	// The children as a string sees them: items[item:iend] in order, a
	// run of adjacent children all plain text (whose tokens a string
	// takes whole) or a child to walk.
	item, iend int32
}

// trieItem is a run of plain children (kid < 0: the tokens ids[lo:hi],
// whose pieces have runes.lo to runes.hi runes) or the child nodes[kid].
type trieItem struct {
	kid, lo, hi int32
	runes       runeRange
}

// plainByte reports whether b is text inside a JSON string that leaves
// the string's state as it is: not a quote, backslash or control byte.
func plainByte(b byte) bool { return b >= 0x20 && b != '"' && b != '\\' }

// newVocabTrie builds the trie of tok's tokens.
func newVocabTrie(tok *tokenizer.Tokenizer) *vocabTrie {
	t := &vocabTrie{n: tok.NumTokens()}
	for id := range int32(t.n) {
		if len(tok.TokenPiece(id)) > 0 {
			t.ids = append(t.ids, id)
		} else {
			t.empty = append(t.empty, id)
			if tok.IsEOG(id) {
				t.eog = append(t.eog, id)
			}
		}
	}
	slices.SortStableFunc(t.ids, func(a, b int32) int { return bytes.Compare(tok.TokenPiece(a), tok.TokenPiece(b)) })
	t.pos = make([]int32, t.n)
	for i := range t.pos {
		t.pos[i] = -1
	}
	t.runes = make([]int32, len(t.ids))
	for i, id := range t.ids {
		t.pos[id] = int32(i)
		t.runes[i] = -1
		if p := tok.TokenPiece(id); utf8.Valid(p) {
			t.runes[i] = int32(utf8.RuneCount(p))
		}
	}
	for b := 0; b < len(t.ids); b += runeBlock {
		rr := runeRange{lo: math.MaxInt32}
		for _, r := range t.runes[b:min(b+runeBlock, len(t.ids))] {
			rr.lo, rr.hi = min(rr.lo, r), max(rr.hi, r)
		}
		t.blocks = append(t.blocks, rr)
	}
	t.nodes = append(t.nodes, trieNode{lo: 0, hi: int32(len(t.ids))})
	t.build(0, 0, tok)
	return t
}

// build fills in node ni, whose prefix is depth bytes long, and the nodes
// below it; a node's children are made together, so they are adjacent.
func (t *vocabTrie) build(ni int32, depth int, tok *tokenizer.Tokenizer) {
	lo, hi := t.nodes[ni].lo, t.nodes[ni].hi
	i := lo
	for i < hi && len(tok.TokenPiece(t.ids[i])) == depth { // a prefix sorts first
		i++
	}
	ends := i - lo
	kids := int32(len(t.nodes))
	for i < hi {
		b := tok.TokenPiece(t.ids[i])[depth]
		j := i + 1
		for j < hi && tok.TokenPiece(t.ids[j])[depth] == b {
			j++
		}
		r := t.nodes[ni].runes
		if utf8.RuneStart(b) {
			r++
		}
		t.nodes = append(t.nodes, trieNode{lo: i, hi: j, b: b, runes: r})
		i = j
	}
	kend := int32(len(t.nodes))
	plain := true
	for k := kids; k < kend; k++ {
		t.build(k, depth+1, tok)
		plain = plain && plainByte(t.nodes[k].b) && t.nodes[k].plain
	}
	item := int32(len(t.items))
	for k := kids; k < kend; k++ {
		c := &t.nodes[k]
		if !(c.plain && plainByte(c.b)) {
			t.items = append(t.items, trieItem{kid: k})
			continue
		}
		if last := len(t.items) - 1; last >= int(item) && t.items[last].kid < 0 {
			t.items[last].hi = c.hi
			continue
		}
		t.items = append(t.items, trieItem{kid: -1, lo: c.lo, hi: c.hi})
	}
	for k := item; k < int32(len(t.items)); k++ {
		if it := &t.items[k]; it.kid < 0 {
			it.runes = runeRange{lo: math.MaxInt32}
			for _, r := range t.runes[it.lo:it.hi] {
				it.runes.lo, it.runes.hi = min(it.runes.lo, r), max(it.runes.hi, r)
			}
		}
	}
	n := &t.nodes[ni]
	n.ends, n.kids, n.kend, n.plain = ends, kids, kend, plain
	n.item, n.iend = item, int32(len(t.items))
}

// trieCache keeps the tries of the tokenizers the server has constrained
// output for: built once, on first use. It holds a few (a server serves
// few models); past that the oldest is dropped.
type trieCache struct {
	mu    sync.Mutex
	order []*tokenizer.Tokenizer
	tries map[*tokenizer.Tokenizer]*vocabTrie
}

const maxCachedTries = 8

// get returns tok's trie, building it the first time.
func (c *trieCache) get(tok *tokenizer.Tokenizer) *vocabTrie {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tries[tok]; ok {
		return t
	}
	if c.tries == nil {
		c.tries = map[*tokenizer.Tokenizer]*vocabTrie{}
	}
	if len(c.order) >= maxCachedTries {
		delete(c.tries, c.order[0])
		c.order = c.order[1:]
	}
	t := newVocabTrie(tok)
	c.tries[tok] = t
	c.order = append(c.order, tok)
	return t
}
