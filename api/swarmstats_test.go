package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
)

// TestCompletionSwarmStats: a swarm node's completions carry how the swarm
// ran them ("orbit": the route over both peers, failovers, every hop's
// timing), streamed (with the last chunk) or not; orbit serve's carry none.
func TestCompletionSwarmStats(t *testing.T) {
	p := startSwarmPair(t)
	swarm, _ := serve(t, p.backend, api.Options{})
	local, _, _ := newLocal(t, api.LocalOptions{})
	single, _ := serve(t, local, api.Options{})
	post := func(t *testing.T, url, model string, stream bool) *api.SwarmStats {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"model": model, "prompt": "I dream of", "max_tokens": 6, "temperature": 0,
			"stream": stream, "stream_options": map[string]bool{"include_usage": true}})
		if !stream {
			body, _ = json.Marshal(map[string]any{"model": model, "prompt": "I dream of", "max_tokens": 6, "temperature": 0})
		}
		resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var got *api.SwarmStats
		if !stream {
			var c api.Completion
			if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
				t.Fatal(err)
			}
			return c.Orbit
		}
		err = client.ReadEvents(resp.Body, func(data []byte) error {
			var c api.Completion
			if err := json.Unmarshal(data, &c); err != nil {
				return err
			}
			if c.Orbit != nil {
				if got != nil {
					t.Errorf("stats in two chunks")
				}
				got = c.Orbit
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	peers := []string{p.entry.ID().String(), p.server.ID().String()}
	for _, stream := range []bool{false, true} {
		st := post(t, swarm.URL, p.root.String(), stream)
		if st == nil {
			t.Fatalf("stream=%v: no orbit stats", stream)
		}
		want := []api.SwarmHop{{Peer: peers[0], Start: 0, End: 2}, {Peer: peers[1], Start: 2, End: 4}}
		if len(st.Route) != 2 || st.Route[0] != want[0] || st.Route[1] != want[1] || st.Failovers != 0 {
			t.Errorf("stream=%v: route %+v, failovers %d; want %+v, 0", stream, st.Route, st.Failovers, want)
		}
		if len(st.Hops) != 2 {
			t.Fatalf("stream=%v: hops %+v", stream, st.Hops)
		}
		for i, h := range st.Hops {
			if h.SwarmHop != want[i] || h.Steps < 6 || h.ComputeMS <= 0 || h.QueueMS < 0 || h.NetworkMS < 0 {
				t.Errorf("stream=%v: hop %d %+v", stream, i, h)
			}
		}
		if st := post(t, single.URL, testModelID, stream); st != nil {
			t.Errorf("stream=%v: orbit serve reports swarm stats %+v", stream, st)
		}
	}
}
