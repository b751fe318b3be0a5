package sim

import (
	"container/heap"
	"time"
)

// eventKind says what an event does when it fires.
type eventKind uint8

const (
	evJoin      eventKind = iota // a new server arrives (Poisson)
	evLeave                      // a random live server leaves (Poisson)
	evReady                      // a server finished loading its span
	evExpire                     // a crashed server's record leaves the views
	evEpoch                      // a rebalancing epoch starts
	evRebalance                  // the turn holder checks whether to move
	evArrive                     // a client request arrives (Poisson)
	evDone                       // a request generated its last token
	evRetry                      // a request re-plans after a failure
	evSample                     // take a time-series sample
)

// event is one entry of the queue. peer and req index the simulator's
// tables; gen guards against stale events (a peer or request whose
// generation moved on since the event was scheduled ignores it).
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	peer int32
	req  int32
	gen  uint32
}

// before orders events by time, then by scheduling order.
func (e event) before(o event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// eventHeap implements heap.Interface over events.
type eventHeap []event

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// queue is the simulator's future event list. Events at the same time pop
// in the order they were pushed, so a run never depends on heap internals.
type queue struct {
	h   eventHeap
	seq uint64
}

// push schedules e at e.at and stamps it with the next sequence number.
func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	heap.Push(&q.h, e)
}

// pop removes and returns the earliest event; ok is false when empty.
func (q *queue) pop() (e event, ok bool) {
	if len(q.h) == 0 {
		return event{}, false
	}
	return heap.Pop(&q.h).(event), true
}

// len is the number of pending events.
func (q *queue) len() int { return len(q.h) }
