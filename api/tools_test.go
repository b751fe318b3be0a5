package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// Whole-text readers: the oracles of the tests (the server reads
// outputs as they stream, with outParser).

// parseReasoning splits a leading <think>...</think> block off text (or,
// when the generation prompt opened the block, text up to </think>).
func parseReasoning(text string, opened bool) (reasoning, content string) {
	rest := text
	if !opened {
		t := strings.TrimLeft(text, " \t\r\n")
		var ok bool
		if rest, ok = strings.CutPrefix(t, "<think>"); !ok {
			return "", text
		}
	}
	r, c, closed := strings.Cut(rest, "</think>")
	if !closed {
		return strings.Trim(rest, " \t\r\n"), ""
	}
	return strings.Trim(r, " \t\r\n"), strings.TrimLeft(c, " \t\r\n")
}

// parseToolCalls finds the tool calls in a model's whole output, read as
// toolStream reads a stream (Hermes and Qwen's <tool_call>{json}</tool_call>
// blocks, Mistral's [TOOL_CALLS][...], Llama 3.1's <|python_tag|> or bare
// {"name": ..., "parameters": ...}; a whole output that is a JSON object or
// array of calls of declared tools counts, for the markers' tokens may be
// dropped). names are the declared tools. Output that is not wholly
// well-formed calls and text (malformed JSON, an unknown function) is
// returned as content, calls nil; with calls, the content is trimmed.
func parseToolCalls(text string, names map[string]bool) (content string, calls []ToolCall) {
	ts := newToolStream(names)
	d := ts.next(text)
	d.add(ts.flush())
	calls = ts.result()
	if ts.spoiled || len(calls) == 0 {
		return text, nil
	}
	return strings.TrimSpace(d.Content), calls
}

// splitOutput splits a whole generated message: its reasoning when the
// template is a thinking one (opened: the prompt ended in <think>), then
// its tool calls when tools are declared (names non-nil).
func splitOutput(text string, thinking, opened bool, names map[string]bool) chatOutput {
	p := newOutParser(false, thinking, opened, names)
	if p == nil {
		return chatOutput{Content: text}
	}
	p.next(text)
	p.flush()
	return p.message()
}

func TestParseToolCalls(t *testing.T) {
	names := map[string]bool{"get_weather": true, "add": true}
	type call struct{ name, args string }
	for _, tc := range []struct {
		name, text string
		content    string
		calls      []call
	}{
		{"plain", "Hello there.", "Hello there.", nil},
		{"hermes", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "", []call{{"get_weather", `{"city":"Paris"}`}}},
		{"hermes two and text", "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>",
			"Let me check.", []call{{"get_weather", `{"city":"Paris"}`}, {"add", `{"a":1,"b":2}`}}},
		{"hermes unclosed", "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}", "", []call{{"add", `{"a":1}`}}},
		{"hermes arguments as string", `<tool_call>{"name": "add", "arguments": "{\"a\": 1}"}</tool_call>`, "", []call{{"add", `{"a": 1}`}}},
		{"hermes malformed", "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}\n</tool_call>", "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}\n</tool_call>", nil},
		{"hermes unknown function", `<tool_call>{"name": "rm", "arguments": {}}</tool_call>`, `<tool_call>{"name": "rm", "arguments": {}}</tool_call>`, nil},
		{"llama3.1 json", `{"name": "get_weather", "parameters": {"city": "Oslo"}}`, "", []call{{"get_weather", `{"city":"Oslo"}`}}},
		{"llama3.1 python_tag", `<|python_tag|>{"name": "add", "parameters": {"a": 2}}; {"name": "add", "parameters": {"a": 3}}`, "", []call{{"add", `{"a":2}`}, {"add", `{"a":3}`}}},
		{"llama3.1 json unknown name", `{"name": "nope", "parameters": {}}`, `{"name": "nope", "parameters": {}}`, nil},
		{"json not a call", `{"answer": 42}`, `{"answer": 42}`, nil},
		{"mistral", `[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1, "b": 2}}]`, "", []call{{"add", `{"a":1,"b":2}`}}},
		{"mistral marker dropped", `[{"name": "get_weather", "arguments": {"city": "Rome"}}, {"name": "add", "arguments": {}}]`, "", []call{{"get_weather", `{"city":"Rome"}`}, {"add", `{}`}}},
		{"mistral malformed", `[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1}`, `[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1}`, nil},
		{"arguments not an object", `<tool_call>{"name": "add", "arguments": [1]}</tool_call>`, `<tool_call>{"name": "add", "arguments": [1]}</tool_call>`, nil},
		{"empty call", `<tool_call></tool_call>`, `<tool_call></tool_call>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content, calls := parseToolCalls(tc.text, names)
			if content != tc.content {
				t.Errorf("content %q, want %q", content, tc.content)
			}
			if len(calls) != len(tc.calls) {
				t.Fatalf("%d calls %+v, want %d", len(calls), calls, len(tc.calls))
			}
			for i, c := range calls {
				if c.Function.Name != tc.calls[i].name || c.Function.Arguments != tc.calls[i].args || c.Type != "function" || c.ID == "" {
					t.Errorf("call %d: %+v, want %s(%s)", i, c, tc.calls[i].name, tc.calls[i].args)
				}
			}
		})
	}
}

func TestParseReasoning(t *testing.T) {
	for _, tc := range []struct {
		text               string
		opened             bool
		reasoning, content string
	}{
		{"<think>\nLet me add.\n</think>\n\nIt is 4.", false, "Let me add.", "It is 4."},
		{"<think>\n\n</think>\n\nIt is 4.", false, "", "It is 4."},
		{"Opened by the prompt.\n</think>\n\nIt is 4.", true, "Opened by the prompt.", "It is 4."},
		{"Not opened.\n</think>\n\nIt is 4.", false, "", "Not opened.\n</think>\n\nIt is 4."},
		{"<think>\nstill thinking", false, "still thinking", ""},
		{"No reasoning.", false, "", "No reasoning."},
		{" <thi", false, "", " <thi"},
	} {
		r, c := parseReasoning(tc.text, tc.opened)
		if r != tc.reasoning || c != tc.content {
			t.Errorf("parseReasoning(%q, %v) = %q, %q; want %q, %q", tc.text, tc.opened, r, c, tc.reasoning, tc.content)
		}
		if sr, sc := streamSplit(tc.text, tc.opened, 1); sr != r || sc != c {
			t.Errorf("streamed %q: %q, %q; want %q, %q", tc.text, sr, sc, r, c)
		}
	}
	o := splitOutput("<think>\nweather?\n</think>\n\n<tool_call>\n{\"name\": \"add\", \"arguments\": {}}\n</tool_call>", true, false, map[string]bool{"add": true})
	if o.Reasoning != "weather?" || o.Content != "" || len(o.Calls) != 1 {
		t.Errorf("splitOutput: %+v", o)
	}
}

func TestParseToolChoice(t *testing.T) {
	tools := []Tool{weatherTool}
	for _, tc := range []struct {
		raw   string
		want  toolChoice
		ok    bool
		check bool // passes checkToolChoice with tools
	}{
		{``, toolChoice{}, true, true}, {`null`, toolChoice{}, true, true}, {`"auto"`, toolChoice{}, true, true},
		{`"none"`, toolChoice{mode: choiceNone}, true, true}, {`"required"`, toolChoice{mode: choiceRequired}, true, true},
		{`{"type":"function","function":{"name":"get_weather"}}`, toolChoice{mode: choiceNamed, name: "get_weather"}, true, true},
		{`{"type":"function","function":{"name":"add"}}`, toolChoice{mode: choiceNamed, name: "add"}, true, false},
		{`"sometimes"`, toolChoice{}, false, false}, {`3`, toolChoice{}, false, false}, {`{"type":"function"}`, toolChoice{}, false, false},
	} {
		c, err := parseToolChoice(json.RawMessage(tc.raw))
		if c != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseToolChoice(%s) = %+v, %v", tc.raw, c, err)
		}
		if err == nil && (checkToolChoice(c, tools) == nil) != tc.check {
			t.Errorf("checkToolChoice(%s): %v", tc.raw, checkToolChoice(c, tools))
		}
	}
	if checkToolChoice(toolChoice{mode: choiceRequired}, nil) == nil {
		t.Error(`"required" without tools accepted`)
	}
}

// FuzzParseToolCalls: any output parses without a panic; calls are of
// declared functions with JSON object arguments; an output with no calls
// comes back whole.
func FuzzParseToolCalls(f *testing.F) {
	for _, s := range []string{
		"<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>", `[TOOL_CALLS] [{"name": "add", "arguments": {}}]`,
		`<|python_tag|>{"name": "add", "parameters": {}}; {"name": "add"}`, `{"name": "add", "parameters": {"x": [1, 2]}}`,
		"<think>a</think>b", "<tool_call>{", `[{"name":"add","arguments":"{}"}]`, "plain",
	} {
		f.Add(s)
	}
	names := map[string]bool{"add": true}
	f.Fuzz(func(t *testing.T, text string) {
		o := splitOutput(text, true, false, names)
		content, calls := parseToolCalls(text, names)
		if calls == nil && content != text {
			t.Fatalf("no calls, content %q != text %q", content, text)
		}
		for _, c := range append(calls, o.Calls...) {
			var obj map[string]any
			if !names[c.Function.Name] || json.Unmarshal([]byte(c.Function.Arguments), &obj) != nil || obj == nil {
				t.Fatalf("bad call %+v from %q", c, text)
			}
		}
		if !strings.Contains(text, o.Content) && o.Calls == nil && o.Reasoning == "" {
			t.Fatalf("content %q not from %q", o.Content, text)
		}
	})
}

// streamSplit runs text through a thinkStream in pieces of n bytes.
func streamSplit(text string, opened bool, n int) (reasoning, content string) {
	ts := newThinkStream(opened)
	var r, c strings.Builder
	for i := 0; i < len(text); i += n {
		a, b := ts.next(text[i:min(i+n, len(text))])
		r.WriteString(a)
		c.WriteString(b)
	}
	a, b := ts.flush()
	r.WriteString(a)
	c.WriteString(b)
	return r.String(), c.String()
}

// FuzzThinkStream: reasoning split off as the text streams in, in pieces
// of any size, is the split of the whole text.
func FuzzThinkStream(f *testing.F) {
	for _, s := range []string{"<think>\na b\n</think>\n\nc", " \n<think> x </thi", "a</think>  b", "<think></think>", "  <th", "<think>\n\n </think> \n"} {
		f.Add(s, false, uint8(1))
		f.Add(s, true, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, opened bool, n uint8) {
		r, c := parseReasoning(text, opened)
		sr, sc := streamSplit(text, opened, int(n%16)+1)
		if sr != r || sc != c {
			t.Fatalf("streamed %q in %d: %q, %q; whole: %q, %q", text, n%16+1, sr, sc, r, c)
		}
	})
}
