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
	checkCompletion(t, validatorFor(t, testSchema), in, p)
}

func TestCompileErrors(t *testing.T) {
	for _, src := range []string{
		`{"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}`,
		`{"type":"string","format":"date-time"}`,
		`{"type":"integer","minimum":3}`,
		`{"anyOf":[{"type":"string"}],"maxLength":3}`,
		`{"type":"null","$ref":"#/$defs/A","$defs":{"A":{"type":"object"}}}`,
		`{"allOf":[{"type":"string"},{"maxLength":3}]}`,
		`{"$ref":"#/$defs/A","$defs":{}}`,
		`{"$ref":"other.json#/a"}`,
		`{"type":"string","minLength":3,"maxLength":2}`,
		`{"type":"array","minItems":1.5}`,
		`{"$defs":{"A":{"$ref":"#/$defs/A"}},"$ref":"#/$defs/A"}`,
		`{"$defs":{"N":{"type":"object","properties":{"n":{"$ref":"#/$defs/N"}},"required":["n"]}},"$ref":"#/$defs/N"}`,
		`{"type":"date"}`,
		`{"type":"object","properties":{"a":{}},"required":["b"]}`,
		`{"type":"object","additionalProperties":{"type":"string"}}`,
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
