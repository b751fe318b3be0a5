package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// ErrNotEntry is wrapped when a generation asks for a model whose
// embedding and head this node has not loaded.
var ErrNotEntry = errors.New("node: not an entry node for this model")

// Stats reports what a generation did.
type Stats struct {
	PromptTokens    int
	GeneratedTokens int
	Prefill         time.Duration // prompt through the swarm, to the first logits
	Decode          time.Duration // all later tokens
	StoppedByToken  bool
	Route           []RouteHop // the route at the end
	Failovers       int        // hops replaced
	Steps           int        // pipeline passes
	// Relayed counts the steps the entry node handed to a hop itself
	// because the previous hop reported that its push failed (each such
	// step costs an extra round trip through the entry node).
	Relayed int
	// Hops are the time every server took, summed over the steps it ran,
	// in order of first use (replaced hops included).
	Hops []HopStats
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

// DecodeTokensPerSecond is the rate of tokens after the first.
func (s Stats) DecodeTokensPerSecond() float64 {
	if s.GeneratedTokens <= 1 || s.Decode <= 0 {
		return 0
	}
	return float64(s.GeneratedTokens-1) / s.Decode.Seconds()
}

// RouteHop is one hop of a route.
type RouteHop struct {
	Peer peer.ID
	Span sharding.Span
}

// maxFailovers bounds the hops one generation may replace.
const maxFailovers = 16

// Generate runs prompt through the swarm as the entry node of modelID and
// samples up to maxTokens new tokens locally (nil sampler: greedy), passing
// each to emit. It stops early on a stop token (not emitted), when emit
// fails, when the context length is reached, or when ctx is done. Hops that
// fail are replaced and replayed; the tokens are the same as without the
// failure.
func (n *Node) Generate(ctx context.Context, modelID string, prompt []int32, maxTokens int, sampler *sample.Sampler, stop func(int32) bool, emit func(int32) error) (Stats, error) {
	return n.generate(ctx, modelID, prompt, maxTokens, sampler, stop, emit, genOptions{})
}

// stepObserver is told each hop's round trip of every step.
type stepObserver func(server peer.ID, span sharding.Span, roundTrip time.Duration)

// genOptions are the package's own options of a generation.
type genOptions struct {
	// observe, when set, is told each hop's round trip of every step.
	observe stepObserver
	// route, when set, is opened as the generation's route instead of a
	// planned one (tests pin routes the planner would not choose); it
	// must cover the model's blocks in order. Failovers plan as usual.
	route []RouteHop
}

func (n *Node) generate(ctx context.Context, modelID string, prompt []int32, maxTokens int, sampler *sample.Sampler, stop func(int32) bool, emit func(int32) error, opt genOptions) (Stats, error) {
	var st Stats
	srv := n.acquire(modelID, true)
	if srv == nil {
		return st, fmt.Errorf("%w: %s", ErrNotEntry, modelID)
	}
	defer srv.release(true)
	if srv.entry == nil {
		return st, fmt.Errorf("%w: %s", ErrNotEntry, modelID)
	}
	m := srv.entry
	cfg := m.Config
	if len(prompt) == 0 {
		return st, fmt.Errorf("%w: empty prompt", engine.ErrBadInput)
	}
	if maxTokens < 0 {
		return st, fmt.Errorf("%w: max tokens %d", engine.ErrBadInput, maxTokens)
	}
	if len(prompt) > cfg.Context {
		return st, fmt.Errorf("%w: prompt of %d tokens exceeds the context of %d", engine.ErrBadInput, len(prompt), cfg.Context)
	}
	g := &generation{
		n: n, model: modelID, blocks: srv.blocks, dim: cfg.Dim, enc: n.cfg.Encoding,
		maxLen: min(len(prompt)+maxTokens, cfg.Context), exclude: map[string]bool{}, observe: opt.observe, route: opt.route,
	}
	rowBytes, err := g.enc.EncodedSize(1, g.dim)
	if err != nil {
		return st, err
	}
	g.chunk = max(1, min(protocol.MaxStepRows, (protocol.MaxFrame-4096)/rowBytes))
	defer g.close()
	if err := g.start(ctx); err != nil {
		return st, err
	}

	dim, vocab := cfg.Dim, cfg.VocabSize
	logits := make([]float32, vocab)
	history := append(make([]int32, 0, len(prompt)+maxTokens), prompt...)
	start := time.Now()
	for off := 0; off < len(prompt); off += g.chunk {
		part := prompt[off:min(off+g.chunk, len(prompt))]
		x := make([]float32, len(part)*dim)
		if err := m.Embed(part, x); err != nil {
			return st, err
		}
		out, err := g.step(ctx, off, x)
		if err != nil {
			return g.stats(st), err
		}
		if off+len(part) == len(prompt) {
			if err := m.Head(out[(len(part)-1)*dim:], 1, logits); err != nil {
				return g.stats(st), err
			}
		}
	}
	st.PromptTokens = len(prompt)
	st.Prefill = time.Since(start)
	start = time.Now()
	x := make([]float32, dim)
	pos := len(prompt)
	for st.GeneratedTokens < maxTokens {
		var tok int32
		if sampler == nil || sampler.Greedy() {
			tok = sample.Argmax(logits)
		} else {
			tok = sampler.Sample(logits, history)
		}
		if stop != nil && stop(tok) {
			st.StoppedByToken = true
			break
		}
		st.GeneratedTokens++
		history = append(history, tok)
		if err := emit(tok); err != nil {
			st.Decode = time.Since(start)
			return g.stats(st), err
		}
		if st.GeneratedTokens == maxTokens || pos >= g.maxLen {
			break
		}
		if err := m.Embed([]int32{tok}, x); err != nil {
			return g.stats(st), err
		}
		out, err := g.step(ctx, pos, x)
		if err != nil {
			st.Decode = time.Since(start)
			return g.stats(st), err
		}
		pos++
		if err := m.Head(out, 1, logits); err != nil {
			return g.stats(st), err
		}
	}
	st.Decode = time.Since(start)
	return g.stats(st), nil
}

// record is one step's input to a hop, kept for replay.
type record struct {
	seq uint64
	pos int
	h   protocol.Hidden
}

type hopState struct {
	peer    peer.ID
	span    sharding.Span
	conn    *protocol.Hop
	inputs  []record
	sendErr error // a failed send, reported by the next await
	timing  int   // index in generation.timing, -1 until the hop runs a step
}

func (h *hopState) setInput(r record) {
	if k := len(h.inputs); k > 0 && h.inputs[k-1].seq == r.seq {
		h.inputs[k-1] = r
		return
	}
	h.inputs = append(h.inputs, r)
}

func (h *hopState) send(st protocol.Step) {
	if err := h.conn.Send(st); err != nil && h.sendErr == nil {
		h.sendErr = err
	}
}

// generation is the entry node's state of one generation.
type generation struct {
	n       *Node
	model   string
	blocks  int
	dim     int
	enc     protocol.Encoding
	maxLen  int
	chunk   int // rows per step
	seq     uint64
	hops    []*hopState
	exclude map[string]bool
	fails   int
	steps   int
	out     []float32
	timing  []HopStats // per hop of hopState.timing
	relayed int
	observe stepObserver
	route   []RouteHop // pinned route (genOptions.route), or nil
}

func (g *generation) stats(st Stats) Stats {
	st.Failovers, st.Steps, st.Relayed = g.fails, g.steps, g.relayed
	st.Hops = append([]HopStats(nil), g.timing...)
	for _, h := range g.hops {
		st.Route = append(st.Route, RouteHop{Peer: h.peer, Span: h.span})
	}
	return st
}

func (g *generation) close() {
	for _, h := range g.hops {
		if h.conn != nil {
			_ = h.conn.Close()
		}
	}
}

// start plans the whole route (or takes the pinned one) and opens a
// session on every hop.
func (g *generation) start(ctx context.Context) error {
	if g.route != nil {
		return g.startPinned(ctx)
	}
	var last error
	for attempt := range 4 {
		hops, err := g.plan(ctx, sharding.Span{Start: 0, End: g.blocks}, attempt > 0)
		if err != nil {
			return err
		}
		if err := g.open(ctx, hops, nil); err != nil {
			last = err
			continue
		}
		g.hops = hops
		return nil
	}
	return fmt.Errorf("node: could not open a route for %s: %w", g.model, last)
}

// startPinned opens the pinned route as it is.
func (g *generation) startPinned(ctx context.Context) error {
	hops := make([]*hopState, len(g.route))
	at := 0
	for i, h := range g.route {
		if h.Span.Start != at || h.Span.Len() <= 0 {
			return fmt.Errorf("%w: pinned route %v does not cover blocks [0,%d) in order", engine.ErrBadInput, g.route, g.blocks)
		}
		at = h.Span.End
		hops[i] = &hopState{peer: h.Peer, span: h.Span, timing: -1}
	}
	if at != g.blocks {
		return fmt.Errorf("%w: pinned route %v does not cover blocks [0,%d) in order", engine.ErrBadInput, g.route, g.blocks)
	}
	if err := g.open(ctx, hops, nil); err != nil {
		return fmt.Errorf("node: could not open the pinned route for %s: %w", g.model, err)
	}
	g.hops = hops
	return nil
}

// plan routes blocks span over the current view, without excluded servers.
func (g *generation) plan(ctx context.Context, span sharding.Span, fresh bool) ([]*hopState, error) {
	for {
		v, err := g.n.SwarmView(ctx, g.model, fresh)
		if err != nil {
			return nil, err
		}
		ex := map[string]bool{}
		for id := range g.exclude {
			ex[id] = true
		}
		for id, p := range v.Peers {
			if g.n.isFailed(p) {
				ex[id] = true
			}
		}
		route, err := sharding.Route(v.Swarm, span.Start, span.End, sharding.RouteOptions{Mode: g.n.cfg.RouteMode, Exclude: ex, NeedCache: g.maxLen})
		if err != nil {
			if !fresh {
				fresh = true
				continue
			}
			return nil, fmt.Errorf("%w: blocks %v of %s: %w", ErrNoRoute, span, g.model, err)
		}
		hops := make([]*hopState, len(route))
		for i, h := range route {
			hops[i] = &hopState{peer: v.Peers[h.Server], span: h.Span, timing: -1}
		}
		return hops, nil
	}
}

func (g *generation) nextHop(h *hopState) *protocol.NextHop {
	nh := &protocol.NextHop{Peer: h.peer, Session: h.conn.Opened.Session}
	if h.peer == g.n.host.ID() {
		nh.Addrs = g.n.host.Addrs()
	} else {
		nh.Addrs = g.n.host.Peerstore().Addrs(h.peer)
	}
	if len(nh.Addrs) > protocol.MaxRouteAddrs {
		nh.Addrs = nh.Addrs[:protocol.MaxRouteAddrs]
	}
	return nh
}

// open opens sessions from the last hop to the first, so that each knows
// where to push; tail is where the last one pushes (nil: nowhere). On a
// failure it closes what it opened and excludes the server that failed.
func (g *generation) open(ctx context.Context, hops []*hopState, tail *protocol.NextHop) error {
	next := tail
	for j := len(hops) - 1; j >= 0; j-- {
		h := hops[j]
		req := protocol.OpenRequest{Model: g.model, Span: h.span, MaxLength: g.maxLen, Encodings: []protocol.Encoding{g.enc}, Next: next}
		var conn *protocol.Hop
		var err error
		if h.peer == g.n.host.ID() {
			conn, err = g.n.infer.OpenLocal(ctx, req, g.n.cfg.IOTimeout)
		} else {
			conn, err = protocol.OpenHop(ctx, g.n.host, h.peer, req, g.n.cfg.IOTimeout)
		}
		if err == nil && conn.Opened.Dim != g.dim {
			_ = conn.Reset()
			err = fmt.Errorf("%w: %s serves dimension %d, want %d", protocol.ErrBadHidden, h.peer, conn.Opened.Dim, g.dim)
		}
		if err != nil {
			for _, o := range hops[j+1:] {
				_ = o.conn.Close()
				o.conn = nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			g.n.log.Info("hop refused or unreachable", "hop", h.peer, "span", h.span, "err", err)
			g.exclude[h.peer.String()] = true
			// Not serving the span is a stale view (the server moved
			// to another span), not a failure to remember for a minute.
			if !errors.Is(err, protocol.ErrCacheFull) && !errors.Is(err, protocol.ErrShuttingDown) && !errors.Is(err, protocol.ErrUnknownModel) {
				g.n.markFailed(h.peer)
			}
			return err
		}
		h.conn = conn
		next = g.nextHop(h)
	}
	return nil
}

// step runs rows x at positions pos.. through every hop and returns the
// last hop's output.
func (g *generation) step(ctx context.Context, pos int, x []float32) ([]float32, error) {
	g.seq++
	g.steps++
	seq := g.seq
	rows := len(x) / g.dim
	h0, err := protocol.EncodeRows(g.enc, x, g.dim)
	if err != nil {
		return nil, err
	}
	first := g.hops[0]
	first.setInput(record{seq: seq, pos: pos, h: h0})
	first.send(protocol.Step{Seq: seq, Pos: pos, Hidden: h0, Forward: len(g.hops) - 1})
	mark := time.Now()
	for i := 0; i < len(g.hops); {
		hs := g.hops[i]
		var res protocol.Result
		err := hs.sendErr
		hs.sendErr = nil
		if err == nil {
			res, err = hs.conn.Await(ctx, seq, g.n.cfg.StepTimeout)
		}
		if err == nil && res.Pos != pos {
			err = fmt.Errorf("%w: result for position %d, want %d", protocol.ErrBadHidden, res.Pos, pos)
		}
		if err == nil {
			g.out, err = res.Hidden.Decode(g.out, g.enc, rows, g.dim)
		}
		if err == nil {
			now := time.Now()
			g.record(hs, res, now.Sub(mark))
			mark = now
		}
		if err != nil {
			mark = time.Now()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			failed := i
			var re *protocol.RemoteError
			if errors.As(err, &re) && re.Code == protocol.CodeBadPush && i > 0 {
				failed = i - 1 // it pushed something else than it returned
			}
			g.n.log.Info("hop failed", "hop", g.hops[failed].peer, "span", g.hops[failed].span, "step", seq, "err", err)
			h, next, ferr := g.failover(ctx, failed)
			if ferr != nil {
				return nil, ferr
			}
			if next == len(g.hops) {
				return h.Decode(g.out, g.enc, rows, g.dim)
			}
			nh := g.hops[next]
			nh.setInput(record{seq: seq, pos: pos, h: h})
			nh.send(protocol.Step{Seq: seq, Pos: pos, Hidden: h, Forward: len(g.hops) - next - 1})
			i = next
			continue
		}
		if i+1 < len(g.hops) {
			nh := g.hops[i+1]
			nh.setInput(record{seq: seq, pos: pos, h: res.Hidden})
			if res.PushError != "" {
				// The server could not push: hand the output over ourselves.
				g.relayed++
				nh.send(protocol.Step{Seq: seq, Pos: pos, Hidden: res.Hidden, Forward: len(g.hops) - i - 2})
			}
		}
		i++
	}
	return g.out, nil
}

// record adds a step's timing to hop h's stats.
func (g *generation) record(h *hopState, res protocol.Result, roundTrip time.Duration) {
	if h.timing < 0 {
		h.timing = len(g.timing)
		g.timing = append(g.timing, HopStats{Server: h.peer, Span: h.span})
	}
	t := &g.timing[h.timing]
	t.Steps++
	t.Compute += res.Compute
	t.Queue += res.Queue
	t.Network += max(0, roundTrip-res.Compute-res.Queue)
	if g.observe != nil {
		g.observe(h.peer, h.span, roundTrip)
	}
}

// failover replaces hop k: it plans its span anew without the failed
// server, opens the new hops (the last pushing to hop k+1), replays every
// input hop k had received into them, and relinks hop k-1. It returns the
// new segment's output for the latest step and the index of the hop after
// the segment.
func (g *generation) failover(ctx context.Context, k int) (protocol.Hidden, int, error) {
	old := g.hops[k]
	_ = old.conn.Reset()
	g.exclude[old.peer.String()] = true
	g.n.markFailed(old.peer)
	g.fails++
	if g.fails > maxFailovers {
		return protocol.Hidden{}, 0, fmt.Errorf("%w: %d hops failed", ErrNoRoute, g.fails-1)
	}
	var tail *protocol.NextHop
	if k+1 < len(g.hops) {
		tail = g.nextHop(g.hops[k+1])
	}
	var last error
	for attempt := range 4 {
		hops, err := g.plan(ctx, old.span, true)
		if err != nil {
			return protocol.Hidden{}, 0, err
		}
		if err := g.open(ctx, hops, tail); err != nil {
			last = err
			continue
		}
		cur := old.inputs
		ok := true
		for _, h := range hops {
			h.inputs = append([]record(nil), cur...)
			outs, err := g.replay(ctx, h, cur)
			if err != nil {
				if ctx.Err() != nil {
					return protocol.Hidden{}, 0, ctx.Err()
				}
				g.n.log.Info("replay failed", "hop", h.peer, "err", err)
				g.exclude[h.peer.String()] = true
				g.n.markFailed(h.peer)
				last = err
				ok = false
				break
			}
			cur = outs
		}
		if !ok {
			for _, h := range hops {
				_ = h.conn.Reset()
			}
			continue
		}
		g.n.log.Info("hop replaced", "failed", old.peer, "span", old.span, "by", len(hops), "attempt", attempt, "replayed_steps", len(old.inputs))
		rest := append([]*hopState(nil), g.hops[k+1:]...)
		g.hops = append(append(g.hops[:k], hops...), rest...)
		if k > 0 {
			prev := g.hops[k-1]
			if err := prev.conn.SetNext(g.nextHop(hops[0])); err != nil && prev.sendErr == nil {
				prev.sendErr = err
			}
		}
		return cur[len(cur)-1].h, k + len(hops), nil
	}
	return protocol.Hidden{}, 0, fmt.Errorf("node: replacing hop %s for blocks %v: %w", old.peer, old.span, last)
}

// replay runs the recorded inputs through a fresh hop, coalescing
// consecutive steps into larger ones (results are independent of how rows
// are batched), without pushing. It returns the outputs, one per input.
func (g *generation) replay(ctx context.Context, h *hopState, in []record) ([]record, error) {
	outs := make([]record, 0, len(in))
	for a := 0; a < len(in); {
		b, rows := a, 0
		for b < len(in) && rows+in[b].h.Rows <= g.chunk && (b == a || in[b].pos == in[b-1].pos+in[b-1].h.Rows) {
			rows += in[b].h.Rows
			b++
		}
		var data []byte
		for _, r := range in[a:b] {
			data = append(data, r.h.Data...)
		}
		st := protocol.Step{Seq: in[b-1].seq, Pos: in[a].pos, Hidden: protocol.Hidden{Encoding: g.enc, Rows: rows, Dim: g.dim, Data: data}}
		if err := h.conn.Send(st); err != nil {
			return nil, err
		}
		res, err := h.conn.Await(ctx, st.Seq, g.n.cfg.StepTimeout)
		if err != nil {
			return nil, err
		}
		if res.Pos != st.Pos {
			return nil, fmt.Errorf("%w: replay result for position %d, want %d", protocol.ErrBadHidden, res.Pos, st.Pos)
		}
		if g.out, err = res.Hidden.Decode(g.out, g.enc, rows, g.dim); err != nil {
			return nil, err
		}
		rb := len(res.Hidden.Data) / rows
		off := 0
		for _, r := range in[a:b] {
			n := r.h.Rows * rb
			outs = append(outs, record{seq: r.seq, pos: r.pos, h: protocol.Hidden{Encoding: g.enc, Rows: r.h.Rows, Dim: g.dim, Data: res.Hidden.Data[off : off+n]}})
			off += n
		}
		a = b
	}
	return outs, nil
}
