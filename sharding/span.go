package sharding

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Span is the half-open range [Start, End) of a model's transformer
// blocks. It is the one span type of Orbit: the engine loads one, a server
// serves one, a route is a chain of them, and the CLI and config files
// write one as text ("a:b" or "[a,b)"; see ParseSpan).
type Span struct{ Start, End int }

// Len is the number of blocks in s; it is 0 for an empty or inverted span.
func (s Span) Len() int { return max(0, s.End-s.Start) }

// Contains reports whether block b is in s.
func (s Span) Contains(b int) bool { return s.Start <= b && b < s.End }

// String formats s as [Start,End).
func (s Span) String() string { return fmt.Sprintf("[%d,%d)", s.Start, s.End) }

// MarshalText writes s as String does: "[Start,End)".
func (s Span) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads s as ParseSpan does.
func (s *Span) UnmarshalText(b []byte) error {
	v, err := ParseSpan(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ErrBadSpan is what ParseSpan wraps for text that is not a span.
var ErrBadSpan = errors.New("want a:b or [a,b) with 0 <= a <= b")

// ParseSpan reads a span written as "a:b" or as "[a,b)" (String's form),
// both meaning blocks a to b-1, with 0 <= a <= b; spaces around the numbers
// are allowed. An empty span such as "3:3" is valid; callers that need
// blocks check Len.
func ParseSpan(text string) (Span, error) {
	t := strings.TrimSpace(text)
	sep := ":"
	if inner, ok := strings.CutPrefix(t, "["); ok {
		if inner, ok = strings.CutSuffix(inner, ")"); !ok {
			return Span{}, fmt.Errorf("span %q: %w", text, ErrBadSpan)
		}
		t, sep = inner, ","
	}
	a, b, ok := strings.Cut(t, sep)
	if !ok {
		return Span{}, fmt.Errorf("span %q: %w", text, ErrBadSpan)
	}
	start, err1 := strconv.Atoi(strings.TrimSpace(a))
	end, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return Span{}, fmt.Errorf("span %q: %w", text, ErrBadSpan)
	}
	return Span{Start: start, End: end}, nil
}
