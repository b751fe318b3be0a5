package node

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// Node is one Orbit peer: it serves spans of models and can act as the
// entry node of generations.
type Node struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	// The node's components: its place in the swarm (host, DHT, views,
	// avoided peers) and what it serves (spans, schedulers, KV budget,
	// inference server). Their methods are the node's.
	*swarmComponent
	*serveComponent
	blocks  *protocol.BlockServer // nil without a weight store
	fetcher *weights.Fetcher      // nil without a weight store
	// transfers records the imports and fetches of weights.
	transfers *transfers
	// admission remembers the generations running when each view was
	// first used to size admission (AdmissionLimit).
	admission admissionMemo
	// routes counts the sessions this node's generations hold, for route
	// planning.
	routes *routeLoad
	// speeds are the servers' speeds this entry node measured.
	speeds *speeds

	stopInfo func()
	// verify records checks, disputes and liars; stopReports removes its
	// /orbit/report/1.0.0 handler.
	verify      *verifier
	stopReports func()
	ctx         context.Context // cancelled by Close: background work
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	// repairing is set while a repair of the store (after a corrupt
	// block) runs; stopRepair stops the store's hook.
	repairing  atomic.Bool
	stopRepair func()
}

// New starts a node: host, DHT (server mode, prefix /orbit), protocols and
// , unless disabled, mDNS. It connects to the bootstrap peers it can reach.
func New(ctx context.Context, cfg Config) (*Node, error) {
	cfg.fill()
	n := &Node{cfg: cfg, clock: clock.Or(cfg.Clock), routes: newRouteLoad(), speeds: newSpeeds()}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	sw, err := newSwarmComponent(n.ctx, cfg.Swarm(), cfg.Logger, n.clock)
	if err != nil {
		n.cancel()
		return nil, err
	}
	h := sw.host
	n.swarmComponent, n.log = sw, sw.log
	sw.self = n.info
	n.transfers = newTransfers(cfg.Metrics, cfg.OnTransfer)
	n.transfers.clock = n.clock
	n.serveComponent = newServeComponent(cfg.Serve(), n.log, n.clock)
	n.startInfer(h, backend{n})
	if cfg.Store != nil {
		n.blocks = protocol.NewBlockServer(h, cfg.Store, protocol.BlockServerOptions{Timeout: cfg.IOTimeout, Logger: n.log})
		fo := weights.FetchOptions{Routing: n.dht, Logger: n.log}
		if m := cfg.Metrics; m != nil {
			fo.Stored = func(int) { m.AddChunksFetched(1) }
		}
		n.fetcher = weights.NewFetcher(cfg.Store, h, protocol.NewBlockClient(h, cfg.IOTimeout), fo)
		n.stopRepair = cfg.Store.OnCorrupt(n.repairStore)
	}
	n.stopInfo = protocol.ServeInfo(h, n.info, n.log)
	n.verify = newVerifier(n.ctx, &n.wg, h, n.clock, n.log, cfg.Metrics, cfg.IOTimeout)
	n.stopReports = protocol.ServeReports(h, n.verify.receive, n.log)
	n.join(ctx)
	if cfg.RebalanceInterval > 0 {
		n.wg.Add(1)
		go n.rebalanceLoop()
	}
	n.startMDNS()
	return n, nil
}

// Close stops taking sessions, ends the open ones, stops announcing and
// shuts the host down.
func (n *Node) Close() error {
	if n.stopRepair != nil {
		n.stopRepair()
	}
	n.infer.Close()
	n.stopInfo()
	n.stopReports()
	if n.blocks != nil {
		_ = n.blocks.Close()
	}
	n.cancel()
	n.wg.Wait()
	err := n.swarmComponent.close()
	n.closeModels()
	return err
}

// ServeOptions says what part of a model a node serves.
type ServeOptions struct {
	// Blocks is the span to serve; zero means choose one (ChooseSpan over
	// the swarm view, up to MaxBlocks).
	Blocks sharding.Span
	// MaxBlocks caps a chosen span (0: all blocks).
	MaxBlocks int
	// MemoryBudget, when positive, caps a chosen span to the blocks whose
	// weights fit in this many bytes (at least one block).
	MemoryBudget int64
	// NoBlocks serves no blocks (an entry-only node).
	NoBlocks bool
	// Entry also loads the embedding and head, so this node can run
	// generations of the model.
	Entry bool
}

// ModelStatus describes a served model.
type ModelStatus struct {
	Model      string
	Span       sharding.Span
	Blocks     int
	Throughput float64 // tokens/s through one block
	Entry      bool
	Config     engine.Config
}

// Serve loads a span of src's model, measures its speed, announces it on
// the DHT and starts serving it.
func (n *Node) Serve(ctx context.Context, src ModelSource, opt ServeOptions) (ModelStatus, error) {
	id := src.ID()
	if n.servedModel(id) != nil { // a plain lookup: only whether it is served
		return ModelStatus{}, fmt.Errorf("node: model %s already served", id)
	}
	meta, err := src.Open(ctx, sharding.Span{}, false, false)
	if err != nil {
		return ModelStatus{}, err
	}
	cfg, err := engine.ConfigFromGGUF(meta)
	defer meta.Close()
	if err != nil {
		return ModelStatus{}, fmt.Errorf("node: model %s: %w", id, err)
	}
	span := opt.Blocks
	switch {
	case opt.NoBlocks:
		span = sharding.Span{}
	case span == (sharding.Span{}):
		maxBlocks := opt.MaxBlocks
		if maxBlocks <= 0 || maxBlocks > cfg.Layers {
			maxBlocks = cfg.Layers
		}
		if opt.MemoryBudget > 0 {
			per := blockBytes(meta, &cfg)
			if fit := int(max(1, opt.MemoryBudget/per)); fit < maxBlocks {
				maxBlocks = fit
			}
			n.log.Info("memory budget", "model", id, "budget_mib", opt.MemoryBudget>>20, "block_mib", per>>20, "max_blocks", maxBlocks)
		}
		view, err := n.gather(ctx, id, cfg.Layers)
		if err != nil {
			return ModelStatus{}, err
		}
		s := sharding.ChooseSpan(view.Swarm, maxBlocks, estimateThroughput(view.Swarm))
		span = s
		n.log.Info("chose span", "model", id, "span", span, "servers_seen", len(view.Swarm.Servers))
	}
	if span.Start < 0 || span.End > cfg.Layers || span.Start > span.End || (!opt.NoBlocks && span.Len() == 0) {
		return ModelStatus{}, fmt.Errorf("node: span %v outside the model's %d blocks", span, cfg.Layers)
	}
	srv, err := n.load(ctx, src, cfg.Layers, span, opt.Entry)
	if err != nil {
		return ModelStatus{}, err
	}
	if err := n.add(srv); err != nil {
		srv.close()
		return ModelStatus{}, err
	}
	n.dropViews(id)
	if span.Len() > 0 {
		ok := n.announce(ctx, id, span)
		n.wg.Add(1)
		go n.reannounce(id, span, ok)
	}
	st := ModelStatus{Model: id, Span: span, Blocks: cfg.Layers, Throughput: srv.throughput, Entry: opt.Entry, Config: cfg}
	n.log.Info("serving", "model", id, "span", span, "throughput", fmt.Sprintf("%.1f tok/s/block", srv.throughput), "entry", opt.Entry)
	return st, nil
}

// estimateThroughput guesses a new server's speed before it has loaded
// anything: the median of the swarm's, or 1.
func estimateThroughput(sw sharding.Swarm) float64 {
	var t []float64
	for _, s := range sw.Servers {
		if s.Throughput > 0 {
			t = append(t, s.Throughput)
		}
	}
	if len(t) == 0 {
		return 1
	}
	sort.Float64s(t)
	return t[len(t)/2]
}

// announce publishes provider records for every block of span and reports
// whether every record reached the network. A failure is logged, not
// returned: the first node of a swarm has nobody to tell, and reannounce
// retries.
func (n *Node) announce(ctx context.Context, model string, span sharding.Span) bool {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.IOTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Bool
	if span.Len() > 0 {
		wg.Go(func() {
			if err := n.dht.Provide(ctx, ModelsKey(), true); err != nil {
				n.log.Debug("announce models key", "err", err)
				failed.Store(true)
			}
		})
	}
	for i := span.Start; i < span.End; i++ {
		wg.Go(func() {
			if err := n.dht.Provide(ctx, BlockKey(model, i), true); err != nil {
				n.log.Debug("announce", "model", model, "block", i, "err", err)
				failed.Store(true)
			}
		})
	}
	// A plain lookup: src is fixed at load, and provide announces the
	// source's weights in the store, not the served span's mapped file.
	if srv := n.servedModel(model); srv != nil {
		if p, ok := srv.src.(provider); ok {
			wg.Go(func() {
				if err := p.provide(ctx, n); err != nil {
					n.log.Debug("announce weights", "model", model, "err", err)
					failed.Store(true)
				}
			})
		}
	}
	wg.Wait()
	return !failed.Load()
}

// reannounce refreshes the provider records every AnnounceInterval, and
// retries sooner (from 1s, doubling) while announcing fails.
func (n *Node) reannounce(model string, span sharding.Span, ok bool) {
	defer n.wg.Done()
	retry := time.Second
	for {
		d := n.cfg.AnnounceInterval
		if !ok {
			d, retry = retry, min(2*retry, n.cfg.AnnounceInterval)
		} else {
			retry = time.Second
		}
		// Jitter keeps a swarm's nodes from announcing in lockstep.
		d += time.Duration(rand.Int64N(int64(d)/10 + 1))
		t := time.NewTimer(d)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// A plain lookup: span() is fixed at load.
		if srv := n.servedModel(model); srv == nil || srv.span() != span {
			return // no longer served, or moved to another span
		}
		ok = n.announce(n.ctx, model, span)
	}
}

// info is this node's /orbit/info/1.0.0 answer.
func (n *Node) info() protocol.Info {
	return protocol.Info{Version: n.cfg.Version, Models: n.modelInfos()}
}

// StopSessions makes the node refuse new sessions and generations and
// stop reporting its spans, as the first part of Drain. It cannot be
// undone.
func (n *Node) StopSessions() {
	n.draining.Store(true)
	n.dropViews()
}

// Drain prepares a graceful exit: the node stops taking sessions, stops
// reporting its spans (so entry nodes route around it), and waits until
// the sessions already open end or ctx is done. It returns the sessions
// still open. Close afterwards ends those and shuts down.
func (n *Node) Drain(ctx context.Context) int {
	n.StopSessions()
	open := n.busy
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		k := open()
		if k == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			n.log.Warn("sessions still open at shutdown", "sessions", k)
			return k
		case <-tick.C:
		}
	}
}
