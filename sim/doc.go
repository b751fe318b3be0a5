// Package sim is Orbit's discrete-event simulator of a large swarm. It drives
// the real sharding package (ChooseSpan when a server joins, Rebalance under
// RebalanceTurn while it serves, Route for every client request) over
// simulated time, so placement and routing rules can be judged at a scale of
// thousands of peers that no test cluster reaches.
//
// # Model
//
// Time is simulated: events sit in a priority queue keyed by time and then by
// a sequence number, so two events at the same instant run in the order they
// were scheduled and a run is a pure function of its Config (same seed, same
// report). Nothing reads the wall clock and nothing runs concurrently.
//
//   - Peers. Each server belongs to a hardware class (laptop, desktop,
//     server by default) that sets its speed relative to the reference node
//     of the cost model, with a log-normal spread, and its memory budget,
//     which bounds how many blocks it can hold. A server's raw speed R is the
//     tokens per second it pushes through one block; serving k blocks, it
//     gives each of them R/k, and it announces that figure as its
//     Throughput, as Petals does, so sharding's per-block sums are the
//     swarm's real per-block capacity.
//   - Churn. Joins and leaves are Poisson processes with swarm-wide rates; a
//     leaving peer is drawn uniformly from the live ones and crashes with
//     probability CrashFraction, otherwise it leaves gracefully. A graceful
//     leaver vanishes from every view at once; a crashed one stays in the
//     views (a stale DHT record) for CrashTTL, and clients that pick it pay
//     FailureTimeout before they re-plan without it.
//   - Placement. A joining server takes sharding.ChooseSpan over the current
//     view, loads its blocks (BlockLoadSeconds each) and then serves. Every
//     RebalancePeriod starts an epoch; the one server whose RebalanceTurn it
//     is runs sharding.Rebalance after a random jitter and, if told to move,
//     drops its span, loads the blocks it lacks and serves the new span.
//   - Network. Peers and clients live in regions with an RTT matrix; each
//     also has a last-mile delay, and every pair gets a fixed jitter derived
//     from the seed. In the default star topology (Petals' client) every hop
//     goes from the client to a server and back: it costs the pair's RTT
//     plus HopOverheadMillis. In the mesh topology (the design's data flow)
//     servers push to the next one: each leg costs half the pair's RTT, and
//     hops add HopOverheadMillis.
//   - Clients. Requests arrive as a Poisson process, each from a region and
//     for a number of new tokens. A request asks sharding.Route once for a
//     chain of servers and keeps it; if a server on it leaves, moves or turns
//     out to be dead, the request re-plans that segment (then, failing that,
//     the whole chain) and replays its tokens so far through the new servers.
//     A client plans on what DHT lookups of the blocks' keys would give it:
//     up to ClientViewPerBlock providers of each block, drawn at random
//     (Kademlia's k = 20 by default; 0 gives it the whole view). This also
//     keeps the cost of Route independent of the swarm's size. Route costs
//     compute with sharding's default model over the server's raw speed and
//     announced load, and the network by the topology.
//   - Cost and queueing. One token through one block takes
//     BlockMillisPerToken / speed on a server. A request's per-token latency
//     is the sum over hops of blocks x that time x max(1, utilization) plus
//     the network cost of the topology. Utilization is demand / capacity, where
//     demand is the block-tokens per second of the requests routed through
//     the server and capacity its raw speed; demand beyond capacity queues,
//     which stretches every token by the overload factor. A request's rate is
//     fixed when it is planned (a fluid approximation), and so is its latency.
//
// # Report
//
// The swarm's throughput is the minimum over blocks of the summed capacity of
// the servers that serve the block, measured against the upper bound of the
// same total capacity spread evenly over all blocks. The report also holds
// the tokens actually served, coverage gaps (fraction of time with any block
// unserved and the number of such episodes), rebalancing checks and moves,
// per-token route latency percentiles, and a time series sampled every
// SampleEvery. It is written as JSON (WriteJSON), a human summary
// (WriteSummary) and optionally CSV (WriteCSV).
package sim
