package sim

import (
	"cmp"
	"slices"

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

// clientView is the view request r plans [from, to) on, as its client
// would build it. With ClientViewPerBlock k > 0 it looks up every block's
// key in the DHT, which returns up to k of the block's providers (drawn at
// random, with replacement, so a few fewer when draws repeat); with
// RouteCandidatesPerBlock c > 0 it then keeps, for each block, the c of
// those it expects to be best (see candidateScore). The records are copies
// of the route view's, with the client's own RTT to each server, and with
// the server's raw per-block speed as Throughput: for routing, sharding's
// default compute cost (blocks / Throughput, slowed by 1/(1-Load)) then
// matches the server's real speed, as Petals' clients use inference_rps
// rather than the placement throughput. The slice is scratch space reused
// by the next call.
func (s *Sim) clientView(r *request, from, to int) []sharding.Server {
	k, c := s.cfg.ClientViewPerBlock, s.cfg.RouteCandidatesPerBlock
	s.viewStamp++
	if len(s.viewMark) < len(s.peers) {
		s.viewMark = append(s.viewMark, make([]uint32, len(s.peers)-len(s.viewMark))...)
	}
	buf := s.viewBuf[:0]
	take := func(pi int32) {
		if s.viewMark[pi] == s.viewStamp {
			return
		}
		s.viewMark[pi] = s.viewStamp
		p := &s.peers[pi]
		rec := s.route.servers[s.route.pos[pi]]
		rec.Throughput = p.raw
		rec.RTT = 2 * s.net.oneWay(r.at, p.at)
		buf = append(buf, rec)
	}
	idx := s.route.index
	for b := max(from, 0); b < min(to, len(idx.lists)); b++ {
		l := idx.lists[b]
		found := s.found[:0]
		if k <= 0 || len(l) <= k {
			found = append(found, l...)
		} else {
			for range k {
				found = append(found, l[s.rngView.IntN(len(l))])
			}
		}
		if c > 0 && len(found) > c {
			scored := s.scored[:0]
			for _, pi := range found {
				scored = append(scored, scoredPeer{pi, s.candidateScore(r, pi, b)})
			}
			slices.SortFunc(scored, func(x, y scoredPeer) int {
				if x.score != y.score {
					return cmp.Compare(x.score, y.score)
				}
				return cmp.Compare(x.pi, y.pi)
			})
			found = found[:0]
			for _, sp := range scored[:c] {
				found = append(found, sp.pi)
			}
			s.scored = scored
		}
		for _, pi := range found {
			take(pi)
		}
		s.found = found
	}
	s.viewBuf = buf
	return buf
}

// scoredPeer is a candidate and its score for one block.
type scoredPeer struct {
	pi    int32
	score float64
}

// candidateScore is a client's estimate of peer pi as the server for
// block b, per block it can run in one hop from b on: the round trip to it
// plus its compute for the rest of its span, at its announced load, divided
// by that many blocks. Close, fast, idle servers with long spans win.
func (s *Sim) candidateScore(r *request, pi int32, b int) float64 {
	p := &s.peers[pi]
	n := float64(max(1, p.span.End-b))
	load := min(0.99, p.utilization())
	return (2*s.net.oneWay(r.at, p.at).Seconds() + n/p.raw/(1-load)) / n
}
