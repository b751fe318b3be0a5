package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/sharding"
)

// TestSwarmVerifyRate: a request's "orbit": {"verify_rate": 1} makes the
// entry node check every step of the hop it does not serve on the other
// server of its blocks; the completion reports the checks, the text is
// the single-process text, and the node API and metrics count them. A
// rate outside [0, 1] is a 400 naming orbit.verify_rate.
func TestSwarmVerifyRate(t *testing.T) {
	_, m, tok := newLocal(t, api.LocalOptions{})
	p := startSwarmPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	second := p.start(openTestStore(t, p.log), nil, p.entry)
	src, err := second.StoreSource(p.root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Serve(ctx, src, node.ServeOptions{Blocks: sharding.Span{Start: 2, End: 4}}); err != nil {
		t.Fatal(err)
	}
	for {
		v, err := p.entry.SwarmView(ctx, p.root.String(), true)
		if err == nil && len(v.Swarm.Servers) == 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the entry does not see the three servers: %v", err)
		}
	}
	ts, _ := serve(t, p.backend, api.Options{Metrics: p.metrics})
	const prompt, n = "I dream of", 24
	post := func(rate string) (*http.Response, []byte) {
		body := fmt.Sprintf(`{"model":%q,"prompt":%q,"max_tokens":%d,"temperature":0,"orbit":{"verify_rate":%s}}`, p.root.String(), prompt, n, rate)
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, body := post("1")
	var c api.Completion
	if err := json.Unmarshal(body, &c); err != nil || resp.StatusCode != 200 || len(c.Choices) != 1 {
		t.Fatalf("status %d: %s (%v)", resp.StatusCode, body, err)
	}
	if want := referenceText(t, m, tok, prompt, n); prompt+c.Choices[0].Text != want && c.Choices[0].Text != want {
		t.Errorf("text %q, want %q", c.Choices[0].Text, want)
	}
	v := c.Orbit.Verify
	if v == nil || v.Checks < n || v.Mismatches != 0 || v.Rows < n {
		t.Fatalf("orbit.verify %+v, want a check of every step of the remote hop and no mismatch", v)
	}
	st, err := p.backend.Status(ctx)
	if err != nil || st.Verify == nil || st.Verify.Checks != int64(v.Checks) || st.Verify.Mismatches != 0 || len(st.Verify.Banned) != 0 {
		t.Fatalf("status verify %+v, %v", st.Verify, err)
	}
	var text strings.Builder
	if err := p.metrics.WritePrometheus(&text); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("orbit_verify_checks_total %d", v.Checks); !strings.Contains(text.String(), want) {
		t.Errorf("metrics lack %q", want)
	}
	// The default rate of this node is 0: no checks.
	resp, body = post("0")
	c = api.Completion{}
	if err := json.Unmarshal(body, &c); err != nil || resp.StatusCode != 200 || c.Orbit.Verify != nil {
		t.Fatalf("rate 0: status %d, orbit %+v", resp.StatusCode, c.Orbit)
	}
	resp, body = post("1.5")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"param":"orbit.verify_rate"`) {
		t.Fatalf("rate 1.5: status %d: %s", resp.StatusCode, body)
	}
}
