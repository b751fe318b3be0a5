package sharding

import "testing"

func TestChooseModel(t *testing.T) {
	srv := func(id string, a, b int, tp float64) Server {
		return Server{ID: id, Span: Span{a, b}, Throughput: tp}
	}
	tests := []struct {
		name   string
		models []ModelSwarm
		want   string // "" for none
	}{
		{"none", nil, ""},
		{"unknown size skipped", []ModelSwarm{{Model: "a"}}, ""},
		{"single", []ModelSwarm{{"a", Swarm{Blocks: 4, Servers: []Server{srv("p", 0, 4, 10)}}}}, "a"},
		{"gaps first", []ModelSwarm{
			{"a", Swarm{Blocks: 4, Servers: []Server{srv("p", 0, 4, 1)}}},
			{"b", Swarm{Blocks: 4, Servers: []Server{srv("q", 0, 3, 100)}}},
		}, "b"},
		{"more unserved blocks first", []ModelSwarm{
			{"a", Swarm{Blocks: 8, Servers: []Server{srv("p", 0, 7, 1)}}},
			{"b", Swarm{Blocks: 8, Servers: []Server{srv("q", 0, 4, 1)}}},
		}, "b"},
		{"weakest bottleneck", []ModelSwarm{
			{"a", Swarm{Blocks: 4, Servers: []Server{srv("p", 0, 4, 10), srv("r", 0, 4, 10)}}},
			{"b", Swarm{Blocks: 4, Servers: []Server{srv("q", 0, 2, 30), srv("s", 2, 4, 5)}}},
		}, "b"},
		{"tie: fewer servers", []ModelSwarm{
			{"a", Swarm{Blocks: 4, Servers: []Server{srv("p", 0, 2, 5), srv("r", 2, 4, 5)}}},
			{"b", Swarm{Blocks: 4, Servers: []Server{srv("q", 0, 4, 5)}}},
		}, "b"},
		{"tie: lowest ID", []ModelSwarm{
			{"b", Swarm{Blocks: 4, Servers: []Server{srv("p", 0, 4, 5)}}},
			{"a", Swarm{Blocks: 4, Servers: []Server{srv("q", 0, 4, 5)}}},
		}, "a"},
		{"no servers at all is the weakest", []ModelSwarm{
			{"a", Swarm{Blocks: 2}},
			{"b", Swarm{Blocks: 2, Servers: []Server{srv("q", 0, 1, 5)}}},
		}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := ChooseModel(tc.models)
			got := ""
			if i >= 0 {
				got = tc.models[i].Model
			}
			if got != tc.want {
				t.Fatalf("ChooseModel = %q, want %q", got, tc.want)
			}
			// Order does not matter.
			rev := make([]ModelSwarm, len(tc.models))
			for k, m := range tc.models {
				rev[len(rev)-1-k] = m
			}
			j := ChooseModel(rev)
			got2 := ""
			if j >= 0 {
				got2 = rev[j].Model
			}
			if got2 != got {
				t.Fatalf("reversed input chose %q, forward %q", got2, got)
			}
		})
	}
}
