package node

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
)

// TestIdleInferStreams: two identities open 250 /orbit/infer/1.0.0
// streams each to a server and never send a whole first frame. The
// server reserves no memory for them (memory is reserved per frame as
// frames arrive), keeps at most its caps of idle streams (per peer, per
// IP address) and closes the rest; an honest entry node keeps generating
// through it meanwhile, and once the attackers leave the server is in its
// routes at once (it was never held against it).
func TestIdleInferStreams(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[0]
	srv := startNode(t, testConfig(t))
	serve(t, srv, src, ServeOptions{Blocks: spanOf(0, 4)})
	en := startNode(t, testConfig(t, srv))
	serve(t, en, src, ServeOptions{NoBlocks: true, Entry: true})
	waitView(t, en, src.ID(), 1)
	maxTokens := c.Steps + 1 - len(c.PromptTokens)
	honest := func(when string) {
		t.Helper()
		start := time.Now()
		got, st := generate(t, en, src.ID(), c.PromptTokens, maxTokens)
		if !slices.Equal(got, c.GeneratedTokens) || len(st.Route) != 1 || st.Route[0].Peer != srv.ID() {
			t.Fatalf("%s: got %v via %+v", when, got, st.Route)
		}
		t.Logf("%s: generation in %v", when, time.Since(start))
	}
	honest("before the attack")

	serviceMemory := func() int64 {
		var mem int64
		_ = srv.host.Network().ResourceManager().ViewService(protocol.ServiceName, func(s network.ServiceScope) error {
			mem = s.Stat().Memory
			return nil
		})
		return mem
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var attackers []host.Host
	const perAttacker = 250
	for range 2 {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		h, err := newHost(&Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Version: "test"}, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if err := h.Connect(ctx, peer.AddrInfo{ID: srv.ID(), Addrs: srv.host.Addrs()}); err != nil {
			t.Fatal(err)
		}
		for i := range perAttacker {
			st, err := h.NewStream(ctx, srv.ID(), protocol.InferID)
			if err != nil {
				continue // refused: fine
			}
			// Half a length prefix: the server's handler runs and waits.
			if _, err := st.Write([]byte{0x80}); err != nil && i == 0 {
				t.Fatal(err)
			}
		}
		attackers = append(attackers, h)
	}
	caps := protocol.ServerConfig{MaxIdlePerPeer: protocol.DefaultMaxIdlePerPeer, MaxIdlePerIP: protocol.DefaultMaxIdlePerIP}
	var idle int
	deadline := time.Now().Add(10 * time.Second)
	for {
		idle = srv.infer.IdleStreams()
		if (idle > 0 && idle <= caps.MaxIdlePerIP) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mem := serviceMemory()
	t.Logf("under attack: %d idle streams held of %d opened, service memory %d bytes", idle, 2*perAttacker, mem)
	if idle == 0 || idle > caps.MaxIdlePerIP || idle > 2*caps.MaxIdlePerPeer {
		t.Errorf("%d idle streams held, want some and at most %d (per IP) and %d (per peer, two peers)", idle, caps.MaxIdlePerIP, 2*caps.MaxIdlePerPeer)
	}
	if mem > 1<<20 {
		t.Errorf("idle streams hold %d bytes of the service's memory", mem)
	}
	for i := range 3 {
		honest("during the attack " + string(rune('1'+i)))
	}

	for _, h := range attackers {
		_ = h.Close()
	}
	if en.isFailed(srv.ID()) {
		t.Fatal("the entry avoids the attacked server")
	}
	honest("right after the attack")
}
