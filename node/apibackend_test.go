package node

import (
	"slices"
	"testing"

	"github.com/orbitswarm/orbit/api"
)

// TestAPIBackendHolds: the API backend holds a model (as a generation, so
// that a rebalance cannot retire it underneath) only while it reads the
// model's file or engine parts, whether the model is named by ID or by
// general.name, and lets go of it afterwards: a hold left behind would
// keep a replaced span mapped and Drain waiting forever.
func TestAPIBackendHolds(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	cfg := testConfig(t)
	cfg.RebalanceInterval = -1
	n := startNode(t, cfg)
	serve(t, n, src, ServeOptions{Blocks: spanOf(0, 4), Entry: true})
	srv := n.servedModel(src.ID())
	name := srv.name()
	if name == "" {
		t.Fatal("the model has no general.name")
	}
	b := n.APIBackend(APIOptions{})
	for _, tc := range []struct{ by, model string }{{"id", src.ID()}, {"name", name}} {
		model := tc.model
		t.Run(tc.by, func(t *testing.T) {
			s, err := b.entry(model)
			if err != nil {
				t.Fatal(err)
			}
			if s != srv || srv.busy() != 1 {
				t.Fatalf("entry(%q): %p held %d times, want %p once", model, s, srv.busy(), srv)
			}
			s.release(true)

			if _, err := b.Models(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Tokenizer(model); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Route(t.Context(), model); err != nil {
				t.Fatal(err)
			}
			c := cases[0]
			var got []int32
			if _, err := b.Generate(t.Context(), api.GenerateRequest{Model: model, Prompt: c.PromptTokens, MaxTokens: 5}, func(tok int32) error {
				got = append(got, tok)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.GeneratedTokens[:len(got)]) || len(got) == 0 {
				t.Errorf("generated %v, want a prefix of %v", got, c.GeneratedTokens)
			}
			// The generation's own sessions on this node end as its
			// control streams close, after Generate returns.
			srv.mu.Lock()
			gens := srv.gens
			srv.mu.Unlock()
			if gens != 0 {
				t.Fatalf("the model is still held by %d generations", gens)
			}
			waitFor(t, "the generation's sessions to end", func() bool { return srv.busy() == 0 })
		})
	}
}
