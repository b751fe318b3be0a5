package node

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// swarmComponent is the node's place in the swarm: its libp2p host, the
// DHT (server mode, prefix /orbit), mDNS, the views of models' servers it
// gathered and the peers it avoids after they failed a hop. SwarmConfig
// configures it; the Node composes it with the serving component.
type swarmComponent struct {
	cfg   SwarmConfig
	log   *slog.Logger
	clock clock.Clock
	ctx   context.Context // the node's background context

	host    host.Host
	ownHost bool // the component built host, so close closes it
	dht     *dht.IpfsDHT
	mdns    interface{ Close() error }
	boot    []peer.AddrInfo
	// self is this node's own /orbit/info/1.0.0 answer, part of every
	// view it gathers.
	self func() protocol.Info

	mu         sync.Mutex
	views      map[string]*View
	failed     map[peer.ID]*avoidance // peers that failed a hop
	refreshing map[string]bool        // models whose view is being gathered in the background
	asking     map[peer.ID]bool       // peers with an info query running
	wg         sync.WaitGroup         // background refreshes and info queries
}

// Backoff of a peer that failed a hop: avoided over the failed span for
// avoidBase, doubled with every failure since its last success, up to
// avoidMax.
const (
	avoidBase = 10 * time.Second
	avoidMax  = 10 * time.Minute
)

// avoidance is what a node holds against a peer that failed hops: the
// spans it failed, each avoided until a time, and the failures since its
// last success (the backoff's exponent).
type avoidance struct {
	strikes int
	spans   map[sharding.Span]time.Time
}

// newSwarmComponent builds (or takes) the host and starts the DHT on it;
// join connects it to the swarm. ctx is the node's background context.
func newSwarmComponent(ctx context.Context, cfg SwarmConfig, log *slog.Logger, clk clock.Clock) (*swarmComponent, error) {
	s := &swarmComponent{cfg: cfg, clock: clk, ctx: ctx, views: map[string]*View{}, failed: map[peer.ID]*avoidance{},
		refreshing: map[string]bool{}, asking: map[peer.ID]bool{}}
	for _, b := range cfg.Bootstrap {
		ai, err := peer.AddrInfoFromString(b)
		if err != nil {
			return nil, fmt.Errorf("node: bootstrap address %q: %w", b, err)
		}
		s.boot = append(s.boot, *ai)
	}
	h := cfg.Host
	if h == nil {
		key, err := LoadIdentity(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if h, err = cfg.buildHost(key, s.boot); err != nil {
			return nil, err
		}
		s.ownHost = true
	}
	if cfg.WrapHost != nil {
		h = cfg.WrapHost(h)
	}
	s.host, s.log = h, log.With("peer", shortID(h.ID()))
	var err error
	s.dht, err = dht.New(ctx, h, dht.Mode(dht.ModeServer), dht.ProtocolPrefix("/orbit"), dht.BootstrapPeers(s.boot...))
	if err != nil {
		if s.ownHost {
			h.Close()
		}
		return nil, fmt.Errorf("node: dht: %w", err)
	}
	return s, nil
}

// join connects to the bootstrap peers it can reach, bootstraps the DHT
// and, when connected, waits for its routing table.
func (s *swarmComponent) join(ctx context.Context) {
	for _, ai := range s.boot {
		if ai.ID == s.host.ID() {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, s.cfg.IOTimeout)
		err := s.host.Connect(cctx, ai)
		cancel()
		if err != nil {
			s.log.Warn("bootstrap peer unreachable", "bootstrap", ai.ID, "err", err)
		}
	}
	if err := s.dht.Bootstrap(ctx); err != nil {
		s.log.Warn("dht bootstrap", "err", err)
	}
	if len(s.host.Network().Peers()) > 0 {
		s.awaitRoutingTable(ctx)
	}
}

// startMDNS starts LAN discovery unless the configuration turns it off.
func (s *swarmComponent) startMDNS() {
	if s.cfg.DisableMDNS {
		return
	}
	svc := mdns.NewMdnsService(s.host, "orbit", mdnsNotifee{s})
	if err := svc.Start(); err != nil {
		s.log.Warn("mdns", "err", err)
		return
	}
	s.mdns = svc
}

// close stops mDNS and the DHT, and the host if the component built it.
func (s *swarmComponent) close() error {
	if s.mdns != nil {
		_ = s.mdns.Close()
	}
	err := s.dht.Close()
	s.wg.Wait() // the node's context is done: they end soon
	if s.ownHost {
		if herr := s.host.Close(); err == nil {
			err = herr
		}
	}
	return err
}

// awaitRoutingTable waits (bounded by IOTimeout) until the DHT has taken
// a connected peer into its routing table: that happens asynchronously,
// after identify, and announcing before it would reach nobody.
func (s *swarmComponent) awaitRoutingTable(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.IOTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.dht.RoutingTable().Size() == 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("dht routing table still empty", "err", ctx.Err())
			return
		case <-tick.C:
		}
	}
}

type mdnsNotifee struct{ s *swarmComponent }

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.s.host.ID() {
		return
	}
	ctx, cancel := context.WithTimeout(m.s.ctx, m.s.cfg.IOTimeout)
	defer cancel()
	if err := m.s.host.Connect(ctx, ai); err != nil {
		m.s.log.Debug("mdns peer unreachable", "found", ai.ID, "err", err)
	}
}

func shortID(p peer.ID) string {
	str := p.String()
	if len(str) > 8 {
		return str[len(str)-8:]
	}
	return str
}

// Host is the node's libp2p host.
func (s *swarmComponent) Host() host.Host { return s.host }

// ID is the node's peer ID.
func (s *swarmComponent) ID() peer.ID { return s.host.ID() }

// Addrs are the node's listen addresses with its /p2p/ID, for bootstrap.
func (s *swarmComponent) Addrs() []ma.Multiaddr {
	p2p, _ := ma.NewComponent("p2p", s.host.ID().String())
	var out []ma.Multiaddr
	for _, a := range s.host.Addrs() {
		out = append(out, a.Encapsulate(p2p.Multiaddr()))
	}
	return out
}

// markFailed keeps p out of routes over span (an empty one: all spans)
// for a while: avoidBase, doubled for every failure since its last
// success, at most avoidMax. Its other spans stay routable.
func (s *swarmComponent) markFailed(p peer.ID, span sharding.Span) {
	if span.Len() <= 0 {
		span = sharding.Span{Start: 0, End: math.MaxInt}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.failed[p]
	if a == nil {
		a = &avoidance{spans: map[sharding.Span]time.Time{}}
		s.failed[p] = a
	}
	d := avoidMax
	if a.strikes < 16 {
		d = min(avoidMax, avoidBase<<a.strikes)
	}
	a.strikes++
	a.spans[span] = s.clock.Now().Add(d)
}

// markOK records that p answered a step: its backoff starts over, and
// it is no longer avoided over span.
func (s *swarmComponent) markOK(p peer.ID, span sharding.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.failed[p]
	if a == nil {
		return
	}
	a.strikes = 0
	delete(a.spans, span)
	if len(a.spans) == 0 {
		delete(s.failed, p)
	}
}

// avoided reports whether p is avoided over any block of span; expired
// avoidances are forgotten (the strikes stay until a success).
func (s *swarmComponent) avoided(p peer.ID, span sharding.Span) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.failed[p]
	if a == nil {
		return false
	}
	now := s.clock.Now()
	hit := false
	for sp, until := range a.spans {
		if now.After(until) {
			delete(a.spans, sp)
			continue
		}
		if sp.Start < span.End && span.Start < sp.End {
			hit = true
		}
	}
	return hit
}

// isFailed reports whether p is avoided over any span.
func (s *swarmComponent) isFailed(p peer.ID) bool {
	return s.avoided(p, sharding.Span{Start: 0, End: math.MaxInt})
}

// cachedView is the view of model gathered last, or nil.
func (s *swarmComponent) cachedView(model string) *View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.views[model]
}

// keepView caches v as the view of model.
func (s *swarmComponent) keepView(model string, v *View) {
	s.mu.Lock()
	s.views[model] = v
	s.mu.Unlock()
}

// dropViews forgets the views of models (all of them when none is given).
func (s *swarmComponent) dropViews(models ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(models) == 0 {
		clear(s.views)
	}
	for _, m := range models {
		delete(s.views, m)
	}
}
