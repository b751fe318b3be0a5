package api_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/sharding"
)

// nodeAPISuite runs the same checks against any implementation of
// api.NodeAPI: the backend in process, the client over an in-process
// handler, and the client over HTTP (as kubo tests its CoreAPI).
func nodeAPISuite(t *testing.T, n api.NodeAPI) {
	ctx := context.Background()
	t.Run("Status", func(t *testing.T) {
		st, err := n.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.PeerID != "12D3KooWSelfNode" || len(st.Spans) != 1 || st.Spans[0] != (api.Span{Model: testModelID, Span: sharding.Span{Start: 0, End: 2}}) || st.Load.MaxConcurrent != 4 {
			t.Fatalf("%+v", st)
		}
		want := fakeTransfers(testModelID)
		if len(st.Transfers) != len(want) {
			t.Fatalf("transfers %+v, want %+v", st.Transfers, want)
		}
		for i, w := range want {
			g := st.Transfers[i]
			if !g.StartedAt.Equal(w.StartedAt) || !g.FinishedAt.Equal(w.FinishedAt) {
				t.Errorf("transfer %d times %v %v, want %v %v", i, g.StartedAt, g.FinishedAt, w.StartedAt, w.FinishedAt)
			}
			g.StartedAt, g.FinishedAt, w.StartedAt, w.FinishedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if g != w {
				t.Errorf("transfer %d: %+v, want %+v", i, g, w)
			}
		}
		if !st.Transfers[1].Running() || st.Transfers[0].Running() {
			t.Errorf("running: %v %v, want false true", st.Transfers[0].Running(), st.Transfers[1].Running())
		}
	})
	t.Run("Peers", func(t *testing.T) {
		ps, err := n.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 || ps[1].ID != "12D3KooWPeerBravo" || ps[1].Spans[0].Start != 2 || ps[0].RTTMillis != 3.2 || ps[0].Addrs[0] == "" {
			t.Fatalf("%+v", ps)
		}
	})
	t.Run("Models", func(t *testing.T) {
		ms, err := n.Models(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].ID != testModelID || ms[0].Blocks != 4 || len(ms[0].Coverage) != 4 || ms[0].Coverage[0] != 2 {
			t.Fatalf("%+v", ms)
		}
	})
	t.Run("Route", func(t *testing.T) {
		hops, err := n.Route(ctx, testModelID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hops) != 2 || !hops[0].Local || hops[1].Start != 2 || hops[1].End != 4 {
			t.Fatalf("%+v", hops)
		}
		if _, err := n.Route(ctx, "no-such-model"); !errors.Is(err, api.ErrUnknownModel) {
			t.Fatalf("unknown model: %v, want ErrUnknownModel", err)
		}
	})
}

// textAPI is what both client flavours offer for generation.
type textAPI interface {
	Complete(context.Context, client.CompletionRequest) (*api.Completion, error)
	CompleteStream(context.Context, client.CompletionRequest, func(api.Completion) error) error
	Chat(context.Context, client.ChatRequest) (*api.ChatCompletion, error)
	OpenAIModels(context.Context) ([]api.OpenAIModel, error)
}

func textSuite(t *testing.T, c textAPI, want string) {
	ctx := context.Background()
	req := client.CompletionRequest{Model: testModelID, Prompt: "I dream of", Sampling: client.Sampling{MaxTokens: ptr(24), Temperature: ptr(0.0)}}
	t.Run("Complete", func(t *testing.T) {
		got, err := c.Complete(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got.Choices[0].Text != want || got.Object != "text_completion" || !strings.HasPrefix(got.ID, "cmpl-") {
			t.Fatalf("%+v, want text %q", got, want)
		}
	})
	t.Run("CompleteStream", func(t *testing.T) {
		var b strings.Builder
		if err := c.CompleteStream(ctx, req, func(ch api.Completion) error { b.WriteString(ch.Choices[0].Text); return nil }); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Fatalf("%q, want %q", b.String(), want)
		}
	})
	t.Run("Chat", func(t *testing.T) {
		got, err := c.Chat(ctx, client.ChatRequest{Model: testModelID, Messages: []api.ChatMessage{{Role: "user", Content: "hello"}}, Sampling: client.Sampling{MaxTokens: ptr(5)}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Usage.CompletionTokens == 0 || got.Choices[0].Message.Role != "assistant" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("UnknownModel", func(t *testing.T) {
		r := req
		r.Model = "nope"
		if _, err := c.Complete(ctx, r); !errors.Is(err, api.ErrUnknownModel) {
			t.Fatalf("%v, want ErrUnknownModel", err)
		}
	})
	t.Run("OpenAIModels", func(t *testing.T) {
		ms, err := c.OpenAIModels(ctx)
		if err != nil || len(ms) != 1 || ms[0].ID != testModelID || ms[0].Object != "model" {
			t.Fatalf("%+v %v", ms, err)
		}
	})
}

func TestSuite(t *testing.T) {
	local, m, tok := newLocal(t, api.LocalOptions{})
	swarm := &fakeSwarm{inner: local, model: testModelID}
	srv := api.NewServer(swarm, api.Options{APIKey: "k"})
	ts, _ := serve(t, swarm, api.Options{APIKey: "k"})
	overHTTP, err := client.New(ts.URL, client.WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	inProcess, err := client.New("http://in-process", client.WithAPIKey("k"), client.WithHTTPClient(&http.Client{Transport: inProcessTransport{srv}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("backend", func(t *testing.T) { nodeAPISuite(t, swarm) })
	t.Run("in-process", func(t *testing.T) { nodeAPISuite(t, inProcess) })
	t.Run("http", func(t *testing.T) { nodeAPISuite(t, overHTTP) })

	want := referenceText(t, m, tok, "I dream of", 24)
	t.Run("text/in-process", func(t *testing.T) { textSuite(t, inProcess, want) })
	t.Run("text/http", func(t *testing.T) { textSuite(t, overHTTP, want) })

	// History and KV caches through the Go client: the text suite's
	// generations count in the history; the caches are the backend's.
	t.Run("history and kv/http", func(t *testing.T) {
		ctx := context.Background()
		h, err := overHTTP.History(ctx)
		if err != nil || h.IntervalSeconds != api.DefaultHistoryInterval.Seconds() || len(h.Samples) != api.DefaultHistoryLength {
			t.Fatalf("history: %v, %+v", err, h)
		}
		gens := 0
		for _, s := range h.Samples {
			gens += s.Generations
		}
		if gens == 0 {
			t.Errorf("the history counts no generations: %+v", h.Samples)
		}
		got, err := overHTTP.KVCache(ctx)
		wantKV, _ := swarm.KVCache(ctx)
		if err != nil || !reflect.DeepEqual(got, wantKV) {
			t.Errorf("kv caches %+v, %v; want %+v", got, err, wantKV)
		}
	})
}

// TestLocalBackendNodeAPI checks what a lone local backend reports.
func TestLocalBackendNodeAPI(t *testing.T) {
	b, m, _ := newLocal(t, api.LocalOptions{PeerID: "me", Version: "v1"})
	ctx := context.Background()
	ms, _ := b.Models(ctx)
	if len(ms) != 1 || ms[0].Blocks != m.Config.Layers || ms[0].ContextLength != m.Config.Context || ms[0].Coverage[m.Config.Layers-1] != 1 {
		t.Fatalf("%+v", ms)
	}
	st, _ := b.Status(ctx)
	if st.PeerID != "me" || st.Version != "v1" || st.Spans[0].End != m.Config.Layers {
		t.Fatalf("%+v", st)
	}
	hops, _ := b.Route(ctx, testModelID)
	if len(hops) != 1 || !hops[0].Local {
		t.Fatalf("%+v", hops)
	}
	if _, err := b.Tokenizer("x"); !errors.Is(err, api.ErrUnknownModel) {
		t.Fatal(err)
	}
	if _, err := b.Generate(ctx, api.GenerateRequest{Model: testModelID, Prompt: make([]int32, 500), MaxTokens: 1}, nil); !errors.Is(err, api.ErrContextLength) {
		t.Fatalf("long prompt: %v", err)
	}
}
