package node

import (
	"slices"
	"testing"

	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// TestHooks runs a generation over mocknet hosts handed in through
// Config.Host, with a slowed-down server, and checks the per-hop timings.
func TestHooks(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	hs, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	he, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Host = hs
	cfg.ComputeSlowdown = 2
	srv := startNode(t, cfg)
	serve(t, srv, src, ServeOptions{Blocks: sharding.Span{Start: 0, End: 2}})
	cfg = testConfig(t, srv)
	cfg.Host = he
	cfg.Encoding = protocol.EncodingF32
	entry := startNode(t, cfg)
	serve(t, entry, src, ServeOptions{Blocks: sharding.Span{Start: 2, End: 4}, Entry: true})
	waitView(t, entry, src.ID(), 2)

	c := cases[0]
	got, st := generate(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens))
	if !slices.Equal(got, c.GeneratedTokens) {
		t.Fatalf("got %v, want %v", got, c.GeneratedTokens)
	}
	if len(st.Hops) != 2 {
		t.Fatalf("%d hop stats, want 2: %+v", len(st.Hops), st.Hops)
	}
	want := []struct {
		server *Node
		span   sharding.Span
	}{{srv, spanOf(0, 2)}, {entry, spanOf(2, 4)}}
	for i, w := range want {
		h := st.Hops[i]
		if h.Server != w.server.ID() || h.Span != w.span {
			t.Errorf("hop %d is %s %v, want %s %v", i, h.Server, h.Span, w.server.ID(), w.span)
		}
		if h.Steps != st.Steps || h.Compute <= 0 || h.Queue < 0 || h.Network < 0 {
			t.Errorf("hop %d: %+v (generation of %d steps)", i, h, st.Steps)
		}
	}
	// The host belongs to the test: closing the node leaves it open.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.Network().DialPeer(t.Context(), he.ID()); err != nil {
		t.Fatalf("host given in Config.Host closed with the node: %v", err)
	}
}
