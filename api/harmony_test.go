package api

import (
	"strings"
	"testing"
)

func streamHarmony(text string, n int, names map[string]bool) streamed {
	h := newHarmonyStream(names)
	return accumulate(text, n, h.next, h.flush)
}

func TestHarmonyStream(t *testing.T) {
	names := map[string]bool{"get_weather": true}
	type call struct{ name, args string }
	for _, tc := range []struct {
		name, text         string
		reasoning, content string
		calls              []call
		broken             bool
	}{
		{"final", "<|channel|>final<|message|>Hello.", "", "Hello.", nil, false},
		{"analysis then final", "<|channel|>analysis<|message|>The user greets.<|end|><|start|>assistant<|channel|>final<|message|>Hi there!<|return|>",
			"The user greets.", "Hi there!", nil, false},
		{"call, recipient after the channel", "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>",
			"Need weather.", "", []call{{"get_weather", `{"city":"Paris"}`}}, false},
		{"call, recipient before the channel", "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\":\"Oslo\"}",
			"", "", []call{{"get_weather", `{"city":"Oslo"}`}}, false},
		{"preamble is content", "<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{}<|call|>",
			"", "Checking.", []call{{"get_weather", `{}`}}, false},
		{"undeclared function is content", "<|channel|>commentary to=functions.rm <|constrain|>json<|message|>{\"path\": \"/\"}", "", `{"path": "/"}`, nil, false},
		{"malformed arguments", "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": ", "", "", []call{{"get_weather", `{"city":`}}, true},
		{"no header", "Just text.", "", "Just text.", nil, false},
		{"header cut short", "<|channel|>analy", "", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 5, len(tc.text)} {
				h := newHarmonyStream(names)
				got := accumulate(tc.text, n, h.next, h.flush)
				if got.reasoning != tc.reasoning || got.content != tc.content || h.spoiled != tc.broken {
					t.Errorf("pieces of %d: reasoning %q, content %q, broken %v", n, got.reasoning, got.content, h.spoiled)
				}
				if len(got.names) != len(tc.calls) {
					t.Fatalf("pieces of %d: calls %v %v, want %v", n, got.names, got.args, tc.calls)
				}
				for i, c := range tc.calls {
					if got.names[i] != c.name || got.args[i] != c.args {
						t.Errorf("pieces of %d: call %d %s(%s), want %s(%s)", n, i, got.names[i], got.args[i], c.name, c.args)
					}
				}
				if want := len(tc.calls); tc.broken {
					want = 0
				} else if len(got.done) != want || len(h.result()) != want {
					t.Errorf("pieces of %d: %d calls done, want %d", n, len(got.done), want)
				}
			}
		})
	}
}

// FuzzHarmonyStream: the output read in pieces of any size gives what it
// gives read whole; calls that end are well-formed calls of declared
// functions, and every piece of text is from the output.
func FuzzHarmonyStream(f *testing.F) {
	for _, s := range []string{
		"<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>final<|message|>b",
		"<|channel|>commentary to=functions.add <|constrain|>json<|message|>{\"a\": [1, \"}\"]}<|call|>",
		" to=functions.add<|channel|>commentary json<|message|>{", "plain", "<|start|><|channel|><|message|><|end|>",
	} {
		f.Add(s, uint8(1))
	}
	names := map[string]bool{"add": true}
	f.Fuzz(func(t *testing.T, text string, n uint8) {
		whole := streamHarmony(text, len(text)+1, names)
		parts := streamHarmony(text, int(n%16)+1, names)
		if parts.content != whole.content || parts.reasoning != whole.reasoning || strings.Join(parts.names, ",") != strings.Join(whole.names, ",") ||
			strings.Join(parts.args, "\x00") != strings.Join(whole.args, "\x00") || len(parts.done) != len(whole.done) {
			t.Fatalf("%q in pieces of %d: %+v; whole: %+v", text, n%16+1, parts, whole)
		}
		for _, c := range whole.done {
			if !names[c.Function.Name] || !strings.HasPrefix(c.Function.Arguments, "{") {
				t.Fatalf("bad call %+v from %q", c, text)
			}
		}
		if len(whole.content)+len(whole.reasoning) > len(text) {
			t.Fatalf("more text out than in: %+v from %q", whole, text)
		}
	})
}
