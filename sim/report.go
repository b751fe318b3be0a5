package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/orbitswarm/orbit/sharding"
)

// Report is the result of a run. It is a pure function of the Config: the
// same seed gives a byte-identical JSON report.
type Report struct {
	Config  Config   `json:"config"`
	Summary Summary  `json:"summary"`
	Samples []Sample `json:"samples"`
}

// Summary holds the run's totals and time averages. Throughputs are in
// tokens per second for whole-model generation (every block once).
type Summary struct {
	SimulatedSeconds float64 `json:"simulated_s"`
	Events           uint64  `json:"events"`

	PeersStart     int `json:"peers_start"`
	PeersEnd       int `json:"peers_end"`
	PeersPeak      int `json:"peers_peak"`
	Joins          int `json:"joins"`
	GracefulLeaves int `json:"graceful_leaves"`
	Crashes        int `json:"crashes"`

	// Throughput is the time average of the swarm's throughput (minimum
	// over blocks of the capacity serving it), UpperBound that of the same
	// capacity spread evenly over the blocks, and Efficiency their ratio.
	ThroughputMean  float64 `json:"throughput_mean_tps"`
	ThroughputMin   float64 `json:"throughput_min_tps"`
	ThroughputFinal float64 `json:"throughput_final_tps"`
	UpperBoundMean  float64 `json:"upper_bound_mean_tps"`
	Efficiency      float64 `json:"efficiency"`
	// ServedTPS is the tokens actually generated for clients per second.
	ServedTPS float64 `json:"served_tps"`

	// GapEvents counts the episodes with at least one block unserved,
	// GapSeconds their total length and GapFraction its share of the run.
	GapEvents   int     `json:"gap_events"`
	GapSeconds  float64 `json:"gap_s"`
	GapFraction float64 `json:"gap_fraction"`

	RebalanceTurns   int `json:"rebalance_turns"`
	RebalanceChecks  int `json:"rebalance_checks"`
	RebalanceMoves   int `json:"rebalance_moves"`
	RebalanceSkipped int `json:"rebalance_skipped"`

	Requests RequestStats `json:"requests"`
	// Latency is the per-token latency of each request's first route, as
	// planned; Effective is its arrival-to-last-token time per token,
	// failures, re-plans and replays included.
	Latency   Percentiles `json:"latency_ms_per_token"`
	Effective Percentiles `json:"effective_ms_per_token"`
}

// RequestStats counts client requests and their routing.
type RequestStats struct {
	Arrived        int     `json:"arrived"`
	Completed      int     `json:"completed"`
	Failed         int     `json:"failed"`
	InFlight       int     `json:"in_flight"`
	RouteCalls     int     `json:"route_calls"`
	RouteErrors    int     `json:"route_errors"`
	Replans        int     `json:"replans"`
	SegmentReplans int     `json:"segment_replans"`
	FullPlans      int     `json:"full_plans"`
	GhostHits      int     `json:"crashed_server_hits"`
	MeanHops       float64 `json:"mean_hops"`
}

// Percentiles summarizes a distribution in milliseconds.
type Percentiles struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
}

// Sample is one point of the time series. Counters named as totals are
// cumulative since the start; latencies cover the requests first routed
// since the previous sample.
type Sample struct {
	TimeSeconds     float64 `json:"t_s"`
	Servers         int     `json:"servers"`
	Serving         int     `json:"serving"`
	Loading         int     `json:"loading"`
	Crashed         int     `json:"crashed_in_view"`
	Throughput      float64 `json:"throughput_tps"`
	UpperBound      float64 `json:"upper_bound_tps"`
	ViewThroughput  float64 `json:"view_throughput_tps"`
	MinCoverage     int     `json:"min_coverage"`
	UncoveredBlocks int     `json:"uncovered_blocks"`
	ActiveRequests  int     `json:"active_requests"`
	ServedTPS       float64 `json:"served_tps"`
	LatencyP50      float64 `json:"latency_p50_ms"`
	LatencyP90      float64 `json:"latency_p90_ms"`
	LatencyP99      float64 `json:"latency_p99_ms"`
	JoinsTotal      int     `json:"joins_total"`
	LeavesTotal     int     `json:"leaves_total"`
	MovesTotal      int     `json:"moves_total"`
	GapEventsTotal  int     `json:"gap_events_total"`
}

// sampleMark remembers where the previous sample left off.
type sampleMark struct {
	at     time.Duration
	served float64
	lat    int
}

// latencyRec is one request's planned per-token latency.
type latencyRec struct {
	at time.Duration
	ms float64
}

func (s *Sim) recordLatency(r *request) {
	s.lat = append(s.lat, latencyRec{at: s.now, ms: durMs(r.perToken)})
}

func (s *Sim) recordEffective(r *request) {
	s.eff = append(s.eff, durMs(s.now-r.arrived)/float64(r.tokens))
}

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// capacity returns the swarm's throughput (the minimum over blocks of the
// capacity of the serving servers) and its upper bound (their total
// capacity over the number of blocks).
func (s *Sim) capacity() (bottleneck, upper float64) {
	n := s.cfg.Blocks
	diff := make([]float64, n+1)
	var total float64
	for i := range s.peers {
		p := &s.peers[i]
		if p.state != stServing || p.span.Len() == 0 {
			continue
		}
		tp := p.throughput()
		diff[p.span.Start] += tp
		diff[p.span.End] -= tp
		total += p.raw
	}
	bottleneck = math.Inf(1)
	var run float64
	for b := range n {
		run += diff[b]
		v := run
		if s.cover[b] == 0 {
			v = 0
		}
		bottleneck = min(bottleneck, v)
	}
	return max(0, bottleneck), total / float64(n)
}

// sample appends a point of the time series.
func (s *Sim) sample() {
	s.advanceServed()
	smp := Sample{TimeSeconds: s.now.Seconds()}
	for i := range s.peers {
		switch s.peers[i].state {
		case stServing:
			smp.Serving++
		case stLoading:
			smp.Loading++
		case stGhost:
			smp.Crashed++
		}
	}
	smp.Servers = smp.Serving + smp.Loading
	smp.Throughput, smp.UpperBound = s.capacity()
	if bt := sharding.BlockThroughput(s.placeSwarm()); len(bt) > 0 {
		smp.ViewThroughput = slices.Min(bt)
	}
	smp.MinCoverage = slices.Min(s.cover)
	smp.UncoveredBlocks = s.uncovered
	smp.ActiveRequests = s.active
	if dt := (s.now - s.lastSamp.at).Seconds(); dt > 0 {
		smp.ServedTPS = (s.served - s.lastSamp.served) / dt
	}
	lat := make([]float64, 0, len(s.lat)-s.lastSamp.lat)
	for _, l := range s.lat[s.lastSamp.lat:] {
		lat = append(lat, l.ms)
	}
	pc := percentiles(lat)
	smp.LatencyP50, smp.LatencyP90, smp.LatencyP99 = pc.P50, pc.P90, pc.P99
	smp.JoinsTotal = s.st.joins
	smp.LeavesTotal = s.st.leaves + s.st.crashes
	smp.MovesTotal = s.st.moves
	smp.GapEventsTotal = s.st.gapEvents
	s.samples = append(s.samples, roundSample(smp))
	s.lastSamp = sampleMark{at: s.now, served: s.served, lat: len(s.lat)}
}

// percentiles summarizes xs (nearest-rank percentiles); xs is sorted.
func percentiles(xs []float64) Percentiles {
	if len(xs) == 0 {
		return Percentiles{}
	}
	slices.Sort(xs)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	return Percentiles{N: len(xs), Mean: round3(sum / float64(len(xs))), P50: round3(rank(0.50)), P90: round3(rank(0.90)), P99: round3(rank(0.99))}
}

// round3 keeps three decimals, so reports stay readable.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func roundSample(m Sample) Sample {
	m.TimeSeconds = round3(m.TimeSeconds)
	m.Throughput = round3(m.Throughput)
	m.UpperBound = round3(m.UpperBound)
	m.ViewThroughput = round3(m.ViewThroughput)
	m.ServedTPS = round3(m.ServedTPS)
	return m
}

// report builds the Report at the end of a run.
func (s *Sim) report() *Report {
	s.advanceServed()
	if s.uncovered > 0 {
		s.st.gapTime += s.end - s.gapSince
		s.gapSince = s.end
	}
	sec := s.end.Seconds()
	sm := Summary{
		SimulatedSeconds: round3(sec),
		Events:           s.events,
		PeersStart:       s.cfg.Peers,
		PeersEnd:         len(s.alive),
		PeersPeak:        s.st.peakPeers,
		Joins:            s.st.joins,
		GracefulLeaves:   s.st.leaves,
		Crashes:          s.st.crashes,
		ServedTPS:        round3(s.served / sec),
		GapEvents:        s.st.gapEvents,
		GapSeconds:       round3(s.st.gapTime.Seconds()),
		GapFraction:      round3(s.st.gapTime.Seconds()/sec*1e3) / 1e3,
		RebalanceTurns:   s.st.turns,
		RebalanceChecks:  s.st.checks,
		RebalanceMoves:   s.st.moves,
		RebalanceSkipped: s.st.turnsSkipped,
		Requests: RequestStats{
			Arrived:        s.st.arrived,
			Completed:      s.st.completed,
			Failed:         s.st.failed,
			InFlight:       s.st.arrived - s.st.completed - s.st.failed,
			RouteCalls:     s.st.routeCalls,
			RouteErrors:    s.st.routeErrors,
			Replans:        s.st.replans,
			SegmentReplans: s.st.segmentReplans,
			FullPlans:      s.st.fullPlan,
			GhostHits:      s.st.ghostHits,
		},
	}
	if s.st.completed > 0 {
		sm.Requests.MeanHops = round3(float64(s.st.hopsSum) / float64(s.st.completed))
	}
	lat := make([]float64, len(s.lat))
	for i, l := range s.lat {
		lat[i] = l.ms
	}
	sm.Latency = percentiles(lat)
	sm.Effective = percentiles(slices.Clone(s.eff))

	// Time averages weight each sample by the time until the next one.
	var tpSum, ubSum, wSum float64
	sm.ThroughputMin = math.Inf(1)
	for i, m := range s.samples {
		sm.ThroughputMin = min(sm.ThroughputMin, m.Throughput)
		if i+1 < len(s.samples) {
			w := s.samples[i+1].TimeSeconds - m.TimeSeconds
			tpSum += w * m.Throughput
			ubSum += w * m.UpperBound
			wSum += w
		}
	}
	if len(s.samples) > 0 {
		sm.ThroughputFinal = s.samples[len(s.samples)-1].Throughput
	} else {
		sm.ThroughputMin = 0
	}
	if wSum > 0 {
		sm.ThroughputMean = round3(tpSum / wSum)
		sm.UpperBoundMean = round3(ubSum / wSum)
	}
	if sm.UpperBoundMean > 0 {
		sm.Efficiency = round3(sm.ThroughputMean/sm.UpperBoundMean*1e3) / 1e3
	}
	return &Report{Config: s.cfg, Summary: sm, Samples: s.samples}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteSummary writes a short human-readable account of the run.
func (r *Report) WriteSummary(w io.Writer) error {
	c, m := r.Config, r.Summary
	pct := func(x float64) float64 { return 100 * x }
	lines := []string{
		fmt.Sprintf("orbit sim: %d peers, %d blocks, %v simulated, seed %d, %d events",
			c.Peers, c.Blocks, c.Duration.D(), c.Seed, m.Events),
		fmt.Sprintf("throughput   %.1f tok/s mean (min %.1f, final %.1f) of an upper bound of %.1f: %.1f%%",
			m.ThroughputMean, m.ThroughputMin, m.ThroughputFinal, m.UpperBoundMean, pct(m.Efficiency)),
		fmt.Sprintf("served       %.1f tok/s; requests %d arrived, %d completed, %d failed, %d in flight",
			m.ServedTPS, m.Requests.Arrived, m.Requests.Completed, m.Requests.Failed, m.Requests.InFlight),
		fmt.Sprintf("coverage     %d gap episodes, %.1f s with a block unserved (%.2f%% of the time)",
			m.GapEvents, m.GapSeconds, pct(m.GapFraction)),
		fmt.Sprintf("churn        %d joins, %d graceful leaves, %d crashes; peers %d -> %d (peak %d)",
			m.Joins, m.GracefulLeaves, m.Crashes, m.PeersStart, m.PeersEnd, m.PeersPeak),
		fmt.Sprintf("rebalancing  %d turns, %d checks, %d moves (%d turns skipped: holder not serving)",
			m.RebalanceTurns, m.RebalanceChecks, m.RebalanceMoves, m.RebalanceSkipped),
		fmt.Sprintf("latency      per token p50 %.0f ms, p90 %.0f ms, p99 %.0f ms (mean %.1f hops); effective p50 %.0f, p90 %.0f, p99 %.0f ms",
			m.Latency.P50, m.Latency.P90, m.Latency.P99, m.Requests.MeanHops, m.Effective.P50, m.Effective.P90, m.Effective.P99),
		fmt.Sprintf("routing      %d Route calls (%d errors), %d re-plans (%d segments), %d hits on crashed servers",
			m.Requests.RouteCalls, m.Requests.RouteErrors, m.Requests.Replans, m.Requests.SegmentReplans, m.Requests.GhostHits),
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	return nil
}

// WriteCSV writes the time series, one row per sample.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"t_s", "servers", "serving", "loading", "crashed_in_view", "throughput_tps", "upper_bound_tps",
		"view_throughput_tps", "min_coverage", "uncovered_blocks", "active_requests", "served_tps",
		"latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "joins_total", "leaves_total", "moves_total", "gap_events_total"}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	d := strconv.Itoa
	for _, m := range r.Samples {
		row := []string{f(m.TimeSeconds), d(m.Servers), d(m.Serving), d(m.Loading), d(m.Crashed), f(m.Throughput), f(m.UpperBound),
			f(m.ViewThroughput), d(m.MinCoverage), d(m.UncoveredBlocks), d(m.ActiveRequests), f(m.ServedTPS),
			f(m.LatencyP50), f(m.LatencyP90), f(m.LatencyP99), d(m.JoinsTotal), d(m.LeavesTotal), d(m.MovesTotal), d(m.GapEventsTotal)}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
