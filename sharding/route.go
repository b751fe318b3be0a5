package sharding

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Mode selects what Route optimizes.
type Mode int

const (
	// MinLatency minimizes the time of one pass through the blocks: network
	// round trips plus compute, with compute slowed by 1/(1-Load).
	MinLatency Mode = iota
	// MaxThroughput spreads clients over the swarm: compute on a loaded
	// server costs an extra factor 1/(1-Load) (1/(1-Load)^2 in all with the
	// default compute cost), so busy servers are avoided more strongly.
	MaxThroughput
)

// ParseMode reads a mode by its name, as String writes it: "latency" or
// "throughput".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{MinLatency, MaxThroughput} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("route mode %q: want latency or throughput", s)
}

// String names the mode.
func (m Mode) String() string {
	switch m {
	case MinLatency:
		return "latency"
	case MaxThroughput:
		return "throughput"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// MarshalText writes m as String does.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads m as ParseMode does.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// Hop runs blocks Span on Server; Span is a sub-range of that server's span.
type Hop struct {
	Server string
	Span   Span
}

// DefaultRTT stands in for a server's unknown (zero) RTT when
// RouteOptions.DefaultRTT is not set: pessimistic enough that measured
// servers are preferred.
const DefaultRTT = 100 * time.Millisecond

// maxLoad caps Load so that a saturated server is very expensive rather than
// impossible (1/(1-maxLoad) = 100).
const maxLoad = 0.99

// costCap bounds every single cost term (about 18 minutes), so that sums of
// costs over a route cannot overflow int64.
const costCap = int64(1) << 40

// maxRouteBlocks bounds the block range Route accepts, with costCap keeping
// every route's cost far from overflow.
const maxRouteBlocks = 1 << 20

// RouteOptions tune Route. The zero value routes for latency over every
// server with the default cost model.
type RouteOptions struct {
	Mode    Mode
	Exclude map[string]bool // servers not to use (failed, banned)

	// ComputeCost is the time server s needs for a hop of the given number
	// of blocks. Nil means blocks/Throughput seconds scaled by 1/(1-Load)
	// (Load clamped to [0, 0.99]). In MaxThroughput mode the result, default
	// or not, is further multiplied by 1/(1-Load). Negative results count
	// as 0.
	ComputeCost func(s Server, blocks int) time.Duration

	// HopCost is the network cost of passing activations from server `from`
	// to server `to`; "" names the client, so a route costs
	// HopCost("", s1) + ... + HopCost(sn, "") plus compute. Nil means the
	// client-centric star topology: every hop's output returns to the
	// client, a hop to server s costs s.RTT and the return to the client
	// is included in it.
	HopCost func(from, to string) time.Duration

	// DefaultRTT replaces a zero RTT when HopCost is nil; 0 means the
	// package's DefaultRTT.
	DefaultRTT time.Duration

	// NeedCache, when positive, skips servers whose FreeCache is below it
	// (an inference session needs KV-cache room). 0 ignores FreeCache, as a
	// forward-only pass does.
	NeedCache int

	// Sessions counts the sessions the planning client holds already on
	// each server (by ID), for its other generations: work the servers'
	// announced Load may not show yet. A server holding k of them shares
	// its time k+1 ways, so its compute cost is multiplied by k+1 (in
	// both modes); routes planned one after another then spread over
	// replicas in proportion to their throughput.
	Sessions map[string]int

	// Spread, when positive, chooses the least loaded of the near-equal
	// routes, those costing at most 1+Spread times the cheapest: Route
	// weighs compute (where Load and Sessions count) against network
	// more and more, by factors 1+w for w = 1024, 256, ..., 1/4, and
	// takes the first route so planned that is near-equal (else the
	// cheapest). Network costs that differ by less than the spread (round
	// trips measured with noise) then give way to the servers' load, and
	// routes planned one after another spread over replicas even when
	// compute is a small part of the cost.
	Spread float64
}

// ErrNoRoute means some block in the requested range has no usable server.
var ErrNoRoute = errors.New("sharding: no route")

// ErrBadRange means the requested block range is not within [0, Blocks).
var ErrBadRange = errors.New("sharding: bad block range")

// candidate is a usable server clipped to the routed range.
type candidate struct {
	srv    int   // index in Swarm.Servers
	lo, hi int   // clipped span within [from, to)
	rtt    int64 // star-topology hop cost, ns
	per    int64 // linear compute cost per block, ns (default ComputeCost)
	factor float64
	off    int // offset of this candidate's rows in flat per-block tables
}

// label is the best known way to reach a block boundary.
type label struct {
	cost int64
	hops int32
	srv  int32 // candidate of the last hop, -1 for the client
	from int32 // boundary where the last hop started
	ok   bool
}

// Route plans the hops that run blocks [from, to) for a client: a shortest
// path over the DAG whose nodes are block boundaries (times the server last
// used, when HopCost depends on it) and whose edges are hops on one server,
// costing network plus compute (see RouteOptions). The hops are contiguous,
// cover [from, to) exactly, and each lies within its server's span. Among
// routes of equal cost the one with fewer hops wins; remaining ties go to
// the lowest server ID, then to the earlier entry in Swarm.Servers. Server
// IDs are expected to be unique. With RouteOptions.Spread the route is
// instead the least loaded of the near-cheapest (see there).
//
// A server is usable when it is not excluded, has a positive throughput and,
// if NeedCache > 0, at least NeedCache free cache positions. When a block of
// the range has no usable server the error wraps ErrNoRoute and names the
// first such block; an invalid range wraps ErrBadRange. An empty range
// (from == to) gives no hops and no error.
//
// With the default ComputeCost and HopCost, Route runs in O(len(Servers) +
// sum of span lengths), at most O(Blocks * len(Servers)). A custom
// ComputeCost costs O(sum of squared span lengths); a custom HopCost adds a
// call per pair of servers meeting at a block boundary, meant for swarms of
// at most a few hundred candidates (pre-filter with Exclude).
func Route(sw Swarm, from, to int, opt RouteOptions) ([]Hop, error) {
	if from < 0 || to > sw.Blocks || from > to || to > maxRouteBlocks {
		return nil, fmt.Errorf("%w: [%d,%d) with %d blocks", ErrBadRange, from, to, sw.Blocks)
	}
	if from == to {
		return []Hop{}, nil
	}
	cands := candidates(sw, from, to, opt)
	if b, ok := firstUncovered(cands, from, to); ok {
		return nil, fmt.Errorf("%w: block %d has no usable server", ErrNoRoute, b)
	}
	var (
		path []Hop
		err  error
	)
	if opt.Spread > 0 {
		path, err = routeSpread(sw, cands, from, to, opt)
	} else {
		path, err = plan(sw, cands, from, to, opt)
	}
	if err != nil {
		return nil, err
	}
	return path, nil
}

// maxSpread bounds RouteOptions.Spread: a route may cost at most 1+maxSpread
// times the cheapest.
const maxSpread = 10.0

// plan runs the shortest-path search for the topology opt asks for.
func plan(sw Swarm, cands []candidate, from, to int, opt RouteOptions) ([]Hop, error) {
	if opt.HopCost != nil {
		return routeMesh(sw, cands, from, to, opt)
	}
	return routeStar(sw, cands, from, to, opt)
}

// routeSpread is Route with a Spread: the near-equal route planned with
// the most weight on compute (see RouteOptions.Spread).
func routeSpread(sw Swarm, cands []candidate, from, to int, opt RouteOptions) ([]Hop, error) {
	best, err := plan(sw, cands, from, to, opt)
	if err != nil {
		return nil, err
	}
	bestCost, err := RouteCost(sw, best, opt)
	if err != nil {
		return nil, err
	}
	budget := float64(bestCost) * (1 + min(opt.Spread, maxSpread))
	weighted := make([]candidate, len(cands))
	// The extra weights of compute, most load-aware first.
	for _, w := range [...]float64{1024, 256, 64, 16, 4, 1, 0.25} {
		for i, c := range cands {
			c.per = clampCost(float64(c.per) * (1 + w))
			c.factor *= 1 + w
			weighted[i] = c
		}
		path, err := plan(sw, weighted, from, to, opt)
		if err != nil {
			return nil, err
		}
		cost, err := RouteCost(sw, path, opt)
		if err != nil {
			return nil, err
		}
		if float64(cost) <= budget {
			return path, nil
		}
	}
	return best, nil
}

// loadFactor returns 1/(1-load) with load clamped to [0, maxLoad].
func loadFactor(load float64) float64 {
	if math.IsNaN(load) || load > maxLoad {
		load = maxLoad
	}
	return 1 / (1 - max(load, 0))
}

// clampCost converts a duration-like value in ns to a cost in [0, costCap].
func clampCost(ns float64) int64 {
	switch {
	case math.IsNaN(ns) || ns >= float64(costCap):
		return costCap
	case ns <= 0:
		return 0
	}
	return int64(math.Round(ns))
}

// satAdd adds non-negative costs, saturating at MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// usable reports whether Route may use s.
func usable(s Server, opt RouteOptions) bool {
	if usableThroughput(s.Throughput) == 0 || opt.Exclude[s.ID] {
		return false
	}
	return opt.NeedCache <= 0 || s.FreeCache >= opt.NeedCache
}

// candidates returns the usable servers overlapping [from, to), with their
// costs precomputed, ordered by clipped start (stable, so servers with the
// same start keep their Swarm.Servers order). Start order keeps the block
// sweep's active set in ascending memory order. The result holds no
// pointers, so it costs the garbage collector nothing to scan.
func candidates(sw Swarm, from, to int, opt RouteOptions) []candidate {
	defRTT := opt.DefaultRTT
	if defRTT <= 0 {
		defRTT = DefaultRTT
	}
	// Counting sort by start: first count, then place.
	counts := make([]int, to-from+1)
	lo := make([]int32, len(sw.Servers))
	n := 0
	for i, s := range sw.Servers {
		sp := s.Span.clip(sw.Blocks)
		l, h := max(sp.Start, from), min(sp.End, to)
		if l >= h || !usable(s, opt) {
			lo[i] = -1
			continue
		}
		lo[i] = int32(l)
		counts[l-from+1]++
		n++
	}
	for k := 1; k < len(counts); k++ {
		counts[k] += counts[k-1]
	}
	cands := make([]candidate, n)
	for i, s := range sw.Servers {
		if lo[i] < 0 {
			continue
		}
		l := int(lo[i])
		lf := loadFactor(s.Load)
		c := &cands[counts[l-from]]
		counts[l-from]++
		*c = candidate{srv: i, lo: l, hi: min(s.Span.clip(sw.Blocks).End, to), factor: 1}
		if opt.Mode == MaxThroughput {
			c.factor = lf
		}
		if k := opt.Sessions[s.ID]; k > 0 {
			c.factor *= float64(k) + 1
		}
		rtt := s.RTT
		if rtt <= 0 {
			rtt = defRTT
		}
		c.rtt = clampCost(float64(rtt))
		c.per = clampCost(float64(time.Second) * lf * c.factor / usableThroughput(s.Throughput))
	}
	off := 0
	for i := range cands {
		cands[i].off = off
		off += cands[i].hi - cands[i].lo
	}
	return cands
}

// firstUncovered returns the first block of [from, to) no candidate covers.
func firstUncovered(cands []candidate, from, to int) (int, bool) {
	diff := make([]int, to-from+1)
	for _, c := range cands {
		diff[c.lo-from]++
		diff[c.hi-from]--
	}
	run := 0
	for b := from; b < to; b++ {
		run += diff[b-from]
		if run == 0 {
			return b, true
		}
	}
	return 0, false
}

// better reports whether a beats b: lower cost, then fewer hops, then lower
// server ID, then earlier server, then a longer last hop.
func better(a, b label, cands []candidate, servers []Server) bool {
	if !b.ok {
		return a.ok
	}
	if !a.ok {
		return false
	}
	if a.cost != b.cost {
		return a.cost < b.cost
	}
	if a.hops != b.hops {
		return a.hops < b.hops
	}
	if a.srv != b.srv {
		ai, bi := idOf(a.srv, cands, servers), idOf(b.srv, cands, servers)
		if ai != bi {
			return ai < bi
		}
		return srvOf(a.srv, cands) < srvOf(b.srv, cands)
	}
	return a.from < b.from
}

func srvOf(c int32, cands []candidate) int {
	if c < 0 {
		return -1
	}
	return cands[c].srv
}

func idOf(c int32, cands []candidate, servers []Server) string {
	if c < 0 {
		return ""
	}
	return servers[cands[c].srv].ID
}

// activeSweep yields, for each block k of [from, to), the candidates whose
// clipped span covers k, in ascending candidate order. It relies on the
// candidates being ordered by start.
type activeSweep struct {
	hi     []int32 // clipped end per candidate
	lo     []int32 // clipped start per candidate
	next   int     // first candidate not yet active
	active []int32
}

func newSweep(cands []candidate) *activeSweep {
	a := &activeSweep{hi: make([]int32, len(cands)), lo: make([]int32, len(cands))}
	for i, c := range cands {
		a.hi[i], a.lo[i] = int32(c.hi), int32(c.lo)
	}
	return a
}

// at returns the candidates covering block k (k = from, from+1, ... in
// order); the slice is valid until the next call.
func (a *activeSweep) at(k int) []int32 {
	kept := a.active[:0]
	for _, c := range a.active {
		if int(a.hi[c]) > k {
			kept = append(kept, c)
		}
	}
	for a.next < len(a.lo) && int(a.lo[a.next]) == k {
		kept = append(kept, int32(a.next))
		a.next++
	}
	a.active = kept
	return kept
}

// computeTable returns, for custom ComputeCost, cost[c.off+n-1] = cost of
// n blocks on candidate c, for n in 1..c.hi-c.lo; nil for the default.
func computeTable(sw Swarm, cands []candidate, opt RouteOptions) []int64 {
	if opt.ComputeCost == nil {
		return nil
	}
	total := 0
	if len(cands) > 0 {
		last := cands[len(cands)-1]
		total = last.off + last.hi - last.lo
	}
	tab := make([]int64, total)
	for _, c := range cands {
		s := sw.Servers[c.srv]
		for n := 1; n <= c.hi-c.lo; n++ {
			tab[c.off+n-1] = clampCost(float64(opt.ComputeCost(s, n)) * c.factor)
		}
	}
	return tab
}

// hopCompute is the compute cost of n blocks on candidate c.
func hopCompute(c *candidate, tab []int64, n int) int64 {
	if tab == nil {
		return c.per * int64(n)
	}
	return tab[c.off+n-1]
}

// routeStar is Route for the star topology: the cost of a hop does not
// depend on the previous server, so one label per block boundary suffices.
func routeStar(sw Swarm, cands []candidate, from, to int, opt RouteOptions) ([]Hop, error) {
	dist := make([]label, to-from+1)
	dist[0] = label{srv: -1, from: -1, ok: true}
	tab := computeTable(sw, cands, opt)
	sweep := newSweep(cands)

	// For the linear default compute cost, run[c] holds the best entry
	// boundary i for candidate c so far, keyed by dist[i] - per*i.
	type entry struct {
		val  int64
		hops int32
		at   int32
		ok   bool
	}
	var run []entry
	if tab == nil {
		run = make([]entry, len(cands))
	}
	var per, rtt []int64
	if tab == nil {
		per, rtt = make([]int64, len(cands)), make([]int64, len(cands))
		for i := range cands {
			per[i], rtt[i] = cands[i].per, cands[i].rtt
		}
	}
	for k := from; k < to; k++ {
		d := dist[k-from]
		next := &dist[k+1-from]
		act := sweep.at(k)
		if tab == nil {
			for _, ci := range act {
				r := &run[ci]
				if d.ok {
					v := d.cost - per[ci]*int64(k)
					if !r.ok || v < r.val || (v == r.val && d.hops < r.hops) {
						*r = entry{val: v, hops: d.hops, at: int32(k), ok: true}
					}
				}
				if !r.ok {
					continue
				}
				cost := r.val + rtt[ci] + per[ci]*int64(k+1)
				if next.ok && cost > next.cost {
					continue
				}
				l := label{cost: cost, hops: r.hops + 1, srv: ci, from: r.at, ok: true}
				if better(l, *next, cands, sw.Servers) {
					*next = l
				}
			}
			continue
		}
		for _, ci := range act {
			c := &cands[ci]
			for i := c.lo; i <= k; i++ {
				p := dist[i-from]
				if !p.ok {
					continue
				}
				l := label{
					cost: satAdd(satAdd(p.cost, c.rtt), hopCompute(c, tab, k+1-i)),
					hops: p.hops + 1, srv: ci, from: int32(i), ok: true,
				}
				if next.ok && l.cost > next.cost {
					continue
				}
				if better(l, *next, cands, sw.Servers) {
					*next = l
				}
			}
		}
	}
	if !dist[to-from].ok {
		return nil, fmt.Errorf("%w: blocks [%d,%d) unreachable", ErrNoRoute, from, to)
	}
	var rev []Hop
	for j := to; j > from; {
		l := dist[j-from]
		rev = append(rev, Hop{Server: sw.Servers[cands[l.srv].srv].ID, Span: Span{int(l.from), j}})
		j = int(l.from)
	}
	return reverse(rev), nil
}

// routeMesh is Route for a custom HopCost: the cost of entering a server
// depends on the previous one, so labels are kept per (boundary, server of
// the hop that ended there).
func routeMesh(sw Swarm, cands []candidate, from, to int, opt RouteOptions) ([]Hop, error) {
	total := 0
	if len(cands) > 0 {
		last := cands[len(cands)-1]
		total = last.off + last.hi - last.lo
	}
	// arr[c.off + j-c.lo-1]: best arrival at boundary j by a hop on c.
	// ent[c.off + i-c.lo]: best entry into c at boundary i (srv = previous
	// candidate, -1 for the client).
	arr := make([]label, total)
	ent := make([]label, total)
	tab := computeTable(sw, cands, opt)
	hop := func(a, b string) int64 { return clampCost(float64(opt.HopCost(a, b))) }
	sweep := newSweep(cands)
	var prev []int32 // candidates covering block k-1
	for k := from; k < to; k++ {
		act := sweep.at(k)
		for _, ti := range act {
			t := &cands[ti]
			var best label
			if k == from {
				best = label{cost: hop("", sw.Servers[t.srv].ID), srv: -1, from: -1, ok: true}
			}
			for _, pi := range prev {
				p := &cands[pi]
				if pi == ti || p.hi < k {
					continue
				}
				a := arr[p.off+k-p.lo-1]
				if !a.ok {
					continue
				}
				l := label{cost: satAdd(a.cost, hop(sw.Servers[p.srv].ID, sw.Servers[t.srv].ID)), hops: a.hops, srv: pi, ok: true}
				if better(l, best, cands, sw.Servers) {
					best = l
				}
			}
			ent[t.off+k-t.lo] = best
			if !best.ok {
				continue
			}
			for j := k + 1; j <= t.hi; j++ {
				l := label{
					cost: satAdd(best.cost, hopCompute(t, tab, j-k)),
					hops: best.hops + 1, srv: ti, from: int32(k), ok: true,
				}
				if a := &arr[t.off+j-t.lo-1]; better(l, *a, cands, sw.Servers) {
					*a = l
				}
			}
		}
		prev = append(prev[:0], act...)
	}
	var best label
	for _, pi := range prev {
		p := &cands[pi]
		if p.hi != to {
			continue
		}
		a := arr[p.off+to-p.lo-1]
		if !a.ok {
			continue
		}
		a.cost = satAdd(a.cost, hop(sw.Servers[p.srv].ID, ""))
		if better(a, best, cands, sw.Servers) {
			best = a
		}
	}
	if !best.ok {
		return nil, fmt.Errorf("%w: blocks [%d,%d) unreachable", ErrNoRoute, from, to)
	}
	var rev []Hop
	for j, ci := to, best.srv; j > from; {
		c := &cands[ci]
		a := arr[c.off+j-c.lo-1]
		rev = append(rev, Hop{Server: sw.Servers[c.srv].ID, Span: Span{int(a.from), j}})
		j = int(a.from)
		ci = ent[c.off+j-c.lo].srv
	}
	return reverse(rev), nil
}

func reverse(h []Hop) []Hop {
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return h
}

// RouteCost returns the cost Route assigns to hops under opt: it checks that
// hops are contiguous, each within the span of a usable server of that ID,
// and sums network and compute costs with the same model as Route. The error
// wraps ErrNoRoute for an unusable or unknown server or a hop outside its
// server's span, and ErrBadRange for non-contiguous or empty hops.
// Sessions count as in Route; Spread plays no part.
func RouteCost(sw Swarm, hops []Hop, opt RouteOptions) (time.Duration, error) {
	var total int64
	prevID := ""
	for i, h := range hops {
		if h.Span.Len() == 0 || (i > 0 && h.Span.Start != hops[i-1].Span.End) {
			return 0, fmt.Errorf("%w: hop %d %v is empty or not contiguous", ErrBadRange, i, h.Span)
		}
		if h.Span.Start < 0 || h.Span.End > sw.Blocks {
			return 0, fmt.Errorf("%w: hop %d %v outside [0,%d)", ErrBadRange, i, h.Span, sw.Blocks)
		}
		var c *candidate
		for si, s := range sw.Servers {
			sp := s.Span.clip(sw.Blocks)
			if s.ID != h.Server || sp.Start > h.Span.Start || sp.End < h.Span.End || !usable(s, opt) {
				continue
			}
			one := candidates(Swarm{Blocks: sw.Blocks, Servers: []Server{s}}, h.Span.Start, h.Span.End, opt)
			c = &one[0]
			c.srv = si
			break
		}
		if c == nil {
			return 0, fmt.Errorf("%w: hop %d: no usable server %q serving %v", ErrNoRoute, i, h.Server, h.Span)
		}
		n := h.Span.Len()
		comp := c.per * int64(n)
		if opt.ComputeCost != nil {
			comp = clampCost(float64(opt.ComputeCost(sw.Servers[c.srv], n)) * c.factor)
		}
		net := c.rtt
		if opt.HopCost != nil {
			net = clampCost(float64(opt.HopCost(prevID, h.Server)))
		}
		total = satAdd(total, satAdd(net, comp))
		prevID = h.Server
	}
	if opt.HopCost != nil && len(hops) > 0 {
		total = satAdd(total, clampCost(float64(opt.HopCost(prevID, ""))))
	}
	return time.Duration(total), nil
}
