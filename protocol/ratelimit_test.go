package protocol

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestPeerLimiter: a peer gets its burst at once, then the rate; peers do
// not share buckets; the buckets of many peers stay bounded.
func TestPeerLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newPeerLimiter(RateLimit{Rate: 10, Burst: 3}, func() time.Time { return now })
	a, b := peer.ID("a"), peer.ID("b")
	for _, step := range []struct {
		advance time.Duration
		p       peer.ID
		want    bool
	}{
		// The burst, then another peer's own bucket.
		{0, a, true}, {0, a, true}, {0, a, true}, {0, a, false}, {0, b, true},
		// 10 a second.
		{50 * time.Millisecond, a, false}, {50 * time.Millisecond, a, true}, {0, a, false},
		// Refilled to the burst, no more.
		{time.Hour, a, true}, {0, a, true}, {0, a, true}, {0, a, false},
	} {
		now = now.Add(step.advance)
		if got := l.allow(step.p); got != step.want {
			t.Fatalf("at %v: allow(%s) = %v, want %v", now, step.p, got, step.want)
		}
	}
	if !newPeerLimiter(RateLimit{}, nil).allow(a) {
		t.Fatal("a zero rate limits")
	}
	for i := range 3 * maxBuckets {
		now = now.Add(time.Millisecond)
		l.allow(peer.ID(fmt.Sprint(i)))
	}
	if n := len(l.buckets); n > maxBuckets {
		t.Fatalf("%d buckets kept, at most %d", n, maxBuckets)
	}
}

// flood runs queries from 32 goroutines of the flooder for d while the
// other host asks every 50ms; it returns how many of the flooder's were
// answered, and the other's answers and slowest answer.
func flood(t *testing.T, d time.Duration, ask func(ctx context.Context, from host.Host) error, flooder, other host.Host) (flooded int64, answered, asked int, slowest time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for ctx.Err() == nil {
				qctx, qcancel := context.WithTimeout(ctx, time.Second)
				if ask(qctx, flooder) == nil {
					ok.Add(1)
				}
				qcancel()
			}
		})
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-tick.C:
		case <-ctx.Done():
			continue
		}
		start := time.Now()
		qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := ask(qctx, other)
		qcancel()
		asked++
		if err == nil {
			answered++
			slowest = max(slowest, time.Since(start))
		} else {
			t.Logf("the other peer's query: %v", err)
		}
	}
	wg.Wait()
	return ok.Load(), answered, asked, slowest
}

// TestInfoRateLimit: a peer flooding /orbit/info/1.0.0 from 32 goroutines
// is answered at the info rate (its burst, then DefaultInfoRate a second),
// while another peer's queries are all answered promptly.
func TestInfoRateLimit(t *testing.T) {
	server, flooder, other := newHost(t), newHost(t), newHost(t)
	ServeInfo(server, func() Info { return Info{Version: "test"} }, quiet)
	for _, h := range []host.Host{flooder, other} {
		if err := h.Connect(context.Background(), peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	const d = time.Second
	start := time.Now()
	flooded, answered, asked, slowest := flood(t, d, func(ctx context.Context, from host.Host) error {
		_, err := QueryInfo(ctx, from, server.ID())
		return err
	}, flooder, other)
	el := time.Since(start)
	limit := float64(DefaultInfoRate.Burst) + DefaultInfoRate.Rate*el.Seconds() + 1
	t.Logf("flooder: %d answers in %v (limit %.0f); other peer: %d of %d answered, slowest %v", flooded, el, limit, answered, asked, slowest)
	if float64(flooded) > limit {
		t.Errorf("the flooder got %d answers in %v, more than %.0f", flooded, el, limit)
	}
	if answered != asked || asked == 0 {
		t.Errorf("the other peer got %d of %d answers", answered, asked)
	}
	if slowest > time.Second {
		t.Errorf("the other peer waited %v for an answer", slowest)
	}
}

// TestBlocksRateLimit: as TestInfoRateLimit, for /orbit/blocks/1.0.0.
func TestBlocksRateLimit(t *testing.T) {
	st, cids := testBlocks(1, 64)
	rate := RateLimit{Rate: 20, Burst: 10}
	server, flooder := pair(t, st, BlockServerOptions{Rate: rate, MaxPerPeer: 64})
	other := newHost(t)
	if err := other.Connect(context.Background(), peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		t.Fatal(err)
	}
	const d = time.Second
	start := time.Now()
	flooded, answered, asked, slowest := flood(t, d, func(ctx context.Context, from host.Host) error {
		return NewBlockClient(from, time.Second).Get(ctx, server.ID(), cids, func(Block) error { return nil })
	}, flooder, other)
	el := time.Since(start)
	limit := float64(rate.Burst) + rate.Rate*el.Seconds() + 1
	t.Logf("flooder: %d answers in %v (limit %.0f); other peer: %d of %d answered, slowest %v", flooded, el, limit, answered, asked, slowest)
	if float64(flooded) > limit {
		t.Errorf("the flooder got %d answers in %v, more than %.0f", flooded, el, limit)
	}
	if answered != asked || asked == 0 {
		t.Errorf("the other peer got %d of %d answers", answered, asked)
	}
	if slowest > time.Second {
		t.Errorf("the other peer waited %v for an answer", slowest)
	}
}

// TestReportRateLimit: a peer flooding /orbit/report/1.0.0 gets no more
// reports judged than its bucket holds, while another peer's reports
// are all judged.
func TestReportRateLimit(t *testing.T) {
	server, flooder, other := newHost(t), newHost(t), newHost(t)
	// The other peer sends a report every 50ms (20 a second), within
	// the bucket's 25; the flooder's 32 senders are far over it.
	rate := RateLimit{Rate: 25, Burst: 5}
	var mu sync.Mutex
	judged := map[peer.ID]int{}
	stop := ServeReportsLimited(server, func(from peer.ID, _ Report, _ error) {
		mu.Lock()
		judged[from]++
		mu.Unlock()
	}, quiet, rate)
	defer stop()
	for _, h := range []host.Host{flooder, other} {
		if err := h.Connect(context.Background(), peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := newSigner(t), newSigner(t), newSigner(t)
	r := Report{a.answer(t, 1, Digest{1}, Digest{3}), []SignedAnswer{b.answer(t, 2, Digest{1}, Digest{2}), c.answer(t, 5, Digest{1}, Digest{2})}}
	const d = time.Second
	start := time.Now()
	_, _, asked, _ := flood(t, d, func(ctx context.Context, from host.Host) error {
		return SendReport(ctx, from, server.ID(), r, time.Second)
	}, flooder, other)
	el := time.Since(start)
	// Reports already sent are judged after their streams close: wait
	// until the other peer's have all been counted.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := judged[other.ID()]
		mu.Unlock()
		if got >= asked || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	limit := float64(rate.Burst) + rate.Rate*(el.Seconds()+0.5) + 1
	t.Logf("flooder: %d reports judged in %v (limit %.0f); other peer: %d of %d", judged[flooder.ID()], el, limit, judged[other.ID()], asked)
	if float64(judged[flooder.ID()]) > limit {
		t.Errorf("the flooder got %d reports judged, more than %.0f", judged[flooder.ID()], limit)
	}
	if judged[flooder.ID()] == 0 {
		t.Error("none of the flooder's reports was judged: the limit refuses everything")
	}
	if judged[other.ID()] != asked || asked == 0 {
		t.Errorf("the other peer got %d of %d reports judged", judged[other.ID()], asked)
	}
}
