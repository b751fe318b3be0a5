package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/orbitswarm/orbit/metrics"
)

// Slots admits generations: at most a limit run at once, at most maxQueue
// more wait (first come, first served), and any beyond that are refused
// with ErrBusy. The limit may change while generations run (SetLimit): a
// raise admits waiting generations at once, a cut lets running ones
// finish. Every change of the counts is published to the metrics as the
// node's load, every wait as an admission wait. Backends share it so that
// local and swarm nodes behave alike.
type Slots struct {
	maxQueue int
	metrics  *metrics.Metrics

	mu             sync.Mutex
	limit          int
	active, queued int
	waiting        []chan struct{} // closed when admitted, in arrival order
}

// NewSlots returns a Slots of maxConcurrent slots; metrics may be nil.
func NewSlots(maxConcurrent, maxQueue int, m *metrics.Metrics) *Slots {
	s := &Slots{limit: max(maxConcurrent, 1), maxQueue: maxQueue, metrics: m}
	m.SetSlots(s.limit)
	return s
}

// SetLimit changes how many generations run at once (at least 1).
func (s *Slots) SetLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = max(n, 1)
	if n == s.limit {
		return
	}
	s.limit = n
	s.metrics.SetSlots(n)
	s.admitLocked()
}

// admitLocked hands free slots to the generations waiting longest.
func (s *Slots) admitLocked() {
	for s.active < s.limit && len(s.waiting) > 0 {
		close(s.waiting[0])
		s.waiting = s.waiting[1:]
		s.queued--
		s.active++
	}
	s.publishLocked()
}

// Acquire takes a slot, waiting in the queue if there is room. Release
// must follow a nil error.
func (s *Slots) Acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.active < s.limit && len(s.waiting) == 0 {
		s.active++
		s.publishLocked()
		s.mu.Unlock()
		s.metrics.ObserveAdmission(0)
		return nil
	}
	if s.active+s.queued >= s.limit+s.maxQueue {
		limit := s.limit
		s.mu.Unlock()
		return fmt.Errorf("%w: %d generations running and %d waiting", ErrBusy, limit, s.maxQueue)
	}
	start := time.Now()
	ch := make(chan struct{})
	s.waiting = append(s.waiting, ch)
	s.queued++
	s.publishLocked()
	s.mu.Unlock()
	select {
	case <-ch:
		s.metrics.ObserveAdmission(time.Since(start))
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiting {
			if w == ch {
				s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
				s.queued--
				s.publishLocked()
				return fmt.Errorf("api: waiting for a generation slot: %w", ctx.Err())
			}
		}
		// Admitted as the context ended: give the slot back.
		s.active--
		s.admitLocked()
		return fmt.Errorf("api: waiting for a generation slot: %w", ctx.Err())
	}
}

// Release returns a slot taken by Acquire.
func (s *Slots) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	s.admitLocked()
}

// Load reports the current counts and limits.
func (s *Slots) Load() Load {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Load{Active: s.active, Queued: s.queued, MaxConcurrent: s.limit, MaxQueue: s.maxQueue}
}

func (s *Slots) publishLocked() {
	if s.metrics != nil {
		s.metrics.SetLoad(s.active, s.queued)
	}
}
