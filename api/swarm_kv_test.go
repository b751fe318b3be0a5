package api_test

import (
	"testing"

	"github.com/orbitswarm/orbit/api"
)

// TestSwarmKVCache: over real HTTP, a swarm node's /api/v1/kv lists the
// KV cache of every server of its model, itself included, as their info
// answers tell: no session open, the default budget of 1 GiB and the
// positions it holds for the model.
func TestSwarmKVCache(t *testing.T) {
	p := startSwarmPair(t)
	ts, _ := serve(t, p.backend, api.Options{})
	var kv api.KVCacheResponse
	getRaw(t, ts.URL, "/api/v1/kv", &kv)
	if len(kv.Servers) != 2 {
		t.Fatalf("servers %+v, want the entry's and the server's", kv.Servers)
	}
	for i, want := range []struct {
		peer       string
		self       bool
		start, end int
	}{{p.entry.ID().String(), true, 0, 2}, {p.server.ID().String(), false, 2, 4}} {
		u := kv.Servers[i]
		if u.Peer != want.peer || u.Self != want.self || u.Model != p.root.String() || u.Start != want.start || u.End != want.end {
			t.Errorf("server %d: %+v, want %+v", i, u, want)
		}
		if u.Sessions != 0 || u.UsedTokens != 0 || u.UsedBytes != 0 || u.BudgetBytes != 1<<30 || u.BudgetTokens <= 0 {
			t.Errorf("server %d's cache: %+v, want empty with a budget of 1 GiB", i, u)
		}
	}
}
