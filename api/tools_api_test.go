package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
// vocabulary, special tokens parsed, no space prefix) instead of running
// the model: what the server does with the output (parsing tool calls,
// the response) is the real path. The reply sees the prompt with every
// token's text, control tokens too; it ends at a stop token, as a model's
// generation does.
type cannedBackend struct {
	api.Backend
	tok   *tokenizer.Tokenizer
	reply func(prompt string) string

	mu      sync.Mutex
	prompts []string
}

func newCanned(t *testing.T, tmpl string, reply func(string) string) *cannedBackend {
	return newCannedVocab(t, tmpl, nil, reply)
}

// newCannedVocab is newCanned with control tokens added to the vocabulary.
func newCannedVocab(t *testing.T, tmpl string, controls []string, reply func(string) string) *cannedBackend {
	t.Helper()
	local, _, tok := newLocal(t, api.LocalOptions{})
	v := *tok.Vocab()
	v.ChatTemplate = tmpl
	v.AddSpacePrefix = false
	if len(controls) > 0 {
		v.Tokens = append(append([]string(nil), v.Tokens...), controls...)
		v.Scores = append(append([]float32(nil), v.Scores...), make([]float32, len(controls))...)
		types := append([]int32(nil), v.Types...)
		for len(types) < len(tok.Vocab().Tokens) {
			types = append(types, tokenizer.TokenNormal)
		}
		for range controls {
			types = append(types, tokenizer.TokenControl)
		}
		v.Types = types
	}
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
	var b strings.Builder
	for _, id := range req.Prompt {
		if p := c.tok.TokenPiece(id); len(p) > 0 {
			b.Write(p)
		} else if id != c.tok.Vocab().BOS {
			b.WriteString(c.tok.TokenText(id))
		}
	}
	prompt := b.String()
	c.mu.Lock()
	c.prompts = append(c.prompts, prompt)
	c.mu.Unlock()
	ids := c.tok.Encode(c.reply(prompt), false, true)
	res := api.GenerateResult{PromptTokens: len(req.Prompt), FinishReason: api.FinishLength}
	for _, id := range ids {
		if res.GeneratedTokens == req.MaxTokens {
			return res, nil
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if req.Stop != nil && req.Stop(id) {
			res.FinishReason = api.FinishStop
			return res, nil
		}
		if err := emit(id); err != nil {
			if errors.Is(err, api.ErrStop) {
				res.FinishReason = api.FinishStop
				return res, nil
			}
			return res, err
		}
		res.GeneratedTokens++
	}
	res.FinishReason = api.FinishStop // the reply ended: as at an end-of-generation token
	return res, nil
}

// weatherReply calls get_weather until the prompt has its answer,
// continuing a call that the prompt started (tool_choice required or
// named).
func weatherReply(prompt string) string {
	const call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	switch {
	case strings.Contains(prompt, "<tool_response>"):
		return "It is 21 degrees in Paris."
	case strings.HasSuffix(prompt, `"arguments": `):
		return call[strings.Index(call, `{"city"`):]
	case strings.HasSuffix(prompt, `{"name": "`):
		return call[len("<tool_call>\n{\"name\": \""):]
	}
	return call
}

// TestOpenAINodeTools: the official openai npm client sends tools, gets
// the model's <tool_call> back as tool_calls (finish_reason
// "tool_calls"), streamed too (through the client's stream helper, the
// arguments in several deltas), and sends the call and its result back
// for the next turn, which the template renders; tool_choice "none"
// leaves the call as text, "required" and a named function make the
// prompt start the call, which the model continues.
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
	type answer struct {
		FinishReason string              `json:"finish_reason"`
		Message      api.ResponseMessage `json:"message"`
		ArgDeltas    int                 `json:"arg_deltas"`
		Chunks       int
	}
	var res struct{ First, Stream, Second, None, Required, Named answer }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, c := range map[string]answer{"first": res.First, "stream": res.Stream, "required": res.Required, "named": res.Named} {
		calls := c.Message.ToolCalls
		if c.FinishReason != "tool_calls" || len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Type != "function" ||
			calls[0].Function.Arguments != `{"city":"Paris"}` || !strings.HasPrefix(calls[0].ID, "call_") || c.Message.Content != "" {
			t.Errorf("%s: %+v", name, c)
		}
	}
	// The tiny vocabulary has a token per few bytes: {"city":"Paris"} comes
	// in several pieces.
	if res.Stream.ArgDeltas < 3 || res.Stream.Chunks < res.Stream.ArgDeltas+1 {
		t.Errorf("stream: %d argument deltas in %d chunks", res.Stream.ArgDeltas, res.Stream.Chunks)
	}
	if res.Second.FinishReason != "stop" || res.Second.Message.Content != "It is 21 degrees in Paris." || len(res.Second.Message.ToolCalls) != 0 {
		t.Errorf("second: %+v", res.Second)
	}
	if n := res.None; n.FinishReason != "stop" || len(n.Message.ToolCalls) != 0 || !strings.Contains(n.Message.Content, "<tool_call>") {
		t.Errorf("none: %+v", n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.prompts) != 6 {
		t.Fatalf("%d generations, want 6", len(b.prompts))
	}
	if !strings.Contains(b.prompts[0], `{"function": {"description": "Weather of a city", "name": "get_weather"`) {
		t.Errorf("the tools are not in the prompt:\n%s", b.prompts[0])
	}
	want := "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n" +
		"<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(b.prompts[2], want) {
		t.Errorf("second turn's prompt\n%q\ndoes not end with\n%q", b.prompts[2], want)
	}
	if strings.Contains(b.prompts[3], "<tools>") {
		t.Errorf(`tool_choice "none": the tools are in the prompt`)
	}
	for i, suffix := range map[int]string{4: "<|im_start|>assistant\n<tool_call>\n{\"name\": \"", 5: "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "} {
		if !strings.HasSuffix(b.prompts[i], suffix) {
			t.Errorf("prompt %d does not end with %q: %q", i, suffix, b.prompts[i])
		}
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
