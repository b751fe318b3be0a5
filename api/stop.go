package api

import "strings"

// stopMatcher cuts generated text at the first stop string. Text that could
// be the beginning of a stop string is held back until it is decided, so a
// stream never shows part of a stop string, even one that spans tokens.
type stopMatcher struct {
	stops   []string
	pending string
	done    bool
}

func newStopMatcher(stops []string) *stopMatcher {
	var s []string
	for _, x := range stops {
		if x != "" {
			s = append(s, x)
		}
	}
	return &stopMatcher{stops: s}
}

// Push adds text and returns what may be shown now, and whether a stop
// string was found (then nothing more must be pushed).
func (m *stopMatcher) Push(text string) (out string, stopped bool) {
	if m.done {
		return "", true
	}
	m.pending += text
	if len(m.stops) == 0 {
		out, m.pending = m.pending, ""
		return out, false
	}
	cut := -1
	for _, s := range m.stops {
		if i := strings.Index(m.pending, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out = m.pending[:cut]
		m.pending = ""
		m.done = true
		return out, true
	}
	hold := 0
	for _, s := range m.stops {
		hold = max(hold, overlap(m.pending, s))
	}
	out = m.pending[:len(m.pending)-hold]
	m.pending = m.pending[len(m.pending)-hold:]
	return out, false
}

// Flush returns held-back text at the end of the generation.
func (m *stopMatcher) Flush() string {
	out := m.pending
	m.pending = ""
	if m.done {
		return ""
	}
	return out
}

// overlap is the length of the longest suffix of s that is a proper prefix
// of stop.
func overlap(s, stop string) int {
	for n := min(len(s), len(stop)-1); n > 0; n-- {
		if strings.HasSuffix(s, stop[:n]) {
			return n
		}
	}
	return 0
}
