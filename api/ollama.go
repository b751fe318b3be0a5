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
}

// OllamaMessage is a chat message of the ollama API.
type OllamaMessage struct {
	Role    string          `json:"role"`
	Content string          `json:"content"`
	Images  json.RawMessage `json:"images,omitempty"`
}

// OllamaChatRequest is the body of POST /api/chat.
type OllamaChatRequest struct {
	Model    string          `json:"model"`
	Messages []OllamaMessage `json:"messages"`
	Stream   *bool           `json:"stream,omitempty"`
	Options  *OllamaOptions  `json:"options,omitempty"`
	Tools    json.RawMessage `json:"tools,omitempty"`
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
		"capabilities": []string{"completion"},
	})
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
	s.ollamaRun(w, r, req.Model, msgs, req.Raw, req.Prompt, req.Options, req.Stream, false)
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
	if t := strings.TrimSpace(string(req.Tools)); t != "" && t != "null" && t != "[]" {
		s.ollamaError(w, badRequest("tools", "unsupported_parameter", "tools are not supported by this server"))
		return
	}
	if len(req.Messages) == 0 {
		s.ollamaError(w, badRequest("messages", "invalid_value", "messages must be a non-empty array"))
		return
	}
	msgs := make([]ChatMessage, len(req.Messages))
	for i, m := range req.Messages {
		if t := strings.TrimSpace(string(m.Images)); t != "" && t != "null" && t != "[]" {
			s.ollamaError(w, badRequest("images", "unsupported_parameter", "images are not supported by this server"))
			return
		}
		if _, err := normRole(m.Role); err != nil {
			s.ollamaError(w, badRequest(fmt.Sprintf("messages[%d].role", i), "invalid_value", "unsupported role %q (use system, user or assistant)", m.Role))
			return
		}
		msgs[i] = ChatMessage{Role: m.Role, Content: m.Content}
	}
	s.ollamaRun(w, r, req.Model, msgs, false, "", req.Options, req.Stream, true)
}

// ollamaRun generates for /api/generate (raw: prompt as is; else the
// messages through the chat template) and /api/chat (chat: answers carry
// a message rather than a response).
func (s *Server) ollamaRun(w http.ResponseWriter, r *http.Request, model string, msgs []ChatMessage, raw bool, rawPrompt string, opt *OllamaOptions, stream *bool, chat bool) {
	ctx := r.Context()
	start := time.Now()
	sp, err := opt.sampling()
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	info, tok, err := s.modelAndTokenizer(ctx, model)
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	var prompt []int32
	if raw {
		prompt = tok.Encode(rawPrompt, true, false)
	} else {
		tmpl := ChatTemplateFor(tok.Vocab())
		text, literal, err := tmpl.RenderLiteral(msgs)
		if err != nil {
			s.ollamaError(w, err)
			return
		}
		sp.stops = append(sp.stops, tmpl.StopStrings()...)
		prompt = tok.EncodeLiteral(text, true, literal)
	}
	j, err := s.prepare(ctx, model, prompt, tok, info, sp, -1)
	if err != nil {
		s.ollamaError(w, err)
		return
	}
	name := model
	if name == "" {
		name = ollamaName(info)
	}
	line := func(text string) OllamaResponse {
		o := OllamaResponse{Model: name, CreatedAt: time.Now().UTC()}
		if chat {
			o.Message = &OllamaMessage{Role: "assistant", Content: text}
		} else {
			o.Response = &text
		}
		return o
	}
	final := func(text string, res GenerateResult) OllamaResponse {
		o := line(text)
		o.Done, o.DoneReason = true, res.FinishReason
		o.PromptEvalCount, o.EvalCount = res.PromptTokens, res.GeneratedTokens
		o.PromptEvalDuration, o.EvalDuration = res.Prefill.Nanoseconds(), res.Decode.Nanoseconds()
		o.TotalDuration = time.Since(start).Nanoseconds()
		return o
	}
	if stream != nil && !*stream {
		var out []byte
		res, err := s.run(ctx, j, func(t string) error { out = append(out, t...); return nil })
		if err != nil {
			if ctx.Err() == nil {
				s.ollamaError(w, err)
			}
			return
		}
		s.writeJSON(w, http.StatusOK, final(string(out), res))
		return
	}
	nd := &ndjson{w: w}
	res, err := s.run(ctx, j, func(t string) error { return nd.send(line(t)) })
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
	_ = nd.send(final("", res))
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
