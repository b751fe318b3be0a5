package node

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// serveComponent is what the node computes for the swarm: the model spans
// it serves, their schedulers (continuous batching of the sessions'
// steps), the KV-cache budget of all sessions and the inference server
// (/orbit/infer/1.0.0) that opens them. ServeConfig configures it; the
// Node composes it with the swarm component.
type serveComponent struct {
	cfg   ServeConfig
	log   *slog.Logger
	clock clock.Clock

	infer    *protocol.InferServer
	budget   budget
	draining atomic.Bool // no new sessions, no spans reported

	mu     sync.Mutex
	models map[string]*served
}

func newServeComponent(cfg ServeConfig, log *slog.Logger, clk clock.Clock) *serveComponent {
	return &serveComponent{cfg: cfg, log: log, clock: clk, budget: budget{limit: cfg.KVCacheBytes}, models: map[string]*served{}}
}

// startInfer starts the inference server on h, opening sessions through
// be (backend, over the component).
func (s *serveComponent) startInfer(h host.Host, be protocol.InferBackend) {
	s.infer = protocol.NewInferServer(h, be, protocol.ServerConfig{IdleTimeout: s.cfg.IdleTimeout, IOTimeout: s.cfg.IOTimeout, Logger: s.log, Clock: s.clock})
	s.infer.Start()
}

// servedModel looks model id up without acquiring it: a span Rebalance
// replaced may be closed (its weights unmapped) at any time after. Its
// callers read only what is fixed when a model is loaded and survives
// close: id, src, blocks, span() and the parsed metadata of file. Anything
// that runs the engine or reads weights acquires the model instead.
func (s *serveComponent) servedModel(id string) *served {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.models[id]
}

// acquire returns the served model id with one more generation (gen) or
// session counted, or nil. It counts under the component's lock: swap
// puts a new span in under that lock before the old one is retired, so
// retire sees every user of the old span and never closes it (unmapping
// its weights) under one that looked it up just before the swap.
func (s *serveComponent) acquire(id string, gen bool) *served {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[id]
	if m != nil {
		m.hold(gen)
	}
	return m
}

// entryOf finds a model this node is an entry of, by ID or general.name,
// and acquires it as a generation (see acquire): the caller calls
// release(true) once done with its file and engine parts, so that a
// rebalance does not retire (unmap) them underneath.
func (s *serveComponent) entryOf(model string) (*served, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[model]
	if m == nil || m.entry == nil {
		m = nil
		for _, c := range s.models {
			if c.entry != nil && c.name() == model && model != "" {
				m = c
				break
			}
		}
	}
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotEntry, model)
	}
	m.hold(true)
	return m, nil
}

// add serves srv, unless its model is served already.
func (s *serveComponent) add(srv *served) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models[srv.id] != nil {
		return fmt.Errorf("node: model %s already served", srv.id)
	}
	s.models[srv.id] = srv
	return nil
}

// swap serves srv in place of old, unless the model changed meanwhile.
func (s *serveComponent) swap(old, srv *served) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models[srv.id] != old {
		return fmt.Errorf("node: model %s changed while rebalancing", srv.id)
	}
	s.models[srv.id] = srv
	return nil
}

// load opens and loads span of src (and the embedding and head when
// entry), measures its speed and starts its scheduler.
func (s *serveComponent) load(ctx context.Context, src ModelSource, blocks int, span sharding.Span, entry bool) (*served, error) {
	id := src.ID()
	f, err := src.Open(ctx, span, entry, entry)
	if err != nil {
		return nil, err
	}
	srv := &served{id: id, src: src, blocks: blocks, file: f}
	if span.Len() > 0 {
		srv.model, err = engine.Load(f, engine.Options{Blocks: span, Pool: srv.newPool(s.cfg.Threads)})
		if err != nil {
			srv.close()
			return nil, fmt.Errorf("node: load %v of %s: %w", span, id, err)
		}
		if srv.throughput, err = benchmark(ctx, srv.model, s.clock); err != nil {
			srv.close()
			return nil, err
		}
		if s.cfg.ComputeSlowdown > 1 {
			srv.throughput /= s.cfg.ComputeSlowdown
		}
		if c := s.cfg.ComputeCost.of(1, 1); c > 0 {
			srv.throughput = min(srv.throughput, 1/c.Seconds())
		}
		srv.sched = newScheduler(srv.model, s.cfg.BatchWindow, s.cfg.MaxBatchRows, func() int {
			srv.mu.Lock()
			defer srv.mu.Unlock()
			return srv.sessions
		}, s.cfg.ComputeSlowdown, s.cfg.ComputeCost, s.cfg.Metrics, s.log, s.clock)
	}
	if entry {
		srv.entry, err = engine.Load(f, engine.Options{NoBlocks: true, Embed: true, Head: true, Pool: srv.newPool(s.cfg.Threads)})
		if err != nil {
			srv.close()
			return nil, fmt.Errorf("node: load embedding and head of %s: %w", id, err)
		}
		srv.heads = newHeadBatcher(srv.entry, s.cfg.Metrics)
	}
	return srv, nil
}

// Models lists the served models.
func (s *serveComponent) Models() []ModelStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ModelStatus
	for id, m := range s.models {
		st := ModelStatus{Model: id, Span: m.span(), Blocks: m.blocks, Throughput: m.throughput, Entry: m.entry != nil}
		switch {
		case m.model != nil:
			st.Config = m.model.Config
		case m.entry != nil:
			st.Config = m.entry.Config
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// modelInfos are the served models as /orbit/info/1.0.0 reports them
// (none while draining).
func (s *serveComponent) modelInfos() []protocol.ModelInfo {
	if s.draining.Load() {
		return nil
	}
	free := s.budget.free()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []protocol.ModelInfo
	for id, m := range s.models {
		mi := protocol.ModelInfo{Model: id, Span: m.span(), Blocks: m.blocks, Throughput: m.throughput, FreeCacheBytes: free, Entry: m.entry != nil,
			CacheBytes: s.budget.limit}
		if m.model != nil {
			// The longest session that fits (a sliding-window block's
			// cache is bounded: it does not grow past its ring).
			if m.model.SessionBytes(1) > 0 {
				mi.FreeCacheTokens = m.model.SessionPositions(free)
				mi.CacheTokens = m.model.SessionPositions(s.budget.limit)
			}
			m.mu.Lock()
			mi.Load = min(0.99, float64(m.sessions)/float64(s.cfg.MaxBatchRows))
			mi.Sessions = m.sessions
			m.mu.Unlock()
		}
		out = append(out, mi)
	}
	return out
}

// busy counts the sessions and generations using the served models.
func (s *serveComponent) busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for _, m := range s.models {
		total += m.busy()
	}
	return total
}

// closeModels closes every served model.
func (s *serveComponent) closeModels() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, m := range s.models {
		m.close()
		delete(s.models, id)
	}
}

// ComputeStats sums what the batch schedulers of the served spans did
// (engine calls, rows, steps, busy time), with the sessions open now.
func (s *serveComponent) ComputeStats() ComputeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st ComputeStats
	for _, m := range s.models {
		if m.sched != nil {
			st = st.Add(m.sched.Stats())
		}
		m.mu.Lock()
		st.Sessions += m.sessions
		m.mu.Unlock()
	}
	return st
}
