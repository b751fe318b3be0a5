// Package node composes an Orbit node: a libp2p host (TCP and QUIC, Noise
// and TLS, yamux, a resource manager, optional private network and
// allow-list), a Kademlia DHT under the "/orbit" prefix for discovery, the
// inference and info protocols of package protocol, the engine running the
// node's span of blocks with continuous batching, and the entry-node side
// of generation (route planning, pipelined steps, failover with replay).
//
// A server announces each block it serves as a DHT provider record under
// BlockKey(model, block) and describes itself on /orbit/info/1.0.0. An entry
// node (one that loaded a model's embedding and head) gathers the swarm view
// from the DHT and those info answers, plans a route with sharding.Route,
// opens a session on every hop (each hop pushes its output straight to the
// next and also returns it to the entry node), and samples tokens locally:
// sampling never leaves the entry node. A hop whose next hop is on the same
// peer (after a failover onto a peer that moved spans, its old span pushes
// to its new one) hands its output over in process; a push that fails is
// relayed by the entry node (Stats.Relayed). The entry node keeps every hop's
// inputs, so when a hop fails it re-plans that segment without the failed
// server and replays the inputs there; since the engine and the hidden-state
// encodings are deterministic, the output is the same as without the
// failure.
//
// A Node composes its parts, each with its own configuration (split out of
// the flat Config by Config.Swarm, Config.Serve and Config.Entry):
//
//   - the swarm component (swarm.go): host, DHT, mDNS, the cached views of
//     models' servers and the peers avoided after they failed a hop;
//   - the serving component (serve.go, compute.go, budget.go): the served
//     spans, their schedulers with continuous batching, the KV-cache budget
//     and the inference server;
//   - the entry side (entry.go, routeload.go): a driver that does the
//     streams of a generation for its pure core, package node/entry, which
//     decides the route, the steps, failovers and replays; the driver
//     tells the core the sessions the node's generations hold on each
//     server, so that concurrent generations spread over replicas;
//
// and the node's own work across them: announcing spans, rebalancing,
// weight transfers and the store. Time is read through Config.Clock.
//
// Weights come from a ModelSource; today a local GGUF file (FileSource)
// whose model ID is the CID of its bytes (ModelIDFromFile).
package node
