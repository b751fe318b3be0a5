package api

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/orbitswarm/orbit/api/jsonprefix"
)

// TestCallSchemaRefs: a call's schema keeps its arguments' $defs,
// definitions and $ref to the root ("#"), and a parameters schema that
// jsonprefix does not take makes the arguments any object.
func TestCallSchemaRefs(t *testing.T) {
	for _, tc := range []struct {
		params string
		in     string
		ok     bool
	}{
		{`{"type":"object","properties":{"kid":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["kid"]}`, `{"name":"t","args":{"kid":{"kid":null}}}`, true},
		{`{"type":"object","properties":{"kid":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["kid"]}`, `{"name":"t","args":{"kid":{"kid":1`, false},
		{`{"$defs":{"P":{"type":"object","properties":{"a":{"const":1}},"required":["a"]}},"$ref":"#/$defs/P"}`, `{"name":"t","args":{"a":1}}`, true},
		{`{"$defs":{"P":{"type":"object","properties":{"a":{"const":1}},"required":["a"]}},"$ref":"#/$defs/P"}`, `{"name":"t","args":{"a":2`, false},
		{`{"definitions":{"P":{"enum":["x"]}},"type":"object","properties":{"p":{"$ref":"#/definitions/P"}}}`, `{"name":"t","args":{"p":"y`, false},
		{`{"type":"object","properties":{"p":{"type":"string","format":"uri"}}}`, `{"name":"t","args":{"q":[1]}}`, true},
	} {
		s := callSchema(Tool{Function: ToolFunction{Name: "t", Parameters: json.RawMessage(tc.params)}}, "args")
		if s == nil {
			t.Fatalf("%s: no call schema", tc.params)
		}
		p := jsonprefix.NewSchema(s)
		if ok := p.WriteString(tc.in) && (p.Complete() || tc.in[len(tc.in)-1] != '}'); ok != tc.ok {
			t.Errorf("%s: %s: ok %v, want %v", tc.params, tc.in, ok, tc.ok)
		}
	}
}

// PydanticTestSchema is a schema as pydantic's model_json_schema writes
// it (with OpenAI strict mode's additionalProperties false) for
//
//	class Genre(str, Enum): NOVEL = "novel"; ESSAY = "essay"; POEM = "poem"
//	class Author(BaseModel):
//	    name: str = Field(max_length=20); born: Optional[int] = None
//	class Chapter(BaseModel):
//	    title: str; pages: int; notes: Optional[str] = None
//	class Book(BaseModel):
//	    title: str = Field(min_length=1, max_length=40); author: Author
//	    genre: Optional[Genre] = None
//	    chapters: list[Chapter] = Field(min_length=1, max_length=3)
//	    sequel: Optional["Book"] = None
const PydanticTestSchema = `{
  "$defs": {
    "Author": {"additionalProperties": false, "properties": {
        "name": {"maxLength": 20, "title": "Name", "type": "string"},
        "born": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Born"}},
      "required": ["name", "born"], "title": "Author", "type": "object"},
    "Chapter": {"additionalProperties": false, "properties": {
        "title": {"title": "Title", "type": "string"},
        "pages": {"title": "Pages", "type": "integer"},
        "notes": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Notes"}},
      "required": ["title", "pages", "notes"], "title": "Chapter", "type": "object"},
    "Genre": {"enum": ["novel", "essay", "poem"], "title": "Genre", "type": "string"},
    "Book": {"additionalProperties": false, "properties": {
        "title": {"maxLength": 40, "minLength": 1, "title": "Title", "type": "string"},
        "author": {"$ref": "#/$defs/Author"},
        "genre": {"anyOf": [{"$ref": "#/$defs/Genre"}, {"type": "null"}], "default": null},
        "chapters": {"items": {"$ref": "#/$defs/Chapter"}, "maxItems": 3, "minItems": 1, "title": "Chapters", "type": "array"},
        "sequel": {"anyOf": [{"$ref": "#/$defs/Book"}, {"type": "null"}], "default": null}},
      "required": ["title", "author", "genre", "chapters", "sequel"], "title": "Book", "type": "object"}
  },
  "$ref": "#/$defs/Book"
}`

// TestTrieMaskCountedStrings compares the trie's mask with the
// brute-force one in strings whose characters are counted (minLength
// padding, near maxLength, after part of a UTF-8 character, in escapes),
// top-level and inside objects, over byte-level and SentencePiece
// vocabularies, with many and few tokens left.
func TestTrieMaskCountedStrings(t *testing.T) {
	vocabs := maskVocabs(t)
	schemas := []string{
		`{"type":"string","minLength":3,"maxLength":5}`,
		`{"type":"object","properties":{"s":{"type":"string","maxLength":2}},"required":["s"],"additionalProperties":false}`,
		`{"type":"array","items":{"anyOf":[{"type":"string","minLength":4,"maxLength":9},{"type":"null"}]},"minItems":2}`,
	}
	texts := [][]string{
		{`"`, `"a`, `"ab`, `"abcd`, `"abcde`, `"é`, "\"\xe2\x82", "\"a\xf0\x9f", `"a\`, `"a\u00`, `"\n\t`},
		{`{"s":"`, `{"s":"a`, `{"s":"ab`, "{\"s\":\"\xc3", `{"s":"\u`},
		{`["`, `["abc`, `[null,"abcdefgh`, "[\"\xe6\x97\xa5\xe6\x9c\xac", `["ab\"`},
	}
	for _, name := range []string{"llama2-32k", "llama-bpe", "gpt-2"} {
		tok := vocabs[name]
		trie := newVocabTrie(tok)
		for i, src := range schemas {
			var v any
			if err := json.Unmarshal([]byte(src), &v); err != nil {
				t.Fatal(err)
			}
			sch, err := jsonprefix.Compile(v)
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range texts[i] {
				for _, left := range []int{1000, 9, 6, 3, 2} {
					c := newJSONConstraint(&outputFormat{schema: sch}, tok, trie, left)
					if !c.st.write([]byte(text)) {
						t.Fatalf("%s: %q not taken", src, text)
					}
					logits := make([]float32, tok.NumTokens())
					for k := range logits {
						logits[k] = float32(k%89) / 5
					}
					want := append([]float32{}, logits...)
					bruteMask(c.st, tok, c.left, want)
					c.mask(logits)
					for k := range logits {
						if math.Float32bits(logits[k]) != math.Float32bits(want[k]) {
							t.Fatalf("%s %s after %q (left %d): token %d (%q) is %v, brute force %v", name, src, text, left, k, tok.TokenPiece(int32(k)), logits[k], want[k])
						}
					}
				}
			}
		}
	}
}
