package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plot writes throughput.png, latency_cdf.png and hops.png.
func (r *Results) plot(dir string) error {
	return writeFigures(dir, []namedFigure{
		{"throughput.png", plotFigure(r.throughputPlot)},
		{"latency_cdf.png", plotFigure(r.latencyPlot)},
		{"hops.png", r.hopsPlot},
	})
}

// namedFigure is a PNG file of dir and how to draw it.
type namedFigure struct {
	name string
	make func() (figure, error)
}

// writeFigures draws each figure into its file of dir (8 by 4.5 inches).
func writeFigures(dir string, figs []namedFigure) error {
	for _, p := range figs {
		fig, err := p.make()
		if err != nil {
			return fmt.Errorf("bench: plot %s: %w", p.name, err)
		}
		if err := save(fig, 8*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, p.name)); err != nil {
			return fmt.Errorf("bench: plot %s: %w", p.name, err)
		}
	}
	return nil
}

// plotFigure adapts a plot maker to a figure maker.
func plotFigure(f func() (*plot.Plot, error)) func() (figure, error) {
	return func() (figure, error) {
		p, err := f()
		if err != nil {
			return nil, err
		}
		return p, nil
	}
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

// hopBar is one bar of hops.png: a node running a span of blocks, with
// its mean time per step over the requests it served that span in.
type hopBar struct {
	Label      string // "node-3 [0,8)"
	Node       string
	Start, End int
	ComputeMS  float64
	NetworkMS  float64
	QueueMS    float64
	Hops       int // hop results averaged
}

// hopBars groups the hop results by node and span, ordered by span (first
// block, then last) and node name.
func (r *Results) hopBars() []hopBar {
	type key struct {
		node       string
		start, end int
	}
	idx := map[key]int{}
	var bars []hopBar
	for _, h := range r.Hops {
		k := key{h.Node, h.Start, h.Start + h.Blocks}
		i, ok := idx[k]
		if !ok {
			i = len(bars)
			idx[k] = i
			bars = append(bars, hopBar{Label: fmt.Sprintf("%s [%d,%d)", k.node, k.start, k.end), Node: k.node, Start: k.start, End: k.end})
		}
		b := &bars[i]
		b.ComputeMS += h.ComputeMS
		b.NetworkMS += h.NetworkMS
		b.QueueMS += max(h.QueueMS, 0)
		b.Hops++
	}
	for i := range bars {
		k := float64(bars[i].Hops)
		bars[i].ComputeMS /= k
		bars[i].NetworkMS /= k
		bars[i].QueueMS /= k
	}
	sort.Slice(bars, func(i, j int) bool {
		a, b := bars[i], bars[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Node < b.Node
	})
	return bars
}

// figure is what a plot file shows: a plot.Plot, or a plot with its
// legend beside it (withLegend).
type figure interface {
	Draw(c draw.Canvas)
}

// withLegend draws a plot with its legend in a column to the right of
// it, outside the axes, so that the legend never covers data.
type withLegend struct {
	p      *plot.Plot
	legend plot.Legend
}

func (f withLegend) Draw(c draw.Canvas) {
	pad := vg.Points(10)
	r := f.legend.Rectangle(c)
	w := r.Max.X - r.Min.X + 2*pad
	area := c
	area.Max.X -= w
	f.p.Draw(area)
	leg := c
	leg.Min.X = c.Max.X - w + pad
	leg.Max.Y -= f.p.Title.TextStyle.Height(f.p.Title.Text) + 2*pad // level with the axes' top
	f.legend.Draw(leg)
}

// save draws fig on a w x h canvas and writes it to file, in the format
// its extension names.
func save(fig figure, w, h vg.Length, file string) (err error) {
	c, err := draw.NewFormattedCanvas(w, h, strings.TrimPrefix(filepath.Ext(file), "."))
	if err != nil {
		return err
	}
	fig.Draw(draw.New(c))
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = c.WriteTo(f)
	return err
}

// hopsPlot stacks, per node and span that requests ran through, the mean
// compute, network and queue time per step, as the nodes measured them.
// The bars are spread evenly over the X axis, half a slot of margin on
// each side, and the legend stands beside the axes.
func (r *Results) hopsPlot() (figure, error) {
	p := plot.New()
	p.Title.Text = r.Scenario + ": per-hop time per step (mean)"
	p.Y.Label.Text = "ms"
	p.X.Label.Text = "node [blocks)"
	bars := r.hopBars()
	if len(bars) == 0 {
		bars = []hopBar{{Label: "no hop timings"}}
	}
	vals := [3]plotter.Values{}
	names := make([]string, len(bars))
	for i, b := range bars {
		vals[0] = append(vals[0], b.ComputeMS)
		vals[1] = append(vals[1], b.NetworkMS)
		vals[2] = append(vals[2], b.QueueMS)
		names[i] = b.Label
	}
	// Bars fill 60% of their slot on an 8-inch plot, up to 40 points.
	w := min(vg.Points(40), vg.Inch*6*0.6/vg.Length(len(bars)))
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.Padding = vg.Points(2)
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
		legend.Add(name, b)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(bars))-0.5
	top := 0.0
	for i := range vals[0] {
		top = max(top, vals[0][i]+vals[1][i]+vals[2][i])
	}
	p.Y.Min, p.Y.Max = 0, max(top*1.05, 1)
	return withLegend{p: p, legend: legend}, nil
}
