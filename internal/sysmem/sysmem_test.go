package sysmem

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestParseMemAvailable(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       int64
		err        bool
	}{
		{"linux", "MemTotal:       16315412 kB\nMemFree:         1173476 kB\nMemAvailable:    9794060 kB\nBuffers:          431564 kB\n", 9794060 << 10, false},
		{"first line", "MemAvailable: 1 kB", 1024, false},
		{"zero", "MemAvailable: 0 kB\n", 0, false},
		{"missing", "MemTotal: 5 kB\n", 0, true},
		{"empty", "", 0, true},
		{"no unit", "MemAvailable: 5\n", 0, true},
		{"other unit", "MemAvailable: 5 MB\n", 0, true},
		{"not a number", "MemAvailable: x kB\n", 0, true},
		{"negative", "MemAvailable: -5 kB\n", 0, true},
		{"overflow", "MemAvailable: 99999999999999999999 kB\n", 0, true},
	} {
		got, err := ParseMemAvailable(strings.NewReader(tc.text))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: %d, %v; want %d (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
	if _, err := ParseMemAvailable(strings.NewReader("")); !errors.Is(err, ErrNoMemAvailable) {
		t.Errorf("empty: %v, want ErrNoMemAvailable", err)
	}
}

// TestDefaultBudget: 60% of what the kernel reports available, on Linux.
func TestDefaultBudget(t *testing.T) {
	if Budget(10<<30) != 6<<30 {
		t.Fatalf("Budget(10 GiB) = %d", Budget(10<<30))
	}
	if runtime.GOOS != "linux" {
		return
	}
	a, err := Available()
	if err != nil || a <= 0 {
		t.Fatalf("Available: %d, %v", a, err)
	}
	// Memory moves between the two reads: within a tenth.
	if b := DefaultBudget(); b <= 0 || b < Budget(a)*9/10 || b > Budget(a)*11/10 {
		t.Fatalf("DefaultBudget %d, Budget(Available) %d", b, Budget(a))
	}
}

// FuzzParseMemAvailable: any text parses to a non-negative byte count or
// an error, never a panic.
func FuzzParseMemAvailable(f *testing.F) {
	f.Add("MemAvailable:    9794060 kB\n")
	f.Add("MemTotal: 1 kB\nMemAvailable: 2 kB")
	f.Fuzz(func(t *testing.T, text string) {
		n, err := ParseMemAvailable(strings.NewReader(text))
		if err == nil && (n < 0 || n%1024 != 0) {
			t.Fatalf("%q: %d bytes", text, n)
		}
	})
}
