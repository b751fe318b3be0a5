package node

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/orbitswarm/orbit/protocol"
)

// TestTransports: a node listening on TCP and QUIC accepts peers that
// speak only one of its transports and only one of its security
// protocols (Noise, TLS), multiplexes TCP with yamux, and answers Orbit's
// protocols over each.
func TestTransports(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	n := startNode(t, cfg)
	for _, tc := range []struct {
		name      string
		opts      []libp2p.Option
		proto     int // multiaddr protocol of the address dialed
		transport string
		security  libp2pproto.ID
		muxer     libp2pproto.ID
	}{
		{"tcp with noise", []libp2p.Option{libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(noise.ID, noise.New), libp2p.Muxer(yamux.ID, yamux.DefaultTransport)},
			ma.P_TCP, "tcp", noise.ID, yamux.ID},
		{"tcp with tls", []libp2p.Option{libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(libp2ptls.ID, libp2ptls.New), libp2p.Muxer(yamux.ID, yamux.DefaultTransport)},
			ma.P_TCP, "tcp", libp2ptls.ID, yamux.ID},
		{"quic", []libp2p.Option{libp2p.Transport(quic.NewTransport)}, ma.P_QUIC_V1, "quic-v1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := libp2p.New(append(tc.opts, libp2p.NoListenAddrs, libp2p.DisableRelay())...)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			var addrs []ma.Multiaddr
			for _, a := range n.Host().Addrs() {
				if _, err := a.ValueForProtocol(tc.proto); err == nil {
					addrs = append(addrs, a)
				}
			}
			if len(addrs) == 0 {
				t.Fatalf("the node listens on no %s address: %v", tc.transport, n.Host().Addrs())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := h.Connect(ctx, peer.AddrInfo{ID: n.ID(), Addrs: addrs}); err != nil {
				t.Fatal(err)
			}
			conns := h.Network().ConnsToPeer(n.ID())
			if len(conns) != 1 {
				t.Fatalf("%d connections", len(conns))
			}
			cs := conns[0].ConnState()
			if cs.Transport != tc.transport || cs.Security != tc.security || cs.StreamMultiplexer != tc.muxer {
				t.Fatalf("connection state %+v, want transport %s, security %q, muxer %q", cs, tc.transport, tc.security, tc.muxer)
			}
			in, err := protocol.QueryInfo(ctx, h, n.ID())
			if err != nil || in.Version != "test" {
				t.Fatalf("info over %s: %+v, %v", tc.name, in, err)
			}
		})
	}
}
