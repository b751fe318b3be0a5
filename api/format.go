package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/orbitswarm/orbit/api/jsonprefix"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// outputFormat is a request's constraint on the form of its output:
// OpenAI's response_format {"type": "json_object"} and ollama's format
// "json" ask for one JSON object. Sampling then only picks tokens that
// keep the output a prefix of one, and the generation ends with it.
type outputFormat struct {
	object bool               // the top-level value is an object
	schema *jsonprefix.Schema // the value follows this schema
}

// maxJSONSpace is the longest run of whitespace outside strings a
// constrained output may write (as llama.cpp's JSON grammar, about a
// newline and indentation): a model that keeps writing newlines must go
// on with the value instead. Before the value, one byte at most (a
// token's leading space).
const (
	maxJSONSpace     = 20
	maxJSONLeadSpace = 1
)

// parseResponseFormat reads OpenAI's response_format: absent or "text" is
// no constraint (nil).
func parseResponseFormat(raw json.RawMessage) (*outputFormat, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, badRequest("response_format", "invalid_value", `response_format must be an object such as {"type": "json_object"}: %v`, err)
	}
	switch rf.Type {
	case "text":
		return nil, nil
	case "json_object":
		return &outputFormat{object: true}, nil
	case "json_schema":
		if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
			return nil, badRequest("response_format.json_schema.schema", "invalid_value", `response_format type "json_schema" needs json_schema.schema`)
		}
		return compileSchema("response_format.json_schema.schema", rf.JSONSchema.Schema)
	}
	return nil, badRequest("response_format.type", "invalid_value", `response_format type must be "text", "json_object" or "json_schema", got %q`, rf.Type)
}

// parseOllamaFormat reads ollama's format: absent or "" is no constraint,
// "json" one JSON object.
func parseOllamaFormat(raw json.RawMessage) (*outputFormat, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	if t := bytes.TrimSpace(raw); t[0] == '{' {
		return compileSchema("format", raw)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badRequest("format", "invalid_value", `format must be "json" or a JSON schema`)
	}
	switch s {
	case "":
		return nil, nil
	case "json":
		return &outputFormat{object: true}, nil
	}
	return nil, badRequest("format", "invalid_value", `format must be "json" or a JSON schema, got %q`, s)
}

// compileSchema reads a JSON schema of the subset jsonprefix.Compile
// takes; others are a 400 naming what is not supported.
func compileSchema(param string, raw json.RawMessage) (*outputFormat, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, badRequest(param, "invalid_value", "%s is not valid JSON: %v", param, err)
	}
	sch, err := jsonprefix.Compile(v)
	if err != nil {
		return nil, badRequest(param, "unsupported_value", "%s: %v", param, err)
	}
	return &outputFormat{schema: sch}, nil
}

// jsonConstraint constrains one generation to JSON: before each token is
// chosen, mask sets the logit of every token whose bytes cannot extend
// the output to a valid prefix to -Inf (so greedy decoding takes the best
// allowed token and sampling draws among the allowed ones with its seeded
// stream); advance follows the chosen token.
type jsonConstraint struct {
	tok *tokenizer.Tokenizer
	p   jsonprefix.Parser
	sp  int // the trailing run of whitespace outside strings
	// byFirst lists the tokens with text by their first byte; the others
	// (control tokens, end of generation) are empty.
	byFirst [256][]int32
	empty   []int32
	left    int // tokens the generation may still write
	// scratch
	allowed, closing []int32
	keep             []float32
}

func newJSONConstraint(f *outputFormat, tok *tokenizer.Tokenizer, maxTokens int) *jsonConstraint {
	c := &jsonConstraint{tok: tok, p: jsonprefix.New(f.object), left: maxTokens}
	if f.schema != nil {
		c.p = jsonprefix.NewSchema(f.schema)
	}
	for id := range int32(tok.NumTokens()) {
		if p := tok.TokenPiece(id); len(p) > 0 {
			c.byFirst[p[0]] = append(c.byFirst[p[0]], id)
		} else {
			c.empty = append(c.empty, id)
		}
	}
	return c
}

// feed advances p and the whitespace run sp over b; false when b does
// not keep the output a valid prefix or writes too much whitespace.
func feedJSON(p *jsonprefix.Parser, sp int, b []byte) (int, bool) {
	for _, ch := range b {
		if !p.Feed(ch) {
			return sp, false
		}
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') && !p.InString() {
			sp++
			if sp > maxJSONSpace || (sp > maxJSONLeadSpace && !p.Started()) {
				return sp, false
			}
		} else {
			sp = 0
		}
	}
	return sp, true
}

// mask sets the logits of the tokens not allowed next to -Inf. Of the
// tokens that keep the output a valid prefix, only those after which the
// shortest completion of the value is no longer than the tokens left are
// allowed (when the vocabulary has any), so the value closes in time
// (each token can write at least a byte of that completion).
func (c *jsonConstraint) mask(logits []float32) {
	room := c.left - 1 // tokens left after this one
	need := c.p.CompletionLen()
	c.allowed, c.closing = c.allowed[:0], c.closing[:0]
	for b := range 256 {
		ids := c.byFirst[b]
		if len(ids) == 0 {
			continue
		}
		if q := c.p; !q.Feed(byte(b)) {
			continue
		}
		for _, id := range ids {
			if int(id) >= len(logits) {
				continue
			}
			q := c.p
			if _, ok := feedJSON(&q, c.sp, c.tok.TokenPiece(id)); !ok {
				continue
			}
			c.allowed = append(c.allowed, id)
			// A token that leaves the state as it was (text inside a
			// string, whitespace) leaves the completion as it was.
			n := need
			if q != c.p {
				n = q.CompletionLen()
			}
			if n <= room {
				c.closing = append(c.closing, id)
			}
		}
	}
	if c.p.Complete() {
		for _, id := range c.empty {
			if c.tok.IsEOG(id) && int(id) < len(logits) {
				c.allowed, c.closing = append(c.allowed, id), append(c.closing, id)
			}
		}
	}
	keep := c.closing
	if len(keep) == 0 {
		keep = c.allowed
	}
	if len(keep) == 0 {
		return // advance refuses whatever comes
	}
	c.keep = c.keep[:0]
	for _, id := range keep {
		c.keep = append(c.keep, logits[id])
	}
	ninf := float32(math.Inf(-1))
	for i := range logits {
		logits[i] = ninf
	}
	for k, id := range keep {
		logits[id] = c.keep[k]
	}
}

// advance follows the chosen token; closed reports that the value has
// ended and nothing but whitespace may follow.
func (c *jsonConstraint) advance(tok int32) (closed bool, err error) {
	c.left--
	sp, ok := feedJSON(&c.p, c.sp, c.tok.TokenPiece(tok))
	if !ok {
		return false, fmt.Errorf("api: no token of the vocabulary continues the JSON output (token %d)", tok)
	}
	c.sp = sp
	return c.p.Closed(), nil
}

// constrain makes req's generation follow j.format: its logits are masked
// after the log-probabilities are recorded (they stay the model's), and
// speculative decoding is off (drafts are not constrained).
func (s *Server) constrain(j *job, req *GenerateRequest) *jsonConstraint {
	jc := newJSONConstraint(j.format, j.tok, j.maxTokens)
	prev := req.Logits
	n := len(j.prompt)
	req.Logits = func(pos int, logits []float32) {
		if prev != nil {
			prev(pos, logits)
		}
		if pos >= n {
			jc.mask(logits)
		}
	}
	off := speculate.Off
	req.Speculate = &off
	return jc
}
