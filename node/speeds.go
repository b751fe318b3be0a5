package node

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/sharding"
)

// overclaimFactor is how much more a server may claim, relative to what
// the entry node measures of it, than the most modest server measured:
// measures include network and protocol overhead that dwarf a small
// model's compute, so claims are judged against each other's ratios.
const overclaimFactor = 8

// speeds is what this entry node measured of the servers its generations
// used: tokens per second through one block (the unit servers announce
// in), from each step's round trip as the entry saw it: the median of
// the last speedWindow steps, robust to the odd step slowed by load.
// Only first hops are measured: theirs is the one round trip from the
// step's send to its result; a later hop's overlaps the pushes before it
// and says little of its speed. A server whose announced throughput is
// more than overclaimFactor times its measure, relative to the most
// modest server's announced-to-measured ratio, is routed as if it had
// that server's ratio: by what it does, not by what it says.
type speeds struct {
	mu sync.Mutex
	m  map[peer.ID][]float64 // the last speedWindow measures, oldest first
}

// speedWindow is how many steps' measures a server's speed is the median
// of.
const speedWindow = 31

func newSpeeds() *speeds { return &speeds{m: map[peer.ID][]float64{}} }

// observe records a step of rows rows through blocks blocks of p that
// took roundTrip (network included: a round trip less a separately
// measured RTT is too noisy to compare; the ratios of claims to measures
// are compared instead, see capSwarm).
func (s *speeds) observe(p peer.ID, blocks, rows int, roundTrip time.Duration) {
	if blocks <= 0 || rows <= 0 || roundTrip <= 0 {
		return
	}
	v := float64(blocks*rows) / roundTrip.Seconds()
	s.mu.Lock()
	w := append(s.m[p], v)
	if len(w) > speedWindow {
		w = w[len(w)-speedWindow:]
	}
	s.m[p] = w
	s.mu.Unlock()
}

// measured returns p's measured speed, if any.
func (s *speeds) measured(p peer.ID) (float64, bool) {
	s.mu.Lock()
	w := slices.Clone(s.m[p])
	s.mu.Unlock()
	if len(w) == 0 {
		return 0, false
	}
	slices.Sort(w)
	return w[len(w)/2], true
}

// capSwarm returns sw with the throughput of every server that
// over-claims lowered to its measured speed times the most modest ratio
// of announced to measured speed among the measured servers whose spans
// overlap its own. Only such replicas are compared: they compete for the
// same blocks, and a hop's round trip depends on its place in a route
// (the first hop's includes the entry's send; later ones overlap the
// pushes before them).
func (s *speeds) capSwarm(sw sharding.Swarm, peers map[string]peer.ID) sharding.Swarm {
	measured := make([]float64, len(sw.Servers))
	for i, srv := range sw.Servers {
		if v, ok := s.measured(peers[srv.ID]); ok && v > 0 && srv.Throughput > 0 {
			measured[i] = v
		}
	}
	servers := make([]sharding.Server, len(sw.Servers))
	for i, srv := range sw.Servers {
		servers[i] = srv
		v := measured[i]
		if v <= 0 {
			continue
		}
		ref := math.Inf(1)
		for j, o := range sw.Servers {
			if measured[j] > 0 && o.Span.Start < srv.Span.End && srv.Span.Start < o.Span.End {
				ref = min(ref, o.Throughput/measured[j])
			}
		}
		if srv.Throughput > overclaimFactor*ref*v {
			servers[i].Throughput = ref * v
		}
	}
	sw.Servers = servers
	return sw
}
