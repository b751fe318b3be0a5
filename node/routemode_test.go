package node

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/sharding"
)

// TestRouteMode: an entry node routes by its Config.RouteMode. Its view
// holds two replicas of the whole model: a fast one that is busy (load
// 0.75) and an idle one 8x slower. For the latency of one generation the
// busy fast one wins (4 ms of compute x 4 for its load = 16 ms, against 32
// ms); for the swarm's throughput its load counts twice (64 ms) and the
// idle slow one wins.
func TestRouteMode(t *testing.T) {
	src := fileSource(t, aidreamsPath)
	entry := startNode(t, testConfig(t))
	serve(t, entry, src, ServeOptions{NoBlocks: true, Entry: true})
	fakePeer := func() peer.ID {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	busy, idle := fakePeer(), fakePeer()
	view := &View{Model: src.ID(), At: time.Now().Add(time.Hour), // stays fresh for the test
		Peers: map[string]peer.ID{busy.String(): busy, idle.String(): idle},
		Swarm: sharding.Swarm{Blocks: 4, Servers: []sharding.Server{
			{ID: busy.String(), Span: sharding.Span{Start: 0, End: 4}, Throughput: 1000, Load: 0.75, RTT: time.Millisecond, FreeCache: 1 << 20},
			{ID: idle.String(), Span: sharding.Span{Start: 0, End: 4}, Throughput: 125, Load: 0, RTT: time.Millisecond, FreeCache: 1 << 20},
		}}}
	for _, tc := range []struct {
		mode sharding.Mode
		want peer.ID
	}{{sharding.MinLatency, busy}, {sharding.MaxThroughput, idle}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			entry.cfg.RouteMode = tc.mode
			entry.swarmComponent.mu.Lock()
			entry.views[src.ID()] = view
			entry.swarmComponent.mu.Unlock()
			route, err := entry.PlanRoute(context.Background(), src.ID())
			if err != nil {
				t.Fatal(err)
			}
			if len(route) != 1 || route[0].Peer != tc.want || route[0].Span.Start != 0 || route[0].Span.End != 4 {
				t.Fatalf("route %+v, want all 4 blocks on %s", route, tc.want)
			}
		})
	}
}
