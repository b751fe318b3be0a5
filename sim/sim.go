package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/orbitswarm/orbit/sharding"
)

// peerState is where a server is in its life.
type peerState uint8

const (
	stLoading peerState = iota // announced, fetching and loading its span
	stServing                  // serving its span
	stGhost                    // crashed; its record is still in the views
	stGone                     // left every view
)

// peer is one simulated server.
type peer struct {
	id        string
	class     int
	at        place
	raw       float64 // tokens/s through one block (its compute speed)
	maxBlocks int
	cacheCap  int
	span      sharding.Span
	state     peerState
	gen       uint32 // bumped on every state change; stale events compare it
	demand    float64
	lastUtil  float64 // utilization when it crashed: what its stale record says
	cacheUsed int
	reqs      map[int32]struct{} // requests routed through it
	alivePos  int32              // index in Sim.alive, -1 when not alive
}

// throughput is what the peer announces: its speed shared by its blocks.
func (p *peer) throughput() float64 {
	if k := p.span.Len(); k > 0 {
		return p.raw / float64(k)
	}
	return p.raw
}

// utilization is demand over capacity; above 1 requests queue. A crashed
// server keeps the figure it had, as its stale record does.
func (p *peer) utilization() float64 {
	if p.state == stGhost {
		return p.lastUtil
	}
	return p.demand / p.raw
}

// server is the peer's record as the views show it.
func (p *peer) server() sharding.Server {
	return sharding.Server{
		ID:         p.id,
		Span:       p.span,
		Throughput: p.throughput(),
		Load:       min(1, p.utilization()),
		FreeCache:  p.cacheCap - p.cacheUsed,
	}
}

// view is a swarm view kept up to date incrementally: a slice of records
// that can be handed to sharding as it is, and each peer's index in it.
type view struct {
	servers []sharding.Server
	owner   []int32
	pos     []int32    // by peer index; -1 when absent
	index   *providers // optional per-block index of the records
}

func (v *view) has(pi int32) bool { return int(pi) < len(v.pos) && v.pos[pi] >= 0 }

// put adds or replaces peer pi's record.
func (v *view) put(pi int32, s sharding.Server) {
	for int(pi) >= len(v.pos) {
		v.pos = append(v.pos, -1)
	}
	if i := v.pos[pi]; i >= 0 {
		v.servers[i] = s
		return
	}
	v.pos[pi] = int32(len(v.servers))
	v.servers = append(v.servers, s)
	v.owner = append(v.owner, pi)
	if v.index != nil {
		v.index.add(pi, s.Span)
	}
}

// drop removes peer pi's record, if any, by moving the last one into its
// place.
func (v *view) drop(pi int32) {
	if !v.has(pi) {
		return
	}
	if v.index != nil {
		v.index.remove(pi)
	}
	i := v.pos[pi]
	last := int32(len(v.servers) - 1)
	if i != last {
		v.servers[i] = v.servers[last]
		v.owner[i] = v.owner[last]
		v.pos[v.owner[i]] = i
	}
	v.servers = v.servers[:last]
	v.owner = v.owner[:last]
	v.pos[pi] = -1
}

// Sim is one simulation run. Build it with New and call Run once.
type Sim struct {
	cfg    Config
	log    *slog.Logger
	end    time.Duration
	blockS float64 // seconds per token per block on the reference node
	net    network
	mode   sharding.Mode

	now     time.Duration
	q       queue
	started bool

	rngPeer, rngJoin, rngLeave, rngClient, rngJitter *rand.Rand
	rngView                                          *rand.Rand
	classCDF, regionCDF                              []float64

	peers []peer
	byID  map[string]int32
	alive []int32  // loading or serving peers, for uniform leave draws
	place view     // loading, serving and ghost records: what servers see
	route view     // serving and ghost records: what clients route over
	ids   []string // sorted IDs of place, for RebalanceTurn

	viewBuf   []sharding.Server // scratch for clientView
	found     []int32
	scored    []scoredPeer
	viewMark  []uint32 // by peer: viewStamp when taken
	viewStamp uint32

	cover     []int // serving peers per block (the truth, not a view)
	uncovered int   // blocks with cover 0
	gapSince  time.Duration

	reqs      []request
	active    int     // attached requests
	serveRate float64 // tokens/s of all attached requests
	served    float64 // tokens generated so far
	lastServe time.Duration

	lat      []latencyRec // planned per-token latency of every routed request
	eff      []float64    // effective ms per token of every completed request
	st       stats
	samples  []Sample
	lastSamp sampleMark
	events   uint64
}

// stats are the run's counters.
type stats struct {
	joins, leaves, crashes              int
	turns, checks, moves, turnsSkipped  int
	gapEvents                           int
	gapTime                             time.Duration
	arrived, completed, failed          int
	routeCalls, routeErrors, replans    int
	ghostHits, segmentReplans, fullPlan int
	hopsSum                             int
	peakPeers                           int
}

// New checks cfg and prepares a run. A nil logger discards logs.
func New(cfg Config, logger *slog.Logger) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim config: %w", err)
	}
	cfg = cfg.Resolved()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		cfg:    cfg,
		log:    logger,
		end:    cfg.Duration.D(),
		blockS: cfg.Cost.BlockMillisPerToken / 1000,
		net:    newNetwork(cfg.Regions, cfg.RTTJitter, cfg.Seed, cfg.Cost.HopOverheadMillis),
		byID:   make(map[string]int32, cfg.Peers*2),
		cover:  make([]int, cfg.Blocks),
	}
	s.mode, _ = sharding.ParseMode(cfg.RouteMode) // Validate checked it
	// Independent streams, so that changing one process (say the client
	// rate) leaves the draws of the others unchanged.
	stream := func(k uint64) *rand.Rand { return rand.New(rand.NewPCG(cfg.Seed, 0x6f72626974000000|k)) }
	s.rngPeer, s.rngJoin, s.rngLeave, s.rngClient, s.rngJitter = stream(1), stream(2), stream(3), stream(4), stream(5)
	s.rngView = stream(6)
	s.route.index = newProviders(cfg.Blocks)
	for _, c := range cfg.Classes {
		s.classCDF = appendCDF(s.classCDF, c.Share)
	}
	for _, r := range cfg.Regions {
		s.regionCDF = appendCDF(s.regionCDF, r.Weight)
	}
	s.uncovered = cfg.Blocks
	return s, nil
}

func appendCDF(cdf []float64, w float64) []float64 {
	last := 0.0
	if len(cdf) > 0 {
		last = cdf[len(cdf)-1]
	}
	return append(cdf, last+w)
}

// pick draws an index from a cumulative weight table.
func pick(rng *rand.Rand, cdf []float64) int {
	x := rng.Float64() * cdf[len(cdf)-1]
	i, _ := slices.BinarySearchFunc(cdf, x, func(c, t float64) int {
		if c <= t {
			return -1
		}
		return 1
	})
	return min(i, len(cdf)-1)
}

// expSeconds draws an exponential interval for a Poisson process.
func expSeconds(rng *rand.Rand, rate float64) time.Duration {
	return time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
}

// Run simulates cfg.Duration and returns the report. It stops early with
// ctx's error when ctx is cancelled.
func (s *Sim) Run(ctx context.Context) (*Report, error) {
	if s.started {
		return nil, errors.New("sim: Run called twice")
	}
	s.start()
	if err := s.runUntil(ctx, s.end); err != nil {
		return nil, err
	}
	return s.report(), nil
}

// start places the initial swarm and schedules the first events.
func (s *Sim) start() {
	s.started = true
	for range s.cfg.Peers {
		pi := s.newPeer()
		p := &s.peers[pi]
		p.span = sharding.ChooseSpan(s.placeSwarm(), p.maxBlocks, p.raw/float64(min(p.maxBlocks, s.cfg.Blocks)))
		s.startServing(pi)
	}
	s.st.peakPeers = len(s.alive)
	s.log.Debug("sim: initial swarm placed", "peers", len(s.alive), "uncovered", s.uncovered)
	if s.uncovered > 0 {
		s.st.gapEvents++
	}
	if s.cfg.JoinRate > 0 {
		s.q.push(event{at: expSeconds(s.rngJoin, s.cfg.JoinRate), kind: evJoin})
	}
	if s.cfg.LeaveRate > 0 {
		s.q.push(event{at: expSeconds(s.rngLeave, s.cfg.LeaveRate), kind: evLeave})
	}
	if s.cfg.ClientRate > 0 {
		s.q.push(event{at: expSeconds(s.rngClient, s.cfg.ClientRate), kind: evArrive})
	}
	s.q.push(event{at: 0, kind: evEpoch})
	s.q.push(event{at: 0, kind: evSample})
}

// runUntil processes the events up to and including time t.
func (s *Sim) runUntil(ctx context.Context, t time.Duration) error {
	for s.q.len() > 0 && s.q.h[0].at <= t {
		e, _ := s.q.pop()
		s.now = e.at
		s.events++
		if s.events&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sim stopped at %v: %w", s.now, err)
			}
		}
		s.dispatch(e)
	}
	s.now = max(s.now, t)
	return nil
}

func (s *Sim) dispatch(e event) {
	switch e.kind {
	case evJoin:
		s.onJoin()
	case evLeave:
		s.onLeave()
	case evReady:
		if p := &s.peers[e.peer]; p.gen == e.gen && p.state == stLoading {
			s.startServing(e.peer)
		}
	case evExpire:
		if p := &s.peers[e.peer]; p.gen == e.gen && p.state == stGhost {
			s.forget(e.peer)
		}
	case evEpoch:
		s.onEpoch()
	case evRebalance:
		s.onRebalance(e)
	case evArrive:
		s.onArrive()
	case evDone:
		s.onDone(e)
	case evRetry:
		if r := &s.reqs[e.req]; r.gen == e.gen && r.state == rqWaiting {
			s.plan(e.req)
		}
	case evSample:
		s.sample()
		if next := s.now + s.cfg.SampleEvery.D(); next <= s.end {
			s.q.push(event{at: next, kind: evSample})
		} else if s.now < s.end {
			s.q.push(event{at: s.end, kind: evSample})
		}
	}
}

// placeSwarm is the view servers decide placement on.
func (s *Sim) placeSwarm() sharding.Swarm {
	return sharding.Swarm{Blocks: s.cfg.Blocks, Servers: s.place.servers}
}

// newPeer creates a live peer with drawn attributes and no span yet.
func (s *Sim) newPeer() int32 {
	rng := s.rngPeer
	ci := pick(rng, s.classCDF)
	c := s.cfg.Classes[ci]
	var id string
	for {
		id = fmt.Sprintf("12D3Koo%016x", rng.Uint64())
		if _, dup := s.byID[id]; !dup {
			break
		}
	}
	speed := c.Speed * math.Exp(c.SpeedSigma*rng.NormFloat64())
	pi := int32(len(s.peers))
	s.peers = append(s.peers, peer{
		id:        id,
		class:     ci,
		at:        place{region: pick(rng, s.regionCDF), access: 1 + rng.Float64()*max(0, s.cfg.AccessMillisMax-1), key: rng.Uint64()},
		raw:       speed / s.blockS,
		maxBlocks: max(1, int(c.MemoryGiB/s.cfg.Cost.BlockMemoryGiB)),
		cacheCap:  c.CacheTokens,
		alivePos:  int32(len(s.alive)),
	})
	s.byID[id] = pi
	s.alive = append(s.alive, pi)
	s.st.peakPeers = max(s.st.peakPeers, len(s.alive))
	return pi
}

// announce puts peer pi's current record into the views it belongs to.
func (s *Sim) announce(pi int32) {
	p := &s.peers[pi]
	rec := p.server()
	if !s.place.has(pi) {
		i, _ := slices.BinarySearch(s.ids, p.id)
		s.ids = slices.Insert(s.ids, i, p.id)
	}
	s.place.put(pi, rec)
	if p.state == stServing || (p.state == stGhost && s.route.has(pi)) {
		s.route.put(pi, rec)
	}
}

// refreshLoad updates the load and cache figures of peer pi's records.
func (s *Sim) refreshLoad(pi int32) {
	p := &s.peers[pi]
	if p.state != stServing {
		return
	}
	rec := p.server()
	s.place.put(pi, rec)
	s.route.put(pi, rec)
}

// forget removes peer pi from every view.
func (s *Sim) forget(pi int32) {
	p := &s.peers[pi]
	if s.place.has(pi) {
		if i, ok := slices.BinarySearch(s.ids, p.id); ok {
			s.ids = slices.Delete(s.ids, i, i+1)
		}
	}
	s.place.drop(pi)
	s.route.drop(pi)
	p.state = stGone
	p.gen++
}

// dropAlive removes pi from the live list.
func (s *Sim) dropAlive(pi int32) {
	p := &s.peers[pi]
	i := p.alivePos
	if i < 0 {
		return
	}
	last := int32(len(s.alive) - 1)
	if i != last {
		moved := s.alive[last]
		s.alive[i] = moved
		s.peers[moved].alivePos = i
	}
	s.alive = s.alive[:last]
	p.alivePos = -1
}

// coverAdd adds d to the coverage of span and tracks gap episodes.
func (s *Sim) coverAdd(sp sharding.Span, d int) {
	before := s.uncovered
	for b := max(sp.Start, 0); b < min(sp.End, s.cfg.Blocks); b++ {
		old := s.cover[b]
		s.cover[b] += d
		switch {
		case old == 0 && s.cover[b] > 0:
			s.uncovered--
		case old > 0 && s.cover[b] == 0:
			s.uncovered++
		}
	}
	switch {
	case before == 0 && s.uncovered > 0:
		s.st.gapEvents++
		s.gapSince = s.now
		s.log.Debug("sim: coverage gap opened", "t", s.now, "uncovered", s.uncovered)
	case before > 0 && s.uncovered == 0:
		s.st.gapTime += s.now - s.gapSince
		s.log.Debug("sim: coverage gap closed", "t", s.now)
	}
}

// startLoading announces peer pi on its span and schedules it to serve
// after loading the blocks of span it does not already hold.
func (s *Sim) startLoading(pi int32, had sharding.Span) {
	p := &s.peers[pi]
	p.state = stLoading
	p.gen++
	s.announce(pi)
	missing := p.span.Len() - max(0, min(p.span.End, had.End)-max(p.span.Start, had.Start))
	load := time.Duration(float64(missing) * s.cfg.Cost.BlockLoadSeconds * float64(time.Second))
	s.q.push(event{at: s.now + load, kind: evReady, peer: pi, gen: p.gen})
}

// startServing makes peer pi serve its span.
func (s *Sim) startServing(pi int32) {
	p := &s.peers[pi]
	p.state = stServing
	p.gen++
	s.announce(pi)
	s.coverAdd(p.span, +1)
}

// stopServing takes peer pi's span out of service and fails the requests
// routed through it; crashed tells whether clients learn it only by a
// timeout.
func (s *Sim) stopServing(pi int32, crashed bool) {
	p := &s.peers[pi]
	if p.state == stServing {
		s.coverAdd(p.span, -1)
		if !crashed {
			s.route.drop(pi)
		}
	}
	if len(p.reqs) == 0 {
		return
	}
	ids := make([]int32, 0, len(p.reqs))
	for r := range p.reqs {
		ids = append(ids, r)
	}
	slices.Sort(ids) // map order is random; failures must not be
	for _, ri := range ids {
		s.fail(ri, pi, crashed)
	}
}

func (s *Sim) onJoin() {
	s.q.push(event{at: s.now + expSeconds(s.rngJoin, s.cfg.JoinRate), kind: evJoin})
	pi := s.newPeer()
	p := &s.peers[pi]
	p.span = sharding.ChooseSpan(s.placeSwarm(), p.maxBlocks, p.raw/float64(min(p.maxBlocks, s.cfg.Blocks)))
	s.st.joins++
	s.startLoading(pi, sharding.Span{})
}

func (s *Sim) onLeave() {
	s.q.push(event{at: s.now + expSeconds(s.rngLeave, s.cfg.LeaveRate), kind: evLeave})
	if len(s.alive) == 0 {
		return
	}
	pi := s.alive[s.rngLeave.IntN(len(s.alive))]
	s.leave(pi, s.rngLeave.Float64() < s.cfg.CrashFraction)
}

// leave takes live peer pi out of the swarm: a crash leaves its record in
// the views until CrashTTL runs out, a graceful leave removes it at once.
func (s *Sim) leave(pi int32, crash bool) {
	s.dropAlive(pi)
	p := &s.peers[pi]
	if crash {
		s.st.crashes++
		p.lastUtil = p.utilization()
		s.stopServing(pi, true)
		p.state = stGhost
		p.gen++
		s.q.push(event{at: s.now + s.cfg.CrashTTL.D(), kind: evExpire, peer: pi, gen: p.gen})
		return
	}
	s.st.leaves++
	s.stopServing(pi, false)
	s.forget(pi)
}

// onEpoch starts a rebalancing epoch: the server whose turn it is checks
// after a jitter.
func (s *Sim) onEpoch() {
	period := s.cfg.RebalancePeriod.D()
	epoch := int64(s.now / period)
	if next := s.now + period; next <= s.end {
		s.q.push(event{at: next, kind: evEpoch})
	}
	if len(s.ids) == 0 {
		return
	}
	// The ids are sorted and distinct, so the turn holder is at the
	// epoch's round-robin index; RebalanceTurn confirms it, so the rule
	// that decides is sharding's.
	cand := s.ids[epoch%int64(len(s.ids))]
	if !sharding.RebalanceTurn(s.ids, cand, epoch) {
		s.log.Warn("sim: rebalance turn holder not found", "epoch", epoch, "candidate", cand)
		return
	}
	s.st.turns++
	pi := s.byID[cand]
	p := &s.peers[pi]
	if p.state != stServing {
		s.st.turnsSkipped++
		return
	}
	var jitter time.Duration
	if j := s.cfg.RebalanceJitter.D(); j > 0 {
		jitter = time.Duration(s.rngJitter.Int64N(int64(j)))
	}
	s.q.push(event{at: s.now + jitter, kind: evRebalance, peer: pi, gen: p.gen})
}

func (s *Sim) onRebalance(e event) {
	p := &s.peers[e.peer]
	if p.gen != e.gen || p.state != stServing {
		s.st.turnsSkipped++
		return
	}
	s.st.checks++
	next, move := sharding.Rebalance(s.placeSwarm(), p.id, s.cfg.RebalanceThreshold)
	if !move {
		return
	}
	s.st.moves++
	s.log.Debug("sim: rebalance move", "t", s.now, "peer", p.id, "from", p.span, "to", next)
	had := p.span
	s.stopServing(e.peer, false)
	p.span = next
	s.startLoading(e.peer, had)
}
