package node

import (
	"testing"
	"time"

	"github.com/orbitswarm/orbit/protocol"
)

// TestOverclaimRoutedByMeasure: a server that announces ten thousand
// times the throughput it has (its steps take 5 ms a block) is routed
// while the entry node has only its word; once generations have measured
// it and its honest replica, the entry routes it by its measured speed
// and takes the honest replica.
func TestOverclaimRoutedByMeasure(t *testing.T) {
	src := fileSource(t, aidreamsPath)
	honest := startNode(t, testConfig(t))
	serve(t, honest, src, ServeOptions{Blocks: spanOf(0, 4)})
	cfg := testConfig(t, honest)
	cfg.ComputeCost = ComputeCost{Block: 5 * time.Millisecond}
	slow := startNode(t, cfg)
	serve(t, slow, src, ServeOptions{Blocks: spanOf(0, 4)})
	protocol.ServeInfo(slow.host, func() protocol.Info {
		in := slow.info()
		for i := range in.Models {
			in.Models[i].Throughput *= 1e4
		}
		return in
	}, nil)
	// The honest server claims a hundredth of its speed, so that claims
	// alone route the over-claimer whatever the round trips.
	protocol.ServeInfo(honest.host, func() protocol.Info {
		in := honest.info()
		for i := range in.Models {
			in.Models[i].Throughput /= 100
		}
		return in
	}, nil)
	entry := startNode(t, testConfig(t, honest))
	serve(t, entry, src, ServeOptions{NoBlocks: true, Entry: true})
	waitView(t, entry, src.ID(), 2)

	route := func() []RouteHop {
		r, err := entry.PlanRoute(t.Context(), src.ID())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// A first generation measures the honest server (pinned there).
	if _, err := entry.generate(t.Context(), src.ID(), []int32{1, 2, 3}, 8, nil, nil, func(int32) error { return nil },
		genOptions{route: []RouteHop{{Peer: honest.ID(), Span: spanOf(0, 4)}}}); err != nil {
		t.Fatal(err)
	}
	if r := route(); len(r) != 1 || r[0].Peer != slow.ID() {
		t.Fatalf("before it is measured the route is %+v, want the over-claimer %s on its word", r, slow.ID())
	}
	_, st := generate(t, entry, src.ID(), []int32{1, 2, 3}, 8)
	if len(st.Route) != 1 || st.Route[0].Peer != slow.ID() {
		t.Fatalf("first generation routed %+v", st.Route)
	}
	v, ok := entry.speeds.measured(slow.ID())
	if !ok {
		t.Fatal("no speed measured")
	}
	t.Logf("announced %.0f tokens/s a block, measured %.0f", slow.info().Models[0].Throughput*1e4, v)
	if r := route(); len(r) != 1 || r[0].Peer != honest.ID() {
		t.Fatalf("after measuring the route is %+v, want the honest %s", r, honest.ID())
	}
	_, st = generate(t, entry, src.ID(), []int32{1, 2, 3}, 8)
	if len(st.Route) != 1 || st.Route[0].Peer != honest.ID() {
		t.Fatalf("second generation routed %+v, want the honest server", st.Route)
	}
}
