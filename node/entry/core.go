package entry

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// Config is what the core of one generation works with.
type Config struct {
	Model    string
	Blocks   int // the model's blocks: routes cover [0,Blocks)
	Dim      int
	Encoding protocol.Encoding
	MaxLen   int // positions the sessions hold (prompt and new tokens)
	Chunk    int // rows a replay step may carry at most
	Mode     sharding.Mode
	// Spread makes routes the least loaded of those within 1+Spread of
	// the cheapest (sharding.RouteOptions.Spread); 0 takes the cheapest.
	Spread float64
	// StepTimeout, when positive, is how long a hop has for every
	// step's result. Zero derives each step's deadline from the hop's
	// observed step times (round trips less compute, and compute per row,
	// as moving averages) or, before its first result, from the RTT and
	// throughput the view gives it: a multiple of the expected time, no
	// shorter than StepFloor and no longer than StepCap, so a stalled hop
	// is given up on in about the time its step should take.
	StepTimeout time.Duration
	// StepFloor and StepCap bound the derived deadlines
	// (DefaultStepFloor, DefaultStepCap).
	StepFloor, StepCap time.Duration
	// Route, when set, is opened as the route instead of a planned one;
	// it must cover the blocks in order. Failovers plan as usual.
	Route  []RouteHop
	Logger *slog.Logger
	// VerifyRate is the share of (step, hop) pairs checked by
	// recomputation (0: none, 1: every step of every hop); see Check.
	VerifyRate float64
	// Seed seeds the choice of the steps checked and of the verifiers
	// (the driver draws it from crypto/rand, so a peer cannot predict
	// it; equal seeds give equal actions).
	Seed uint64
	// Self is the entry node's own peer: a hop it serves is not checked,
	// and it verifies, and judges, spans it serves itself.
	Self peer.ID
}

type phase int

const (
	phaseIdle      phase = iota // before Start
	phasePlanning               // waiting for a view
	phaseOpening                // waiting for an Open's answer
	phaseReady                  // route open, no step running
	phaseStepping               // waiting for hops[step.i]'s result
	phaseReplaying              // waiting for a replay step's result
	phaseDone                   // failed: no more events
	phaseCheckView              // a check waits for a view to pick a verifier or judge
	phaseCheckOpen              // a check waits for its verifier's or judge's Open
	phaseChecking               // a check waits for a verifier's or judge's result
)

func (p phase) String() string {
	return [...]string{"idle", "planning", "opening", "ready", "stepping", "replaying", "done", "check-view", "check-open", "checking"}[p]
}

// record is one step's input to a hop, kept for replay.
type record struct {
	seq uint64
	pos int
	h   protocol.Hidden
}

type hop struct {
	Hop
	inputs []record
	timing int // index in Core.timing, -1 until the hop ran a step

	// Verification: the outputs the hop returned (one per input, in
	// order), the digest chains of its inputs and outputs by position
	// (as a signing server computes them: inCh[p] covers rows 0..p-1),
	// the positions a check has confirmed, the session that checks it
	// (a shadow of its span on another server, in sync with its inputs)
	// and its last signed answer.
	outputs     []record
	inCh, outCh []protocol.Digest
	checked     int
	shadow      *hop
	// unchecked: a check found no other server of the span (said once).
	unchecked bool
	fed       int // of a shadow: the positions it has been given
	answer    Answer

	pace pace // how fast it answers, for its step deadlines
}

func (h *hop) setInput(r record) {
	h.inCh = extendChain(h.inCh, r)
	if k := len(h.inputs); k > 0 && h.inputs[k-1].seq == r.seq {
		h.inputs[k-1] = r
		return
	}
	h.inputs = append(h.inputs, r)
}

func (h *hop) setOutput(r record) {
	h.outCh = extendChain(h.outCh, r)
	if k := len(h.outputs); k > 0 && h.outputs[k-1].seq == r.seq {
		h.outputs[k-1] = r
		return
	}
	h.outputs = append(h.outputs, r)
}

// Core is the state of one generation. Its zero value is not usable;
// make one with New.
type Core struct {
	cfg     Config
	log     *slog.Logger
	phase   phase
	out     []Action
	nextID  HopID
	hops    []*hop
	exclude map[string]bool
	seq     uint64
	fails   int
	steps   int
	relayed int
	timing  []HopStats
	waited  time.Duration // the deadline of the last Await, from its start
	rng     *rand.Rand
	chk     check
	verify  VerifyStats
	// noVerify are servers that failed as verifiers in this generation.
	noVerify map[string]bool

	// The step running.
	step struct {
		seq  uint64
		pos  int
		rows int
		i    int       // the hop whose result is due
		mark time.Time // when the previous result came, or the step was sent
	}
	// What a plan (and the Open after it) is for.
	plan struct {
		span    sharding.Span
		fresh   bool
		attempt int
		last    error
		pending []*hop // the Open's hops
		tail    HopID
		// failover: the hops replaced, k..m-1, and hop k itself (whose
		// inputs are replayed); nil at the start.
		old  *hop
		k, m int
	}
	// The replay into plan.pending.
	replay struct {
		j    int      // hop of plan.pending being replayed into
		in   []record // its inputs
		a, b int      // the batch in flight: in[a:b]
		outs []record
		seq  uint64
		pos  int
		rows int
		mark time.Time // when the batch was sent
	}
}

// New returns the core of a generation; Step it a Start to begin.
func New(cfg Config) *Core {
	c := &Core{cfg: cfg, log: cfg.Logger, exclude: map[string]bool{}, noVerify: map[string]bool{},
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cfg.Chunk <= 0 {
		c.cfg.Chunk = 1
	}
	if c.cfg.StepCap <= 0 {
		c.cfg.StepCap = DefaultStepCap
	}
	if c.cfg.StepFloor <= 0 {
		c.cfg.StepFloor = min(DefaultStepFloor, c.cfg.StepCap)
	}
	return c
}

// Stats returns the generation's counters so far.
func (c *Core) Stats() Stats {
	st := Stats{Failovers: c.fails, Steps: c.steps, Relayed: c.relayed, Hops: append([]HopStats(nil), c.timing...), Verify: c.verify}
	for _, h := range c.hops {
		st.Route = append(st.Route, RouteHop{Peer: h.Peer, Span: h.Span})
	}
	return st
}

// Route returns the hops of the route now, first to last.
func (c *Core) Route() []Hop {
	r := make([]Hop, len(c.hops))
	for i, h := range c.hops {
		r[i] = h.Hop
	}
	return r
}

// Step feeds an event that happened at now and returns what to do, in
// order.
func (c *Core) Step(now time.Time, ev Event) []Action {
	c.out = nil
	switch ev := ev.(type) {
	case Start:
		if c.phase != phaseIdle {
			return c.unexpected(ev)
		}
		c.start()
	case ViewUpdate:
		switch c.phase {
		case phasePlanning:
			c.onView(ev)
		case phaseCheckView:
			c.onCheckView(now, ev)
		default:
			return c.unexpected(ev)
		}
	case ViewFailed:
		switch c.phase {
		case phasePlanning:
			c.fail(ev.Err)
		case phaseCheckView:
			c.noCheckServer(now)
		default:
			return c.unexpected(ev)
		}
	case Opened:
		switch c.phase {
		case phaseOpening:
			c.onOpened(now)
		case phaseCheckOpen:
			c.onCheckOpened(now)
		default:
			return c.unexpected(ev)
		}
	case OpenFailed:
		switch {
		case c.phase == phaseOpening:
			c.onOpenFailed(ev)
		case c.phase == phaseCheckOpen && ev.Hop == c.chk.v.ID:
			c.onCheckOpenFailed(now, ev.Err)
		default:
			return c.unexpected(ev)
		}
	case Submit:
		if c.phase != phaseReady {
			return c.unexpected(ev)
		}
		c.submit(now, ev)
	case Rollback:
		if c.phase != phaseReady || ev.Len < 0 {
			return c.unexpected(ev)
		}
		c.rollback(ev.Len)
	case StepResult:
		if !c.due(ev.Hop, ev.Seq) {
			return c.unexpected(ev)
		}
		switch c.phase {
		case phaseReplaying:
			c.onReplayResult(now, ev.Result)
		case phaseChecking:
			c.onCheckResult(now, ev.Result)
		default:
			c.onResult(now, ev.Result)
		}
	case HopFailed:
		if !c.due(ev.Hop, ev.Seq) {
			return c.unexpected(ev)
		}
		c.onHopFailed(now, ev.Err)
	case Timeout:
		if !c.due(ev.Hop, ev.Seq) {
			return c.unexpected(ev)
		}
		h := c.dueHop()
		c.onHopFailed(now, fmt.Errorf("%w: %s gave no result for step %d in %v", protocol.ErrTimeout, h.Peer, ev.Seq, c.waited))
	default:
		return c.unexpected(ev)
	}
	return c.out
}

func (c *Core) emit(a Action) { c.out = append(c.out, a) }

// unexpected fails the generation on an event the core did not ask for:
// a driver's bug.
func (c *Core) unexpected(ev Event) []Action {
	c.out = nil
	c.fail(fmt.Errorf("entry: unexpected event %T while %v", ev, c.phase))
	return c.out
}

func (c *Core) fail(err error) {
	c.phase = phaseDone
	c.emit(Fail{Err: err})
}

// dueHop is the hop whose result is awaited.
func (c *Core) dueHop() *hop {
	switch c.phase {
	case phaseStepping:
		return c.hops[c.step.i]
	case phaseReplaying:
		return c.plan.pending[c.replay.j]
	case phaseChecking:
		return c.chk.v
	}
	return nil
}

func (c *Core) due(id HopID, seq uint64) bool {
	h := c.dueHop()
	if h == nil || h.ID != id {
		return false
	}
	switch c.phase {
	case phaseReplaying:
		return seq == c.replay.seq
	case phaseChecking:
		return seq == c.chk.seq
	}
	return seq == c.step.seq
}

// await asks for hop h's result of step seq by its deadline: the fixed
// StepTimeout, or one derived from the hop's pace.
func (c *Core) await(now time.Time, h *hop, seq uint64, rows int) {
	d := c.cfg.StepTimeout
	if d <= 0 {
		d = h.pace.deadline(rows, c.cfg.StepFloor, c.cfg.StepCap)
	}
	c.waited = d
	c.emit(Await{Hop: h.ID, Seq: seq, Rows: rows, Deadline: now.Add(d)})
}

func (c *Core) newHop(p RouteHop) *hop {
	h := &hop{Hop: Hop{ID: c.nextID, Peer: p.Peer, Span: p.Span}, timing: -1}
	c.nextID++
	return h
}

// start plans the whole route, or opens the pinned one.
func (c *Core) start() {
	c.plan.old, c.plan.tail = nil, NoHop
	if c.cfg.Route != nil {
		hops := make([]*hop, len(c.cfg.Route))
		at := 0
		for i, h := range c.cfg.Route {
			if h.Span.Start != at || h.Span.Len() <= 0 {
				c.fail(fmt.Errorf("%w: pinned route %v does not cover blocks [0,%d) in order", engine.ErrBadInput, c.cfg.Route, c.cfg.Blocks))
				return
			}
			at = h.Span.End
			hops[i] = c.newHop(h)
		}
		if at != c.cfg.Blocks {
			c.fail(fmt.Errorf("%w: pinned route %v does not cover blocks [0,%d) in order", engine.ErrBadInput, c.cfg.Route, c.cfg.Blocks))
			return
		}
		c.open(hops)
		return
	}
	c.fetch(sharding.Span{Start: 0, End: c.cfg.Blocks}, false)
}

// fetch asks for a view to route span over.
func (c *Core) fetch(span sharding.Span, fresh bool) {
	c.phase = phasePlanning
	c.plan.span, c.plan.fresh = span, fresh
	c.emit(FetchView{Fresh: fresh})
}

// onView routes the planned span over the view, without excluded and
// banned servers, and opens the route; a cached view without a route is
// fetched afresh once.
func (c *Core) onView(v ViewUpdate) {
	ex := map[string]bool{}
	for id := range c.exclude {
		ex[id] = true
	}
	for id, b := range v.Banned {
		if b {
			ex[id] = true
		}
	}
	span := c.plan.span
	route, err := sharding.Route(v.Swarm, span.Start, span.End, sharding.RouteOptions{Mode: c.cfg.Mode, Exclude: ex, NeedCache: c.cfg.MaxLen,
		Sessions: v.Sessions, Spread: c.cfg.Spread})
	if err != nil {
		if !c.plan.fresh {
			c.fetch(span, true)
			return
		}
		c.fail(fmt.Errorf("%w: blocks %v of %s: %w", ErrNoRoute, span, c.cfg.Model, err))
		return
	}
	hops := make([]*hop, len(route))
	for i, h := range route {
		hops[i] = c.newHop(RouteHop{Peer: v.Peers[h.Server], Span: sharding.Span{Start: h.Span.Start, End: h.Span.End}})
		hops[i].pace.priorFromView(v.Swarm.Servers, h.Server, hops[i].Span)
	}
	c.open(hops)
}

func (c *Core) open(hops []*hop) {
	c.phase = phaseOpening
	c.plan.pending = hops
	a := Open{Hops: make([]Hop, len(hops)), Tail: c.plan.tail}
	for i, h := range hops {
		a.Hops[i] = h.Hop
	}
	c.emit(a)
}

// stale tells the errors of a server that moved on from a stale view
// (not serving the span, full, shutting down) from failures worth
// banning it for.
func stale(err error) bool {
	return errors.Is(err, protocol.ErrCacheFull) || errors.Is(err, protocol.ErrShuttingDown) || errors.Is(err, protocol.ErrUnknownModel)
}

func (c *Core) onOpenFailed(ev OpenFailed) {
	var h *hop
	for _, p := range c.plan.pending {
		if p.ID == ev.Hop {
			h = p
		}
	}
	if h == nil {
		c.unexpected(ev)
		return
	}
	c.log.Info("hop refused or unreachable", "hop", h.Peer, "span", h.Span, "err", ev.Err)
	c.exclude[h.Peer.String()] = true
	if !stale(ev.Err) {
		c.emit(Ban{Peer: h.Peer, Span: h.Span})
	}
	if c.plan.old == nil && c.cfg.Route != nil {
		c.fail(fmt.Errorf("node: could not open the pinned route for %s: %w", c.cfg.Model, ev.Err))
		return
	}
	c.retry(ev.Err)
}

// retry plans again after a failed open or replay, or gives up after
// openAttempts.
func (c *Core) retry(err error) {
	c.plan.last = err
	c.plan.attempt++
	if c.plan.attempt >= openAttempts {
		if old := c.plan.old; old != nil {
			c.fail(fmt.Errorf("node: replacing hop %s for blocks %v: %w", old.Peer, old.Span, err))
		} else {
			c.fail(fmt.Errorf("node: could not open a route for %s: %w", c.cfg.Model, err))
		}
		return
	}
	c.fetch(c.plan.span, true)
}

func (c *Core) onOpened(now time.Time) {
	if c.plan.old == nil {
		c.hops = c.plan.pending
		c.plan.pending = nil
		c.phase = phaseReady
		c.emit(Ready{})
		return
	}
	if len(c.plan.old.inputs) == 0 {
		c.fail(fmt.Errorf("entry: hop %s failed before it had an input", c.plan.old.Peer))
		return
	}
	c.phase = phaseReplaying
	c.replay.j = 0
	c.replayInto(now, c.plan.old.inputs)
}

func (c *Core) submit(now time.Time, ev Submit) {
	c.seq++
	c.steps++
	c.step.seq, c.step.pos, c.step.rows, c.step.i = c.seq, ev.Pos, ev.Hidden.Rows, 0
	first := c.hops[0]
	first.setInput(record{seq: c.seq, pos: ev.Pos, h: ev.Hidden})
	c.emit(Send{Hop: first.ID, Step: protocol.Step{Seq: c.seq, Pos: ev.Pos, Hidden: ev.Hidden, Forward: len(c.hops) - 1}})
	c.step.mark = now
	c.phase = phaseStepping
	c.await(now, first, c.seq, c.step.rows)
}

// rollback forgets every hop's inputs from position n on and tells the
// hops to truncate their caches.
func (c *Core) rollback(n int) {
	for _, h := range c.hops {
		c.emit(Truncate{Hop: h.ID, Seq: c.seq, Len: n})
		h.inputs = truncate(h.inputs, n)
		h.rollbackChecks(n)
	}
	c.emit(Ready{})
}

// truncate drops the rows of rs from position n on.
func truncate(rs []record, n int) []record {
	keep := rs[:0]
	for _, r := range rs {
		switch {
		case r.pos+r.h.Rows <= n:
			keep = append(keep, r)
		case r.pos < n:
			rows := n - r.pos
			rb := len(r.h.Data) / r.h.Rows
			r.h.Rows, r.h.Data = rows, r.h.Data[:rows*rb]
			keep = append(keep, r)
		}
	}
	clear(rs[len(keep):])
	return keep
}

func (c *Core) onResult(now time.Time, res protocol.Result) {
	if res.Pos != c.step.pos {
		c.onHopFailed(now, fmt.Errorf("%w: result for position %d, want %d", protocol.ErrBadHidden, res.Pos, c.step.pos))
		return
	}
	i := c.step.i
	h := c.hops[i]
	h.setOutput(record{seq: c.step.seq, pos: c.step.pos, h: res.Hidden})
	if err := c.checkProof(h, h, c.step.seq, res); err != nil {
		c.onHopFailed(now, err)
		return
	}
	c.record(h, res, now.Sub(c.step.mark))
	c.step.mark = now
	if i+1 < len(c.hops) {
		nh := c.hops[i+1]
		nh.setInput(record{seq: c.step.seq, pos: c.step.pos, h: res.Hidden})
		if res.PushError != "" {
			// The server could not push: hand the output over ourselves.
			c.relayed++
			c.emit(Send{Hop: nh.ID, Step: protocol.Step{Seq: c.step.seq, Pos: c.step.pos, Hidden: res.Hidden, Forward: len(c.hops) - i - 2}})
		}
	}
	if c.drawCheck(h) {
		c.beginCheck(now, i, res.Hidden)
		return
	}
	c.advance(now, i+1, res.Hidden)
}

// advance goes on with the step at hop i, whose input is out; past the
// last hop, out is the step's output.
func (c *Core) advance(now time.Time, i int, out protocol.Hidden) {
	if i == len(c.hops) {
		c.phase = phaseReady
		c.emit(Output{Seq: c.step.seq, Hidden: out})
		return
	}
	c.step.i = i
	c.phase = phaseStepping
	c.await(now, c.hops[i], c.step.seq, c.step.rows)
}

// record adds a step's timing to hop h's stats.
func (c *Core) record(h *hop, res protocol.Result, roundTrip time.Duration) {
	if h.timing < 0 {
		h.timing = len(c.timing)
		c.timing = append(c.timing, HopStats{Server: h.Peer, Span: h.Span})
	}
	t := &c.timing[h.timing]
	t.Steps++
	t.Compute += res.Compute
	t.Queue += res.Queue
	t.Network += max(0, roundTrip-res.Compute-res.Queue)
	h.pace.sample(roundTrip, res.Compute, c.step.rows)
	c.emit(Observe{Peer: h.Peer, Span: h.Span, Rows: res.Hidden.Rows, RoundTrip: roundTrip})
}

func (c *Core) onHopFailed(now time.Time, err error) {
	if c.phase == phaseChecking {
		c.verifierFailed(now, err)
		return
	}
	if c.phase == phaseReplaying {
		c.replayFailed(err)
		return
	}
	c.step.mark = now
	failed := c.step.i
	var re *protocol.RemoteError
	if errors.As(err, &re) && re.Code == protocol.CodeBadPush && failed > 0 {
		failed-- // it pushed something else than it returned
	}
	h := c.hops[failed]
	c.log.Info("hop failed", "hop", h.Peer, "span", h.Span, "step", c.step.seq, "err", err)
	c.failover(failed)
}

// failover replaces hop k: it plans its span anew without the failed
// server, opens the new hops (the last pushing to hop k+1), replays every
// input hop k had received into them, and relinks hop k-1.
func (c *Core) failover(k int) {
	old := c.hops[k]
	c.emit(Reset{Hop: old.ID})
	c.exclude[old.Peer.String()] = true
	c.emit(Ban{Peer: old.Peer, Span: old.Span})
	c.replace(k, k+1)
}

// replace replaces hops k..m-1 (reset already, their servers excluded)
// by a route planned anew over their blocks, into which hop k's inputs
// are replayed; the last new hop pushes to hop m.
func (c *Core) replace(k, m int) {
	for _, h := range c.hops[k:m] {
		if h.shadow != nil {
			c.emit(Reset{Hop: h.shadow.ID})
			h.shadow = nil
		}
	}
	c.fails++
	if c.fails > MaxFailovers {
		c.fail(fmt.Errorf("%w: %d hops failed", ErrNoRoute, c.fails-1))
		return
	}
	old := c.hops[k]
	c.plan.old, c.plan.k, c.plan.m, c.plan.attempt, c.plan.last = old, k, m, 0, nil
	c.plan.tail = NoHop
	if m < len(c.hops) {
		c.plan.tail = c.hops[m].ID
	}
	c.fetch(sharding.Span{Start: old.Span.Start, End: c.hops[m-1].Span.End}, true)
}

// replayInto starts replaying in into hop plan.pending[replay.j].
func (c *Core) replayInto(now time.Time, in []record) {
	h := c.plan.pending[c.replay.j]
	h.inputs, h.inCh = nil, nil
	for _, r := range in {
		h.setInput(r)
	}
	c.replay.in, c.replay.a, c.replay.outs = in, 0, make([]record, 0, len(in))
	c.replayBatch(now)
}

// replayBatch sends the next batch of the replay: consecutive inputs
// coalesced into steps of up to Chunk rows (results do not depend on how
// rows are batched), without pushing.
func (c *Core) replayBatch(now time.Time) {
	b, st := c.batch(c.replay.in, c.replay.a)
	h := c.plan.pending[c.replay.j]
	c.replay.b, c.replay.seq, c.replay.pos, c.replay.rows, c.replay.mark = b, st.Seq, st.Pos, st.Hidden.Rows, now
	c.emit(Send{Hop: h.ID, Step: st})
	c.await(now, h, st.Seq, st.Hidden.Rows)
}

// batch coalesces consecutive inputs from in[a] on into one step of up
// to Chunk rows (an input larger than Chunk goes alone), without
// pushing, and returns it and the index after its last input.
func (c *Core) batch(in []record, a int) (int, protocol.Step) {
	b, rows := a, 0
	for b < len(in) && rows+in[b].h.Rows <= c.cfg.Chunk && (b == a || in[b].pos == in[b-1].pos+in[b-1].h.Rows) {
		rows += in[b].h.Rows
		b++
	}
	if b == a {
		rows, b = in[a].h.Rows, a+1
	}
	var data []byte
	for _, r := range in[a:b] {
		data = append(data, r.h.Data...)
	}
	return b, protocol.Step{Seq: in[b-1].seq, Pos: in[a].pos, Hidden: protocol.Hidden{Encoding: c.cfg.Encoding, Rows: rows, Dim: c.cfg.Dim, Data: data}}
}

func (c *Core) onReplayResult(now time.Time, res protocol.Result) {
	if res.Pos != c.replay.pos {
		c.replayFailed(fmt.Errorf("%w: replay result for position %d, want %d", protocol.ErrBadHidden, res.Pos, c.replay.pos))
		return
	}
	rows := c.replay.rows
	if res.Hidden.Rows != rows || len(res.Hidden.Data)%rows != 0 {
		c.replayFailed(fmt.Errorf("%w: replay result of %d rows (%d bytes), want %d rows", protocol.ErrBadHidden, res.Hidden.Rows, len(res.Hidden.Data), rows))
		return
	}
	c.plan.pending[c.replay.j].pace.sample(now.Sub(c.replay.mark), res.Compute, rows)
	rb := len(res.Hidden.Data) / rows
	off := 0
	for _, r := range c.replay.in[c.replay.a:c.replay.b] {
		n := r.h.Rows * rb
		c.replay.outs = append(c.replay.outs, record{seq: r.seq, pos: r.pos, h: protocol.Hidden{Encoding: c.cfg.Encoding, Rows: r.h.Rows, Dim: c.cfg.Dim, Data: res.Hidden.Data[off : off+n]}})
		off += n
	}
	c.replay.a = c.replay.b
	if c.replay.a < len(c.replay.in) {
		c.replayBatch(now)
		return
	}
	cur := c.replay.outs
	ph := c.plan.pending[c.replay.j]
	ph.outputs, ph.outCh = nil, nil
	for _, r := range cur {
		ph.setOutput(r)
	}
	c.replay.j++
	if c.replay.j < len(c.plan.pending) {
		c.replayInto(now, cur)
		return
	}
	c.replaced(now, cur[len(cur)-1].h)
}

func (c *Core) replayFailed(err error) {
	h := c.plan.pending[c.replay.j]
	c.log.Info("replay failed", "hop", h.Peer, "err", err)
	c.exclude[h.Peer.String()] = true
	c.emit(Ban{Peer: h.Peer, Span: h.Span})
	for _, p := range c.plan.pending {
		c.emit(Reset{Hop: p.ID})
	}
	c.plan.pending = nil
	c.retry(err)
}

// replaced splices the replayed hops into the route in place of the old
// one, relinks the hop before them, and goes on with the step: out is
// the new hops' output of it.
func (c *Core) replaced(now time.Time, out protocol.Hidden) {
	old, k, seg := c.plan.old, c.plan.k, c.plan.pending
	c.log.Info("hop replaced", "failed", old.Peer, "span", old.Span, "by", len(seg), "attempt", c.plan.attempt, "replayed_steps", len(old.inputs))
	rest := append([]*hop(nil), c.hops[c.plan.m:]...)
	c.hops = append(append(c.hops[:k], seg...), rest...)
	c.plan.pending, c.plan.old = nil, nil
	if k > 0 {
		c.emit(SetNext{Hop: c.hops[k-1].ID, Next: seg[0].ID})
	}
	next := k + len(seg)
	if next < len(c.hops) {
		nh := c.hops[next]
		nh.setInput(record{seq: c.step.seq, pos: c.step.pos, h: out})
		c.emit(Send{Hop: nh.ID, Step: protocol.Step{Seq: c.step.seq, Pos: c.step.pos, Hidden: out, Forward: len(c.hops) - next - 1}})
	}
	c.advance(now, next, out)
}
