// Package bench runs a whole Orbit swarm under an emulated network and
// measures it: `orbit bench SCENARIO.yaml`.
//
// A Scenario (YAML, see Parse) names the model, the nodes (region, span,
// KV-cache budget, compute slow-down), the links between regions (one-way
// latency or RTT, bandwidth, jitter, loss), the workload (clients, prompt
// and output lengths, closed loop or Poisson arrivals, duration) and timed
// events (kill or add a node, cut the links between two regions). Run
// starts the nodes in this process, drives the workload through the entry
// nodes' Generate, applies the events, and returns Results, which Write
// stores as results.json, CSV tables and PNG plots.
//
// # Network emulation
//
// Every inference stream (protocol.InferID) is shaped at the node that
// accepts it, in both directions, by a delay line per directed link: a
// chunk written at time t is delivered at
//
//	max(previous delivery, t' + size/bandwidth + latency + jitter [+ stall])
//
// where t' is when the link finishes sending what was queued before it
// (bandwidth is shared by all streams of a directed pair), jitter is
// uniform in [0, jitter] and, with probability loss, a chunk suffers a
// retransmission stall of 200ms + RTT (TCP's minimum RTO plus the repair
// round trip). Order within a stream is kept. Control traffic (DHT, info)
// is not shaped. The entry node's own hop (an in-process pipe) is not
// shaped either: it does not cross the network.
//
// A route of H server hops crosses the network H+1 times per decoded
// token (entry -> s1 -> ... -> sH -> entry; each server pushes to the next
// and the last result returns to the entry), so a one-way latency L on
// every link adds (H+1)·L to the per-token latency. Results report
// "per traversal" numbers in that sense.
//
// # Measurements
//
// Per request, from the entry side: time to first token (from the
// scheduled arrival, so client-side queueing in open-loop runs counts),
// decode tokens/s, and the mean gap between tokens. Per hop the node
// exposes no timings, so the breakdown is: network = the delay the shaper
// actually injected on that link (measured), compute = the hop's blocks
// divided by the throughput the node measured at start, times its
// slow-down; queue = what remains of the per-token latency, reported for
// the route as a whole.
//
// The swarm runs in one process over loopback TCP (mode "mocknet"); see
// the package README note in Run about libp2p mocknet.
package bench
