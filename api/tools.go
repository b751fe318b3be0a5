package api

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// Tool is one entry of a chat request's tools: a function the model may
// call.
type Tool struct {
	Type     string       `json:"type"` // "function"
	Function ToolFunction `json:"function"`
}

// ToolFunction describes a function: its name, what it does and its
// parameters (a JSON Schema).
type ToolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolCall is a call of a tool: in an assistant message of a request, in
// a response's message, and (with Index) in a streamed delta.
type ToolCall struct {
	Index    *int             `json:"index,omitempty"`
	ID       string           `json:"id"`
	Type     string           `json:"type"` // "function"
	Function ToolCallFunction `json:"function"`
}

// ToolCallFunction is the function a ToolCall calls, with its arguments
// as JSON text (as OpenAI sends them).
type ToolCallFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// choiceMode is a request's tool_choice.
type choiceMode int

const (
	choiceAuto     choiceMode = iota // the model may call tools (the default)
	choiceNone                       // no calls: the tools are not shown to the template
	choiceRequired                   // the model must call one or more tools
	choiceNamed                      // the model must call this function
)

// toolChoice is a parsed tool_choice.
type toolChoice struct {
	mode choiceMode
	name string // choiceNamed
}

func (c toolChoice) String() string {
	switch c.mode {
	case choiceNone:
		return `"none"`
	case choiceRequired:
		return `"required"`
	case choiceNamed:
		return fmt.Sprintf("{\"type\":\"function\",\"function\":{\"name\":%q}}", c.name)
	}
	return `"auto"`
}

// parseToolChoice reads a request's tool_choice: "auto" (the default),
// "none", "required" or {"type": "function", "function": {"name": ...}}.
func parseToolChoice(raw json.RawMessage) (toolChoice, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return toolChoice{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto":
			return toolChoice{}, nil
		case "none":
			return toolChoice{mode: choiceNone}, nil
		case "required":
			return toolChoice{mode: choiceRequired}, nil
		}
		return toolChoice{}, badRequest("tool_choice", "invalid_value", "tool_choice must be \"auto\", \"none\", \"required\" or a named function, got %q", s)
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &named) != nil || named.Type != "function" || named.Function.Name == "" {
		return toolChoice{}, badRequest("tool_choice", "invalid_type", "tool_choice must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}")
	}
	return toolChoice{mode: choiceNamed, name: named.Function.Name}, nil
}

// checkToolChoice checks a tool choice against the declared tools:
// "required" needs some, a named function must be one of them.
func checkToolChoice(c toolChoice, tools []Tool) error {
	switch c.mode {
	case choiceRequired:
		if len(tools) == 0 {
			return badRequest("tool_choice", "invalid_value", "tool_choice \"required\" needs tools")
		}
	case choiceNamed:
		for _, t := range tools {
			if t.Function.Name == c.name {
				return nil
			}
		}
		return badRequest("tool_choice", "invalid_value", "tool_choice names the function %q, which is not among the tools", c.name)
	}
	return nil
}

// validateTools checks a request's tools: functions with distinct names.
func validateTools(tools []Tool) error {
	seen := make(map[string]bool, len(tools))
	for i, t := range tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return badRequest(param+".type", "invalid_value", "%s: type must be \"function\", got %q", param, t.Type)
		}
		if t.Function.Name == "" {
			return badRequest(param+".function.name", "invalid_value", "%s: the function needs a name", param)
		}
		if seen[t.Function.Name] {
			return badRequest(param+".function.name", "invalid_value", "%s: function %q is listed twice", param, t.Function.Name)
		}
		seen[t.Function.Name] = true
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && string(p) != "null" {
			var obj map[string]any
			if json.Unmarshal(p, &obj) != nil {
				return badRequest(param+".function.parameters", "invalid_type", "%s: parameters must be a JSON Schema object", param)
			}
		}
	}
	return nil
}

// jsonValue is v as generic JSON values (maps, slices, strings, float64s),
// as a template sees them.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// templateTools is tools as Hugging Face passes them to a chat template:
// the list of {"type": "function", "function": {...}} objects.
func templateTools(tools []Tool) []any {
	out := make([]any, len(tools))
	for i, t := range tools {
		out[i] = jsonValue(t)
	}
	return out
}

// templateToolCalls is an assistant message's tool calls as templates
// take them: arguments as an object when they are a JSON object (the
// templates write them with tojson, as llama.cpp passes them), else the
// text.
func templateToolCalls(calls []ToolCall) []any {
	out := make([]any, len(calls))
	for i, c := range calls {
		var args any = c.Function.Arguments
		var obj map[string]any
		if json.Unmarshal([]byte(c.Function.Arguments), &obj) == nil && obj != nil {
			args = obj
		}
		fn := map[string]any{"name": c.Function.Name, "arguments": args}
		typ := c.Type
		if typ == "" {
			typ = "function"
		}
		out[i] = map[string]any{"id": c.ID, "type": typ, "function": fn}
	}
	return out
}

// chatOutput is a generated assistant message split into its parts.
type chatOutput struct {
	Content   string
	Reasoning string
	Calls     []ToolCall
}

// callFromJSON reads {"name": ..., "arguments"|"parameters": {...}[, "id": ...]}.
func callFromJSON(raw []byte, names map[string]bool) (ToolCall, bool) {
	var v struct {
		Name       string          `json:"name"`
		Arguments  json.RawMessage `json:"arguments"`
		Parameters json.RawMessage `json:"parameters"`
		ID         string          `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Name == "" || !names[v.Name] {
		return ToolCall{}, false
	}
	args := bytes.TrimSpace(v.Arguments)
	if len(args) == 0 {
		args = bytes.TrimSpace(v.Parameters)
	}
	var argText string
	switch {
	case len(args) == 0 || string(args) == "null":
		argText = "{}"
	case args[0] == '"':
		// Arguments sent as a JSON string holding a JSON object.
		var obj map[string]json.RawMessage // numbers unparsed: 1E999 is JSON
		if json.Unmarshal(args, &argText) != nil || json.Unmarshal([]byte(argText), &obj) != nil || obj == nil {
			return ToolCall{}, false
		}
	case args[0] == '{':
		var buf bytes.Buffer
		if json.Compact(&buf, args) != nil {
			return ToolCall{}, false
		}
		argText = buf.String()
	default:
		return ToolCall{}, false
	}
	id := v.ID
	if id == "" {
		id = newID("call_")
	}
	return ToolCall{ID: id, Type: "function", Function: ToolCallFunction{Name: v.Name, Arguments: argText}}, true
}

// alnumID is n random letters and digits.
func alnumID(n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// thinkStream splits a streamed thinking model's text into reasoning and
// content as it comes, as parseReasoning splits the whole: a leading
// <think> block (or, when the prompt opened one, the text up to </think>)
// is reasoning, without the whitespace around it; the rest is content,
// without the whitespace after </think>.
type thinkStream struct {
	state   int    // thinkStart, thinkIn, thinkAfter or thinkOut
	pending string // text not yet given out
	started bool   // some reasoning was given out
}

const (
	thinkStart = iota // nothing but whitespace seen yet
	thinkIn           // in the reasoning
	thinkAfter        // after </think>, whitespace not yet skipped
	thinkOut          // in the content
)

// newThinkStream starts a split; opened says the prompt ended in <think>.
func newThinkStream(opened bool) *thinkStream {
	if opened {
		return &thinkStream{state: thinkIn}
	}
	return &thinkStream{}
}

// next takes the next piece of text and returns the reasoning and content
// that are now certain.
func (s *thinkStream) next(t string) (reasoning, content string) {
	s.pending += t
	var rb strings.Builder
	for {
		switch s.state {
		case thinkStart:
			p := strings.TrimLeft(s.pending, " \t\r\n")
			if strings.HasPrefix(p, "<think>") {
				s.pending, s.state = p[len("<think>"):], thinkIn
				continue
			}
			if p == "" || strings.HasPrefix("<think>", p) {
				return rb.String(), "" // may still open a block
			}
			s.state = thinkOut
		case thinkIn:
			if !s.started {
				s.pending = strings.TrimLeft(s.pending, " \t\r\n")
			}
			if i := strings.Index(s.pending, "</think>"); i >= 0 {
				rb.WriteString(strings.TrimRight(s.pending[:i], " \t\r\n"))
				s.pending, s.state = s.pending[i+len("</think>"):], thinkAfter
				continue
			}
			// Hold back what may start </think>, and trailing whitespace.
			keep := 0
			for k := min(len(s.pending), len("</think>")-1); k > 0; k-- {
				if strings.HasPrefix("</think>", s.pending[len(s.pending)-k:]) {
					keep = k
					break
				}
			}
			out := strings.TrimRight(s.pending[:len(s.pending)-keep], " \t\r\n")
			if out != "" {
				rb.WriteString(out)
				s.pending = s.pending[len(out):]
				s.started = true
			}
			return rb.String(), ""
		case thinkAfter:
			s.pending = strings.TrimLeft(s.pending, " \t\r\n")
			if s.pending == "" {
				return rb.String(), ""
			}
			s.state = thinkOut
		default:
			c := s.pending
			s.pending = ""
			return rb.String(), c
		}
	}
}

// flush gives out what is held at the end of the text.
func (s *thinkStream) flush() (reasoning, content string) {
	p := s.pending
	s.pending = ""
	switch s.state {
	case thinkStart:
		return "", p
	case thinkIn:
		if !s.started {
			p = strings.TrimLeft(p, " \t\r\n")
		}
		return strings.TrimRight(p, " \t\r\n"), ""
	}
	return "", ""
}

// checkToolText refuses tools and tool calls whose text spells one of the
// model's control tokens: a template writes them as its own text (only
// message contents are kept literal), so such text would become the
// token, and could end a turn or open another.
func checkToolText(tok *tokenizer.Tokenizer, tools []Tool, msgs []ChatMessage) error {
	spells := func(s string) bool {
		return s != "" && !slices.Equal(tok.Encode(s, false, true), tok.Encode(s, false, false))
	}
	// A template writes a string as it is or as JSON (tojson): check both.
	var spellsValue func(v any) bool
	spellsValue = func(v any) bool {
		switch v := v.(type) {
		case string:
			return spells(v)
		case []any:
			return slices.ContainsFunc(v, spellsValue)
		case map[string]any:
			for k, e := range v {
				if spells(k) || spellsValue(e) {
					return true
				}
			}
		}
		return false
	}
	spellsJSON := func(v any) bool {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		return enc.Encode(v) == nil && spells(b.String())
	}
	if len(tools) > 0 {
		if v := jsonValue(tools); spellsValue(v) || spellsJSON(v) {
			return badRequest("tools", "invalid_value", "tools must not spell the model's special tokens")
		}
	}
	for i, m := range msgs {
		param := fmt.Sprintf("messages[%d]", i)
		if spells(m.ToolCallID) || spells(m.Name) {
			return badRequest(param, "invalid_value", "%s: tool_call_id and name must not spell the model's special tokens", param)
		}
		for k, c := range m.ToolCalls {
			args := templateToolCalls([]ToolCall{c})
			if spells(c.ID) || spells(c.Function.Name) || spells(c.Function.Arguments) || spellsValue(args) || spellsJSON(args) {
				return badRequest(fmt.Sprintf("%s.tool_calls[%d]", param, k), "invalid_value", "%s: tool call %d must not spell the model's special tokens", param, k)
			}
		}
	}
	return nil
}
