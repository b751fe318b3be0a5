// Package metrics holds a node's counters, gauges and histograms (tokens,
// generations, sessions and KV cache, HTTP and swarm bytes, fetched chunks,
// step latencies per hop, weight transfers) and exposes them in the
// Prometheus text format. The HTTP API, the node and the command line feed
// one *Metrics per node; a nil *Metrics ignores updates.
package metrics
