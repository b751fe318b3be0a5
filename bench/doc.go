// Package bench runs a whole Orbit swarm under an emulated network and
// measures it: `orbit bench SCENARIO.yaml`.
//
// A Scenario (YAML, see Parse) names the model (a GGUF file, a synthetic
// shape, or a model of the weight store in Options.DataDir by root CID or
// name, exported to a file first), the nodes (region, span, memory budget
// of an auto span, KV-cache budget, compute slow-down), the links between
// regions (one-way latency or RTT, bandwidth, jitter, loss), the workload
// (clients, prompt and output lengths, closed loop or Poisson arrivals,
// duration), the entry nodes' routing (latency or throughput) and timed
// events (kill or add a node, cut the links between two regions). Options.Duration overrides the workload's duration:
// Poisson arrivals are the same sequence, cut (or extended) where it ends.
// Run starts the nodes in this process, drives the workload through the
// entry nodes' Generate, applies the events, and returns Results, which
// Write stores as results.json, CSV tables and PNG plots.
//
// # Concurrency sweeps
//
// A closed-loop workload with concurrency: [1, 2, 4, 8, 16] runs once per
// entry on the same swarm, each step for the workload's duration, and the
// results add a SweepPoint per step: the aggregate tokens/s of its
// measured window (after its warm-up), its speed-up over one stream, one
// stream's per-token and first-token latency, and per server its busy
// fraction (the share of the step its engine computed), engine calls and
// rows and sessions per call (node.ComputeStats; in processes mode read
// from each process's /metrics, orbit bench node --metrics-addr). Write
// adds sweep.csv, sweep_throughput.png and sweep_latency.png. A group's
// compute_cost emulates a bigger model's step time (node.ComputeCost: an
// engine call over b blocks and r rows takes at least b*(block+r*row), the
// node sleeping out the rest), so a sweep of a 4-stage pipeline runs on a
// small machine; threads sets its kernel threads. See
// bench/scenarios/concurrency.yaml.
//
// # Speculative decoding
//
// speculate: auto or ngram (or draft, with draft_layers: N, the entry
// nodes then drafting with the served model's first N blocks and its
// head) turns on the entry nodes' speculative decoding. Run then runs the
// workload a second time without it on a fresh swarm of the scenario, and
// Results.Speculation holds that run's summary and the speed-ups of the
// per-stream decode rate and of the swarm's throughput; the summary and
// each request count the decode's pipeline passes and the drafts checked
// and kept. workload.prompts gives text prompts (tokenized with the
// model's tokenizer) so that a trained model drafts on real text. See
// bench/scenarios/leo-satellite-speculate.yaml.
//
// # Liars and verification
//
// A group may lie (liar: echo, noise or random, from position lie_from of
// every session: node.Config.Lie), and workload.verify_rates runs the
// workload once per verify rate, each on a fresh mocknet swarm, requests
// one after another from the first entry node; the results add a
// VerifyPoint per rate (tokens/s, the share of time spent checking, rows
// recomputed, how many positions after its first lie a liar was caught
// and the tokens its lies cost) and Write adds verify.csv. See
// bench/scenarios/liars.yaml and verify-overhead.yaml.
//
// # Modes
//
// Mode "mocknet" (the default) runs every node in this process on a
// libp2p mocknet (github.com/libp2p/go-libp2p/p2p/net/mock): each node
// gets a mocknet host (node.Config.Host) whose key derives from the seed
// and the node's name, and every pair of nodes a mocknet link with the
// latency and bandwidth of their regions' link. So the emulated network
// carries ALL traffic, DHT, info, ping and inference, and route choice
// sees the emulated round trips. Mode "processes" runs each node as an
// `orbit run` OS process on loopback and drives the workload through the
// entry node's OpenAI API (POST /v1/completions, streamed) or, when the
// binary has no --api, through `orbit run --prompt` invocations; each
// process emulates its own links (see below).
//
// # Network emulation (mocknet)
//
// A mocknet link delays every write by its one-way latency and meters it
// through a token bucket of the link's bandwidth (shared by both
// directions, with a burst of one second's worth of bytes: libp2p's
// RateLimiter). What mocknet lacks the shaper adds, on the write side of
// every stream a node opens or accepts through its host: a delay line per
// directed link in which a chunk written at t enters the mocknet link at
//
//	max(previous chunk's entry, t + jitter [+ stall])
//
// where jitter is uniform in [0, jitter] and, with probability loss, a
// chunk suffers a retransmission stall of 200ms + RTT (TCP's minimum RTO
// plus the repair round trip). Order within a stream is kept. libp2p's own
// identify and ping see the link's latency and bandwidth but not jitter
// and loss. The entry node's own hop (when it serves blocks) does not
// cross the network.
//
// Events: kill unlinks the node in the mocknet and closes its host, so
// every stream to it resets without a goodbye; add starts a deferred
// group; cut unlinks every pair of nodes across two regions and closes
// their connections (nothing crosses until heal links them again).
//
// # Network emulation (processes)
//
// Each process is `orbit bench node --link-emulation FILE ...`: the
// command `orbit run` with the same flags and output, on a host that
// emulates links (the production `orbit run` has no link emulation, and
// cmd/orbit's run code does not import this package; only the hidden
// `orbit bench node` subcommand wires StartLinkEmulation in). FILE is a
// JSON file (LinkEmulation) naming its node, every node of the scenario
// with its region and peer ID (known before anything starts: identities
// derive from the seed and the names), the links table, the seed and the
// region pairs cut now. The process wraps its host (node.Config.WrapHost)
// with the same shaper, in its emulating form (LinkEmulator): on the
// write side of every stream it opens or accepts, per directed link, a
// chunk of n bytes written at t enters the link at
//
//	max(previous chunk's entry, t + jitter [+ stall])
//
// waits until the link has serialised the chunks before it, takes
// n·8/bandwidth itself, and reaches the stream below (loopback TCP) a
// one-way latency later. Each end shapes its own direction, so a round
// trip costs both links' latency. Unlike mocknet's token bucket there is
// no burst allowance, and libp2p's identify, ping and multistream
// negotiation are not delayed. Peers not in the file are not shaped. A
// stream's delay line holds at most 8 MiB before writes wait.
//
// Cut and heal: the bench rewrites every running process's file with the
// new cut set and a higher generation and sends SIGUSR1; the process
// reloads it and prints a "links" status line (runstatus.Links, as JSON:
// the processes run with --status-json), which the bench waits for, so the event is in force everywhere when it is recorded as
// done (a process still starting is brought up to date once ready). A
// cut, as in mocknet mode, resets the streams across it (queued data is
// dropped), closes the connections across it, and makes new streams and
// dials across it fail (and streams accepted across it reset) until the
// heal.
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
// decode tokens/s, and the mean gap between tokens. Per hop (mocknet
// mode only) the node's own generation stats (node.Stats.Hops): compute (the
// server's engine time, stretched by its slow-down, which the node applies
// itself: node.Config.ComputeSlowdown), queue (the wait in the server's
// batch scheduler) and network (the rest of the round trip the entry saw
// for that hop), each per step. What is left of the per-token latency is
// the entry's own work (embedding, head, sampling).
//
// # Processes mode
//
// The harness runs the orbit binary (Options.Orbit; by default the
// running executable, i.e. `orbit bench`; it must be an orbit with `bench
// node` and --status-json), one `orbit bench node --status-json --listen
// /ip4/127.0.0.1/tcp/0 --no-mdns --data-dir DIR --blocks a:b|--max-blocks
// N --bootstrap FIRST --link-emulation FILE` per node, with the identity
// key of the mocknet mode in DIR, and waits for each ready event (a JSON
// line, package runstatus: no text is scraped). Entry nodes get --entry
// and --api on a free loopback port, servers --no-api; entry-only nodes
// (span none) --blocks none. Kill events send SIGKILL;
// cut and heal events SIGUSR1 (above); the end sends SIGTERM (SIGKILL
// after 5 s). Slow-downs, routes, per-hop timings and per-link statistics are not available:
// results say so in their notes, as they say what the links emulate.
package bench
