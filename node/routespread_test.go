package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// TestRouteSpread: N generations at once through a loopback swarm of two
// replicas per span (aidreams260K's blocks [0,2) and [2,4) on two servers
// each) use every replica, in proportion to the throughput each
// announces. The entry's view is the swarm's, with the throughputs and
// round trips set (measured on a busy test machine they differ several
// times over between equal servers). Each generation waits at its first
// token until all have one, so all hold their sessions together; then
// their routes are counted, and the node's session counts, back to zero
// once they end.
func TestRouteSpread(t *testing.T) {
	src := fileSource(t, aidreamsPath)
	entry, servers := swarm(t, src, protocol.EncodingF16, spanOf(0, 2), spanOf(0, 2), spanOf(2, 4), spanOf(2, 4))
	waitView(t, entry, src.ID(), len(servers))
	seen, err := entry.SwarmView(context.Background(), src.ID(), false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	prompt := []int32{1, 45, 49, 173, 17, 43}
	for _, tc := range []struct {
		name   string
		mode   sharding.Mode
		spread float64
		tput   [4]float64 // of servers[i]
		rtt    [4]time.Duration
		want   [4]int // generations through servers[i], ±1
	}{
		{name: "latency", spread: DefaultRouteSpread, tput: [4]float64{20000, 20000, 20000, 20000}, rtt: [4]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond},
			want: [4]int{6, 6, 6, 6}},
		{name: "throughput", mode: sharding.MaxThroughput, spread: DefaultRouteSpread, tput: [4]float64{20000, 20000, 20000, 20000}, rtt: [4]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond},
			want: [4]int{6, 6, 6, 6}},
		{name: "capacity 2:1", spread: DefaultRouteSpread, tput: [4]float64{20000, 10000, 10000, 20000}, rtt: [4]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond},
			want: [4]int{8, 4, 4, 8}},
		{name: "noisy round trips", spread: DefaultRouteSpread, tput: [4]float64{20000, 20000, 20000, 20000}, rtt: [4]time.Duration{500 * time.Microsecond, 3 * time.Millisecond, 6 * time.Millisecond, 2 * time.Millisecond},
			want: [4]int{6, 6, 6, 6}},
		{name: "sessions only", spread: -1, tput: [4]float64{20000, 20000, 20000, 20000}, rtt: [4]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond},
			want: [4]int{6, 6, 6, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry.cfg.RouteMode, entry.cfg.RouteSpread = tc.mode, max(tc.spread, 0)
			view := &View{Model: src.ID(), Peers: seen.Peers, At: time.Now().Add(time.Hour), // stays fresh for the test
				Swarm: sharding.Swarm{Blocks: seen.Swarm.Blocks}}
			for i, srv := range servers {
				view.Swarm.Servers = append(view.Swarm.Servers, sharding.Server{ID: srv.ID().String(), Span: srv.Models()[0].Span,
					Throughput: tc.tput[i], RTT: tc.rtt[i], FreeCache: 1 << 20})
			}
			entry.swarmComponent.mu.Lock()
			entry.views[src.ID()] = view
			entry.swarmComponent.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var (
				wg, first sync.WaitGroup
				all       = make(chan struct{})
				mu        sync.Mutex
				uses      = map[peer.ID]int{}
			)
			first.Add(n)
			go func() { first.Wait(); close(all) }()
			for i := range n {
				wg.Go(func() {
					arrived := false
					st, err := entry.Generate(ctx, src.ID(), prompt, 4, nil, nil, func(int32) error {
						if !arrived {
							arrived = true
							first.Done()
							select {
							case <-all:
							case <-ctx.Done():
								return ctx.Err()
							}
						}
						return nil
					})
					if !arrived {
						first.Done()
					}
					if err != nil {
						t.Errorf("generation %d: %v", i, err)
						return
					}
					mu.Lock()
					for _, h := range st.Route {
						uses[h.Peer]++
					}
					mu.Unlock()
				})
			}
			wg.Wait()
			for i, s := range servers {
				t.Logf("server %d %s %v: %d of %d generations", i, shortID(s.ID()), s.Models()[0].Span, uses[s.ID()], n)
				if got := uses[s.ID()]; got < tc.want[i]-1 || got > tc.want[i]+1 {
					t.Errorf("server %d (%s) took %d of %d concurrent generations, want %d±1", i, shortID(s.ID()), got, n, tc.want[i])
				}
			}
			for _, s := range servers {
				if k := entry.routes.held(s.ID()); k != 0 {
					t.Errorf("the entry still counts %d sessions on %s after the generations ended", k, shortID(s.ID()))
				}
			}
		})
	}
}
