package metrics

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// stepBuckets are the upper bounds, in seconds, of the step latency
// histogram buckets.
func stepBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// Metrics collects a node's counters into its own Prometheus registry
// (with the Go runtime and process collectors) and exposes them in the
// Prometheus text format. The server counts HTTP requests and bytes;
// backends count tokens, sessions, KV cache, step latencies per hop,
// network bytes and fetched chunks. All methods are safe for concurrent
// use; a nil *Metrics ignores updates.
type Metrics struct {
	reg *prometheus.Registry

	tokens, promptTokens, generations prometheus.Counter
	chunks, failovers, relayed        prometheus.Counter
	sessions, kvBytes                 prometheus.Gauge
	active, queued                    prometheus.Gauge
	httpIn, httpOut, netIn, netOut    prometheus.Counter     // of the vecs by direction
	requests                          *prometheus.CounterVec // by path and code
	steps                             *prometheus.HistogramVec
	transferDone, transferTotal       *prometheus.GaugeVec // by kind and model

	// Pipeline: a server's engine time and batches, the entry's admission.
	busy                     prometheus.Counter
	batchRows, batchSessions prometheus.Histogram
	stepQueue, admissionWait prometheus.Histogram
	headRows                 prometheus.Histogram
	slots                    prometheus.Gauge

	// Verification: checks by recomputation, mismatches, reports.
	verifyChecks, verifyMismatches prometheus.Counter
	verifyReports                  *prometheus.CounterVec // by verdict

	// Speculative decoding at the entry.
	specPasses, specTokens, specDrafted, specAccepted, specSaved prometheus.Counter
}

// batchBuckets are the upper bounds of the batch size histograms (rows or
// sessions per engine call).
func batchBuckets() []float64 { return []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256} }

// New returns empty metrics in a registry of their own.
func New() *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &Metrics{
		reg:          prometheus.NewRegistry(),
		tokens:       counter("orbit_tokens_generated_total", "Tokens generated."),
		promptTokens: counter("orbit_prompt_tokens_total", "Prompt tokens processed."),
		generations:  counter("orbit_generations_total", "Generations started."),
		chunks:       counter("orbit_chunks_fetched_total", "Weight chunks fetched from peers."),
		failovers:    counter("orbit_failovers_total", "Hops of generations re-planned onto another server after a failure."),
		relayed:      counter("orbit_relayed_steps_total", "Steps the entry node relayed because a hop could not push to the next."),
		sessions:     gauge("orbit_sessions", "Open KV-cache sessions."),
		kvBytes:      gauge("orbit_kv_cache_bytes", "Bytes of KV cache held by open sessions."),
		active:       gauge("orbit_generations_active", "Generations running."),
		queued:       gauge("orbit_generations_queued", "Generations waiting for a slot."),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"path", "code"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "orbit_step_latency_seconds",
			Help: "Latency of one step through the blocks of a hop.", Buckets: stepBuckets()}, []string{"hop"}),
		transferDone: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orbit_transfer_bytes",
			Help: "Bytes stored so far by the latest weight import or fetch of each model" + " (an import is labelled by its file)."}, []string{"kind", "model"}),
		transferTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orbit_transfer_size_bytes",
			Help: "Bytes the latest weight import or fetch of each model stores in all (0 until known)."}, []string{"kind", "model"}),
	}
	m.busy = counter("orbit_compute_busy_seconds_total", "Seconds this server's engine spent computing steps (its busy fraction is the rate).")
	m.batchRows = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "orbit_batch_rows",
		Help: "Rows per engine call of this server's batch scheduler.", Buckets: batchBuckets()})
	m.batchSessions = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "orbit_batch_sessions",
		Help: "Sessions whose steps shared one engine call of this server.", Buckets: batchBuckets()})
	m.stepQueue = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "orbit_step_queue_seconds",
		Help: "Wait of a step in this server's batch scheduler before its engine call.", Buckets: stepBuckets()})
	m.admissionWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "orbit_generation_wait_seconds",
		Help: "Wait of an admitted generation for a slot at this entry node.", Buckets: stepBuckets()})
	m.headRows = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "orbit_head_batch_rows",
		Help: "Rows per head call of this entry node (its concurrent generations' rows batched).", Buckets: batchBuckets()})
	m.slots = gauge("orbit_generation_slots", "Generations this entry node runs at once (its admission limit).")
	m.verifyChecks = counter("orbit_verify_checks_total", "Checks of a hop's outputs by recomputation on another server (each covers every row since the hop's previous check).")
	m.verifyMismatches = counter("orbit_verify_mismatches_total", "Checks whose recomputed outputs differed from the hop's.")
	m.verifyReports = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_verify_reports_total",
		Help: "Reports of lying peers received from other entry nodes, by verdict (banned, rejected, ignored)."}, []string{"verdict"})
	m.specPasses = counter("orbit_speculate_passes_total", "Pipeline passes of speculative decodes (each checks the drafted tokens in one step).")
	m.specTokens = counter("orbit_speculate_tokens_total", "Tokens those passes produced (tokens per pass is the ratio of the rates).")
	m.specDrafted = counter("orbit_speculate_drafted_tokens_total", "Draft tokens checked by speculative decoding.")
	m.specAccepted = counter("orbit_speculate_accepted_tokens_total", "Draft tokens kept (the acceptance rate is the ratio to drafted).")
	m.specSaved = counter("orbit_speculate_saved_seconds_total", "Decode time speculative decoding saved against one token a pass (estimated).")
	// Both directions are reported from the start, as zeros.
	httpBytes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_http_bytes_total",
		Help: "HTTP API bytes: request bodies in, responses out."}, []string{"direction"})
	netBytes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_network_bytes_total",
		Help: "Swarm network bytes."}, []string{"direction"})
	m.httpIn, m.httpOut = httpBytes.WithLabelValues("in"), httpBytes.WithLabelValues("out")
	m.netIn, m.netOut = netBytes.WithLabelValues("in"), netBytes.WithLabelValues("out")
	m.reg.MustRegister(
		m.tokens, m.promptTokens, m.generations, m.chunks, m.failovers, m.relayed,
		m.sessions, m.kvBytes, m.active, m.queued,
		httpBytes, netBytes, m.requests, m.steps, m.transferDone, m.transferTotal,
		m.busy, m.batchRows, m.batchSessions, m.stepQueue, m.admissionWait, m.headRows, m.slots,
		m.verifyChecks, m.verifyMismatches, m.verifyReports,
		m.specPasses, m.specTokens, m.specDrafted, m.specAccepted, m.specSaved,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// AddTokens counts generated tokens.
func (m *Metrics) AddTokens(n int) {
	if m != nil {
		m.tokens.Add(float64(n))
	}
}

// AddSpeculation counts a speculative decode: its pipeline passes, the
// tokens they produced, the draft tokens checked and kept, and the time
// it saved.
func (m *Metrics) AddSpeculation(passes, tokens, drafted, accepted int, saved time.Duration) {
	if m != nil {
		m.specPasses.Add(float64(passes))
		m.specTokens.Add(float64(tokens))
		m.specDrafted.Add(float64(drafted))
		m.specAccepted.Add(float64(accepted))
		m.specSaved.Add(max(0, saved.Seconds()))
	}
}

// AddPromptTokens counts prompt tokens processed.
func (m *Metrics) AddPromptTokens(n int) {
	if m != nil {
		m.promptTokens.Add(float64(n))
	}
}

// AddGeneration counts a generation started.
func (m *Metrics) AddGeneration() {
	if m != nil {
		m.generations.Inc()
	}
}

// AddRouteEvents counts hops of generations re-planned onto another
// server after a failure (failovers) and steps the entry node passed to a
// hop itself because the previous hop could not push to it (relayed).
func (m *Metrics) AddRouteEvents(failovers, relayed int) {
	if m != nil {
		m.failovers.Add(float64(failovers))
		m.relayed.Add(float64(relayed))
	}
}

// AddNetworkBytes counts swarm traffic (not the HTTP API's).
func (m *Metrics) AddNetworkBytes(in, out int64) {
	if m != nil {
		m.netIn.Add(float64(in))
		m.netOut.Add(float64(out))
	}
}

// AddHTTPBytes counts API traffic: request bodies in, responses out.
func (m *Metrics) AddHTTPBytes(in, out int64) {
	if m != nil {
		m.httpIn.Add(float64(in))
		m.httpOut.Add(float64(out))
	}
}

// AddChunksFetched counts weight chunks fetched from other peers.
func (m *Metrics) AddChunksFetched(n int) {
	if m != nil {
		m.chunks.Add(float64(n))
	}
}

// SessionOpened counts an open session holding kvBytes of KV cache;
// SessionClosed with the same size undoes it.
func (m *Metrics) SessionOpened(kvBytes int64) {
	if m != nil {
		m.sessions.Inc()
		m.kvBytes.Add(float64(kvBytes))
	}
}

// SessionClosed undoes SessionOpened.
func (m *Metrics) SessionClosed(kvBytes int64) {
	if m != nil {
		m.sessions.Dec()
		m.kvBytes.Sub(float64(kvBytes))
	}
}

// SetLoad records the generations running and waiting.
func (m *Metrics) SetLoad(active, queued int) {
	if m != nil {
		m.active.Set(float64(active))
		m.queued.Set(float64(queued))
	}
}

// ObserveStep records the latency of one step (a forward pass through the
// blocks of one hop). hop names the hop: a peer id, or "local".
func (m *Metrics) ObserveStep(hop string, d time.Duration) {
	if m != nil {
		m.steps.WithLabelValues(hop).Observe(d.Seconds())
	}
}

// ObserveBatch records one engine call of a server's batch scheduler:
// the steps of sessions sessions, rows rows in all, computed in busy.
func (m *Metrics) ObserveBatch(sessions, rows int, busy time.Duration) {
	if m != nil {
		m.batchSessions.Observe(float64(sessions))
		m.batchRows.Observe(float64(rows))
		m.busy.Add(busy.Seconds())
	}
}

// AddVerify counts checks by recomputation and those that found a
// mismatch.
func (m *Metrics) AddVerify(checks, mismatches int) {
	if m != nil {
		m.verifyChecks.Add(float64(checks))
		m.verifyMismatches.Add(float64(mismatches))
	}
}

// CountReport counts a received report by verdict.
func (m *Metrics) CountReport(verdict string) {
	if m != nil {
		m.verifyReports.WithLabelValues(verdict).Inc()
	}
}

// ObserveStepQueue records how long a step waited in a server's batch
// scheduler.
func (m *Metrics) ObserveStepQueue(d time.Duration) {
	if m != nil {
		m.stepQueue.Observe(d.Seconds())
	}
}

// ObserveHeadBatch records one head call of an entry node over rows rows.
func (m *Metrics) ObserveHeadBatch(rows int) {
	if m != nil {
		m.headRows.Observe(float64(rows))
	}
}

// ObserveAdmission records how long a generation waited for a slot.
func (m *Metrics) ObserveAdmission(wait time.Duration) {
	if m != nil {
		m.admissionWait.Observe(wait.Seconds())
	}
}

// SetSlots records the entry node's admission limit.
func (m *Metrics) SetSlots(n int) {
	if m != nil {
		m.slots.Set(float64(n))
	}
}

// SetTransfer records the progress of the latest transfer of kind
// ("import" or "fetch") of model (for an import, the file imported): done
// of total bytes.
func (m *Metrics) SetTransfer(kind, model string, done, total int64) {
	if m != nil {
		m.transferDone.WithLabelValues(kind, model).Set(float64(done))
		m.transferTotal.WithLabelValues(kind, model).Set(float64(total))
	}
}

// CountRequest counts an HTTP request by route pattern and status code.
func (m *Metrics) CountRequest(path string, code int) {
	if m != nil {
		m.requests.WithLabelValues(path, strconv.Itoa(code)).Inc()
	}
}

// Snapshot is a copy of the counters that NodeStatus reports.
type Snapshot struct {
	Generations, TokensGenerated, PromptTokens int64
	Sessions, KVCacheBytes                     int64
	// Speculative decoding: passes, their tokens, drafted and kept draft
	// tokens, and the seconds saved.
	SpecPasses, SpecTokens, SpecDrafted, SpecAccepted int64
	SpecSaved                                         float64
}

// Snapshot returns the current counters.
func (m *Metrics) Snapshot() Snapshot {
	if m == nil {
		return Snapshot{}
	}
	return Snapshot{
		Generations:     value(m.generations),
		TokensGenerated: value(m.tokens),
		PromptTokens:    value(m.promptTokens),
		Sessions:        value(m.sessions),
		KVCacheBytes:    value(m.kvBytes),
		SpecPasses:      value(m.specPasses),
		SpecTokens:      value(m.specTokens),
		SpecDrafted:     value(m.specDrafted),
		SpecAccepted:    value(m.specAccepted),
		SpecSaved:       floatValue(m.specSaved),
	}
}

// value reads a counter or gauge; they count whole things, exact in a
// float64 up to 2^53.
func value(c prometheus.Metric) int64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return 0
	}
	switch {
	case d.Counter != nil:
		return int64(d.Counter.GetValue())
	case d.Gauge != nil:
		return int64(d.Gauge.GetValue())
	}
	return 0
}

func floatValue(c prometheus.Counter) float64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil || d.Counter == nil {
		return 0
	}
	return d.Counter.GetValue()
}

// Registry is the metrics' own registry, for more collectors or to gather
// them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (uncompressed,
// so that a server counting its response bytes counts what it sent).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{DisableCompression: true})
}

// WritePrometheus writes every metric in the Prometheus text exposition
// format (version 0.0.4).
func (m *Metrics) WritePrometheus(w io.Writer) error {
	mfs, err := m.reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: gather: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: encode %s: %w", mf.GetName(), err)
		}
	}
	return nil
}

// Scrape is a parsed text exposition (as /metrics serves it): the metric
// families by name.
type Scrape map[string]*dto.MetricFamily

// ParseText parses the Prometheus text exposition format.
func ParseText(r io.Reader) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: parse: %w", err)
	}
	return Scrape(fams), nil
}

// Value returns the value of the sample of the counter, gauge or untyped
// family name whose labels are exactly labels (name, value, name, value,
// ...); ok is false when there is none.
func (s Scrape) Value(name string, labels ...string) (v float64, ok bool) {
	mf := s[name]
	if mf == nil || len(labels)%2 != 0 {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, lp := range m.GetLabel() {
			if w, ok := want[lp.GetName()]; !ok || w != lp.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}
