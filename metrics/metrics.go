package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StepBuckets are the upper bounds, in seconds, of the step latency
// histogram buckets.
var stepBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics collects a node's counters and exposes them in the Prometheus text
// format. The server counts HTTP requests and bytes; backends count tokens,
// sessions, KV cache, step latencies per hop, network bytes and fetched
// chunks. All methods are safe for concurrent use; a nil *Metrics ignores
// updates.
type Metrics struct {
	tokens, promptTokens, generations atomic.Int64
	httpIn, httpOut                   atomic.Int64
	netIn, netOut                     atomic.Int64
	chunks                            atomic.Int64
	failovers, relayed                atomic.Int64
	sessions, kvBytes                 atomic.Int64
	active, queued                    atomic.Int64

	mu        sync.Mutex
	requests  map[requestKey]int64
	steps     map[string]*histogram
	transfers map[transferKey][2]int64 // done, total
}

type transferKey struct {
	kind, model string
}

type requestKey struct {
	path string
	code int
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

// New returns empty metrics.
func New() *Metrics {
	return &Metrics{requests: map[requestKey]int64{}, steps: map[string]*histogram{}, transfers: map[transferKey][2]int64{}}
}

// AddTokens counts generated tokens.
func (m *Metrics) AddTokens(n int) {
	if m != nil {
		m.tokens.Add(int64(n))
	}
}

// AddPromptTokens counts prompt tokens processed.
func (m *Metrics) AddPromptTokens(n int) {
	if m != nil {
		m.promptTokens.Add(int64(n))
	}
}

// AddGeneration counts a generation started.
func (m *Metrics) AddGeneration() {
	if m != nil {
		m.generations.Add(1)
	}
}

// AddRouteEvents counts hops of generations re-planned onto another
// server after a failure (failovers) and steps the entry node passed to a
// hop itself because the previous hop could not push to it (relayed).
func (m *Metrics) AddRouteEvents(failovers, relayed int) {
	if m != nil {
		m.failovers.Add(int64(failovers))
		m.relayed.Add(int64(relayed))
	}
}

// AddNetworkBytes counts swarm traffic (not the HTTP API's).
func (m *Metrics) AddNetworkBytes(in, out int64) {
	if m != nil {
		m.netIn.Add(in)
		m.netOut.Add(out)
	}
}

// AddHTTPBytes counts API traffic: request bodies in, responses out.
func (m *Metrics) AddHTTPBytes(in, out int64) {
	if m != nil {
		m.httpIn.Add(in)
		m.httpOut.Add(out)
	}
}

// AddChunksFetched counts weight chunks fetched from other peers.
func (m *Metrics) AddChunksFetched(n int) {
	if m != nil {
		m.chunks.Add(int64(n))
	}
}

// SessionOpened counts an open session holding kvBytes of KV cache;
// SessionClosed with the same size undoes it.
func (m *Metrics) SessionOpened(kvBytes int64) {
	if m != nil {
		m.sessions.Add(1)
		m.kvBytes.Add(kvBytes)
	}
}

// SessionClosed undoes SessionOpened.
func (m *Metrics) SessionClosed(kvBytes int64) {
	if m != nil {
		m.sessions.Add(-1)
		m.kvBytes.Add(-kvBytes)
	}
}

// SetLoad records the generations running and waiting.
func (m *Metrics) SetLoad(active, queued int) {
	if m != nil {
		m.active.Store(int64(active))
		m.queued.Store(int64(queued))
	}
}

// ObserveStep records the latency of one step (a forward pass through the
// blocks of one hop). hop names the hop: a peer id, or "local".
func (m *Metrics) ObserveStep(hop string, d time.Duration) {
	if m == nil {
		return
	}
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.steps[hop]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(stepBuckets)+1)}
		m.steps[hop] = h
	}
	i, _ := slices.BinarySearch(stepBuckets, s)
	h.counts[i]++
	h.sum += s
	h.n++
}

// SetTransfer records the progress of the latest transfer of kind
// ("import" or "fetch") of model (for an import, the file imported): done
// of total bytes.
func (m *Metrics) SetTransfer(kind, model string, done, total int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.transfers == nil {
		m.transfers = map[transferKey][2]int64{}
	}
	m.transfers[transferKey{kind, model}] = [2]int64{done, total}
}

// CountRequest counts an HTTP request by route pattern and status code.
func (m *Metrics) CountRequest(path string, code int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.requests[requestKey{path, code}]++
	m.mu.Unlock()
}

// Snapshot is a copy of the counters that NodeStatus reports.
type Snapshot struct {
	Generations, TokensGenerated, PromptTokens int64
	Sessions, KVCacheBytes                     int64
}

// Snapshot returns the current counters.
func (m *Metrics) Snapshot() Snapshot {
	if m == nil {
		return Snapshot{}
	}
	return Snapshot{
		Generations:     m.generations.Load(),
		TokensGenerated: m.tokens.Load(),
		PromptTokens:    m.promptTokens.Load(),
		Sessions:        m.sessions.Load(),
		KVCacheBytes:    m.kvBytes.Load(),
	}
}

// WritePrometheus writes every metric in the Prometheus text exposition
// format (version 0.0.4).
func (m *Metrics) WritePrometheus(w io.Writer) error {
	bw := bufio.NewWriter(w)
	counter := func(name, help string, v int64) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge := func(name, help string, v int64) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	counter("orbit_tokens_generated_total", "Tokens generated.", m.tokens.Load())
	counter("orbit_prompt_tokens_total", "Prompt tokens processed.", m.promptTokens.Load())
	counter("orbit_generations_total", "Generations started.", m.generations.Load())
	counter("orbit_chunks_fetched_total", "Weight chunks fetched from peers.", m.chunks.Load())
	counter("orbit_failovers_total", "Hops of generations re-planned onto another server after a failure.", m.failovers.Load())
	counter("orbit_relayed_steps_total", "Steps the entry node relayed because a hop could not push to the next.", m.relayed.Load())
	gauge("orbit_sessions", "Open KV-cache sessions.", m.sessions.Load())
	gauge("orbit_kv_cache_bytes", "Bytes of KV cache held by open sessions.", m.kvBytes.Load())
	gauge("orbit_generations_active", "Generations running.", m.active.Load())
	gauge("orbit_generations_queued", "Generations waiting for a slot.", m.queued.Load())
	fmt.Fprintf(bw, "# HELP orbit_http_bytes_total HTTP API bytes: request bodies in, responses out.\n# TYPE orbit_http_bytes_total counter\n")
	fmt.Fprintf(bw, "orbit_http_bytes_total{direction=\"in\"} %d\norbit_http_bytes_total{direction=\"out\"} %d\n", m.httpIn.Load(), m.httpOut.Load())
	fmt.Fprintf(bw, "# HELP orbit_network_bytes_total Swarm network bytes.\n# TYPE orbit_network_bytes_total counter\n")
	fmt.Fprintf(bw, "orbit_network_bytes_total{direction=\"in\"} %d\norbit_network_bytes_total{direction=\"out\"} %d\n", m.netIn.Load(), m.netOut.Load())

	m.mu.Lock()
	reqs := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		reqs = append(reqs, k)
	}
	slices.SortFunc(reqs, func(a, b requestKey) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return a.code - b.code
	})
	fmt.Fprintf(bw, "# HELP orbit_http_requests_total HTTP requests by route and status code.\n# TYPE orbit_http_requests_total counter\n")
	for _, k := range reqs {
		fmt.Fprintf(bw, "orbit_http_requests_total{path=%s,code=\"%d\"} %d\n", quoteLabel(k.path), k.code, m.requests[k])
	}
	hops := make([]string, 0, len(m.steps))
	for k := range m.steps {
		hops = append(hops, k)
	}
	slices.Sort(hops)
	fmt.Fprintf(bw, "# HELP orbit_step_latency_seconds Latency of one step through the blocks of a hop.\n# TYPE orbit_step_latency_seconds histogram\n")
	for _, hop := range hops {
		h := m.steps[hop]
		l := quoteLabel(hop)
		var cum uint64
		for i, ub := range stepBuckets {
			cum += h.counts[i]
			fmt.Fprintf(bw, "orbit_step_latency_seconds_bucket{hop=%s,le=\"%s\"} %d\n", l, strconv.FormatFloat(ub, 'g', -1, 64), cum)
		}
		fmt.Fprintf(bw, "orbit_step_latency_seconds_bucket{hop=%s,le=\"+Inf\"} %d\n", l, h.n)
		fmt.Fprintf(bw, "orbit_step_latency_seconds_sum{hop=%s} %s\n", l, formatFloat(h.sum))
		fmt.Fprintf(bw, "orbit_step_latency_seconds_count{hop=%s} %d\n", l, h.n)
	}
	tks := make([]transferKey, 0, len(m.transfers))
	for k := range m.transfers {
		tks = append(tks, k)
	}
	slices.SortFunc(tks, func(a, b transferKey) int {
		if c := strings.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return strings.Compare(a.model, b.model)
	})
	for i, g := range []struct{ name, help string }{
		{"orbit_transfer_bytes", "Bytes stored so far by the latest weight import or fetch of each model (an import is labelled by its file)."},
		{"orbit_transfer_size_bytes", "Bytes the latest weight import or fetch of each model stores in all (0 until known)."},
	} {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n", g.name, g.help, g.name)
		for _, k := range tks {
			fmt.Fprintf(bw, "%s{kind=%s,model=%s} %d\n", g.name, quoteLabel(k.kind), quoteLabel(k.model), m.transfers[k][i])
		}
	}
	m.mu.Unlock()
	return bw.Flush()
}

// quoteLabel quotes a label value as the exposition format wants.
func quoteLabel(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
