package api

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/metrics"
)

// acquireAsync starts an Acquire and returns where its error arrives.
func acquireAsync(ctx context.Context, s *Slots) chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.Acquire(ctx) }()
	return ch
}

// waitQueued waits until n generations wait.
func waitQueued(t *testing.T, s *Slots, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); s.Load().Queued != n; {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d, want %d", s.Load().Queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func admitted(ch chan error) bool {
	select {
	case err := <-ch:
		return err == nil
	case <-time.After(20 * time.Millisecond):
		return false
	}
}

// TestSlots: generations wait first come, first served; a raised limit
// admits waiting ones at once and a cut lets running ones finish; the
// queue's bound refuses with ErrBusy; a cancelled wait leaves the queue;
// the limit and waits reach the metrics.
func TestSlots(t *testing.T) {
	m := metrics.New()
	s := NewSlots(1, 3, m)
	ctx := context.Background()
	if err := s.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	a := acquireAsync(ctx, s)
	waitQueued(t, s, 1)
	b := acquireAsync(ctx, s)
	waitQueued(t, s, 2)
	cctx, cancel := context.WithCancel(ctx)
	c := acquireAsync(cctx, s)
	waitQueued(t, s, 3)
	if err := s.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("a fifth generation: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-c; err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if l := s.Load(); l.Active != 1 || l.Queued != 2 {
		t.Fatalf("after a cancelled wait: %+v", l)
	}
	// First come, first served.
	s.Release()
	if !admitted(a) || admitted(b) {
		t.Fatal("the first waiting generation was not the one admitted")
	}
	// A raise admits the waiting one at once.
	s.SetLimit(3)
	if !admitted(b) {
		t.Fatal("raising the limit admitted nobody")
	}
	if l := s.Load(); l.Active != 2 || l.Queued != 0 || l.MaxConcurrent != 3 {
		t.Fatalf("after the raise: %+v", l)
	}
	// A cut below the running ones lets them finish, and admits no more
	// until they are under it.
	s.SetLimit(1)
	d := acquireAsync(ctx, s)
	waitQueued(t, s, 1)
	s.Release()
	if admitted(d) {
		t.Fatal("admitted above the cut limit")
	}
	s.Release()
	if !admitted(d) {
		t.Fatal("not admitted once under the limit")
	}
	var out strings.Builder
	if err := m.WritePrometheus(&out); err != nil {
		t.Fatal(err)
	}
	sc, err := metrics.ParseText(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sc.Value("orbit_generation_slots"); v != 1 {
		t.Errorf("orbit_generation_slots %v, want 1", v)
	}
	// Admitted: the first at once, then a, b and d after waiting.
	if h := sc["orbit_generation_wait_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 4 || h.GetSampleSum() <= 0 {
		t.Errorf("orbit_generation_wait_seconds: %d waits summing %v, want 4 summing more than 0", h.GetSampleCount(), h.GetSampleSum())
	}
}
