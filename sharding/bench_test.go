package sharding

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchSwarm is a realistic swarm for an 80-block model: spans of 4 to 32
// blocks, throughputs 1 to 100 tokens/s, loads 0 to 0.9, RTTs 1 to 200ms.
func benchSwarm(servers int) Swarm {
	r := rand.New(rand.NewPCG(uint64(servers), 42))
	const blocks = 80
	sw := Swarm{Blocks: blocks, Servers: make([]Server, servers)}
	for i := range sw.Servers {
		n := 4 + r.IntN(29)
		start := r.IntN(blocks - n + 1)
		sw.Servers[i] = Server{
			ID:         fmt.Sprintf("peer-%06d", i),
			Span:       Span{start, start + n},
			Throughput: 1 + 99*r.Float64(),
			Load:       0.9 * r.Float64(),
			FreeCache:  r.IntN(4096),
			RTT:        time.Duration(1+r.IntN(200)) * time.Millisecond,
		}
	}
	return sw
}

var benchSizes = []int{100, 1000, 10000}

func BenchmarkRoute(b *testing.B) {
	for _, n := range benchSizes {
		sw := benchSwarm(n)
		for _, mode := range []Mode{MinLatency, MaxThroughput} {
			b.Run(fmt.Sprintf("servers=%d/mode=%v", n, mode), func(b *testing.B) {
				opt := RouteOptions{Mode: mode}
				for b.Loop() {
					if _, err := Route(sw, 0, sw.Blocks, opt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRouteCustomCompute measures the general (O(sum of span length
// squared)) path taken with a custom ComputeCost.
func BenchmarkRouteCustomCompute(b *testing.B) {
	cc := func(s Server, n int) time.Duration {
		return 5*time.Millisecond + time.Duration(float64(n)*float64(time.Second)/s.Throughput)
	}
	for _, n := range benchSizes {
		sw := benchSwarm(n)
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Route(sw, 0, sw.Blocks, RouteOptions{ComputeCost: cc}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRouteMesh measures the custom HopCost path, which is quadratic in
// the servers meeting at a boundary; it is meant for small candidate sets.
func BenchmarkRouteMesh(b *testing.B) {
	for _, n := range []int{100, 1000} {
		sw := benchSwarm(n)
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Route(sw, 0, sw.Blocks, RouteOptions{HopCost: linkCost}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkChooseSpan(b *testing.B) {
	for _, n := range benchSizes {
		sw := benchSwarm(n)
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			for b.Loop() {
				ChooseSpan(sw, 24, 50)
			}
		})
	}
}

func BenchmarkRebalance(b *testing.B) {
	for _, n := range benchSizes {
		sw := benchSwarm(n)
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				Rebalance(sw, sw.Servers[i%n].ID, 0.2)
				i++
			}
		})
	}
}
