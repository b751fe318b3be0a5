package sharding

import (
	"math"
	"slices"
)

// relTol is the relative tolerance used when comparing summed throughputs, so
// that sums that are equal in exact arithmetic but differ in the last bits
// (because servers were added in a different order) compare as equal.
const relTol = 1e-9

// usableThroughput returns t if it is a finite positive number, else 0.
func usableThroughput(t float64) float64 {
	if t > 0 && !math.IsInf(t, 1) && !math.IsNaN(t) {
		return t
	}
	if math.IsInf(t, 1) {
		return math.MaxFloat64 / (1 << 20)
	}
	return 0
}

// BlockThroughput returns, for each block of the model, the sum of the
// nominal Throughput of the servers whose span covers it (len Blocks).
//
// Load is deliberately not subtracted: load is transient client traffic,
// whereas placement should follow capacity. Subtracting it would make servers
// chase traffic spikes and oscillate between spans; load is taken into
// account by Route instead. Servers with a non-positive or NaN throughput
// contribute nothing, and spans are clipped to [0, Blocks). A block that no
// server with positive throughput covers is exactly 0.
//
// It runs in O(Blocks + len(Servers)) using difference arrays.
func BlockThroughput(sw Swarm) []float64 {
	if sw.Blocks <= 0 {
		return []float64{}
	}
	t, _ := blockThroughput(sw, -1)
	return t
}

// blockThroughput computes BlockThroughput while skipping the server at index
// skip (-1 for none). It also returns the largest block throughput, the
// scale for tolerant comparisons.
func blockThroughput(sw Swarm, skip int) ([]float64, float64) {
	n := sw.Blocks
	diff := make([]float64, n+1)
	cnt := make([]int, n+1)
	for i, s := range sw.Servers {
		if i == skip {
			continue
		}
		tp := usableThroughput(s.Throughput)
		sp := s.Span.clip(n)
		if tp == 0 || sp.Len() == 0 {
			continue
		}
		diff[sp.Start] += tp
		diff[sp.End] -= tp
		cnt[sp.Start]++
		cnt[sp.End]--
	}
	out := make([]float64, n)
	var run float64
	var c int
	var top float64
	for b := range n {
		run += diff[b]
		c += cnt[b]
		switch {
		case c == 0:
			run = 0 // no cancellation residue on uncovered blocks
			out[b] = 0
		case run < 0:
			out[b] = 0
		default:
			out[b] = run
		}
		top = max(top, out[b])
	}
	return out, top
}

// cmpTol compares a and b treating values within tol of each other as equal.
func cmpTol(a, b, tol float64) int {
	switch {
	case a < b-tol:
		return -1
	case a > b+tol:
		return 1
	}
	return 0
}

// ChooseSpan picks the span a joining server should serve: the contiguous
// window of min(maxBlocks, Blocks) blocks where the swarm is weakest.
//
// Windows are ranked, as in Petals, by the throughput of their weakest block
// (lowest first), then by their total throughput (lowest first), then by
// start (lowest first). A window that contains a gap therefore always wins
// over one that does not. Throughputs are compared with a tolerance of 1e-9
// of the strongest block, so rounding noise never decides.
//
// The joiner's own throughput does not change the ranking (adding the same
// amount to every block of a window preserves the order of windows); it is
// part of the signature so callers pass what the rule may use in future.
// The result is always within [0, Blocks); it is Span{0, 0} when Blocks or
// maxBlocks is not positive. Runs in O(Blocks + len(Servers)).
func ChooseSpan(sw Swarm, maxBlocks int, throughput float64) Span {
	_ = throughput
	if sw.Blocks <= 0 || maxBlocks <= 0 {
		return Span{}
	}
	t, top := blockThroughput(sw, -1)
	return chooseWindow(t, min(maxBlocks, sw.Blocks), top*relTol)
}

// chooseWindow returns the best window of length k over per-block
// throughputs t (1 <= k <= len(t)); see ChooseSpan for the ranking.
func chooseWindow(t []float64, k int, tol float64) Span {
	n := len(t)
	prefix := make([]float64, n+1)
	for i, v := range t {
		prefix[i+1] = prefix[i] + v
	}
	// Sliding-window minimum with a monotone deque of block indices.
	dq := make([]int, 0, k)
	head := 0
	best, bestMin, bestSum := -1, 0.0, 0.0
	for i := range n {
		for len(dq) > head && t[dq[len(dq)-1]] >= t[i] {
			dq = dq[:len(dq)-1]
		}
		dq = append(dq, i)
		start := i - k + 1
		if dq[head] < start {
			head++
		}
		if start < 0 {
			continue
		}
		wMin := t[dq[head]]
		wSum := prefix[i+1] - prefix[start]
		if best < 0 {
			best, bestMin, bestSum = start, wMin, wSum
			continue
		}
		c := cmpTol(wMin, bestMin, tol)
		if c == 0 {
			c = cmpTol(wSum, bestSum, tol*float64(k))
		}
		if c < 0 { // strictly better; equal keeps the lower start
			best, bestMin, bestSum = start, wMin, wSum
		}
	}
	return Span{best, best + k}
}

// Bottleneck is the swarm's throughput: the minimum over blocks of
// BlockThroughput, 0 when any block is unserved or Blocks <= 0.
func Bottleneck(sw Swarm) float64 {
	if sw.Blocks <= 0 {
		return 0
	}
	t, _ := blockThroughput(sw, -1)
	return slices.Min(t)
}

// Rebalance decides whether server self should move to another span. It
// simulates self leaving and re-joining with ChooseSpan (same span length,
// same throughput) and returns the new span and true when that raises the
// swarm's bottleneck (the minimum per-block throughput) by more than the
// relative threshold: new > old*(1+threshold). While the swarm has gaps
// (bottleneck 0) a move is taken when it closes a gap: the bottleneck
// becomes positive, or fewer blocks are left unserved.
//
// A move never lowers the bottleneck. It returns (self's span, false) when
// the best span is the current one, when the move does not clear the
// threshold, and (Span{}, false) when self is not in the swarm. A negative
// threshold counts as 0. Rebalance is deterministic; the caller spreads
// moves out in time (see RebalanceTurn) so servers do not all move at once.
// Runs in O(Blocks + len(Servers)).
func Rebalance(sw Swarm, self string, threshold float64) (Span, bool) {
	idx := slices.IndexFunc(sw.Servers, func(s Server) bool { return s.ID == self })
	if idx < 0 || sw.Blocks <= 0 {
		return Span{}, false
	}
	me := sw.Servers[idx]
	cur := me.Span.clip(sw.Blocks)
	tp := usableThroughput(me.Throughput)
	if cur.Len() == 0 || tp == 0 {
		return me.Span, false
	}
	threshold = max(threshold, 0)
	if math.IsNaN(threshold) {
		threshold = 0
	}

	before, top := blockThroughput(sw, -1)
	tol := top * relTol
	without, _ := blockThroughput(sw, idx)
	next := chooseWindow(without, cur.Len(), tol)
	if next == cur {
		return me.Span, false
	}
	after := without // reuse: add self back on the new span
	for b := next.Start; b < next.End; b++ {
		after[b] += tp
	}

	oldMin, newMin := slices.Min(before), slices.Min(after)
	if oldMin <= tol {
		if newMin > tol || countBelow(after, tol) < countBelow(before, tol) {
			return next, true
		}
		return me.Span, false
	}
	if newMin > oldMin*(1+threshold)+tol {
		return next, true
	}
	return me.Span, false
}

// countBelow counts the values <= tol (unserved blocks).
func countBelow(t []float64, tol float64) int {
	n := 0
	for _, v := range t {
		if v <= tol {
			n++
		}
	}
	return n
}

// RebalanceTurn reports whether self holds the rebalancing turn in epoch:
// exactly one of the distinct ids does per epoch, in round-robin order of
// sorted ID, so servers move one at a time and each one gets a turn every
// len(distinct ids) epochs. Callers derive epoch from a shared clock value
// (for example unix time divided by the rebalance period) and add their own
// jitter. It is false when self is not among ids.
func RebalanceTurn(ids []string, self string, epoch int64) bool {
	if !slices.Contains(ids, self) {
		return false
	}
	u := slices.Compact(slices.Sorted(slices.Values(ids)))
	i := epoch % int64(len(u))
	if i < 0 {
		i += int64(len(u))
	}
	return u[i] == self
}

// Coverage returns, for each block, the number of servers whose span covers
// it (len Blocks), whatever their throughput. Spans are clipped to
// [0, Blocks). O(Blocks + len(Servers)).
func Coverage(sw Swarm) []int {
	if sw.Blocks <= 0 {
		return []int{}
	}
	diff := make([]int, sw.Blocks+1)
	for _, s := range sw.Servers {
		sp := s.Span.clip(sw.Blocks)
		if sp.Len() == 0 {
			continue
		}
		diff[sp.Start]++
		diff[sp.End]--
	}
	out := make([]int, sw.Blocks)
	run := 0
	for b := range sw.Blocks {
		run += diff[b]
		out[b] = run
	}
	return out
}

// Gaps returns the maximal block ranges that no server covers, in order;
// it is empty (nil) when every block is covered.
func Gaps(sw Swarm) []Span {
	return zeroRuns(Coverage(sw))
}

// zeroRuns returns the maximal runs of zeros in c.
func zeroRuns(c []int) []Span {
	var out []Span
	for b := 0; b < len(c); b++ {
		if c[b] != 0 {
			continue
		}
		start := b
		for b < len(c) && c[b] == 0 {
			b++
		}
		out = append(out, Span{start, b})
	}
	return out
}
