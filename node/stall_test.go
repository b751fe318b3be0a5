package node

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/orbitswarm/orbit/node/entry"
	orbitproto "github.com/orbitswarm/orbit/protocol"
)

// freezable wraps a host so that, once frozen, its /orbit/infer/1.0.0
// streams swallow every write: the server reads and computes steps and
// keeps its connections, but never answers, as a process stopped with
// SIGSTOP (a laptop lid closing) whose kernel still acknowledges packets.
type freezable struct {
	host.Host
	frozen *atomic.Bool
}

func (f freezable) SetStreamHandler(pid protocol.ID, h network.StreamHandler) {
	if pid != orbitproto.InferID {
		f.Host.SetStreamHandler(pid, h)
		return
	}
	f.Host.SetStreamHandler(pid, func(st network.Stream) { h(frozenStream{st, f.frozen}) })
}

type frozenStream struct {
	network.Stream
	frozen *atomic.Bool
}

func (s frozenStream) Write(p []byte) (int, error) {
	if s.frozen.Load() {
		return len(p), nil
	}
	return s.Stream.Write(p)
}

// TestStalledPeer: the last hop stops answering mid-generation (it takes
// steps and never answers). With derived step deadlines (StepTimeout
// zero) the entry node gives up on it in about what a step should take
// (the floor of 2s, the steps being milliseconds), not the 30s cap,
// replays its inputs into the other server of its span, and the tokens
// are those of the honest run.
func TestStalledPeer(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[0]
	first := startNode(t, testConfig(t))
	serve(t, first, src, ServeOptions{Blocks: spanOf(0, 2)})
	var frozen atomic.Bool
	cfg := testConfig(t, first)
	cfg.WrapHost = func(h host.Host) host.Host { return freezable{h, &frozen} }
	stalling := startNode(t, cfg)
	serve(t, stalling, src, ServeOptions{Blocks: spanOf(2, 4)})
	honest := startNode(t, testConfig(t, first))
	serve(t, honest, src, ServeOptions{Blocks: spanOf(2, 4)})
	// Routes prefer the server that will stall.
	orbitproto.ServeInfo(honest.host, func() orbitproto.Info {
		in := honest.info()
		for i := range in.Models {
			in.Models[i].Throughput /= 1e3
		}
		return in
	}, nil)

	cfg = testConfig(t, first)
	cfg.StepTimeout = 0 // derived from step times
	en := startNode(t, cfg)
	serve(t, en, src, ServeOptions{NoBlocks: true, Entry: true})
	waitView(t, en, src.ID(), 3)

	const freezeAt = 5
	var got []int32
	var gaps []time.Duration
	last := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := en.Generate(ctx, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens), nil,
		func(tok int32) bool { return tok == 1 },
		func(tok int32) error {
			got = append(got, tok)
			now := time.Now()
			gaps = append(gaps, now.Sub(last))
			last = now
			if len(got) == freezeAt {
				if stalling.infer.Sessions() == 0 {
					t.Error("the server to stall is not in the route")
				}
				frozen.Store(true)
			}
			return nil
		})
	if err != nil {
		t.Fatalf("generate: %v (stats %+v)", err, st)
	}
	if !slices.Equal(got, c.GeneratedTokens) {
		t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
	}
	if st.Failovers != 1 {
		t.Errorf("%d failovers, want 1", st.Failovers)
	}
	for _, h := range st.Route {
		if h.Peer == stalling.ID() {
			t.Errorf("stalled server still in the route %+v", st.Route)
		}
	}
	stall := slices.Max(gaps[freezeAt:])
	t.Logf("the stall cost %v (the token after the freeze); tokens otherwise %v apart at most", stall, slices.Max(gaps[1:freezeAt]))
	if stall < entry.DefaultStepFloor || stall > entry.DefaultStepFloor+6*time.Second {
		t.Errorf("the stall cost %v, want about the step floor %v", stall, entry.DefaultStepFloor)
	}
	if !en.avoided(stalling.ID(), spanOf(2, 4)) || en.avoided(stalling.ID(), spanOf(0, 2)) {
		t.Error("the stalled server is not avoided over its span alone")
	}
}
