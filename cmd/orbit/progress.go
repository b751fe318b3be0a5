package main

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/internal/progress"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/weights"
)

// transferBars shows a node's imports and fetches of weights on w, each as
// a weightsProgressBar (a live bar on a terminal, a summary line when it
// ends). Use report as node.Config.OnTransfer.
type transferBars struct {
	w io.Writer

	mu   sync.Mutex
	bars map[string]*transferBar // by kind and model, or imported file
}

type transferBar struct {
	label  string
	update func(weights.Progress)
	done   func()
}

func newTransferBars(w io.Writer) *transferBars {
	return &transferBars{w: w, bars: map[string]*transferBar{}}
}

// transferLabel names a transfer on a bar: "import FILE" or
// "fetch [a,b)".
func transferLabel(kind, file string, start, end int) string {
	if kind == node.TransferImport {
		return "import " + filepath.Base(file)
	}
	return fmt.Sprintf("fetch [%d,%d)", start, end)
}

// report draws t. A bar appears once the size is known (a fetch of a
// model's metadata alone has none) and ends with the transfer.
func (b *transferBars) report(t node.Transfer) {
	key := t.Kind + " " + t.Model
	if t.Kind == node.TransferImport {
		key = t.Kind + " " + t.File // the model is known only at the end
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	bar := b.bars[key]
	if bar == nil {
		if !t.Running() || t.Total == 0 {
			return
		}
		bar = &transferBar{label: transferLabel(t.Kind, t.File, t.Span.Start, t.Span.End)}
		bar.update, bar.done = weightsProgressBar(b.w, bar.label)
		b.bars[key] = bar
	}
	bar.update(t.Progress())
	if t.Running() {
		return
	}
	bar.done()
	delete(b.bars, key)
	if t.Phase == node.PhaseFailed {
		fmt.Fprintf(b.w, "%s failed: %s\n", bar.label, t.Err)
	}
}

// transferLine describes a transfer of the node API on one line, as
// `orbit status` prints it.
func transferLine(t api.Transfer) string {
	what := transferLabel(t.Kind, t.File, t.Start, t.End)
	if t.Model != "" {
		what += " " + t.Model
	}
	switch {
	case t.Running():
		frac := 0.0
		if t.TotalBytes > 0 {
			frac = min(1, float64(t.DoneBytes)/float64(t.TotalBytes))
		}
		total, eta := "?", "--"
		if t.TotalBytes > 0 {
			total = humanize.IBytes(uint64(t.TotalBytes))
		}
		if t.ETASeconds > 0 {
			eta = seconds(t.ETASeconds).String()
		}
		return what + " " + progress.Bar(frac, 20) + " " + bytesStatus(frac, t.DoneBytes, total, t.BytesPerSecond, eta)
	case t.Phase == "failed":
		return fmt.Sprintf("%s failed after %s: %s", what, humanize.IBytes(uint64(t.DoneBytes)), t.Error)
	default:
		return fmt.Sprintf("%s %s: %s in %s", what, t.Phase, humanize.IBytes(uint64(t.DoneBytes)), seconds(t.ElapsedSeconds))
	}
}

// seconds is s seconds rounded to a readable precision.
func seconds(s float64) time.Duration {
	d := time.Duration(s * float64(time.Second))
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// bytesStatus is the status beside a bar of a transfer: "25.0% 2.0 MiB /
// 8.0 MiB  1.0 MiB/s  ETA 6s".
func bytesStatus(frac float64, done int64, total string, rate float64, eta string) string {
	return fmt.Sprintf("%5.1f%% %s / %s  %s/s  ETA %s", frac*100, humanize.IBytes(uint64(done)), total, humanize.IBytes(uint64(rate)), eta)
}
