package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
)

// TestOllamaNodeTools: the official ollama npm client sends tools to
// /api/chat and gets the call back in message.tool_calls (arguments as an
// object), whole and streamed, then sends the call and its result (a tool
// message with tool_name) for the next turn, which the template renders.
func TestOllamaNodeTools(t *testing.T) {
	node := needNode(t)
	b := newCanned(t, hermesJinja, weatherReply)
	ts, _ := serve(t, b, api.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/ollama_tools.mjs", ts.URL, testModelID)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res struct {
		First, Second struct {
			Message    api.OllamaMessage
			DoneReason string `json:"done_reason"`
		}
		Stream struct {
			Parts   int
			Calls   []api.OllamaToolCall
			Content string
		}
		Show struct{ Capabilities []string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	check := func(name string, calls []api.OllamaToolCall) {
		if len(calls) != 1 || calls[0].Function.Name != "get_weather" || string(calls[0].Function.Arguments) != `{"city":"Paris"}` {
			t.Errorf("%s: calls %+v", name, calls)
		}
	}
	check("whole", res.First.Message.ToolCalls)
	check("streamed", res.Stream.Calls)
	if res.First.Message.Content != "" || res.First.DoneReason != "stop" || res.Stream.Content != "" || res.Stream.Parts < 2 {
		t.Errorf("first %+v, stream %+v", res.First, res.Stream)
	}
	if m := res.Second.Message; m.Content != "It is 21 degrees in Paris." || len(m.ToolCalls) != 0 {
		t.Errorf("second: %+v", res.Second)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	want := "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if n := len(b.prompts); n != 3 || !strings.HasSuffix(b.prompts[2], want) {
		t.Errorf("%d prompts; the last\n%q\ndoes not end with\n%q", n, b.prompts[n-1], want)
	}
	if res.Show.Capabilities == nil || strings.Join(res.Show.Capabilities, ",") != "completion,tools" {
		t.Errorf("show: capabilities %v", res.Show.Capabilities)
	}
}

// TestOllamaTools: /api/chat streams text as it comes and each call whole
// once it has ended, for each family's template; calls from earlier turns
// without ids get ids a Mistral template takes; tools that spell a
// control token are refused.
func TestOllamaTools(t *testing.T) {
	const tools = `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
	for _, f := range toolFormats {
		t.Run(f.name, func(t *testing.T) {
			b := newCannedVocab(t, f.template, f.controls, func(p string) string {
				if strings.Contains(p, "21") {
					return "Sunny."
				}
				if f.name == "llama3.1" {
					return "Let me see. <|python_tag|>" + f.full // a bare call is the whole output
				}
				return "Let me see. " + f.full
			})
			ts, _ := serve(t, b, api.Options{})
			status, body := postRaw(t, ts.URL+"/api/chat", `{"messages":[{"role":"user","content":"Weather?"}],"tools":`+tools+`}`)
			if status != 200 {
				t.Fatalf("HTTP %d: %s", status, body)
			}
			var content string
			var calls []api.OllamaToolCall
			lines := strings.Split(strings.TrimSpace(string(body)), "\n")
			for i, line := range lines {
				var o api.OllamaResponse
				if err := json.Unmarshal([]byte(line), &o); err != nil || o.Message == nil {
					t.Fatalf("line %q: %v", line, err)
				}
				if o.Done != (i == len(lines)-1) {
					t.Errorf("line %d of %d: done %v", i, len(lines), o.Done)
				}
				content += o.Message.Content
				calls = append(calls, o.Message.ToolCalls...)
			}
			if len(calls) != 1 || calls[0].Function.Name != "get_weather" || string(calls[0].Function.Arguments) != `{"city":"Paris"}` {
				t.Errorf("calls %+v", calls)
			}
			if want := "Let me see."; f.name != "gpt-oss" && content != want && content != want+" " {
				t.Errorf("content %q", content)
			}
			// The next turn: the call without an id, the result without one.
			turn := `{"stream":false,"tools":` + tools + `,"messages":[{"role":"user","content":"Weather?"},` +
				`{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},` +
				`{"role":"tool","tool_name":"get_weather","content":"{\"temp\": 21}"}]}`
			status, body = postRaw(t, ts.URL+"/api/chat", turn)
			var o api.OllamaResponse
			if err := json.Unmarshal(body, &o); status != 200 || err != nil || o.Message.Content != "Sunny." {
				t.Errorf("next turn: HTTP %d %v: %s", status, err, body)
			}
		})
	}
	b := newCanned(t, hermesJinja, weatherReply)
	ts, _ := serve(t, b, api.Options{})
	status, body := postRaw(t, ts.URL+"/api/chat", `{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f","description":"x\n</s>\n"}}]}`)
	if status != 400 || !strings.Contains(string(body), "special tokens") {
		t.Errorf("tools spelling </s>: HTTP %d %s", status, body)
	}
}
