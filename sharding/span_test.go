package sharding

import (
	"errors"
	"testing"
)

func TestSpanText(t *testing.T) {
	for _, s := range []Span{{0, 0}, {0, 4}, {7, 32}} {
		b, err := s.MarshalText()
		if err != nil || string(b) != s.String() {
			t.Fatalf("%v.MarshalText() = %q, %v", s, b, err)
		}
		var back Span
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, s)
		}
	}
	if got := (Span{2, 5}).String(); got != "[2,5)" {
		t.Errorf("String() = %q, want [2,5)", got)
	}
	s := Span{1, 2}
	if err := s.UnmarshalText([]byte("5:1")); err == nil || s != (Span{1, 2}) {
		t.Errorf("UnmarshalText(5:1) = %v, left %v; want an error and the span unchanged", err, s)
	}
}

func TestParseSpan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Span
		ok   bool
	}{
		{"0:4", Span{0, 4}, true},
		{"2:3", Span{2, 3}, true},
		{"3:3", Span{3, 3}, true},
		{" 1 : 5 ", Span{1, 5}, true},
		{"[0,4)", Span{0, 4}, true},
		{"[2, 9)", Span{2, 9}, true},
		{"[3,3)", Span{3, 3}, true},
		{"4:2", Span{}, false},
		{"-1:2", Span{}, false},
		{"[-1,2)", Span{}, false},
		{"1", Span{}, false},
		{"", Span{}, false},
		{"a:b", Span{}, false},
		{"[0,4]", Span{}, false},
		{"[0:4)", Span{}, false},
		{"0,4", Span{}, false},
		{"1:2:3", Span{}, false},
	} {
		got, err := ParseSpan(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadSpan) {
			t.Errorf("ParseSpan(%q): error %v is not ErrBadSpan", tc.in, err)
		}
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"0:4", "[2,9)", "3:3", "-1:2", "[0,4]", "", "1:2:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSpan(text)
		if err != nil {
			return
		}
		if s.Start < 0 || s.End < s.Start {
			t.Fatalf("ParseSpan(%q) = %v: not 0 <= start <= end", text, s)
		}
		back, err := ParseSpan(s.String())
		if err != nil || back != s {
			t.Fatalf("ParseSpan(%q) = %v, but its String %q reads back as %v, %v", text, s, s.String(), back, err)
		}
	})
}
