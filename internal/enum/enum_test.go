package enum

import (
	"strconv"
	"strings"
	"testing"
)

type color int

func (c color) String() string { return [...]string{"red", "green", "blue"}[c] }

func parseColor(s string) (color, error) { return Parse("test: color", s, color(0), 1, 2) }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want color
		err  string
	}{
		{"red", 0, ""},
		{"blue", 2, ""},
		{"Blue", 0, `test: color "Blue": want red, green, blue`},
		{"", 0, `test: color "": want red, green, blue`},
	} {
		got, err := parseColor(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("Parse(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	c := color(1)
	if err := Unmarshal(&c, []byte("blue"), parseColor); err != nil || c != 2 {
		t.Errorf("Unmarshal(blue) = %v, %v", c, err)
	}
	if err := Unmarshal(&c, []byte("mauve"), parseColor); err == nil || c != 2 {
		t.Errorf("Unmarshal(mauve) = %v, %v; want an error and blue kept", c, err)
	}
	n := 5
	if err := Unmarshal(&n, []byte("x"), strconv.Atoi); err == nil || n != 5 {
		t.Errorf("Unmarshal(x) into an int = %v, %v", n, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("green")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseColor(s)
		if err == nil && c.String() != s || err != nil && !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Fatalf("Parse(%q) = %v, %v", s, c, err)
		}
	})
}
