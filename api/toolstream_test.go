package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// streamed is what a run of an output parser gave out, accumulated.
type streamed struct {
	content, reasoning string
	names, args        []string
	done               []ToolCall
}

// accumulate feeds text to next in pieces of n bytes, then flushes.
func accumulate(text string, n int, next func(string) outDelta, flush func() outDelta) streamed {
	var all outDelta
	for i := 0; i < len(text); i += n {
		all.add(next(text[i:min(i+n, len(text))]))
	}
	all.add(flush())
	var s streamed
	s.content, s.reasoning, s.done = all.Content, all.Reasoning, all.Done
	for _, c := range all.Calls {
		if c.ID != "" {
			if c.Index != len(s.names) {
				panic("calls out of order")
			}
			s.names = append(s.names, c.Name)
			s.args = append(s.args, "")
		}
		s.args[c.Index] += c.Args
	}
	return s
}

// testTypes are the parameter types of the tests' tools.
var testTypes = map[string]map[string]string{"get_weather": {"city": "string"}, "add": {"a": "integer", "s": "string"}}

func streamTools(text string, n int, names map[string]bool) streamed {
	return streamTyped(text, n, names, testTypes)
}

func streamTyped(text string, n int, names map[string]bool, types map[string]map[string]string) streamed {
	ts := newToolStream(names)
	ts.types = types
	return accumulate(text, n, ts.next, ts.flush)
}

func TestToolStream(t *testing.T) {
	names := map[string]bool{"get_weather": true, "add": true}
	type call struct{ name, args string }
	for _, tc := range []struct {
		name, text string
		content    string
		calls      []call
	}{
		{"plain", "Hello there.\n", "Hello there.\n", nil},
		{"hermes", "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": [1, 2]}}\n</tool_call>", "Let me check.", []call{{"get_weather", `{"city":"Paris","days":[1,2]}`}}},
		{"hermes two, text between", "A <tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 1}}</tool_call> B\n<tool_call>{\"arguments\": {\"b\": \"x y\"}, \"name\": \"add\"}</tool_call>\n",
			"A  B", []call{{"add", `{"a":1}`}, {"add", `{"b":"x y"}`}}},
		{"hermes unknown function is text", `<tool_call>{"name": "rm", "arguments": {}}</tool_call> ok`, `<tool_call>{"name": "rm", "arguments": {}}</tool_call> ok`, nil},
		{"mistral", `[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}]`, "", []call{{"add", `{"a":1}`}, {"get_weather", `{"city":"Oslo"}`}}},
		{"mistral v11", "Sure.[TOOL_CALLS]add[ARGS]{\"a\": 1}[TOOL_CALLS]get_weather[CALL_ID]abcDEF123[ARGS]{\"city\": \"Oslo\"}", "Sure.", []call{{"add", `{"a":1}`}, {"get_weather", `{"city":"Oslo"}`}}},
		{"mistral v11 unknown function", "[TOOL_CALLS]rm[ARGS]{}", "[TOOL_CALLS]rm[ARGS]{}", nil},
		{"xml", "Sure.\n<tool_call>\n<function=add>\n<parameter=a>\n1\n</parameter>\n<parameter=b>\ntwo\nlines <b>\n</parameter>\n<parameter=c>\n[1, 2]\n</parameter>\n</function>\n</tool_call>",
			"Sure.", []call{{"add", `{"a":1,"b":"two\nlines <b>","c":[1,2]}`}}},
		{"xml string parameter", "<tool_call>\n<function=get_weather>\n<parameter=city>\n42\n</parameter>\n</function>\n</tool_call>", "", []call{{"get_weather", `{"city":"42"}`}}},
		{"xml unknown function", "<tool_call>\n<function=rm>\n</function>\n</tool_call>", "<tool_call>\n<function=rm>\n</function>\n</tool_call>", nil},
		{"python_tag", `<|python_tag|>{"name": "add", "parameters": {"a": 2}}; {"name": "add", "parameters": {"a": 3}}`, "", []call{{"add", `{"a":2}`}, {"add", `{"a":3}`}}},
		{"bare", ` {"name": "get_weather", "parameters": {"city": "Rome"}}`, "", []call{{"get_weather", `{"city":"Rome"}`}}},
		{"bare not a call", `{"answer": 42}`, `{"answer": 42}`, nil},
		{"arguments as a string", `<tool_call>{"name": "add", "arguments": "{\"a\": 1}"}</tool_call>`, "", []call{{"add", `{"a": 1}`}}},
		{"no arguments", `<tool_call>{"name": "add"}</tool_call>`, "", []call{{"add", `{}`}}},
		{"braces in strings", `<tool_call>{"name": "add", "arguments": {"s": "}\"{ </tool_call>"}}</tool_call>`, "", []call{{"add", `{"s":"}\"{ </tool_call>"}`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 7, len(tc.text)} {
				got := streamTools(tc.text, n, names)
				if got.content != tc.content {
					t.Errorf("pieces of %d: content %q, want %q", n, got.content, tc.content)
				}
				if len(got.names) != len(tc.calls) || len(got.done) != len(tc.calls) {
					t.Fatalf("pieces of %d: calls %v %v, done %d, want %v", n, got.names, got.args, len(got.done), tc.calls)
				}
				for i, c := range tc.calls {
					if got.names[i] != c.name || got.args[i] != c.args || got.done[i].Function.Arguments != c.args {
						t.Errorf("pieces of %d: call %d %s(%s), want %s(%s)", n, i, got.names[i], got.args[i], c.name, c.args)
					}
				}
			}
		})
	}
}

// TestToolStreamIncremental: a call is given out as soon as its name is
// read and its arguments have begun, then its arguments as they come.
func TestToolStreamIncremental(t *testing.T) {
	ts := newToolStream(map[string]bool{"get_weather": true})
	steps := []struct {
		piece string
		want  []callDelta
		text  string
	}{
		{"Sure. <tool", nil, "Sure."},
		{"_call>\n{\"name\": \"get_we", nil, ""},
		{"ather\", \"arguments\": {\"ci", []callDelta{{Index: 0, Name: "get_weather"}, {Index: 0, Args: `{"ci`}}, ""},
		{"ty\": \"Par", []callDelta{{Index: 0, Args: `ty":"Par`}}, ""},
		{"is\"}}\n</tool_call>", []callDelta{{Index: 0, Args: `is"}`}}, ""},
	}
	for i, st := range steps {
		d := ts.next(st.piece)
		if d.Content != st.text || len(d.Calls) != len(st.want) {
			t.Fatalf("step %d: %+v, want content %q calls %+v", i, d, st.text, st.want)
		}
		for k, c := range d.Calls {
			if c.Index != st.want[k].Index || c.Name != st.want[k].Name || c.Args != st.want[k].Args || (c.Name != "") != (c.ID != "") {
				t.Errorf("step %d: call piece %+v, want %+v", i, c, st.want[k])
			}
		}
	}
	if d := ts.flush(); !d.empty() {
		t.Errorf("flush: %+v", d)
	}
}

// FuzzToolStream: the output read in pieces of any size gives what it
// gives read whole, and, when the whole output is well-formed calls and
// text, what parseToolCalls gives.
func FuzzToolStream(f *testing.F) {
	for _, s := range []string{
		"<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>", `[TOOL_CALLS] [{"name": "add", "arguments": {}}]`,
		`<|python_tag|>{"name": "add", "parameters": {}}; {"name": "add"}`, ` {"name": "add", "parameters": {"x": [1, "}"]}}`,
		"a <tool_call>{\"name\":\"add\",\"arguments\":\"{}\"}</tool_call> b", "[TOOL_CALLS]add[ARGS]{\"x\": \"[ARGS]\"}[TOOL_CALLS]add[CALL_ID]1[ARGS]{}",
		"<tool_call>\n<function=add>\n<parameter=s>\nÄ \"q\" </par\n</parameter>\n<parameter=a>\n3\n</parameter>\n</function>\n</tool_call>", "<tool_call>{", `[{"name":"add","arguments":"{}"}]`, "plain  ",
	} {
		f.Add(s, uint8(1))
	}
	names := map[string]bool{"add": true}
	f.Fuzz(func(t *testing.T, text string, n uint8) {
		whole := streamTools(text, len(text)+1, names)
		parts := streamTools(text, int(n%16)+1, names)
		if parts.content != whole.content || strings.Join(parts.names, ",") != strings.Join(whole.names, ",") ||
			strings.Join(parts.args, "\x00") != strings.Join(whole.args, "\x00") || len(parts.done) != len(whole.done) {
			t.Fatalf("%q in pieces of %d: %+v; whole: %+v", text, n%16+1, parts, whole)
		}
		for i, c := range whole.done {
			var obj map[string]any
			if !names[c.Function.Name] || json.Unmarshal([]byte(c.Function.Arguments), &obj) != nil || obj == nil {
				t.Fatalf("bad call %+v from %q", c, text)
			}
			if i >= len(whole.args) {
				t.Fatalf("done call %d was never given out", i)
			}
		}
		// parseToolCalls knows no parameter types.
		whole = streamTyped(text, len(text)+1, names, nil)
		content, calls := parseToolCalls(text, names)
		if calls != nil {
			if strings.TrimSpace(whole.content) != content || len(calls) != len(whole.names) {
				t.Fatalf("%q: streamed %+v; whole-text parse %q %+v", text, whole, content, calls)
			}
			for i, c := range calls {
				if c.Function.Name != whole.names[i] || c.Function.Arguments != whole.args[i] {
					t.Fatalf("%q: streamed call %d %s(%s), parsed %+v", text, i, whole.names[i], whole.args[i], c)
				}
			}
		}
	})
}
