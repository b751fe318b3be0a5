package node

import (
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/clock"
)

// TestBanExpires: a peer that failed a hop stays out of routes for a
// minute of the node's clock, then is usable again.
func TestBanExpires(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n := &swarmComponent{clock: fake, failed: map[peer.ID]time.Time{}}
	p := peer.ID("bad")
	n.markFailed(p)
	for _, step := range []struct {
		advance time.Duration
		want    bool
	}{{0, true}, {59 * time.Second, true}, {time.Second, true}, {time.Nanosecond, false}, {time.Hour, false}} {
		fake.Advance(step.advance)
		if got := n.isFailed(p); got != step.want {
			t.Fatalf("after +%v (at %v): isFailed = %v, want %v", step.advance, fake.Now(), got, step.want)
		}
	}
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
