package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
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
	speculate *speculate.Mode // the request's override, nil: the node's
	// rec, when set, records log-probabilities: of the prompt too when
	// promptLogits (echo). base is where the generated text starts in the
	// choice's text (after an echoed prompt), for text offsets.
	rec          *logprobRecorder
	promptLogits bool
	base         int
	verifyRate   *float64
	// render are control tokens whose text the output shows (the
	// markers an output parser reads, see renderTokens).
	render map[int32]bool
	// format, when set, constrains the output (a JSON object).
	format *outputFormat
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
	j := &job{model: info.ID, tok: tok, prompt: prompt, maxTokens: maxTok, params: sp.params(), stops: sp.stops, speculate: sp.speculate(), format: sp.format}
	if sp.Orbit != nil {
		j.verifyRate = sp.Orbit.VerifyRate
	}
	return j, nil
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
		Model: j.model, Prompt: j.prompt, MaxTokens: j.maxTokens, Params: j.params, Speculate: j.speculate,
		Stop:       func(t int32) bool { return j.tok.IsEOG(t) || (t == bos && bos >= 0) },
		VerifyRate: j.verifyRate,
	}
	textLen := j.base
	if j.rec != nil {
		req.Logits, req.PromptLogits = j.rec.logits, j.promptLogits
	}
	var jc *jsonConstraint
	if j.format != nil {
		jc = s.constrain(j, &req)
	}
	res, err := s.b.Generate(ctx, req, func(t int32) error {
		s.hist.addTokens(1)
		if j.rec != nil {
			j.rec.generated(t, textLen)
		}
		var text string
		if j.render[t] {
			text = dec.Flush() + j.tok.TokenText(t)
		} else {
			text = dec.Next(t)
		}
		textLen += len(text)
		if jc != nil {
			closed, err := jc.advance(t)
			if err != nil {
				return err
			}
			if err := push(text); err != nil || !closed {
				return err
			}
			return ErrStop // the value has ended: the rest is flushed below
		}
		return push(text)
	})
	if err == nil || res.GeneratedTokens > 0 {
		s.hist.addGeneration(res.Prefill, res.Decode, res.GeneratedTokens)
	}
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

// promptText decodes prompt as an echo shows it, with each token's offset
// in the text.
func promptText(tok *tokenizer.Tokenizer, prompt []int32) (string, []int) {
	dec := tok.NewStreamDecoder()
	var b strings.Builder
	offs := make([]int, len(prompt))
	for i, t := range prompt {
		offs[i] = b.Len()
		b.WriteString(dec.Next(t))
	}
	b.WriteString(dec.Flush())
	return b.String(), offs
}

// choiceParams are the sampling parameters of choice k of n: the seed
// advances by k, so the choices of one request differ when sampling.
func choiceParams(p sample.Params, k int) sample.Params {
	p.Seed += uint64(k)
	return p
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
	// Every prompt is checked before anything is generated.
	n := req.n()
	jobs := make([]*job, 0, len(req.batch)*n)
	for _, item := range req.batch {
		prompt := item.tokens
		if !item.isToken {
			prompt = tok.Encode(item.text, true, false)
		} else {
			for _, t := range prompt {
				if t < 0 || (info.VocabSize > 0 && int(t) >= info.VocabSize) {
					s.fail(w, r, nil, badRequest("prompt", "invalid_value", "token id %d is outside the vocabulary", t))
					return
				}
			}
		}
		for k := range n {
			j, err := s.prepare(ctx, req.Model, prompt, tok, info, &req.Sampling, 16)
			if err != nil {
				s.fail(w, r, nil, err)
				return
			}
			j.params = choiceParams(j.params, k)
			jobs = append(jobs, j)
		}
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	chunk := func(idx int, text string, lp *CompletionLogprobs, finish *string, u *Usage) Completion {
		return Completion{ID: id, Object: "text_completion", Created: created, Model: jobs[0].model,
			Choices: []CompletionChoice{{Index: idx, Text: text, Logprobs: lp, FinishReason: finish}}, Usage: u}
	}
	// begin readies job idx: its echo text and its log-probability
	// recorder (the prompt's entries get their offsets after the run).
	begin := func(j *job) (echo string, offs []int) {
		if req.Echo {
			echo, offs = promptText(tok, j.prompt)
			j.base = len(echo)
		}
		if req.topLogprobs >= 0 {
			j.rec = newLogprobRecorder(req.topLogprobs, j.prompt, req.Echo)
			j.promptLogits = req.Echo
		}
		return echo, offs
	}
	logprobs := func(j *job, offs []int, entries []lpEntry) *CompletionLogprobs {
		if j.rec == nil {
			return nil
		}
		for i := range entries {
			if k := len(j.rec.entries) - len(entries) + i; k < len(offs) && k < len(j.prompt) {
				entries[i].offset = offs[k]
			}
		}
		return completionLogprobs(tok, entries)
	}
	var total Usage
	count := func(i int, res GenerateResult) {
		if i%n == 0 {
			total.PromptTokens += res.PromptTokens
		}
		total.CompletionTokens += res.GeneratedTokens
		total.TotalTokens = total.PromptTokens + total.CompletionTokens
	}
	if !req.Stream {
		out := Completion{ID: id, Object: "text_completion", Created: created, Model: jobs[0].model, Choices: []CompletionChoice{}}
		for i, j := range jobs {
			echo, offs := begin(j)
			text := []byte(echo)
			res, err := s.run(ctx, j, func(t string) error { text = append(text, t...); return nil })
			if err != nil {
				s.fail(w, r, nil, err)
				return
			}
			count(i, res)
			out.Orbit = addSwarmStats(out.Orbit, res.Swarm)
			var lp *CompletionLogprobs
			if j.rec != nil {
				lp = logprobs(j, offs, j.rec.entries)
			}
			out.Choices = append(out.Choices, CompletionChoice{Index: i, Text: string(text), Logprobs: lp, FinishReason: &res.FinishReason})
		}
		out.Usage = &total
		s.writeJSON(w, http.StatusOK, out)
		return
	}
	ev := &sse{w: w}
	for i, j := range jobs {
		echo, offs := begin(j)
		unsent := func() *CompletionLogprobs {
			if j.rec == nil {
				return nil
			}
			return logprobs(j, offs, j.rec.unsent())
		}
		first := true
		res, err := s.run(ctx, j, func(t string) error {
			if first && echo != "" {
				t = echo + t
			}
			first = false
			return ev.send(chunk(i, t, unsent(), nil, nil))
		})
		if err != nil {
			s.fail(w, r, ev, err)
			return
		}
		count(i, res)
		var u *Usage
		if i == len(jobs)-1 && req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			u = &total
		}
		last := ""
		if first {
			last = echo
		}
		c := chunk(i, last, unsent(), &res.FinishReason, u)
		c.Orbit = res.Swarm
		if err := ev.send(c); err != nil {
			return
		}
	}
	_ = ev.raw([]byte("[DONE]"))
}

// addSwarmStats adds b to a: failovers summed, hops appended, b's route.
func addSwarmStats(a, b *SwarmStats) *SwarmStats {
	if a == nil || b == nil {
		if a == nil {
			return b
		}
		return a
	}
	out := &SwarmStats{Route: b.Route, Failovers: a.Failovers + b.Failovers, Hops: append(append([]SwarmHopTiming(nil), a.Hops...), b.Hops...)}
	if a.Verify != nil || b.Verify != nil {
		v := &SwarmVerify{}
		for _, x := range []*SwarmVerify{a.Verify, b.Verify} {
			if x != nil {
				v.Checks, v.Mismatches, v.Skipped, v.Rows, v.CheckMS = v.Checks+x.Checks, v.Mismatches+x.Mismatches, v.Skipped+x.Skipped, v.Rows+x.Rows, v.CheckMS+x.CheckMS
			}
		}
		out.Verify = v
	}
	return out
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
	if err := checkToolText(tok, req.Tools, msgs); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	tmpl := ChatTemplateFor(tok.Vocab())
	text, literal, err := tmpl.RenderWith(msgs, RenderOptions{Tools: req.Tools, Kwargs: req.ChatTemplateKwargs})
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	// How the output is read: reasoning, harmony's channels, tool calls;
	// a required or named tool choice ends the prompt with the start of a
	// call (template text, so its markers are special tokens).
	rd, err := newChatReading(tmpl, text, req.toolNames, req.choice, req.parallel())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	rd.types = paramTypes(req.Tools)
	text += rd.prefill
	req.stops = append(req.stops, tmpl.StopStrings()...)
	// The template's markers are special tokens; the messages are text.
	prompt := tok.EncodeLiteral(text, true, literal)
	var render map[int32]bool
	if rd.parses() {
		render = renderTokens(tok)
	}
	// A required or named call is constrained to parse, its arguments
	// to the tool's schema, where the format allows (see newCallFormat).
	// With parallel calls, a Hermes block's call releases the output
	// when it closes (more calls may follow); in the other formats text
	// after the call would spoil it, so the generation ends with it.
	var callFmt *outputFormat
	if rd.required {
		if cf := newCallFormat(rd.start, req.choice.name, req.Tools, tok, !rd.oneCall && rd.start.block); cf != nil {
			callFmt = &outputFormat{call: cf}
			rd.oneCall = rd.oneCall || !cf.release
		}
	}
	n := req.n()
	jobs := make([]*job, n)
	for k := range jobs {
		j, err := s.prepare(ctx, req.Model, prompt, tok, info, &req.Sampling, -1)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if callFmt != nil {
			j.format = callFmt
		}
		j.params = choiceParams(j.params, k)
		j.render = render
		if req.topLogprobs >= 0 {
			j.rec = newLogprobRecorder(req.topLogprobs, j.prompt, false)
		}
		jobs[k] = j
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	var total Usage
	count := func(i int, res GenerateResult) {
		if i == 0 {
			total.PromptTokens = res.PromptTokens
		}
		total.CompletionTokens += res.GeneratedTokens
		total.TotalTokens = total.PromptTokens + total.CompletionTokens
	}
	lp := func(j *job, entries []lpEntry) *ChatLogprobs {
		if j.rec == nil {
			return nil
		}
		return chatLogprobs(tok, entries)
	}
	// generate runs job j, passing each piece of the output and what the
	// parser (nil: none) makes of it to each; a call ends the generation
	// when only one is wanted.
	generate := func(j *job, p *outParser, each func(t string, d outDelta) error) (GenerateResult, error) {
		stopped := false
		res, err := s.run(ctx, j, func(t string) error {
			if stopped {
				return nil
			}
			var d outDelta
			if p != nil {
				d = p.next(t)
			}
			if err := each(t, d); err != nil {
				return err
			}
			if rd.oneCall && len(d.Done) > 0 {
				stopped = true
				p.cut()
				return ErrStop
			}
			return nil
		})
		if stopped {
			res.FinishReason = FinishStop
		}
		return res, err
	}
	// finished is a choice's finish reason: "tool_calls" when it called.
	finished := func(p *outParser, finish string) string {
		if p != nil && len(p.calls()) > 0 && finish == FinishStop {
			return "tool_calls"
		}
		return finish
	}
	if !req.Stream {
		out := ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: jobs[0].model, Choices: []ChatChoice{}}
		for i, j := range jobs {
			var text []byte
			p := rd.parser()
			res, err := generate(j, p, func(t string, _ outDelta) error { text = append(text, t...); return nil })
			if err != nil {
				s.fail(w, r, nil, err)
				return
			}
			count(i, res)
			var l *ChatLogprobs
			if j.rec != nil {
				l = lp(j, j.rec.entries)
			}
			msg := ResponseMessage{Role: "assistant", Content: string(text)}
			if p != nil {
				p.flush()
				o := p.message()
				msg.Content, msg.ReasoningContent, msg.ToolCalls = o.Content, o.Reasoning, o.Calls
			}
			if rd.required && len(msg.ToolCalls) == 0 {
				s.fail(w, r, nil, errNoToolCall(req.choice.String(), rd.prefill+string(text)))
				return
			}
			finish := finished(p, res.FinishReason)
			out.Choices = append(out.Choices, ChatChoice{Index: i, Message: msg, Logprobs: l, FinishReason: &finish})
		}
		out.Usage = &total
		s.writeJSON(w, http.StatusOK, out)
		return
	}
	ev := &sse{w: w}
	chunk := func(idx int, d ChatDelta, l *ChatLogprobs, finish *string) ChatChunk {
		return ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: jobs[0].model,
			Choices: []ChatChunkChoice{{Index: idx, Delta: d, Logprobs: l, FinishReason: finish}}}
	}
	for i, j := range jobs {
		unsent := func() *ChatLogprobs {
			if j.rec == nil {
				return nil
			}
			return lp(j, j.rec.unsent())
		}
		first := true
		// send streams what a piece of the output adds: content,
		// reasoning, and tool calls piece by piece as OpenAI streams them
		// (a call's first delta with its id, type and name, then
		// fragments of its arguments).
		send := func(d outDelta) error {
			cd := ChatDelta{Content: d.Content, ReasoningContent: d.Reasoning, ToolCalls: d.toolCalls()}
			if cd.Content == "" && cd.ReasoningContent == "" && len(cd.ToolCalls) == 0 {
				return nil
			}
			if first {
				cd.Role, first = "assistant", false
			}
			return ev.send(chunk(i, cd, unsent(), nil))
		}
		p := rd.parser()
		var text strings.Builder
		res, err := generate(j, p, func(t string, d outDelta) error {
			text.WriteString(t)
			if p == nil {
				d.Content = t
			}
			return send(d)
		})
		if err != nil {
			s.fail(w, r, ev, err)
			return
		}
		count(i, res)
		if p != nil {
			if err := send(p.flush()); err != nil {
				return
			}
			if rd.required && len(p.calls()) == 0 {
				s.fail(w, r, ev, errNoToolCall(req.choice.String(), rd.prefill+text.String()))
				return
			}
		}
		finish := finished(p, res.FinishReason)
		last := ChatDelta{}
		if first {
			last.Role = "assistant"
		}
		if err := ev.send(chunk(i, last, unsent(), &finish)); err != nil {
			return
		}
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		if err := ev.send(ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: jobs[0].model,
			Choices: []ChatChunkChoice{}, Usage: &total}); err != nil {
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
		out.Data = append(out.Data, openAIModel(m, models))
	}
	s.writeJSON(w, http.StatusOK, out)
}

// openAIModel is m as /v1/models lists it. A model is listed by the name
// clients use under both orbit serve and orbit run: orbit serve's ID is
// that name already; a swarm node's ID is the root CID, so it lists the
// model's name when that name picks this model alone among models, with
// the CID in root (the CID, a prefix of it and the name are all accepted
// as "model" in requests).
func openAIModel(m ModelInfo, models []ModelInfo) OpenAIModel {
	id := m.ID
	if m.CID != "" && m.Name != "" {
		if found, err := matchModel(models, m.Name); err == nil && found.ID == m.ID {
			id = m.Name
		}
	}
	return OpenAIModel{ID: id, Object: "model", OwnedBy: m.OwnedBy, Root: m.CID}
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
	models, err := s.b.Models(r.Context())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.writeJSON(w, http.StatusOK, openAIModel(info, models))
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

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.hist.samples())
}

func (s *Server) kvCache(w http.ResponseWriter, r *http.Request) {
	out := KVCacheResponse{Servers: []KVCacheUse{}}
	if kr, ok := s.b.(KVCacheReporter); ok {
		servers, err := kr.KVCache(r.Context())
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if servers != nil {
			out.Servers = servers
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}
