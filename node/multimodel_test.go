package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// genTokens runs one generation through n and returns its tokens; unlike
// generate it reports failure instead of failing the test, so goroutines
// may call it.
func genTokens(ctx context.Context, n *Node, model string, prompt []int32, maxTokens int, stop func(int32) bool) ([]int32, Stats, error) {
	var got []int32
	st, err := n.Generate(ctx, model, prompt, maxTokens, nil, stop, func(tok int32) error {
		got = append(got, tok)
		return nil
	})
	if err != nil {
		return got, st, fmt.Errorf("generate %v of %s: %w", prompt, model, err)
	}
	return got, st, nil
}

// viewSpans is a fresh view of model from n as peer -> span.
func viewSpans(t testing.TB, n *Node, model string) (map[peer.ID]sharding.Span, *View) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := n.SwarmView(ctx, model, true)
	if err != nil {
		t.Fatalf("view of %s: %v", model, err)
	}
	out := map[peer.ID]sharding.Span{}
	for _, s := range v.Swarm.Servers {
		out[v.Peers[s.ID]] = s.Span
	}
	return out, v
}

// TestMultiModel: one swarm serves two models at once, aidreams260K (4
// blocks) and a synthetic "tiny" model of 8 blocks, both of dimension 64
// so that a hop of the wrong model would not even be caught by the
// dimension check. S1 serves spans of both, S2 only aidreams, S3 only the
// synthetic model, and E is the entry node of both. Generations of both
// models run at the same time through S1 (which batches each model on its
// own scheduler) and each gives exactly its single-process tokens; views,
// coverage, status and routes of one model never show the other's peers.
func TestMultiModel(t *testing.T) {
	cases := loadReference(t)
	aid := fileSource(t, aidreamsPath)
	synPath := synthModelLayers(t, 8)
	syn := fileSource(t, synPath)
	if aid.ID() == syn.ID() {
		t.Fatal("the two models have the same ID")
	}

	f32 := func(cfg Config) Config {
		cfg.Encoding = protocol.EncodingF32 // bit-identical to one process
		cfg.RebalanceInterval = -1
		return cfg
	}
	s1 := startNode(t, f32(testConfig(t)))
	serve(t, s1, aid, ServeOptions{Blocks: spanOf(0, 2)})
	serve(t, s1, syn, ServeOptions{Blocks: spanOf(0, 4)})
	s2 := startNode(t, f32(testConfig(t, s1)))
	serve(t, s2, aid, ServeOptions{Blocks: spanOf(2, 4)})
	s3 := startNode(t, f32(testConfig(t, s1)))
	serve(t, s3, syn, ServeOptions{Blocks: spanOf(4, 8)})
	e := startNode(t, f32(testConfig(t, s1)))
	serve(t, e, aid, ServeOptions{NoBlocks: true, Entry: true})
	serve(t, e, syn, ServeOptions{NoBlocks: true, Entry: true})
	waitView(t, e, aid.ID(), 2)
	waitView(t, e, syn.ID(), 2)

	// Status: every node lists exactly what it serves.
	type status struct {
		model  string
		span   sharding.Span
		blocks int
		entry  bool
	}
	for _, tc := range []struct {
		name string
		n    *Node
		want []status
	}{
		{"S1", s1, []status{{aid.ID(), spanOf(0, 2), 4, false}, {syn.ID(), spanOf(0, 4), 8, false}}},
		{"S2", s2, []status{{aid.ID(), spanOf(2, 4), 4, false}}},
		{"S3", s3, []status{{syn.ID(), spanOf(4, 8), 8, false}}},
		{"E", e, []status{{aid.ID(), sharding.Span{}, 4, true}, {syn.ID(), sharding.Span{}, 8, true}}},
	} {
		var got []status
		for _, m := range tc.n.Models() {
			got = append(got, status{m.Model, m.Span, m.Blocks, m.Entry})
		}
		slices.SortFunc(got, func(a, b status) int { return cmp.Compare(a.model, b.model) })
		want := slices.Clone(tc.want)
		slices.SortFunc(want, func(a, b status) int { return cmp.Compare(a.model, b.model) })
		if !slices.Equal(got, want) {
			t.Errorf("%s.Models() = %+v, want %+v", tc.name, got, want)
		}
	}
	// The same over the wire, as other peers see S1.
	ictx, icancel := context.WithTimeout(context.Background(), 10*time.Second)
	in, err := protocol.QueryInfo(ictx, e.Host(), s1.ID())
	icancel()
	if err != nil {
		t.Fatal(err)
	}
	wire := map[string]sharding.Span{}
	for _, mi := range in.Models {
		wire[mi.Model] = mi.Span
	}
	if want := map[string]sharding.Span{aid.ID(): spanOf(0, 2), syn.ID(): spanOf(0, 4)}; !maps.Equal(wire, want) {
		t.Errorf("S1 tells %v, want %v", wire, want)
	}

	// Views and coverage: each model's view holds its own servers only.
	for _, tc := range []struct {
		name   string
		model  string
		blocks int
		want   map[peer.ID]sharding.Span
	}{
		{"aidreams", aid.ID(), 4, map[peer.ID]sharding.Span{s1.ID(): spanOf(0, 2), s2.ID(): spanOf(2, 4)}},
		{"synthetic", syn.ID(), 8, map[peer.ID]sharding.Span{s1.ID(): spanOf(0, 4), s3.ID(): spanOf(4, 8)}},
	} {
		got, v := viewSpans(t, e, tc.model)
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: view %v, want %v", tc.name, got, tc.want)
		}
		if v.Swarm.Blocks != tc.blocks {
			t.Errorf("%s: view of %d blocks, want %d", tc.name, v.Swarm.Blocks, tc.blocks)
		}
		if cov := sharding.Coverage(v.Swarm); !slices.Equal(cov, slices.Repeat([]int{1}, tc.blocks)) {
			t.Errorf("%s: coverage %v, want every block once", tc.name, cov)
		}
	}

	// Sessions: a server opens only spans of the models it serves.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name  string
		n     *Node
		model string
		span  sharding.Span
		ok    bool
	}{
		{"S1 aidreams", s1, aid.ID(), spanOf(0, 2), true},
		{"S1 synthetic", s1, syn.ID(), spanOf(0, 4), true},
		{"S1 aidreams beyond its span", s1, aid.ID(), spanOf(0, 4), false},
		{"S2 synthetic", s2, syn.ID(), spanOf(2, 4), false},
		{"S3 aidreams", s3, aid.ID(), spanOf(0, 2), false},
		{"S3 synthetic", s3, syn.ID(), spanOf(4, 8), true},
	} {
		cs, err := (backend{tc.n}).OpenSession(ctx, tc.model, tc.span, 8)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && !errors.Is(err, protocol.ErrUnknownModel):
			t.Errorf("%s: opened (%v), want ErrUnknownModel", tc.name, err)
		}
		if cs != nil {
			cs.Close()
		}
	}

	// Both models at once: every aidreams reference case and a few
	// synthetic prompts, each in its own goroutine.
	type job struct {
		name   string
		model  string
		prompt []int32
		steps  int
		stop   func(int32) bool
		want   []int32
		route  []RouteHop
	}
	aidRoute := []RouteHop{{s1.ID(), spanOf(0, 2)}, {s2.ID(), spanOf(2, 4)}}
	synRoute := []RouteHop{{s1.ID(), spanOf(0, 4)}, {s3.ID(), spanOf(4, 8)}}
	var jobs []job
	for _, c := range cases {
		jobs = append(jobs, job{"aidreams " + c.Prompt, aid.ID(), c.PromptTokens, c.Steps + 1 - len(c.PromptTokens),
			func(tok int32) bool { return tok == 1 }, c.GeneratedTokens, aidRoute})
	}
	for _, p := range []struct {
		name   string
		prompt []int32
		steps  int
	}{
		{"bos", []int32{1}, 40},
		{"short", []int32{1, 450, 4996, 17354}, 40},
		{"long", seqTokens(120, 5, 31000), 24},
	} {
		jobs = append(jobs, job{"synthetic " + p.name, syn.ID(), p.prompt, p.steps, nil, localGenerate(t, synPath, p.prompt, p.steps), synRoute})
	}
	type result struct {
		toks []int32
		st   Stats
		err  error
	}
	results := make([]result, len(jobs))
	gctx, gcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer gcancel()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			<-start
			r := &results[i]
			r.toks, r.st, r.err = genTokens(gctx, e, j.model, j.prompt, j.steps, j.stop)
		})
	}
	close(start)
	wg.Wait()
	for i, j := range jobs {
		r := results[i]
		if r.err != nil {
			t.Errorf("%s: %v", j.name, r.err)
			continue
		}
		if !slices.Equal(r.toks, j.want) {
			t.Errorf("%s: got %v\nwant %v", j.name, r.toks, j.want)
		}
		if !slices.Equal(r.st.Route, j.route) || r.st.Failovers != 0 {
			t.Errorf("%s: route %v with %d failovers, want %v", j.name, r.st.Route, r.st.Failovers, j.route)
		}
	}
	// S1 ran both models, each on its own scheduler.
	for _, m := range []string{aid.ID(), syn.ID()} {
		sched := s1.servedModel(m).sched
		rows := sched.Stats().Rows
		if rows == 0 {
			t.Errorf("S1 computed no rows of %s", m)
		}
	}
}
