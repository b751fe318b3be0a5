package api

import (
	"strings"
	"testing"
)

func TestStopMatcher(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stops   []string
		pieces  []string
		want    []string // output of each Push, then of Flush
		stopped bool
	}{
		{"no stops", nil, []string{"ab", "c"}, []string{"ab", "c", ""}, false},
		{"within a piece", []string{"cd"}, []string{"abcde"}, []string{"ab", ""}, true},
		{"across pieces", []string{"cd"}, []string{"abc", "de"}, []string{"ab", "", ""}, true},
		{"held then released", []string{"cd"}, []string{"abc", "xy"}, []string{"ab", "cxy", ""}, false},
		{"held at the end", []string{"cd"}, []string{"abc"}, []string{"ab", "c"}, false},
		{"earliest of several", []string{"zz", "b"}, []string{"abzz"}, []string{"a", ""}, true},
		{"over three pieces", []string{"xyz"}, []string{"ax", "y", "z!"}, []string{"a", "", "", ""}, true},
		{"empty stop ignored", []string{""}, []string{"ab"}, []string{"ab", ""}, false},
		{"overlapping prefix", []string{"aab"}, []string{"a", "a", "a", "b"}, []string{"", "", "a", "", ""}, true},
		{"utf-8", []string{"é!"}, []string{"café", "!x"}, []string{"caf", "", ""}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newStopMatcher(tc.stops)
			var got []string
			stopped := false
			for _, p := range tc.pieces {
				out, st := m.Push(p)
				got = append(got, out)
				stopped = stopped || st
			}
			got = append(got, m.Flush())
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || stopped != tc.stopped {
				t.Fatalf("got %q stopped %v, want %q stopped %v", got, stopped, tc.want, tc.stopped)
			}
		})
	}
}

// FuzzStopMatcher checks that streaming in any split gives the text before
// the first stop string, or all the text when there is none.
func FuzzStopMatcher(f *testing.F) {
	f.Add("hello world", "wor", 3)
	f.Add("aaab", "aab", 1)
	f.Add("", "x", 0)
	f.Fuzz(func(t *testing.T, text, stop string, split int) {
		m := newStopMatcher([]string{stop})
		var out strings.Builder
		step := split%7 + 1
		if step < 1 {
			step = 1
		}
		stopped := false
		for i := 0; i < len(text) && !stopped; i += step {
			o, st := m.Push(text[i:min(i+step, len(text))])
			out.WriteString(o)
			stopped = st
		}
		out.WriteString(m.Flush())
		want := text
		if stop != "" {
			if i := strings.Index(text, stop); i >= 0 {
				want = text[:i]
			}
		}
		if out.String() != want {
			t.Fatalf("text %q stop %q step %d: got %q, want %q", text, stop, step, out.String(), want)
		}
	})
}
