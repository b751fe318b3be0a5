package bench

import (
	"fmt"
	"image/color"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plot writes throughput.png, latency_cdf.png and hops.png.
func (r *Results) plot(dir string) error {
	for _, p := range []struct {
		name string
		make func() (*plot.Plot, error)
	}{
		{"throughput.png", r.throughputPlot},
		{"latency_cdf.png", r.latencyPlot},
		{"hops.png", r.hopsPlot},
	} {
		pl, err := p.make()
		if err != nil {
			return fmt.Errorf("bench: plot %s: %w", p.name, err)
		}
		if err := pl.Save(8*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, p.name)); err != nil {
			return fmt.Errorf("bench: plot %s: %w", p.name, err)
		}
	}
	return nil
}

func eventColor(kind string) color.Color {
	switch kind {
	case "kill":
		return color.RGBA{R: 200, A: 255}
	case "add":
		return color.RGBA{G: 150, A: 255}
	case "cut":
		return color.RGBA{R: 200, G: 120, A: 255}
	}
	return color.RGBA{B: 200, A: 255}
}

func (r *Results) throughputPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: swarm throughput (%.1fs bins)", r.Scenario, r.ThroughputBinS)
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "tokens/s"
	pts := make(plotter.XYs, 0, 2*len(r.Throughput))
	ymax := 1.0
	for _, t := range r.Throughput {
		pts = append(pts, plotter.XY{X: t.TimeS, Y: t.TokensPerS}, plotter.XY{X: t.TimeS + r.ThroughputBinS, Y: t.TokensPerS})
		ymax = max(ymax, t.TokensPerS)
	}
	if len(pts) == 0 {
		pts = append(pts, plotter.XY{})
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	p.Add(line)
	p.Legend.Add("tokens/s", line)
	p.Y.Min, p.Y.Max = 0, ymax*1.15
	seen := map[string]bool{}
	for _, e := range r.Events {
		l, err := plotter.NewLine(plotter.XYs{{X: e.AtS, Y: 0}, {X: e.AtS, Y: ymax * 1.1}})
		if err != nil {
			return nil, err
		}
		l.Color = eventColor(e.Kind)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		if !seen[e.Kind] {
			p.Legend.Add(e.Kind, l)
			seen[e.Kind] = true
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: e.AtS, Y: ymax * 1.1}}, Labels: []string{e.Kind + " " + e.Target}})
		if err != nil {
			return nil, err
		}
		p.Add(lab)
	}
	p.Legend.Top = true
	return p, nil
}

func cdf(v []float64) plotter.XYs {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	out := make(plotter.XYs, len(s))
	for i, x := range s {
		out[i] = plotter.XY{X: x, Y: float64(i+1) / float64(len(s))}
	}
	return out
}

func (r *Results) latencyPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = r.Scenario + ": latency CDF"
	p.X.Label.Text = "ms"
	p.Y.Label.Text = "fraction of requests"
	var ttft, per []float64
	for _, q := range r.Requests {
		if q.Error != "" || q.Warmup {
			continue
		}
		ttft = append(ttft, q.TTFTMS)
		if q.OutputTokens > 1 {
			per = append(per, q.PerTokenMS)
		}
	}
	for i, s := range []struct {
		name string
		v    []float64
	}{{"time to first token", ttft}, {"mean per-token latency", per}} {
		if len(s.v) == 0 {
			continue
		}
		l, err := plotter.NewLine(cdf(s.v))
		if err != nil {
			return nil, err
		}
		l.Color = plotColor(i)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Left, p.Legend.Top = false, false
	return p, nil
}

func plotColor(i int) color.Color {
	c := []color.Color{
		color.RGBA{R: 31, G: 119, B: 180, A: 255},
		color.RGBA{R: 255, G: 127, B: 14, A: 255},
		color.RGBA{R: 44, G: 160, B: 44, A: 255},
	}
	return c[i%len(c)]
}

// hopsPlot stacks, per route position, the mean compute, network and
// queue time per step, as the nodes measured them.
func (r *Results) hopsPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = r.Scenario + ": per-hop time per step (mean)"
	p.Y.Label.Text = "ms"
	type acc struct{ c, n, q, k float64 }
	var pos []acc
	for _, h := range r.Hops {
		for len(pos) <= h.Index {
			pos = append(pos, acc{})
		}
		a := &pos[h.Index]
		a.c += h.ComputeMS
		a.n += h.NetworkMS
		a.q += h.QueueMS
		a.k++
	}
	if len(pos) == 0 {
		pos = append(pos, acc{k: 1})
	}
	vals := [3]plotter.Values{}
	var names []string
	for i, a := range pos {
		k := max(a.k, 1)
		vals[0] = append(vals[0], a.c/k)
		vals[1] = append(vals[1], a.n/k)
		vals[2] = append(vals[2], max(a.q/k, 0))
		names = append(names, fmt.Sprintf("hop %d", i))
	}
	w := vg.Points(30)
	var below *plotter.BarChart
	for i, name := range []string{"compute", "network", "queue"} {
		b, err := plotter.NewBarChart(vals[i], w)
		if err != nil {
			return nil, err
		}
		b.Color = plotColor(i)
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		p.Legend.Add(name, b)
	}
	p.NominalX(names...)
	p.Legend.Top = true
	top := 0.0
	for i := range vals[0] {
		top = max(top, vals[0][i]+vals[1][i]+vals[2][i])
	}
	p.Y.Min, p.Y.Max = 0, max(top*1.3, 1) // room for the legend
	return p, nil
}
