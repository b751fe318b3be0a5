package jsonprefix

import (
	"encoding/json"
	"errors"
	"testing"
)

const testSchema = `{"type":"object","properties":{
	"name":{"type":"string"},
	"age":{"type":"integer"},
	"score":{"type":"number"},
	"ok":{"type":"boolean"},
	"color":{"enum":["red","green",1,10,null]},
	"tags":{"type":"array","items":{"type":"string"}},
	"pos":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x","y"]},
	"any":{},
	"maybe":{"type":["string","null"]}
},"required":["name","age"],"additionalProperties":false}`

func mustCompile(t testing.TB, src string) *Schema {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(src), &v); err != nil {
		t.Fatal(err)
	}
	s, err := Compile(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// valid reports whether v (decoded by encoding/json) is allowed by s.
func valid(v any, s *Schema) bool {
	if s == nil {
		return true
	}
	if s.enum != nil {
		enc, _ := json.Marshal(v)
		for _, e := range s.enum {
			if string(e) == string(enc) {
				return true
			}
		}
		return false
	}
	switch v := v.(type) {
	case string:
		return s.types&tString != 0
	case float64:
		return s.types&tNumber != 0 || (s.types&tInteger != 0 && v == float64(int64(v)))
	case bool:
		return s.types&tBoolean != 0
	case nil:
		return s.types&tNull != 0
	case []any:
		if s.types&tArray == 0 {
			return false
		}
		for _, x := range v {
			if !valid(x, s.items) {
				return false
			}
		}
		return true
	case map[string]any:
		if s.types&tObject == 0 {
			return false
		}
		if s.props == nil {
			return true
		}
		for i, p := range s.props {
			var name string
			_ = json.Unmarshal(append(append([]byte{'"'}, p.name...), '"'), &name)
			x, ok := v[name]
			if !ok && s.required&(1<<i) != 0 {
				return false
			}
			if ok && !valid(x, p.s) {
				return false
			}
		}
		for k := range v {
			found := false
			for _, p := range s.props {
				var name string
				_ = json.Unmarshal(append(append([]byte{'"'}, p.name...), '"'), &name)
				found = found || name == k
			}
			if !found {
				return false
			}
		}
		return true
	}
	return false
}

func TestSchemaPrefixes(t *testing.T) {
	s := mustCompile(t, testSchema)
	for _, tc := range []struct {
		in           string
		ok, complete bool
	}{
		{`{"name":"a","age":3}`, true, true},
		{`{"age":3,"name":"a"}`, true, true},
		{`{"name":"a"}`, false, false},
		{`{"name":"a","age":3.5`, false, false},
		{`{"name":"a","age":3e`, false, false},
		{`{"name":1`, false, false},
		{`{"nam`, true, false},
		{`{"nme`, false, false},
		{`{"name":"a","name"`, false, false},
		{`{"name":"a","age":-3,"color":"red"}`, true, true},
		{`{"name":"a","age":-3,"color":"blue"`, false, false},
		{`{"name":"a","age":-3,"color":10}`, true, true},
		{`{"name":"a","age":-3,"color":1}`, true, true},
		{`{"name":"a","age":-3,"color":100`, false, false},
		{`{"name":"a","age":-3,"color":null}`, true, true},
		{`{"name":"a","age":0,"tags":["x",1]`, false, false},
		{`{"name":"a","age":0,"tags":["x","y"],"pos":{"x":1,"y":2.5}}`, true, true},
		{`{"name":"a","age":0,"pos":{"x":1}`, false, false},
		{`{"name":"a","age":0,"any":{"q":[1,{"r":null}]},"maybe":null,"ok":true,"score":1.5e3}`, true, true},
		{`{"name":"a","age":0,"maybe":3`, false, false},
		{`{"name":"a","age":0,"extra"`, false, false},
		{`[`, false, false},
	} {
		p := NewSchema(s)
		ok := p.WriteString(tc.in)
		if ok != tc.ok || p.Complete() != tc.complete {
			t.Errorf("%s: ok %v complete %v, want %v %v", tc.in, ok, p.Complete(), tc.ok, tc.complete)
		}
		if ok {
			checkSchemaCompletion(t, s, []byte(tc.in), p)
		}
	}
}

func checkSchemaCompletion(t *testing.T, s *Schema, in []byte, p Parser) {
	t.Helper()
	comp := p.Completion()
	full := append(append([]byte{}, in...), comp...)
	var v any
	if err := json.Unmarshal(full, &v); err != nil || !valid(v, s) {
		t.Fatalf("%s + completion %s: not a value of the schema (%v)", in, comp, err)
	}
	q := p
	if !q.Write(comp) || !q.Complete() {
		t.Fatalf("%s + completion %s: the parser does not take it whole", in, comp)
	}
	if p.CompletionLen() != len(comp) {
		t.Fatalf("%s: CompletionLen %d, completion %s", in, p.CompletionLen(), comp)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, src := range []string{
		`{"type":"object","properties":{"a":{"type":"string","minLength":3}}}`,
		`{"anyOf":[{"type":"string"}]}`,
		`{"type":"date"}`,
		`{"type":"object","properties":{"a":{}},"required":["b"]}`,
		`{"type":"object","additionalProperties":true}`,
		`{"enum":[{"a":1}]}`,
		`{"$ref":"#/x"}`,
		`[]`,
	} {
		var v any
		_ = json.Unmarshal([]byte(src), &v)
		if _, err := Compile(v); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: %v, want ErrSchema", src, err)
		}
	}
}

// FuzzJSONSchemaPrefix: every prefix the schema parser takes completes
// (with its Completion) to a value encoding/json decodes and the schema
// allows, and the parser never panics.
func FuzzJSONSchemaPrefix(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","age":3}`, `{"age":3,"name":"a","color":"green","tags":[],"pos":{"y":1,"x":2}}`,
		`{"name":"\u00e9","age":-0,"any":[1,{"b":[]}],"maybe":"s","ok":false,"score":-1.5E+2}`, `{"nam`, `{"name":"a","age":1,"color":1`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := mustCompile(t, testSchema)
		p := NewSchema(s)
		for i, c := range in {
			q := p
			if !p.Feed(c) {
				checkSchemaCompletion(t, s, in[:i], q)
				return
			}
		}
		checkSchemaCompletion(t, s, in, p)
	})
}
