package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
)

// maxStops caps the stop strings of one request.
const maxStops = 16

// CompletionRequest is the body of POST /v1/completions.
type CompletionRequest struct {
	Model  string          `json:"model"`
	Prompt json.RawMessage `json:"prompt"` // string, [string] or [token ids]
	Sampling
	Echo    bool   `json:"echo,omitempty"`
	BestOf  *int   `json:"best_of,omitempty"`
	Suffix  string `json:"suffix,omitempty"`
	prompt  string
	tokens  []int32
	isToken bool
	// batch holds every prompt of the request (prompt, tokens and isToken
	// are its first).
	batch []promptItem
}

// promptItem is one prompt of a completion request: text, or token ids.
type promptItem struct {
	text    string
	tokens  []int32
	isToken bool
}

// maxChoices caps the choices of one request: prompts times n.
const maxChoices = 64

// ChatRequest is the body of POST /v1/chat/completions.
type ChatRequest struct {
	Model    string           `json:"model"`
	Messages []RequestMessage `json:"messages"`
	// Tools are the functions the model may call; ToolChoice is "auto"
	// (the default), "none", "required" or a named function (see
	// newChatReading: the prompt is made to start a call);
	// ParallelToolCalls false ends the generation after the first call.
	Tools             []Tool          `json:"tools,omitempty"`
	ToolChoice        json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	// ChatTemplateKwargs are extra variables of the chat template, as
	// vLLM and llama.cpp's server take them ({"enable_thinking": false}).
	ChatTemplateKwargs map[string]any `json:"chat_template_kwargs,omitempty"`
	Sampling

	// toolNames are the declared tools whose calls the output is parsed
	// for; nil when there are none or tool_choice is "none".
	toolNames map[string]bool
	choice    toolChoice
}

// parallel reports whether the model may make several calls.
func (r *ChatRequest) parallel() bool { return r.ParallelToolCalls == nil || *r.ParallelToolCalls }

// RequestMessage is a chat message as sent: content is a string or an
// array of {"type":"text","text":...} parts.
type RequestMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name,omitempty"`
	// ToolCalls are an assistant message's calls; ToolCallID is the call
	// a tool message answers.
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// Sampling holds the request fields shared by completions and chat.
type Sampling struct {
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	TopK                *int            `json:"top_k,omitempty"`
	MinP                *float64        `json:"min_p,omitempty"`
	RepeatPenalty       *float64        `json:"repeat_penalty,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	Stop                json.RawMessage `json:"stop,omitempty"` // string or [string]
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options,omitempty"`
	N           *int            `json:"n,omitempty"`
	Logprobs    json.RawMessage `json:"logprobs,omitempty"`
	TopLogprobs *int            `json:"top_logprobs,omitempty"`
	// Orbit is Orbit's extension of requests (OpenAI clients send it as
	// an extra body field).
	Orbit *RequestOrbit `json:"orbit,omitempty"`
	// ResponseFormat constrains the output: {"type": "json_object"}
	// (see outputFormat); {"type": "text"} or absent: none.
	ResponseFormat json.RawMessage `json:"response_format,omitempty"`

	stops []string
	// format is the parsed constraint on the output (nil: none).
	format *outputFormat
	// topLogprobs is how many alternatives each token's log-probability
	// comes with; -1 when no log-probabilities were asked for.
	topLogprobs int
}

// RequestOrbit is how a request asks Orbit to run its generation.
type RequestOrbit struct {
	// Speculate overrides the node's --speculate for this request: "off",
	// "auto", "ngram" or "draft".
	Speculate string `json:"speculate,omitempty"`
	// VerifyRate is the share of each hop's steps the swarm node checks
	// by recomputation for this request (0 to 1); absent: the node's
	// --verify-rate.
	VerifyRate *float64 `json:"verify_rate,omitempty"`
}

// speculate is the request's speculation mode; nil: the node's.
func (s *Sampling) speculate() *speculate.Mode {
	if s.Orbit == nil || s.Orbit.Speculate == "" {
		return nil
	}
	m, err := speculate.ParseMode(s.Orbit.Speculate)
	if err != nil {
		return nil // validate refused it
	}
	return &m
}

// apiError is an error in OpenAI's shape with its HTTP status.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
	// noRetry leaves Retry-After out of a 503: waiting would not help.
	noRetry bool
}

func (e *apiError) Error() string { return e.Message }

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// badRequest is a 400 invalid_request_error about param.
func badRequest(param, code, format string, args ...any) *apiError {
	return &apiError{Status: 400, Type: "invalid_request_error", Param: strp(param), Code: strp(code), Message: fmt.Sprintf(format, args...)}
}

// decodeJSON decodes one JSON value from data into v, with messages that
// say what is wrong.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return badRequest("", "invalid_json", "the request body is empty; send a JSON object")
		case errors.As(err, &se):
			return badRequest("", "invalid_json", "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			field := jsonField(te.Field)
			return badRequest(field, "invalid_type", "field %q must be %s, not JSON %s", field, jsonKind(te.Type.Kind().String()), te.Value)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return badRequest("", "invalid_json", "malformed JSON: the body ends early")
		}
		return badRequest("", "invalid_json", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("", "invalid_json", "malformed JSON: data after the object")
	}
	return nil
}

// jsonField is a decoding error's field path as the client wrote it:
// without the Go names of embedded structs (Sampling.max_tokens is
// max_tokens). Every JSON name of a request starts with a lower-case
// letter; Go's embedded struct names start with an upper-case one.
func jsonField(path string) string {
	var out []string
	for _, seg := range strings.Split(path, ".") {
		if seg == "" || (seg[0] >= 'A' && seg[0] <= 'Z') {
			continue
		}
		out = append(out, seg)
	}
	return strings.Join(out, ".")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int32", "int64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return k
}

// stringOrStrings parses a string or an array of strings.
func stringOrStrings(r json.RawMessage, param string) ([]string, error) {
	if t := strings.TrimSpace(string(r)); t == "" || t == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(r, &s); err == nil {
		return []string{s}, nil
	}
	var ss []string
	if err := json.Unmarshal(r, &ss); err != nil {
		return nil, badRequest(param, "invalid_type", "%s must be a string or an array of strings", param)
	}
	return ss, nil
}

// validate checks the sampling fields and fills stops.
func (s *Sampling) validate() error {
	f, err := parseResponseFormat(s.ResponseFormat)
	if err != nil {
		return err
	}
	s.format = f
	if s.Orbit != nil && s.Orbit.Speculate != "" {
		if _, err := speculate.ParseMode(s.Orbit.Speculate); err != nil {
			return badRequest("orbit.speculate", "invalid_value", "orbit.speculate must be off, auto, ngram or draft, got %q", s.Orbit.Speculate)
		}
	}
	if s.N != nil && (*s.N < 1 || *s.N > maxChoices) {
		return badRequest("n", "invalid_value", "n must be between 1 and %d, got %d", maxChoices, *s.N)
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"max_tokens", s.MaxTokens}, {"max_completion_tokens", s.MaxCompletionTokens}} {
		if f.v != nil && *f.v < 0 {
			return badRequest(f.name, "invalid_value", "%s must not be negative, got %d", f.name, *f.v)
		}
	}
	if t := s.Temperature; t != nil && (*t < 0 || *t > 2 || math.IsNaN(*t)) {
		return badRequest("temperature", "invalid_value", "temperature must be between 0 and 2, got %v", *t)
	}
	if p := s.TopP; p != nil && (*p < 0 || *p > 1) {
		return badRequest("top_p", "invalid_value", "top_p must be between 0 and 1, got %v", *p)
	}
	if p := s.MinP; p != nil && (*p < 0 || *p > 1) {
		return badRequest("min_p", "invalid_value", "min_p must be between 0 and 1, got %v", *p)
	}
	if k := s.TopK; k != nil && *k < 0 {
		return badRequest("top_k", "invalid_value", "top_k must not be negative, got %d", *k)
	}
	if p := s.RepeatPenalty; p != nil && (*p < 0 || *p > 100) {
		return badRequest("repeat_penalty", "invalid_value", "repeat_penalty must be between 0 and 100, got %v", *p)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", s.PresencePenalty}, {"frequency_penalty", s.FrequencyPenalty}} {
		if f.v != nil && !(*f.v >= -2 && *f.v <= 2) {
			return badRequest(f.name, "invalid_value", "%s must be between -2 and 2, got %v", f.name, *f.v)
		}
	}
	if o := s.Orbit; o != nil && o.VerifyRate != nil && !(*o.VerifyRate >= 0 && *o.VerifyRate <= 1) {
		return badRequest("orbit.verify_rate", "invalid_value", "orbit.verify_rate must be between 0 and 1, got %v", *o.VerifyRate)
	}
	stops, err := stringOrStrings(s.Stop, "stop")
	if err != nil {
		return err
	}
	if len(stops) > maxStops {
		return badRequest("stop", "invalid_value", "at most %d stop strings, got %d", maxStops, len(stops))
	}
	s.stops = stops
	return nil
}

// n is the number of choices asked for.
func (s *Sampling) n() int {
	if s.N == nil {
		return 1
	}
	return *s.N
}

// completionLogprobs reads /v1/completions' logprobs: null, or the number
// of alternatives (0 to maxTopLogprobs) per token.
func (s *Sampling) completionLogprobs() error {
	s.topLogprobs = -1
	if t := strings.TrimSpace(string(s.Logprobs)); t == "" || t == "null" {
		return nil
	}
	var n int
	if err := json.Unmarshal(s.Logprobs, &n); err != nil {
		return badRequest("logprobs", "invalid_type", "logprobs must be an integer (the alternatives per token, 0 to %d) or null", maxTopLogprobs)
	}
	if n < 0 || n > maxTopLogprobs {
		return badRequest("logprobs", "invalid_value", "logprobs must be between 0 and %d, got %d", maxTopLogprobs, n)
	}
	s.topLogprobs = n
	return nil
}

// chatLogprobs reads /v1/chat/completions' logprobs (a boolean) and
// top_logprobs (0 to maxTopLogprobs, only with logprobs).
func (s *Sampling) chatLogprobs() error {
	s.topLogprobs = -1
	on := false
	if t := strings.TrimSpace(string(s.Logprobs)); t != "" && t != "null" {
		if err := json.Unmarshal(s.Logprobs, &on); err != nil {
			return badRequest("logprobs", "invalid_type", "logprobs must be a boolean")
		}
	}
	if s.TopLogprobs != nil {
		if *s.TopLogprobs < 0 || *s.TopLogprobs > maxTopLogprobs {
			return badRequest("top_logprobs", "invalid_value", "top_logprobs must be between 0 and %d, got %d", maxTopLogprobs, *s.TopLogprobs)
		}
		if !on && *s.TopLogprobs > 0 {
			return badRequest("top_logprobs", "invalid_value", "top_logprobs needs logprobs: true")
		}
	}
	if on {
		s.topLogprobs = 0
		if s.TopLogprobs != nil {
			s.topLogprobs = *s.TopLogprobs
		}
	}
	return nil
}

// maxTokens is the requested token limit, or def when none was given.
func (s *Sampling) maxTokens(def int) int {
	switch {
	case s.MaxCompletionTokens != nil:
		return *s.MaxCompletionTokens
	case s.MaxTokens != nil:
		return *s.MaxTokens
	}
	return def
}

// params converts the sampling fields to engine parameters. OpenAI's
// defaults apply: temperature 1 and top_p 1; top_k and min_p are off.
func (s *Sampling) params() sample.Params {
	p := sample.Params{Temperature: 1, TopP: 1}
	if s.Temperature != nil {
		p.Temperature = float32(*s.Temperature)
	}
	if s.TopP != nil {
		p.TopP = float32(*s.TopP)
	}
	if s.TopK != nil {
		p.TopK = *s.TopK
	}
	if s.MinP != nil {
		p.MinP = float32(*s.MinP)
	}
	if s.RepeatPenalty != nil {
		p.RepeatPenalty = float32(*s.RepeatPenalty)
	}
	if s.PresencePenalty != nil {
		p.PresencePenalty = float32(*s.PresencePenalty)
	}
	if s.FrequencyPenalty != nil {
		p.FrequencyPenalty = float32(*s.FrequencyPenalty)
	}
	if s.Seed != nil {
		p.Seed = uint64(*s.Seed)
	}
	return p
}

// ParseCompletionRequest decodes and validates a /v1/completions body.
func ParseCompletionRequest(data []byte) (*CompletionRequest, error) {
	var r CompletionRequest
	if err := decodeJSON(data, &r); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := r.completionLogprobs(); err != nil {
		return nil, err
	}
	switch {
	case r.BestOf != nil && *r.BestOf != 1 && *r.BestOf != r.n():
		return nil, badRequest("best_of", "unsupported_value", "best_of must be 1 (or equal n): choices are not ranked")
	case r.Suffix != "":
		return nil, badRequest("suffix", "unsupported_parameter", "suffix is not supported by this server")
	}
	batch, err := parsePrompts(r.Prompt)
	if err != nil {
		return nil, err
	}
	if len(batch)*r.n() > maxChoices {
		return nil, badRequest("n", "invalid_value", "%d prompts times n=%d is more than %d choices", len(batch), r.n(), maxChoices)
	}
	r.batch = batch
	r.prompt, r.tokens, r.isToken = batch[0].text, batch[0].tokens, batch[0].isToken
	return &r, nil
}

// parsePrompts reads a completion's prompt: a string, an array of strings,
// an array of token ids, or an array of arrays of token ids. An absent
// prompt is one empty prompt (generation starts from BOS).
func parsePrompts(raw json.RawMessage) ([]promptItem, error) {
	p := bytes.TrimSpace(raw)
	if len(p) == 0 || string(p) == "null" {
		return []promptItem{{}}, nil
	}
	var s string
	if err := json.Unmarshal(p, &s); err == nil {
		return []promptItem{{text: s}}, nil
	}
	var ss []string
	if err := json.Unmarshal(p, &ss); err == nil {
		if len(ss) == 0 {
			return nil, badRequest("prompt", "invalid_value", "prompt must not be an empty array")
		}
		out := make([]promptItem, len(ss))
		for i, s := range ss {
			out[i] = promptItem{text: s}
		}
		return out, nil
	}
	var ids []int32
	if err := json.Unmarshal(p, &ids); err == nil {
		if len(ids) == 0 {
			return nil, badRequest("prompt", "invalid_value", "prompt must not be an empty array")
		}
		return []promptItem{{tokens: ids, isToken: true}}, nil
	}
	var idss [][]int32
	if err := json.Unmarshal(p, &idss); err == nil {
		if len(idss) == 0 {
			return nil, badRequest("prompt", "invalid_value", "prompt must not be an empty array")
		}
		out := make([]promptItem, len(idss))
		for i, ids := range idss {
			if len(ids) == 0 {
				return nil, badRequest("prompt", "invalid_value", "prompt %d is an empty array of token ids", i)
			}
			out[i] = promptItem{tokens: ids, isToken: true}
		}
		return out, nil
	}
	return nil, badRequest("prompt", "invalid_type", "prompt must be a string, an array of strings, an array of token ids or an array of such arrays")
}

// ParseChatRequest decodes and validates a /v1/chat/completions body.
func ParseChatRequest(data []byte) (*ChatRequest, []ChatMessage, error) {
	var r ChatRequest
	if err := decodeJSON(data, &r); err != nil {
		return nil, nil, err
	}
	if err := r.validate(); err != nil {
		return nil, nil, err
	}
	if err := r.chatLogprobs(); err != nil {
		return nil, nil, err
	}
	if len(r.Messages) == 0 {
		return nil, nil, badRequest("messages", "invalid_value", "messages must be a non-empty array")
	}
	if err := validateTools(r.Tools); err != nil {
		return nil, nil, err
	}
	choice, err := parseToolChoice(r.ToolChoice)
	if err != nil {
		return nil, nil, err
	}
	if err := checkToolChoice(choice, r.Tools); err != nil {
		return nil, nil, err
	}
	r.choice = choice
	if r.format != nil && (choice.mode == choiceRequired || choice.mode == choiceNamed) {
		return nil, nil, badRequest("response_format", "invalid_value", "response_format cannot constrain the output when tool_choice asks for a call")
	}
	if choice.mode == choiceNone {
		r.Tools = nil // the template is not told of them, the output not parsed
	}
	if len(r.Tools) > 0 {
		r.toolNames = make(map[string]bool, len(r.Tools))
		for _, t := range r.Tools {
			r.toolNames[t.Function.Name] = true
		}
	}
	msgs := make([]ChatMessage, len(r.Messages))
	for i, m := range r.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		if _, err := normRole(m.Role); err != nil {
			return nil, nil, badRequest(param+".role", "invalid_value", "%s: unsupported role %q (use system, developer, user, assistant or tool)", param, m.Role)
		}
		text, err := messageText(m.Content)
		if err != nil {
			return nil, nil, badRequest(param+".content", "invalid_type", "%s: %v", param, err)
		}
		if m.Role == "tool" && m.ToolCallID == "" {
			return nil, nil, badRequest(param+".tool_call_id", "invalid_value", "%s: a tool message needs the tool_call_id it answers", param)
		}
		if len(m.ToolCalls) > 0 && m.Role != "assistant" {
			return nil, nil, badRequest(param+".tool_calls", "invalid_value", "%s: only assistant messages have tool_calls", param)
		}
		for k, c := range m.ToolCalls {
			if c.Function.Name == "" {
				return nil, nil, badRequest(fmt.Sprintf("%s.tool_calls[%d].function.name", param, k), "invalid_value", "%s: tool call %d has no function name", param, k)
			}
		}
		msgs[i] = ChatMessage{Role: m.Role, Content: text, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID}
		if m.Role == "tool" {
			msgs[i].Name = m.Name
		}
	}
	return &r, msgs, nil
}

// messageText flattens a message's content: a string, or text parts.
func messageText(r json.RawMessage) (string, error) {
	p := bytes.TrimSpace(r)
	if len(p) == 0 || string(p) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(p, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(p, &parts); err != nil {
		return "", errors.New("content must be a string or an array of text parts")
	}
	var b strings.Builder
	for _, part := range parts {
		if part.Type != "text" {
			return "", fmt.Errorf("content part of type %q is not supported (only text)", part.Type)
		}
		b.WriteString(part.Text)
	}
	return b.String(), nil
}
