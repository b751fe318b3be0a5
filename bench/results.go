package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Results is everything a run measured. Times ending in S are seconds
// since the workload started; MS fields are milliseconds.
type Results struct {
	Scenario  string          `json:"scenario"`
	Mode      string          `json:"mode"`
	Seed      uint64          `json:"seed"`
	StartedAt time.Time       `json:"started_at"`
	SetupS    float64         `json:"setup_s"`    // starting the swarm
	WorkloadS float64         `json:"workload_s"` // no request started after it
	DurationS float64         `json:"duration_s"` // until the last request ended
	Model     ModelInfo       `json:"model"`
	Nodes     []NodeResult    `json:"nodes"`
	Events    []EventResult   `json:"events"`
	Summary   Summary         `json:"summary"`
	Requests  []RequestResult `json:"requests"`
	Hops      []HopResult     `json:"hops"`
	Links     []LinkStats     `json:"links"`
	Notes     []string        `json:"notes,omitempty"` // what this mode does not measure
	// Throughput is the swarm's generated tokens per second, in
	// ThroughputBinS bins.
	ThroughputBinS float64           `json:"throughput_bin_s"`
	Throughput     []ThroughputPoint `json:"throughput"`
	// Sweep is a concurrency sweep's steps (Workload.Concurrency).
	Sweep []SweepPoint `json:"sweep,omitempty"`
	// Speculation is the run's speculative decoding, when the scenario
	// turned it on: the summary of the same workload without it and the
	// ratios.
	Speculation *SpeculationResult `json:"speculation,omitempty"`
	// Verify is a verification run's rates (Workload.VerifyRates).
	Verify []VerifyPoint `json:"verify,omitempty"`

	tokenTimes []float64
}

// SpeculationResult compares a run with speculative decoding to the same
// workload without it (on a fresh swarm of the same scenario).
type SpeculationResult struct {
	Mode     string  `json:"mode"`
	Baseline Summary `json:"baseline"` // the run without speculation
	// DecodeSpeedup is the ratio of the median per-stream decode rates
	// (tokens/s), ThroughputSpeedup of the swarm's tokens/s.
	DecodeSpeedup     float64 `json:"decode_speedup"`
	ThroughputSpeedup float64 `json:"throughput_speedup"`
}

// ModelInfo describes the served model.
type ModelInfo struct {
	Path     string `json:"path"`
	ID       string `json:"id"`
	Layers   int    `json:"layers"`
	Dim      int    `json:"dim"`
	Vocab    int    `json:"vocab"`
	Encoding string `json:"encoding"`
}

// NodeResult is one node.
type NodeResult struct {
	Name           string  `json:"name"`
	Region         string  `json:"region"`
	Entry          bool    `json:"entry"`
	Span           [2]int  `json:"span"`
	ThroughputTokS float64 `json:"throughput_tok_s_per_block"` // measured by the node at start
	Slowdown       float64 `json:"slowdown"`
	StartedS       float64 `json:"started_s"` // negative: during setup
	KilledS        float64 `json:"killed_s,omitempty"`
}

// EventResult is one applied event.
type EventResult struct {
	ScheduledS float64 `json:"scheduled_s"`
	AtS        float64 `json:"at_s"`
	DoneS      float64 `json:"done_s"`
	Kind       string  `json:"kind"`
	Target     string  `json:"target"`
	Error      string  `json:"error,omitempty"`
}

// RouteHop is one hop of a request's final route.
type RouteHop struct {
	Node  string `json:"node"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// RequestResult is one request, measured at its entry node.
type RequestResult struct {
	ID           int         `json:"id"`
	Client       int         `json:"client"` // -1: open loop
	Entry        string      `json:"entry"`
	ArrivalS     float64     `json:"arrival_s"`
	StartS       float64     `json:"start_s"`
	EndS         float64     `json:"end_s"`
	PromptTokens int         `json:"prompt_tokens"`
	OutputTokens int         `json:"output_tokens"`
	TTFTMS       float64     `json:"ttft_ms"`      // first token, from the arrival
	PerTokenMS   float64     `json:"per_token_ms"` // mean gap between tokens
	TokensPerS   float64     `json:"tokens_per_s"` // decode rate
	Route        []RouteHop  `json:"route"`        // at the end
	Hops         []HopTiming `json:"hop_timings,omitempty"`
	Failovers    int         `json:"failovers"`
	Warmup       bool        `json:"warmup,omitempty"`  // excluded from the summary
	Streams      int         `json:"streams,omitempty"` // a sweep's step: its concurrent streams
	Error        string      `json:"error,omitempty"`
	Passes       int         `json:"passes,omitempty"`   // decode pipeline passes (with speculation each yields its kept drafts and a token)
	Drafted      int         `json:"drafted,omitempty"`  // speculative draft tokens checked
	Accepted     int         `json:"accepted,omitempty"` // and kept
}

// HopTiming is one hop's mean time per step (pipeline pass, the prefill
// included), as the node's generation stats report it: ComputeMS and
// QueueMS are what the server measured (its engine call, stretched by its
// slow-down, and the wait in its batch scheduler); NetworkMS is the rest
// of the round trip the entry node saw for this hop: transfer over the
// links, encoding and protocol overhead. Hops replaced by failover are
// included.
type HopTiming struct {
	Node      string  `json:"node"`
	Start     int     `json:"start"` // first block of the hop's span
	Blocks    int     `json:"blocks"`
	Steps     int     `json:"steps"`
	ComputeMS float64 `json:"compute_ms"`
	QueueMS   float64 `json:"queue_ms"`
	NetworkMS float64 `json:"network_ms"`
}

// HopResult is one hop of one request, per step (see HopTiming).
type HopResult struct {
	Request   int     `json:"request"`
	Index     int     `json:"index"`
	Node      string  `json:"node"`
	Start     int     `json:"start"` // first block of the hop's span
	Blocks    int     `json:"blocks"`
	Steps     int     `json:"steps"`
	ComputeMS float64 `json:"compute_ms"`
	NetworkMS float64 `json:"network_ms"`
	QueueMS   float64 `json:"queue_ms"`
}

// ThroughputPoint is one time bin.
type ThroughputPoint struct {
	TimeS      float64 `json:"time_s"` // bin start
	TokensPerS float64 `json:"tokens_per_s"`
}

// Summary aggregates the requests that are not warm-up.
type Summary struct {
	Requests       int     `json:"requests"`
	Completed      int     `json:"completed"`
	Failed         int     `json:"failed"`
	Tokens         int     `json:"tokens"`
	ThroughputTokS float64 `json:"throughput_tok_s"` // all tokens / run duration
	TTFTP50MS      float64 `json:"ttft_p50_ms"`
	TTFTP95MS      float64 `json:"ttft_p95_ms"`
	PerTokenP50MS  float64 `json:"per_token_p50_ms"`
	PerTokenP95MS  float64 `json:"per_token_p95_ms"`
	PerTokenMeanMS float64 `json:"per_token_mean_ms"`
	DecodeTokSP50  float64 `json:"decode_tok_s_p50"`
	MeanHops       float64 `json:"mean_hops"`
	MeanTraversals float64 `json:"mean_network_traversals"` // per token: remote hops + return
	Failovers      int     `json:"failovers"`
	// Per step of a request, summed over its hops, from the node's
	// timings (0 where the mode has none); Entry is the rest of the
	// per-token latency: the entry's embedding, head and sampling.
	MeanComputeMS float64 `json:"mean_compute_ms_per_token"`
	MeanNetworkMS float64 `json:"mean_network_ms_per_token"`
	MeanQueueMS   float64 `json:"mean_queue_ms_per_token"`
	MeanEntryMS   float64 `json:"mean_entry_ms_per_token"`
	// Speculative decoding over the completed requests: decode passes,
	// draft tokens checked and kept, the share kept and the tokens per
	// pass (1 without speculation).
	Passes         int     `json:"passes"`
	Drafted        int     `json:"drafted"`
	Accepted       int     `json:"accepted"`
	AcceptanceRate float64 `json:"acceptance_rate"`
	TokensPerPass  float64 `json:"tokens_per_pass"`
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

// finish sorts the requests and computes hops, throughput and summary.
func (r *Results) finish() {
	sort.Slice(r.Requests, func(i, j int) bool { return r.Requests[i].ID < r.Requests[j].ID })
	var ttft, per, rate, comp, netw, queue, entry []float64
	hops, trav := 0.0, 0.0
	decoded := 0
	s := &r.Summary
	for _, q := range r.Requests {
		s.Tokens += q.OutputTokens
		if q.Warmup {
			continue
		}
		s.Requests++
		s.Failovers += q.Failovers
		if q.Error != "" {
			s.Failed++
			continue
		}
		s.Completed++
		s.Passes, s.Drafted, s.Accepted = s.Passes+q.Passes, s.Drafted+q.Drafted, s.Accepted+q.Accepted
		decoded += max(0, q.OutputTokens-1)
		ttft = append(ttft, q.TTFTMS)
		if q.OutputTokens > 1 {
			per = append(per, q.PerTokenMS)
			rate = append(rate, q.TokensPerS)
		}
		prev, t := q.Entry, 0
		for _, h := range q.Route {
			if h.Node != prev {
				t++
			}
			prev = h.Node
		}
		if prev != q.Entry {
			t++
		}
		hops += float64(len(q.Route))
		trav += float64(t)
		var c, n, w float64
		for i, h := range q.Hops {
			r.Hops = append(r.Hops, HopResult{Request: q.ID, Index: i, Node: h.Node, Start: h.Start, Blocks: h.Blocks, Steps: h.Steps,
				ComputeMS: h.ComputeMS, NetworkMS: h.NetworkMS, QueueMS: h.QueueMS})
			c, n, w = c+h.ComputeMS, n+h.NetworkMS, w+h.QueueMS
		}
		if q.OutputTokens > 1 && len(q.Hops) > 0 {
			comp, netw, queue = append(comp, c), append(netw, n), append(queue, w)
			entry = append(entry, max(0, q.PerTokenMS-c-n-w))
		}
	}
	if r.DurationS > 0 {
		s.ThroughputTokS = float64(s.Tokens) / r.DurationS
	}
	s.TTFTP50MS, s.TTFTP95MS = quantile(ttft, 0.5), quantile(ttft, 0.95)
	s.PerTokenP50MS, s.PerTokenP95MS, s.PerTokenMeanMS = quantile(per, 0.5), quantile(per, 0.95), mean(per)
	s.DecodeTokSP50 = quantile(rate, 0.5)
	if s.Completed > 0 {
		s.MeanHops, s.MeanTraversals = hops/float64(s.Completed), trav/float64(s.Completed)
	}
	s.MeanComputeMS, s.MeanNetworkMS, s.MeanQueueMS, s.MeanEntryMS = mean(comp), mean(netw), mean(queue), mean(entry)
	if s.Drafted > 0 {
		s.AcceptanceRate = float64(s.Accepted) / float64(s.Drafted)
	}
	if s.Passes > 0 {
		s.TokensPerPass = float64(decoded) / float64(s.Passes)
	}

	bin := 1.0
	if r.DurationS <= 20 {
		bin = 0.5
	}
	r.ThroughputBinS = bin
	nb := int(math.Ceil(r.DurationS/bin)) + 0
	counts := make([]int, max(nb, 1))
	for _, t := range r.tokenTimes {
		i := int(t / bin)
		if i >= 0 && i < len(counts) {
			counts[i]++
		}
	}
	r.Throughput = make([]ThroughputPoint, len(counts))
	for i, c := range counts {
		r.Throughput[i] = ThroughputPoint{TimeS: float64(i) * bin, TokensPerS: float64(c) / bin}
	}
}

// Write stores results.json, the CSV tables (requests, hops, throughput,
// links) and the PNG plots (throughput, latency CDF, per-hop breakdown)
// in dir.
func (r *Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	f := strconv.FormatFloat
	ff := func(v float64) string { return f(v, 'f', 3, 64) }
	var rows [][]string
	rows = append(rows, []string{"id", "client", "entry", "arrival_s", "start_s", "end_s", "prompt_tokens", "output_tokens", "ttft_ms", "per_token_ms", "tokens_per_s", "hops", "route", "failovers", "warmup", "error"})
	for _, q := range r.Requests {
		var route []string
		for _, h := range q.Route {
			route = append(route, fmt.Sprintf("%s[%d,%d)", h.Node, h.Start, h.End))
		}
		rows = append(rows, []string{strconv.Itoa(q.ID), strconv.Itoa(q.Client), q.Entry, ff(q.ArrivalS), ff(q.StartS), ff(q.EndS),
			strconv.Itoa(q.PromptTokens), strconv.Itoa(q.OutputTokens), ff(q.TTFTMS), ff(q.PerTokenMS), ff(q.TokensPerS),
			strconv.Itoa(len(q.Route)), strings.Join(route, " "), strconv.Itoa(q.Failovers), strconv.FormatBool(q.Warmup), q.Error})
	}
	if err := writeCSV(filepath.Join(dir, "requests.csv"), rows); err != nil {
		return err
	}
	rows = [][]string{{"request", "index", "node", "blocks", "steps", "compute_ms", "network_ms", "queue_ms", "start", "end"}}
	for _, h := range r.Hops {
		rows = append(rows, []string{strconv.Itoa(h.Request), strconv.Itoa(h.Index), h.Node, strconv.Itoa(h.Blocks), strconv.Itoa(h.Steps), ff(h.ComputeMS), ff(h.NetworkMS), ff(h.QueueMS),
			strconv.Itoa(h.Start), strconv.Itoa(h.Start + h.Blocks)})
	}
	if err := writeCSV(filepath.Join(dir, "hops.csv"), rows); err != nil {
		return err
	}
	rows = [][]string{{"time_s", "tokens_per_s"}}
	for _, p := range r.Throughput {
		rows = append(rows, []string{ff(p.TimeS), ff(p.TokensPerS)})
	}
	if err := writeCSV(filepath.Join(dir, "throughput.csv"), rows); err != nil {
		return err
	}
	rows = [][]string{{"from", "to", "chunks", "bytes", "mean_delay_ms", "stalls", "one_way_ms", "bandwidth_bps"}}
	for _, l := range r.Links {
		rows = append(rows, []string{l.From, l.To, strconv.FormatInt(l.Chunks, 10), strconv.FormatInt(l.Bytes, 10), ff(l.MeanDelayMS),
			strconv.FormatInt(l.Stalls, 10), ff(l.OneWayMS), f(l.BandwidthBPS, 'f', 0, 64)})
	}
	if err := writeCSV(filepath.Join(dir, "links.csv"), rows); err != nil {
		return err
	}
	if len(r.Sweep) > 0 {
		if err := r.writeSweep(dir); err != nil {
			return err
		}
	}
	if len(r.Verify) > 0 {
		if err := r.writeVerify(dir); err != nil {
			return err
		}
	}
	return r.plot(dir)
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return fmt.Errorf("bench: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
