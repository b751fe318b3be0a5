package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sharding"
)

const testModelPath = "../../shared/models/aidreams260K.gguf"

// testModelID is the name the tests serve the tiny model under.
const testModelID = "aidreams"

// loadModel opens the tiny shared test model.
func loadModel(t testing.TB) (*engine.Model, *tokenizer.Tokenizer) {
	t.Helper()
	f, err := gguf.Open(testModelPath)
	if err != nil {
		t.Fatalf("opening the test model (../shared must sit beside the repository): %v", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.Load(f, engine.Full())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); f.Close() })
	return m, tok
}

// newLocal returns a local backend over the tiny model.
func newLocal(t testing.TB, opt api.LocalOptions) (*api.LocalBackend, *engine.Model, *tokenizer.Tokenizer) {
	t.Helper()
	m, tok := loadModel(t)
	b, err := api.NewLocalBackend([]api.LocalModel{{ID: testModelID, Name: "aidreams 260K", Model: m, Tokenizer: tok}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return b, m, tok
}

// referenceText is what `orbit generate` prints after the prompt: greedy
// tokens of the engine itself, decoded by a stream decoder that has seen
// the prompt.
func referenceText(t testing.TB, m *engine.Model, tok *tokenizer.Tokenizer, prompt string, n int) string {
	t.Helper()
	ids := tok.Encode(prompt, true, false)
	sess, err := m.NewSession(min(len(ids)+n, m.Config.Context))
	if err != nil {
		t.Fatal(err)
	}
	dec := tok.NewStreamDecoder()
	for _, id := range ids {
		dec.Next(id)
	}
	var b strings.Builder
	bos := tok.Vocab().BOS
	_, err = m.Generate(context.Background(), sess, ids, engine.GenerateOptions{
		MaxTokens: n, Stop: func(t int32) bool { return tok.IsEOG(t) || t == bos },
	}, func(t int32) error { b.WriteString(dec.Next(t)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// serve starts an HTTP server over b on loopback.
func serve(t testing.TB, b api.Backend, opt api.Options) (*httptest.Server, *api.Server) {
	t.Helper()
	s := api.NewServer(b, opt)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, s
}

// slowBackend delays each token and records how generations end.
type slowBackend struct {
	api.Backend
	delay time.Duration

	mu      sync.Mutex
	ended   []error
	endedCh chan error
}

func newSlow(b api.Backend, delay time.Duration) *slowBackend {
	return &slowBackend{Backend: b, delay: delay, endedCh: make(chan error, 16)}
}

func (s *slowBackend) Generate(ctx context.Context, req api.GenerateRequest, emit func(int32) error) (api.GenerateResult, error) {
	res, err := s.Backend.Generate(ctx, req, func(tok int32) error {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		return emit(tok)
	})
	s.mu.Lock()
	s.ended = append(s.ended, err)
	s.mu.Unlock()
	s.endedCh <- err
	return res, err
}

// fakeSwarm is a Backend with several peers and spans over a model whose
// text comes from an inner (local) backend: the dashboard test's stand-in
// for the swarm.
type fakeSwarm struct {
	inner api.Backend
	model string
}

func (f *fakeSwarm) Tokenizer(model string) (*tokenizer.Tokenizer, error) {
	return f.inner.Tokenizer(model)
}

func (f *fakeSwarm) Generate(ctx context.Context, req api.GenerateRequest, emit func(int32) error) (api.GenerateResult, error) {
	return f.inner.Generate(ctx, req, emit)
}

func (f *fakeSwarm) Models(ctx context.Context) ([]api.ModelInfo, error) {
	return []api.ModelInfo{{ID: f.model, Name: "fake swarm model", ContextLength: 128, Blocks: 4, Coverage: []int{2, 2, 1, 1}, Throughput: []float64{22.3, 22.3, 9.8, 9.8}, VocabSize: 512, OwnedBy: "swarm"}}, nil
}

func (f *fakeSwarm) Status(ctx context.Context) (api.NodeStatus, error) {
	return api.NodeStatus{PeerID: "12D3KooWSelfNode", Version: "test", StartedAt: time.Unix(1700000000, 0).UTC(), UptimeSeconds: 42,
		Spans: []api.Span{{Model: f.model, Span: sharding.Span{Start: 0, End: 2}}}, Load: api.Load{Active: 0, MaxConcurrent: 4, MaxQueue: 16}, Peers: 2,
		Transfers: fakeTransfers(f.model), Verify: &api.VerifyStatus{Checks: 57, Mismatches: 1, Reports: map[string]int{"banned": 2},
			Banned:   []api.BannedPeer{{Peer: "12D3KooWPeerLiar0000", Model: f.model, Start: 2, End: 4, Source: "check"}},
			Disputes: []api.Dispute{{Model: f.model, Start: 2, End: 4, Pos: 9, FoundAt: 10, Accused: "12D3KooWPeerLiar0000", Verifier: "12D3KooWPeerBravo", Judge: "12D3KooWPeerAlpha", Liar: "12D3KooWPeerLiar0000", Published: true}}}}, nil
}

// fakeTransfers are a failed import and a fetch of model's blocks 0-2 at
// a quarter of its 8 MiB, moving 2 MiB/s.
func fakeTransfers(model string) []api.Transfer {
	t0 := time.Unix(1700000000, 0).UTC()
	return []api.Transfer{
		{Kind: "import", File: "/models/broken.gguf", Phase: "failed", DoneBytes: 1 << 20, TotalBytes: 4 << 20,
			StartedAt: t0, FinishedAt: t0.Add(time.Second), ElapsedSeconds: 1, Error: "disk full"},
		{Kind: "fetch", Model: model, Start: 0, End: 2, Embed: true, Phase: "fetching", DoneBytes: 2 << 20, TotalBytes: 8 << 20,
			BytesPerSecond: 2 << 20, ETASeconds: 3, ElapsedSeconds: 1, StartedAt: t0.Add(2 * time.Second)},
	}
}

func (f *fakeSwarm) Peers(ctx context.Context) ([]api.PeerInfo, error) {
	return []api.PeerInfo{
		{ID: "12D3KooWPeerAlpha", Addrs: []string{"/ip4/127.0.0.1/tcp/4001"}, Spans: []api.Span{{Model: f.model, Span: sharding.Span{Start: 0, End: 2}}}, Throughput: 12.5, RTTMillis: 3.2},
		{ID: "12D3KooWPeerBravo", Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, Spans: []api.Span{{Model: f.model, Span: sharding.Span{Start: 2, End: 4}}}, Throughput: 9.75, RTTMillis: 4.1},
	}, nil
}

// KVCache: this node's cache a little used, Alpha's not reported (an
// older peer), Bravo's half full.
func (f *fakeSwarm) KVCache(ctx context.Context) ([]api.KVCacheUse, error) {
	return []api.KVCacheUse{
		{Peer: "12D3KooWSelfNode", Self: true, Model: f.model, Start: 0, End: 2, Sessions: 1, UsedTokens: 128, BudgetTokens: 4096, UsedBytes: 1 << 20, BudgetBytes: 32 << 20},
		{Peer: "12D3KooWPeerAlpha", Model: f.model, Start: 0, End: 2, Sessions: -1},
		{Peer: "12D3KooWPeerBravo", Model: f.model, Start: 2, End: 4, Sessions: 3, UsedTokens: 2048, BudgetTokens: 4096, UsedBytes: 16 << 20, BudgetBytes: 32 << 20},
	}, nil
}

func (f *fakeSwarm) Route(ctx context.Context, model string) ([]api.RouteHop, error) {
	if model != f.model {
		return nil, api.ErrUnknownModel
	}
	return []api.RouteHop{{Peer: "12D3KooWSelfNode", Start: 0, End: 2, Local: true}, {Peer: "12D3KooWPeerBravo", Start: 2, End: 4, RTTMillis: 4.1}}, nil
}

// inProcessTransport runs a handler in this process, without sockets.
type inProcessTransport struct{ h http.Handler }

func (tr inProcessTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	tr.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func waitErr(t *testing.T, ch <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatal("timed out waiting for the generation to end")
	}
	return errors.New("unreachable")
}
