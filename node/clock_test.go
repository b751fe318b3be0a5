package node

import (
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/sharding"
)

// TestBanExpires: a peer that failed a hop stays out of routes over the
// failed span only, for a backoff of the node's clock that doubles with
// each failure and starts over once it answers a step.
func TestBanExpires(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n := &swarmComponent{clock: fake, failed: map[peer.ID]*avoidance{}}
	p := peer.ID("bad")
	failed, other := sharding.Span{Start: 2, End: 4}, sharding.Span{Start: 0, End: 2}
	check := func(when string, span sharding.Span, want bool) {
		t.Helper()
		if got := n.avoided(p, span); got != want {
			t.Fatalf("%s (at %v): avoided over %v = %v, want %v", when, fake.Now(), span, got, want)
		}
	}
	// The first failure: avoidBase over the failed span.
	n.markFailed(p, failed)
	check("at once", failed, true)
	check("at once", sharding.Span{Start: 3, End: 5}, true)
	check("at once", other, false)
	if !n.isFailed(p) {
		t.Fatal("isFailed = false right after a failure")
	}
	fake.Advance(avoidBase)
	check("after the base", failed, true)
	fake.Advance(time.Nanosecond)
	check("past the base", failed, false)
	// Failing again before any success doubles it, and again.
	for _, d := range []time.Duration{2 * avoidBase, 4 * avoidBase} {
		n.markFailed(p, failed)
		fake.Advance(d)
		check("within the backoff", failed, true)
		fake.Advance(time.Nanosecond)
		check("past the backoff", failed, false)
	}
	// A success starts the backoff over.
	n.markOK(p, failed)
	n.markFailed(p, failed)
	fake.Advance(avoidBase + time.Nanosecond)
	check("after a success", failed, false)
	// The backoff is capped.
	for range 40 {
		n.markFailed(p, failed)
	}
	fake.Advance(avoidMax + time.Nanosecond)
	check("past the cap", failed, false)
	if n.isFailed(p) {
		t.Fatal("isFailed after every avoidance ended")
	}
	// An empty span bans every span.
	n.markFailed(p, sharding.Span{})
	check("banned over all", other, true)
}

// TestTransferTimes: a transfer's start, end and elapsed time are the
// tracker's clock readings.
func TestTransferTimes(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fake := clock.NewFake(at)
	tr := newTransfers(nil, nil)
	tr.clock = fake
	h := tr.begin(Transfer{Kind: TransferImport, File: "m.gguf"})
	fake.Advance(3 * time.Second)
	if got := snap(h).ProgressAt(fake.Now()).Elapsed; got != 3*time.Second {
		t.Fatalf("running: elapsed %v, want 3s", got)
	}
	fake.Advance(2 * time.Second)
	h.end(cid.Undef, nil)
	fake.Advance(time.Hour)
	got := snap(h)
	if !got.Started.Equal(at) || !got.Finished.Equal(at.Add(5*time.Second)) || got.Progress().Elapsed != 5*time.Second {
		t.Fatalf("ended: started %v finished %v elapsed %v", got.Started, got.Finished, got.Progress().Elapsed)
	}
}

func snap(h *transfer) Transfer {
	h.tr.mu.Lock()
	defer h.tr.mu.Unlock()
	return *h.t
}
