// Package entry is the entry node's generation as a pure state machine:
// route planning, the step pipeline through the hops, failover of a hop
// that fails and replay of its inputs into the hops that replace it.
//
// It does no I/O, starts no goroutines and reads no clock, in the style
// of etcd-io/raft: a driver (package node) feeds it events with the time
// they happened (Core.Step) and carries out the actions it returns:
// fetching a swarm view, opening sessions, sending steps, awaiting
// results, banning peers. Each call returns the actions in the order they
// are to be done; at most the last of them is a request whose answer the
// driver feeds back as the next event (FetchView, Open, Await), or the
// last is one of Ready, Output or Fail. Equal events give equal actions,
// so scenarios (a hung peer, a lying peer, a failover in the middle of
// the prefill, a peer gone during a replay) are tested in microseconds.
//
// The core is where the entry node's protocol grows: a new kind of check
// or step is an event and an action more, not a change to the driver's
// stream code. Hops are named by HopID and every request is answered by
// ID and sequence, so a step may be sent to a second server (to verify a
// peer by recomputation) as a Send and an Await on a hop outside the
// route; Rollback takes the generation back to an accepted length (for
// speculative decoding).
package entry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// ErrNoRoute is wrapped when the swarm cannot run a model's blocks.
var ErrNoRoute = errors.New("node: no route through the swarm")

// ErrUnverified is wrapped when a hop and its verifier disagree and no
// third server can tell which of them lied.
var ErrUnverified = errors.New("node: verification failed")

// MaxFailovers bounds the hops one generation may replace.
const MaxFailovers = 16

// openAttempts bounds the routes tried at the start and for each failover.
const openAttempts = 4

// HopID names one opened (or to be opened) hop of a generation; the
// driver keeps its stream under this ID. IDs are never reused.
type HopID int

// NoHop is the HopID of no hop (an Open without a tail).
const NoHop HopID = -1

// Hop is one hop of a route: a server and the blocks it runs.
type Hop struct {
	ID   HopID
	Peer peer.ID
	Span sharding.Span
}

func (h Hop) String() string { return fmt.Sprintf("%d:%s%v", h.ID, h.Peer, h.Span) }

// RouteHop is one hop of a route, as reported and as pinned.
type RouteHop struct {
	Peer peer.ID
	Span sharding.Span
}

// HopStats is where a hop's time went, summed over its steps. Compute and
// Queue are what the server reported; Network is the rest of the round
// trip the entry node saw (from the previous hop's result, or from sending
// the step to the first hop, to this hop's result): transfer, encoding
// and protocol overhead.
type HopStats struct {
	Server  peer.ID
	Span    sharding.Span
	Steps   int
	Compute time.Duration
	Queue   time.Duration
	Network time.Duration
}

// RoundTrip is the hop's whole time.
func (h HopStats) RoundTrip() time.Duration { return h.Compute + h.Queue + h.Network }

// Stats are the core's counters of a generation.
type Stats struct {
	Route     []RouteHop // the route now
	Failovers int        // hops replaced
	Steps     int        // pipeline passes
	Relayed   int        // steps handed on by the entry node after a failed push
	Hops      []HopStats // per server, in order of first use
	Verify    VerifyStats
}

// Event is something that happened, fed to Core.Step.
type Event interface{ event() }

// Start begins the generation: plan a route (or take the pinned one) and
// open it.
type Start struct{}

// ViewUpdate answers FetchView: the servers of the model, and which of
// them are banned (recently failed, for any generation of this node).
type ViewUpdate struct {
	Swarm  sharding.Swarm
	Peers  map[string]peer.ID // sharding server ID -> peer
	Banned map[string]bool    // sharding server IDs
	// Sessions counts the sessions the node's other generations hold on
	// each server (sharding server IDs), so that routes spread over
	// replicas (sharding.RouteOptions.Sessions).
	Sessions map[string]int
}

// ViewFailed answers FetchView when no view could be had; the generation
// fails with Err.
type ViewFailed struct{ Err error }

// Opened answers Open: every hop of it has a session.
type Opened struct{}

// OpenFailed answers Open: Hop refused or could not be reached (the driver
// has closed the sessions of the Open it had opened).
type OpenFailed struct {
	Hop HopID
	Err error
}

// Submit runs rows of hidden states at positions Pos.. through the route.
type Submit struct {
	Pos    int
	Hidden protocol.Hidden
}

// Rollback drops every position from Len on: the inputs kept for replay
// forget them, so a later failover replays only the accepted positions,
// every hop is told to Truncate its KV cache, and the next Submit at Len
// writes over them on the servers (their KV caches are positional). It is
// for speculative decoding, whose rejected draft tokens are rolled back;
// answered with the Truncates and Ready.
type Rollback struct{ Len int }

// StepResult answers Await: the hop's result, checked by the driver (its
// hidden states decode as Rows rows of the model's dimension).
type StepResult struct {
	Hop    HopID
	Seq    uint64
	Result protocol.Result
}

// HopFailed answers Await: the hop's stream ended, it reported an error,
// a send to it had failed, or the driver found its result bad.
type HopFailed struct {
	Hop HopID
	Seq uint64
	Err error
}

// Timeout answers Await: the hop gave no result by the deadline.
type Timeout struct {
	Hop HopID
	Seq uint64
}

func (Start) event()      {}
func (ViewUpdate) event() {}
func (ViewFailed) event() {}
func (Opened) event()     {}
func (OpenFailed) event() {}
func (Submit) event()     {}
func (Rollback) event()   {}
func (StepResult) event() {}
func (HopFailed) event()  {}
func (Timeout) event()    {}

// Action is something the driver is to do.
type Action interface{ String() string }

// FetchView asks for the model's swarm view (Fresh: gathered anew, not a
// cached one); answer with ViewUpdate or ViewFailed.
type FetchView struct{ Fresh bool }

// Open asks to open sessions on Hops, from the last to the first so that
// each knows where to push; the last pushes to Tail (NoHop: nowhere).
// Answer with Opened or OpenFailed.
type Open struct {
	Hops []Hop
	Tail HopID
}

// Send sends a step to a hop. A failed send is reported by the hop's next
// Await (HopFailed).
type Send struct {
	Hop  HopID
	Step protocol.Step
}

// Await asks for the hop's result of step Seq, Rows rows of hidden
// states, by Deadline; answer with StepResult, HopFailed or Timeout.
type Await struct {
	Hop      HopID
	Seq      uint64
	Rows     int
	Deadline time.Time
}

// SetNext tells a hop where to push from now on. A failure is reported by
// the hop's next Await.
type SetNext struct{ Hop, Next HopID }

// Truncate tells a hop to forget every position from Len on, as of step
// Seq (the last step it ran). A hop that cannot (a server without the
// truncate capability) is skipped: the next step rewrites the positions
// anyway. A failed send is reported by the hop's next Await.
type Truncate struct {
	Hop HopID
	Seq uint64
	Len int
}

// Reset aborts a hop's session.
type Reset struct{ Hop HopID }

// Ban keeps a peer out of this node's routes over Span for a while:
// it failed a hop of that span (a step, an open or a replay). An empty
// Span bans it over every span.
type Ban struct {
	Peer peer.ID
	Span sharding.Span
}

// Observe reports a hop's round trip of one step.
type Observe struct {
	Peer      peer.ID
	Span      sharding.Span
	Rows      int
	RoundTrip time.Duration
}

// Ready says the route is open: Submit steps.
type Ready struct{}

// Output is the last hop's output of step Seq: the step is done.
type Output struct {
	Seq    uint64
	Hidden protocol.Hidden
}

// Fail ends the generation with Err.
type Fail struct{ Err error }

func (a FetchView) String() string {
	if a.Fresh {
		return "fetch-view fresh"
	}
	return "fetch-view"
}

func (a Open) String() string {
	var b strings.Builder
	b.WriteString("open")
	for _, h := range a.Hops {
		b.WriteString(" " + h.String())
	}
	if a.Tail != NoHop {
		fmt.Fprintf(&b, " tail=%d", a.Tail)
	}
	return b.String()
}

func (a Send) String() string {
	return fmt.Sprintf("send %d seq=%d pos=%d rows=%d fwd=%d", a.Hop, a.Step.Seq, a.Step.Pos, a.Step.Hidden.Rows, a.Step.Forward)
}

func (a Await) String() string { return fmt.Sprintf("await %d seq=%d", a.Hop, a.Seq) }
func (a SetNext) String() string {
	return fmt.Sprintf("set-next %d -> %d", a.Hop, a.Next)
}
func (a Reset) String() string { return fmt.Sprintf("reset %d", a.Hop) }
func (a Ban) String() string   { return fmt.Sprintf("ban %s", a.Peer) }
func (a Observe) String() string {
	return fmt.Sprintf("observe %s%v %v", a.Peer, a.Span, a.RoundTrip)
}
func (Ready) String() string { return "ready" }
func (a Output) String() string {
	return fmt.Sprintf("output seq=%d rows=%d", a.Seq, a.Hidden.Rows)
}
func (a Fail) String() string { return fmt.Sprintf("fail: %v", a.Err) }
func (a Truncate) String() string {
	return fmt.Sprintf("truncate %d seq=%d len=%d", a.Hop, a.Seq, a.Len)
}
