package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// hermesJinja is a Qwen 2.5 style template: tools in the system prompt,
// assistant tool calls as <tool_call> blocks, tool results as
// <tool_response> blocks.
const hermesJinja = `{%- if tools %}{{- '<|im_start|>system\n# Tools\n<tools>' }}{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}{{- "\n</tools><|im_end|>\n" }}{%- endif %}` +
	`{%- for message in messages %}{%- if message.role == "user" or (message.role == "assistant" and not message.tool_calls) %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}` +
	`{%- elif message.role == "assistant" %}{{- '<|im_start|>assistant' }}{%- for tool_call in message.tool_calls %}{%- set tool_call = tool_call.function %}` +
	`{{- '\n<tool_call>\n{"name": "' + tool_call.name + '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}{%- endfor %}{{- '<|im_end|>\n' }}` +
	`{%- elif message.role == "tool" %}{{- '<|im_start|>user\n<tool_response>\n' + message.content + '\n</tool_response><|im_end|>\n' }}{%- endif %}{%- endfor %}` +
	`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`

// cannedBackend serves the tiny model's vocabulary with a Jinja chat
// template, and "generates" a canned reply (tokenized with that
// vocabulary) instead of running the model: what the server does with
// the output (parsing tool calls, the response) is the real path.
type cannedBackend struct {
	api.Backend
	tok   *tokenizer.Tokenizer
	reply func(prompt string) string

	mu      sync.Mutex
	prompts []string
}

func newCanned(t *testing.T, tmpl string, reply func(string) string) *cannedBackend {
	t.Helper()
	local, _, tok := newLocal(t, api.LocalOptions{})
	v := *tok.Vocab()
	v.ChatTemplate = tmpl
	ct, err := tokenizer.New(&v)
	if err != nil {
		t.Fatal(err)
	}
	return &cannedBackend{Backend: local, tok: ct, reply: reply}
}

func (c *cannedBackend) Tokenizer(string) (*tokenizer.Tokenizer, error) { return c.tok, nil }

// Models reports a context that fits tool prompts: the tiny model's 128
// tokens do not, and no model runs.
func (c *cannedBackend) Models(ctx context.Context) ([]api.ModelInfo, error) {
	ms, err := c.Backend.Models(ctx)
	for i := range ms {
		ms[i].ContextLength = 4096
	}
	return ms, err
}

func (c *cannedBackend) Generate(ctx context.Context, req api.GenerateRequest, emit func(int32) error) (api.GenerateResult, error) {
	prompt := c.tok.Decode(req.Prompt)
	c.mu.Lock()
	c.prompts = append(c.prompts, prompt)
	c.mu.Unlock()
	ids := c.tok.Encode(c.reply(prompt), false, false)
	res := api.GenerateResult{PromptTokens: len(req.Prompt), FinishReason: api.FinishStop}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := emit(id); err != nil {
			return res, err
		}
		res.GeneratedTokens++
	}
	return res, nil
}

func weatherReply(prompt string) string {
	if strings.Contains(prompt, "<tool_response>") {
		return "It is 21 degrees in Paris."
	}
	return "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
}

// TestOpenAINodeTools: the official openai npm client sends tools, gets
// the model's <tool_call> back as tool_calls (finish_reason
// "tool_calls"), streamed too, and sends the call and its result back for
// the next turn, which the template renders.
func TestOpenAINodeTools(t *testing.T) {
	node := needNode(t)
	b := newCanned(t, hermesJinja, weatherReply)
	ts, _ := serve(t, b, api.Options{APIKey: "k"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/openai_tools.mjs", ts.URL+"/v1", testModelID, "k")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res struct {
		First, Second struct {
			FinishReason string              `json:"finish_reason"`
			Message      api.ResponseMessage `json:"message"`
		}
		Stream struct {
			FinishReason string         `json:"finish_reason"`
			ToolCalls    []api.ToolCall `json:"tool_calls"`
		}
		Required struct {
			Status int
			Param  string
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, c := range map[string]struct {
		finish string
		calls  []api.ToolCall
	}{"first": {res.First.FinishReason, res.First.Message.ToolCalls}, "stream": {res.Stream.FinishReason, res.Stream.ToolCalls}} {
		if c.finish != "tool_calls" || len(c.calls) != 1 || c.calls[0].Function.Name != "get_weather" ||
			c.calls[0].Function.Arguments != `{"city":"Paris"}` || !strings.HasPrefix(c.calls[0].ID, "call_") {
			t.Errorf("%s: finish %q, calls %+v", name, c.finish, c.calls)
		}
	}
	if res.First.Message.Content != "" {
		t.Errorf("first: content %q beside the call", res.First.Message.Content)
	}
	// The tiny vocabulary's tokenizer adds its leading space to the reply.
	if res.Second.FinishReason != "stop" || strings.TrimSpace(res.Second.Message.Content) != "It is 21 degrees in Paris." || len(res.Second.Message.ToolCalls) != 0 {
		t.Errorf("second: %+v", res.Second)
	}
	if res.Required.Status != 400 || res.Required.Param != "tool_choice" {
		t.Errorf("tool_choice required: %+v", res.Required)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.prompts) != 3 {
		t.Fatalf("%d generations, want 3", len(b.prompts))
	}
	if !strings.Contains(b.prompts[0], `{"function": {"description": "Weather of a city", "name": "get_weather"`) {
		t.Errorf("the tools are not in the prompt:\n%s", b.prompts[0])
	}
	want := "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(b.prompts[2], want) {
		t.Errorf("second turn's prompt\n%q\ndoes not end with\n%q", b.prompts[2], want)
	}
}

// thinkJinja is a Qwen3 style template: a thinking one (it knows
// </think>) with the enable_thinking switch.
const thinkJinja = `{%- for message in messages %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}{%- endfor %}` +
	`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\n\n</think>\n\n' }}{%- endif %}{%- endif %}`

// TestChatReasoning: a thinking template's <think> block comes back as
// reasoning_content, non-streamed and streamed, and chat_template_kwargs
// reach the template.
func TestChatReasoning(t *testing.T) {
	b := newCanned(t, thinkJinja, func(string) string { return "<think>\nTwo and two.\n</think>\n\nFour." })
	ts, _ := serve(t, b, api.Options{})
	post := func(body string) []byte {
		t.Helper()
		resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%d: %s", resp.StatusCode, buf.String())
		}
		return buf.Bytes()
	}
	var c api.ChatCompletion
	if err := json.Unmarshal(post(`{"messages":[{"role":"user","content":"2+2?"}],"chat_template_kwargs":{"enable_thinking":false}}`), &c); err != nil {
		t.Fatal(err)
	}
	m := c.Choices[0].Message
	if m.ReasoningContent != "Two and two." || m.Content != "Four." || *c.Choices[0].FinishReason != "stop" {
		t.Errorf("message %+v", m)
	}
	b.mu.Lock()
	if p := b.prompts[0]; !strings.HasSuffix(p, "<|im_start|>assistant\n<think>\n\n</think>\n\n") {
		t.Errorf("enable_thinking did not reach the template: %q", p)
	}
	b.mu.Unlock()
	var reasoning, content string
	for _, line := range strings.Split(string(post(`{"messages":[{"role":"user","content":"2+2?"}],"stream":true}`)), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch api.ChatChunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatal(err)
		}
		for _, c := range ch.Choices {
			reasoning += c.Delta.ReasoningContent
			content += c.Delta.Content
		}
	}
	if reasoning != "Two and two." || content != "Four." {
		t.Errorf("streamed reasoning %q, content %q", reasoning, content)
	}
}

// TestToolTextSpecials: tools and tool calls are written by the template as
// its own text, so text in them that spells a control token (the tiny
// model's "\n</s>\n") is refused rather than made that token.
func TestToolTextSpecials(t *testing.T) {
	b := newCanned(t, hermesJinja, weatherReply)
	ts, _ := serve(t, b, api.Options{})
	const tool = `{"type":"function","function":{"name":"get_weather","description":"DESC","parameters":{"type":"object"}}}`
	const call = `{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"ARGS"}}]}`
	for _, tc := range []struct {
		name, body, param string
		status            int
	}{
		{"plain", `{"messages":[{"role":"user","content":"hi"}],"tools":[` + strings.Replace(tool, "DESC", "weather", 1) + `]}`, "", 200},
		{"tools", `{"messages":[{"role":"user","content":"hi"}],"tools":[` + strings.Replace(tool, "DESC", "ends here \\n</s>\\n", 1) + `]}`, "tools", 400},
		{"arguments", `{"messages":[{"role":"user","content":"hi"},` + strings.Replace(call, "ARGS", `{\"city\": \"\\n</s>\\n\"}`, 1) +
			`,{"role":"tool","tool_call_id":"c1","content":"\n</s>\n is fine here"}],"tools":[` + strings.Replace(tool, "DESC", "weather", 1) + `]}`, "messages[1].tool_calls[0]", 400},
		{"tool content", `{"messages":[{"role":"user","content":"hi"},` + strings.Replace(call, "ARGS", `{\"city\": \"Paris\"}`, 1) +
			`,{"role":"tool","tool_call_id":"c1","content":"\n</s>\n is fine here"}],"tools":[` + strings.Replace(tool, "DESC", "weather", 1) + `]}`, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e api.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %+v", resp.StatusCode, tc.status, e)
			}
			if tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param) {
				t.Errorf("param %v, want %q (%s)", e.Error.Param, tc.param, e.Error.Message)
			}
		})
	}
}
