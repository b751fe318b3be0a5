package node

import (
	"context"
	"errors"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
	"slices"
	"testing"
	"time"
)

// pinThroughput makes n report throughput for model, so that rebalancing
// decisions do not depend on measured (noisy) speeds.
func pinThroughput(n *Node, model string, throughput float64) {
	n.serveComponent.mu.Lock()
	n.models[model].throughput = throughput
	n.serveComponent.mu.Unlock()
}

// turnOf is the first epoch from 0 in which self holds the rebalancing
// turn among ids.
func turnOf(t testing.TB, ids []string, self string) int64 {
	t.Helper()
	for epoch := range int64(len(ids)) {
		if sharding.RebalanceTurn(ids, self, epoch) {
			return epoch
		}
	}
	t.Fatalf("%s never holds the turn among %v", self, ids)
	return 0
}

// waitFor polls cond until it holds, failing the test when ctx ends first.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// awaitProvider waits until from finds p among the DHT providers of
// block i of model.
func awaitProvider(t testing.TB, from, p *Node, model string, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
		for ai := range from.dht.FindProvidersAsync(lctx, BlockKey(model, i), 20) {
			if ai.ID == p.ID() {
				lcancel()
				return
			}
		}
		lcancel()
	}
	t.Fatalf("%s is not a provider of block %d", p.ID(), i)
}

// TestRebalanceLiveSession: a generation runs through server X, which
// serves [0,2) with W; Y serves [2,4). Paused after a few tokens (inside
// emit, no sleeps), X rebalances to [2,4). The old span keeps serving the
// running session while new sessions go to the new span, and the
// generation ends with exactly the reference tokens:
//
//   - "gap": Y leaves, which opens a gap that X closes. The generation
//     fails over Y's hop onto X's new span (X now runs the same
//     generation on both spans: the old session and the replayed one).
//   - "gain": the swarm is covered but [2,4) is its bottleneck
//     (throughputs pinned by the test); X moves there because that
//     raises the bottleneck, and the generation goes on through X's old
//     span without any failover.
//
// In "gap", X's old span then pushes to its new one in process: at most
// the step that finds Y gone is relayed by the entry node (X's push to Y
// fails if Y's reset reached X first), none after the failover.
//
// Afterwards the old span is released and X is a DHT provider of its new
// blocks. In "gain", A's cached view still shows X on [0,2): the next
// generation is refused there, re-plans and succeeds, and must not hold
// X for a failed peer. Then (Y gone in both cases, so X alone serves
// [2,4)) a new generation routes through X's new span.
func TestRebalanceLiveSession(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	model := src.ID()
	c := cases[1]
	steps := c.Steps + 1 - len(c.PromptTokens)
	for _, tc := range []struct {
		name      string
		gap       bool // Y leaves before the move (else: throughputs make the move pay)
		threshold float64
		failovers int
		relayed   int // at most
	}{
		{"gap", true, 10, 1, 1},
		{"gain", false, 0.5, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := func(cfg Config) Config {
				cfg.RebalanceInterval = -1 // steps are driven by the test
				cfg.RebalanceThreshold = tc.threshold
				cfg.Encoding = protocol.EncodingF32
				cfg.ViewTTL = time.Hour // views go stale only when the test says
				return cfg
			}
			p := startNode(t, conf(testConfig(t)))
			serve(t, p, src, ServeOptions{Blocks: spanOf(0, 2)})
			q := startNode(t, conf(testConfig(t, p)))
			serve(t, q, src, ServeOptions{Blocks: spanOf(0, 2)})
			y := startNode(t, conf(testConfig(t, p)))
			serve(t, y, src, ServeOptions{Blocks: spanOf(2, 4)})
			a := startNode(t, conf(testConfig(t, p)))
			serve(t, a, src, ServeOptions{NoBlocks: true, Entry: true})
			if !tc.gap {
				// [0,2) has 200 tokens/s, [2,4) 1: moving one of P and Q
				// to [2,4) raises the bottleneck from 1 to 100.
				pinThroughput(p, model, 100)
				pinThroughput(q, model, 100)
				pinThroughput(y, model, 1)
			}
			// Every node sees the whole swarm, so that they agree on
			// whose turn an epoch is.
			for _, n := range []*Node{a, p, q, y} {
				waitView(t, n, model, 3)
			}

			paused, resume := make(chan struct{}), make(chan struct{})
			type result struct {
				toks []int32
				st   Stats
				err  error
			}
			done := make(chan result, 1)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			go func() {
				var got []int32
				st, err := a.Generate(ctx, model, c.PromptTokens, steps, nil,
					func(tok int32) bool { return tok == 1 }, func(tok int32) error {
						if got = append(got, tok); len(got) == 5 {
							close(paused)
							select {
							case <-resume:
							case <-ctx.Done():
								return ctx.Err()
							}
						}
						return nil
					})
				done <- result{got, st, err}
			}()
			select {
			case <-paused:
			case r := <-done:
				t.Fatalf("generation ended before the pause: %v %v", r.toks, r.err)
			}
			resumed := false
			defer func() {
				if !resumed {
					close(resume)
				}
			}()

			// X is whichever of P and Q the route went through.
			x, w := p, q
			if q.infer.Sessions() > 0 {
				x, w = q, p
			}
			if x.infer.Sessions() != 1 || w.infer.Sessions() != 0 || y.infer.Sessions() != 1 {
				t.Fatalf("sessions: X %d, W %d, Y %d; want 1, 0, 1", x.infer.Sessions(), w.infer.Sessions(), y.infer.Sessions())
			}
			old := x.servedModel(model)

			ids := []string{p.ID().String(), q.ID().String(), y.ID().String()}
			if tc.gap {
				if err := y.Close(); err != nil {
					t.Fatal(err)
				}
				ids = ids[:2]
			}
			epoch := turnOf(t, ids, x.ID().String())
			if _, moved, err := w.Rebalance(ctx, model, epoch); err != nil || moved {
				t.Fatalf("W moved out of turn (%v)", err)
			}
			sp, moved, err := x.Rebalance(ctx, model, epoch)
			if err != nil || !moved || sp != spanOf(2, 4) {
				t.Fatalf("X: span %v, moved %v, err %v; want a move to [2,4)", sp, moved, err)
			}

			// X serves and reports the new span only...
			if ms := x.Models(); len(ms) != 1 || ms[0].Span != spanOf(2, 4) {
				t.Fatalf("X serves %+v", ms)
			}
			if in := x.info(); len(in.Models) != 1 || in.Models[0].Span != spanOf(2, 4) {
				t.Fatalf("X reports %+v", in.Models)
			}
			// ...new sessions go to the new span...
			for _, s := range []struct {
				span sharding.Span
				ok   bool
			}{{spanOf(0, 2), false}, {spanOf(2, 4), true}} {
				cs, err := (backend{x}).OpenSession(ctx, model, s.span, 8)
				if s.ok != (err == nil) || (!s.ok && !errors.Is(err, protocol.ErrUnknownModel)) {
					t.Errorf("new session on %v of a moved node: %v", s.span, err)
				}
				if cs != nil {
					cs.Close()
				}
			}
			// ...while the running session keeps the old one.
			if n := old.busy(); n != 1 {
				t.Fatalf("old span has %d sessions, want the running one", n)
			}
			if old.sched.ctx.Err() != nil {
				t.Fatal("old span closed under a running session")
			}

			close(resume)
			resumed = true
			r := <-done
			if r.err != nil {
				t.Fatalf("generation across the move: %v (stats %+v)", r.err, r.st)
			}
			if !slices.Equal(r.toks, c.GeneratedTokens) {
				t.Fatalf("across the move: got %v\nwant %v", r.toks, c.GeneratedTokens)
			}
			if r.st.Failovers != tc.failovers {
				t.Errorf("%d failovers, want %d", r.st.Failovers, tc.failovers)
			}
			ps := x.infer.PushStats()
			if r.st.Relayed > tc.relayed || ps.Failed > uint64(tc.relayed) {
				t.Errorf("%d of %d steps relayed, %d of X's pushes failed; want at most %d", r.st.Relayed, r.st.Steps, ps.Failed, tc.relayed)
			}
			if tc.gap && ps.Local == 0 {
				t.Errorf("X's old span never pushed to its new one in process: %+v", ps)
			}
			if len(r.st.Route) != 2 || r.st.Route[0] != (RouteHop{x.ID(), spanOf(0, 2)}) {
				t.Errorf("route %v, want X's old span first", r.st.Route)
			}
			if tc.gap && r.st.Route[1] != (RouteHop{x.ID(), spanOf(2, 4)}) {
				t.Errorf("route %v, want Y's hop replaced by X's new span", r.st.Route)
			}

			// Once the session ends, the old span is released.
			waitFor(t, "the old span to be released", func() bool { return old.sched.ctx.Err() != nil })
			waitFor(t, "X's sessions to end", func() bool { return x.infer.Sessions() == 0 })

			// X announces its new blocks.
			awaitProvider(t, a, x, model, 2)
			awaitProvider(t, a, x, model, 3)

			if !tc.gap {
				// A's view still shows X on [0,2) (its TTL is an hour), so
				// its route tries X there first and is refused: a stale
				// view, not a failed peer.
				got, _ := generate(t, a, model, c.PromptTokens, steps)
				if !slices.Equal(got, c.GeneratedTokens) {
					t.Fatalf("stale view: got %v\nwant %v", got, c.GeneratedTokens)
				}
				if a.isFailed(x.ID()) {
					t.Fatal("A holds X, refused for a span it moved off, for a failed peer")
				}
				// Y leaves: X alone serves [2,4).
				if err := y.Close(); err != nil {
					t.Fatal(err)
				}
			}
			got, st := generate(t, a, model, c.PromptTokens, steps)
			if !slices.Equal(got, c.GeneratedTokens) {
				t.Fatalf("after the move: got %v\nwant %v", got, c.GeneratedTokens)
			}
			if want := []RouteHop{{w.ID(), spanOf(0, 2)}, {x.ID(), spanOf(2, 4)}}; !slices.Equal(st.Route, want) {
				t.Errorf("after the move: route %v, want %v", st.Route, want)
			}
		})
	}
}
