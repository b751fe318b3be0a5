package api

import (
	"context"
	"fmt"
	"sync"

	"github.com/orbitswarm/orbit/metrics"
)

// Slots admits generations: at most maxConcurrent run at once, at most
// maxQueue more wait, and any beyond that are refused with ErrBusy. Every
// change of the counts is published to the metrics as the node's load.
// Backends share it so that local and swarm nodes behave alike.
type Slots struct {
	slots    chan struct{}
	maxQueue int
	metrics  *metrics.Metrics

	mu             sync.Mutex
	active, queued int
}

// NewSlots returns a Slots; metrics may be nil.
func NewSlots(maxConcurrent, maxQueue int, m *metrics.Metrics) *Slots {
	return &Slots{slots: make(chan struct{}, maxConcurrent), maxQueue: maxQueue, metrics: m}
}

// Acquire takes a slot, waiting in the queue if there is room. Release
// must follow a nil error.
func (s *Slots) Acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.active+s.queued >= cap(s.slots)+s.maxQueue {
		s.mu.Unlock()
		return fmt.Errorf("%w: %d generations running and %d waiting", ErrBusy, cap(s.slots), s.maxQueue)
	}
	s.queued++
	s.publishLocked()
	s.mu.Unlock()
	select {
	case s.slots <- struct{}{}:
		s.mu.Lock()
		s.queued--
		s.active++
		s.publishLocked()
		s.mu.Unlock()
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		s.queued--
		s.publishLocked()
		s.mu.Unlock()
		return fmt.Errorf("api: waiting for a generation slot: %w", ctx.Err())
	}
}

// Release returns a slot taken by Acquire.
func (s *Slots) Release() {
	<-s.slots
	s.mu.Lock()
	s.active--
	s.publishLocked()
	s.mu.Unlock()
}

// Load reports the current counts and limits.
func (s *Slots) Load() Load {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Load{Active: s.active, Queued: s.queued, MaxConcurrent: cap(s.slots), MaxQueue: s.maxQueue}
}

func (s *Slots) publishLocked() {
	if s.metrics != nil {
		s.metrics.SetLoad(s.active, s.queued)
	}
}
