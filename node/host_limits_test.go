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
