package node

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/protocol"
)

// TestSlidingWindowSwarm: a gemma3 model whose sliding-window blocks keep
// rings (window 8 plus engine.RewindSlack) generates past twice the ring
// through a swarm, speculating with a draft model that is mostly wrong
// (passes roll the route back) or by prompt lookup, and a server of the
// route dies past the ring; the entry node replays into a replacement and
// the tokens are the single-process ones.
func TestSlidingWindowSwarm(t *testing.T) {
	shape := specShapes[slices.IndexFunc(specShapes, func(s synth.Shape) bool { return s.Name == "gemma3-spec" })]
	ring := shape.SlidingWindow + engine.RewindSlack
	path := specModel(t, shape, 11)
	src := fileSource(t, path)
	n := 2*ring + 40
	if len(specPrompt)+n > shape.Context {
		t.Fatalf("%d positions exceed the context of %d", len(specPrompt)+n, shape.Context)
	}
	want := localGenerate(t, path, specPrompt, n)
	if i := slices.Index(want, 2); i >= 0 {
		want = want[:i]
	}
	killAt := 2 * ring
	if len(want) <= killAt {
		t.Fatalf("the reference ends after %d tokens, before %d", len(want), killAt)
	}
	dm, err := engine.Open(specModel(t, specShapes[0], 12), engine.Full())
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	for _, mode := range []speculate.Mode{speculate.NGram, speculate.Draft} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			entry, servers := swarm(t, src, protocol.EncodingF32, spanOf(0, 2), spanOf(0, 2), spanOf(2, 4), spanOf(2, 4))
			entry.cfg.Draft = &speculate.DraftModel{Model: dm}
			var got []int32
			killed := false
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			st, err := entry.GenerateWith(ctx, src.ID(), specPrompt, n, nil, func(tok int32) bool { return tok == 2 }, func(tok int32) error {
				got = append(got, tok)
				if len(got) >= killAt && !killed {
					for _, s := range servers[:2] {
						if s.infer.Sessions() > 0 {
							s.host.Close()
							killed = true
							break
						}
					}
				}
				return nil
			}, GenerateHooks{Speculate: &mode})
			if err != nil {
				t.Fatal(err)
			}
			if !killed || st.Failovers != 1 {
				t.Fatalf("killed %v, %d failovers; want one", killed, st.Failovers)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
			if sp := st.Speculation; mode == speculate.Draft && sp.Drafted == sp.Accepted {
				t.Fatalf("%d of %d drafts kept: no rollback happened", sp.Accepted, sp.Drafted)
			}
		})
	}
}
