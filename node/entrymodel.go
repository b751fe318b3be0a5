package node

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sharding"
)

// EntryModel describes a model this node is an entry of.
type EntryModel struct {
	ID     string        // the model's ID (its root CID for a stored model)
	Name   string        // general.name, or ""
	Blocks int           // of the whole model
	Config engine.Config // the model's configuration
}

// EntryModel finds a model this node is an entry of, by ID or by
// general.name; it wraps ErrNotEntry when there is none. The model is
// held only while it is read.
func (n *Node) EntryModel(model string) (EntryModel, error) {
	s, err := n.entryOf(model)
	if err != nil {
		return EntryModel{}, err
	}
	defer s.release(true)
	return EntryModel{ID: s.id, Name: s.name(), Blocks: s.blocks, Config: s.entry.Config}, nil
}

// Tokenizer reads the tokenizer of a model this node is an entry of (by ID
// or general.name) from its GGUF metadata; it wraps ErrNotEntry when there
// is no such model. Callers that ask often keep the answer.
func (n *Node) Tokenizer(model string) (*tokenizer.Tokenizer, error) {
	s, err := n.entryOf(model)
	if err != nil {
		return nil, err
	}
	defer s.release(true)
	t, err := tokenizer.FromGGUF(s.file)
	if err != nil {
		return nil, fmt.Errorf("node: tokenizer of %s: %w", s.id, err)
	}
	return t, nil
}

// Draining reports whether the node is leaving the swarm (Drain or
// StopSessions was called): it takes no new generations.
func (n *Node) Draining() bool { return n.draining.Load() }

// Version is the software version the node reports (Config.Version).
func (n *Node) Version() string { return n.cfg.Version }

// ShortID is the short form of a peer ID the node uses in logs and metric
// labels: its last 8 characters.
func ShortID(p peer.ID) string { return shortID(p) }

// GenerateObserved is Generate, telling observe (if not nil) each hop's
// round trip of every step: the server, the blocks it ran and the time.
func (n *Node) GenerateObserved(ctx context.Context, modelID string, prompt []int32, maxTokens int, sampler *sample.Sampler,
	stop func(int32) bool, emit func(int32) error, observe func(server peer.ID, span sharding.Span, roundTrip time.Duration)) (Stats, error) {
	return n.GenerateWith(ctx, modelID, prompt, maxTokens, sampler, stop, emit, GenerateHooks{Observe: observe})
}

// GenerateHooks are the optional callbacks of GenerateWith.
type GenerateHooks struct {
	// Observe is told each hop's round trip of every step.
	Observe func(server peer.ID, span sharding.Span, roundTrip time.Duration)
	// Logits is given the logits of position pos as engine's
	// GenerateOptions.Logits: before each new token is chosen and, with
	// PromptLogits, for every prompt position after the first (the last
	// hop's output rows of the prompt go through the head).
	Logits       func(pos int, logits []float32)
	PromptLogits bool
	// Speculate, when set, overrides the node's Config.Speculate for this
	// generation.
	Speculate *speculate.Mode
	// VerifyRate, when set, is the generation's verify rate instead of
	// the node's (Config.VerifyRate).
	VerifyRate *float64
}

// GenerateWith is Generate with hooks.
func (n *Node) GenerateWith(ctx context.Context, modelID string, prompt []int32, maxTokens int, sampler *sample.Sampler,
	stop func(int32) bool, emit func(int32) error, h GenerateHooks) (Stats, error) {
	return n.generate(ctx, modelID, prompt, maxTokens, sampler, stop, emit, genOptions{observe: h.Observe, logits: h.Logits, promptLogits: h.PromptLogits,
		speculate: h.Speculate, verifyRate: h.VerifyRate})
}

// PlanRoute returns the route a generation of model would take now.
func (n *Node) PlanRoute(ctx context.Context, model string) ([]RouteHop, error) {
	// A plain lookup: blocks is fixed when the model is loaded, and
	// nothing of its file or engine parts is touched.
	srv := n.servedModel(model)
	if srv == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotEntry, model)
	}
	return n.planRoute(ctx, model, srv.blocks)
}
