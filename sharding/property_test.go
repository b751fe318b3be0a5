package sharding

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomSwarm builds a seeded random swarm with unique IDs; spans may stick
// out of [0, blocks) (they are clipped) and a few servers are odd (zero
// throughput, full load, unknown RTT).
func randomSwarm(r *rand.Rand, blocks, servers, maxLen int) Swarm {
	sw := Swarm{Blocks: blocks}
	for i := range servers {
		n := 1 + r.IntN(maxLen)
		start := r.IntN(blocks+2) - 1
		s := Server{
			ID:         fmt.Sprintf("s%03d", i),
			Span:       Span{start, start + n},
			Throughput: float64(1 + r.IntN(100)),
			Load:       float64(r.IntN(10)) / 10,
			FreeCache:  r.IntN(3) * 100,
			RTT:        time.Duration(r.IntN(200)) * time.Millisecond,
		}
		switch r.IntN(20) {
		case 0:
			s.Throughput = 0
		case 1:
			s.Load = 1
		case 2:
			s.Throughput = r.Float64() * 1e-3
		}
		sw.Servers = append(sw.Servers, s)
	}
	return sw
}

// linkCost is a deterministic pseudo-random server-to-server network cost.
func linkCost(from, to string) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(from + "->" + to))
	return time.Duration(h.Sum32()%150) * time.Millisecond
}

// optionVariants covers every Route code path.
func optionVariants(r *rand.Rand, sw Swarm) map[string]RouteOptions {
	ex := map[string]bool{}
	for _, s := range sw.Servers {
		if r.IntN(5) == 0 {
			ex[s.ID] = true
		}
	}
	nonlinear := func(s Server, n int) time.Duration {
		// A fixed per-hop overhead plus a sub-linear batch speed-up.
		return 20*time.Millisecond + time.Duration(float64(time.Second)*math.Sqrt(float64(n))/s.Throughput)
	}
	return map[string]RouteOptions{
		"latency":         {},
		"throughput":      {Mode: MaxThroughput, NeedCache: 50},
		"exclude":         {Exclude: ex},
		"custom compute":  {ComputeCost: nonlinear, Mode: MaxThroughput},
		"mesh":            {HopCost: linkCost},
		"mesh nonlinear":  {HopCost: linkCost, ComputeCost: nonlinear, Exclude: ex},
		"unknown RTT=1ms": {DefaultRTT: time.Millisecond},
	}
}

// bruteRoute enumerates every route over [from, to) and returns the lowest
// RouteCost and, at that cost, the fewest hops; ok is false if none exists.
func bruteRoute(sw Swarm, from, to int, opt RouteOptions) (best time.Duration, hops int, ok bool) {
	var path []Hop
	var walk func(at int)
	walk = func(at int) {
		if at == to {
			c, err := RouteCost(sw, path, opt)
			if err != nil {
				panic(err)
			}
			if !ok || c < best || (c == best && len(path) < hops) {
				best, hops, ok = c, len(path), true
			}
			return
		}
		for _, s := range sw.Servers {
			sp := s.Span.clip(sw.Blocks)
			if !usable(s, opt) || !sp.Contains(at) {
				continue
			}
			for end := at + 1; end <= min(sp.End, to); end++ {
				path = append(path, Hop{s.ID, Span{at, end}})
				walk(end)
				path = path[:len(path)-1]
			}
		}
	}
	walk(from)
	return best, hops, ok
}

// TestPropertyRouteOptimal checks, on small random swarms and every code
// path, that routes are well formed, optimal against brute force, use the
// fewest hops at that cost, and do not depend on the order of servers.
func TestPropertyRouteOptimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	checked := 0
	defer func() {
		if checked < 1000 {
			t.Errorf("only %d routes compared with brute force", checked)
		}
	}()
	for iter := range 600 {
		sw := randomSwarm(r, 1+r.IntN(6), r.IntN(6), 4)
		from := r.IntN(sw.Blocks + 1)
		to := from + r.IntN(sw.Blocks-from+1)
		for name, opt := range optionVariants(r, sw) {
			hops, err := Route(sw, from, to, opt)
			best, nhops, ok := bruteRoute(sw, from, to, opt)
			if !ok && from < to {
				if err == nil {
					t.Fatalf("iter %d %s: route %s, brute force found none", iter, name, hopsString(hops))
				}
				continue
			}
			if err != nil {
				t.Fatalf("iter %d %s: %v (swarm %+v [%d,%d))", iter, name, err, sw, from, to)
			}
			checkRoute(t, sw, from, to, opt, hops)
			checked++
			got, err := RouteCost(sw, hops, opt)
			if err != nil {
				t.Fatal(err)
			}
			if got != best || len(hops) != nhops {
				t.Fatalf("iter %d %s: route %s cost %v hops %d, brute force %v hops %d (swarm %+v [%d,%d))",
					iter, name, hopsString(hops), got, len(hops), best, nhops, sw, from, to)
			}
			perm := Swarm{Blocks: sw.Blocks, Servers: slices.Clone(sw.Servers)}
			r.Shuffle(len(perm.Servers), func(i, j int) { perm.Servers[i], perm.Servers[j] = perm.Servers[j], perm.Servers[i] })
			again, err := Route(perm, from, to, opt)
			if err != nil || !slices.Equal(again, hops) {
				t.Fatalf("iter %d %s: order-dependent: %s vs %s (%v)", iter, name, hopsString(hops), hopsString(again), err)
			}
		}
	}
}

// TestPropertyRouteLarge checks well-formedness on larger swarms, and that
// the linear fast path agrees with the general path given the same costs.
func TestPropertyRouteLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	routed := 0
	defer func() {
		if routed < 50 {
			t.Errorf("only %d of 200 random swarms were routable", routed)
		}
	}()
	for iter := range 200 {
		sw := randomSwarm(r, 1+r.IntN(80), 1+r.IntN(200), 30)
		from := r.IntN(sw.Blocks)
		to := from + 1 + r.IntN(sw.Blocks-from)
		fast, err := Route(sw, from, to, RouteOptions{})
		if err != nil {
			if !errors.Is(err, ErrNoRoute) {
				t.Fatal(err)
			}
			continue // a block of [from, to) has no usable server
		}
		routed++
		checkRoute(t, sw, from, to, RouteOptions{}, fast)
		// The default cost as a custom ComputeCost takes the general path.
		same := RouteOptions{ComputeCost: func(s Server, n int) time.Duration {
			return time.Duration(n) * time.Duration(clampCost(float64(time.Second)*loadFactor(s.Load)/s.Throughput))
		}}
		general, err := Route(sw, from, to, same)
		if err != nil {
			t.Fatal(err)
		}
		c1, _ := RouteCost(sw, fast, RouteOptions{})
		c2, _ := RouteCost(sw, general, RouteOptions{})
		if c1 != c2 || len(fast) != len(general) {
			t.Fatalf("iter %d: fast %s (%v), general %s (%v)", iter, hopsString(fast), c1, hopsString(general), c2)
		}
		// The star topology as a HopCost takes the mesh path.
		rtt := map[string]time.Duration{}
		for _, s := range sw.Servers {
			rtt[s.ID] = cmpOr(s.RTT, DefaultRTT)
		}
		mesh, err := Route(sw, from, to, RouteOptions{HopCost: func(_, to string) time.Duration { return rtt[to] }})
		if err != nil {
			t.Fatal(err)
		}
		if c3, _ := RouteCost(sw, mesh, RouteOptions{}); c3 != c1 || len(mesh) != len(fast) {
			t.Fatalf("iter %d: star %s (%v), mesh %s (%v)", iter, hopsString(fast), c1, hopsString(mesh), c3)
		}
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// TestPropertyChooseSpan checks range, length, optimality against a direct
// ranking of every window, and independence from server order.
func TestPropertyChooseSpan(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := range 2000 {
		sw := randomSwarm(r, 1+r.IntN(40), r.IntN(30), 20)
		k := r.IntN(50) - 2
		got := ChooseSpan(sw, k, 10)
		if k <= 0 {
			if got != (Span{}) {
				t.Fatalf("iter %d: maxBlocks %d gave %v", iter, k, got)
			}
			continue
		}
		want := min(k, sw.Blocks)
		if got.Len() != want || got.Start < 0 || got.End > sw.Blocks {
			t.Fatalf("iter %d: %v for maxBlocks %d of %d blocks", iter, got, k, sw.Blocks)
		}
		// Direct ranking: exact per-block sums, windows by (min, sum, start).
		tp := make([]float64, sw.Blocks)
		for _, s := range sw.Servers {
			sp := s.Span.clip(sw.Blocks)
			for b := sp.Start; b < sp.End; b++ {
				tp[b] += usableThroughput(s.Throughput)
			}
		}
		rank := func(st int) (float64, float64) {
			w := tp[st : st+want]
			var sum float64
			for _, v := range w {
				sum += v
			}
			return slices.Min(w), sum
		}
		gm, gs := rank(got.Start)
		for st := 0; st+want <= sw.Blocks; st++ {
			m, s := rank(st)
			if m < gm-1e-6 || (math.Abs(m-gm) <= 1e-6 && s < gs-1e-6) {
				t.Fatalf("iter %d: chose %v (min %v sum %v), window %d has min %v sum %v", iter, got, gm, gs, st, m, s)
			}
		}
		perm := Swarm{Blocks: sw.Blocks, Servers: slices.Clone(sw.Servers)}
		slices.Reverse(perm.Servers)
		if again := ChooseSpan(perm, k, 10); again != got {
			t.Fatalf("iter %d: order-dependent %v vs %v", iter, got, again)
		}
	}
}

// TestPropertyRebalance checks that a move never lowers the bottleneck,
// keeps the span length, stays in range, and that rounds of one move per
// epoch (RebalanceTurn) settle.
func TestPropertyRebalance(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	total := 0
	defer func() {
		if total < 200 {
			t.Errorf("only %d moves in 500 random swarms", total)
		}
		t.Logf("%d moves", total)
	}()
	for iter := range 500 {
		sw := randomSwarm(r, 1+r.IntN(30), 1+r.IntN(15), 12)
		th := []float64{0, 0.05, 0.2, 1}[r.IntN(4)]
		ids := make([]string, len(sw.Servers))
		for i, s := range sw.Servers {
			ids[i] = s.ID
		}
		moves, idle := 0, 0
		for epoch := int64(0); idle < len(ids); epoch++ {
			i := slices.IndexFunc(ids, func(id string) bool { return RebalanceTurn(ids, id, epoch) })
			before := Bottleneck(sw)
			span, move := Rebalance(sw, ids[i], th)
			if !move {
				idle++
				continue
			}
			idle = 0
			old := sw.Servers[i].Span.clip(sw.Blocks)
			if span.Len() != old.Len() || span.Start < 0 || span.End > sw.Blocks || span == old {
				t.Fatalf("iter %d: %s %v -> %v", iter, ids[i], old, span)
			}
			unservedBefore := countBelow(BlockThroughput(sw), 0)
			sw.Servers[i].Span = span
			after := Bottleneck(sw)
			if after < before*(1-1e-9) {
				t.Fatalf("iter %d: bottleneck fell %v -> %v", iter, before, after)
			}
			if before > 0 && after <= before*(1+th) {
				t.Fatalf("iter %d: move below threshold %v: %v -> %v", iter, th, before, after)
			}
			if before == 0 && after == 0 && countBelow(BlockThroughput(sw), 0) >= unservedBefore {
				t.Fatalf("iter %d: gap move left as many unserved blocks", iter)
			}
			total++
			if moves++; moves > 10*len(ids)*sw.Blocks {
				t.Fatalf("iter %d: rebalancing does not settle", iter)
			}
		}
	}
}
