package node

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
)

func TestIdentityPersists(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equals(k2) {
		t.Fatal("identity changed between loads")
	}
	st, err := os.Stat(filepath.Join(dir, identityFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode %v, want 0600", st.Mode().Perm())
	}
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIdentity(dir); err == nil {
		t.Fatal("garbage identity accepted")
	}
}

func connect(a, b *Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.host.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.host.Addrs()})
}

// TestPrivateSwarm: nodes with a pre-shared key talk to each other and not
// to outsiders; an allow-list admits only the peers it names.
func TestPrivateSwarm(t *testing.T) {
	psk := make([]byte, 32)
	_, _ = rand.Read(psk)
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	withPSK := func(k []byte) Config {
		cfg := testConfig(t)
		cfg.PSK = k
		return cfg
	}
	a := startNode(t, withPSK(psk))
	b := startNode(t, withPSK(psk))
	c := startNode(t, withPSK(other))
	open := startNode(t, testConfig(t))
	if err := connect(b, a); err != nil {
		t.Fatalf("same key: %v", err)
	}
	if err := connect(c, a); err == nil {
		t.Fatal("a peer with another key connected")
	}
	if err := connect(open, a); err == nil {
		t.Fatal("a peer without the key connected")
	}

	allowed := startNode(t, testConfig(t))
	cfg := testConfig(t)
	cfg.AllowPeers = []peer.ID{allowed.ID()}
	gated := startNode(t, cfg)
	if err := connect(allowed, gated); err != nil {
		t.Fatalf("allowed peer: %v", err)
	}
	// The dialer may finish its side of the handshake before the gated
	// node drops it, so check that no protocol gets through.
	_ = connect(open, gated)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := protocol.QueryInfo(ctx, open.host, gated.ID()); err == nil {
		t.Fatal("a peer off the allow-list reached the gated node")
	}
	if gated.host.Network().Connectedness(open.ID()) == network.Connected {
		t.Fatal("the gated node keeps a connection to a peer off its allow-list")
	}
	if err := connect(gated, open); err == nil {
		t.Fatal("the gated node dialed a peer off its allow-list")
	}
}

// TestDiscovery: every block's provider records, looked up by a node that
// only knows the bootstrap peer, name the servers of that block.
func TestDiscovery(t *testing.T) {
	src := fileSource(t, aidreamsPath)
	_, servers := swarm(t, src, 0, spanOf(0, 2), spanOf(2, 4), spanOf(1, 3))
	probe := startNode(t, testConfig(t, servers[0]))
	want := map[int]map[peer.ID]bool{}
	for i, sp := range []struct{ a, b int }{{0, 2}, {2, 4}, {1, 3}} {
		for blk := sp.a; blk < sp.b; blk++ {
			if want[blk] == nil {
				want[blk] = map[peer.ID]bool{}
			}
			want[blk][servers[i].ID()] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for blk := range 4 {
		for {
			got := map[peer.ID]bool{}
			for ai := range probe.dht.FindProvidersAsync(ctx, BlockKey(src.ID(), blk), len(want[blk])) {
				got[ai.ID] = true
			}
			missing := 0
			for p := range want[blk] {
				if !got[p] {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("block %d: providers %v, want %v", blk, got, want[blk])
			}
		}
	}
	v, err := probe.SwarmView(ctx, src.ID(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Swarm.Servers) != 3 || v.Swarm.Blocks != 4 {
		t.Fatalf("view %+v", v.Swarm)
	}
}
