package node

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/sharding"
)

// DefaultRouteSpread is Config.RouteSpread's default: routes within 20% of
// the cheapest count as near-equal.
const DefaultRouteSpread = 0.2

// routeLoad is what an entry node tells its route planner beyond the swarm
// view: the sessions its generations hold on each server, counted from
// the moment a route is planned, so that generations planning at the same
// time see each other.
type routeLoad struct {
	mu       sync.Mutex
	sessions map[peer.ID]int
}

func newRouteLoad() *routeLoad {
	return &routeLoad{sessions: map[peer.ID]int{}}
}

// hold counts a session on p.
func (l *routeLoad) hold(p peer.ID) {
	l.mu.Lock()
	l.sessions[p]++
	l.mu.Unlock()
}

// release ends a session hold counted on p.
func (l *routeLoad) release(p peer.ID) {
	l.mu.Lock()
	if l.sessions[p]--; l.sessions[p] <= 0 {
		delete(l.sessions, p)
	}
	l.mu.Unlock()
}

// plan returns the sessions held on the servers of a view (by sharding
// server ID).
func (l *routeLoad) plan(peers map[string]peer.ID) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for id, p := range peers {
		if k := l.sessions[p]; k > 0 {
			out[id] = k
		}
	}
	return out
}

// held returns the sessions held on p.
func (l *routeLoad) held(p peer.ID) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sessions[p]
}

// rttFloor is the shortest round trip routes are planned with for another
// node: shorter measurements (an info query's round trip, a few ms of
// scheduling noise on a busy host) cannot tell near servers apart, and
// taken as they are they would send every generation to the server that
// happened to answer fastest. Below it near replicas cost the same, and
// their compute, the sessions they hold included, decides.
const rttFloor = 5 * time.Millisecond

// floorRTTs returns sw with the round trips of servers other than self
// raised to rttFloor (a copy: views are shared).
func floorRTTs(sw sharding.Swarm, self string) sharding.Swarm {
	servers := make([]sharding.Server, len(sw.Servers))
	for i, s := range sw.Servers {
		if s.ID != self && s.RTT > 0 {
			s.RTT = max(s.RTT, rttFloor)
		}
		servers[i] = s
	}
	sw.Servers = servers
	return sw
}
