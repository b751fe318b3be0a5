package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/sharding"
)

// Errors a Backend wraps so the server can pick the HTTP status.
var (
	// ErrUnknownModel: the backend does not serve the model (404).
	ErrUnknownModel = errors.New("api: unknown model")
	// ErrBusy: the backend's queue is full; the client should retry (503).
	ErrBusy = errors.New("api: backend busy")
	// ErrCoverageGap: some blocks of the model have no server in the
	// swarm (503, code coverage_gap); see CoverageGapError.
	ErrCoverageGap = errors.New("api: coverage gap")
	// ErrBadRequest: the request cannot be served as asked (400).
	ErrBadRequest = errors.New("api: bad request")
	// ErrContextLength: the prompt does not fit the model's context (400);
	// it also wraps ErrBadRequest.
	ErrContextLength = errors.New("api: prompt exceeds the context length")
	// ErrStop, returned by an emit callback, ends a generation normally with
	// finish reason "stop" (the server uses it when a stop string matched).
	ErrStop = errors.New("api: stop generation")
)

// CoverageGapError says which blocks of a model no server of the swarm
// serves. It wraps ErrCoverageGap. The server answers it with a 503 whose
// code is coverage_gap and whose message lists the blocks; Retry-After is
// set only when Joining (waiting helps only when a server is coming).
type CoverageGapError struct {
	Model   string
	Missing []sharding.Span // runs of blocks nobody serves
	Joining bool            // a server is on its way to serve them
}

func (e *CoverageGapError) Error() string {
	s := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		s[i] = m.String()
	}
	msg := fmt.Sprintf("coverage gap: no server in the swarm serves blocks %s of the model %s", strings.Join(s, ", "), e.Model)
	if e.Joining {
		return msg + "; a server is joining to serve them, retry shortly"
	}
	return msg + "; the model cannot run until a node serves them (orbit run --model " + e.Model + ")"
}

// Unwrap makes a CoverageGapError an ErrCoverageGap.
func (e *CoverageGapError) Unwrap() error { return ErrCoverageGap }

// NodeAPI is the read-only node API. Backend implements it in process and
// client.Client over HTTP, so programs (and tests) can use either.
type NodeAPI interface {
	// Models lists the models served, with per-block coverage.
	Models(ctx context.Context) ([]ModelInfo, error)
	// Status describes this node.
	Status(ctx context.Context) (NodeStatus, error)
	// Peers lists the other peers known to this node (not itself).
	Peers(ctx context.Context) ([]PeerInfo, error)
	// Route returns the chain of hops a request for model would take now.
	// It wraps ErrUnknownModel when the model is not served.
	Route(ctx context.Context, model string) ([]RouteHop, error)
}

// Backend runs models at the token level. The local engine
// (NewLocalBackend) and the swarm implement it. Its methods are safe for
// concurrent use.
type Backend interface {
	NodeAPI
	// Tokenizer returns the tokenizer of model, wrapping ErrUnknownModel
	// when the backend does not serve it.
	Tokenizer(model string) (*tokenizer.Tokenizer, error)
	// Generate runs req.Prompt and passes each new token to emit, in order.
	// It returns when req.MaxTokens tokens were generated, a stop token
	// came, the context is full, emit returned an error (ErrStop ends the
	// generation normally with FinishStop; any other error is returned
	// wrapped), or ctx is done (ctx's error wrapped). Cancelling ctx must
	// stop the computation promptly and release the request's sessions.
	// Errors wrap ErrUnknownModel, ErrBusy, ErrBadRequest or
	// ErrContextLength where they apply.
	Generate(ctx context.Context, req GenerateRequest, emit func(tok int32) error) (GenerateResult, error)
}

// GenerateRequest is a token-level generation request.
type GenerateRequest struct {
	Model     string
	Prompt    []int32 // at least one token
	MaxTokens int     // new tokens at most; 0 generates nothing
	Params    sample.Params
	// Stop reports tokens that end the generation; they are not emitted.
	// nil means the tokenizer's end-of-generation tokens.
	Stop func(tok int32) bool
	// Logits, when set, is given the model's raw logits for position pos:
	// before each new token is chosen (pos = len(Prompt) + tokens so far)
	// and, with PromptLogits, for prompt positions 1..len(Prompt)-1 (the
	// prompt's scores; then MaxTokens may be 0). The slice is valid only
	// during the call.
	Logits       func(pos int, logits []float32)
	PromptLogits bool
	// Speculate, when set, overrides the backend's speculative decoding
	// mode for this request (the "orbit" extension's "speculate").
	Speculate *speculate.Mode
	// VerifyRate, when set, is the share of steps a swarm node checks by
	// recomputation for this request (the request's "orbit" extension);
	// nil: the node's --verify-rate. A local backend ignores it.
	VerifyRate *float64
}

// Finish reasons, as in OpenAI's API.
const (
	FinishStop   = "stop"   // a stop token or stop string
	FinishLength = "length" // MaxTokens, or the end of the context
)

// GenerateResult describes a finished generation.
type GenerateResult struct {
	PromptTokens    int
	GeneratedTokens int
	FinishReason    string // FinishStop or FinishLength
	Prefill         time.Duration
	Decode          time.Duration
	// Swarm is how a swarm node ran the generation (nil for a local
	// backend); completions report it as "orbit".
	Swarm *SwarmStats
}

// SwarmStats is how a swarm node ran one generation: the route at the end,
// the hops replaced after failures, and where every hop's time went. It is
// an Orbit extension of completions ("orbit", beside "usage"); OpenAI
// clients ignore it.
type SwarmStats struct {
	Route     []SwarmHop `json:"route"`
	Failovers int        `json:"failovers"`
	// Speculation is what speculative decoding did (absent when off).
	Speculation *SpeculationStats `json:"speculation,omitempty"`
	// Hops are every server's time, summed over the steps it ran, in order
	// of first use (replaced hops included).
	Hops []SwarmHopTiming `json:"hops"`
	// Verify is what the checks by recomputation did (absent when none
	// were drawn).
	Verify *SwarmVerify `json:"verify,omitempty"`
}

// SwarmVerify counts a generation's checks by recomputation: checks run,
// mismatches found, checks drawn without a verifier at hand, rows the
// verifiers recomputed and the time the generation spent checking.
type SwarmVerify struct {
	Checks     int     `json:"checks"`
	Mismatches int     `json:"mismatches"`
	Skipped    int     `json:"skipped"`
	Rows       int     `json:"rows"`
	CheckMS    float64 `json:"check_ms"`
}

// VerifyStatus is what a swarm node's checks by recomputation found: its
// counters, the peers it banned for lying (from its own checks or from
// reports whose signed evidence proved them wrong), the latest disputes
// and the reports received by verdict.
type VerifyStatus struct {
	Checks     int64          `json:"checks"`
	Mismatches int64          `json:"mismatches"`
	Banned     []BannedPeer   `json:"banned"`
	Disputes   []Dispute      `json:"disputes"`
	Reports    map[string]int `json:"reports"`
}

// BannedPeer is a peer banned for lying.
type BannedPeer struct {
	Peer     string    `json:"peer"`
	Model    string    `json:"model"`
	Start    int       `json:"start"`
	End      int       `json:"end"`
	Source   string    `json:"source"` // "check" or "report"
	Reporter string    `json:"reporter,omitempty"`
	Until    time.Time `json:"until"`
}

// Dispute is a check whose outputs differed: who was checked, by whom,
// the judge, the verdict (liar, empty when undecided), the first position
// that differed and the step that found it, and whether a signed report
// was published.
type Dispute struct {
	At        time.Time `json:"at"`
	Model     string    `json:"model"`
	Start     int       `json:"start"`
	End       int       `json:"end"`
	Pos       int       `json:"pos"`
	FoundAt   int       `json:"found_at"`
	Accused   string    `json:"accused"`
	Verifier  string    `json:"verifier"`
	Judge     string    `json:"judge,omitempty"`
	Liar      string    `json:"liar,omitempty"`
	Published bool      `json:"published"`
}

// SpeculationStats is what speculative decoding did in a generation, or
// summed over a node's generations.
type SpeculationStats struct {
	Mode     string `json:"mode,omitempty"` // of a generation: ngram, draft or auto
	Passes   int64  `json:"passes"`         // pipeline passes of the decodes
	Tokens   int64  `json:"tokens"`         // tokens they produced
	Drafted  int64  `json:"drafted"`        // draft tokens checked
	Accepted int64  `json:"accepted"`       // draft tokens kept
	// AcceptanceRate is Accepted/Drafted, TokensPerPass Tokens/Passes.
	AcceptanceRate float64 `json:"acceptance_rate"`
	TokensPerPass  float64 `json:"tokens_per_pass"`
	SavedMS        float64 `json:"saved_ms"` // decode time saved (estimated)
}

// Rates fills AcceptanceRate and TokensPerPass from the counts.
func (s *SpeculationStats) Rates() {
	if s.Drafted > 0 {
		s.AcceptanceRate = float64(s.Accepted) / float64(s.Drafted)
	}
	if s.Passes > 0 {
		s.TokensPerPass = float64(s.Tokens) / float64(s.Passes)
	}
}

// SwarmHop is a hop of a generation's route: a peer and its blocks.
type SwarmHop struct {
	Peer  string `json:"peer"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// SwarmHopTiming is a hop's time over a generation, as the entry measured
// it: compute and queue as the server reported them, network the rest of
// the round trips.
type SwarmHopTiming struct {
	SwarmHop
	Steps     int     `json:"steps"`
	ComputeMS float64 `json:"compute_ms"`
	QueueMS   float64 `json:"queue_ms"`
	NetworkMS float64 `json:"network_ms"`
}

// ModelInfo describes a model the node can serve.
type ModelInfo struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// CID is the model's root CID when it is content-addressed (a swarm
	// node's models, whose ID is that CID); empty for orbit serve's.
	CID           string `json:"cid,omitempty"`
	ContextLength int    `json:"context_length"`
	Blocks        int    `json:"blocks"`
	// Coverage[i] is how many peers (this node included) serve block i;
	// a local backend reports 1 for every block.
	Coverage []int `json:"coverage"`
	// Throughput[i] is the swarm's capacity at block i in tokens/s: the
	// sum of the measured throughput of the peers serving it (empty when
	// unknown, as for a local backend).
	Throughput []float64 `json:"throughput,omitempty"`
	VocabSize  int       `json:"vocab_size,omitempty"`
	OwnedBy    string    `json:"owned_by"`
}

// Span is a span of the blocks of a model that a peer serves. On the wire
// it is {"model": ..., "start": ..., "end": ...}.
type Span struct {
	Model string
	sharding.Span
}

// spanJSON is Span's wire form.
type spanJSON struct {
	Model string `json:"model"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// MarshalJSON writes s as {"model","start","end"} (rather than the block
// span's text form, which s would otherwise inherit).
func (s Span) MarshalJSON() ([]byte, error) {
	return json.Marshal(spanJSON{Model: s.Model, Start: s.Start, End: s.End})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Span) UnmarshalJSON(b []byte) error {
	var w spanJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = Span{Model: w.Model, Span: sharding.Span{Start: w.Start, End: w.End}}
	return nil
}

// String formats s as model[Start,End).
func (s Span) String() string { return s.Model + s.Span.String() }

// Load is a node's current work.
type Load struct {
	Active        int `json:"active"`         // generations running
	Queued        int `json:"queued"`         // generations waiting for a slot
	MaxConcurrent int `json:"max_concurrent"` // generation slots
	MaxQueue      int `json:"max_queue"`      // waiting room beyond the slots
}

// NodeStatus describes a node.
type NodeStatus struct {
	PeerID          string    `json:"peer_id"`
	Version         string    `json:"version"`
	StartedAt       time.Time `json:"started_at"`
	UptimeSeconds   float64   `json:"uptime_seconds"`
	Spans           []Span    `json:"spans"` // blocks this node serves
	Load            Load      `json:"load"`
	Requests        int64     `json:"requests"`         // generations started
	TokensGenerated int64     `json:"tokens_generated"` // tokens emitted
	PromptTokens    int64     `json:"prompt_tokens"`    // prompt tokens processed
	Peers           int       `json:"peers"`            // peers known
	// Transfers are the node's imports and fetches of weights (see
	// Transfer); empty for a node without a weight store.
	Transfers []Transfer `json:"transfers"`
	// Speculation sums what speculative decoding did in the node's
	// generations (absent before any speculated).
	Speculation *SpeculationStats `json:"speculation,omitempty"`
	// Verify is what the node's checks by recomputation found (swarm
	// nodes only).
	Verify *VerifyStatus `json:"verify,omitempty"`
}

// NodeSpeculation is the speculation counters of snap, nil when there
// were none.
func NodeSpeculation(snap metrics.Snapshot) *SpeculationStats {
	if snap.SpecPasses == 0 {
		return nil
	}
	s := &SpeculationStats{Passes: snap.SpecPasses, Tokens: snap.SpecTokens, Drafted: snap.SpecDrafted, Accepted: snap.SpecAccepted,
		SavedMS: snap.SpecSaved * 1000}
	s.Rates()
	return s
}

// GenerationSpeculation is what speculative decoding did in one
// generation run with mode, nil when off.
func GenerationSpeculation(mode speculate.Mode, st speculate.Stats) *SpeculationStats {
	if mode == speculate.Off {
		return nil
	}
	s := &SpeculationStats{Mode: mode.String(), Passes: int64(st.Passes), Tokens: int64(st.Tokens), Drafted: int64(st.Drafted),
		Accepted: int64(st.Accepted), SavedMS: float64(st.Saved) / float64(time.Millisecond)}
	s.Rates()
	return s
}

// PeerInfo describes another peer of the swarm.
type PeerInfo struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
	Spans []Span   `json:"spans"`
	// Throughput is the peer's recent rate in tokens per second through its
	// spans (0 when unknown).
	Throughput float64 `json:"throughput"`
	// RTTMillis is the last measured round trip time (0 when unknown).
	RTTMillis float64 `json:"rtt_ms"`
}

// RouteHop is one step of a route: a peer running blocks [Start, End).
type RouteHop struct {
	Peer      string  `json:"peer"`
	Addr      string  `json:"addr,omitempty"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	RTTMillis float64 `json:"rtt_ms"`
	Local     bool    `json:"local"` // the hop runs in this process
}
