// Package metrics holds a node's counters, gauges and histograms (tokens,
// generations, sessions and KV cache, HTTP and swarm bytes, fetched chunks,
// step latencies per hop, weight transfers) as prometheus/client_golang
// collectors in a registry of the node's own, beside the Go runtime and
// process collectors, and serves them in the Prometheus text format. The
// HTTP API, the node and the command line feed one *Metrics per node; a nil
// *Metrics ignores updates. ParseText reads a scrape back, for tests and
// tools.
package metrics
