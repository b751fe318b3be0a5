package bench

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gonum.org/v1/plot/vg"
)

// hopResults makes the hop rows Results.finish would: one per hop of
// each request, with the request's index on its route.
func hopResults(reqs ...[]HopResult) []HopResult {
	var out []HopResult
	for r, hops := range reqs {
		for i, h := range hops {
			h.Request, h.Index = r, i
			out = append(out, h)
		}
	}
	return out
}

// TestHopBars: the bars of hops.png are per node and span (not per route
// position), labelled "node [start,end)", averaged over the requests
// that ran through them and ordered by span, then node.
func TestHopBars(t *testing.T) {
	for _, tc := range []struct {
		name string
		hops []HopResult
		want []hopBar
	}{
		{name: "none", hops: nil, want: nil},
		{
			name: "two replicas per span",
			hops: hopResults(
				[]HopResult{{Node: "node-3", Start: 0, Blocks: 4, ComputeMS: 1, NetworkMS: 2, QueueMS: 0.5},
					{Node: "node-2", Start: 4, Blocks: 4, ComputeMS: 3, NetworkMS: 1}},
				[]HopResult{{Node: "node-1", Start: 0, Blocks: 4, ComputeMS: 2, NetworkMS: 2},
					{Node: "node-2", Start: 4, Blocks: 4, ComputeMS: 5, NetworkMS: 3, QueueMS: -0.1}},
				[]HopResult{{Node: "node-3", Start: 0, Blocks: 4, ComputeMS: 3, NetworkMS: 4, QueueMS: 1.5},
					{Node: "node-4", Start: 4, Blocks: 4, ComputeMS: 1, NetworkMS: 1}},
			),
			want: []hopBar{
				{Label: "node-1 [0,4)", Node: "node-1", Start: 0, End: 4, ComputeMS: 2, NetworkMS: 2, Hops: 1},
				{Label: "node-3 [0,4)", Node: "node-3", Start: 0, End: 4, ComputeMS: 2, NetworkMS: 3, QueueMS: 1, Hops: 2},
				{Label: "node-2 [4,8)", Node: "node-2", Start: 4, End: 8, ComputeMS: 4, NetworkMS: 2, QueueMS: 0, Hops: 2},
				{Label: "node-4 [4,8)", Node: "node-4", Start: 4, End: 8, ComputeMS: 1, NetworkMS: 1, Hops: 1},
			},
		},
		{
			name: "one node, two spans",
			hops: hopResults(
				[]HopResult{{Node: "entry", Start: 0, Blocks: 8, ComputeMS: 1}},
				[]HopResult{{Node: "entry", Start: 0, Blocks: 2, ComputeMS: 1}, {Node: "s", Start: 2, Blocks: 6, ComputeMS: 1}},
			),
			want: []hopBar{
				{Label: "entry [0,2)", Node: "entry", Start: 0, End: 2, ComputeMS: 1, Hops: 1},
				{Label: "entry [0,8)", Node: "entry", Start: 0, End: 8, ComputeMS: 1, Hops: 1},
				{Label: "s [2,8)", Node: "s", Start: 2, End: 8, ComputeMS: 1, Hops: 1},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Results{Hops: tc.hops}
			if got := r.hopBars(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("bars\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// colorRuns returns the runs of image columns [x0,x1) holding a pixel of
// exactly color c, and each run's lowest and highest such row.
func colorRuns(img image.Image, c color.Color) [][4]int {
	var runs [][4]int
	b := img.Bounds()
	cr, cg, cb, _ := c.RGBA()
	in := false
	for x := b.Min.X; x <= b.Max.X; x++ {
		y0, y1 := math.MaxInt, -1
		if x < b.Max.X {
			for y := b.Min.Y; y < b.Max.Y; y++ {
				r, g, bb, _ := img.At(x, y).RGBA()
				if r == cr && g == cg && bb == cb {
					y0, y1 = min(y0, y), max(y1, y)
				}
			}
		}
		switch {
		case y1 >= 0 && !in:
			runs = append(runs, [4]int{x, x + 1, y0, y1})
			in = true
		case y1 >= 0:
			k := &runs[len(runs)-1]
			k[1], k[2], k[3] = x+1, min(k[2], y0), max(k[3], y1)
		default:
			in = false
		}
	}
	return runs
}

// TestHopsPlotLayout renders hops.png for two to six bars and checks the
// layout in the pixels: the image is not blank, every bar (its compute
// part, in the first colour) has the same width (none clipped), all bars
// lie inside the image with a margin, and the legend's compute swatch
// stands to the right of every bar, over none of them.
func TestHopsPlotLayout(t *testing.T) {
	for _, n := range []int{1, 2, 3, 6} {
		t.Run(string(rune('0'+n))+" bars", func(t *testing.T) {
			var hops []HopResult
			for i := range n {
				hops = append(hops, HopResult{Node: "node-" + string(rune('1'+i)), Start: 4 * (i / 2), Blocks: 4,
					ComputeMS: 1 + float64(i), NetworkMS: 2, QueueMS: 0.5})
			}
			r := &Results{Scenario: "layout", Hops: hopResults(hops)}
			fig, err := r.hopsPlot()
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "hops.png")
			if err := save(fig, 8*vg.Inch, 4.5*vg.Inch, file); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			colors := map[color.RGBA]bool{}
			b := img.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y += 3 {
				for x := b.Min.X; x < b.Max.X; x += 3 {
					colors[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
				}
			}
			if len(colors) < 4 {
				t.Fatalf("hops.png is blank: %d colours", len(colors))
			}
			runs := colorRuns(img, plotColor(0))
			if len(runs) != n+1 {
				t.Fatalf("%d runs of the compute colour, want %d bars and the legend swatch: %v", len(runs), n, runs)
			}
			bars, swatch := runs[:n], runs[n]
			w := bars[0][1] - bars[0][0]
			margin := b.Dx() / 50
			for i, r := range bars {
				if d := r[1] - r[0]; d < w-1 || d > w+1 {
					t.Errorf("bar %d is %d px wide, bar 0 %d px: clipped", i, d, w)
				}
				if r[0] < b.Min.X+margin || r[1] > swatch[0]-margin {
					t.Errorf("bar %d at x [%d,%d): outside the axes or under the legend (swatch at %d, image %v)", i, r[0], r[1], swatch[0], b)
				}
			}
			// Evenly placed: equal gaps between the bars' centres.
			for i := 2; i < n; i++ {
				g0 := bars[1][0] + bars[1][1] - bars[0][0] - bars[0][1]
				gi := bars[i][0] + bars[i][1] - bars[i-1][0] - bars[i-1][1]
				if d := gi - g0; d < -3 || d > 3 {
					t.Errorf("bar gaps %d and %d half-pixels: not evenly placed", g0, gi)
				}
			}
			// Half a slot of margin at each end of the axis: the space
			// left of the first bar matches the space right of the last.
			if n > 1 {
				slot := float64(bars[n-1][0]-bars[0][0]) / float64(n-1)
				if left := float64(bars[0][0]); left < slot/2-float64(w) {
					t.Errorf("first bar at %d px with slots of %.0f px: at the edge", bars[0][0], slot)
				}
			}
		})
	}
}
