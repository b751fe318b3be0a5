package node

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/protocol"
)

// TestSlowInfoPeer: a server that starts answering /orbit/info/1.0.0
// after 9s delays neither the entry node's view refreshes nor its
// generations. Views older than their TTL are served at once while a
// refresh runs in the background; a refresh (and a fresh view) waits at
// most InfoWait for answers, keeps the slow server's last answer, and
// drops the late one.
func TestSlowInfoPeer(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[0]
	first := startNode(t, testConfig(t))
	serve(t, first, src, ServeOptions{Blocks: spanOf(0, 2)})
	slow := startNode(t, testConfig(t, first))
	serve(t, slow, src, ServeOptions{Blocks: spanOf(2, 4)})
	var sleepy atomic.Bool
	woken := make(chan struct{})
	t.Cleanup(func() { close(woken) }) // before the nodes close
	protocol.ServeInfo(slow.host, func() protocol.Info {
		if sleepy.Load() {
			select {
			case <-time.After(9 * time.Second):
			case <-woken:
			}
		}
		return slow.info()
	}, nil)

	const infoWait = 500 * time.Millisecond
	cfg := testConfig(t, first)
	cfg.ViewTTL = 100 * time.Millisecond
	cfg.InfoWait = infoWait
	entry := startNode(t, cfg)
	serve(t, entry, src, ServeOptions{NoBlocks: true, Entry: true})
	waitView(t, entry, src.ID(), 2)
	sleepy.Store(true)

	// Generations with the view's TTL past each time: none waits.
	for i := range 4 {
		time.Sleep(2 * cfg.ViewTTL)
		start := time.Now()
		got, st := generate(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens))
		el := time.Since(start)
		if !slices.Equal(got, c.GeneratedTokens) {
			t.Fatalf("generation %d: got %v\nwant %v", i, got, c.GeneratedTokens)
		}
		if len(st.Route) != 2 || st.Route[1].Peer != slow.ID() {
			t.Fatalf("generation %d: route %+v, want the slow server for [2,4)", i, st.Route)
		}
		t.Logf("generation %d: %v", i, el)
		if el > 3*time.Second {
			t.Errorf("generation %d took %v: it waited on the slow peer's info answer", i, el)
		}
	}
	// A fresh view waits InfoWait at most for the slow answer and keeps
	// the slow server's last one.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	v, err := entry.SwarmView(ctx, src.ID(), true)
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fresh view in %v with %d servers", el, len(v.Swarm.Servers))
	if el > infoWait+3*time.Second {
		t.Errorf("a fresh view took %v, InfoWait is %v", el, infoWait)
	}
	if _, ok := v.Peers[slow.ID().String()]; !ok || len(v.Swarm.Servers) != 2 {
		t.Errorf("fresh view %+v lost the slow server", v.Swarm.Servers)
	}
}
