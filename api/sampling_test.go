package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
)

// TestSamplingParams checks seed, temperature and top_p end to end, on the
// local engine and through a 2-node swarm: the same seed gives the same
// text (streamed or not, locally or through the swarm), other seeds give
// other texts, and a top_p so small that only the likeliest token is left
// gives the greedy text whatever the temperature and seed.
func TestSamplingParams(t *testing.T) {
	local, m, tok := newLocal(t, api.LocalOptions{})
	p := startSwarmPair(t)
	const prompt, n = "I dream of", 40
	greedy := referenceText(t, m, tok, prompt, n)
	localTS, _ := serve(t, local, api.Options{})
	swarmTS, _ := serve(t, p.backend, api.Options{})
	lc, _ := client.New(localTS.URL)
	sc, _ := client.New(swarmTS.URL)
	targets := []struct {
		name  string
		c     *client.Client
		model string
	}{{"local", lc, testModelID}, {"swarm", sc, p.root.String()}}

	ctx := context.Background()
	complete := func(t *testing.T, c *client.Client, model string, s client.Sampling, stream bool) string {
		t.Helper()
		s.MaxTokens = ptr(n)
		req := client.CompletionRequest{Model: model, Prompt: prompt, Sampling: s}
		if !stream {
			res, err := c.Complete(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return res.Choices[0].Text
		}
		var b strings.Builder
		if err := c.CompleteStream(ctx, req, func(ch api.Completion) error { b.WriteString(ch.Choices[0].Text); return nil }); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	sampled := func(seed int64) client.Sampling {
		return client.Sampling{Temperature: ptr(1.0), TopP: ptr(0.95), Seed: ptr(seed)}
	}

	// The reference sample: seed 7 on the local engine.
	ref := complete(t, lc, testModelID, sampled(7), false)
	if ref == greedy {
		t.Fatalf("temperature 1 with seed 7 gave the greedy text %q", ref)
	}
	// Greedy with the penalties: they change what the model repeats.
	penalized := complete(t, lc, testModelID, client.Sampling{Temperature: ptr(0.0), PresencePenalty: ptr(1.5), FrequencyPenalty: ptr(0.5)}, false)
	if penalized == greedy {
		t.Fatalf("presence and frequency penalties left the greedy text unchanged: %q", greedy)
	}
	tests := []struct {
		name     string
		sampling client.Sampling
		stream   bool
		want     string
	}{
		{"penalties", client.Sampling{Temperature: ptr(0.0), PresencePenalty: ptr(1.5), FrequencyPenalty: ptr(0.5)}, true, penalized},
		{"zero penalties are off", client.Sampling{Temperature: ptr(0.0), PresencePenalty: ptr(0.0), FrequencyPenalty: ptr(0.0)}, false, greedy},
		{"same seed", sampled(7), false, ref},
		{"same seed, streamed", sampled(7), true, ref},
		{"tiny top_p is greedy", client.Sampling{Temperature: ptr(1.5), TopP: ptr(1e-6), Seed: ptr(int64(3))}, false, greedy},
		{"tiny top_p is greedy, another seed", client.Sampling{Temperature: ptr(0.7), TopP: ptr(1e-6), Seed: ptr(int64(99))}, true, greedy},
		{"temperature 0 is greedy", client.Sampling{Temperature: ptr(0.0), Seed: ptr(int64(5))}, false, greedy},
	}
	for _, tg := range targets {
		for _, tc := range tests {
			t.Run(tg.name+"/"+tc.name, func(t *testing.T) {
				if got := complete(t, tg.c, tg.model, tc.sampling, tc.stream); got != tc.want {
					t.Errorf("got  %q\nwant %q", got, tc.want)
				}
			})
		}
		t.Run(tg.name+"/other seeds differ", func(t *testing.T) {
			for seed := int64(8); seed < 12; seed++ {
				if complete(t, tg.c, tg.model, sampled(seed), false) != ref {
					return
				}
			}
			t.Errorf("seeds 8 to 11 all gave seed 7's text %q", ref)
		})
	}
}
