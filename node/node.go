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

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// Config configures a Node. Zero values take the defaults noted.
type Config struct {
	// DataDir holds the identity key; empty means a fresh key per run.
	DataDir string
	// Listen are multiaddrs to listen on (TCP and QUIC on every interface,
	// random ports).
	Listen []string
	// Bootstrap are multiaddrs (with /p2p/ID) of peers to join through.
	Bootstrap []string
	// PSK makes a private network: only peers with the same key connect.
	PSK pnet.PSK
	// AllowPeers, when not empty, admits only these peers.
	AllowPeers []peer.ID
	// DisableMDNS turns off LAN discovery (on by default; off in tests).
	DisableMDNS bool
	// NAT enables port mapping, hole punching and relays (volunteers
	// behind home routers): the node offers a relay service to others,
	// and when AutoNAT finds it unreachable it reserves a slot on its
	// bootstrap peers (static relays) and advertises /p2p-circuit
	// addresses, through which peers reach it and hole-punch (DCUtR) a
	// direct connection.
	NAT bool
	// reachability, when not unknown, overrides AutoNAT (tests).
	reachability network.Reachability

	// KVCacheBytes is the KV-cache budget of all sessions (1 GiB).
	KVCacheBytes int64
	// IdleTimeout closes sessions no step touched (5m).
	IdleTimeout time.Duration
	// IOTimeout bounds handshakes and writes (30s).
	IOTimeout time.Duration
	// StepTimeout is how long the entry node waits for a hop's result
	// before failing it over (30s).
	StepTimeout time.Duration
	// BatchWindow is how long a server waits to batch concurrent sessions'
	// steps (1.5ms); MaxBatchRows caps a batch (64).
	BatchWindow  time.Duration
	MaxBatchRows int
	// Encoding of hidden states (f16).
	Encoding protocol.Encoding
	// AnnounceInterval re-announces provider records (30m).
	AnnounceInterval time.Duration
	// RouteMode is what the entry node's routes optimize: sharding's
	// MinLatency (the zero value: the fastest pass through the blocks for
	// this generation) or MaxThroughput (loaded servers cost more again,
	// so concurrent generations spread over replicas).
	RouteMode sharding.Mode
	// ViewTTL is how long a gathered swarm view is reused (10s).
	ViewTTL time.Duration
	// DiscoveryTimeout bounds a DHT provider lookup (3s).
	DiscoveryTimeout time.Duration
	// Version is reported on /orbit/info/1.0.0.
	Version string
	Logger  *slog.Logger

	// Host, when set, is used instead of building one (for example a
	// mocknet host in benchmarks); DataDir, Listen, PSK, AllowPeers and NAT
	// are then ignored. The caller owns it: Close does not close it.
	Host host.Host
	// WrapHost, when set, wraps the node's host (the one New builds, or
	// Host) before anything is built on it, DHT and protocols included:
	// for example to emulate network links (orbit bench, processes mode).
	// When New built the host, Close closes the wrapper, which must close
	// the host it wraps (embedding host.Host does).
	WrapHost func(host.Host) host.Host
	// ComputeSlowdown, when above 1, emulates slower hardware: after each
	// engine call the scheduler waits (ComputeSlowdown-1) times the call's
	// duration, so the node's capacity really drops by that factor.
	ComputeSlowdown float64
	// Store, when set, is the node's weight store: the node serves its
	// blocks to peers (/orbit/blocks/1.0.0), and StoreSource reads models
	// from it, fetching missing parts from the swarm. The caller owns it.
	Store *weights.Store
	// Metrics, when set, counts the sessions this node serves (and their
	// KV-cache bytes); may be shared with the HTTP API's backend
	// (package api/swarmbackend).
	Metrics *metrics.Metrics
	// RebalanceInterval is the epoch of periodic rebalancing (60s; jitter
	// of up to a tenth is added); negative turns it off.
	RebalanceInterval time.Duration
	// RebalanceThreshold is the relative gain of the swarm's bottleneck
	// throughput a move needs (0.1; negative means any gain).
	RebalanceThreshold float64
	// OnTransfer, when set, is called with a copy of a transfer (an
	// import through Import, or a fetch of a StoreSource) as it starts,
	// progresses (at most every 100ms) and ends, from the goroutine doing
	// it. It must not block for long.
	OnTransfer func(Transfer)
	// Clock is the node's time source (the system clock); tests may set
	// a fake one.
	Clock clock.Clock
}

func (c *Config) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.KVCacheBytes <= 0 {
		c.KVCacheBytes = 1 << 30
	}
	def(&c.IdleTimeout, 5*time.Minute)
	def(&c.IOTimeout, 30*time.Second)
	def(&c.StepTimeout, 30*time.Second)
	def(&c.BatchWindow, 1500*time.Microsecond)
	def(&c.AnnounceInterval, 30*time.Minute)
	def(&c.ViewTTL, 10*time.Second)
	def(&c.DiscoveryTimeout, 3*time.Second)
	if c.RebalanceInterval == 0 {
		c.RebalanceInterval = time.Minute
	}
	if c.RebalanceThreshold == 0 {
		c.RebalanceThreshold = 0.1
	}
	if c.MaxBatchRows <= 0 {
		c.MaxBatchRows = 64
	}
	if c.Encoding == 0 {
		c.Encoding = protocol.DefaultEncoding
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Node is one Orbit peer: it serves spans of models and can act as the
// entry node of generations.
type Node struct {
	cfg     Config
	log     *slog.Logger
	host    host.Host
	ownHost bool // New built host, so Close closes it
	dht     *dht.IpfsDHT
	mdns    interface{ Close() error }
	infer   *protocol.InferServer
	blocks  *protocol.BlockServer // nil without a weight store
	fetcher *weights.Fetcher      // nil without a weight store
	budget  budget
	// transfers records the imports and fetches of weights.
	transfers *transfers

	stopInfo func()
	draining atomic.Bool     // Drain was called: no new sessions, no spans reported
	ctx      context.Context // cancelled by Close: background work
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	clock  clock.Clock
	mu     sync.Mutex
	models map[string]*served
	views  map[string]*View
	failed map[peer.ID]time.Time // peers that failed a hop, avoided until then
}

// New starts a node: host, DHT (server mode, prefix /orbit), protocols and
// , unless disabled, mDNS. It connects to the bootstrap peers it can reach.
func New(ctx context.Context, cfg Config) (*Node, error) {
	cfg.fill()
	var boot []peer.AddrInfo
	for _, s := range cfg.Bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, fmt.Errorf("node: bootstrap address %q: %w", s, err)
		}
		boot = append(boot, *ai)
	}
	h, ownHost := cfg.Host, false
	if h == nil {
		key, err := LoadIdentity(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if h, err = newHost(&cfg, key, boot); err != nil {
			return nil, err
		}
		ownHost = true
	}
	if cfg.WrapHost != nil {
		h = cfg.WrapHost(h)
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("peer", shortID(h.ID())), clock: clock.Or(cfg.Clock), host: h, ownHost: ownHost, budget: budget{limit: cfg.KVCacheBytes},
		models: map[string]*served{}, views: map[string]*View{}, failed: map[peer.ID]time.Time{}}
	n.transfers = newTransfers(cfg.Metrics, cfg.OnTransfer)
	n.transfers.clock = n.clock
	n.ctx, n.cancel = context.WithCancel(context.Background())
	var err error
	n.dht, err = dht.New(n.ctx, h, dht.Mode(dht.ModeServer), dht.ProtocolPrefix("/orbit"), dht.BootstrapPeers(boot...))
	if err != nil {
		n.cancel()
		if ownHost {
			h.Close()
		}
		return nil, fmt.Errorf("node: dht: %w", err)
	}
	n.infer = protocol.NewInferServer(h, backend{n}, protocol.ServerConfig{IdleTimeout: cfg.IdleTimeout, IOTimeout: cfg.IOTimeout, Logger: n.log, Clock: n.clock})
	n.infer.Start()
	if cfg.Store != nil {
		n.blocks = protocol.NewBlockServer(h, cfg.Store, protocol.BlockServerOptions{Timeout: cfg.IOTimeout, Logger: n.log})
		fo := weights.FetchOptions{Routing: n.dht, Logger: n.log}
		if m := cfg.Metrics; m != nil {
			fo.Stored = func(int) { m.AddChunksFetched(1) }
		}
		n.fetcher = weights.NewFetcher(cfg.Store, h, protocol.NewBlockClient(h, cfg.IOTimeout), fo)
	}
	n.stopInfo = protocol.ServeInfo(h, n.info, n.log)
	for _, ai := range boot {
		if ai.ID == h.ID() {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, cfg.IOTimeout)
		err := h.Connect(cctx, ai)
		cancel()
		if err != nil {
			n.log.Warn("bootstrap peer unreachable", "bootstrap", ai.ID, "err", err)
		}
	}
	if err := n.dht.Bootstrap(ctx); err != nil {
		n.log.Warn("dht bootstrap", "err", err)
	}
	if len(n.host.Network().Peers()) > 0 {
		n.awaitRoutingTable(ctx)
	}
	if cfg.RebalanceInterval > 0 {
		n.wg.Add(1)
		go n.rebalanceLoop()
	}
	if !cfg.DisableMDNS {
		svc := mdns.NewMdnsService(h, "orbit", mdnsNotifee{n})
		if err := svc.Start(); err != nil {
			n.log.Warn("mdns", "err", err)
		} else {
			n.mdns = svc
		}
	}
	return n, nil
}

// awaitRoutingTable waits (bounded by IOTimeout) until the DHT has taken
// a connected peer into its routing table: that happens asynchronously,
// after identify, and announcing before it would reach nobody.
func (n *Node) awaitRoutingTable(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.IOTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n.dht.RoutingTable().Size() == 0 {
		select {
		case <-ctx.Done():
			n.log.Warn("dht routing table still empty", "err", ctx.Err())
			return
		case <-tick.C:
		}
	}
}

type mdnsNotifee struct{ n *Node }

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.n.host.ID() {
		return
	}
	ctx, cancel := context.WithTimeout(m.n.ctx, m.n.cfg.IOTimeout)
	defer cancel()
	if err := m.n.host.Connect(ctx, ai); err != nil {
		m.n.log.Debug("mdns peer unreachable", "found", ai.ID, "err", err)
	}
}

func shortID(p peer.ID) string {
	s := p.String()
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}

// Host is the node's libp2p host.
func (n *Node) Host() host.Host { return n.host }

// ID is the node's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Addrs are the node's listen addresses with its /p2p/ID, for bootstrap.
func (n *Node) Addrs() []ma.Multiaddr {
	p2p, _ := ma.NewComponent("p2p", n.host.ID().String())
	var out []ma.Multiaddr
	for _, a := range n.host.Addrs() {
		out = append(out, a.Encapsulate(p2p.Multiaddr()))
	}
	return out
}

// Close stops taking sessions, ends the open ones, stops announcing and
// shuts the host down.
func (n *Node) Close() error {
	n.infer.Close()
	n.stopInfo()
	if n.blocks != nil {
		_ = n.blocks.Close()
	}
	n.cancel()
	n.wg.Wait()
	if n.mdns != nil {
		_ = n.mdns.Close()
	}
	err := n.dht.Close()
	if n.ownHost {
		if herr := n.host.Close(); err == nil {
			err = herr
		}
	}
	n.mu.Lock()
	for id, s := range n.models {
		s.close()
		delete(n.models, id)
	}
	n.mu.Unlock()
	return err
}

// servedModel looks model id up without acquiring it: a span Rebalance
// replaced may be closed (its weights unmapped) at any time after. Its
// callers read only what is fixed when a model is loaded and survives
// close: id, src, blocks, span() and the parsed metadata of file. Anything
// that runs the engine or reads weights acquires the model instead.
func (n *Node) servedModel(id string) *served {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.models[id]
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
	n.mu.Lock()
	if n.models[id] != nil {
		n.mu.Unlock()
		srv.close()
		return ModelStatus{}, fmt.Errorf("node: model %s already served", id)
	}
	n.models[id] = srv
	delete(n.views, id)
	n.mu.Unlock()
	if span.Len() > 0 {
		ok := n.announce(ctx, id, span)
		n.wg.Add(1)
		go n.reannounce(id, span, ok)
	}
	st := ModelStatus{Model: id, Span: span, Blocks: cfg.Layers, Throughput: srv.throughput, Entry: opt.Entry, Config: cfg}
	n.log.Info("serving", "model", id, "span", span, "throughput", fmt.Sprintf("%.1f tok/s/block", srv.throughput), "entry", opt.Entry)
	return st, nil
}

// load opens and loads span of src (and the embedding and head when
// entry), measures its speed and starts its scheduler.
func (n *Node) load(ctx context.Context, src ModelSource, blocks int, span sharding.Span, entry bool) (*served, error) {
	id := src.ID()
	f, err := src.Open(ctx, span, entry, entry)
	if err != nil {
		return nil, err
	}
	srv := &served{id: id, src: src, blocks: blocks, file: f}
	if span.Len() > 0 {
		srv.model, err = engine.Load(f, engine.Options{Blocks: span})
		if err != nil {
			srv.close()
			return nil, fmt.Errorf("node: load %v of %s: %w", span, id, err)
		}
		if srv.throughput, err = benchmark(ctx, srv.model, n.clock); err != nil {
			srv.close()
			return nil, err
		}
		if n.cfg.ComputeSlowdown > 1 {
			srv.throughput /= n.cfg.ComputeSlowdown
		}
		srv.sched = newScheduler(srv.model, n.cfg.BatchWindow, n.cfg.MaxBatchRows, func() int {
			srv.mu.Lock()
			defer srv.mu.Unlock()
			return srv.sessions
		}, n.cfg.ComputeSlowdown, n.log, n.clock)
	}
	if entry {
		srv.entry, err = engine.Load(f, engine.Options{NoBlocks: true, Embed: true, Head: true})
		if err != nil {
			srv.close()
			return nil, fmt.Errorf("node: load embedding and head of %s: %w", id, err)
		}
	}
	return srv, nil
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

// Models lists the served models.
func (n *Node) Models() []ModelStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []ModelStatus
	for id, s := range n.models {
		st := ModelStatus{Model: id, Span: s.span(), Blocks: s.blocks, Throughput: s.throughput, Entry: s.entry != nil}
		switch {
		case s.model != nil:
			st.Config = s.model.Config
		case s.entry != nil:
			st.Config = s.entry.Config
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// info is this node's /orbit/info/1.0.0 answer.
func (n *Node) info() protocol.Info {
	in := protocol.Info{Version: n.cfg.Version}
	if n.draining.Load() {
		return in
	}
	free := n.budget.free()
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, s := range n.models {
		mi := protocol.ModelInfo{Model: id, Span: s.span(), Blocks: s.blocks, Throughput: s.throughput, FreeCacheBytes: free, Entry: s.entry != nil}
		if s.model != nil {
			if per := s.model.SessionBytes(1); per > 0 {
				mi.FreeCacheTokens = int(min(free/per, 1<<30))
			}
			s.mu.Lock()
			mi.Load = min(0.99, float64(s.sessions)/float64(n.cfg.MaxBatchRows))
			s.mu.Unlock()
		}
		in.Models = append(in.Models, mi)
	}
	return in
}

// markFailed keeps p out of routes for a while.
func (n *Node) markFailed(p peer.ID) {
	n.mu.Lock()
	n.failed[p] = n.clock.Now().Add(time.Minute)
	n.mu.Unlock()
}

func (n *Node) isFailed(p peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	until, ok := n.failed[p]
	if ok && n.clock.Now().After(until) {
		delete(n.failed, p)
		return false
	}
	return ok
}

// StopSessions makes the node refuse new sessions and generations and
// stop reporting its spans, as the first part of Drain. It cannot be
// undone.
func (n *Node) StopSessions() {
	n.draining.Store(true)
	n.mu.Lock()
	clear(n.views)
	n.mu.Unlock()
}

// Drain prepares a graceful exit: the node stops taking sessions, stops
// reporting its spans (so entry nodes route around it), and waits until
// the sessions already open end or ctx is done. It returns the sessions
// still open. Close afterwards ends those and shuts down.
func (n *Node) Drain(ctx context.Context) int {
	n.StopSessions()
	open := func() int {
		n.mu.Lock()
		defer n.mu.Unlock()
		total := 0
		for _, s := range n.models {
			total += s.busy()
		}
		return total
	}
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
