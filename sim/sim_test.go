package sim

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/sharding"
)

// uniformConfig is a swarm of identical servers (speed 1, no spread) that
// each hold k blocks, in one region with no network jitter, no churn and no
// clients: a setting whose figures can be worked out by hand. One token
// through one block takes 10 ms, so a server's raw speed is 100 tokens/s.
func uniformConfig(peers, blocks, k int) Config {
	c := DefaultConfig(peers)
	c.Blocks = blocks
	c.Duration = Duration(20 * time.Minute)
	c.JoinRate, c.LeaveRate, c.ClientRate = 0, 0, 0
	c.Regions = []Region{{Name: "here", Weight: 1, RTTMillis: []float64{0}}}
	c.RTTJitter = 0
	c.AccessMillisMax = 1
	c.Cost.BlockMillisPerToken = 10
	c.Cost.HopOverheadMillis = 0
	c.Cost.BlockMemoryGiB = 1
	c.Classes = []Class{{Name: "uniform", Share: 1, Speed: 1, MemoryGiB: float64(k), CacheTokens: 1 << 20}}
	return c
}

func mustRun(t *testing.T, c Config) *Report {
	t.Helper()
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func reportJSON(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestQueueOrdersByTimeThenSchedulingOrder(t *testing.T) {
	tests := []struct {
		name  string
		times []time.Duration // pushed in this order; event i carries req i
		want  []int32         // req values in pop order
	}{
		{"all tied", []time.Duration{5, 5, 5, 5}, []int32{0, 1, 2, 3}},
		{"reversed", []time.Duration{4, 3, 2, 1}, []int32{3, 2, 1, 0}},
		{"ties among others", []time.Duration{2, 1, 2, 1, 0, 2}, []int32{4, 1, 3, 0, 2, 5}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q queue
			for i, at := range tt.times {
				q.push(event{at: at, req: int32(i)})
			}
			var got []int32
			for {
				e, ok := q.pop()
				if !ok {
					break
				}
				got = append(got, e.req)
			}
			if !equalInt32(got, tt.want) {
				t.Fatalf("pop order %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueuePushDuringPopKeepsOrder(t *testing.T) {
	// Events scheduled for the current instant while it is being
	// processed run after the ones already queued for that instant.
	var q queue
	q.push(event{at: 1, req: 0})
	q.push(event{at: 1, req: 1})
	e, _ := q.pop()
	q.push(event{at: e.at, req: 2})
	var got []int32
	for q.len() > 0 {
		e, _ := q.pop()
		got = append(got, e.req)
	}
	if want := []int32{1, 2}; !equalInt32(got, want) {
		t.Fatalf("pop order %v, want %v", got, want)
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// churnConfig is a small but busy swarm: heavy churn, crashes, clients.
func churnConfig(seed uint64) Config {
	c := DefaultConfig(80)
	c.Blocks = 24
	c.Duration = Duration(20 * time.Minute)
	c.Seed = seed
	c.JoinRate, c.LeaveRate = 0.1, 0.1
	c.CrashFraction = 0.5
	c.ClientRate = 0.5
	c.TokensPerRequest = 64
	return c
}

func TestSameSeedSameReport(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"star", func(*Config) {}},
		{"mesh", func(c *Config) { c.Topology, c.RouteCandidatesPerBlock = "mesh", 3 }},
		{"throughput routing, whole view", func(c *Config) { c.RouteMode, c.ClientViewPerBlock = "throughput", 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := func(seed uint64) Config {
				c := churnConfig(seed)
				tt.edit(&c)
				return c
			}
			rep := mustRun(t, cfg(7))
			a := reportJSON(t, rep)
			if b := reportJSON(t, mustRun(t, cfg(7))); !bytes.Equal(a, b) {
				t.Fatal("two runs with seed 7 gave different reports")
			}
			if c := reportJSON(t, mustRun(t, cfg(8))); bytes.Equal(a, c) {
				t.Fatal("seeds 7 and 8 gave the same report")
			}
			m := rep.Summary
			if m.Joins == 0 || m.Crashes == 0 || m.Requests.Completed == 0 || m.Requests.Replans == 0 {
				t.Fatalf("scenario too quiet to test determinism: %+v", m)
			}
		})
	}
}

func TestThroughputMatchesHandComputation(t *testing.T) {
	tests := []struct {
		name              string
		peers, blocks, k  int
		throughput, bound float64
		gapFraction       float64
	}{
		// Spans [0,2) [2,4) [0,2) [2,4): each block has two servers
		// giving 100/2 each.
		{"balanced pairs", 4, 4, 2, 100, 100, 0},
		// [0,2) [2,4) [0,2): blocks 2 and 3 have one server (50);
		// 300 tokens/s of capacity over 4 blocks is 75.
		{"odd server out", 3, 4, 2, 50, 75, 0},
		// Both servers hold all 4 blocks: 100/4 each, twice.
		{"whole model twice", 2, 4, 4, 50, 50, 0},
		// [0,3) then [3,6): blocks 6 and 7 stay unserved all along;
		// 200 tokens/s of capacity over 8 blocks is 25.
		{"not enough servers", 2, 8, 3, 0, 25, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := mustRun(t, uniformConfig(tt.peers, tt.blocks, tt.k))
			m := rep.Summary
			if math.Abs(m.ThroughputMean-tt.throughput) > 1e-6 || math.Abs(m.ThroughputFinal-tt.throughput) > 1e-6 {
				t.Errorf("throughput mean %v final %v, want %v", m.ThroughputMean, m.ThroughputFinal, tt.throughput)
			}
			if math.Abs(m.UpperBoundMean-tt.bound) > 1e-6 {
				t.Errorf("upper bound %v, want %v", m.UpperBoundMean, tt.bound)
			}
			if m.GapFraction != tt.gapFraction {
				t.Errorf("gap fraction %v, want %v", m.GapFraction, tt.gapFraction)
			}
		})
	}
}

func TestLatencyMatchesHandComputation(t *testing.T) {
	// Servers run 10 ms per block; client and servers each add 1 ms of last
	// mile to a 0 ms region, so every round trip is 2 ms and every one-way
	// leg 1 ms; each hop adds 0.5 ms of overhead. Requests of 1 or 2
	// tokens at 1 per 100 s almost never overlap, so queueing is nil.
	tests := []struct {
		name     string
		topology string
		peers, k int
		want     float64 // ms per token
	}{
		// 40 ms of compute, one round trip, one hop.
		{"star, one server", "star", 1, 4, 42.5},
		// 40 ms, client -> server -> client, one hop.
		{"mesh, one server", "mesh", 1, 4, 42.5},
		// [0,2) and [2,4): 40 ms, two round trips, two hops.
		{"star, two servers", "star", 2, 2, 45},
		// 40 ms, client -> s1 -> s2 -> client, two hops.
		{"mesh, two servers", "mesh", 2, 2, 44},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := uniformConfig(tt.peers, 4, tt.k)
			c.Topology = tt.topology
			c.Cost.HopOverheadMillis = 0.5
			c.Duration = Duration(time.Hour)
			c.ClientRate = 0.01
			c.TokensPerRequest = 2
			rep := mustRun(t, c)
			l := rep.Summary.Latency
			if l.N < 10 {
				t.Fatalf("only %d requests routed", l.N)
			}
			if l.P50 != tt.want || l.P90 != tt.want {
				t.Fatalf("per-token latency p50 %v p90 %v ms, want %v", l.P50, l.P90, tt.want)
			}
			if want := float64(tt.peers); rep.Summary.Requests.MeanHops != want {
				t.Fatalf("mean hops %v, want %v", rep.Summary.Requests.MeanHops, want)
			}
		})
	}
}

func TestGapWhenAllServersOfABlockLeave(t *testing.T) {
	tests := []struct {
		name      string
		rebalance time.Duration
		healed    bool
	}{
		// Rebalancing moves one of the two servers left on [0,2) to the
		// hole once the crashed server's stale record expires (CrashTTL,
		// 60 s), within an epoch or two (10 s each) and the load time
		// (2 blocks of 5 s).
		{"rebalancing heals", 10 * time.Second, true},
		// An epoch longer than the run: the hole stays until the end.
		{"no rebalancing", 2 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := uniformConfig(4, 4, 2)
			c.RebalancePeriod = Duration(tt.rebalance)
			s, err := New(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s.start()
			if err := s.runUntil(ctx, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			if s.uncovered != 0 {
				t.Fatalf("%d blocks uncovered before the leaves", s.uncovered)
			}
			crash := true
			for _, pi := range append([]int32(nil), s.alive...) {
				if s.peers[pi].span.Contains(3) {
					s.leave(pi, crash) // one crashes, the other leaves
					crash = false
				}
			}
			if s.uncovered != 2 {
				t.Fatalf("%d blocks uncovered after every server of [2,4) left, want 2", s.uncovered)
			}
			if err := s.runUntil(ctx, s.end); err != nil {
				t.Fatal(err)
			}
			rep := s.report()
			m := rep.Summary
			if m.GapEvents != 1 {
				t.Fatalf("%d gap events, want 1", m.GapEvents)
			}
			last := rep.Samples[len(rep.Samples)-1]
			if tt.healed {
				if last.UncoveredBlocks != 0 || m.RebalanceMoves == 0 {
					t.Fatalf("not healed: %d blocks uncovered at the end, %d moves", last.UncoveredBlocks, m.RebalanceMoves)
				}
				if m.GapSeconds < 60 || m.GapSeconds > 100 {
					t.Fatalf("gap lasted %v s, want a short positive time", m.GapSeconds)
				}
				return
			}
			if m.GapSeconds != 600 || last.UncoveredBlocks != 2 || last.Throughput != 0 {
				t.Fatalf("gap %v s, %d uncovered, throughput %v; want 600 s, 2, 0", m.GapSeconds, last.UncoveredBlocks, last.Throughput)
			}
		})
	}
}

func TestRebalancingRestoresCoverageUnderChurn(t *testing.T) {
	// 120 servers start piled on the first blocks of the model, leaving
	// most of it unserved, while servers keep joining, leaving and
	// crashing. Joins (ChooseSpan) and moves (Rebalance) must cover the
	// model again and keep it covered.
	c := DefaultConfig(120)
	c.Blocks = 32
	c.Duration = Duration(time.Hour)
	c.JoinRate, c.LeaveRate = 120.0/1800, 120.0/1800 // 30-minute sessions
	c.ClientRate = 0.2
	c.RebalancePeriod = Duration(5 * time.Second)
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.start()
	for _, pi := range append([]int32(nil), s.alive...) {
		p := &s.peers[pi]
		s.stopServing(pi, false)
		p.span = sharding.Span{Start: 0, End: min(p.maxBlocks, 8)}
		s.startServing(pi)
	}
	if s.uncovered != 24 {
		t.Fatalf("%d blocks uncovered after piling up, want 24", s.uncovered)
	}
	if err := s.runUntil(ctx, s.end); err != nil {
		t.Fatal(err)
	}
	rep := s.report()
	m := rep.Summary
	if m.RebalanceMoves == 0 {
		t.Fatal("no rebalancing move")
	}
	// Covered again early, and never uncovered in the second half hour.
	for _, smp := range rep.Samples {
		if smp.TimeSeconds >= 1800 && smp.UncoveredBlocks != 0 {
			t.Fatalf("at %v s %d blocks are uncovered", smp.TimeSeconds, smp.UncoveredBlocks)
		}
	}
	if m.GapFraction > 0.5 {
		t.Fatalf("gap fraction %v, want the hole closed within the first half hour", m.GapFraction)
	}
	last := rep.Samples[len(rep.Samples)-1]
	if last.Throughput < 0.3*last.UpperBound {
		t.Fatalf("final throughput %v of bound %v: placement did not recover", last.Throughput, last.UpperBound)
	}
}

func TestChurnKeepsCoverage(t *testing.T) {
	c := DefaultConfig(300)
	c.Blocks = 40
	c.Duration = Duration(time.Hour)
	c.JoinRate, c.LeaveRate = 300.0/1800, 300.0/1800
	c.CrashFraction = 0.5
	rep := mustRun(t, c)
	m := rep.Summary
	if m.Joins < 300 || m.Crashes < 100 {
		t.Fatalf("churn too light: %d joins, %d crashes", m.Joins, m.Crashes)
	}
	if m.GapEvents != 0 {
		t.Fatalf("%d gap events (%.1f s) in a swarm of 300", m.GapEvents, m.GapSeconds)
	}
	if m.Requests.Failed != 0 {
		t.Fatalf("%d requests failed", m.Requests.Failed)
	}
	if m.Efficiency < 0.5 {
		t.Fatalf("efficiency %v under churn", m.Efficiency)
	}
}

func TestReportWriters(t *testing.T) {
	rep := mustRun(t, churnConfig(3))
	var csvOut, sum bytes.Buffer
	if err := rep.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if len(lines) != len(rep.Samples)+1 || !strings.HasPrefix(lines[0], "t_s,servers,") {
		t.Fatalf("csv has %d lines for %d samples; header %q", len(lines), len(rep.Samples), lines[0])
	}
	// Samples every minute of 20 minutes, both ends included.
	if len(rep.Samples) != 21 {
		t.Fatalf("%d samples, want 21", len(rep.Samples))
	}
	if err := rep.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"throughput", "upper bound", "gap episodes", "rebalancing", "p99"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
}

func TestNetworkOneWay(t *testing.T) {
	n := newNetwork(DefaultRegions(), 0.2, 1, 0)
	a := place{region: 0, access: 5, key: 1}
	b := place{region: 2, access: 3, key: 2}
	tests := []struct {
		name   string
		x, y   place
		lo, hi time.Duration
	}{
		{"self", a, a, 0, 0},
		{"us-east to europe", a, b, msDuration((85 + 8) / 2.0), msDuration((85 + 8) * 1.2 / 2)},
		{"europe to us-east", b, a, msDuration((85 + 8) / 2.0), msDuration((85 + 8) * 1.2 / 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := n.oneWay(tt.x, tt.y)
			if d < tt.lo || d > tt.hi {
				t.Fatalf("one way %v, want within [%v, %v]", d, tt.lo, tt.hi)
			}
		})
	}
	if n.oneWay(a, b) != n.oneWay(b, a) {
		t.Fatal("one-way delay is not symmetric")
	}
}

func BenchmarkRun(b *testing.B) {
	for _, peers := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("peers=%d", peers), func(b *testing.B) {
			var rep *Report
			for b.Loop() {
				s, err := New(DefaultConfig(peers), nil)
				if err != nil {
					b.Fatal(err)
				}
				if rep, err = s.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			m := rep.Summary
			b.ReportMetric(m.ThroughputMean, "tok/s")
			b.ReportMetric(m.UpperBoundMean, "bound-tok/s")
			b.ReportMetric(m.Efficiency, "efficiency")
			b.ReportMetric(m.GapFraction, "gap-fraction")
			b.ReportMetric(float64(m.Events), "events")
		})
	}
}

// checkInvariants recomputes the incrementally kept state from scratch.
func checkInvariants(t *testing.T, s *Sim) {
	t.Helper()
	cover := make([]int, s.cfg.Blocks)
	uncovered := 0
	for i := range s.peers {
		p := &s.peers[i]
		if p.state == stServing {
			for b := p.span.Start; b < p.span.End; b++ {
				cover[b]++
			}
		}
		alive := p.state == stServing || p.state == stLoading
		if alive != (p.alivePos >= 0) || (alive && s.alive[p.alivePos] != int32(i)) {
			t.Fatalf("peer %d (state %d): alive position %d is wrong", i, p.state, p.alivePos)
		}
		inPlace := p.state != stGone
		if s.place.has(int32(i)) != inPlace {
			t.Fatalf("peer %d (state %d): in place view %v", i, p.state, s.place.has(int32(i)))
		}
		if p.state == stServing && !s.route.has(int32(i)) || p.state == stLoading && s.route.has(int32(i)) {
			t.Fatalf("peer %d (state %d): in route view %v", i, p.state, s.route.has(int32(i)))
		}
	}
	for b, c := range cover {
		if c != s.cover[b] {
			t.Fatalf("block %d: cover %d, recount %d", b, s.cover[b], c)
		}
		if c == 0 {
			uncovered++
		}
	}
	if uncovered != s.uncovered {
		t.Fatalf("uncovered %d, recount %d", s.uncovered, uncovered)
	}
	ids := make([]string, 0, len(s.place.servers))
	for _, sv := range s.place.servers {
		ids = append(ids, sv.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, s.ids) {
		t.Fatal("sorted ids differ from the place view")
	}
	listed := 0
	for b, l := range s.route.index.lists {
		for _, pi := range l {
			if !s.route.has(pi) || !s.route.servers[s.route.pos[pi]].Span.Contains(b) {
				t.Fatalf("block %d lists peer %d that does not serve it in the route view", b, pi)
			}
		}
		listed += len(l)
	}
	want := 0
	for _, sv := range s.route.servers {
		want += sv.Span.Len()
	}
	if listed != want {
		t.Fatalf("provider index holds %d entries, route view spans %d", listed, want)
	}
	for i, sv := range s.route.servers {
		if s.peers[s.route.owner[i]].id != sv.ID || s.route.pos[s.route.owner[i]] != int32(i) {
			t.Fatalf("route view entry %d is misfiled", i)
		}
	}
}

func TestIncrementalStateMatchesRecount(t *testing.T) {
	c := churnConfig(11)
	c.Duration = Duration(30 * time.Minute)
	c.ClientViewPerBlock = 3
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.start()
	for at := time.Minute; at <= s.end; at += time.Minute {
		if err := s.runUntil(context.Background(), at); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, s)
	}
	if s.st.moves == 0 && s.st.crashes == 0 {
		t.Fatal("scenario did not exercise moves or crashes")
	}
}
