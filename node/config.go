package node

import (
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// Config configures a Node. Zero values take the defaults noted. It is
// flat, for its callers, and split by concern with Swarm, Serve and Entry
// into the configurations of the node's components; the rest (the weight
// store, transfers, rebalancing, logging, the clock) is the node's own.
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
	// StepTimeout, when positive, is how long the entry node waits for a
	// hop's result before failing it over. Zero (the default) derives each
	// step's deadline from the hop's observed step times and RTT (see
	// entry.Config.StepTimeout): between 2s and 30s, a few times what the
	// step should take. It also bounds opening a session over a
	// connection already up.
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
	// Speculate is how the node's generations speculate (package
	// engine/speculate; the zero value is off): drafted tokens are checked
	// in one step through the route, on routes whose every hop takes
	// truncates. Draft is the draft model of speculate.Draft and Auto
	// (nil: prompt lookup); its vocabulary must be the model's.
	Speculate speculate.Mode
	Draft     *speculate.DraftModel
	// RouteSpread makes concurrent generations spread over replicas:
	// routes within 1+RouteSpread of the cheapest are near-equal, and the
	// least loaded of them is taken (DefaultRouteSpread; negative takes
	// the cheapest). Whatever it is, a route's cost counts the sessions
	// this node's other generations hold on its servers.
	RouteSpread float64
	// VerifyRate is the share of each hop's steps the entry node checks
	// by recomputing them on another server (0: none; 1: every step; see
	// package node/entry). A generation may ask for another.
	VerifyRate float64
	// ViewTTL is how long a gathered swarm view is reused (10s).
	ViewTTL time.Duration
	// DiscoveryTimeout bounds a DHT provider lookup (3s).
	DiscoveryTimeout time.Duration
	// InfoWait is how long gathering a view waits for peers' info answers
	// (2s): a peer that has not answered by then keeps its place of the
	// last view, and its answer is dropped when it comes.
	InfoWait time.Duration
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
	// ComputeCost, when set, emulates a server's compute instead (or on
	// top): an engine call takes at least its cost (see ComputeCost), the
	// scheduler waiting out the rest. Benchmarks use it to emulate large
	// models' step times with small ones on a small machine.
	ComputeCost ComputeCost
	// Lie, when set, emulates a lying server (orbit bench's liar nodes):
	// after each step of its sessions it is given every row's position,
	// input and computed output, and may change the output before the
	// result is sent, signed and pushed as any. It may be called from
	// several sessions at once.
	Lie func(pos int, in, out []float32)
	// Threads is the number of kernel threads of each served model (0:
	// GOMAXPROCS).
	Threads int
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
	def(&c.BatchWindow, 1500*time.Microsecond)
	def(&c.AnnounceInterval, 30*time.Minute)
	def(&c.ViewTTL, 10*time.Second)
	def(&c.DiscoveryTimeout, 3*time.Second)
	def(&c.InfoWait, 2*time.Second)
	if c.RebalanceInterval == 0 {
		c.RebalanceInterval = time.Minute
	}
	if c.RebalanceThreshold == 0 {
		c.RebalanceThreshold = 0.1
	}
	if c.MaxBatchRows <= 0 {
		c.MaxBatchRows = 64
	}
	switch {
	case c.RouteSpread == 0:
		c.RouteSpread = DefaultRouteSpread
	case c.RouteSpread < 0:
		c.RouteSpread = 0
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

// SwarmConfig is what the node's swarm component (host, DHT, mDNS, the
// swarm views and the peers it avoids) works with; Config.Swarm builds it.
type SwarmConfig struct {
	DataDir          string
	Listen           []string
	Bootstrap        []string
	PSK              pnet.PSK
	AllowPeers       []peer.ID
	DisableMDNS      bool
	NAT              bool
	reachability     network.Reachability
	Host             host.Host
	WrapHost         func(host.Host) host.Host
	IOTimeout        time.Duration // bootstrap and mDNS connects, announces
	AnnounceInterval time.Duration
	ViewTTL          time.Duration
	DiscoveryTimeout time.Duration
	InfoWait         time.Duration
	Version          string // the host's user agent
}

// ServeConfig is what the node's serving component (the served spans,
// their schedulers and continuous batching, the KV-cache budget and the
// inference server) works with; Config.Serve builds it.
type ServeConfig struct {
	KVCacheBytes    int64
	IdleTimeout     time.Duration
	IOTimeout       time.Duration
	BatchWindow     time.Duration
	MaxBatchRows    int
	ComputeSlowdown float64
	ComputeCost     ComputeCost
	Lie             func(pos int, in, out []float32)
	Threads         int
	Metrics         *metrics.Metrics
}

// EntryConfig is what the node's generations as an entry node (package
// node/entry and its driver) work with; Config.Entry builds it.
type EntryConfig struct {
	StepTimeout time.Duration
	IOTimeout   time.Duration // opening sessions
	Encoding    protocol.Encoding
	RouteMode   sharding.Mode
	Speculate   speculate.Mode
	Draft       *speculate.DraftModel
	RouteSpread float64
	VerifyRate  float64
}

// Swarm is the swarm component's part of c.
func (c *Config) Swarm() SwarmConfig {
	return SwarmConfig{
		DataDir: c.DataDir, Listen: c.Listen, Bootstrap: c.Bootstrap, PSK: c.PSK, AllowPeers: c.AllowPeers,
		DisableMDNS: c.DisableMDNS, NAT: c.NAT, reachability: c.reachability, Host: c.Host, WrapHost: c.WrapHost,
		IOTimeout: c.IOTimeout, AnnounceInterval: c.AnnounceInterval, ViewTTL: c.ViewTTL, DiscoveryTimeout: c.DiscoveryTimeout,
		InfoWait: c.InfoWait, Version: c.Version,
	}
}

// Serve is the serving component's part of c.
func (c *Config) Serve() ServeConfig {
	return ServeConfig{
		KVCacheBytes: c.KVCacheBytes, IdleTimeout: c.IdleTimeout, IOTimeout: c.IOTimeout, BatchWindow: c.BatchWindow,
		MaxBatchRows: c.MaxBatchRows, ComputeSlowdown: c.ComputeSlowdown, ComputeCost: c.ComputeCost, Lie: c.Lie, Threads: c.Threads, Metrics: c.Metrics,
	}
}

// Entry is the entry generations' part of c.
func (c *Config) Entry() EntryConfig {
	return EntryConfig{StepTimeout: c.StepTimeout, IOTimeout: c.IOTimeout, Encoding: c.Encoding, RouteMode: c.RouteMode,
		Speculate: c.Speculate, Draft: c.Draft, RouteSpread: c.RouteSpread, VerifyRate: c.VerifyRate}
}
