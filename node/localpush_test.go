package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/protocol"
)

// TestConsecutiveHopsOnOnePeer: routes in which one peer holds two or
// more consecutive hops (pinned: the planner gives a peer one hop, but a
// failover onto a peer that moved, as in TestRebalanceLiveSession, links
// its old span to its new one) generate exactly the reference tokens,
// with every push handed over: the peer passes its output to its own
// next session in process, so no push fails and the entry node relays
// nothing.
func TestConsecutiveHopsOnOnePeer(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	model := src.ID()
	c := cases[1]
	steps := c.Steps + 1 - len(c.PromptTokens)
	conf := func(cfg Config) Config {
		cfg.Encoding = protocol.EncodingF32
		cfg.RebalanceInterval = -1
		return cfg
	}
	// A is the entry node and serves every block, as do X and Y: any
	// route can be pinned.
	a := startNode(t, conf(testConfig(t)))
	serve(t, a, src, ServeOptions{Blocks: spanOf(0, 4), Entry: true})
	x := startNode(t, conf(testConfig(t, a)))
	serve(t, x, src, ServeOptions{Blocks: spanOf(0, 4)})
	y := startNode(t, conf(testConfig(t, a)))
	serve(t, y, src, ServeOptions{Blocks: spanOf(0, 4)})
	nodes := map[string]*Node{"A": a, "X": x, "Y": y}

	type hop struct {
		node       string
		start, end int
	}
	for _, tc := range []struct {
		name  string
		route []hop
	}{
		{"server twice", []hop{{"X", 0, 2}, {"X", 2, 4}}},
		{"entry twice", []hop{{"A", 0, 2}, {"A", 2, 4}}},
		{"server thrice", []hop{{"X", 0, 1}, {"X", 1, 2}, {"X", 2, 4}}},
		{"between other peers", []hop{{"Y", 0, 1}, {"X", 1, 2}, {"X", 2, 3}, {"Y", 3, 4}}},
		{"entry then server twice", []hop{{"A", 0, 1}, {"X", 1, 3}, {"X", 3, 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var route []RouteHop
			for _, h := range tc.route {
				route = append(route, RouteHop{Peer: nodes[h.node].ID(), Span: spanOf(h.start, h.end)})
			}
			before := map[string]protocol.PushStats{}
			for name, n := range nodes {
				before[name] = n.infer.PushStats()
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var got []int32
			st, err := a.generate(ctx, model, c.PromptTokens, steps, nil, func(tok int32) bool { return tok == 1 },
				func(tok int32) error {
					got = append(got, tok)
					return nil
				}, genOptions{route: route})
			if err != nil {
				t.Fatalf("generate: %v (stats %+v)", err, st)
			}
			if !slices.Equal(got, c.GeneratedTokens) {
				t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
			}
			if !slices.Equal(st.Route, route) || st.Failovers != 0 {
				t.Errorf("route %v after %d failovers, want %v and none", st.Route, st.Failovers, route)
			}
			if st.Relayed != 0 {
				t.Errorf("the entry node relayed %d of %d steps, want none", st.Relayed, st.Steps)
			}
			// Every step is pushed along every link of the route: in
			// process where both ends are on one peer, else over a stream.
			for name, n := range nodes {
				var local, remote uint64
				for i := 0; i+1 < len(tc.route); i++ {
					switch {
					case tc.route[i].node != name:
					case tc.route[i+1].node == name:
						local++
					default:
						remote++
					}
				}
				want := protocol.PushStats{Remote: remote * uint64(st.Steps), Local: local * uint64(st.Steps)}
				ps, b := n.infer.PushStats(), before[name]
				if d := (protocol.PushStats{Remote: ps.Remote - b.Remote, Local: ps.Local - b.Local, Failed: ps.Failed - b.Failed}); d != want {
					t.Errorf("%s pushed %+v over %d steps, want %+v", name, d, st.Steps, want)
				}
			}
			// The sessions (and their push streams) end with the generation.
			for name, n := range nodes {
				waitFor(t, name+"'s sessions to end", func() bool { return n.infer.Sessions() == 0 })
			}
		})
	}
}
