package bench

import (
	"context"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/orbitswarm/orbit/node"
)

// SweepPoint is one step of a concurrency sweep (Workload.Concurrency):
// Streams closed-loop clients for the workload's duration. Its rates count
// the tokens emitted in the step's measured window (after its warm-up, up
// to its duration); latencies are per stream, over the requests that
// arrived after the warm-up.
type SweepPoint struct {
	Streams   int     `json:"streams"`
	StartS    float64 `json:"start_s"` // since the first step started
	WindowS   float64 `json:"window_s"`
	Requests  int     `json:"requests"`
	Completed int     `json:"completed"`
	Failed    int     `json:"failed"`
	Tokens    int     `json:"tokens"` // emitted in the window
	// TokensPerS is the swarm's aggregate rate; Speedup is it over the
	// rate of the sweep's step of one stream (0 without one).
	TokensPerS float64 `json:"tokens_per_s"`
	Speedup    float64 `json:"speedup"`
	// One stream's latency: the gap between its tokens (p50, mean, p95),
	// its first token, its decode rate (p50).
	PerTokenP50MS  float64 `json:"per_token_p50_ms"`
	PerTokenMeanMS float64 `json:"per_token_mean_ms"`
	PerTokenP95MS  float64 `json:"per_token_p95_ms"`
	TTFTP50MS      float64 `json:"ttft_p50_ms"`
	StreamTokSP50  float64 `json:"stream_tok_s_p50"`
	// Nodes are the servers' batch schedulers during the step.
	Nodes []SweepNode `json:"nodes"`
}

// SweepNode is what one node's batch schedulers did during a step.
type SweepNode struct {
	Name string `json:"name"`
	// Busy is the fraction of the step its engine computed (emulated
	// compute included).
	Busy  float64 `json:"busy"`
	Calls int64   `json:"calls"` // engine calls
	Steps int64   `json:"steps"` // sessions' steps they ran
	// MeanRows and MeanSessions are per engine call; QueueMS is a step's
	// mean wait for its call.
	MeanRows     float64 `json:"mean_rows"`
	MeanSessions float64 `json:"mean_sessions"`
	QueueMS      float64 `json:"queue_ms"`
}

// sweep runs the closed-loop workload once per entry of
// sc.Workload.Concurrency on the running cluster and merges the steps:
// requests and token times shifted to the first step's clock, with a
// SweepPoint per step.
func sweep(ctx context.Context, cl cluster, sc *Scenario, sched Schedule, seed uint64, dur time.Duration, vocab int, log *slog.Logger, opt Options) *Results {
	var all *Results
	var first time.Time
	warm := time.Duration(sc.Workload.Warmup)
	if warm >= dur {
		warm = 0 // a run shortened below its warm-up counts all of it
	}
	for i, k := range sc.Workload.Concurrency {
		if ctx.Err() != nil {
			break
		}
		step := *sc
		step.Workload.Clients, step.Workload.Warmup = k, Duration(warm)
		before := cl.computeStats(ctx)
		r := &runner{cl: cl, sc: &step, sched: sched, seed: seed, dur: dur, vocab: vocab, log: log, idBase: i * 1_000_000}
		res := r.run(ctx, opt)
		after := cl.computeStats(ctx)
		if i == 0 {
			first = r.start
			all = &Results{Scenario: sc.Name, StartedAt: first.UTC(), WorkloadS: dur.Seconds()}
		}
		off := r.start.Sub(first).Seconds()
		p := sweepPoint(k, res, warm, dur)
		p.StartS = off
		p.Nodes = sweepNodes(before, after, res.DurationS)
		all.Sweep = append(all.Sweep, p)
		log.Info("sweep step", "streams", k, "tokens_per_s", p.TokensPerS, "per_token_p50_ms", p.PerTokenP50MS)
		for _, q := range res.Requests {
			q.ArrivalS += off
			q.StartS += off
			q.EndS += off
			q.Streams = k
			all.Requests = append(all.Requests, q)
		}
		for _, t := range res.tokenTimes {
			all.tokenTimes = append(all.tokenTimes, t+off)
		}
		all.DurationS = off + res.DurationS
	}
	if all == nil {
		return &Results{Scenario: sc.Name, StartedAt: time.Now().UTC()}
	}
	all.WorkloadS = all.DurationS
	var one float64
	for _, p := range all.Sweep {
		if p.Streams == 1 && one == 0 {
			one = p.TokensPerS
		}
	}
	for i := range all.Sweep {
		if one > 0 {
			all.Sweep[i].Speedup = all.Sweep[i].TokensPerS / one
		}
	}
	return all
}

// sweepPoint summarizes one step's results.
func sweepPoint(streams int, res *Results, warm, dur time.Duration) SweepPoint {
	p := SweepPoint{Streams: streams, WindowS: (dur - warm).Seconds()}
	for _, t := range res.tokenTimes {
		if t >= warm.Seconds() && t < dur.Seconds() {
			p.Tokens++
		}
	}
	if p.WindowS > 0 {
		p.TokensPerS = float64(p.Tokens) / p.WindowS
	}
	var per, ttft, rate []float64
	for _, q := range res.Requests {
		if q.Warmup {
			continue
		}
		p.Requests++
		if q.Error != "" {
			p.Failed++
			continue
		}
		p.Completed++
		ttft = append(ttft, q.TTFTMS)
		if q.OutputTokens > 1 {
			per = append(per, q.PerTokenMS)
			rate = append(rate, q.TokensPerS)
		}
	}
	p.PerTokenP50MS, p.PerTokenMeanMS, p.PerTokenP95MS = quantile(per, 0.5), mean(per), quantile(per, 0.95)
	p.TTFTP50MS, p.StreamTokSP50 = quantile(ttft, 0.5), quantile(rate, 0.5)
	return p
}

// sweepNodes are the nodes' scheduler counts between two readings, over a
// step of stepS seconds; nodes that computed nothing are left out.
func sweepNodes(before, after map[string]node.ComputeStats, stepS float64) []SweepNode {
	var out []SweepNode
	for name, a := range after {
		b := before[name]
		calls, steps, rows := a.Calls-b.Calls, a.Steps-b.Steps, a.Rows-b.Rows
		if calls <= 0 {
			continue
		}
		n := SweepNode{Name: name, Calls: calls, Steps: steps, MeanRows: float64(rows) / float64(calls), MeanSessions: float64(steps) / float64(calls)}
		if stepS > 0 {
			n.Busy = (a.Busy - b.Busy).Seconds() / stepS
		}
		if steps > 0 {
			n.QueueMS = ms(a.Queue-b.Queue) / float64(steps)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// writeSweep writes sweep.csv (a row per step and node) and the plots
// sweep_throughput.png and sweep_latency.png.
func (r *Results) writeSweep(dir string) error {
	ff := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	rows := [][]string{{"streams", "tokens_per_s", "speedup", "per_token_p50_ms", "per_token_mean_ms", "per_token_p95_ms", "ttft_p50_ms",
		"stream_tok_s_p50", "requests", "completed", "failed", "node", "busy", "mean_rows", "mean_sessions", "queue_ms"}}
	for _, p := range r.Sweep {
		head := []string{strconv.Itoa(p.Streams), ff(p.TokensPerS), ff(p.Speedup), ff(p.PerTokenP50MS), ff(p.PerTokenMeanMS), ff(p.PerTokenP95MS),
			ff(p.TTFTP50MS), ff(p.StreamTokSP50), strconv.Itoa(p.Requests), strconv.Itoa(p.Completed), strconv.Itoa(p.Failed)}
		if len(p.Nodes) == 0 {
			rows = append(rows, append(head, "", "", "", "", ""))
		}
		for _, n := range p.Nodes {
			rows = append(rows, append(append([]string(nil), head...), n.Name, ff(n.Busy), ff(n.MeanRows), ff(n.MeanSessions), ff(n.QueueMS)))
		}
	}
	if err := writeCSV(filepath.Join(dir, "sweep.csv"), rows); err != nil {
		return err
	}
	return writeFigures(dir, []namedFigure{
		{"sweep_throughput.png", plotFigure(r.sweepThroughputPlot)},
		{"sweep_latency.png", plotFigure(r.sweepLatencyPlot)},
	})
}

func (r *Results) sweepThroughputPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = r.Scenario + ": aggregate throughput against concurrent streams"
	p.X.Label.Text = "concurrent streams"
	p.Y.Label.Text = "tokens/s (all streams)"
	got := make(plotter.XYs, 0, len(r.Sweep))
	var one float64
	for _, s := range r.Sweep {
		got = append(got, plotter.XY{X: float64(s.Streams), Y: s.TokensPerS})
		if s.Streams == 1 && one == 0 {
			one = s.TokensPerS
		}
	}
	if len(got) == 0 {
		got = append(got, plotter.XY{})
	}
	l, pts, err := plotter.NewLinePoints(got)
	if err != nil {
		return nil, err
	}
	l.Color, pts.Color = plotColor(0), plotColor(0)
	p.Add(l, pts)
	p.Legend.Add("measured", l, pts)
	if one > 0 {
		// Linear scaling from one stream, for reference.
		var ideal plotter.XYs
		for _, s := range r.Sweep {
			ideal = append(ideal, plotter.XY{X: float64(s.Streams), Y: one * float64(s.Streams)})
		}
		il, err := plotter.NewLine(ideal)
		if err != nil {
			return nil, err
		}
		il.Color, il.Dashes = plotColor(1), []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(il)
		p.Legend.Add("one stream x streams", il)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min = 0
	p.X.Tick.Marker = r.streamTicks()
	return p, nil
}

// streamTicks marks the sweep's stream counts on the x axis.
func (r *Results) streamTicks() plot.ConstantTicks {
	var t plot.ConstantTicks
	for _, s := range r.Sweep {
		t = append(t, plot.Tick{Value: float64(s.Streams), Label: strconv.Itoa(s.Streams)})
	}
	return t
}

func (r *Results) sweepLatencyPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = r.Scenario + ": one stream's latency against concurrent streams"
	p.X.Label.Text = "concurrent streams"
	p.Y.Label.Text = "ms"
	for i, c := range []struct {
		name string
		v    func(SweepPoint) float64
	}{
		{"per token, p50", func(s SweepPoint) float64 { return s.PerTokenP50MS }},
		{"per token, p95", func(s SweepPoint) float64 { return s.PerTokenP95MS }},
		{"first token, p50", func(s SweepPoint) float64 { return s.TTFTP50MS }},
	} {
		xy := make(plotter.XYs, 0, len(r.Sweep))
		for _, s := range r.Sweep {
			xy = append(xy, plotter.XY{X: float64(s.Streams), Y: c.v(s)})
		}
		if len(xy) == 0 {
			xy = append(xy, plotter.XY{})
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = plotColor(i), plotColor(i)
		p.Add(l, pts)
		p.Legend.Add(c.name, l, pts)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min = 0
	p.X.Tick.Marker = r.streamTicks()
	return p, nil
}
