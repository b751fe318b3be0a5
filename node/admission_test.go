package node

import (
	"testing"

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
