package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/sharding"
)

// fullSession is a session whose every block keeps all maxLen positions,
// as before the sliding-window blocks' rings: the reference they must
// match bit for bit.
func fullSession(m *Model, maxLen int) *Session {
	s := &Session{model: m, maxLen: maxLen, ring: maxLen}
	kv := m.Config.KVDim()
	for range m.layers {
		s.k = append(s.k, make([]float32, maxLen*kv))
		s.v = append(s.v, make([]float32, maxLen*kv))
	}
	return s
}

// ringPair runs the same tokens through a ring session and a full one in
// one batch and compares every row's logits.
type ringPair struct {
	t          *testing.T
	m          *Model
	ring, full *Session
	toks       []int32 // the sequence so far
	furthest   int     // the furthest position run, plus one
}

// step runs toks at pos (rewriting from there) in both sessions, checks
// the logits agree bit for bit, and returns the greedy next token.
func (p *ringPair) step(pos int, toks []int32) int32 {
	p.t.Helper()
	m, dim, vocab, n := p.m, p.m.Config.Dim, p.m.Config.VocabSize, len(toks)
	x := make([]float32, 2*n*dim)
	both := append(append([]int32{}, toks...), toks...)
	if err := m.Embed(both, x); err != nil {
		p.t.Fatal(err)
	}
	rows := make([]Row, 0, 2*n)
	for i := range n {
		rows = append(rows, Row{p.ring, pos + i})
	}
	for i := range n {
		rows = append(rows, Row{p.full, pos + i})
	}
	if err := m.Forward(context.Background(), x, rows); err != nil {
		p.t.Fatalf("forward %d rows at %d: %v", n, pos, err)
	}
	l := make([]float32, 2*n*vocab)
	if err := m.Head(x, 2*n, l); err != nil {
		p.t.Fatal(err)
	}
	if i := bitsEqual(l[:n*vocab], l[n*vocab:]); i >= 0 {
		p.t.Fatalf("%d rows at position %d: ring logit %d (row %d) differs from the full cache's", n, pos, i%vocab, i/vocab)
	}
	p.toks = append(p.toks[:pos], toks...)
	p.furthest = max(p.furthest, pos+n)
	return sample.Argmax(l[(n-1)*vocab : n*vocab])
}

// TestSlidingWindowRing: sessions whose sliding-window blocks keep a ring
// of window+RewindSlack positions give the logits of full-length caches
// bit for bit, over 3x the ring's length: a prefill longer than the ring
// (attended in runs), greedy decoding, speculative steps of MaxDraft+1
// rows rolled back, and a rollback to RewindSlack behind the furthest
// position. Further back, the session refuses the next row.
func TestSlidingWindowRing(t *testing.T) {
	for _, name := range []string{"gemma2-tiny", "gemma3-tiny", "gpt-oss-tiny"} {
		t.Run(name, func(t *testing.T) {
			m := load(t, synthFile(t, name, kernels.Q8_0, 2), Full())
			c := &m.Config
			w := c.SlidingWindow
			ringLen := w + RewindSlack
			maxLen := 3*ringLen + 40
			ring, err := m.NewSession(maxLen)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ring.k[0]) / c.KVDim(); got != ringLen || !c.Local(0) {
				t.Fatalf("block 0 (local %v) holds %d positions, want a ring of %d", c.Local(0), got, ringLen)
			}
			if got := len(ring.k[1]) / c.KVDim(); got != maxLen || c.Local(1) {
				t.Fatalf("block 1 (local %v) holds %d positions, want %d", c.Local(1), got, maxLen)
			}
			var held int64
			for i := range ring.k {
				held += int64(len(ring.k[i])+len(ring.v[i])) * 4
			}
			if sb := m.SessionBytes(maxLen); sb != held || sb >= int64(len(m.layers))*int64(maxLen)*int64(c.KVDim())*8 {
				t.Fatalf("SessionBytes = %d, the session holds %d bytes", sb, held)
			}
			p := &ringPair{t: t, m: m, ring: ring, full: fullSession(m, maxLen)}
			prompt := make([]int32, ringLen+30) // the second part wraps the ring in one step
			for i := range prompt {
				prompt[i] = int32(1 + (i*37+i*i)%500)
			}
			p.step(0, prompt[:20])
			next := p.step(20, prompt[20:])
			for len(p.toks) < 2*ringLen {
				next = p.step(len(p.toks), []int32{next})
			}
			// Speculative steps: MaxDraft+1 rows, the longest kept or
			// none of them.
			for _, keep := range []int{3, 1, 17, 0} {
				pos := len(p.toks)
				draft := []int32{next}
				for i := range 16 {
					draft = append(draft, int32(2+(pos+i*11)%400))
				}
				p.step(pos, draft)
				ring.Truncate(pos + keep)
				p.full.Truncate(pos + keep)
				p.toks = p.toks[:pos+keep]
				if keep == 0 {
					next = p.step(pos, []int32{next})
				} else {
					next = p.step(pos+keep, []int32{int32(3 + keep)})
				}
			}
			// Back RewindSlack behind the furthest position run.
			furthest := p.furthest
			back := furthest - RewindSlack
			ring.Truncate(back)
			p.full.Truncate(back)
			if !ring.CanResume(back) {
				t.Fatalf("cannot resume at %d after running to %d", back, furthest)
			}
			next = p.step(back, []int32{p.toks[back]})
			for len(p.toks) < maxLen {
				next = p.step(len(p.toks), []int32{next})
			}
			// Further back than the ring holds: refused, not wrong.
			back = maxLen - RewindSlack - 2
			ring.Truncate(back)
			if ring.CanResume(back) {
				t.Fatalf("can resume at %d after running to %d with a ring of %d", back, maxLen, ringLen)
			}
			x := make([]float32, c.Dim)
			if err := m.Forward(context.Background(), x, []Row{{ring, back}}); !errors.Is(err, ErrBadInput) {
				t.Fatalf("forward after truncating past the ring: %v, want ErrBadInput", err)
			}
			// Blocks without a ring (block 1 alone) rewind anywhere.
			global := load(t, synthFile(t, name, kernels.Q8_0, 2), Options{Blocks: sharding.Span{Start: 1, End: 2}})
			gs, _ := global.NewSession(maxLen)
			gx := make([]float32, maxLen*c.Dim)
			rows := make([]Row, maxLen)
			for i := range rows {
				rows[i] = Row{gs, i}
			}
			if err := global.Forward(context.Background(), gx, rows); err != nil {
				t.Fatal(err)
			}
			gs.Truncate(1)
			if !gs.CanResume(1) {
				t.Fatal("a session of global blocks only cannot rewind to 1")
			}
			// Rewriting from the start is always possible.
			if !ring.CanResume(0) {
				t.Fatal("cannot restart at 0")
			}
			ring.Truncate(0)
			p.full.Truncate(0)
			p.step(0, prompt[:ringLen+5])
		})
	}
}

// TestSessionBytesPositions: SessionPositions is SessionBytes's inverse
// over spans of global and sliding-window blocks.
func TestSessionBytesPositions(t *testing.T) {
	c := Config{Layers: 12, KVHeads: 2, HeadDim: 64, SlidingWindow: 100, SlidingPattern: 6}
	dense := Config{Layers: 12, KVHeads: 2, HeadDim: 64}
	per := int64(2*64) * 8
	for _, tc := range []struct {
		name string
		c    Config
		span sharding.Span
		n    int
		want int64
	}{
		{"dense", dense, sharding.Span{Start: 0, End: 12}, 1000, 12 * 1000 * per},
		{"short session", c, sharding.Span{Start: 0, End: 12}, 50, 12 * 50 * per},
		{"long session", c, sharding.Span{Start: 0, End: 12}, 5000, (2*5000 + 10*int64(100+RewindSlack)) * per},
		{"local blocks only", c, sharding.Span{Start: 0, End: 5}, 5000, 5 * int64(100+RewindSlack) * per},
		{"one global block", c, sharding.Span{Start: 5, End: 6}, 5000, 5000 * per},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.SessionBytes(tc.span, tc.n); got != tc.want {
				t.Fatalf("SessionBytes = %d, want %d", got, tc.want)
			}
			for _, b := range []int64{0, per, tc.want - 1, tc.want, tc.want + per - 1, 3 * tc.want} {
				n := tc.c.SessionPositions(tc.span, b)
				if n < 0 || tc.c.SessionBytes(tc.span, n) > b {
					t.Fatalf("SessionPositions(%d) = %d, which takes %d bytes", b, n, tc.c.SessionBytes(tc.span, n))
				}
				if n < maxSessionPositions && tc.c.SessionBytes(tc.span, n+1) <= b {
					t.Fatalf("SessionPositions(%d) = %d, but %d positions fit", b, n, n+1)
				}
			}
		})
	}
}
