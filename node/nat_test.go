package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
)

// TestRelay: with NAT on, a node that finds itself unreachable reserves a
// slot on its bootstrap peer (which offers the relay service); a third
// peer that has never seen its direct addresses reaches it through the
// relay.
func TestRelay(t *testing.T) {
	natConfig := func(r network.Reachability, bootstrap ...*Node) Config {
		cfg := testConfig(t, bootstrap...)
		cfg.NAT = true
		cfg.reachability = r
		return cfg
	}
	relay := startNode(t, natConfig(network.ReachabilityPublic))
	home := startNode(t, natConfig(network.ReachabilityPrivate, relay))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The relay listens on loopback, which autorelay leaves out of the
	// addresses it advertises (it keeps public ones), so the visitor builds
	// the circuit address itself: it works once home holds a reservation.
	circuit := relay.Addrs()[0].Encapsulate(ma.StringCast("/p2p/" + relay.ID().String() + "/p2p-circuit"))
	cfg := testConfig(t)
	cfg.NAT = true
	visitor := startNode(t, cfg)
	var mu sync.Mutex
	var relayed bool
	visitor.Host().Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT); err == nil && c.RemotePeer() == home.ID() {
			mu.Lock()
			relayed = true
			mu.Unlock()
		}
	}})
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		err := visitor.Host().Connect(cctx, peer.AddrInfo{ID: home.ID(), Addrs: []ma.Multiaddr{circuit}})
		ccancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("connect to %v through %v: %v", home.ID(), circuit, err)
		case <-time.After(100 * time.Millisecond):
		}
		visitor.Host().Network().ClosePeer(home.ID())
	}
	mu.Lock()
	wasRelayed := relayed
	mu.Unlock()
	if !wasRelayed {
		t.Fatal("the visitor never had a relayed connection to home")
	}
	// A relayed connection is limited (circuit v2 caps its time and bytes):
	// libp2p's ping, which allows limited connections, answers over it.
	// Orbit's own protocols wait for the direct connection that hole
	// punching (DCUtR) makes between peers behind NATs; loopback has no
	// NAT to punch through, so that step is not tested here.
	res := <-ping.Ping(ctx, visitor.Host(), home.ID())
	if res.Error != nil {
		t.Fatalf("ping through the relay: %v", res.Error)
	}
}
