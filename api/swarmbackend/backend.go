// Package swarmbackend is the HTTP API's backend over a swarm node: an
// api.Backend whose generations run through the swarm with the node as
// their entry. It adapts the node's own methods (EntryModel, Tokenizer,
// GenerateWith, PlanRoute, SwarmView, Transfers) to the API's types,
// so that the node does not depend on the HTTP API.
package swarmbackend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/sharding"
)

// Options tune a Backend. Zero values take the defaults noted.
type Options struct {
	// MaxConcurrent caps the generations running at once; 0 sizes the
	// cap for each request from the swarm (node.AdmissionLimit: 4 per hop
	// of the route, no more than the servers' KV caches hold). MaxQueue
	// caps the ones waiting beyond those (16; negative: none wait).
	MaxConcurrent int
	MaxQueue      int
	// Metrics is fed with tokens, generations, load and per-hop step
	// latencies; may be nil. (Pass the same Metrics as node.Config.Metrics
	// to count this node's server sessions too.)
	Metrics *metrics.Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Backend is an api.Backend over the swarm: the node is the entry node of
// every generation. Models are the ones the node serves as an entry
// (node.ServeOptions.Entry); clients name them by model ID or by
// general.name.
type Backend struct {
	n       *node.Node
	opt     Options
	started time.Time
	slots   *api.Slots
	auto    bool // slots sized from the swarm
	log     *slog.Logger

	mu   sync.Mutex
	toks map[string]*tokenizer.Tokenizer
}

var (
	_ api.Backend         = (*Backend)(nil)
	_ api.KVCacheReporter = (*Backend)(nil)
)

// New returns an api.Backend running generations through the swarm with n
// as their entry.
func New(n *node.Node, opt Options) *Backend {
	auto := opt.MaxConcurrent <= 0
	if auto {
		opt.MaxConcurrent = node.AdmissionPerHop // until a route is known
	}
	if opt.MaxQueue == 0 {
		opt.MaxQueue = 16
	} else if opt.MaxQueue < 0 {
		opt.MaxQueue = 0
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Backend{n: n, opt: opt, started: time.Now(), slots: api.NewSlots(opt.MaxConcurrent, opt.MaxQueue, opt.Metrics),
		auto: auto, log: opt.Logger.With("component", "api"), toks: map[string]*tokenizer.Tokenizer{}}
}

// entry finds a model the node is an entry of, by ID or general.name.
func (b *Backend) entry(model string) (node.EntryModel, error) {
	m, err := b.n.EntryModel(model)
	if errors.Is(err, node.ErrNotEntry) {
		return m, fmt.Errorf("%w: %q", api.ErrUnknownModel, model)
	}
	return m, err
}

// Models lists the models the node can generate with, with the number of
// servers of every block in the current swarm view.
func (b *Backend) Models(ctx context.Context) ([]api.ModelInfo, error) {
	out := []api.ModelInfo{}
	for _, st := range b.n.Models() {
		if !st.Entry {
			continue
		}
		// Read only for the name: the view below is gathered over the
		// network and must not hold a replaced span.
		em, err := b.n.EntryModel(st.Model)
		if err != nil {
			continue
		}
		mi := api.ModelInfo{ID: st.Model, Name: em.Name, CID: st.Model, ContextLength: st.Config.Context, Blocks: st.Blocks,
			Coverage: make([]int, st.Blocks), VocabSize: st.Config.VocabSize, OwnedBy: b.n.ID().String()}
		if v, err := b.n.SwarmView(ctx, st.Model, false); err == nil {
			mi.Throughput = make([]float64, st.Blocks)
			for _, s := range v.Swarm.Servers {
				for i := max(0, s.Span.Start); i < min(s.Span.End, st.Blocks); i++ {
					mi.Coverage[i]++
					mi.Throughput[i] += s.Throughput
				}
			}
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out = append(out, mi)
	}
	return out, nil
}

// Tokenizer reads the tokenizer of model from its GGUF metadata, once.
func (b *Backend) Tokenizer(model string) (*tokenizer.Tokenizer, error) {
	m, err := b.entry(model)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.toks[m.ID]; t != nil {
		return t, nil
	}
	t, err := b.n.Tokenizer(m.ID)
	if errors.Is(err, node.ErrNotEntry) {
		return nil, fmt.Errorf("%w: %q", api.ErrUnknownModel, model)
	}
	if err != nil {
		return nil, err
	}
	b.toks[m.ID] = t
	return t, nil
}

// Status describes the node.
func (b *Backend) Status(ctx context.Context) (api.NodeStatus, error) {
	load := b.slots.Load()
	snap := b.opt.Metrics.Snapshot()
	st := api.NodeStatus{
		PeerID: b.n.ID().String(), Version: b.n.Version(), StartedAt: b.started,
		UptimeSeconds: time.Since(b.started).Seconds(), Load: load, Spans: []api.Span{},
		Requests: snap.Generations, TokensGenerated: snap.TokensGenerated, PromptTokens: snap.PromptTokens,
		Peers: len(b.n.Host().Network().Peers()), Transfers: []api.Transfer{}, Speculation: api.NodeSpeculation(snap),
		Verify: verifyStatus(b.n.VerifyStatus()),
	}
	for _, t := range b.n.Transfers() {
		st.Transfers = append(st.Transfers, Transfer(t, time.Now()))
	}
	for _, m := range b.n.Models() {
		if m.Span.Len() > 0 {
			st.Spans = append(st.Spans, api.Span{Model: m.Model, Span: sharding.Span{Start: m.Span.Start, End: m.Span.End}})
		}
	}
	return st, nil
}

// Peers lists the other peers: the servers of the swarm views of the
// node's models, and the peers it is connected to.
func (b *Backend) Peers(ctx context.Context) ([]api.PeerInfo, error) {
	h := b.n.Host()
	byID := map[peer.ID]*api.PeerInfo{}
	add := func(p peer.ID) *api.PeerInfo {
		if pi := byID[p]; pi != nil {
			return pi
		}
		pi := &api.PeerInfo{ID: p.String(), Addrs: []string{}, Spans: []api.Span{}}
		for _, a := range h.Peerstore().Addrs(p) {
			pi.Addrs = append(pi.Addrs, a.String())
		}
		sort.Strings(pi.Addrs)
		if rtt := h.Peerstore().LatencyEWMA(p); rtt > 0 {
			pi.RTTMillis = float64(rtt) / float64(time.Millisecond)
		}
		byID[p] = pi
		return pi
	}
	err := b.eachView(ctx, false, func(model string, v *node.View) {
		for _, s := range v.Swarm.Servers {
			p := v.Peers[s.ID]
			if p == b.n.ID() {
				continue
			}
			pi := add(p)
			pi.Spans = append(pi.Spans, api.Span{Model: model, Span: sharding.Span{Start: s.Span.Start, End: s.Span.End}})
			if n := s.Span.End - s.Span.Start; n > 0 {
				// Tokens/s through one block, over the span's blocks.
				pi.Throughput += s.Throughput / float64(n)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, p := range h.Network().Peers() {
		if h.Network().Connectedness(p) == network.Connected {
			add(p)
		}
	}
	out := make([]api.PeerInfo, 0, len(byID))
	for _, pi := range byID {
		out = append(out, *pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// KVCache lists the KV caches of the servers of the node's models (this
// node's included), as their info answers in the swarm views tell them.
func (b *Backend) KVCache(ctx context.Context) ([]api.KVCacheUse, error) {
	out := []api.KVCacheUse{}
	err := b.eachView(ctx, true, func(model string, v *node.View) {
		for _, s := range v.Swarm.Servers {
			p := v.Peers[s.ID]
			u := api.KVCacheUse{Peer: p.String(), Self: p == b.n.ID(), Model: model, Start: s.Span.Start, End: s.Span.End, Sessions: -1}
			if in, ok := v.Info[s.ID]; ok {
				if in.CacheTokens > 0 || in.CacheBytes > 0 {
					u.Sessions = in.Sessions
					u.BudgetTokens, u.BudgetBytes = in.CacheTokens, in.CacheBytes
					u.UsedTokens = max(in.CacheTokens-in.FreeCacheTokens, 0)
					u.UsedBytes = max(in.CacheBytes-in.FreeCacheBytes, 0)
				}
			}
			out = append(out, u)
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.Model != c.Model {
			return a.Model < c.Model
		}
		if a.Start != c.Start {
			return a.Start < c.Start
		}
		return a.Peer < c.Peer
	})
	return out, nil
}

// Route plans the hops a generation of model would take now.
func (b *Backend) Route(ctx context.Context, model string) ([]api.RouteHop, error) {
	m, err := b.entry(model)
	if err != nil {
		return nil, err
	}
	hops, err := b.n.PlanRoute(ctx, m.ID)
	if err != nil {
		return nil, b.noRoute(ctx, m.ID, err)
	}
	h := b.n.Host()
	out := make([]api.RouteHop, 0, len(hops))
	for _, hop := range hops {
		rh := api.RouteHop{Peer: hop.Peer.String(), Start: hop.Span.Start, End: hop.Span.End, Local: hop.Peer == b.n.ID()}
		if !rh.Local {
			if as := h.Peerstore().Addrs(hop.Peer); len(as) > 0 {
				rh.Addr = as[0].String()
			}
			rh.RTTMillis = float64(h.Peerstore().LatencyEWMA(hop.Peer)) / float64(time.Millisecond)
		}
		out = append(out, rh)
	}
	return out, nil
}

// Generate runs req through the swarm with the node as the entry.
func (b *Backend) Generate(ctx context.Context, req api.GenerateRequest, emit func(tok int32) error) (api.GenerateResult, error) {
	var res api.GenerateResult
	if b.n.Draining() {
		return res, fmt.Errorf("%w: node is shutting down", api.ErrBusy)
	}
	// Its ID and configuration are all this needs of the model: the
	// generation acquires the model it runs on itself.
	em, err := b.entry(req.Model)
	if err != nil {
		return res, err
	}
	id, cfg := em.ID, em.Config
	switch {
	case len(req.Prompt) == 0:
		return res, fmt.Errorf("%w: empty prompt", api.ErrBadRequest)
	case len(req.Prompt) > cfg.Context:
		return res, fmt.Errorf("%w: %w: prompt of %d tokens, context of %d", api.ErrBadRequest, api.ErrContextLength, len(req.Prompt), cfg.Context)
	case req.MaxTokens < 0:
		return res, fmt.Errorf("%w: max tokens %d is negative", api.ErrBadRequest, req.MaxTokens)
	}
	for _, t := range req.Prompt {
		if t < 0 || int(t) >= cfg.VocabSize {
			return res, fmt.Errorf("%w: token id %d outside the vocabulary of %d", api.ErrBadRequest, t, cfg.VocabSize)
		}
	}
	sampler, err := sample.New(req.Params)
	if err != nil {
		return res, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	res.PromptTokens = len(req.Prompt)
	if req.MaxTokens == 0 && !(req.PromptLogits && req.Logits != nil) {
		res.FinishReason = api.FinishLength
		return res, nil
	}
	stop := req.Stop
	if stop == nil {
		tok, err := b.Tokenizer(id)
		if err != nil {
			return res, err
		}
		stop = tok.IsEOG
	}
	if b.auto {
		// Sized to the route and the KV caches it would use now; a swarm
		// without a route keeps the last size (the generation fails
		// on its own).
		maxLen := min(len(req.Prompt)+req.MaxTokens, cfg.Context)
		if n, err := b.n.AdmissionLimit(ctx, id, maxLen, b.slots.Load().Active); err == nil {
			b.slots.SetLimit(n)
		}
	}
	if err := b.slots.Acquire(ctx); err != nil {
		return res, err
	}
	defer b.slots.Release()
	m := b.opt.Metrics
	m.AddGeneration()
	stopped := false
	st, err := b.n.GenerateWith(ctx, id, req.Prompt, req.MaxTokens, sampler, stop, func(tok int32) error {
		m.AddTokens(1)
		if err := emit(tok); err != nil {
			stopped = errors.Is(err, api.ErrStop)
			return err
		}
		return nil
	}, node.GenerateHooks{Observe: func(p peer.ID, span sharding.Span, d time.Duration) {
		m.ObserveStep(fmt.Sprintf("%s[%d,%d)", node.ShortID(p), span.Start, span.End), d)
	}, Logits: req.Logits, PromptLogits: req.PromptLogits, Speculate: req.Speculate, VerifyRate: req.VerifyRate})
	if sp := st.Speculation; st.Speculate != speculate.Off {
		m.AddSpeculation(sp.Passes, sp.Tokens, sp.Drafted, sp.Accepted, sp.Saved)
	}
	m.AddPromptTokens(st.PromptTokens)
	m.AddRouteEvents(st.Failovers, st.Relayed)
	res.GeneratedTokens, res.Prefill, res.Decode = st.GeneratedTokens, st.Prefill, st.Decode
	res.Swarm = swarmStats(st)
	switch {
	case stopped:
		res.FinishReason = api.FinishStop
		return res, nil
	case err != nil:
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		switch {
		case errors.Is(err, node.ErrNoRoute):
			err = b.noRoute(ctx, id, err)
		case errors.Is(err, engine.ErrBadInput):
			err = fmt.Errorf("%w: %w", api.ErrBadRequest, err)
		}
		b.log.Debug("generation ended", "model", id, "tokens", st.GeneratedTokens, "err", err)
		return res, fmt.Errorf("node: generate: %w", err)
	case st.StoppedByToken:
		res.FinishReason = api.FinishStop
	default:
		res.FinishReason = api.FinishLength
	}
	return res, nil
}

// swarmStats is a generation's route, failovers and hop timings as the
// API reports them.
func swarmStats(st node.Stats) *api.SwarmStats {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	out := &api.SwarmStats{Route: []api.SwarmHop{}, Failovers: st.Failovers, Hops: []api.SwarmHopTiming{},
		Speculation: api.GenerationSpeculation(st.Speculate, st.Speculation)}
	for _, h := range st.Route {
		out.Route = append(out.Route, api.SwarmHop{Peer: h.Peer.String(), Start: h.Span.Start, End: h.Span.End})
	}
	for _, h := range st.Hops {
		out.Hops = append(out.Hops, api.SwarmHopTiming{SwarmHop: api.SwarmHop{Peer: h.Server.String(), Start: h.Span.Start, End: h.Span.End},
			Steps: h.Steps, ComputeMS: ms(h.Compute), QueueMS: ms(h.Queue), NetworkMS: ms(h.Network)})
	}
	if v := st.Verify; v.Checks+v.Skipped > 0 {
		out.Verify = &api.SwarmVerify{Checks: v.Checks, Mismatches: v.Mismatches, Skipped: v.Skipped, Rows: v.Rows, CheckMS: ms(v.Time)}
	}
	return out
}

// verifyStatus is the node's VerifyStatus as the node API reports it.
func verifyStatus(vs node.VerifyStatus) *api.VerifyStatus {
	out := &api.VerifyStatus{Checks: vs.Checks, Mismatches: vs.Mismatches, Banned: []api.BannedPeer{}, Disputes: []api.Dispute{}, Reports: vs.Reports}
	for _, l := range vs.Liars {
		b := api.BannedPeer{Peer: l.Peer.String(), Model: l.Model, Start: l.Span.Start, End: l.Span.End, Source: l.Source, Until: l.Until}
		if l.Reporter != "" {
			b.Reporter = l.Reporter.String()
		}
		out.Banned = append(out.Banned, b)
	}
	sort.Slice(out.Banned, func(i, j int) bool { return out.Banned[i].Peer < out.Banned[j].Peer })
	for _, d := range vs.Disputes {
		x := api.Dispute{At: d.At, Model: d.Model, Start: d.Span.Start, End: d.Span.End, Pos: d.Pos, FoundAt: d.End,
			Accused: d.Accused.String(), Verifier: d.Verifier.String(), Published: d.Published}
		if d.Judge != "" {
			x.Judge = d.Judge.String()
		}
		if d.Liar != "" {
			x.Liar = d.Liar.String()
		}
		out.Disputes = append(out.Disputes, x)
	}
	return out
}

// Transfer is t as the node API reports it, its elapsed time counted up
// to now while it runs.
func Transfer(t node.Transfer, now time.Time) api.Transfer {
	out := api.Transfer{
		Kind: t.Kind, Model: t.Model, File: t.File, Phase: t.Phase, DoneBytes: t.Done, TotalBytes: t.Total,
		BytesPerSecond: t.Rate, ETASeconds: t.ETA.Seconds(), StartedAt: t.Started, FinishedAt: t.Finished, Error: t.Err,
	}
	if t.Kind == node.TransferFetch {
		out.Start, out.End, out.Embed, out.Head = t.Span.Start, t.Span.End, t.Embed, t.Head
	}
	end := t.Finished
	if end.IsZero() {
		end = now
	}
	out.ElapsedSeconds = end.Sub(t.Started).Seconds()
	return out
}

// noRoute maps a failed route of model to the API's errors: a coverage
// gap (blocks without any server) is an api.CoverageGapError, anything
// else (every server of a block busy, full or failed) api.ErrBusy.
func (b *Backend) noRoute(ctx context.Context, model string, err error) error {
	var g *node.GapError
	if !errors.As(err, &g) {
		if ctx.Err() == nil {
			err = b.n.CoverageGap(ctx, model, err)
		}
		if !errors.As(err, &g) {
			return fmt.Errorf("%w: %w", api.ErrBusy, err)
		}
	}
	return &api.CoverageGapError{Model: g.Model, Missing: g.Missing, Joining: g.Joining}
}

// eachView calls fn with the swarm view of each of the node's models (of
// those it is the entry node for, with entryOnly), skipping models whose
// view fails unless ctx is done.
func (b *Backend) eachView(ctx context.Context, entryOnly bool, fn func(model string, v *node.View)) error {
	for _, m := range b.n.Models() {
		if entryOnly && !m.Entry {
			continue
		}
		v, err := b.n.SwarmView(ctx, m.Model, false)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		fn(m.Model, v)
	}
	return nil
}
