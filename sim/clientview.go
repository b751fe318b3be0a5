package sim

import (
	"math/rand/v2"

	"github.com/orbitswarm/orbit/sharding"
)

// providers indexes a view by block: for each block, the peers whose
// record covers it, as a DHT lookup of that block's key would return them.
// A record's span does not change while it is in the view (a server that
// moves is taken out first), so the index follows puts and drops.
type providers struct {
	lists [][]int32 // by block: peers covering it
	pos   [][]int32 // by peer: its index in lists[b], for b in its span
	spans []sharding.Span
}

func newProviders(blocks int) *providers {
	return &providers{lists: make([][]int32, blocks)}
}

func (x *providers) add(pi int32, sp sharding.Span) {
	for int(pi) >= len(x.pos) {
		x.pos = append(x.pos, nil)
		x.spans = append(x.spans, sharding.Span{})
	}
	sp = sharding.Span{Start: max(sp.Start, 0), End: min(sp.End, len(x.lists))}
	pos := make([]int32, max(0, sp.End-sp.Start))
	for b := sp.Start; b < sp.End; b++ {
		pos[b-sp.Start] = int32(len(x.lists[b]))
		x.lists[b] = append(x.lists[b], pi)
	}
	x.pos[pi], x.spans[pi] = pos, sp
}

func (x *providers) remove(pi int32) {
	sp := x.spans[pi]
	for b := sp.Start; b < sp.End; b++ {
		l := x.lists[b]
		i := x.pos[pi][b-sp.Start]
		last := l[len(l)-1]
		l[i] = last
		x.pos[last][b-x.spans[last].Start] = i
		x.lists[b] = l[:len(l)-1]
	}
	x.pos[pi], x.spans[pi] = nil, sharding.Span{}
}

// clientView is the view a client plans [from, to) on. With a per-block
// limit k > 0 it is what k-provider DHT lookups of each block would give:
// for every block up to k of its providers drawn at random (with
// replacement, so a few fewer when draws repeat), merged. Otherwise it is
// the whole route view. The returned slice is scratch space reused by the
// next call.
func (s *Sim) clientView(from, to int) []sharding.Server {
	k := s.cfg.ClientViewPerBlock
	if k <= 0 {
		return s.route.servers
	}
	s.viewStamp++
	if len(s.viewMark) < len(s.peers) {
		s.viewMark = append(s.viewMark, make([]uint32, len(s.peers)-len(s.viewMark))...)
	}
	buf := s.viewBuf[:0]
	take := func(pi int32) {
		if s.viewMark[pi] != s.viewStamp {
			s.viewMark[pi] = s.viewStamp
			buf = append(buf, s.route.servers[s.route.pos[pi]])
		}
	}
	idx := s.route.index
	for b := max(from, 0); b < min(to, len(idx.lists)); b++ {
		l := idx.lists[b]
		if len(l) <= k {
			for _, pi := range l {
				take(pi)
			}
			continue
		}
		for range k {
			take(l[s.rngView.IntN(len(l))])
		}
	}
	s.viewBuf = buf
	return buf
}

// viewRNG is the stream clients' DHT samples draw from.
func viewRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6f72626974000006)) }
