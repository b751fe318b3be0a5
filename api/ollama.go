package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The ollama API (/api/tags, /api/show, /api/generate, /api/chat), so that
// tools written for ollama (Open WebUI, editor plugins, the ollama client
// libraries) work against an Orbit node unchanged. Generation streams
// newline-delimited JSON unless "stream": false (ollama's default is to
// stream). Errors are ollama's {"error": "..."} with the HTTP status the
// OpenAI endpoints would use. Models are named as everywhere (ID, name or
// ID prefix); /api/tags lists them by name when they have one.

// OllamaOptions are the sampling options of an ollama request.
type OllamaOptions struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	MinP             *float64 `json:"min_p,omitempty"`
	RepeatPenalty    *float64 `json:"repeat_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	NumPredict       *int     `json:"num_predict,omitempty"` // -1 or absent: to the end of the context
	Stop             []string `json:"stop,omitempty"`
}

// OllamaGenerateRequest is the body of POST /api/generate.
type OllamaGenerateRequest struct {
	Model   string          `json:"model"`
	Prompt  string          `json:"prompt"`
	System  string          `json:"system,omitempty"`
	Raw     bool            `json:"raw,omitempty"`
	Stream  *bool           `json:"stream,omitempty"`
	Options *OllamaOptions  `json:"options,omitempty"`
	Images  json.RawMessage `json:"images,omitempty"`
	// Format "json" constrains the response to one JSON object.
	Format json.RawMessage `json:"format,omitempty"`
}

// OllamaMessage is a chat message of the ollama API: an assistant's may
// carry its reasoning (Thinking) and calls of tools; a tool message
// answers a call, named by ToolName (and ToolCallID, when the client
// sends one).
type OllamaMessage struct {
	Role       string           `json:"role"`
	Content    string           `json:"content"`
	Thinking   string           `json:"thinking,omitempty"`
	Images     json.RawMessage  `json:"images,omitempty"`
	ToolCalls  []OllamaToolCall `json:"tool_calls,omitempty"`
	ToolName   string           `json:"tool_name,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

// OllamaToolCall is a call of a tool as ollama writes it: the arguments
// are a JSON object, not text.
type OllamaToolCall struct {
	ID       string                 `json:"id,omitempty"`
	Function OllamaToolCallFunction `json:"function"`
}

// OllamaToolCallFunction is the function an OllamaToolCall calls.
type OllamaToolCallFunction struct {
	Index     int             `json:"index"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// OllamaChatRequest is the body of POST /api/chat. Tools are declared as
// in the OpenAI API; Think asks a thinking template's reasoning back
// apart (message.thinking; gpt-oss's analysis channel always is).
type OllamaChatRequest struct {
	Model    string          `json:"model"`
	Messages []OllamaMessage `json:"messages"`
	Stream   *bool           `json:"stream,omitempty"`
	Options  *OllamaOptions  `json:"options,omitempty"`
	Tools    []Tool          `json:"tools,omitempty"`
	Think    json.RawMessage `json:"think,omitempty"`
	// Format "json" constrains the message to one JSON object.
	Format json.RawMessage `json:"format,omitempty"`
}

// OllamaResponse is one line (or the whole answer) of /api/generate and
// /api/chat: Response for generate, Message for chat; the last has Done
// and the counts (durations in nanoseconds).
type OllamaResponse struct {
	Model              string         `json:"model"`
	CreatedAt          time.Time      `json:"created_at"`
	Response           *string        `json:"response,omitempty"`
	Message            *OllamaMessage `json:"message,omitempty"`
	Done               bool           `json:"done"`
	DoneReason         string         `json:"done_reason,omitempty"`
	TotalDuration      int64          `json:"total_duration,omitempty"`
	LoadDuration       int64          `json:"load_duration,omitempty"`
	PromptEvalCount    int            `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64          `json:"prompt_eval_duration,omitempty"`
	EvalCount          int            `json:"eval_count,omitempty"`
	EvalDuration       int64          `json:"eval_duration,omitempty"`
}

// OllamaModelDetails describes a model in /api/tags and /api/show.
type OllamaModelDetails struct {
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// OllamaModel is one entry of /api/tags.
type OllamaModel struct {
	Name       string             `json:"name"`
	Model      string             `json:"model"`
	ModifiedAt time.Time          `json:"modified_at"`
	Size       int64              `json:"size"`
	Digest     string             `json:"digest"`
	Details    OllamaModelDetails `json:"details"`
}

func (s *Server) ollamaError(w http.ResponseWriter, err error) {
	ae := toAPIError(err)
	s.writeJSON(w, ae.Status, map[string]string{"error": strings.ReplaceAll(ae.Message, "/v1/models", "/api/tags")})
}

// ollamaName is how /api/tags names a model: its name, else its ID.
func ollamaName(m ModelInfo) string {
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}

func (s *Server) ollamaTags(w http.ResponseWriter, r *http.Request) {
	models, err := s.b.Models(r.Context())
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	out := struct {
		Models []OllamaModel `json:"models"`
	}{Models: []OllamaModel{}}
	for _, m := range models {
		n := ollamaName(m)
		out.Models = append(out.Models, OllamaModel{Name: n, Model: n, Digest: m.ID, Details: s.ollamaDetails(m)})
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) ollamaDetails(m ModelInfo) OllamaModelDetails {
	d := OllamaModelDetails{Format: "gguf", Family: "llama", Families: []string{"llama"}}
	if tok, err := s.b.Tokenizer(m.ID); err == nil && tok.Vocab().Name != "" {
		d.Families = append(d.Families, tok.Vocab().Name)
	}
	return d
}

func (s *Server) ollamaShow(w http.ResponseWriter, r *http.Request) {
	data, ae := s.readBody(w, r)
	if ae != nil {
		s.ollamaError(w, ae)
		return
	}
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"` // older clients
	}
	if err := decodeJSON(data, &req); err != nil {
		s.ollamaError(w, err)
		return
	}
	if req.Model == "" {
		req.Model = req.Name
	}
	info, tok, err := s.modelAndTokenizer(r.Context(), req.Model)
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"modelfile":  "",
		"parameters": "",
		"template":   tok.Vocab().ChatTemplate,
		"details":    s.ollamaDetails(info),
		"model_info": map[string]any{
			"general.name":          ollamaName(info),
			"general.root":          info.ID,
			"llama.context_length":  info.ContextLength,
			"llama.block_count":     info.Blocks,
			"tokenizer.vocab_size":  info.VocabSize,
			"orbit.blocks_coverage": info.Coverage,
		},
		"capabilities": ollamaCapabilities(ChatTemplateFor(tok.Vocab())),
	})
}

// ollamaCapabilities are what /api/show says a model can do: "tools"
// when its Jinja template reads tools, "thinking" when it splits off
// reasoning (a thinking template, gpt-oss's channels).
func ollamaCapabilities(t ChatTemplate) []string {
	caps := []string{"completion"}
	if t.jinja != nil && strings.Contains(t.jinja.src, "tools") {
		caps = append(caps, "tools")
	}
	if t.Thinking() || (t.jinja != nil && isHarmony(t.jinja.src)) {
		caps = append(caps, "thinking")
	}
	return caps
}

// sampling converts ollama options to the OpenAI request's fields, checked
// the same way.
func (o *OllamaOptions) sampling() (*Sampling, error) {
	sp := &Sampling{}
	if o != nil {
		sp.Temperature, sp.TopP, sp.TopK, sp.MinP = o.Temperature, o.TopP, o.TopK, o.MinP
		sp.RepeatPenalty, sp.PresencePenalty, sp.FrequencyPenalty, sp.Seed = o.RepeatPenalty, o.PresencePenalty, o.FrequencyPenalty, o.Seed
		if o.NumPredict != nil && *o.NumPredict >= 0 {
			sp.MaxTokens = o.NumPredict
		}
		if len(o.Stop) > 0 {
			b, _ := json.Marshal(o.Stop)
			sp.Stop = b
		}
	}
	if err := sp.validate(); err != nil {
		return nil, err
	}
	return sp, nil
}

func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) {
	data, ae := s.readBody(w, r)
	if ae != nil {
		s.ollamaError(w, ae)
		return
	}
	var req OllamaGenerateRequest
	if err := decodeJSON(data, &req); err != nil {
		s.ollamaError(w, err)
		return
	}
	if t := strings.TrimSpace(string(req.Images)); t != "" && t != "null" && t != "[]" {
		s.ollamaError(w, badRequest("images", "unsupported_parameter", "images are not supported by this server"))
		return
	}
	var msgs []ChatMessage
	if req.System != "" {
		msgs = append(msgs, ChatMessage{Role: "system", Content: req.System})
	}
	msgs = append(msgs, ChatMessage{Role: "user", Content: req.Prompt})
	s.ollamaRun(w, r, req.Model, msgs, req.Raw, req.Prompt, req.Options, req.Stream, req.Format, nil)
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	data, ae := s.readBody(w, r)
	if ae != nil {
		s.ollamaError(w, ae)
		return
	}
	var req OllamaChatRequest
	if err := decodeJSON(data, &req); err != nil {
		s.ollamaError(w, err)
		return
	}
	if err := validateTools(req.Tools); err != nil {
		s.ollamaError(w, err)
		return
	}
	if len(req.Messages) == 0 {
		s.ollamaError(w, badRequest("messages", "invalid_value", "messages must be a non-empty array"))
		return
	}
	msgs, err := ollamaMessages(req.Messages)
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	co := &ollamaChat{tools: req.Tools, think: ollamaThink(req.Think)}
	if len(req.Tools) > 0 {
		co.names = make(map[string]bool, len(req.Tools))
		for _, t := range req.Tools {
			co.names[t.Function.Name] = true
		}
	}
	s.ollamaRun(w, r, req.Model, msgs, false, "", req.Options, req.Stream, req.Format, co)
}

// ollamaThink reads ollama's think: true, or a level ("low", "medium",
// "high"), asks for the reasoning apart.
func ollamaThink(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var level string
	return json.Unmarshal(raw, &level) == nil && level != ""
}

// ollamaMessages converts ollama's messages. Calls without an id get one
// (9 letters and digits, as Mistral's templates require), and a tool
// message without tool_call_id answers the next unanswered call of the
// assistant message before it, in order.
func ollamaMessages(in []OllamaMessage) ([]ChatMessage, error) {
	msgs := make([]ChatMessage, len(in))
	var pending []ToolCall // calls of the last assistant message not yet answered
	for i, m := range in {
		param := fmt.Sprintf("messages[%d]", i)
		if t := strings.TrimSpace(string(m.Images)); t != "" && t != "null" && t != "[]" {
			return nil, badRequest("images", "unsupported_parameter", "images are not supported by this server")
		}
		if _, err := normRole(m.Role); err != nil {
			return nil, badRequest(param+".role", "invalid_value", "unsupported role %q (use system, user, assistant or tool)", m.Role)
		}
		msgs[i] = ChatMessage{Role: m.Role, Content: m.Content}
		if len(m.ToolCalls) > 0 && m.Role != "assistant" {
			return nil, badRequest(param+".tool_calls", "invalid_value", "%s: only assistant messages have tool_calls", param)
		}
		if m.Role == "assistant" {
			pending = nil
		}
		for k, c := range m.ToolCalls {
			if c.Function.Name == "" {
				return nil, badRequest(fmt.Sprintf("%s.tool_calls[%d].function.name", param, k), "invalid_value", "%s: tool call %d has no function name", param, k)
			}
			args, err := ollamaArguments(c.Function.Arguments)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("%s.tool_calls[%d].function.arguments", param, k), "invalid_type", "%s: tool call %d: %v", param, k, err)
			}
			id := c.ID
			if id == "" {
				id = fmt.Sprintf("call%05d", i*100+k)
			}
			tc := ToolCall{ID: id, Type: "function", Function: ToolCallFunction{Name: c.Function.Name, Arguments: args}}
			msgs[i].ToolCalls = append(msgs[i].ToolCalls, tc)
			pending = append(pending, tc)
		}
		if m.Role == "tool" {
			msgs[i].ToolCallID, msgs[i].Name = m.ToolCallID, m.ToolName
			if len(pending) > 0 {
				if msgs[i].ToolCallID == "" {
					msgs[i].ToolCallID = pending[0].ID
				}
				if msgs[i].Name == "" {
					msgs[i].Name = pending[0].Function.Name
				}
				pending = pending[1:]
			}
			if msgs[i].ToolCallID == "" {
				msgs[i].ToolCallID = fmt.Sprintf("call%05d", i*100)
			}
		}
	}
	return msgs, nil
}

// ollamaArguments is a call's arguments as JSON text: ollama sends an
// object (a JSON string holding one is taken too).
func ollamaArguments(raw json.RawMessage) (string, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return "{}", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		t = s
	}
	var obj map[string]any
	if json.Unmarshal([]byte(t), &obj) != nil || obj == nil {
		return "", fmt.Errorf("arguments must be a JSON object")
	}
	return t, nil
}

// ollamaToolCalls are calls as ollama returns them.
func ollamaToolCalls(calls []ToolCall, first int) []OllamaToolCall {
	out := make([]OllamaToolCall, len(calls))
	for i, c := range calls {
		out[i] = OllamaToolCall{ID: c.ID, Function: OllamaToolCallFunction{Index: first + i, Name: c.Function.Name, Arguments: json.RawMessage(c.Function.Arguments)}}
	}
	return out
}

// ollamaChat is what /api/chat adds to a generation: the tools and
// whether reasoning comes back apart.
type ollamaChat struct {
	tools []Tool
	names map[string]bool
	think bool
}

// ollamaRun generates for /api/generate (raw: prompt as is; else the
// messages through the chat template) and /api/chat (co non-nil: answers
// carry a message rather than a response; tools, reasoning).
func (s *Server) ollamaRun(w http.ResponseWriter, r *http.Request, model string, msgs []ChatMessage, raw bool, rawPrompt string, opt *OllamaOptions, stream *bool, format json.RawMessage, co *ollamaChat) {
	ctx := r.Context()
	start := time.Now()
	chat := co != nil
	sp, err := opt.sampling()
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	if sp.format, err = parseOllamaFormat(format); err != nil {
		s.ollamaError(w, err)
		return
	}
	info, tok, err := s.modelAndTokenizer(ctx, model)
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	var prompt []int32
	var rd chatReading
	if raw {
		prompt = tok.Encode(rawPrompt, true, false)
	} else {
		var ro RenderOptions
		if chat {
			if err := checkToolText(tok, co.tools, msgs); err != nil {
				s.ollamaError(w, err)
				return
			}
			ro.Tools = co.tools
		}
		tmpl := ChatTemplateFor(tok.Vocab())
		text, literal, err := tmpl.RenderWith(msgs, ro)
		if err != nil {
			s.ollamaError(w, err)
			return
		}
		if chat {
			// How the output is read: gpt-oss's channels, tool calls, and
			// a thinking template's reasoning when think asks for it.
			rd, _ = newChatReading(tmpl, text, co.names, toolChoice{}, true)
			rd.types = paramTypes(co.tools)
			if !co.think {
				rd.thinking, rd.opened = false, false
			}
		}
		sp.stops = append(sp.stops, tmpl.StopStrings()...)
		prompt = tok.EncodeLiteral(text, true, literal)
	}
	j, err := s.prepare(ctx, model, prompt, tok, info, sp, -1)
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	if rd.parses() {
		j.render = renderTokens(tok)
	}
	p := rd.parser()
	name := model
	if name == "" {
		name = ollamaName(info)
	}
	ncalls := 0
	// line is one answer: text, or for chat a message with content,
	// reasoning and calls.
	line := func(text, thinking string, calls []ToolCall) OllamaResponse {
		o := OllamaResponse{Model: name, CreatedAt: time.Now().UTC()}
		if chat {
			o.Message = &OllamaMessage{Role: "assistant", Content: text, Thinking: thinking}
			if len(calls) > 0 {
				o.Message.ToolCalls = ollamaToolCalls(calls, ncalls)
				ncalls += len(calls)
			}
		} else {
			o.Response = &text
		}
		return o
	}
	final := func(o OllamaResponse, res GenerateResult) OllamaResponse {
		o.Done, o.DoneReason = true, res.FinishReason
		o.PromptEvalCount, o.EvalCount = res.PromptTokens, res.GeneratedTokens
		o.PromptEvalDuration, o.EvalDuration = res.Prefill.Nanoseconds(), res.Decode.Nanoseconds()
		o.TotalDuration = time.Since(start).Nanoseconds()
		return o
	}
	if stream != nil && !*stream {
		var out []byte
		res, err := s.run(ctx, j, func(t string) error {
			out = append(out, t...)
			if p != nil {
				p.next(t)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				s.ollamaError(w, err)
			}
			return
		}
		o := line(string(out), "", nil)
		if p != nil {
			p.flush()
			m := p.message()
			o = line(m.Content, m.Reasoning, m.Calls)
		}
		s.writeJSON(w, http.StatusOK, final(o, res))
		return
	}
	nd := &ndjson{w: w}
	// send streams what a piece of the output adds: text and reasoning as
	// they come, each call whole once it has ended well-formed (as ollama
	// streams calls).
	send := func(d outDelta) error {
		if d.Content != "" || d.Reasoning != "" {
			if err := nd.send(line(d.Content, d.Reasoning, nil)); err != nil {
				return err
			}
		}
		if len(d.Done) > 0 {
			return nd.send(line("", "", d.Done))
		}
		return nil
	}
	res, err := s.run(ctx, j, func(t string) error {
		if p == nil {
			return nd.send(line(t, "", nil))
		}
		return send(p.next(t))
	})
	if err == nil && p != nil {
		err = send(p.flush())
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
		case nd.started:
			_ = nd.send(map[string]string{"error": toAPIError(err).Message})
		default:
			s.ollamaError(w, err)
		}
		return
	}
	_ = nd.send(final(line("", "", nil), res))
}

// ndjson writes newline-delimited JSON, one flushed line per value.
type ndjson struct {
	w       http.ResponseWriter
	started bool
}

func (n *ndjson) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("api: encoding a line: %w", err)
	}
	if !n.started {
		n.w.Header().Set("Content-Type", "application/x-ndjson")
		n.w.WriteHeader(http.StatusOK)
		n.started = true
	}
	if _, err := n.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("api: writing a line: %w", err)
	}
	if err := http.NewResponseController(n.w).Flush(); err != nil {
		return fmt.Errorf("api: flushing a line: %w", err)
	}
	return nil
}
