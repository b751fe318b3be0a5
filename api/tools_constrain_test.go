package api_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// constrainedTools are the tools of TestToolCallConstrained: two whose
// schemas the constraint takes whole, and one with a keyword it does not
// (minLength), whose arguments are then any JSON object.
const constrainedTools = `[
{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{
  "city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer"}},
  "required":["city","unit"],"additionalProperties":false}}},
{"type":"function","function":{"name":"add","parameters":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}}},
{"type":"function","function":{"name":"search","parameters":{"type":"object","properties":{"q":{"type":"string","minLength":1}},"required":["q"]}}}]`

// validArgs reports whether args (a call's arguments' JSON text) is an
// object that schema (of the subset: type, properties, required, enum,
// additionalProperties false) allows; loose: any object.
func validArgs(args string, schema map[string]any, loose bool) bool {
	var v any
	if json.Unmarshal([]byte(args), &v) != nil {
		return false
	}
	if _, ok := v.(map[string]any); !ok {
		return false
	}
	return loose || validValue(v, schema)
}

func validValue(v any, s map[string]any) bool {
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || reflect.DeepEqual(x, v)
		}
		if !found {
			return false
		}
	}
	switch s["type"] {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range s["required"].([]any) {
			if _, ok := m[r.(string)]; !ok {
				return false
			}
		}
		for k, x := range m {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					return false
				}
				continue
			}
			if !validValue(x, ps) {
				return false
			}
		}
	}
	return true
}

// TestToolCallConstrained runs the tiny model (which on its own never
// writes a call) with tool_choice "required" and named, over each call
// format the constraint covers, greedy and sampled with seeds, with room
// and with few tokens: every answer is a call of a declared tool (the
// first, with parallel calls) whose
// arguments parse and follow the tool's schema (the tool with a keyword
// outside the subset: any object), whole and streamed, and the same
// request gives the same call again.
func TestToolCallConstrained(t *testing.T) {
	local, _, tok := newLocal(t, api.LocalOptions{})
	var tools []struct {
		Function struct {
			Name       string         `json:"name"`
			Parameters map[string]any `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(constrainedTools), &tools); err != nil {
		t.Fatal(err)
	}
	schemas := map[string]map[string]any{}
	for _, tl := range tools {
		schemas[tl.Function.Name] = tl.Function.Parameters
	}
	// The templates ignore the tools (the tiny model's context is 128
	// tokens); their comments name each format's markers.
	formats := []struct {
		name, template string
		required       bool // "required" is constrained too, not only named
	}{
		{"hermes", `{# tools <tool_call> #}{% for m in messages %}{{ m.content }}{% endfor %}`, true},
		{"llama3.1", `{# tools <|python_tag|> #}{% for m in messages %}{{ m.content }}{% endfor %}`, true},
		{"mistral", `{# tools [TOOL_CALLS] #}{% for m in messages %}{{ m.content }}{% endfor %}`, true},
		{"mistral-v11", `{# tools [TOOL_CALLS] [ARGS] #}{% for m in messages %}{{ m.content }}{% endfor %}`, false},
		{"gpt-oss", `{# tools <|channel|> <|message|> #}{% for m in messages %}{{ m.content }}{% endfor %}`, false},
	}
	type sampling struct {
		temp float64
		seed int64
	}
	for _, f := range formats {
		v := *tok.Vocab()
		v.ChatTemplate = f.template
		ct, err := tokenizer.New(&v)
		if err != nil {
			t.Fatal(err)
		}
		ts, _ := serve(t, templated{Backend: local, tok: ct}, api.Options{})
		choices := []string{`{"type":"function","function":{"name":"get_weather"}}`, `{"type":"function","function":{"name":"add"}}`,
			`{"type":"function","function":{"name":"search"}}`}
		if f.required {
			choices = append(choices, `"required"`)
		}
		for _, choice := range choices {
			extras := []string{""}
			if choice == `"required"` {
				extras = append(extras, `,"parallel_tool_calls":false`)
			}
			for _, extra := range extras {
				for _, maxTok := range []int{100, 34} {
					for _, sm := range []sampling{{0, 0}, {1, 1}, {1, 2}, {1.5, 3}} {
						for _, stream := range []bool{false, true} {
							name := fmt.Sprintf("%s/%s%s/max%d/t%v-s%d/stream=%v", f.name, choice, extra, maxTok, sm.temp, sm.seed, stream)
							body := fmt.Sprintf(`{"messages":[{"role":"user","content":"Weather?"}],"tools":%s,"tool_choice":%s,"max_tokens":%d,"temperature":%v,"seed":%d,"stream":%v%s}`,
								constrainedTools, choice, maxTok, sm.temp, sm.seed, stream, extra)
							call := func() (api.ToolCall, string) {
								status, out := postChat(t, ts, body)
								if status != 200 {
									t.Fatalf("%s: HTTP %d: %s", name, status, out)
								}
								var got sseChat
								if stream {
									got = readSSE(t, out)
								} else {
									var c api.ChatCompletion
									if err := json.Unmarshal(out, &c); err != nil {
										t.Fatal(err)
									}
									m := c.Choices[0].Message
									got = sseChat{content: m.Content, calls: m.ToolCalls, finish: *c.Choices[0].FinishReason}
									if c.Usage.CompletionTokens > maxTok {
										t.Errorf("%s: %d tokens, max %d", name, c.Usage.CompletionTokens, maxTok)
									}
								}
								// With parallel calls, the output goes on
								// after the first call, unconstrained: the
								// tiny model runs on to the token limit.
								parallel := choice == `"required"` && extra == ""
								if len(got.calls) == 0 || (got.finish != "tool_calls" && !(parallel && got.finish == "length")) || len(got.errors) != 0 {
									t.Fatalf("%s: no call: %+v", name, got)
								}
								return got.calls[0], got.content
							}
							c, content := call()
							s, ok := schemas[c.Function.Name]
							if !ok {
								t.Fatalf("%s: call of %q", name, c.Function.Name)
							}
							if !validArgs(c.Function.Arguments, s, c.Function.Name == "search") {
								t.Errorf("%s: %s(%s) does not follow its schema", name, c.Function.Name, c.Function.Arguments)
							}
							if c2, content2 := call(); c2.Function != c.Function || content2 != content {
								t.Errorf("%s: the same request gave %+v, then %+v", name, c.Function, c2.Function)
							}
						}
					}
				}
			}
		}
	}
}
