// Package sharding holds Orbit's pure placement and routing decisions for a
// model split by transformer blocks across volunteer servers: which span of
// blocks a joining server takes (ChooseSpan), whether a serving server should
// move (Rebalance, RebalanceTurn), and which chain of servers a client sends
// its activations through (Route).
//
// Every function is a pure function of its arguments, in the style of etcd
// raft's state machine: a view of the swarm goes in, a decision comes out.
// The package does no I/O, starts no goroutines, reads no clock and holds no
// state between calls; durations such as round-trip times arrive as values.
// Equal inputs give equal outputs, and ties are broken by explicit rules
// (lowest block index, fewest hops, lowest server ID) rather than by map or
// slice order.
//
// The placement rule follows Petals (Borzunov et al., "Distributed Inference
// and Fine-tuning of Large Language Models Over The Internet", 2023): a server
// joins where the swarm's per-block throughput is weakest, and a server moves
// only when doing so raises the swarm's bottleneck throughput by a clear
// margin. Routing is a shortest path over block boundaries with network and
// compute costs, as in Petals' client.
package sharding

import (
	"time"
)

// clip returns s intersected with [0, blocks).
func (s Span) clip(blocks int) Span {
	c := Span{max(s.Start, 0), min(s.End, blocks)}
	if c.End < c.Start {
		c.End = c.Start
	}
	return c
}

// Server is one server's announcement as seen by a planner.
type Server struct {
	ID         string        // peer ID (opaque)
	Span       Span          // blocks it serves
	Throughput float64       // tokens/s it pushes through one block (measured speed per block)
	Load       float64       // 0..1 current utilization (0 idle)
	FreeCache  int           // KV-cache positions it can still accept; <=0 means full
	RTT        time.Duration // round trip from the planning client to this server (0 unknown)
}

// Swarm is a view of one model's servers. Blocks is the model's block count;
// server spans are clipped to [0, Blocks).
type Swarm struct {
	Blocks  int
	Servers []Server
}
