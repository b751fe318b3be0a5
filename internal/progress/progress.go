// Package progress draws Orbit's one kind of progress bar: a line
// redrawn in place, "[=====     ] status", on a terminal. The weight
// transfers of the CLI and the runs of orbit bench draw with it.
package progress

import (
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
)

// Width is the number of cells of a bar.
const Width = 30

// Bar draws frac (clamped to [0, 1]) as a bar of width cells:
// "[=====     ]".
func Bar(frac float64, width int) string {
	n := int(min(1, max(0, frac)) * float64(width))
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]"
}

// Line is one drawing of a bar of Width cells at frac, redrawn in place on
// a terminal: a carriage return, the label and a space when there is a
// label, the bar, a space and the status.
func Line(label string, frac float64, status string) string {
	if label != "" {
		label += " "
	}
	return "\r" + label + Bar(frac, Width) + " " + status
}

// Terminal reports whether w is a terminal, where a bar can be redrawn.
func Terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}
