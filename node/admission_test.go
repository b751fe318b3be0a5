package node

import (
	"testing"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// TestAdmissionLimit: the limit grows with the route's depth and stops
// where the KV caches of the scarcest block (replicas summed) are full.
func TestAdmissionLimit(t *testing.T) {
	srv := func(a, b, free int) sharding.Server {
		return sharding.Server{ID: "s", Span: sharding.Span{Start: a, End: b}, FreeCache: free}
	}
	roomy := 1 << 20
	for _, tc := range []struct {
		name            string
		depth           int
		servers         []sharding.Server
		maxLen, running int
		want            int
	}{
		{"one hop", 1, []sharding.Server{srv(0, 4, roomy)}, 128, 0, AdmissionPerHop},
		{"four hops", 4, []sharding.Server{srv(0, 1, roomy), srv(1, 2, roomy), srv(2, 3, roomy), srv(3, 4, roomy)}, 128, 0, 4 * AdmissionPerHop},
		{"no servers", 0, nil, 128, 0, 1},
		{"a small cache", 2, []sharding.Server{srv(0, 2, roomy), srv(2, 4, 5*128)}, 128, 0, 5},
		{"running sessions hold theirs", 2, []sharding.Server{srv(0, 2, roomy), srv(2, 4, 3*128)}, 128, 2, 5},
		{"replicas add up", 2, []sharding.Server{srv(0, 2, roomy), srv(2, 4, 3*128), srv(2, 4, 2*128+100)}, 128, 0, 5},
		{"full swarm still admits one", 2, []sharding.Server{srv(0, 2, 0), srv(2, 4, 0)}, 128, 0, 1},
		{"unknown length", 2, []sharding.Server{srv(0, 4, 10)}, 0, 0, 2 * AdmissionPerHop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := sharding.Swarm{Blocks: 4, Servers: tc.servers}
			if got := admissionLimit(tc.depth, sw, tc.maxLen, tc.running); got != tc.want {
				t.Fatalf("admissionLimit = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestSessionsFit: with the model's configuration, a server's free
// sessions are its free bytes over a session's bytes on its span (a
// sliding-window block's cache is bounded), else its free positions over
// the length.
func TestSessionsFit(t *testing.T) {
	swa := engine.Config{Layers: 6, KVHeads: 2, HeadDim: 64, SlidingWindow: 100, SlidingPattern: 6}
	dense := engine.Config{Layers: 6, KVHeads: 2, HeadDim: 64}
	span := sharding.Span{Start: 0, End: 6}
	per := int64(2*64) * 8
	long := 4096
	swaSession := swa.SessionBytes(span, long) // one global block of 4096, five rings
	if want := (int64(long) + 5*int64(100+engine.RewindSlack)) * per; swaSession != want {
		t.Fatalf("SessionBytes = %d, want %d", swaSession, want)
	}
	for _, tc := range []struct {
		name string
		cfg  engine.Config
		free int64
		want int
	}{
		{"dense", dense, 10 * 6 * int64(long) * per, 10},
		{"sliding window", swa, 10 * 6 * int64(long) * per, int(10 * 6 * int64(long) * per / swaSession)},
		{"full", swa, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := protocol.ModelInfo{Span: span, FreeCacheBytes: tc.free, FreeCacheTokens: tc.cfg.SessionPositions(span, tc.free)}
			s := sharding.Server{ID: "s", Span: span, FreeCache: in.FreeCacheTokens}
			if got := sessionsFit(tc.cfg, in, s, long); got != tc.want {
				t.Fatalf("sessionsFit = %d, want %d", got, tc.want)
			}
			// Without the bytes: the positions of one session, divided.
			in.FreeCacheBytes = 0
			if got, want := sessionsFit(tc.cfg, in, s, long), s.FreeCache/long; got != want {
				t.Fatalf("sessionsFit without bytes = %d, want %d", got, want)
			}
		})
	}
}
