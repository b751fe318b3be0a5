package node

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"

	"github.com/orbitswarm/orbit/node/entry"
	"github.com/orbitswarm/orbit/protocol"
)

// deadUDP is a UDP socket that can die as a killed process's does: from
// then on nothing it sends leaves and nothing sent to it is read, with no
// goodbye (no QUIC CONNECTION_CLOSE), so its peers' QUIC connections look
// alive until their idle timeout (30s). It embeds the net.PacketConn
// interface, not *net.UDPConn, so that QUIC uses ReadFrom and WriteTo.
type deadUDP struct {
	net.PacketConn
	dead *atomic.Bool
}

func (c deadUDP) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || !c.dead.Load() {
			return n, addr, err
		}
	}
}

func (c deadUDP) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.dead.Load() {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

// killableQUICHost is a libp2p host reachable only over QUIC on loopback,
// whose UDP sockets die when dead is set.
func killableQUICHost(t *testing.T, dead *atomic.Bool) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.Transport(quic.NewTransport),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/udp/0/quic-v1"),
		libp2p.QUICReuse(quicreuse.NewConnManager, quicreuse.OverrideListenUDP(func(network string, laddr *net.UDPAddr) (net.PacketConn, error) {
			c, err := net.ListenUDP(network, laddr)
			if err != nil {
				return nil, err
			}
			return deadUDP{c, dead}, nil
		})),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestDeadQUICPeer: a server reached over QUIC is killed without a
// goodbye (its UDP socket goes silent, as after kill -9). Over QUIC its
// connection looks alive for 30s more; the entry node must not wait on
// it. A generation running through it fails over within a step's
// deadline; the next one, opening a session on it from the view it had,
// gives up on the open within the step floor and routes around it; with
// no other server of its span the request fails (the API's 503) as soon.
func TestDeadQUICPeer(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[0]
	quicOnly := func(cfg Config) Config {
		cfg.Listen = []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
		cfg.StepTimeout = 0 // derived deadlines
		return cfg
	}
	first := startNode(t, quicOnly(testConfig(t)))
	serve(t, first, src, ServeOptions{Blocks: spanOf(0, 2)})
	newVictim := func() (*Node, *atomic.Bool) {
		var dead atomic.Bool
		cfg := quicOnly(testConfig(t, first))
		cfg.Host = killableQUICHost(t, &dead)
		n := startNode(t, cfg)
		serve(t, n, src, ServeOptions{Blocks: spanOf(2, 4)})
		// Routes prefer it to the backup (slowed down below).
		protocol.ServeInfo(n.host, func() protocol.Info {
			in := n.info()
			for i := range in.Models {
				in.Models[i].Throughput *= 1e3
			}
			return in
		}, nil)
		return n, &dead
	}
	newEntry := func(servers int) *Node {
		en := startNode(t, quicOnly(testConfig(t, first)))
		serve(t, en, src, ServeOptions{NoBlocks: true, Entry: true})
		waitView(t, en, src.ID(), servers)
		return en
	}
	maxTokens := c.Steps + 1 - len(c.PromptTokens)
	bound := entry.DefaultStepFloor + 5*time.Second

	t.Run("no other server", func(t *testing.T) {
		_, dead := newVictim()
		en := newEntry(2)
		got, _ := generate(t, en, src.ID(), c.PromptTokens, maxTokens)
		if !slices.Equal(got, c.GeneratedTokens) {
			t.Fatalf("before the kill: got %v", got)
		}
		dead.Store(true)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_, err := en.Generate(ctx, src.ID(), c.PromptTokens, maxTokens, nil, nil, func(int32) error { return nil })
		el := time.Since(start)
		t.Logf("the request after the kill failed in %v: %v", el, err)
		if !errors.Is(err, ErrNoRoute) {
			t.Errorf("error %v, want ErrNoRoute (the API's 503)", err)
		}
		if el > bound {
			t.Errorf("failing took %v, want at most %v", el, bound)
		}
	})

	backup := startNode(t, quicOnly(testConfig(t, first)))
	serve(t, backup, src, ServeOptions{Blocks: spanOf(2, 4)})
	protocol.ServeInfo(backup.host, func() protocol.Info {
		in := backup.info()
		for i := range in.Models {
			in.Models[i].Throughput /= 1e3
		}
		return in
	}, nil)

	t.Run("next request", func(t *testing.T) {
		victim, dead := newVictim()
		en := newEntry(3)
		if got, st := generate(t, en, src.ID(), c.PromptTokens, maxTokens); !slices.Equal(got, c.GeneratedTokens) || st.Route[1].Peer != victim.ID() {
			t.Fatalf("before the kill: got %v via %+v", got, st.Route)
		}
		dead.Store(true)
		start := time.Now()
		got, st := generate(t, en, src.ID(), c.PromptTokens, maxTokens)
		el := time.Since(start)
		t.Logf("the request after the kill took %v via %+v", el, st.Route)
		if !slices.Equal(got, c.GeneratedTokens) {
			t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
		}
		if el > bound {
			t.Errorf("it took %v, want at most %v", el, bound)
		}
	})

	t.Run("mid-generation", func(t *testing.T) {
		victim, dead := newVictim()
		en := newEntry(3)
		var got []int32
		var gaps []time.Duration
		last := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		st, err := en.Generate(ctx, src.ID(), c.PromptTokens, maxTokens, nil, func(tok int32) bool { return tok == 1 }, func(tok int32) error {
			got = append(got, tok)
			gaps = append(gaps, time.Since(last))
			last = time.Now()
			if len(got) == 5 {
				if victim.infer.Sessions() == 0 {
					t.Error("the victim is not in the route")
				}
				dead.Store(true)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.GeneratedTokens) {
			t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
		}
		stall := slices.Max(gaps[5:])
		t.Logf("the kill cost %v, %d failovers", stall, st.Failovers)
		if st.Failovers != 1 || stall > bound {
			t.Errorf("%d failovers, the kill cost %v; want 1 failover within %v", st.Failovers, stall, bound)
		}
	})
}
