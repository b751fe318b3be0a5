package node

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
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sharding"
)

// APIOptions tune an APIBackend. Zero values take the defaults noted.
type APIOptions struct {
	// MaxConcurrent caps the generations running at once (4); MaxQueue
	// the ones waiting beyond those (16; negative: none wait).
	MaxConcurrent int
	MaxQueue      int
	// Metrics is fed with tokens, generations, load and per-hop step
	// latencies; may be nil. (Pass the same Metrics as Config.Metrics to
	// count this node's server sessions too.)
	Metrics *api.Metrics
}

// APIBackend is an api.Backend over the swarm: this node is the entry node
// of every generation. Models are the ones this node serves as an entry
// (ServeOptions.Entry); clients name them by model ID or by general.name.
type APIBackend struct {
	n       *Node
	opt     APIOptions
	started time.Time
	slots   *api.Slots
	log     *slog.Logger

	mu   sync.Mutex
	toks map[string]*tokenizer.Tokenizer
}

var _ api.Backend = (*APIBackend)(nil)

// APIBackend returns an api.Backend running generations through the swarm.
func (n *Node) APIBackend(opt APIOptions) *APIBackend {
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = 4
	}
	if opt.MaxQueue == 0 {
		opt.MaxQueue = 16
	} else if opt.MaxQueue < 0 {
		opt.MaxQueue = 0
	}
	return &APIBackend{n: n, opt: opt, started: time.Now(), slots: api.NewSlots(opt.MaxConcurrent, opt.MaxQueue, opt.Metrics),
		log: n.log.With("component", "api"), toks: map[string]*tokenizer.Tokenizer{}}
}

// entry finds a model this node is an entry of, by ID or general.name,
// and acquires it as a generation (see (*Node).acquire): the caller
// calls release(true) once done with its file and engine parts, so that a
// rebalance does not retire (unmap) them underneath.
func (b *APIBackend) entry(model string) (*served, error) {
	b.n.mu.Lock()
	defer b.n.mu.Unlock()
	s := b.n.models[model]
	if s == nil || s.entry == nil {
		s = nil
		for _, c := range b.n.models {
			if c.entry != nil && c.name() == model && model != "" {
				s = c
				break
			}
		}
	}
	if s == nil {
		return nil, fmt.Errorf("%w: %q", api.ErrUnknownModel, model)
	}
	s.hold(true)
	return s, nil
}

// Models lists the models this node can generate with, with the number of
// servers of every block in the current swarm view.
func (b *APIBackend) Models(ctx context.Context) ([]api.ModelInfo, error) {
	out := []api.ModelInfo{}
	for _, st := range b.n.Models() {
		if !st.Entry {
			continue
		}
		// Acquired only to read the name: the view below is gathered
		// over the network and must not hold a replaced span.
		srv := b.n.acquire(st.Model, true)
		if srv == nil {
			continue
		}
		name := srv.name()
		srv.release(true)
		mi := api.ModelInfo{ID: st.Model, Name: name, ContextLength: st.Config.Context, Blocks: st.Blocks,
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
func (b *APIBackend) Tokenizer(model string) (*tokenizer.Tokenizer, error) {
	srv, err := b.entry(model)
	if err != nil {
		return nil, err
	}
	defer srv.release(true)
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.toks[srv.id]; t != nil {
		return t, nil
	}
	t, err := tokenizer.FromGGUF(srv.file)
	if err != nil {
		return nil, fmt.Errorf("node: tokenizer of %s: %w", srv.id, err)
	}
	b.toks[srv.id] = t
	return t, nil
}

// Status describes this node.
func (b *APIBackend) Status(ctx context.Context) (api.NodeStatus, error) {
	load := b.slots.Load()
	snap := b.opt.Metrics.Snapshot()
	st := api.NodeStatus{
		PeerID: b.n.ID().String(), Version: b.n.cfg.Version, StartedAt: b.started,
		UptimeSeconds: time.Since(b.started).Seconds(), Load: load, Spans: []api.Span{},
		Requests: snap.Generations, TokensGenerated: snap.TokensGenerated, PromptTokens: snap.PromptTokens,
		Peers: len(b.n.host.Network().Peers()), Transfers: []api.Transfer{},
	}
	for _, t := range b.n.Transfers() {
		st.Transfers = append(st.Transfers, apiTransfer(t))
	}
	for _, m := range b.n.Models() {
		if m.Span.Len() > 0 {
			st.Spans = append(st.Spans, api.Span{Model: m.Model, Span: sharding.Span{Start: m.Span.Start, End: m.Span.End}})
		}
	}
	return st, nil
}

// Peers lists the other peers: the servers of the swarm views of this
// node's models, and the peers it is connected to.
func (b *APIBackend) Peers(ctx context.Context) ([]api.PeerInfo, error) {
	byID := map[peer.ID]*api.PeerInfo{}
	add := func(p peer.ID) *api.PeerInfo {
		if pi := byID[p]; pi != nil {
			return pi
		}
		pi := &api.PeerInfo{ID: p.String(), Addrs: []string{}, Spans: []api.Span{}}
		for _, a := range b.n.host.Peerstore().Addrs(p) {
			pi.Addrs = append(pi.Addrs, a.String())
		}
		sort.Strings(pi.Addrs)
		if rtt := b.n.host.Peerstore().LatencyEWMA(p); rtt > 0 {
			pi.RTTMillis = float64(rtt) / float64(time.Millisecond)
		}
		byID[p] = pi
		return pi
	}
	for _, m := range b.n.Models() {
		v, err := b.n.SwarmView(ctx, m.Model, false)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		for _, s := range v.Swarm.Servers {
			p := v.Peers[s.ID]
			if p == b.n.ID() {
				continue
			}
			pi := add(p)
			pi.Spans = append(pi.Spans, api.Span{Model: m.Model, Span: sharding.Span{Start: s.Span.Start, End: s.Span.End}})
			if n := s.Span.End - s.Span.Start; n > 0 {
				// Tokens/s through one block, over the span's blocks.
				pi.Throughput += s.Throughput / float64(n)
			}
		}
	}
	for _, p := range b.n.host.Network().Peers() {
		if b.n.host.Network().Connectedness(p) == network.Connected {
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

// Route plans the hops a generation of model would take now.
func (b *APIBackend) Route(ctx context.Context, model string) ([]api.RouteHop, error) {
	srv, err := b.entry(model)
	if err != nil {
		return nil, err
	}
	// Only the ID is needed; planning goes over the network, so the
	// model is not held meanwhile.
	id := srv.id
	srv.release(true)
	hops, err := b.n.PlanRoute(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNoRoute) {
			// A gap in the swarm's coverage: as for a generation, the
			// client may retry once a server takes the missing blocks.
			err = fmt.Errorf("%w: %w", api.ErrBusy, err)
		}
		return nil, err
	}
	out := make([]api.RouteHop, 0, len(hops))
	for _, h := range hops {
		rh := api.RouteHop{Peer: h.Peer.String(), Start: h.Span.Start, End: h.Span.End, Local: h.Peer == b.n.ID()}
		if !rh.Local {
			if as := b.n.host.Peerstore().Addrs(h.Peer); len(as) > 0 {
				rh.Addr = as[0].String()
			}
			rh.RTTMillis = float64(b.n.host.Peerstore().LatencyEWMA(h.Peer)) / float64(time.Millisecond)
		}
		out = append(out, rh)
	}
	return out, nil
}

// PlanRoute returns the route a generation of model would take now.
func (n *Node) PlanRoute(ctx context.Context, model string) ([]RouteHop, error) {
	// A plain lookup: blocks is fixed when the model is loaded, and
	// nothing of its file or engine parts is touched.
	srv := n.servedModel(model)
	if srv == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotEntry, model)
	}
	g := &generation{n: n, model: model, blocks: srv.blocks, maxLen: 1, exclude: map[string]bool{}}
	hops, err := g.plan(ctx, sharding.Span{Start: 0, End: srv.blocks}, false)
	if err != nil {
		return nil, err
	}
	out := make([]RouteHop, len(hops))
	for i, h := range hops {
		out[i] = RouteHop{Peer: h.peer, Span: h.span}
	}
	return out, nil
}

// Generate runs req through the swarm with this node as the entry.
func (b *APIBackend) Generate(ctx context.Context, req api.GenerateRequest, emit func(tok int32) error) (api.GenerateResult, error) {
	var res api.GenerateResult
	if b.n.draining.Load() {
		return res, fmt.Errorf("%w: node is shutting down", api.ErrBusy)
	}
	srv, err := b.entry(req.Model)
	if err != nil {
		return res, err
	}
	// Its ID and configuration are all this needs of the model:
	// generate acquires the model it runs on itself.
	id, cfg := srv.id, srv.entry.Config
	srv.release(true)
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
	if req.MaxTokens == 0 {
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
	if err := b.slots.Acquire(ctx); err != nil {
		return res, err
	}
	defer b.slots.Release()
	m := b.opt.Metrics
	m.AddGeneration()
	stopped := false
	st, err := b.n.generate(ctx, id, req.Prompt, req.MaxTokens, sampler, stop, func(tok int32) error {
		m.AddTokens(1)
		if err := emit(tok); err != nil {
			stopped = errors.Is(err, api.ErrStop)
			return err
		}
		return nil
	}, genOptions{observe: func(p peer.ID, span sharding.Span, d time.Duration) {
		m.ObserveStep(fmt.Sprintf("%s[%d,%d)", shortID(p), span.Start, span.End), d)
	}})
	m.AddPromptTokens(st.PromptTokens)
	m.AddRouteEvents(st.Failovers, st.Relayed)
	res.GeneratedTokens, res.Prefill, res.Decode = st.GeneratedTokens, st.Prefill, st.Decode
	switch {
	case stopped:
		res.FinishReason = api.FinishStop
		return res, nil
	case err != nil:
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		switch {
		case errors.Is(err, ErrNoRoute):
			err = fmt.Errorf("%w: %w", api.ErrBusy, err)
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
