package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/jsonprefix"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// petSchema is what pydantic (model_json_schema) writes, with OpenAI
// strict mode's additionalProperties false and every field required, for
//
//	class Kind(str, Enum): CAT = "cat"; DOG = "dog"
//	class Pet(BaseModel):
//	    name: str = Field(max_length=8); kind: Kind; age: Optional[int]
//	class Person(BaseModel):
//	    name: str = Field(min_length=1, max_length=12)
//	    pets: list[Pet] = Field(max_length=2); best: Optional[Pet]
//	    boss: Optional["Person"]
//
// (small: the tiny model's context is 128 tokens).
const petSchema = `{
  "$defs": {
    "Kind": {"enum": ["cat", "dog"], "title": "Kind", "type": "string"},
    "Pet": {"additionalProperties": false, "properties": {
        "name": {"maxLength": 8, "title": "Name", "type": "string"},
        "kind": {"$ref": "#/$defs/Kind"},
        "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Age"}},
      "required": ["name", "kind", "age"], "title": "Pet", "type": "object"},
    "Person": {"additionalProperties": false, "properties": {
        "name": {"maxLength": 12, "minLength": 1, "title": "Name", "type": "string"},
        "pets": {"items": {"$ref": "#/$defs/Pet"}, "maxItems": 2, "title": "Pets", "type": "array"},
        "best": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}]},
        "boss": {"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}]}},
      "required": ["name", "pets", "best", "boss"], "title": "Person", "type": "object"}
  },
  "$ref": "#/$defs/Person"
}`

// pydanticValidator compiles petSchema with a JSON Schema
// implementation of its own (draft 2020-12); tight is the fewest tokens
// that always fit a value (the shortest value's bytes, and one more for
// the end).
func pydanticValidator(t *testing.T) (schema map[string]any, vs *jsonschema.Schema, tight int) {
	t.Helper()
	if err := json.Unmarshal([]byte(petSchema), &schema); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(petSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("person.json", doc); err != nil {
		t.Fatal(err)
	}
	if vs, err = c.Compile("person.json"); err != nil {
		t.Fatal(err)
	}
	s, err := jsonprefix.Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	p := jsonprefix.NewSchema(s)
	return schema, vs, p.CompletionLen() + 1
}

// validPerson says what is wrong with text as a value of the schema ("":
// nothing).
func validPerson(vs *jsonschema.Schema, text string) string {
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return err.Error()
	}
	if err := vs.Validate(inst); err != nil {
		return err.Error()
	}
	return ""
}

// TestJSONSchemaPydantic asks the tiny model over HTTP, by chat
// (response_format json_schema, strict), completions and ollama (format),
// greedy and sampled with seeds, for a value of a schema as pydantic
// writes it ($defs and $ref, a recursive model, Optional fields as anyOf
// with null, a list of a model with bounds, an enum, bounded strings),
// with room and with as few tokens as the shortest value takes: every
// output parses and the validator allows it.
func TestJSONSchemaPydantic(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	schema, vs, tight := pydanticValidator(t)
	rf := map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "person", "strict": true, "schema": schema}}
	for _, maxTok := range []int{400, tight} {
		for _, sm := range []struct {
			temp float64
			seed int64
		}{{0, 0}, {0.8, 1}, {1.2, 5}, {1.5, 9}} {
			name := fmt.Sprintf("max%d/t%v-s%d", maxTok, sm.temp, sm.seed)
			var chat api.ChatCompletion
			postJSON(t, ts.URL, "/v1/chat/completions", map[string]any{
				"model": testModelID, "messages": []map[string]string{{"role": "user", "content": "A person?"}},
				"max_tokens": maxTok, "temperature": sm.temp, "seed": sm.seed, "response_format": rf,
			}, &chat)
			if c := chat.Choices[0]; validPerson(vs, c.Message.Content) != "" || *c.FinishReason != "stop" {
				t.Errorf("%s chat: %q (finish %s): %s", name, c.Message.Content, *c.FinishReason, validPerson(vs, c.Message.Content))
			}
			var comp api.Completion
			postJSON(t, ts.URL, "/v1/completions", map[string]any{
				"model": testModelID, "prompt": "The person", "max_tokens": maxTok, "temperature": sm.temp, "seed": sm.seed,
				"response_format": rf,
			}, &comp)
			if c := comp.Choices[0]; validPerson(vs, c.Text) != "" || *c.FinishReason != "stop" || comp.Usage.CompletionTokens > maxTok {
				t.Errorf("%s completions: %q (finish %s, %d tokens): %s", name, c.Text, *c.FinishReason, comp.Usage.CompletionTokens, validPerson(vs, c.Text))
			}
			var o api.OllamaResponse
			postJSON(t, ts.URL, "/api/generate", map[string]any{
				"model": testModelID, "prompt": "The person", "stream": false, "format": schema,
				"options": map[string]any{"num_predict": maxTok, "temperature": sm.temp, "seed": sm.seed},
			}, &o)
			if validPerson(vs, *o.Response) != "" || o.DoneReason != "stop" {
				t.Errorf("%s ollama: %q (done %s): %s", name, *o.Response, o.DoneReason, validPerson(vs, *o.Response))
			}
		}
	}
}

// TestToolCallPydantic: a named tool_choice of a tool whose parameters
// are the pydantic schema gives a call whose arguments the validator
// allows (the schema is taken whole, not as any object), greedy and
// seeded, with room and with few tokens.
func TestToolCallPydantic(t *testing.T) {
	local, _, tok := newLocal(t, api.LocalOptions{})
	_, vs, tight := pydanticValidator(t)
	v := *tok.Vocab()
	v.ChatTemplate = `{# tools <tool_call> #}{% for m in messages %}{{ m.content }}{% endfor %}`
	ct, err := tokenizer.New(&v)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := serve(t, templated{Backend: local, tok: ct}, api.Options{})
	var params bytes.Buffer
	if err := json.Compact(&params, []byte(petSchema)); err != nil {
		t.Fatal(err)
	}
	tools := `[{"type":"function","function":{"name":"add_person","parameters":` + params.String() + `}}]`
	// The call's name and markers take tokens beyond the arguments.
	for _, maxTok := range []int{400, tight + 20} {
		for _, sm := range []struct {
			temp float64
			seed int64
		}{{0, 0}, {1, 1}, {1.5, 3}} {
			name := fmt.Sprintf("max%d/t%v-s%d", maxTok, sm.temp, sm.seed)
			body := fmt.Sprintf(`{"messages":[{"role":"user","content":"Add a person"}],"tools":%s,"tool_choice":{"type":"function","function":{"name":"add_person"}},"max_tokens":%d,"temperature":%v,"seed":%d}`,
				tools, maxTok, sm.temp, sm.seed)
			status, out := postChat(t, ts, body)
			if status != 200 {
				t.Fatalf("%s: HTTP %d: %s", name, status, out)
			}
			var c api.ChatCompletion
			if err := json.Unmarshal(out, &c); err != nil {
				t.Fatal(err)
			}
			m := c.Choices[0].Message
			if len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Name != "add_person" {
				t.Fatalf("%s: no call: %s", name, out)
			}
			if args := m.ToolCalls[0].Function.Arguments; validPerson(vs, args) != "" {
				t.Errorf("%s: arguments %s: %s", name, args, validPerson(vs, args))
			}
		}
	}
}

// TestJSONSchemaUnsupportedKeyword: a schema with a keyword outside the
// subset (as pydantic writes for a datetime, a bounded int, a regex) is a
// 400 that names the keyword and where it is, by chat and ollama.
func TestJSONSchemaUnsupportedKeyword(t *testing.T) {
	b, _, _ := newLocal(t, api.LocalOptions{})
	ts, _ := serve(t, b, api.Options{})
	for _, tc := range []struct{ schema, keyword, at string }{
		{`{"$defs":{"E":{"type":"object","properties":{"when":{"type":"string","format":"date-time"}}}},"$ref":"#/$defs/E"}`, `format`, `#/$defs/E.properties.when`},
		{`{"type":"object","properties":{"n":{"type":"integer","minimum":1}}}`, `minimum`, `schema.properties.n`},
		{`{"type":"object","properties":{"s":{"anyOf":[{"type":"string","pattern":"^a"},{"type":"null"}]}}}`, `pattern`, `schema.properties.s.anyOf[0]`},
		{`{"type":"object","additionalProperties":{"type":"string"}}`, `additionalProperties`, `schema`},
	} {
		msgs := `"messages":[{"role":"user","content":"hi"}]`
		for _, req := range []struct{ path, body string }{
			{"/v1/chat/completions", `{"model":"aidreams",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":` + tc.schema + `}}}`},
			{"/api/chat", `{"model":"aidreams",` + msgs + `,"stream":false,"format":` + tc.schema + `}`},
		} {
			code, body := postRaw(t, ts.URL+req.path, req.body)
			var e struct {
				Error struct{ Message string } `json:"error"`
			}
			_ = json.Unmarshal(body, &e)
			msg := e.Error.Message + string(body)
			if code != 400 || !strings.Contains(msg, tc.keyword) || !strings.Contains(msg, tc.at) {
				t.Errorf("%s %s: HTTP %d %s, want a 400 naming %s at %s", req.path, tc.schema, code, body, tc.keyword, tc.at)
			}
		}
	}
}
