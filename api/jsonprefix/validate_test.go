package jsonprefix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// validators are compiled validators (a JSON Schema implementation of
// its own, draft 2020-12) by schema text.
var validators sync.Map

// validatorFor is src's validator.
func validatorFor(t testing.TB, src string) *jsonschema.Schema {
	t.Helper()
	if v, ok := validators.Load(src); ok {
		return v.(*jsonschema.Schema)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	vs, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("validator of %s: %v", src, err)
	}
	validators.Store(src, vs)
	return vs
}

// validates reports whether text is one JSON value vs allows.
func validates(vs *jsonschema.Schema, text []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		return err
	}
	return vs.Validate(inst)
}

// checkCompletion checks that p (after in) completes with its Completion
// to a value vs allows, that it takes the completion whole, and that
// CompletionLen is its length.
func checkCompletion(t testing.TB, vs *jsonschema.Schema, in []byte, p Parser) {
	t.Helper()
	comp := p.Completion()
	full := append(append([]byte{}, in...), comp...)
	if err := validates(vs, full); err != nil {
		t.Fatalf("%s + completion %s: not a value of the schema: %v", in, comp, err)
	}
	q := p
	if !q.Write(comp) || !q.Complete() {
		t.Fatalf("%s + completion %s: the parser does not take it whole", in, comp)
	}
	if p.CompletionLen() != len(comp) {
		t.Fatalf("%s: CompletionLen %d, completion %s", in, p.CompletionLen(), comp)
	}
}

// pydanticSchema is what pydantic (model_json_schema) writes for
//
//	class Color(str, Enum): RED = "red"; GREEN = "green"
//	class Address(BaseModel):
//	    street: str = Field(max_length=12); zip: Optional[str] = None
//	class Person(BaseModel):
//	    kind: Literal["person"]; name: str = Field(min_length=1)
//	    age: Optional[int] = None; address: Address
//	    previous: list[Address] = Field(max_length=2); color: Optional[Color] = None
//	    tags: list[str] = Field(min_length=1); boss: Optional["Person"] = None
//
// with OpenAI's strict mode's additionalProperties false.
const pydanticSchema = `{
 "$defs": {
  "Address": {"additionalProperties": false, "properties": {
    "street": {"maxLength": 12, "title": "Street", "type": "string"},
    "zip": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Zip"}},
   "required": ["street"], "title": "Address", "type": "object"},
  "Color": {"enum": ["red", "green"], "title": "Color", "type": "string"},
  "Person": {"additionalProperties": false, "properties": {
    "kind": {"const": "person", "title": "Kind", "type": "string"},
    "name": {"minLength": 1, "title": "Name", "type": "string"},
    "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Age"},
    "address": {"$ref": "#/$defs/Address"},
    "previous": {"items": {"$ref": "#/$defs/Address"}, "maxItems": 2, "title": "Previous", "type": "array"},
    "color": {"anyOf": [{"$ref": "#/$defs/Color"}, {"type": "null"}], "default": null},
    "tags": {"items": {"type": "string"}, "minItems": 1, "title": "Tags", "type": "array"},
    "boss": {"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}], "default": null}},
   "required": ["kind", "name", "address", "previous", "tags"], "title": "Person", "type": "object"}
 },
 "$ref": "#/$defs/Person"
}`

// unionSchema has unions that the first byte does not tell apart: two
// objects (a discriminated union), strings of bounded lengths, and type
// lists.
const unionSchema = `{"type": "object", "additionalProperties": false, "required": ["shape", "labels"], "properties": {
 "shape": {"oneOf": [
   {"type": "object", "additionalProperties": false, "required": ["kind", "r"],
    "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}}},
   {"type": "object", "additionalProperties": false, "required": ["kind", "w"],
    "properties": {"kind": {"enum": ["square", "rect"]}, "w": {"type": "integer"}, "h": {"type": ["integer", "null"]}}}]},
 "labels": {"type": "array", "minItems": 2, "maxItems": 3, "items": {"anyOf": [
   {"type": "string", "maxLength": 2}, {"type": "string", "minLength": 4, "maxLength": 5}, {"const": 7}]}},
 "tree": {"$ref": "#/definitions/Tree"}},
 "definitions": {"Tree": {"type": "object", "additionalProperties": false, "required": ["v"], "properties": {
   "v": {"type": "integer"}, "kids": {"type": "array", "maxItems": 2, "items": {"$ref": "#/definitions/Tree"}}}}}}`

// genValue is a random value of the schema sv (root, for $ref), or now
// and then one that breaks it, as Go values json.Marshal writes.
func genValue(r *rand.Rand, sv, root map[string]any, depth int) any {
	if r.IntN(40) == 0 || depth > 6 {
		return []any{nil, "x", 3, 2.5, true, []any{}, map[string]any{}, "héllo wörld"}[r.IntN(8)]
	}
	if ref, ok := sv["$ref"].(string); ok {
		parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		if len(parts) == 2 {
			def, _ := root[parts[0]].(map[string]any)
			d, _ := def[parts[1]].(map[string]any)
			return genValue(r, d, root, depth+1)
		}
		return genValue(r, root, root, depth+1)
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := sv[k].([]any); ok {
			a, _ := alts[r.IntN(len(alts))].(map[string]any)
			return genValue(r, a, root, depth+1)
		}
	}
	if c, ok := sv["const"]; ok {
		return c
	}
	if e, ok := sv["enum"].([]any); ok {
		return e[r.IntN(len(e))]
	}
	types := []any{"string", "integer", "number", "boolean", "null", "object", "array"}
	switch t := sv["type"].(type) {
	case string:
		types = []any{t}
	case []any:
		types = t
	}
	num := func(k string, d int) int {
		if f, ok := sv[k].(float64); ok {
			return int(f)
		}
		return d
	}
	switch types[r.IntN(len(types))] {
	case "string":
		lo, hi := num("minLength", 0), num("maxLength", 8)
		n := lo + r.IntN(hi-lo+1)
		if r.IntN(8) == 0 { // one too many or too few
			n = []int{hi + 1, lo - 1}[r.IntN(2)]
		}
		var b strings.Builder
		for range n {
			b.WriteRune([]rune("ab\"é😀\n")[r.IntN(6)])
		}
		return b.String()
	case "integer":
		return r.IntN(200) - 100
	case "number":
		return []any{1.5, -2, 0, 1e21}[r.IntN(4)]
	case "boolean":
		return r.IntN(2) == 0
	case "null":
		return nil
	case "array":
		items, _ := sv["items"].(map[string]any)
		lo, hi := num("minItems", 0), num("maxItems", 3)
		n := lo + r.IntN(hi-lo+1)
		if r.IntN(8) == 0 {
			n = []int{hi + 1, lo - 1}[r.IntN(2)]
		}
		a := []any{}
		for range n {
			a = append(a, genValue(r, items, root, depth+1))
		}
		return a
	case "object":
		props, _ := sv["properties"].(map[string]any)
		req, _ := sv["required"].([]any)
		o := map[string]any{}
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			required := false
			for _, q := range req {
				required = required || q == n
			}
			if (required && r.IntN(30) != 0) || r.IntN(2) == 0 {
				p, _ := props[n].(map[string]any)
				o[n] = genValue(r, p, root, depth+1)
			}
		}
		if sv["additionalProperties"] == false && r.IntN(15) == 0 {
			o["zz"] = 1
		}
		return o
	}
	return nil
}

// TestSchemaExact: for random values of schemas with every keyword
// Compile takes (additionalProperties false, as the recognizer reads an
// object with properties), the parser takes the value's JSON whole
// exactly when the validator allows it, and every prefix it takes
// completes to an allowed value.
func TestSchemaExact(t *testing.T) {
	for _, src := range []string{pydanticSchema, unionSchema, testSchema} {
		var sv map[string]any
		if err := json.Unmarshal([]byte(src), &sv); err != nil {
			t.Fatal(err)
		}
		s, err := Compile(sv)
		if err != nil {
			t.Fatal(err)
		}
		vs := validatorFor(t, src)
		r := rand.New(rand.NewPCG(uint64(len(src)), 1))
		good := 0
		for i := range 600 {
			text, err := json.Marshal(genValue(r, sv, sv, 0))
			if err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 { // JSON as people indent it
				var b bytes.Buffer
				_ = json.Indent(&b, text, "", "  ")
				text = b.Bytes()
			}
			p := NewSchema(s)
			n := 0
			for n < len(text) && p.Feed(text[n]) {
				n++
			}
			verr := validates(vs, text)
			if (n == len(text) && p.Complete()) != (verr == nil) {
				t.Fatalf("%s: parser takes %d of %d bytes (complete %v), validator: %v", text, n, len(text), p.Complete(), verr)
			}
			if verr == nil {
				good++
			}
			q := NewSchema(s)
			q.Write(text[:n])
			checkCompletion(t, vs, text[:n], q)
		}
		t.Logf("%d of 600 valid", good)
		if good < 100 {
			t.Errorf("only %d of 600 values valid: the test checks too little", good)
		}
	}
}

// TestSchemaKeywords checks prefixes of texts against schemas of each
// keyword.
func TestSchemaKeywords(t *testing.T) {
	for _, tc := range []struct {
		schema, in   string
		ok, complete bool
	}{
		{`{"type":"string","maxLength":2}`, `"ab"`, true, true},
		{`{"type":"string","maxLength":2}`, `"abc`, false, false},
		{`{"type":"string","maxLength":2}`, `"é\n"`, true, true},
		{`{"type":"string","maxLength":2}`, `"\u00e9\u00e9"`, true, true},
		{`{"type":"string","maxLength":2}`, `"\ud83d`, false, false},
		{`{"type":"string","maxLength":2}`, "\"\xff", false, false},
		{`{"type":"string","maxLength":2}`, "\"\xed\xa0", false, false},
		{`{"type":"string","minLength":2}`, `"a"`, false, false},
		{`{"type":"string","minLength":2}`, `"a`, true, false},
		{`{"type":"array","minItems":2}`, `[1]`, false, false},
		{`{"type":"array","minItems":2}`, `[]`, false, false},
		{`{"type":"array","minItems":2,"maxItems":2}`, `[1,2]`, true, true},
		{`{"type":"array","maxItems":2}`, `[1,2,`, false, false},
		{`{"type":"array","maxItems":0}`, `[1`, false, false},
		{`{"const":"x"}`, `"x"`, true, true},
		{`{"const":"x"}`, `"y`, false, false},
		{`{"type":"object","additionalProperties":false}`, `{"`, false, false},
		{`{"type":"object","additionalProperties":false}`, `{}`, true, true},
		{`{"type":"object","additionalProperties":true}`, `{"q":[1]}`, true, true},
		{`{"type":["string","null"]}`, `null`, true, true},
		{`{"type":["string","null"]}`, `1`, false, false},
		{`{"type":["object","null"],"properties":{"a":{}}}`, `null`, true, true},
		{`{"anyOf":[{"type":"string","maxLength":1},{"type":"string","minLength":3}]}`, `"ab"`, false, false},
		{`{"anyOf":[{"type":"string","maxLength":1},{"type":"string","minLength":3}]}`, `"abc"`, true, true},
		{`{"anyOf":[{"type":"string","maxLength":1},{"type":"string","minLength":3}]}`, `"a"`, true, true},
		{`{"oneOf":[{"type":"integer"},{"type":"boolean"}]}`, `1.5`, false, false},
		{`{"allOf":[{"type":"integer"}]}`, `15`, true, true},
		{`{"$defs":{"L":{"type":"array","items":{"$ref":"#/$defs/L"}}},"$ref":"#/$defs/L"}`, `[[[],[[]]]]`, true, true},
		{`{"$defs":{"L":{"type":"array","items":{"$ref":"#/$defs/L"}}},"$ref":"#/$defs/L"}`, `[[1`, false, false},
		{`{"anyOf":[{"$ref":"#"},{"type":"null"}],"title":"x"}`, `null`, true, true},
		{`{"type":"array","items":{"anyOf":[{"$ref":"#"},{"type":"null"}]}}`, `[[null,[]],null]`, true, true},
		{`{"enum":["a",1,null],"type":"string"}`, `1`, false, false},
		{`{"enum":["a","bcd"],"maxLength":2}`, `"b`, false, false},
		{`{"type":"string","anyOf":[{"enum":["a",1]},{"type":"integer"}]}`, `1`, false, false},
		{`{"type":"string","anyOf":[{"enum":["a",1]},{"type":"integer"}]}`, `"a"`, true, true},
		{`{"type":"object","$ref":"#/$defs/A","$defs":{"A":{"anyOf":[{"type":"object","properties":{"b":{}},"required":["b"]},{"type":"null"}]}}}`, `n`, false, false},
		{`{"type":"object","$ref":"#/$defs/A","$defs":{"A":{"anyOf":[{"type":"object","properties":{"b":{}},"required":["b"]},{"type":"null"}]}}}`, `{"b":1}`, true, true},
		{`{"properties":{"a":true}}`, `{"a":[{"b":null}]}`, true, true},
		{`{"definitions":{"a/b":{"type":"null"}},"$ref":"#/definitions/a~1b"}`, `null`, true, true},
	} {
		var sv any
		if err := json.Unmarshal([]byte(tc.schema), &sv); err != nil {
			t.Fatal(err)
		}
		s, err := Compile(sv)
		if err != nil {
			t.Fatalf("%s: %v", tc.schema, err)
		}
		p := NewSchema(s)
		ok := p.WriteString(tc.in)
		if ok != tc.ok || p.Complete() != tc.complete {
			t.Errorf("%s: %s: ok %v complete %v, want %v %v", tc.schema, tc.in, ok, p.Complete(), tc.ok, tc.complete)
		}
		if ok {
			checkCompletion(t, validatorFor(t, tc.schema), []byte(tc.in), p)
		}
	}
}

// FuzzCompile: Compile takes any JSON without panicking; it fails with
// ErrSchema, or the schema's parser completes the empty text to a value
// the validator allows.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{pydanticSchema, unionSchema, testSchema, `{"$ref":"#"}`, `{"anyOf":[{"$ref":"#"},{"type":"null"}]}`,
		`{"type":"array","minItems":3,"items":{"type":"string","minLength":2}}`, `{"pattern":"x"}`, `[1]`, `{"const":{"a":1}}`,
		`{"$defs":{"A":{"$ref":"#/$defs/B"},"B":{"$ref":"#/$defs/A"}},"$ref":"#/$defs/A"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var v any
		if json.Unmarshal([]byte(src), &v) != nil {
			return
		}
		s, err := Compile(v)
		if err != nil {
			if !errors.Is(err, ErrSchema) || !strings.HasPrefix(err.Error(), "jsonprefix: unsupported schema: ") {
				t.Fatalf("%s: %v", src, err)
			}
			return
		}
		p := NewSchema(s)
		comp := p.Completion()
		q := p
		if !q.Write(comp) || !q.Complete() {
			t.Fatalf("%s: completion %s not taken", src, comp)
		}
		// The validator checks what it can compile (Go's regexps etc.
		// aside, Compile took it, so it compiles).
		doc, _ := json.Marshal(v)
		if vs, err := compileValidator(doc); err == nil {
			if err := validates(vs, comp); err != nil {
				t.Fatalf("%s: completion %s: %v", src, comp, err)
			}
		}
	})
}

// compileValidator compiles doc's validator (no cache: fuzz inputs).
func compileValidator(doc []byte) (*jsonschema.Schema, error) {
	d, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", d); err != nil {
		return nil, err
	}
	vs, err := c.Compile("schema.json")
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	return vs, nil
}

// FuzzSchemaUnionPrefix: with schemas of unions, $ref, recursion and
// bounds, every prefix the parser takes completes (with its Completion)
// to a value the validator allows.
func FuzzSchemaUnionPrefix(f *testing.F) {
	for _, s := range []string{
		`{"kind":"person","name":"a","address":{"street":"x","zip":null},"previous":[],"tags":["t"],"boss":{"kind":"person","name":"b"`,
		`{"shape":{"kind":"rect","w":1,"h":null},"labels":["ab","abcd",7],"tree":{"v":1,"kids":[{"v":2,"kids":[]}]}}`,
		`{"shape":{"kind":"c`, `{"labels":["é😀`, `{"age":null,"color":"gr`,
	} {
		f.Add(s, uint8(len(s)))
	}
	f.Fuzz(func(t *testing.T, in string, which uint8) {
		src := []string{pydanticSchema, unionSchema}[which%2]
		vs := validatorFor(t, src)
		var sv any
		_ = json.Unmarshal([]byte(src), &sv)
		s, err := Compile(sv)
		if err != nil {
			t.Fatal(err)
		}
		p := NewSchema(s)
		for i := 0; i < len(in); i++ {
			q := p
			if !p.Feed(in[i]) {
				checkCompletion(t, vs, []byte(in[:i]), q)
				return
			}
		}
		checkCompletion(t, vs, []byte(in), p)
		if p.Complete() {
			if err := validates(vs, []byte(in)); err != nil {
				t.Fatalf("%s: complete, but %v", in, err)
			}
		}
	})
}

// TestSchemaDeepRecursion: a recursive schema nests up to MaxDepth
// levels, and at every level, the last ones too, the text so far
// completes to a value the validator allows (an opening whose required
// contents would not fit is refused).
func TestSchemaDeepRecursion(t *testing.T) {
	for _, tc := range []struct {
		schema, open string
		most         int // the openings taken
	}{
		{`{"$defs":{"L":{"type":"array","items":{"$ref":"#/$defs/L"}}},"$ref":"#/$defs/L"}`, `[`, MaxDepth},
		// N's shortest value {"x":{"y":[[]]}} nests 4 levels: an N
		// opens while 3 more fit below it.
		{`{"$defs":{"N":{"type":"object","required":["x"],"properties":{
			"k":{"anyOf":[{"$ref":"#/$defs/N"},{"type":"null"}]},
			"x":{"type":"object","properties":{"y":{"type":"array","minItems":1,"items":{"type":"array"}}},"required":["y"]}}}},
		  "$ref":"#/$defs/N"}`, `{"k":`, MaxDepth - 3},
	} {
		var sv any
		if err := json.Unmarshal([]byte(tc.schema), &sv); err != nil {
			t.Fatal(err)
		}
		s, err := Compile(sv)
		if err != nil {
			t.Fatal(err)
		}
		vs := validatorFor(t, tc.schema)
		p := NewSchema(s)
		var text []byte
		n := 0
		for {
			q := p
			if !q.WriteString(tc.open) {
				break
			}
			p, n = q, n+1
			text = append(text, tc.open...)
			if n%16 == 0 || n > MaxDepth-8 {
				checkCompletion(t, vs, text, p)
			}
		}
		if n != tc.most {
			t.Errorf("%s: %d openings, want %d", tc.schema, n, tc.most)
		}
		checkCompletion(t, vs, text, p)
	}
}
