package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestTerminal(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Terminal(f) || Terminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
}

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		label  string
		frac   float64
		status string
		want   string
	}{
		{"", 0, "0s", "\r[" + strings.Repeat(" ", 30) + "] 0s"},
		{"fetch", 0.5, "50%", "\rfetch [" + strings.Repeat("=", 15) + strings.Repeat(" ", 15) + "] 50%"},
		{"import x", 1, "done", "\rimport x [" + strings.Repeat("=", 30) + "] done"},
		{"", 1.7, "", "\r[" + strings.Repeat("=", 30) + "] "},
		{"", -2, "", "\r[" + strings.Repeat(" ", 30) + "] "},
	} {
		if got := Line(tc.label, tc.frac, tc.status); got != tc.want {
			t.Errorf("Line(%q, %v, %q) = %q, want %q", tc.label, tc.frac, tc.status, got, tc.want)
		}
	}
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		frac  float64
		width int
		want  string
	}{{0.25, 20, "[=====               ]"}, {1, 4, "[====]"}, {0.99, 4, "[=== ]"}, {0, 0, "[]"}} {
		if got := Bar(tc.frac, tc.width); got != tc.want {
			t.Errorf("Bar(%v, %d) = %q, want %q", tc.frac, tc.width, got, tc.want)
		}
	}
}
