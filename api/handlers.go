package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// job is a text generation prepared from a request.
type job struct {
	model     string
	tok       *tokenizer.Tokenizer
	prompt    []int32
	maxTokens int
	params    sample.Params
	stops     []string
}

// prepare resolves the model, fills the token limit and checks the context.
func (s *Server) prepare(ctx context.Context, model string, prompt []int32, tok *tokenizer.Tokenizer, info ModelInfo, sp *Sampling, defMax int) (*job, error) {
	if len(prompt) == 0 {
		bos := tok.Vocab().BOS
		if bos < 0 {
			return nil, badRequest("prompt", "invalid_value", "the prompt is empty and the model has no beginning-of-sequence token")
		}
		prompt = []int32{bos}
	}
	if info.ContextLength > 0 && len(prompt) > info.ContextLength {
		return nil, badRequest("prompt", "context_length_exceeded",
			"the prompt is %d tokens long, more than the model's context of %d tokens", len(prompt), info.ContextLength)
	}
	room := info.ContextLength - len(prompt)
	if info.ContextLength <= 0 {
		room = defMax
	}
	if defMax < 0 {
		defMax = room
	}
	maxTok := min(sp.maxTokens(defMax), room)
	return &job{model: info.ID, tok: tok, prompt: prompt, maxTokens: maxTok, params: sp.params(), stops: sp.stops}, nil
}

// run generates and passes text to onText as it becomes final (stop strings
// cut, incomplete UTF-8 held back).
func (s *Server) run(ctx context.Context, j *job, onText func(string) error) (GenerateResult, error) {
	dec := j.tok.NewStreamDecoder()
	bos := j.tok.Vocab().BOS
	if last := j.prompt[len(j.prompt)-1]; last == bos {
		dec.Next(bos) // as orbit generate: no leading space right after BOS
	}
	stopper := newStopMatcher(j.stops)
	stopped := false
	push := func(text string) error {
		out, st := stopper.Push(text)
		if out != "" {
			if err := onText(out); err != nil {
				return err
			}
		}
		if st {
			stopped = true
			return ErrStop
		}
		return nil
	}
	req := GenerateRequest{
		Model: j.model, Prompt: j.prompt, MaxTokens: j.maxTokens, Params: j.params,
		Stop: func(t int32) bool { return j.tok.IsEOG(t) || (t == bos && bos >= 0) },
	}
	res, err := s.b.Generate(ctx, req, func(t int32) error { return push(dec.Next(t)) })
	if err != nil {
		return res, err
	}
	if !stopped {
		if err := push(dec.Flush()); err != nil && !errors.Is(err, ErrStop) {
			return res, err
		}
		if !stopped {
			if tail := stopper.Flush(); tail != "" {
				if err := onText(tail); err != nil {
					return res, err
				}
			}
		}
	}
	if stopped {
		res.FinishReason = FinishStop
	}
	if res.FinishReason == "" {
		res.FinishReason = FinishLength
	}
	return res, nil
}

// sse writes server-sent events, sending the headers with the first event.
type sse struct {
	w       http.ResponseWriter
	started bool
}

func (e *sse) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("api: encoding an event: %w", err)
	}
	return e.raw(b)
}

func (e *sse) raw(b []byte) error {
	if !e.started {
		h := e.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		e.w.WriteHeader(http.StatusOK)
		e.started = true
	}
	if _, err := fmt.Fprintf(e.w, "data: %s\n\n", b); err != nil {
		return fmt.Errorf("api: writing an event: %w", err)
	}
	if err := http.NewResponseController(e.w).Flush(); err != nil {
		return fmt.Errorf("api: flushing an event: %w", err)
	}
	return nil
}

// fail reports err: as an error response before the stream started, as an
// error event after.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ev *sse, err error) {
	if r.Context().Err() != nil {
		s.log.Debug("client went away", "path", r.URL.Path, "err", err)
		return
	}
	ae := toAPIError(err)
	if ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable {
		s.log.Warn("request failed", "path", r.URL.Path, "err", err)
	}
	if ev != nil && ev.started {
		_ = ev.send(ErrorBody{Error: ae.detail()})
		return
	}
	s.writeError(w, ae)
}

func usage(res GenerateResult) *Usage {
	return &Usage{PromptTokens: res.PromptTokens, CompletionTokens: res.GeneratedTokens, TotalTokens: res.PromptTokens + res.GeneratedTokens}
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, ae)
		return
	}
	req, err := ParseCompletionRequest(data)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	info, tok, err := s.modelAndTokenizer(ctx, req.Model)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	prompt := req.tokens
	if !req.isToken {
		prompt = tok.Encode(req.prompt, true, false)
	} else {
		for _, t := range prompt {
			if t < 0 || (info.VocabSize > 0 && int(t) >= info.VocabSize) {
				s.fail(w, r, nil, badRequest("prompt", "invalid_value", "token id %d is outside the vocabulary", t))
				return
			}
		}
	}
	j, err := s.prepare(ctx, req.Model, prompt, tok, info, &req.Sampling, 16)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	chunk := func(text string, finish *string, u *Usage) Completion {
		return Completion{ID: id, Object: "text_completion", Created: created, Model: j.model,
			Choices: []CompletionChoice{{Text: text, FinishReason: finish}}, Usage: u}
	}
	if !req.Stream {
		var text []byte
		res, err := s.run(ctx, j, func(t string) error { text = append(text, t...); return nil })
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.writeJSON(w, http.StatusOK, chunk(string(text), &res.FinishReason, usage(res)))
		return
	}
	ev := &sse{w: w}
	res, err := s.run(ctx, j, func(t string) error { return ev.send(chunk(t, nil, nil)) })
	if err != nil {
		s.fail(w, r, ev, err)
		return
	}
	var u *Usage
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		u = usage(res)
	}
	if err := ev.send(chunk("", &res.FinishReason, u)); err == nil {
		_ = ev.raw([]byte("[DONE]"))
	}
}

func (s *Server) modelAndTokenizer(ctx context.Context, model string) (ModelInfo, *tokenizer.Tokenizer, error) {
	info, err := s.resolveModel(ctx, model)
	if err != nil {
		return info, nil, err
	}
	tok, err := s.b.Tokenizer(info.ID)
	if err != nil {
		return info, nil, err
	}
	return info, tok, nil
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, ae)
		return
	}
	req, msgs, err := ParseChatRequest(data)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	info, tok, err := s.modelAndTokenizer(ctx, req.Model)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	tmpl := DetectChatTemplate(tok.Vocab().ChatTemplate)
	text, err := tmpl.Render(msgs)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	req.stops = append(req.stops, tmpl.StopStrings()...)
	prompt := tok.Encode(text, true, true)
	j, err := s.prepare(ctx, req.Model, prompt, tok, info, &req.Sampling, -1)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	if !req.Stream {
		var out []byte
		res, err := s.run(ctx, j, func(t string) error { out = append(out, t...); return nil })
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.writeJSON(w, http.StatusOK, ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: j.model,
			Choices: []ChatChoice{{Message: ResponseMessage{Role: "assistant", Content: string(out)}, FinishReason: &res.FinishReason}},
			Usage:   usage(res)})
		return
	}
	ev := &sse{w: w}
	chunk := func(d ChatDelta, finish *string) ChatChunk {
		return ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: j.model,
			Choices: []ChatChunkChoice{{Delta: d, FinishReason: finish}}}
	}
	first := true
	res, err := s.run(ctx, j, func(t string) error {
		d := ChatDelta{Content: t}
		if first {
			d.Role, first = "assistant", false
		}
		return ev.send(chunk(d, nil))
	})
	if err != nil {
		s.fail(w, r, ev, err)
		return
	}
	last := ChatDelta{}
	if first {
		last.Role = "assistant"
	}
	if err := ev.send(chunk(last, &res.FinishReason)); err != nil {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		if err := ev.send(ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: j.model,
			Choices: []ChatChunkChoice{}, Usage: usage(res)}); err != nil {
			return
		}
	}
	_ = ev.raw([]byte("[DONE]"))
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	models, err := s.b.Models(r.Context())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	out := ModelList{Object: "list", Data: []OpenAIModel{}}
	for _, m := range models {
		out.Data = append(out.Data, OpenAIModel{ID: m.ID, Object: "model", OwnedBy: m.OwnedBy})
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		s.listModels(w, r)
		return
	}
	info, err := s.resolveModel(r.Context(), id)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.writeJSON(w, http.StatusOK, OpenAIModel{ID: info.ID, Object: "model", OwnedBy: info.OwnedBy})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.writeJSON(w, http.StatusOK, st)
}

func (s *Server) peers(w http.ResponseWriter, r *http.Request) {
	p, err := s.b.Peers(r.Context())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if p == nil {
		p = []PeerInfo{}
	}
	s.writeJSON(w, http.StatusOK, PeersResponse{Peers: p})
}

func (s *Server) nodeModels(w http.ResponseWriter, r *http.Request) {
	m, err := s.b.Models(r.Context())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if m == nil {
		m = []ModelInfo{}
	}
	s.writeJSON(w, http.StatusOK, ModelsResponse{Models: m})
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	info, err := s.resolveModel(r.Context(), r.URL.Query().Get("model"))
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	hops, err := s.b.Route(r.Context(), info.ID)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if hops == nil {
		hops = []RouteHop{}
	}
	s.writeJSON(w, http.StatusOK, RouteResponse{Model: info.ID, Hops: hops})
}
