package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/sharding"
)

// LocalModel is a fully loaded model served by a LocalBackend.
type LocalModel struct {
	ID        string // the model name clients ask for
	Name      string // a human name (general.name); may be empty
	Model     *engine.Model
	Tokenizer *tokenizer.Tokenizer
}

// LocalOptions configures NewLocalBackend.
type LocalOptions struct {
	// MaxConcurrent is how many generations run at once (default 4). The
	// engine serializes compute per model, so more slots interleave
	// requests token by token rather than adding throughput.
	MaxConcurrent int
	// MaxQueue is how many generations may wait for a slot (default 16);
	// beyond that Generate fails with ErrBusy. Negative means none.
	MaxQueue int
	PeerID   string           // reported by Status (default "local")
	Version  string           // reported by Status
	Metrics  *metrics.Metrics // updated with tokens, sessions and step latencies; may be nil
	Logger   *slog.Logger
	// Speculate is the generations' speculative decoding (off by
	// default; a request's "orbit" extension may override it), Draft the
	// draft model of speculate.Draft and Auto (nil: prompt lookup); it
	// applies to the models of its vocabulary size.
	Speculate speculate.Mode
	Draft     *speculate.DraftModel
}

// LocalBackend runs whole models in this process. It implements Backend.
type LocalBackend struct {
	models  []LocalModel
	opt     LocalOptions
	started time.Time
	slots   *Slots
	log     *slog.Logger

	mu sync.Mutex
}

// NewLocalBackend serves models, which must be fully loaded (engine.Full)
// and have distinct IDs. The backend does not own the models.
func NewLocalBackend(models []LocalModel, opt LocalOptions) (*LocalBackend, error) {
	if len(models) == 0 {
		return nil, errors.New("api: a local backend needs at least one model")
	}
	seen := map[string]bool{}
	for i, m := range models {
		switch {
		case m.ID == "":
			return nil, fmt.Errorf("api: model %d has no ID", i)
		case seen[m.ID]:
			return nil, fmt.Errorf("api: duplicate model ID %q", m.ID)
		case m.Model == nil || m.Tokenizer == nil:
			return nil, fmt.Errorf("api: model %q needs a model and a tokenizer", m.ID)
		case !m.Model.HasEmbed() || !m.Model.HasHead() || m.Model.Span != (sharding.Span{Start: 0, End: m.Model.Config.Layers}):
			return nil, fmt.Errorf("api: model %q is not fully loaded", m.ID)
		}
		seen[m.ID] = true
	}
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = 4
	}
	if opt.MaxQueue == 0 {
		opt.MaxQueue = 16
	} else if opt.MaxQueue < 0 {
		opt.MaxQueue = 0
	}
	if opt.PeerID == "" {
		opt.PeerID = "local"
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &LocalBackend{
		models:  slices.Clone(models),
		opt:     opt,
		started: time.Now(),
		slots:   NewSlots(opt.MaxConcurrent, opt.MaxQueue, opt.Metrics),
		log:     opt.Logger,
	}, nil
}

func (b *LocalBackend) model(id string) (*LocalModel, error) {
	for i := range b.models {
		if b.models[i].ID == id {
			return &b.models[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownModel, id)
}

// Models lists the models; every block is covered once (by this node).
func (b *LocalBackend) Models(ctx context.Context) ([]ModelInfo, error) {
	out := make([]ModelInfo, 0, len(b.models))
	for _, m := range b.models {
		cfg := m.Model.Config
		cov := make([]int, cfg.Layers)
		for i := range cov {
			cov[i] = 1
		}
		out = append(out, ModelInfo{
			ID: m.ID, Name: m.Name, ContextLength: cfg.Context, Blocks: cfg.Layers,
			Coverage: cov, VocabSize: cfg.VocabSize, OwnedBy: b.opt.PeerID,
		})
	}
	return out, nil
}

// Tokenizer returns the tokenizer of a model.
func (b *LocalBackend) Tokenizer(model string) (*tokenizer.Tokenizer, error) {
	m, err := b.model(model)
	if err != nil {
		return nil, err
	}
	return m.Tokenizer, nil
}

// Status reports this process: every model's whole span, load and counters.
func (b *LocalBackend) Status(ctx context.Context) (NodeStatus, error) {
	load := b.slots.Load()
	snap := b.opt.Metrics.Snapshot()
	st := NodeStatus{
		PeerID: b.opt.PeerID, Version: b.opt.Version, StartedAt: b.started,
		UptimeSeconds: time.Since(b.started).Seconds(), Load: load,
		Requests: snap.Generations, TokensGenerated: snap.TokensGenerated, PromptTokens: snap.PromptTokens,
		Spans: []Span{}, Transfers: []Transfer{}, Speculation: NodeSpeculation(snap),
	}
	for _, m := range b.models {
		st.Spans = append(st.Spans, Span{Model: m.ID, Span: sharding.Span{Start: 0, End: m.Model.Config.Layers}})
	}
	return st, nil
}

// Peers returns no peers: a local backend is alone.
func (b *LocalBackend) Peers(ctx context.Context) ([]PeerInfo, error) { return []PeerInfo{}, nil }

// Route is a single local hop over every block.
func (b *LocalBackend) Route(ctx context.Context, model string) ([]RouteHop, error) {
	m, err := b.model(model)
	if err != nil {
		return nil, err
	}
	return []RouteHop{{Peer: b.opt.PeerID, Start: 0, End: m.Model.Config.Layers, Local: true}}, nil
}

// Generate runs a generation on the local engine; see Backend.Generate.
func (b *LocalBackend) Generate(ctx context.Context, req GenerateRequest, emit func(tok int32) error) (GenerateResult, error) {
	var res GenerateResult
	m, err := b.model(req.Model)
	if err != nil {
		return res, err
	}
	cfg := m.Model.Config
	switch {
	case len(req.Prompt) == 0:
		return res, fmt.Errorf("%w: empty prompt", ErrBadRequest)
	case len(req.Prompt) > cfg.Context:
		return res, fmt.Errorf("%w: %w: prompt of %d tokens, context of %d", ErrBadRequest, ErrContextLength, len(req.Prompt), cfg.Context)
	case req.MaxTokens < 0:
		return res, fmt.Errorf("%w: max tokens %d is negative", ErrBadRequest, req.MaxTokens)
	}
	for _, t := range req.Prompt {
		if t < 0 || int(t) >= cfg.VocabSize {
			return res, fmt.Errorf("%w: token id %d outside the vocabulary of %d", ErrBadRequest, t, cfg.VocabSize)
		}
	}
	sampler, err := sample.New(req.Params)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	res.PromptTokens = len(req.Prompt)
	if req.MaxTokens == 0 && !(req.PromptLogits && req.Logits != nil) {
		res.FinishReason = FinishLength
		return res, nil
	}
	if err := b.slots.Acquire(ctx); err != nil {
		return res, err
	}
	defer b.slots.Release()

	maxLen := min(len(req.Prompt)+req.MaxTokens, cfg.Context)
	sess, err := m.Model.NewSession(maxLen)
	if err != nil {
		return res, fmt.Errorf("api: new session: %w", err)
	}
	kv := m.Model.SessionBytes(maxLen)
	b.opt.Metrics.SessionOpened(kv)
	defer b.opt.Metrics.SessionClosed(kv)
	b.opt.Metrics.AddGeneration()

	stop := req.Stop
	if stop == nil {
		stop = m.Tokenizer.IsEOG
	}
	opt := engine.GenerateOptions{MaxTokens: req.MaxTokens, Stop: stop, Logits: req.Logits, PromptLogits: req.PromptLogits}
	if !sampler.Greedy() {
		opt.Sampler = sampler
	}
	last := time.Now()
	stopped := false
	emitTok := func(tok int32) error {
		now := time.Now()
		b.opt.Metrics.ObserveStep("local", now.Sub(last))
		last = now
		b.opt.Metrics.AddTokens(1)
		if err := emit(tok); err != nil {
			if errors.Is(err, ErrStop) {
				stopped = true
			}
			return err
		}
		return nil
	}
	mode := b.opt.Speculate
	if req.Speculate != nil {
		mode = *req.Speculate
	}
	mode = mode.For(sampler)
	var spec speculate.Stats
	if mode != speculate.Off {
		var d speculate.Drafter = speculate.PromptLookup{}
		if dm := b.opt.Draft; dm != nil && mode != speculate.NGram && dm.Model.Config.VocabSize == cfg.VocabSize {
			if md, err := dm.NewDrafter(maxLen); err == nil {
				d = md
			}
		}
		opt.Decode = speculate.Local(m.Model, sess, opt, mode, d, emitTok, &spec)
	}
	st, err := m.Model.Generate(ctx, sess, req.Prompt, opt, emitTok)
	if mode != speculate.Off {
		b.opt.Metrics.AddSpeculation(spec.Passes, spec.Tokens, spec.Drafted, spec.Accepted, spec.Saved)
	}
	b.opt.Metrics.AddPromptTokens(st.PromptTokens)
	res.GeneratedTokens, res.Prefill, res.Decode = st.GeneratedTokens, st.Prefill, st.Decode
	switch {
	case stopped:
		res.FinishReason = FinishStop
		return res, nil
	case err != nil:
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		b.log.Debug("generation ended", "model", req.Model, "tokens", st.GeneratedTokens, "err", err)
		return res, fmt.Errorf("api: generate: %w", err)
	case st.StoppedByToken:
		res.FinishReason = FinishStop
	default:
		res.FinishReason = FinishLength
	}
	return res, nil
}
