package metrics

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// exercise feeds every kind of metric once or more.
func exercise(m *Metrics) {
	m.AddTokens(5)
	m.AddPromptTokens(7)
	m.AddGeneration()
	m.AddGeneration()
	m.AddRouteEvents(2, 1)
	m.AddRouteEvents(1, 0)
	m.AddNetworkBytes(100, 200)
	m.AddNetworkBytes(1_500_000, 0)
	m.AddHTTPBytes(10, 20)
	m.AddChunksFetched(3)
	m.SessionOpened(1 << 20)
	m.SessionOpened(1 << 10)
	m.SessionClosed(1 << 20)
	m.SetLoad(2, 3)
	m.ObserveStep("local", 3*time.Millisecond)
	m.ObserveStep("local", 2*time.Second)
	m.ObserveStep(`peer "x"`, 20*time.Second)
	m.SetTransfer("fetch", "bafyModel", 10, 40)
	m.SetTransfer("fetch", "bafyModel", 25, 40) // the latest value wins
	m.SetTransfer("import", "/models/m.gguf", 7, 7)
	m.CountRequest("/v1/completions", 200)
	m.CountRequest("/v1/completions", 200)
	m.CountRequest("/metrics", 401)
	m.ObserveBatch(3, 5, 1500*time.Millisecond)
	m.ObserveBatch(1, 1, 500*time.Millisecond)
	m.ObserveStepQueue(2 * time.Millisecond)
	m.ObserveAdmission(40 * time.Millisecond)
	m.SetSlots(16)
	m.ObserveHeadBatch(4)
	m.AddVerify(4, 1)
	m.AddVerify(2, 0)
	m.CountReport("banned")
	m.CountReport("rejected")
	m.CountReport("rejected")
}

// TestExposition: every metric keeps its name, type and labels, and the
// text served parses back to the values fed.
func TestExposition(t *testing.T) {
	m := New()
	exercise(m)
	var b strings.Builder
	if err := m.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	s, err := ParseText(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("%v in\n%s", err, b.String())
	}
	for _, tc := range []struct {
		name   string
		typ    dto.MetricType
		labels []string // label names of every sample
		values [][]any  // label values..., value
	}{
		{"orbit_tokens_generated_total", dto.MetricType_COUNTER, nil, [][]any{{5.0}}},
		{"orbit_prompt_tokens_total", dto.MetricType_COUNTER, nil, [][]any{{7.0}}},
		{"orbit_generations_total", dto.MetricType_COUNTER, nil, [][]any{{2.0}}},
		{"orbit_chunks_fetched_total", dto.MetricType_COUNTER, nil, [][]any{{3.0}}},
		{"orbit_failovers_total", dto.MetricType_COUNTER, nil, [][]any{{3.0}}},
		{"orbit_relayed_steps_total", dto.MetricType_COUNTER, nil, [][]any{{1.0}}},
		{"orbit_sessions", dto.MetricType_GAUGE, nil, [][]any{{1.0}}},
		{"orbit_kv_cache_bytes", dto.MetricType_GAUGE, nil, [][]any{{1024.0}}},
		{"orbit_generations_active", dto.MetricType_GAUGE, nil, [][]any{{2.0}}},
		{"orbit_generations_queued", dto.MetricType_GAUGE, nil, [][]any{{3.0}}},
		{"orbit_http_bytes_total", dto.MetricType_COUNTER, []string{"direction"}, [][]any{{"in", 10.0}, {"out", 20.0}}},
		{"orbit_network_bytes_total", dto.MetricType_COUNTER, []string{"direction"}, [][]any{{"in", 1_500_100.0}, {"out", 200.0}}},
		{"orbit_http_requests_total", dto.MetricType_COUNTER, []string{"path", "code"},
			[][]any{{"/v1/completions", "200", 2.0}, {"/metrics", "401", 1.0}}},
		{"orbit_step_latency_seconds", dto.MetricType_HISTOGRAM, []string{"hop"}, nil},
		{"orbit_compute_busy_seconds_total", dto.MetricType_COUNTER, nil, [][]any{{2.0}}},
		{"orbit_batch_rows", dto.MetricType_HISTOGRAM, nil, nil},
		{"orbit_batch_sessions", dto.MetricType_HISTOGRAM, nil, nil},
		{"orbit_step_queue_seconds", dto.MetricType_HISTOGRAM, nil, nil},
		{"orbit_generation_wait_seconds", dto.MetricType_HISTOGRAM, nil, nil},
		{"orbit_generation_slots", dto.MetricType_GAUGE, nil, [][]any{{16.0}}},
		{"orbit_head_batch_rows", dto.MetricType_HISTOGRAM, nil, nil},
		{"orbit_verify_checks_total", dto.MetricType_COUNTER, nil, [][]any{{6.0}}},
		{"orbit_verify_mismatches_total", dto.MetricType_COUNTER, nil, [][]any{{1.0}}},
		{"orbit_verify_reports_total", dto.MetricType_COUNTER, []string{"verdict"}, [][]any{{"banned", 1.0}, {"rejected", 2.0}}},
		{"orbit_transfer_bytes", dto.MetricType_GAUGE, []string{"kind", "model"},
			[][]any{{"fetch", "bafyModel", 25.0}, {"import", "/models/m.gguf", 7.0}}},
		{"orbit_transfer_size_bytes", dto.MetricType_GAUGE, []string{"kind", "model"},
			[][]any{{"fetch", "bafyModel", 40.0}, {"import", "/models/m.gguf", 7.0}}},
	} {
		mf := s[tc.name]
		if mf == nil {
			t.Errorf("%s is missing", tc.name)
			continue
		}
		if mf.GetType() != tc.typ || mf.GetHelp() == "" {
			t.Errorf("%s: type %v help %q, want %v with help", tc.name, mf.GetType(), mf.GetHelp(), tc.typ)
		}
		for _, sample := range mf.GetMetric() {
			var names []string
			for _, lp := range sample.GetLabel() {
				names = append(names, lp.GetName())
			}
			want := slices.Clone(tc.labels)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("%s: labels %v, want %v", tc.name, names, tc.labels)
			}
		}
		for _, v := range tc.values {
			var labels []string
			for i, l := range tc.labels {
				labels = append(labels, l, v[i].(string))
			}
			got, ok := s.Value(tc.name, labels...)
			if want := v[len(v)-1].(float64); !ok || got != want {
				t.Errorf("%s%v = %v (found %v), want %v", tc.name, labels, got, ok, want)
			}
		}
	}

	// The step latencies: the buckets of today, per hop.
	h := map[string]*dto.Histogram{}
	for _, sample := range s["orbit_step_latency_seconds"].GetMetric() {
		h[sample.GetLabel()[0].GetValue()] = sample.GetHistogram()
	}
	local := h["local"]
	if local.GetSampleCount() != 2 || local.GetSampleSum() != 2.003 {
		t.Errorf("local steps: %d summing %v, want 2 summing 2.003", local.GetSampleCount(), local.GetSampleSum())
	}
	var bounds []float64
	for _, bk := range local.GetBucket() {
		bounds = append(bounds, bk.GetUpperBound())
		switch ub := bk.GetUpperBound(); {
		case ub < 0.003 && bk.GetCumulativeCount() != 0, ub >= 0.005 && ub < 2.5 && bk.GetCumulativeCount() != 1, ub >= 2.5 && bk.GetCumulativeCount() != 2:
			t.Errorf("local bucket le=%v counts %d", ub, bk.GetCumulativeCount())
		}
	}
	if want := append(stepBuckets(), math.Inf(1)); !slices.Equal(bounds, want) {
		t.Errorf("buckets %v, want %v", bounds, want)
	}
	if x := h[`peer "x"`].GetBucket(); len(x) < 2 || x[len(x)-2].GetCumulativeCount() != 0 || x[len(x)-1].GetCumulativeCount() != 1 {
		t.Errorf("a 20 s step is only in +Inf: %v", x)
	}

	// Batch sizes: two engine calls, of 5 rows from 3 sessions and of 1.
	for name, sum := range map[string]float64{"orbit_batch_rows": 6, "orbit_batch_sessions": 4} {
		bh := s[name].GetMetric()[0].GetHistogram()
		if bh.GetSampleCount() != 2 || bh.GetSampleSum() != sum {
			t.Errorf("%s: %d calls summing %v, want 2 summing %v", name, bh.GetSampleCount(), bh.GetSampleSum(), sum)
		}
		if b0 := bh.GetBucket()[0]; b0.GetUpperBound() != 1 || b0.GetCumulativeCount() != 1 {
			t.Errorf("%s: first bucket le=%v counts %d, want le=1 counting 1", name, b0.GetUpperBound(), b0.GetCumulativeCount())
		}
	}

	// The Go runtime, and the process where the collector reads it (Linux).
	want := []string{"go_goroutines", "go_memstats_alloc_bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_start_time_seconds", "process_resident_memory_bytes")
	}
	for _, name := range want {
		if s[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
}

// TestRegistries: every Metrics counts in a registry of its own, so two
// nodes in one process do not mix their counts.
func TestRegistries(t *testing.T) {
	a, b := New(), New()
	exercise(a)
	if got := b.Snapshot(); got != (Snapshot{}) {
		t.Fatalf("a fresh Metrics has %+v", got)
	}
	if got, want := a.Snapshot(), (Snapshot{Generations: 2, TokensGenerated: 5, PromptTokens: 7, Sessions: 1, KVCacheBytes: 1024}); got != want {
		t.Fatalf("snapshot %+v, want %+v", got, want)
	}
	if a.Registry() == b.Registry() {
		t.Fatal("two Metrics share a registry")
	}
}

// TestNil: a nil *Metrics ignores every update and reports zeros.
func TestNil(t *testing.T) {
	var m *Metrics
	exercise(m)
	if got := m.Snapshot(); got != (Snapshot{}) {
		t.Fatalf("nil snapshot %+v", got)
	}
}
