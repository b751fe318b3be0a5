package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/metrics"
)

// TestSpeculateLocal: orbit serve's backend speculates when the request's
// "orbit" extension asks (or its --speculate does): greedy text equal to
// plain decoding, with logprobs too, the node status and the metrics
// counting drafts, kept drafts and passes; a bad mode is a 400 naming the
// field.
func TestSpeculateLocal(t *testing.T) {
	mets := metrics.New()
	b, m, tok := newLocal(t, api.LocalOptions{Metrics: mets, Speculate: speculate.Off})
	srv, _ := serve(t, b, api.Options{Metrics: mets})
	const prompt = "I dream of"
	want := referenceText(t, m, tok, prompt, 100)
	for _, mode := range []string{"off", "ngram", "auto"} {
		var resp struct {
			Choices []struct {
				Text     string `json:"text"`
				Logprobs *struct {
					Tokens []string `json:"tokens"`
				} `json:"logprobs"`
			} `json:"choices"`
		}
		postJSON(t, srv.URL, "/v1/completions", map[string]any{"model": testModelID, "prompt": prompt, "max_tokens": 100,
			"temperature": 0, "logprobs": 1, "orbit": map[string]any{"speculate": mode}}, &resp)
		if got := resp.Choices[0].Text; got != want {
			t.Fatalf("speculate %s: %q\nwant %q", mode, got, want)
		}
	}
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sp := st.Speculation
	if sp == nil || sp.Passes == 0 || sp.Drafted == 0 || sp.Accepted == 0 || sp.TokensPerPass <= 1 {
		t.Fatalf("status speculation %+v: want passes, drafts and kept drafts counted", sp)
	}
	var buf bytes.Buffer
	if err := mets.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"orbit_speculate_drafted_tokens_total", "orbit_speculate_accepted_tokens_total", "orbit_speculate_passes_total", "orbit_speculate_tokens_total"} {
		if !strings.Contains(buf.String(), name+" ") {
			t.Errorf("metrics lack %s", name)
		}
	}
	body := `{"model":"` + testModelID + `","prompt":"x","orbit":{"speculate":"sometimes"}}`
	resp, err := http.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(data), "orbit.speculate") {
		t.Fatalf("bad mode: HTTP %d %s, want 400 about orbit.speculate", resp.StatusCode, data)
	}
}

// TestSwarmSpeculation: a swarm node speculates when a request's "orbit"
// extension asks: the greedy text is the engine's, the completion's
// "orbit" reports the drafts checked and kept, and so does the node
// status; a request with speculation off reports none.
func TestSwarmSpeculation(t *testing.T) {
	_, m, tok := newLocal(t, api.LocalOptions{})
	const prompt = "I dream of"
	want := referenceText(t, m, tok, prompt, 100)
	p := startSwarmPair(t)
	srv, _ := serve(t, p.backend, api.Options{})
	for _, mode := range []string{"ngram", "off"} {
		var c api.Completion
		postJSON(t, srv.URL, "/v1/completions", map[string]any{"model": p.root.String(), "prompt": prompt, "max_tokens": 100,
			"temperature": 0, "orbit": map[string]any{"speculate": mode}}, &c)
		if got := c.Choices[0].Text; got != want {
			t.Fatalf("speculate %s: %q\nwant %q", mode, got, want)
		}
		sp := c.Orbit.Speculation
		if mode == "off" {
			if sp != nil {
				t.Fatalf("speculation off reports %+v", sp)
			}
			continue
		}
		if sp == nil || sp.Mode != mode || sp.Drafted == 0 || sp.Accepted == 0 || sp.TokensPerPass <= 1 {
			t.Fatalf("speculate %s: orbit.speculation %+v", mode, sp)
		}
	}
	st, err := p.backend.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Speculation == nil || st.Speculation.Accepted == 0 {
		t.Fatalf("status speculation %+v", st.Speculation)
	}
}
