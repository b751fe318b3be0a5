package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// harmonyTokens are gpt-oss's control tokens, as its GGUFs type them.
var harmonyTokens = []string{"<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|constrain|>", "<|return|>", "<|call|>"}

// toolFormat is a family's template, the control tokens its vocabulary
// has, and the output of a model of the family that calls get_weather
// (full: as a model answers; call: the call alone, which a prompt that
// starts a call makes it continue).
type toolFormat struct {
	name       string
	template   string
	controls   []string
	full, call string
	reasoning  string // of full
}

var toolFormats = []toolFormat{
	{name: "hermes", template: api.Qwen3ToolsJinja, full: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"},
	{name: "mistral", template: api.MistralToolsJinja, controls: []string{"[TOOL_CALLS]"},
		full: `[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]`},
	{name: "qwen3-coder", template: api.Qwen3CoderJinja, full: "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>"},
	{name: "mistral-v11", template: api.MistralV11Jinja, controls: []string{"[TOOL_CALLS]", "[ARGS]"},
		full: `[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}`},
	{name: "llama3.1", template: api.Llama31ToolsJinja, controls: []string{"<|python_tag|>"},
		full: `{"name": "get_weather", "parameters": {"city": "Paris"}}`},
	{name: "gpt-oss", template: api.GptossToolsJinja, controls: harmonyTokens,
		full: "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>",
		call: "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>", reasoning: "Need the weather."},
}

// reply answers as a model of the format: it continues whichever of its
// outputs the prompt ended by starting.
func (f toolFormat) reply(prompt string) string {
	for _, out := range []string{f.full, f.call} {
		for k := len(out); k >= 3; k-- {
			if strings.HasSuffix(prompt, out[:k]) {
				return out[k:]
			}
		}
	}
	return f.full
}

// sseChat is a streamed chat answer, as a client puts it together.
type sseChat struct {
	content, reasoning string
	calls              []api.ToolCall
	argPieces          int
	finish             string
	errors             []string
}

// postChat posts a chat request and returns the status and the body.
func postChat(t *testing.T, ts *httptest.Server, body string) (int, []byte) {
	t.Helper()
	resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// readSSE puts a streamed chat answer together, checking that each call
// starts with its id, type and name, as OpenAI's clients expect.
func readSSE(t *testing.T, body []byte) sseChat {
	t.Helper()
	var s sseChat
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			api.ChatChunk
			Error *api.ErrorDetail `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
		if ch.Error != nil {
			s.errors = append(s.errors, ch.Error.Message)
			continue
		}
		for _, c := range ch.Choices {
			s.content += c.Delta.Content
			s.reasoning += c.Delta.ReasoningContent
			for _, tc := range c.Delta.ToolCalls {
				switch {
				case tc.Index == nil:
					t.Fatalf("a tool call delta without its index: %s", data)
				case *tc.Index == len(s.calls):
					if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
						t.Fatalf("a call's first delta without its id, type or name: %s", data)
					}
					s.calls = append(s.calls, tc)
				case *tc.Index < len(s.calls) && tc.ID == "" && tc.Function.Name == "":
					s.calls[*tc.Index].Function.Arguments += tc.Function.Arguments
				default:
					t.Fatalf("tool call delta out of order: %s", data)
				}
				if tc.Function.Arguments != "" {
					s.argPieces++
				}
			}
			if c.FinishReason != nil {
				s.finish = *c.FinishReason
			}
		}
	}
	return s
}

// TestToolFormats: for each family's template, tool_choice "auto",
// "required" and a named function each get the call of get_weather back,
// whole and streamed (its arguments in pieces), and "none" never does;
// the prompt of "required" and a named function ends with the start of
// the family's call.
func TestToolFormats(t *testing.T) {
	const tools = `[{"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
	for _, f := range toolFormats {
		b := newCannedVocab(t, f.template, f.controls, f.reply)
		ts, _ := serve(t, b, api.Options{})
		for _, tc := range []struct {
			choice string
			call   bool
			prefix string // the prompt ends with it
		}{
			{`"auto"`, true, ""},
			{`"required"`, true, map[string]string{"hermes": "<tool_call>\n{\"name\": \"", "mistral": `[TOOL_CALLS] [{"name": "`, "mistral-v11": "[TOOL_CALLS]", "qwen3-coder": "<tool_call>\n<function=", "llama3.1": `{"name": "`, "gpt-oss": "<|channel|>commentary to=functions."}[f.name]},
			{`{"type":"function","function":{"name":"get_weather"}}`, true, map[string]string{"hermes": "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ",
				"mistral": `[TOOL_CALLS] [{"name": "get_weather", "arguments": `, "mistral-v11": "[TOOL_CALLS]get_weather[ARGS]", "qwen3-coder": "<tool_call>\n<function=get_weather>\n", "llama3.1": `{"name": "get_weather", "parameters": `,
				"gpt-oss": "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"}[f.name]},
			{`"none"`, false, ""},
		} {
			for _, stream := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/stream=%v", f.name, tc.choice, stream), func(t *testing.T) {
					body := fmt.Sprintf(`{"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":%s,"tool_choice":%s,"stream":%v}`, tools, tc.choice, stream)
					b.mu.Lock()
					n := len(b.prompts)
					b.mu.Unlock()
					status, out := postChat(t, ts, body)
					if status != 200 {
						t.Fatalf("HTTP %d: %s", status, out)
					}
					var got sseChat
					if stream {
						got = readSSE(t, out)
						if tc.call && got.argPieces < 2 {
							t.Errorf("the arguments came in %d pieces", got.argPieces)
						}
					} else {
						var c api.ChatCompletion
						if err := json.Unmarshal(out, &c); err != nil {
							t.Fatal(err)
						}
						m := c.Choices[0].Message
						got = sseChat{content: m.Content, reasoning: m.ReasoningContent, calls: m.ToolCalls, finish: *c.Choices[0].FinishReason}
					}
					if !tc.call {
						if len(got.calls) != 0 || got.finish != "stop" || got.content == "" {
							t.Errorf("tool_choice none: %+v", got)
						}
						return
					}
					if len(got.calls) != 1 || got.calls[0].Function.Name != "get_weather" || got.calls[0].Function.Arguments != `{"city":"Paris"}` ||
						got.calls[0].ID == "" || got.finish != "tool_calls" || got.content != "" || len(got.errors) != 0 {
						t.Errorf("%+v", got)
					}
					if tc.choice == `"auto"` && got.reasoning != f.reasoning {
						t.Errorf("reasoning %q, want %q", got.reasoning, f.reasoning)
					}
					b.mu.Lock()
					prompt := b.prompts[n]
					b.mu.Unlock()
					if !strings.HasSuffix(prompt, tc.prefix) {
						t.Errorf("the prompt does not end with %q: %q", tc.prefix, prompt)
					}
				})
			}
		}
	}
}

// TestToolChoiceLimits: parallel_tool_calls false and a named function end
// the generation after the first call; "required" with an output that is
// no call is a 500 tool_call_failed (streamed: an error event); a
// template of an unknown call format cannot take "required"; "required"
// needs tools and a named function must be one of them.
func TestToolChoiceLimits(t *testing.T) {
	const tools = `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"add","parameters":{"type":"object"}}}]`
	const two = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>"
	twice := newCanned(t, hermesJinja, func(prompt string) string {
		if strings.HasSuffix(prompt, `"arguments": `) {
			return two[strings.Index(two, `{"city"`):]
		}
		return two
	})
	talker := newCanned(t, hermesJinja, func(string) string { return "I would rather not." })
	plain := newCanned(t, "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{# tools #}assistant:", func(string) string { return "x" })
	for _, tc := range []struct {
		name    string
		b       api.Backend
		body    string
		status  int
		calls   int
		code    string // of the error
		evError bool   // streamed: an error event
	}{
		{"parallel", twice, `{"tools":TOOLS}`, 200, 2, "", false},
		{"parallel stream", twice, `{"tools":TOOLS,"stream":true}`, 200, 2, "", false},
		{"parallel false", twice, `{"tools":TOOLS,"parallel_tool_calls":false}`, 200, 1, "", false},
		{"parallel false stream", twice, `{"tools":TOOLS,"parallel_tool_calls":false,"stream":true}`, 200, 1, "", false},
		{"named", twice, `{"tools":TOOLS,"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`, 200, 1, "", false},
		{"required not followed", talker, `{"tools":TOOLS,"tool_choice":"required"}`, 500, 0, "tool_call_failed", false},
		{"required not followed stream", talker, `{"tools":TOOLS,"tool_choice":"required","stream":true}`, 200, 0, "", true},
		{"auto talk", talker, `{"tools":TOOLS}`, 200, 0, "", false},
		{"unknown format", plain, `{"tools":TOOLS,"tool_choice":"required"}`, 400, 0, "unsupported_value", false},
		{"required without tools", talker, `{"tool_choice":"required"}`, 400, 0, "invalid_value", false},
		{"named unknown", talker, `{"tools":TOOLS,"tool_choice":{"type":"function","function":{"name":"rm"}}}`, 400, 0, "invalid_value", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := serve(t, tc.b, api.Options{})
			body := strings.Replace(strings.Replace(tc.body, "TOOLS", tools, 1), "{", `{"messages":[{"role":"user","content":"Weather?"}],`, 1)
			status, out := postChat(t, ts, body)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.status, out)
			}
			if status != 200 {
				var e api.ErrorBody
				if err := json.Unmarshal(out, &e); err != nil || e.Error.Code == nil || *e.Error.Code != tc.code {
					t.Errorf("error %s, want code %q", out, tc.code)
				}
				return
			}
			var got sseChat
			if strings.Contains(tc.body, `"stream":true`) {
				got = readSSE(t, out)
			} else {
				var c api.ChatCompletion
				if err := json.Unmarshal(out, &c); err != nil {
					t.Fatal(err)
				}
				got = sseChat{content: c.Choices[0].Message.Content, calls: c.Choices[0].Message.ToolCalls, finish: *c.Choices[0].FinishReason}
			}
			if len(got.calls) != tc.calls || (len(got.errors) > 0) != tc.evError {
				t.Fatalf("%d calls, errors %q; want %d calls, error event %v", len(got.calls), got.errors, tc.calls, tc.evError)
			}
			if tc.evError && !strings.Contains(got.errors[0], "not a well-formed call") {
				t.Errorf("error event %q", got.errors[0])
			}
			for i, c := range got.calls {
				if city := []string{"Paris", "Rome"}[i]; c.Function.Arguments != `{"city":"`+city+`"}` {
					t.Errorf("call %d: %+v", i, c)
				}
			}
			if tc.calls > 0 && got.finish != "tool_calls" {
				t.Errorf("finish %q", got.finish)
			}
		})
	}
}

// TestHarmonyChannels: gpt-oss's analysis channel is reasoning_content
// and its final channel content, whole and streamed; ollama's /api/chat
// gives the analysis as message.thinking.
func TestHarmonyChannels(t *testing.T) {
	const out = "<|channel|>analysis<|message|>Two and two.<|end|><|start|>assistant<|channel|>final<|message|>Four.<|return|>"
	b := newCannedVocab(t, api.GptossToolsJinja, harmonyTokens, func(string) string { return out })
	ts, _ := serve(t, b, api.Options{})
	status, body := postChat(t, ts, `{"messages":[{"role":"user","content":"2+2?"}]}`)
	var c api.ChatCompletion
	if err := json.Unmarshal(body, &c); status != 200 || err != nil {
		t.Fatalf("HTTP %d %v: %s", status, err, body)
	}
	if m := c.Choices[0].Message; m.ReasoningContent != "Two and two." || m.Content != "Four." || *c.Choices[0].FinishReason != "stop" {
		t.Errorf("message %+v", m)
	}
	_, body = postChat(t, ts, `{"messages":[{"role":"user","content":"2+2?"}],"stream":true}`)
	if s := readSSE(t, body); s.reasoning != "Two and two." || s.content != "Four." || s.finish != "stop" {
		t.Errorf("streamed %+v", s)
	}
	for _, stream := range []bool{false, true} {
		status, body := postRaw(t, ts.URL+"/api/chat", fmt.Sprintf(`{"messages":[{"role":"user","content":"2+2?"}],"stream":%v}`, stream))
		var thinking, content string
		for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
			var o api.OllamaResponse
			if err := json.Unmarshal([]byte(line), &o); status != 200 || err != nil || o.Message == nil {
				t.Fatalf("HTTP %d %v: %s", status, err, line)
			}
			thinking += o.Message.Thinking
			content += o.Message.Content
		}
		if thinking != "Two and two." || content != "Four." {
			t.Errorf("ollama (stream %v): thinking %q, content %q", stream, thinking, content)
		}
	}
}

// TestThinkingTools: a thinking template's reasoning comes apart from the
// call after it, whole and streamed (reasoning_content, then the call);
// ollama's /api/chat gives the reasoning as message.thinking when think
// is asked, and leaves it in the content when not.
func TestThinkingTools(t *testing.T) {
	const reply = "<think>\nThe user wants weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	b := newCanned(t, api.Qwen3ToolsJinja, func(string) string { return reply })
	ts, _ := serve(t, b, api.Options{})
	const req = `{"messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`
	for _, stream := range []bool{false, true} {
		status, out := postChat(t, ts, req+fmt.Sprintf(`,"stream":%v}`, stream))
		if status != 200 {
			t.Fatalf("HTTP %d: %s", status, out)
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
			got = sseChat{content: m.Content, reasoning: m.ReasoningContent, calls: m.ToolCalls, finish: *c.Choices[0].FinishReason}
		}
		if got.reasoning != "The user wants weather." || got.content != "" || len(got.calls) != 1 || got.calls[0].Function.Arguments != `{"city":"Paris"}` || got.finish != "tool_calls" {
			t.Errorf("stream %v: %+v", stream, got)
		}
	}
	for _, think := range []bool{true, false} {
		status, out := postRaw(t, ts.URL+"/api/chat", req+fmt.Sprintf(`,"stream":false,"think":%v}`, think))
		var o api.OllamaResponse
		if err := json.Unmarshal(out, &o); status != 200 || err != nil {
			t.Fatalf("HTTP %d %v: %s", status, err, out)
		}
		m := o.Message
		if think && (m.Thinking != "The user wants weather." || m.Content != "" || len(m.ToolCalls) != 1) {
			t.Errorf("think: %+v", m)
		}
		if !think && (m.Thinking != "" || !strings.HasPrefix(m.Content, "<think>") || len(m.ToolCalls) != 1) {
			t.Errorf("no think: %+v", m)
		}
	}
}

// templated serves a backend's models with another chat template; the
// model runs as it is.
type templated struct {
	api.Backend
	tok *tokenizer.Tokenizer
}

func (t templated) Tokenizer(string) (*tokenizer.Tokenizer, error) { return t.tok, nil }

// TestToolsRealModel: with the tiny model running, declaring tools does
// not change text that holds no call (whole and streamed, it is the text
// of the same request without tools), and a named tool_choice, whose
// output the model would not continue as a call, is one: its arguments
// are constrained to the tool's schema (see TestToolCallConstrained).
func TestToolsRealModel(t *testing.T) {
	local, _, tok := newLocal(t, api.LocalOptions{})
	v := *tok.Vocab()
	// The template ignores the tools; its comment names Hermes's marker.
	v.ChatTemplate = `{# tools <tool_call> #}{% for m in messages %}{{ m.content }}{% endfor %}`
	ct, err := tokenizer.New(&v)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := serve(t, templated{Backend: local, tok: ct}, api.Options{})
	const base = `{"messages":[{"role":"user","content":"I dream of"}],"max_tokens":24,"temperature":0`
	const tools = `,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`
	whole := func(body string) (string, string, int) {
		t.Helper()
		status, out := postChat(t, ts, body)
		var c api.ChatCompletion
		if err := json.Unmarshal(out, &c); status != 200 || err != nil {
			t.Fatalf("HTTP %d %v: %s", status, err, out)
		}
		return c.Choices[0].Message.Content, *c.Choices[0].FinishReason, len(c.Choices[0].Message.ToolCalls)
	}
	want, wantFinish, _ := whole(base + `}`)
	if want == "" {
		t.Fatal("the model wrote nothing")
	}
	if got, finish, calls := whole(base + tools + `}`); got != want || finish != wantFinish || calls != 0 {
		t.Errorf("with tools: %q (%s, %d calls), without: %q (%s)", got, finish, calls, want, wantFinish)
	}
	_, out := postChat(t, ts, base+tools+`,"stream":true}`)
	if s := readSSE(t, out); s.content != want || s.finish != wantFinish || len(s.calls) != 0 {
		t.Errorf("streamed with tools: %+v, want %q", s, want)
	}
	status, out := postChat(t, ts, base+tools+`,"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`)
	var c api.ChatCompletion
	if err := json.Unmarshal(out, &c); status != 200 || err != nil || len(c.Choices[0].Message.ToolCalls) != 1 ||
		c.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" || !isJSONObject(c.Choices[0].Message.ToolCalls[0].Function.Arguments) {
		t.Errorf("named tool_choice: HTTP %d %s", status, out)
	}
}
