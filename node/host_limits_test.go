package node

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
)

// TestHostAdmitsManyInferStreamsFromOnePeer: a busy entry node opens one
// infer stream per generation to a server; the resource manager must admit
// many of them at once, each with the handler's frame reservation (the
// libp2p per-peer defaults of 16 MiB admitted only a handful).
func TestHostAdmitsManyInferStreamsFromOnePeer(t *testing.T) {
	const streams = 40
	newTestHost := func() *Config {
		return &Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Version: "test"}
	}
	key := func() crypto.PrivKey {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	server, err := newHost(newTestHost(), key(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := newHost(newTestHost(), key(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	release := make(chan struct{})
	var mu sync.Mutex
	admitted, refused := 0, 0
	var wg sync.WaitGroup
	wg.Add(streams)
	server.SetStreamHandler(protocol.InferID, func(st network.Stream) {
		defer wg.Done()
		ok := st.Scope().SetService(protocol.ServiceName) == nil &&
			st.Scope().ReserveMemory(protocol.MaxFrame, network.ReservationPriorityAlways) == nil
		mu.Lock()
		if ok {
			admitted++
		} else {
			refused++
		}
		mu.Unlock()
		<-release
		if ok {
			st.Scope().ReleaseMemory(protocol.MaxFrame)
		}
		st.Reset()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := client.Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		t.Fatal(err)
	}
	var opened []network.Stream
	for i := 0; i < streams; i++ {
		st, err := client.NewStream(ctx, server.ID(), protocol.InferID)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		if _, err := st.Write([]byte{0}); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		opened = append(opened, st)
	}
	// Wait until every handler has run its reservation.
	for {
		mu.Lock()
		n := admitted + refused
		mu.Unlock()
		if n == streams || ctx.Err() != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	for _, st := range opened {
		st.Reset()
	}
	if admitted != streams {
		t.Fatalf("%d of %d concurrent infer streams admitted (%d refused)", admitted, streams, refused)
	}
}

// TestHostRefusesFloodFromOnePeer: a peer that opens far more infer
// streams than any entry node needs, each holding a frame reservation
// (at protocol.FramePriority, as the infer and info handlers do), hits its
// per-peer memory cap: the excess is refused by the handler, every stream
// is handled (none stalls), and another peer is still admitted while the
// flood holds its streams. With the reservations at
// ReservationPriorityAlways the flood filled the peer's scope to the
// limit, the muxer had no memory left for stream windows, and new streams,
// the other peer's included, stalled.
func TestHostRefusesFloodFromOnePeer(t *testing.T) {
	const streams = 600 // 1.2 GiB of frame reservations: more than a peer may hold
	cfg := func() *Config { return &Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Version: "test"} }
	key := func() crypto.PrivKey {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	server, err := newHost(cfg(), key(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	flooder, err := newHost(cfg(), key(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	other, err := newHost(cfg(), key(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	release := make(chan struct{})
	var mu sync.Mutex
	admitted := map[peer.ID]int{}
	refused := map[peer.ID]int{}
	handled := 0
	server.SetStreamHandler(protocol.InferID, func(st network.Stream) {
		from := st.Conn().RemotePeer()
		ok := st.Scope().SetService(protocol.ServiceName) == nil &&
			st.Scope().ReserveMemory(protocol.MaxFrame, protocol.FramePriority) == nil
		mu.Lock()
		handled++
		if ok {
			admitted[from]++
		} else {
			refused[from]++
		}
		mu.Unlock()
		if !ok {
			st.Reset()
			return
		}
		<-release
		st.Scope().ReleaseMemory(protocol.MaxFrame)
		st.Reset()
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range []interface {
		Connect(context.Context, peer.AddrInfo) error
	}{flooder, other} {
		if err := c.Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	opened := 0
	for i := 0; i < streams; i++ {
		st, err := flooder.NewStream(ctx, server.ID(), protocol.InferID)
		if err != nil {
			continue // refused before the handler: also a refusal
		}
		defer st.Reset()
		if _, err := st.Write([]byte{0}); err == nil {
			opened++
		}
	}
	waitFor := func(n int) {
		for {
			mu.Lock()
			h := handled
			mu.Unlock()
			if h >= n || ctx.Err() != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(opened)
	octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
	defer ocancel()
	st, err := other.NewStream(octx, server.ID(), protocol.InferID)
	if err != nil {
		mu.Lock()
		t.Logf("flood: opened %d, handled %d, admitted %v, refused %v", opened, handled, admitted, refused)
		mu.Unlock()
		t.Fatalf("another peer during the flood: %v", err)
	}
	defer st.Reset()
	if _, err := st.Write([]byte{0}); err != nil {
		t.Fatalf("another peer during the flood: %v", err)
	}
	waitFor(opened + 1)

	mu.Lock()
	defer mu.Unlock()
	f, o := flooder.ID(), other.ID()
	t.Logf("flood of %d streams: %d admitted, %d refused by the handler, %d not opened; the other peer: %d admitted",
		streams, admitted[f], refused[f], streams-opened, admitted[o])
	if admitted[f] < 40 || admitted[f]+refused[f] != opened || admitted[f] >= streams {
		t.Fatalf("flood: %d admitted, %d refused of %d opened: want the excess refused, at least 40 admitted", admitted[f], refused[f], opened)
	}
	if admitted[o] != 1 {
		t.Fatalf("the other peer was refused during the flood (admitted %d, refused %d)", admitted[o], refused[o])
	}
}
