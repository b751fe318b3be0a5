package sharding

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// srv builds a test server; rtt defaults to 10ms.
func srv(id string, start, end int, tput float64) Server {
	return Server{ID: id, Span: Span{start, end}, Throughput: tput, FreeCache: 100, RTT: 10 * time.Millisecond}
}

func TestSpan(t *testing.T) {
	tests := []struct {
		s        Span
		wantLen  int
		contains []int
		not      []int
		str      string
	}{
		{Span{0, 0}, 0, nil, []int{0, -1}, "[0,0)"},
		{Span{2, 5}, 3, []int{2, 3, 4}, []int{1, 5}, "[2,5)"},
		{Span{5, 2}, 0, nil, []int{2, 3, 5}, "[5,2)"},
	}
	for _, tt := range tests {
		if got := tt.s.Len(); got != tt.wantLen {
			t.Errorf("%v.Len() = %d, want %d", tt.s, got, tt.wantLen)
		}
		for _, b := range tt.contains {
			if !tt.s.Contains(b) {
				t.Errorf("%v.Contains(%d) = false", tt.s, b)
			}
		}
		for _, b := range tt.not {
			if tt.s.Contains(b) {
				t.Errorf("%v.Contains(%d) = true", tt.s, b)
			}
		}
		if got := tt.s.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
	}
}

func TestCoverageAndGaps(t *testing.T) {
	tests := []struct {
		name  string
		sw    Swarm
		cover []int
		gaps  []Span
	}{
		{"no blocks", Swarm{}, []int{}, nil},
		{"empty swarm", Swarm{Blocks: 3}, []int{0, 0, 0}, []Span{{0, 3}}},
		{"single server", Swarm{4, []Server{srv("a", 0, 4, 1)}}, []int{1, 1, 1, 1}, nil},
		{"gaps", Swarm{6, []Server{srv("a", 1, 2, 1), srv("b", 4, 5, 1)}},
			[]int{0, 1, 0, 0, 1, 0}, []Span{{0, 1}, {2, 4}, {5, 6}}},
		{"overlap", Swarm{4, []Server{srv("a", 0, 3, 1), srv("b", 1, 4, 1)}}, []int{1, 2, 2, 1}, nil},
		{"clipped and empty spans", Swarm{3, []Server{srv("a", -2, 1, 1), srv("b", 2, 9, 1), srv("c", 2, 2, 1), srv("d", 3, 1, 1)}},
			[]int{1, 0, 1}, []Span{{1, 2}}},
		{"zero throughput still covers", Swarm{2, []Server{srv("a", 0, 2, 0)}}, []int{1, 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Coverage(tt.sw); !slices.Equal(got, tt.cover) {
				t.Errorf("Coverage = %v, want %v", got, tt.cover)
			}
			if got := Gaps(tt.sw); !slices.Equal(got, tt.gaps) {
				t.Errorf("Gaps = %v, want %v", got, tt.gaps)
			}
		})
	}
}

func TestBlockThroughput(t *testing.T) {
	loaded := srv("l", 0, 2, 10)
	loaded.Load = 0.9
	tests := []struct {
		name string
		sw   Swarm
		want []float64
	}{
		{"no blocks", Swarm{Servers: []Server{srv("a", 0, 1, 1)}}, []float64{}},
		{"empty swarm", Swarm{Blocks: 2}, []float64{0, 0}},
		{"single", Swarm{3, []Server{srv("a", 0, 2, 5)}}, []float64{5, 5, 0}},
		{"heterogeneous sum", Swarm{4, []Server{srv("a", 0, 4, 1.5), srv("b", 1, 3, 10)}}, []float64{1.5, 11.5, 11.5, 1.5}},
		{"load ignored", Swarm{2, []Server{loaded}}, []float64{10, 10}},
		{"bad throughput ignored", Swarm{2, []Server{srv("a", 0, 2, -3), srv("b", 0, 2, math.NaN()), srv("c", 0, 1, 0)}}, []float64{0, 0}},
		{"clipped", Swarm{2, []Server{srv("a", -5, 5, 2)}}, []float64{2, 2}},
		{"exact zero after cancellation", Swarm{3, []Server{srv("a", 0, 1, 1e15), srv("b", 2, 3, 0.1)}}, []float64{1e15, 0, 0.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BlockThroughput(tt.sw)
			if len(got) != len(tt.want) {
				t.Fatalf("len = %d, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-9*max(1, math.Abs(tt.want[i])) || (tt.want[i] == 0 && got[i] != 0) {
					t.Errorf("block %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestChooseSpan(t *testing.T) {
	tests := []struct {
		name      string
		sw        Swarm
		maxBlocks int
		want      Span
	}{
		{"no blocks", Swarm{}, 4, Span{}},
		{"zero capacity", Swarm{Blocks: 8}, 0, Span{}},
		{"empty swarm lowest start", Swarm{Blocks: 8}, 3, Span{0, 3}},
		{"maxBlocks > Blocks", Swarm{5, []Server{srv("a", 0, 5, 1)}}, 9, Span{0, 5}},
		{"fills the gap", Swarm{8, []Server{srv("a", 0, 4, 10)}}, 4, Span{4, 8}},
		{"covers the interior gap", Swarm{8, []Server{srv("a", 0, 3, 10), srv("b", 5, 8, 10)}}, 2, Span{3, 5}},
		// Both windows [3,6) and [2,5) contain the 0 gap block at 3..4;
		// lowest total wins.
		{"min then sum", Swarm{9, []Server{srv("a", 0, 3, 10), srv("b", 5, 9, 1)}}, 3, Span{3, 6}},
		{"ties lowest start", Swarm{6, []Server{srv("a", 0, 6, 10)}}, 2, Span{0, 2}},
		{"heterogeneous weakest", Swarm{6, []Server{srv("a", 0, 3, 10), srv("b", 3, 6, 2)}}, 3, Span{3, 6}},
		{"weakest block beats weak total", Swarm{6, []Server{srv("a", 0, 2, 1), srv("b", 2, 3, 1), srv("c", 3, 6, 5), srv("d", 5, 6, -1)}}, 1, Span{0, 1}},
		{"load does not matter", Swarm{4, []Server{{ID: "a", Span: Span{0, 2}, Throughput: 10, Load: 0.99}, srv("b", 2, 4, 5)}}, 2, Span{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChooseSpan(tt.sw, tt.maxBlocks, 1); got != tt.want {
				t.Errorf("ChooseSpan = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBottleneck(t *testing.T) {
	tests := []struct {
		sw   Swarm
		want float64
	}{
		{Swarm{}, 0},
		{Swarm{Blocks: 2}, 0},
		{Swarm{3, []Server{srv("a", 0, 3, 4), srv("b", 1, 3, 2)}}, 4},
		{Swarm{3, []Server{srv("a", 0, 2, 4)}}, 0},
	}
	for _, tt := range tests {
		if got := Bottleneck(tt.sw); got != tt.want {
			t.Errorf("Bottleneck(%v) = %v, want %v", tt.sw, got, tt.want)
		}
	}
}

func TestRebalance(t *testing.T) {
	tests := []struct {
		name      string
		sw        Swarm
		self      string
		threshold float64
		want      Span
		move      bool
	}{
		{"unknown self", Swarm{4, []Server{srv("a", 0, 4, 1)}}, "x", 0.2, Span{}, false},
		{"no blocks", Swarm{0, []Server{srv("a", 0, 4, 1)}}, "a", 0.2, Span{}, false},
		{"only server stays", Swarm{4, []Server{srv("a", 0, 4, 1)}}, "a", 0.2, Span{0, 4}, false},
		{"closes a gap", Swarm{4, []Server{srv("a", 0, 2, 1), srv("b", 0, 2, 1)}}, "b", 0.2, Span{2, 4}, true},
		{"gap: fewer unserved blocks", Swarm{6, []Server{srv("a", 0, 2, 1), srv("b", 0, 2, 1)}}, "a", 0.2, Span{2, 4}, true},
		{"moving would open a gap", Swarm{4, []Server{srv("a", 0, 2, 1), srv("b", 3, 4, 1)}}, "b", 0, Span{3, 4}, false},
		// c moving from [0,2) to [2,4): bottleneck 10 -> 11 is +10%.
		{"below threshold", Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 2, 1), srv("c", 0, 2, 1)}}, "c", 0.2, Span{0, 2}, false},
		{"above smaller threshold", Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 2, 1), srv("c", 0, 2, 1)}}, "c", 0.05, Span{2, 4}, true},
		{"negative threshold is 0", Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 2, 1), srv("c", 0, 2, 1)}}, "c", -1, Span{2, 4}, true},
		{"heterogeneous: slow server moves to weak half", Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10), srv("c", 0, 2, 5), srv("d", 0, 2, 5)}}, "d", 0.2, Span{2, 4}, true},
		{"zero throughput never moves", Swarm{4, []Server{srv("a", 0, 2, 1), srv("z", 0, 2, 0)}}, "z", 0, Span{0, 2}, false},
		{"balanced stays", Swarm{4, []Server{srv("a", 0, 2, 1), srv("b", 2, 4, 1)}}, "a", 0, Span{0, 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, move := Rebalance(tt.sw, tt.self, tt.threshold)
			if got != tt.want || move != tt.move {
				t.Errorf("Rebalance = %v, %v; want %v, %v", got, move, tt.want, tt.move)
			}
		})
	}
}

func TestRebalanceTurn(t *testing.T) {
	ids := []string{"c", "a", "b", "a"}
	tests := []struct {
		epoch int64
		want  string
	}{
		{0, "a"}, {1, "b"}, {2, "c"}, {3, "a"}, {-1, "c"}, {-3, "a"}, {math.MaxInt64, "b"}, {math.MinInt64, "b"},
	}
	for _, tt := range tests {
		var holders []string
		for _, id := range []string{"a", "b", "c", "x"} {
			if RebalanceTurn(ids, id, tt.epoch) {
				holders = append(holders, id)
			}
		}
		if len(holders) != 1 || holders[0] != tt.want {
			t.Errorf("epoch %d: holders %v, want [%s]", tt.epoch, holders, tt.want)
		}
	}
	if RebalanceTurn(nil, "a", 0) {
		t.Error("empty ids: got a turn")
	}
	if got := slices.Clone(ids); !slices.Equal(got, []string{"c", "a", "b", "a"}) {
		t.Errorf("ids modified: %v", got)
	}
}

// hopsString formats hops as "a[0,3) b[3,6)".
func hopsString(h []Hop) string {
	var parts []string
	for _, x := range h {
		parts = append(parts, x.Server+x.Span.String())
	}
	return strings.Join(parts, " ")
}

func TestRoute(t *testing.T) {
	ms := time.Millisecond
	withLoad := func(s Server, l float64) Server { s.Load = l; return s }
	withRTT := func(s Server, d time.Duration) Server { s.RTT = d; return s }
	withCache := func(s Server, c int) Server { s.FreeCache = c; return s }
	// 10 tokens/s per block: 100ms of compute per block.
	tests := []struct {
		name     string
		sw       Swarm
		from, to int
		opt      RouteOptions
		want     string
		err      error
		errText  string
	}{
		{name: "empty swarm", sw: Swarm{Blocks: 4}, to: 4, err: ErrNoRoute, errText: "block 0"},
		{name: "single server", sw: Swarm{4, []Server{srv("a", 0, 4, 10)}}, to: 4, want: "a[0,4)"},
		{name: "sub-range", sw: Swarm{4, []Server{srv("a", 0, 4, 10)}}, from: 1, to: 3, want: "a[1,3)"},
		{name: "empty range", sw: Swarm{4, nil}, from: 2, to: 2, want: ""},
		{name: "bad range", sw: Swarm{4, nil}, from: 3, to: 2, err: ErrBadRange},
		{name: "beyond blocks", sw: Swarm{4, []Server{srv("a", 0, 9, 10)}}, to: 5, err: ErrBadRange},
		{name: "negative from", sw: Swarm{4, nil}, from: -1, to: 2, err: ErrBadRange},
		{name: "gap", sw: Swarm{6, []Server{srv("a", 0, 2, 10), srv("b", 4, 6, 10)}}, to: 6, err: ErrNoRoute, errText: "block 2"},
		{name: "gap outside range is fine", sw: Swarm{6, []Server{srv("a", 0, 2, 10), srv("b", 4, 6, 10)}}, from: 4, to: 6, want: "b[4,6)"},
		{name: "two halves", sw: Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10)}}, to: 4, want: "a[0,2) b[2,4)"},
		{name: "exclusion", sw: Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 4, 10), srv("c", 0, 4, 1)}}, to: 4,
			opt: RouteOptions{Exclude: map[string]bool{"a": true, "b": true}}, want: "c[0,4)"},
		{name: "exclusion names first block", sw: Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 2, 10)}}, to: 4,
			opt: RouteOptions{Exclude: map[string]bool{"a": true}}, err: ErrNoRoute, errText: "block 2"},
		{name: "tie: lowest ID", sw: Swarm{4, []Server{srv("b", 0, 4, 10), srv("a", 0, 4, 10)}}, to: 4, want: "a[0,4)"},
		{name: "tie: fewer hops", sw: Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10), withRTT(srv("z", 0, 4, 10), 20*ms)}}, to: 4, want: "z[0,4)"},
		{name: "heterogeneous: fast server wins", sw: Swarm{4, []Server{srv("slow", 0, 4, 1), srv("fast", 0, 4, 100)}}, to: 4, want: "fast[0,4)"},
		{name: "heterogeneous: switch to fast server", sw: Swarm{6, []Server{srv("a", 0, 6, 1), srv("f", 2, 6, 100)}}, to: 6, want: "a[0,2) f[2,6)"},
		{name: "low RTT wins", sw: Swarm{4, []Server{withRTT(srv("far", 0, 4, 10), 900*ms), withRTT(srv("near", 0, 4, 10), ms)}}, to: 4, want: "near[0,4)"},
		{name: "unknown RTT is DefaultRTT", sw: Swarm{4, []Server{withRTT(srv("unk", 0, 4, 10), 0), withRTT(srv("m", 0, 4, 10), 99*ms)}}, to: 4, want: "m[0,4)"},
		{name: "DefaultRTT option", sw: Swarm{4, []Server{withRTT(srv("unk", 0, 4, 10), 0), withRTT(srv("m", 0, 4, 10), 99*ms)}}, to: 4,
			opt: RouteOptions{DefaultRTT: ms}, want: "unk[0,4)"},
		// a at load 0.5: 200ms/block latency, 400ms/block throughput mode;
		// b idle at 3.33 tokens/s: 300ms/block.
		{name: "loaded: latency keeps fast busy server", sw: Swarm{2, []Server{withLoad(srv("a", 0, 2, 10), 0.5), srv("b", 0, 2, 10.0/3)}}, to: 2, want: "a[0,2)"},
		{name: "loaded: throughput avoids it", sw: Swarm{2, []Server{withLoad(srv("a", 0, 2, 10), 0.5), srv("b", 0, 2, 10.0/3)}}, to: 2,
			opt: RouteOptions{Mode: MaxThroughput}, want: "b[0,2)"},
		{name: "saturated server still usable", sw: Swarm{2, []Server{withLoad(srv("a", 0, 2, 10), 1)}}, to: 2, want: "a[0,2)"},
		{name: "zero throughput unusable", sw: Swarm{2, []Server{srv("a", 0, 2, 0)}}, to: 2, err: ErrNoRoute, errText: "block 0"},
		{name: "full cache skipped for sessions", sw: Swarm{2, []Server{withCache(srv("a", 0, 2, 100), 0), srv("b", 0, 2, 1)}}, to: 2,
			opt: RouteOptions{NeedCache: 16}, want: "b[0,2)"},
		{name: "full cache ignored for forward", sw: Swarm{2, []Server{withCache(srv("a", 0, 2, 100), 0), srv("b", 0, 2, 1)}}, to: 2, want: "a[0,2)"},
		{name: "custom compute: fixed hop overhead", sw: Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10), withRTT(srv("z", 0, 4, 1), 20*ms)}}, to: 4,
			opt: RouteOptions{ComputeCost: func(s Server, n int) time.Duration { return time.Second }}, want: "z[0,4)"},
		{name: "custom compute: negative is 0", sw: Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 4, 10)}}, to: 4,
			opt: RouteOptions{ComputeCost: func(s Server, n int) time.Duration { return -time.Second }}, want: "a[0,4)"},
		{name: "mesh: cheap link between neighbours", sw: Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10), srv("c", 0, 4, 5), srv("d", 2, 4, 10)}}, to: 4,
			opt: RouteOptions{HopCost: func(from, to string) time.Duration {
				switch {
				case from == "a" && to == "d":
					return ms
				case from == "" || to == "":
					return 50 * ms
				}
				return time.Second
			}}, want: "a[0,2) d[2,4)"},
		{name: "mesh: client links only", sw: Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10), srv("c", 0, 4, 10)}}, to: 4,
			opt: RouteOptions{HopCost: func(from, to string) time.Duration {
				if from == "" || to == "" {
					return 0
				}
				return time.Second
			}}, want: "c[0,4)"},
		// Sessions the client holds: b's compute (100ms/block) shared 3
		// ways costs 300ms/block, more than c at 5 tokens/s (200ms).
		{name: "sessions: replica without them wins", sw: Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 4, 10)}}, to: 4,
			opt: RouteOptions{Sessions: map[string]int{"a": 1}}, want: "b[0,4)"},
		{name: "sessions: shared fast server loses to idle slower one", sw: Swarm{2, []Server{srv("b", 0, 2, 10), srv("c", 0, 2, 5)}}, to: 2,
			opt: RouteOptions{Sessions: map[string]int{"b": 2}}, want: "c[0,2)"},
		{name: "sessions: one each, tie to lowest ID", sw: Swarm{4, []Server{srv("b", 0, 4, 10), srv("a", 0, 4, 10)}}, to: 4,
			opt: RouteOptions{Sessions: map[string]int{"a": 1, "b": 1}}, want: "a[0,4)"},
		{name: "sessions: per span", sw: Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 0, 2, 10), srv("c", 2, 4, 10), srv("d", 2, 4, 10)}}, to: 4,
			opt: RouteOptions{Sessions: map[string]int{"a": 1, "d": 2}}, want: "b[0,2) c[2,4)"},
		{name: "sessions: multiply the load factor", sw: Swarm{2, []Server{withLoad(srv("a", 0, 2, 10), 0.5), srv("b", 0, 2, 10.0/3)}}, to: 2,
			opt: RouteOptions{Sessions: map[string]int{"a": 1}}, want: "b[0,2)"},
		{name: "sessions: custom compute too", sw: Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 4, 10)}}, to: 4,
			opt: RouteOptions{Sessions: map[string]int{"a": 1}, ComputeCost: func(s Server, n int) time.Duration { return time.Second }}, want: "b[0,4)"},
		{name: "sessions: unknown ID and negative count ignored", sw: Swarm{4, []Server{srv("b", 0, 4, 10), srv("a", 0, 4, 10)}}, to: 4,
			opt: RouteOptions{Sessions: map[string]int{"zz": 9, "a": -3}}, want: "a[0,4)"},
		{name: "mesh: excluded", sw: Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10), srv("c", 0, 4, 10)}}, to: 4,
			opt: RouteOptions{Exclude: map[string]bool{"c": true}, HopCost: func(from, to string) time.Duration { return ms }}, want: "a[0,2) b[2,4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hops, err := Route(tt.sw, tt.from, tt.to, tt.opt)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hopsString(hops); got != tt.want {
				t.Errorf("Route = %q, want %q", got, tt.want)
			}
			checkRoute(t, tt.sw, tt.from, tt.to, tt.opt, hops)
		})
	}
}

func TestRouteCost(t *testing.T) {
	sw := Swarm{4, []Server{srv("a", 0, 2, 10), srv("b", 2, 4, 10)}}
	tests := []struct {
		name string
		hops []Hop
		opt  RouteOptions
		want time.Duration
		err  error
	}{
		{"empty", nil, RouteOptions{}, 0, nil},
		{"star", []Hop{{"a", Span{0, 2}}, {"b", Span{2, 4}}}, RouteOptions{}, 420 * time.Millisecond, nil},
		{"mesh adds the return", []Hop{{"a", Span{0, 2}}, {"b", Span{2, 4}}},
			RouteOptions{HopCost: func(string, string) time.Duration { return time.Millisecond }}, 403 * time.Millisecond, nil},
		{"not contiguous", []Hop{{"a", Span{0, 1}}, {"b", Span{2, 4}}}, RouteOptions{}, 0, ErrBadRange},
		{"empty hop", []Hop{{"a", Span{1, 1}}}, RouteOptions{}, 0, ErrBadRange},
		{"outside model", []Hop{{"a", Span{-1, 1}}}, RouteOptions{}, 0, ErrBadRange},
		{"outside span", []Hop{{"a", Span{0, 3}}}, RouteOptions{}, 0, ErrNoRoute},
		{"unknown server", []Hop{{"x", Span{0, 1}}}, RouteOptions{}, 0, ErrNoRoute},
		{"excluded", []Hop{{"a", Span{0, 1}}}, RouteOptions{Exclude: map[string]bool{"a": true}}, 0, ErrNoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RouteCost(sw, tt.hops, tt.opt)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("RouteCost = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{MinLatency: "latency", MaxThroughput: "throughput", 7: "Mode(7)"} {
		if got := m.String(); got != want {
			t.Errorf("%d: %q, want %q", int(m), got, want)
		}
	}
}

// checkRoute asserts the structural invariants of a route: contiguous hops
// covering [from, to) exactly, each within a usable server's span.
func checkRoute(t *testing.T, sw Swarm, from, to int, opt RouteOptions, hops []Hop) {
	t.Helper()
	at := from
	for i, h := range hops {
		if h.Span.Start != at || h.Span.Len() == 0 {
			t.Fatalf("hop %d %v: want start %d, non-empty (route %s)", i, h.Span, at, hopsString(hops))
		}
		ok := false
		for _, s := range sw.Servers {
			sp := s.Span.clip(sw.Blocks)
			if s.ID == h.Server && sp.Start <= h.Span.Start && h.Span.End <= sp.End && usable(s, opt) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("hop %d %s%v not within a usable server's span", i, h.Server, h.Span)
		}
		at = h.Span.End
	}
	if at != to {
		t.Fatalf("route ends at %d, want %d (%s)", at, to, hopsString(hops))
	}
}

// TestRouteSpreadsLoad plans routes one after another for a client that
// keeps every route's sessions open, as concurrent generations of an
// entry node do, and counts the sessions each server ends up with: they
// follow the servers' throughput, and every replica of a span gets some.
func TestRouteSpreadsLoad(t *testing.T) {
	ms := time.Millisecond
	withRTT := func(s Server, d time.Duration) Server { s.RTT = d; return s }
	// Loopback under load, as an entry node measured it (round trips
	// below 5ms floored to 5ms): compute is cheap (6k to 44k tokens/s a
	// block) and round trips differ by more than the compute of many
	// sessions.
	loopback := Swarm{4, []Server{
		withRTT(srv("s1", 0, 2, 21700), 5*ms), withRTT(srv("s2", 0, 2, 6700), 5400*time.Microsecond),
		withRTT(srv("s3", 2, 4, 27500), 6200*time.Microsecond), withRTT(srv("s4", 2, 4, 43700), 5*ms)}}
	tests := []struct {
		name   string
		sw     Swarm
		mode   Mode
		spread float64
		n      int
		want   map[string]int // sessions per server, ±tol
		tol    int
	}{
		{name: "two equal replicas", sw: Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 4, 10)}},
			n: 8, want: map[string]int{"a": 4, "b": 4}},
		{name: "two equal replicas, spread", sw: Swarm{4, []Server{srv("a", 0, 4, 10), srv("b", 0, 4, 10)}},
			spread: 0.2, n: 8, want: map[string]int{"a": 4, "b": 4}},
		{name: "capacity 2:1", sw: Swarm{4, []Server{srv("a", 0, 4, 20), srv("b", 0, 4, 10)}},
			n: 12, want: map[string]int{"a": 8, "b": 4}, tol: 1},
		{name: "capacity 2:1, spread", sw: Swarm{4, []Server{srv("a", 0, 4, 20), srv("b", 0, 4, 10)}},
			spread: 0.2, n: 12, want: map[string]int{"a": 8, "b": 4}, tol: 1},
		{name: "capacity 3:1, throughput mode", sw: Swarm{4, []Server{srv("a", 0, 4, 30), srv("b", 0, 4, 10)}}, mode: MaxThroughput,
			spread: 0.2, n: 16, want: map[string]int{"a": 12, "b": 4}, tol: 1},
		{name: "two replicas per span", sw: Swarm{8, []Server{
			withRTT(srv("s1", 0, 4, 50), 300*time.Microsecond), withRTT(srv("s2", 0, 4, 50), 350*time.Microsecond),
			withRTT(srv("s3", 4, 8, 50), 320*time.Microsecond), withRTT(srv("s4", 4, 8, 50), 310*time.Microsecond)}},
			spread: 0.2, n: 8, want: map[string]int{"s1": 4, "s2": 4, "s3": 4, "s4": 4}, tol: 1},
		// Without a spread the noisy round trips decide: s3 stays idle.
		{name: "loopback, no spread", sw: loopback, n: 8, want: map[string]int{"s1": 7, "s2": 1, "s3": 0, "s4": 8}},
		// With it, compute decides: s4 gets more than s3, s1 than s2.
		{name: "loopback, spread", sw: loopback, spread: 0.2, n: 16,
			want: map[string]int{"s1": 12, "s2": 4, "s3": 6, "s4": 10}, tol: 1},
		{name: "loopback, spread, throughput mode", sw: loopback, mode: MaxThroughput, spread: 0.2, n: 16,
			want: map[string]int{"s1": 12, "s2": 4, "s3": 6, "s4": 10}, tol: 1},
		// A replica 30ms away costs far more than sharing a near one.
		{name: "far replica stays idle", sw: Swarm{4, []Server{withRTT(srv("near", 0, 4, 1000), ms), withRTT(srv("far", 0, 4, 1000), 30*ms)}},
			spread: 0.2, n: 6, want: map[string]int{"near": 6, "far": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sessions := map[string]int{}
			for range tt.n {
				opt := RouteOptions{Mode: tt.mode, Sessions: sessions, Spread: tt.spread}
				hops, err := Route(tt.sw, 0, tt.sw.Blocks, opt)
				if err != nil {
					t.Fatal(err)
				}
				checkRoute(t, tt.sw, 0, tt.sw.Blocks, opt, hops)
				for _, h := range hops {
					sessions[h.Server]++
				}
			}
			for id, want := range tt.want {
				if got := sessions[id]; got < want-tt.tol || got > want+tt.tol {
					t.Errorf("%s holds %d sessions, want %d±%d (all: %v)", id, got, want, tt.tol, sessions)
				}
			}
		})
	}
}

// TestRouteSpread: with Spread, Route takes the least loaded route of
// those within 1+Spread of the cheapest, and never one beyond.
func TestRouteSpread(t *testing.T) {
	ms := time.Millisecond
	withRTT := func(s Server, d time.Duration) Server { s.RTT = d; return s }
	withLoad := func(s Server, l float64) Server { s.Load = l; return s }
	tests := []struct {
		name string
		sw   Swarm
		opt  RouteOptions
		want string
	}{
		// a: 10ms + 1ms compute, b: 12ms + 0.5ms; within 20%, b is less loaded.
		{name: "near-equal: the less loaded", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 4000), 10*ms), withRTT(srv("b", 0, 4, 8000), 12*ms)}},
			opt: RouteOptions{Spread: 0.2}, want: "b[0,4)"},
		{name: "near-equal: no spread, the cheapest", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 4000), 10*ms), withRTT(srv("b", 0, 4, 8000), 12*ms)}},
			want: "a[0,4)"},
		{name: "not near-equal: the cheapest", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 4000), 10*ms), withRTT(srv("b", 0, 4, 8000), 14*ms)}},
			opt: RouteOptions{Spread: 0.2}, want: "a[0,4)"},
		{name: "wider spread", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 4000), 10*ms), withRTT(srv("b", 0, 4, 8000), 14*ms)}},
			opt: RouteOptions{Spread: 0.5}, want: "b[0,4)"},
		{name: "announced load counts", sw: Swarm{4, []Server{withLoad(withRTT(srv("a", 0, 4, 8000), 10*ms), 0.75), withRTT(srv("b", 0, 4, 8000), 11*ms)}},
			opt: RouteOptions{Spread: 0.2}, want: "b[0,4)"},
		{name: "sessions count", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 8000), 10*ms), withRTT(srv("b", 0, 4, 8000), 11*ms)}},
			opt: RouteOptions{Spread: 0.2, Sessions: map[string]int{"a": 1}}, want: "b[0,4)"},
		{name: "per span", sw: Swarm{4, []Server{withRTT(srv("a", 0, 2, 4000), 10*ms), withRTT(srv("b", 0, 2, 8000), 11*ms),
			withRTT(srv("c", 2, 4, 8000), 10*ms), withRTT(srv("d", 2, 4, 4000), 10*ms)}},
			opt: RouteOptions{Spread: 0.2}, want: "b[0,2) c[2,4)"},
		{name: "mesh", sw: Swarm{4, []Server{srv("a", 0, 4, 4000), srv("b", 0, 4, 8000)}},
			opt: RouteOptions{Spread: 0.2, HopCost: func(from, to string) time.Duration {
				if from == "a" || to == "a" {
					return 5 * ms
				}
				return 6 * ms
			}}, want: "b[0,4)"},
		{name: "custom compute", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 1), 10*ms), withRTT(srv("b", 0, 4, 1), 11*ms)}},
			opt: RouteOptions{Spread: 0.2, ComputeCost: func(s Server, n int) time.Duration {
				if s.ID == "a" {
					return time.Duration(n) * 250 * time.Microsecond
				}
				return time.Duration(n) * 100 * time.Microsecond
			}}, want: "b[0,4)"},
		{name: "spread capped", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 4000), ms), withRTT(srv("b", 0, 4, 8000), 100*time.Second)}},
			opt: RouteOptions{Spread: math.Inf(1)}, want: "a[0,4)"},
		{name: "NaN spread is none", sw: Swarm{4, []Server{withRTT(srv("a", 0, 4, 4000), 10*ms), withRTT(srv("b", 0, 4, 8000), 12*ms)}},
			opt: RouteOptions{Spread: math.NaN()}, want: "a[0,4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hops, err := Route(tt.sw, 0, tt.sw.Blocks, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			checkRoute(t, tt.sw, 0, tt.sw.Blocks, tt.opt, hops)
			if got := hopsString(hops); got != tt.want {
				t.Errorf("Route = %q, want %q", got, tt.want)
			}
			exact := tt.opt
			exact.Spread = 0
			best, err := Route(tt.sw, 0, tt.sw.Blocks, exact)
			if err != nil {
				t.Fatal(err)
			}
			bestCost, _ := RouteCost(tt.sw, best, exact)
			cost, _ := RouteCost(tt.sw, hops, exact)
			if s := tt.opt.Spread; s > 0 && float64(cost) > float64(bestCost)*(1+min(s, maxSpread)) {
				t.Errorf("%s costs %v, more than 1+%v times the cheapest %s (%v)", hopsString(hops), cost, s, hopsString(best), bestCost)
			}
		})
	}
}
