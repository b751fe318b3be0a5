package jsonprefix

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPrefixes(t *testing.T) {
	for _, tc := range []struct {
		in       string
		object   bool
		ok       bool // a valid prefix
		complete bool
	}{
		{"", false, true, false},
		{"  ", false, true, false},
		{"{", false, true, false},
		{"{}", false, true, true},
		{"{} \n", false, true, true},
		{"{}x", false, false, false},
		{"{},", false, false, false},
		{`{"a"`, false, true, false},
		{`{"a":`, false, true, false},
		{`{"a":1`, false, true, false},
		{`{"a":1}`, false, true, true},
		{`{"a":1,}`, false, false, false},
		{`{"a":1,"b":[true,false,null,-0.5e+3,"x\u00e9\n"]}`, false, true, true},
		{`{a:1}`, false, false, false},
		{`{"a" 1}`, false, false, false},
		{`[1,2]`, false, true, true},
		{`[1,2]`, true, false, false},
		{`[`, true, false, false},
		{`"x`, true, false, false},
		{` {`, true, true, false},
		{`[,]`, false, false, false},
		{`[1,]`, false, false, false},
		{`[]`, false, true, true},
		{`[}`, false, false, false},
		{`{]`, false, false, false},
		{`01`, false, false, false},
		{`-`, false, true, false},
		{`-a`, false, false, false},
		{`1.`, false, true, false},
		{`1.e`, false, false, false},
		{`1e`, false, true, false},
		{`1e+`, false, true, false},
		{`1e+5`, false, true, true},
		{`12`, false, true, true},
		{`12 3`, false, false, false},
		{`tru`, false, true, false},
		{`true`, false, true, true},
		{`trux`, false, false, false},
		{`nul`, false, true, false},
		{`"a\`, false, true, false},
		{`"a\x`, false, false, false},
		{`"\u12`, false, true, false},
		{`"\u12g`, false, false, false},
		{"\"a\nb\"", false, false, false},
		{`"é"`, false, true, true},
		{`[[[]]]`, false, true, true},
		{`[[[]]`, false, true, false},
	} {
		p := New(tc.object)
		ok := p.WriteString(tc.in)
		if ok != tc.ok || p.Complete() != tc.complete {
			t.Errorf("%q (object %v): ok %v complete %v, want %v %v", tc.in, tc.object, ok, p.Complete(), tc.ok, tc.complete)
		}
		if ok {
			if c := tc.in + string(p.Completion()); !json.Valid([]byte(c)) {
				t.Errorf("%q: completion %q is not valid JSON", tc.in, c)
			}
		}
	}
}

func TestDepthLimit(t *testing.T) {
	p := New(false)
	if !p.WriteString(strings.Repeat("[", MaxDepth)) {
		t.Fatal("MaxDepth levels refused")
	}
	if p.Feed('[') {
		t.Fatal("a level past MaxDepth accepted")
	}
}

// check asserts the parser's verdicts on s against encoding/json.
func check(t *testing.T, s []byte, object bool) {
	p := New(object)
	for i, c := range s {
		q := p
		if !p.Feed(c) {
			// The accepted prefix before it must still be completable.
			if comp := q.Completion(); !json.Valid(append(append([]byte{}, s[:i]...), comp...)) {
				t.Fatalf("%q: prefix %q + completion %q is not valid JSON", s, s[:i], comp)
			}
			if json.Valid(s) && (!object || isObject(s)) && q.Depth() < MaxDepth {
				t.Fatalf("%q is valid JSON but byte %d (%q) was refused", s, i, c)
			}
			return
		}
	}
	comp := p.Completion()
	if p.CompletionLen() != len(comp) {
		t.Fatalf("%q: CompletionLen %d, completion %q", s, p.CompletionLen(), comp)
	}
	full := append(append([]byte{}, s...), comp...)
	if !json.Valid(full) {
		t.Fatalf("%q accepted, but with its completion %q it is not valid JSON", s, comp)
	}
	if object && !isObject(full) {
		t.Fatalf("%q accepted as an object prefix, completed to %q", s, full)
	}
	if p.Complete() != json.Valid(s) {
		t.Fatalf("%q: Complete() %v, json.Valid %v", s, p.Complete(), json.Valid(s))
	}
	if p.Complete() != (len(comp) == 0) {
		t.Fatalf("%q: Complete() %v with completion %q", s, p.Complete(), comp)
	}
}

func isObject(s []byte) bool {
	var m map[string]any
	return json.Unmarshal(s, &m) == nil && m != nil
}

func FuzzJSONPrefix(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"a":[1,2.5e-3,true,false,null,"x\"\u00e9"]}`, `[{"k":{}}]`, `-0`, `"s"`, ` {"a" : 1 } `,
		`{"a":1,}`, `[01]`, `{"a"1}`, "\"\x01\"", `[1e]`, `{"`, `[[[[`, `nulll`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, s []byte, object bool) {
		check(t, s, object)
	})
}
