package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// constrainedTools are the tools of TestToolCallConstrained: two whose
// schemas the constraint takes whole, and one with a keyword it does not
// (pattern), whose arguments are then any JSON object.
const constrainedTools = `[
{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{
  "city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer"}},
  "required":["city","unit"],"additionalProperties":false}}},
{"type":"function","function":{"name":"add","parameters":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}}},
{"type":"function","function":{"name":"search","parameters":{"type":"object","properties":{"q":{"type":"string","pattern":"^[a-z]+$"}},"required":["q"]}}}]`

// validArgs reports whether args (a call's arguments' JSON text) is an
// object that schema (of the subset: type, properties, required, enum,
// additionalProperties false) allows; loose: any object.
func validArgs(args string, schema map[string]any, loose bool) bool {
	// Numbers stay text: JSON's grammar has no range (1E2775 is one).
	var v any
	d := json.NewDecoder(strings.NewReader(args))
	d.UseNumber()
	if d.Decode(&v) != nil || d.More() {
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
			xs, _ := json.Marshal(x)
			vs, _ := json.Marshal(v)
			found = found || string(xs) == string(vs)
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
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		return ok && !strings.ContainsAny(string(n), ".eE")
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
		{"mistral-v11", `{# tools [TOOL_CALLS] [ARGS] #}{% for m in messages %}{{ m.content }}{% endfor %}`, true},
		{"gpt-oss", `{# tools <|channel|> <|message|> #}{% for m in messages %}{{ m.content }}{% endfor %}`, true},
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
				// Few tokens: as few as the shortest call takes (in
				// the tiny vocabulary harmony's markers are text of
				// many tokens).
				small := 34
				if f.name == "gpt-oss" && choice == `"required"` {
					small = 64
				}
				for _, maxTok := range []int{100, small} {
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

// randomModel serves a vocabulary and chat template (as cannedBackend)
// and "generates" from random logits, seeded by the request's seed,
// passed through the request's logits hook (the server's mask) before a
// token is drawn from them: the argmax at temperature 0, else a draw by
// their softmax. It writes control tokens as readily as text, which the
// tiny model's vocabulary has none of.
type randomModel struct {
	*cannedBackend
}

func (m randomModel) Generate(ctx context.Context, req api.GenerateRequest, emit func(int32) error) (api.GenerateResult, error) {
	r := rand.New(rand.NewPCG(req.Params.Seed, 99))
	res := api.GenerateResult{PromptTokens: len(req.Prompt), FinishReason: api.FinishLength}
	logits := make([]float32, m.tok.NumTokens())
	for i := range req.MaxTokens {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		for k := range logits {
			logits[k] = float32(r.NormFloat64() * 3)
		}
		if req.Logits != nil {
			req.Logits(len(req.Prompt)+i, logits)
		}
		pick, best := int32(-1), float32(math.Inf(-1))
		var sum float64
		for k, l := range logits {
			if math.IsInf(float64(l), -1) {
				continue
			}
			if req.Params.Temperature == 0 {
				if pick < 0 || l > best {
					pick, best = int32(k), l
				}
				continue
			}
			// A draw by the softmax, in one pass (reservoir by weight).
			w := math.Exp(float64(l) / float64(req.Params.Temperature))
			sum += w
			if r.Float64()*sum < w {
				pick = int32(k)
			}
		}
		if req.Stop != nil && req.Stop(pick) {
			res.FinishReason = api.FinishStop
			return res, nil
		}
		if err := emit(pick); err != nil {
			if errors.Is(err, api.ErrStop) {
				res.FinishReason = api.FinishStop
				return res, nil
			}
			return res, err
		}
		res.GeneratedTokens++
	}
	return res, nil
}

// TestToolCallConstrainedControls: with a model that writes any token,
// control tokens included, tool_choice "required" and named give a call
// that parses and follows the tool's schema in every format the
// constraint covers, harmony's and Mistral's [ARGS] (whose "required"
// writes the name, then control tokens, then the arguments) among them;
// seeded requests repeat.
func TestToolCallConstrainedControls(t *testing.T) {
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
	for _, f := range toolFormats {
		if f.name == "qwen3-coder" {
			continue // XML calls: not constrained
		}
		ts, _ := serve(t, randomModel{newCannedVocab(t, f.template, f.controls, nil)}, api.Options{})
		for _, choice := range []string{`"required"`, `{"type":"function","function":{"name":"get_weather"}}`, `{"type":"function","function":{"name":"add"}}`} {
			for _, maxTok := range []int{300, 48} {
				for seed := range 6 {
					temp := []float64{0, 1, 1, 1, 2, 0.7}[seed]
					name := fmt.Sprintf("%s/%s/max%d/t%v-s%d", f.name, choice, maxTok, temp, seed)
					body := fmt.Sprintf(`{"messages":[{"role":"user","content":"Weather?"}],"tools":%s,"tool_choice":%s,"max_tokens":%d,"temperature":%v,"seed":%d}`,
						constrainedTools, choice, maxTok, temp, seed)
					var first api.ToolCallFunction
					for rep := range 2 {
						status, out := postChat(t, ts, body)
						var c api.ChatCompletion
						if err := json.Unmarshal(out, &c); status != 200 || err != nil {
							t.Fatalf("%s: HTTP %d %v: %s", name, status, err, out)
						}
						m := c.Choices[0].Message
						// Hermes's "required" goes on after the call's
						// block (parallel calls): to the token limit.
						finish := *c.Choices[0].FinishReason
						if len(m.ToolCalls) == 0 || (finish != "tool_calls" && !(f.name == "hermes" && choice == `"required"` && finish == "length")) {
							t.Fatalf("%s: %s", name, out)
						}
						fn := m.ToolCalls[0].Function
						s, ok := schemas[fn.Name]
						if !ok || !validArgs(fn.Arguments, s, fn.Name == "search") {
							t.Fatalf("%s: %s(%s) does not follow its schema", name, fn.Name, fn.Arguments)
						}
						if rep == 0 {
							first = fn
						} else if fn != first {
							t.Errorf("%s: the same request gave %+v, then %+v", name, first, fn)
						}
					}
				}
			}
		}
	}
}
