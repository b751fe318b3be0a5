package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/node/entry"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// ErrNotEntry is wrapped when a generation asks for a model whose
// embedding and head this node has not loaded.
var ErrNotEntry = errors.New("node: not an entry node for this model")

// ErrNoRoute is wrapped when the swarm cannot run a model's blocks.
var ErrNoRoute = entry.ErrNoRoute

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
	// Speculate is the speculation mode the decode ran with (Off when
	// the route could not truncate), and Speculation what it did.
	Speculate   speculate.Mode
	Speculation speculate.Stats
	// Verify counts the generation's checks by recomputation.
	Verify entry.VerifyStats
}

// HopStats is where a hop's time went, summed over its steps (see
// entry.HopStats).
type HopStats = entry.HopStats

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

func toRoute(r []entry.RouteHop) []RouteHop {
	if r == nil {
		return nil
	}
	out := make([]RouteHop, len(r))
	for i, h := range r {
		out[i] = RouteHop{Peer: h.Peer, Span: h.Span}
	}
	return out
}

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
	// logits and promptLogits are GenerateHooks.Logits and PromptLogits.
	logits       func(pos int, logits []float32)
	promptLogits bool
	// speculate overrides Config.Speculate when set.
	speculate *speculate.Mode
	// verifyRate, when set, overrides the node's verify rate.
	verifyRate *float64
	// seed, when set, seeds the choice of checks instead of crypto/rand
	// (tests).
	seed *uint64
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
	cfg := srv.entry.Config
	if len(prompt) == 0 {
		return st, fmt.Errorf("%w: empty prompt", engine.ErrBadInput)
	}
	if maxTokens < 0 {
		return st, fmt.Errorf("%w: max tokens %d", engine.ErrBadInput, maxTokens)
	}
	if len(prompt) > cfg.Context {
		return st, fmt.Errorf("%w: prompt of %d tokens exceeds the context of %d", engine.ErrBadInput, len(prompt), cfg.Context)
	}
	g, err := n.newGeneration(srv, min(len(prompt)+maxTokens, cfg.Context), opt)
	if err != nil {
		return st, err
	}
	defer g.close()
	if _, err := g.run(ctx, entry.Start{}); err != nil {
		return st, err
	}
	logits := make([]float32, cfg.VocabSize)
	start := n.clock.Now()
	if err := g.prefill(ctx, prompt, logits, opt); err != nil {
		return g.stats(st), err
	}
	st.PromptTokens = len(prompt)
	st.Prefill = n.clock.Since(start)
	start = n.clock.Now()
	mode := n.cfg.Speculate
	if opt.speculate != nil {
		mode = *opt.speculate
	}
	mode = mode.For(sampler)
	if d := g.drafter(mode, cfg.VocabSize); d != nil && g.canTruncate() {
		st.Speculate = mode
		err = g.speculate(ctx, &st, prompt, maxTokens, logits, sampler, stop, emit, opt, mode, d)
	} else {
		err = g.decode(ctx, &st, prompt, maxTokens, logits, sampler, stop, emit, opt)
	}
	st.Decode = n.clock.Since(start)
	return g.stats(st), err
}

// newGeneration makes the driver and the entry core of a generation on
// srv's entry model, of up to maxLen positions.
func (n *Node) newGeneration(srv *served, maxLen int, opt genOptions) (*generation, error) {
	cfg := srv.entry.Config
	enc := n.cfg.Encoding
	rowBytes, err := enc.EncodedSize(1, cfg.Dim)
	if err != nil {
		return nil, err
	}
	chunk := max(1, min(protocol.MaxStepRows, (protocol.MaxFrame-4096)/rowBytes))
	var pinned []entry.RouteHop
	if opt.route != nil {
		pinned = make([]entry.RouteHop, len(opt.route))
		for i, h := range opt.route {
			pinned[i] = entry.RouteHop{Peer: h.Peer, Span: h.Span}
		}
	}
	rate := n.cfg.VerifyRate
	if opt.verifyRate != nil {
		rate = *opt.verifyRate
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand: a peer cannot predict the steps checked
	seed := binary.LittleEndian.Uint64(b[:])
	if opt.seed != nil {
		seed = *opt.seed
	}
	return &generation{n: n, m: srv.entry, heads: srv.heads, model: srv.id, dim: cfg.Dim, enc: enc, maxLen: maxLen, chunk: chunk, observe: opt.observe,
		conns: map[entry.HopID]*hopConn{},
		core: entry.New(entry.Config{
			Model: srv.id, Blocks: srv.blocks, Dim: cfg.Dim, Encoding: enc, MaxLen: maxLen, Chunk: chunk,
			Mode: n.cfg.RouteMode, Spread: n.cfg.RouteSpread, StepTimeout: n.cfg.StepTimeout, Route: pinned, Logger: n.log,
			VerifyRate: rate, Seed: seed, Self: n.host.ID(),
		})}, nil
}

// prefill runs the prompt through the route in chunks and leaves the
// logits of its last position in logits (with opt.promptLogits, telling
// opt.logits those of every position too).
func (g *generation) prefill(ctx context.Context, prompt []int32, logits []float32, opt genOptions) error {
	m, dim, vocab := g.m, g.dim, len(logits)
	for off := 0; off < len(prompt); off += g.chunk {
		part := prompt[off:min(off+g.chunk, len(prompt))]
		x := make([]float32, len(part)*dim)
		if err := m.Embed(part, x); err != nil {
			return err
		}
		out, err := g.step(ctx, off, x)
		if err != nil {
			return err
		}
		if opt.logits != nil && opt.promptLogits {
			all := make([]float32, len(part)*vocab)
			if err := g.head(ctx, out, len(part), all); err != nil {
				return err
			}
			for r := range part {
				if p := off + r + 1; p < len(prompt) {
					opt.logits(p, all[r*vocab:(r+1)*vocab])
				}
			}
			if off+len(part) == len(prompt) {
				copy(logits, all[(len(part)-1)*vocab:])
			}
			continue
		}
		if off+len(part) == len(prompt) {
			if err := g.head(ctx, out[(len(part)-1)*dim:], 1, logits); err != nil {
				return err
			}
		}
	}
	return nil
}

// decode samples up to maxTokens tokens from logits on, passing each to
// emit and running it through the route for the next logits, and counts
// them in st.
func (g *generation) decode(ctx context.Context, st *Stats, prompt []int32, maxTokens int, logits []float32, sampler *sample.Sampler,
	stop func(int32) bool, emit func(int32) error, opt genOptions) error {
	history := append(make([]int32, 0, len(prompt)+maxTokens), prompt...)
	x := make([]float32, g.dim)
	pos := len(prompt)
	for st.GeneratedTokens < maxTokens {
		if opt.logits != nil {
			opt.logits(len(prompt)+st.GeneratedTokens, logits)
		}
		var tok int32
		if sampler == nil || sampler.Greedy() {
			tok = sample.Argmax(logits)
		} else {
			tok = sampler.Sample(logits, history)
		}
		if stop != nil && stop(tok) {
			st.StoppedByToken = true
			return nil
		}
		st.GeneratedTokens++
		history = append(history, tok)
		if err := emit(tok); err != nil {
			return err
		}
		if st.GeneratedTokens == maxTokens || pos >= g.maxLen {
			return nil
		}
		if err := g.m.Embed([]int32{tok}, x); err != nil {
			return err
		}
		out, err := g.step(ctx, pos, x)
		if err != nil {
			return err
		}
		pos++
		if err := g.head(ctx, out, 1, logits); err != nil {
			return err
		}
	}
	return nil
}

// drafter returns the drafter of mode (nil for Off): the node's draft
// model for Draft and Auto when it has one of the model's vocabulary,
// else prompt lookup.
func (g *generation) drafter(mode speculate.Mode, vocab int) speculate.Drafter {
	if mode == speculate.Off {
		return nil
	}
	if dm := g.n.cfg.Draft; dm != nil && mode != speculate.NGram && dm.Model.Config.VocabSize == vocab {
		d, err := dm.NewDrafter(g.maxLen)
		if err == nil {
			return d
		}
		g.n.log.Warn("draft model unusable, drafting by prompt lookup", "err", err)
	}
	return speculate.PromptLookup{}
}

// speculate is decode with speculative steps: drafted tokens go through
// the route as one step, the longest prefix the model agrees with is
// kept, and the route is rolled back past it.
func (g *generation) speculate(ctx context.Context, st *Stats, prompt []int32, maxTokens int, logits []float32, sampler *sample.Sampler,
	stop func(int32) bool, emit func(int32) error, opt genOptions, mode speculate.Mode, d speculate.Drafter) error {
	dec := speculate.Decoder{
		Target: routeTarget{g}, Drafter: d, Control: speculate.NewController(mode), Sampler: sampler,
		Vocab: len(logits), MaxLen: g.maxLen, Stop: stop, Emit: emit, Logits: opt.logits, Now: g.n.clock.Now,
	}
	res, err := dec.Decode(ctx, prompt, logits, maxTokens)
	st.GeneratedTokens, st.StoppedByToken, st.Speculation = res.Generated, res.StoppedByToken, res.Stats
	return err
}

// routeTarget verifies drafts through the generation's route.
type routeTarget struct{ g *generation }

func (t routeTarget) Step(ctx context.Context, pos int, toks []int32, logits []float32) error {
	g := t.g
	x := make([]float32, len(toks)*g.dim)
	if err := g.m.Embed(toks, x); err != nil {
		return err
	}
	out, err := g.step(ctx, pos, x)
	if err != nil {
		return err
	}
	return g.head(ctx, out, len(toks), logits)
}

func (t routeTarget) Rollback(ctx context.Context, n int) error {
	_, err := t.g.run(ctx, entry.Rollback{Len: n})
	return err
}

// planRoute returns the route a generation of model (of blocks blocks)
// would open now: the entry core's first Open.
func (n *Node) planRoute(ctx context.Context, model string, blocks int) ([]RouteHop, error) {
	g := &generation{n: n, model: model, core: entry.New(entry.Config{Model: model, Blocks: blocks, MaxLen: 1, Mode: n.cfg.RouteMode, Spread: n.cfg.RouteSpread})}
	var ev entry.Event = entry.Start{}
	for ev != nil {
		acts := g.core.Step(n.clock.Now(), ev)
		ev = nil
		for _, a := range acts {
			switch a := a.(type) {
			case entry.FetchView:
				ev, _ = g.view(ctx, a.Fresh)
			case entry.Open:
				out := make([]RouteHop, len(a.Hops))
				for i, h := range a.Hops {
					out[i] = RouteHop{Peer: h.Peer, Span: h.Span}
				}
				return out, nil
			case entry.Fail:
				return nil, a.Err
			}
		}
	}
	return nil, errors.New("node: the entry core planned no route")
}

// hopConn is the driver's stream to one hop of the core.
type hopConn struct {
	conn    *protocol.Hop
	span    sharding.Span
	sendErr error // a failed send or relink, reported by the next await
}

func (h *hopConn) fail(err error) {
	if err != nil && h.sendErr == nil {
		h.sendErr = err
	}
}

// generation drives the entry core of one generation (package
// node/entry): it carries out the core's actions on streams and feeds it
// what happened.
type generation struct {
	n       *Node
	core    *entry.Core
	m       *engine.Model // the embedding and head
	heads   *headBatcher  // runs m's head for all the node's generations
	model   string
	dim     int
	enc     protocol.Encoding
	maxLen  int
	chunk   int // rows per prefill step
	observe stepObserver
	conns   map[entry.HopID]*hopConn
	out     []float32
	// held are the hops whose sessions the node counts for route
	// planning (Node.routes), from their Open until they end.
	held map[entry.HopID]peer.ID
}

// hold counts the sessions of the hops of an Open for route planning.
func (g *generation) hold(hops []entry.Hop) {
	if g.held == nil {
		g.held = map[entry.HopID]peer.ID{}
	}
	for _, h := range hops {
		if _, ok := g.held[h.ID]; !ok {
			g.held[h.ID] = h.Peer
			g.n.routes.hold(h.Peer)
		}
	}
}

// release ends the count of hop id's session.
func (g *generation) release(id entry.HopID) {
	if p, ok := g.held[id]; ok {
		delete(g.held, id)
		g.n.routes.release(p)
	}
}

func (g *generation) stats(st Stats) Stats {
	cs := g.core.Stats()
	st.Failovers, st.Steps, st.Relayed, st.Verify = cs.Failovers, cs.Steps, cs.Relayed, cs.Verify
	st.Hops, st.Route = cs.Hops, toRoute(cs.Route)
	return st
}

// canTruncate reports whether every hop of the route now granted
// the truncate capability: speculative steps run only on such routes.
func (g *generation) canTruncate() bool {
	for _, h := range g.core.Route() {
		if c := g.conns[h.ID]; c == nil || !c.conn.Opened.Truncates {
			return false
		}
	}
	return true
}

// close ends every session the generation opened (those reset already
// stay so).
func (g *generation) close() {
	for _, h := range g.conns {
		_ = h.conn.Close()
	}
	for id := range g.held {
		g.release(id)
	}
}

// head writes the logits of n rows x into logits, batched with the
// node's other generations.
func (g *generation) head(ctx context.Context, x []float32, n int, logits []float32) error {
	if g.heads == nil {
		return g.m.Head(x, n, logits)
	}
	return g.heads.head(ctx, x, n, logits)
}

// step runs rows x at positions pos.. through the route and returns the
// last hop's output.
func (g *generation) step(ctx context.Context, pos int, x []float32) ([]float32, error) {
	h, err := protocol.EncodeRows(g.enc, x, g.dim)
	if err != nil {
		return nil, err
	}
	out, err := g.run(ctx, entry.Submit{Pos: pos, Hidden: h})
	if err != nil {
		return nil, err
	}
	return out.Decode(g.out, g.enc, h.Rows, g.dim)
}

// run feeds ev to the core and carries out its actions, feeding back the
// answers to its requests, until the core is ready for a step (Ready),
// has a step's output (Output) or fails.
func (g *generation) run(ctx context.Context, ev entry.Event) (protocol.Hidden, error) {
	for ev != nil {
		acts := g.core.Step(g.n.clock.Now(), ev)
		ev = nil
		for _, a := range acts {
			var err error
			switch a := a.(type) {
			case entry.Send:
				c := g.conns[a.Hop]
				c.fail(c.conn.Send(a.Step))
			case entry.SetNext:
				c := g.conns[a.Hop]
				c.fail(c.conn.SetNext(g.nextHop(a.Next)))
			case entry.Reset:
				_ = g.conns[a.Hop].conn.Reset()
				g.release(a.Hop)
			case entry.Truncate:
				// A hop without the feature (an old server) is skipped:
				// the next step rewrites the positions anyway.
				if c := g.conns[a.Hop]; c.conn.Opened.Truncates {
					c.fail(c.conn.Truncate(a.Seq, a.Len))
				}
			case entry.Ban:
				g.n.markFailed(a.Peer, a.Span)
			case entry.Checked:
				g.n.verify.checked(a)
			case entry.Mismatch:
				g.n.verify.mismatch(g.evidence(a))
			case entry.Observe:
				g.n.markOK(a.Peer, a.Span)
				if a.Peer != g.n.host.ID() && a.Span.Start == 0 {
					g.n.speeds.observe(a.Peer, a.Span.Len(), a.Rows, a.RoundTrip)
				}
				if g.observe != nil {
					g.observe(a.Peer, a.Span, a.RoundTrip)
				}
			case entry.FetchView:
				ev, err = g.view(ctx, a.Fresh)
			case entry.Open:
				g.hold(a.Hops)
				ev, err = g.open(ctx, a)
			case entry.Await:
				ev, err = g.await(ctx, a)
			case entry.Ready:
				return protocol.Hidden{}, nil
			case entry.Output:
				return a.Hidden, nil
			case entry.Fail:
				return protocol.Hidden{}, a.Err
			default:
				return protocol.Hidden{}, fmt.Errorf("node: unknown entry action %T", a)
			}
			if err != nil {
				return protocol.Hidden{}, err
			}
		}
	}
	return protocol.Hidden{}, errors.New("node: the entry core stopped without an answer")
}

// view answers FetchView.
func (g *generation) view(ctx context.Context, fresh bool) (entry.Event, error) {
	v, err := g.n.SwarmView(ctx, g.model, fresh)
	if err != nil {
		return entry.ViewFailed{Err: err}, nil
	}
	banned := map[string]bool{}
	for id, p := range v.Peers {
		if g.n.verify.isLiar(p) {
			banned[id] = true
		}
	}
	sessions := g.n.routes.plan(v.Peers)
	// A peer that failed a hop is left out over the span it failed, for
	// its backoff; its other spans stay.
	sw := g.n.speeds.capSwarm(floorRTTs(v.Swarm, g.n.host.ID().String()), v.Peers)
	servers := make([]sharding.Server, 0, len(sw.Servers))
	for _, s := range sw.Servers {
		if p, ok := v.Peers[s.ID]; ok && g.n.avoided(p, s.Span) {
			continue
		}
		servers = append(servers, s)
	}
	sw.Servers = servers
	return entry.ViewUpdate{Swarm: sw, Peers: v.Peers, Banned: banned, Sessions: sessions}, nil
}

func (g *generation) nextHop(id entry.HopID) *protocol.NextHop {
	c := g.conns[id].conn
	nh := &protocol.NextHop{Peer: c.Peer, Session: c.Opened.Session}
	if c.Peer == g.n.host.ID() {
		nh.Addrs = g.n.host.Addrs()
	} else {
		nh.Addrs = g.n.host.Peerstore().Addrs(c.Peer)
	}
	if len(nh.Addrs) > protocol.MaxRouteAddrs {
		nh.Addrs = nh.Addrs[:protocol.MaxRouteAddrs]
	}
	return nh
}

// open answers Open: it opens sessions from the last hop to the first, so
// that each knows where to push. On a failure it closes what it opened.
func (g *generation) open(ctx context.Context, a entry.Open) (entry.Event, error) {
	var next *protocol.NextHop
	if a.Tail != entry.NoHop {
		next = g.nextHop(a.Tail)
	}
	for j := len(a.Hops) - 1; j >= 0; j-- {
		h := a.Hops[j]
		req := protocol.OpenRequest{Model: g.model, Span: h.Span, MaxLength: g.maxLen, Encodings: []protocol.Encoding{g.enc}, Next: next,
			Truncate: true, Sign: true}
		var conn *protocol.Hop
		var err error
		if h.Peer == g.n.host.ID() {
			conn, err = g.n.infer.OpenLocal(ctx, req, g.n.cfg.IOTimeout)
		} else {
			octx, cancel := context.WithTimeout(ctx, g.openTimeout(h.Peer))
			conn, err = protocol.OpenHop(octx, g.n.host, h.Peer, req, g.n.cfg.IOTimeout)
			if err != nil && ctx.Err() == nil && octx.Err() != nil {
				// No answer in time over a connection that may be dead
				// (a killed peer's QUIC connection stays up until its
				// idle timeout): drop it, so no one else waits on it.
				_ = g.n.host.Network().ClosePeer(h.Peer)
				err = fmt.Errorf("%w: %s did not open a session in %v: %w", protocol.ErrTimeout, h.Peer, g.openTimeout(h.Peer), err)
			}
			cancel()
		}
		if err == nil && conn.Opened.Dim != g.dim {
			_ = conn.Reset()
			err = fmt.Errorf("%w: %s serves dimension %d, want %d", protocol.ErrBadHidden, h.Peer, conn.Opened.Dim, g.dim)
		}
		if err != nil {
			for _, o := range a.Hops[j+1:] {
				_ = g.conns[o.ID].conn.Close()
				delete(g.conns, o.ID)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			for _, o := range a.Hops {
				g.release(o.ID)
			}
			return entry.OpenFailed{Hop: h.ID, Err: err}, nil
		}
		g.conns[h.ID] = &hopConn{conn: conn, span: h.Span}
		next = g.nextHop(h.ID)
	}
	return entry.Opened{}, nil
}

// openTimeout bounds opening a session on p. Over a connection already
// up, an open is a round trip and the server's allocation of a session:
// it gets what a step gets at least (the fixed step timeout, or the floor
// of derived ones), or 8 RTTs if more, and at most IOTimeout. A dial (and
// its handshakes) gets IOTimeout.
func (g *generation) openTimeout(p peer.ID) time.Duration {
	io := g.n.cfg.IOTimeout
	if g.n.host.Network().Connectedness(p) != network.Connected {
		return io
	}
	d := g.n.cfg.StepTimeout
	if d <= 0 {
		d = max(entry.DefaultStepFloor, 8*g.n.host.Peerstore().LatencyEWMA(p))
	}
	return min(d, io)
}

// await answers Await: the hop's result, checked to decode as the rows
// due, or why there is none.
func (g *generation) await(ctx context.Context, a entry.Await) (entry.Event, error) {
	c := g.conns[a.Hop]
	err := c.sendErr
	c.sendErr = nil
	var res protocol.Result
	timedOut := false
	if err == nil {
		res, err = c.conn.Await(ctx, a.Seq, a.Deadline.Sub(g.n.clock.Now()))
		timedOut = errors.Is(err, protocol.ErrTimeout)
	}
	if err == nil {
		g.out, err = res.Hidden.Decode(g.out, g.enc, a.Rows, g.dim)
	}
	if err == nil {
		err = g.checkSignature(c, a.Seq, res)
	}
	switch {
	case err == nil:
		return entry.StepResult{Hop: a.Hop, Seq: a.Seq, Result: res}, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case timedOut:
		return entry.Timeout{Hop: a.Hop, Seq: a.Seq}, nil
	}
	return entry.HopFailed{Hop: a.Hop, Seq: a.Seq, Err: err}, nil
}
