package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/protocol"
)

// TestInfoAnswers: a server's /orbit/info/1.0.0 answer, as another peer
// reads it over the network, carries its version, its span, the
// throughput it measured when it loaded the span, its KV-cache budget, its
// free room and its load, and follows its sessions: an open session is
// counted, takes room (its positions) and adds load, a closed one gives
// them back, and a draining server stops reporting spans.
func TestInfoAnswers(t *testing.T) {
	src := fileSource(t, aidreamsPath)
	const budget = 64 << 20
	cfg := testConfig(t)
	cfg.KVCacheBytes = budget
	cfg.RebalanceInterval = -1
	s := startNode(t, cfg)
	st := serve(t, s, src, ServeOptions{Blocks: spanOf(1, 3)})
	if st.Throughput <= 0 {
		t.Fatalf("measured throughput %v", st.Throughput)
	}
	c := startNode(t, testConfig(t, s))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var hop *protocol.Hop
	var full protocol.ModelInfo // the first answer, with no session open
	for _, tc := range []struct {
		name  string
		do    func() error
		check func(in protocol.Info) error
	}{
		{"idle", nil, func(in protocol.Info) error {
			if in.Version != "test" || len(in.Models) != 1 {
				return fmt.Errorf("answer %+v", in)
			}
			mi := in.Models[0]
			full = mi
			switch {
			case mi.Model != src.ID() || mi.Span != spanOf(1, 3) || mi.Blocks != 4 || mi.Entry:
				return fmt.Errorf("model %+v, want %s blocks [1,3) of 4", mi, src.ID())
			case mi.Throughput != st.Throughput:
				return fmt.Errorf("throughput %v, measured %v", mi.Throughput, st.Throughput)
			case mi.FreeCacheBytes != budget || mi.FreeCacheTokens <= 0 || mi.Load != 0:
				return fmt.Errorf("free %d bytes, %d tokens, load %v; want %d bytes, some tokens, no load", mi.FreeCacheBytes, mi.FreeCacheTokens, mi.Load, budget)
			case mi.CacheBytes != budget || mi.CacheTokens != mi.FreeCacheTokens || mi.Sessions != 0:
				return fmt.Errorf("budget %d bytes, %d tokens, %d sessions; want %d bytes, the %d free tokens, none", mi.CacheBytes, mi.CacheTokens, mi.Sessions, budget, mi.FreeCacheTokens)
			}
			return nil
		}},
		{"a session open", func() error {
			var err error
			hop, err = protocol.OpenHop(ctx, c.Host(), s.ID(), protocol.OpenRequest{Model: src.ID(), Span: spanOf(1, 3), MaxLength: 64}, 5*time.Second)
			return err
		}, func(in protocol.Info) error {
			if len(in.Models) != 1 {
				return fmt.Errorf("answer %+v", in)
			}
			mi := in.Models[0]
			if mi.FreeCacheBytes >= full.FreeCacheBytes || mi.FreeCacheTokens >= full.FreeCacheTokens || mi.Load <= 0 {
				return fmt.Errorf("free %d bytes, %d tokens, load %v with a session of 64 positions open (idle: %d, %d)",
					mi.FreeCacheBytes, mi.FreeCacheTokens, mi.Load, full.FreeCacheBytes, full.FreeCacheTokens)
			}
			// The session reserves its 64 positions of the budget.
			if mi.Sessions != 1 || mi.CacheBytes != budget || mi.CacheTokens != full.CacheTokens || mi.CacheTokens-mi.FreeCacheTokens != 64 {
				return fmt.Errorf("%d sessions, budget %d bytes and %d tokens of which %d free; want 1 session holding 64 positions",
					mi.Sessions, mi.CacheBytes, mi.CacheTokens, mi.FreeCacheTokens)
			}
			return nil
		}},
		{"the session closed", func() error { return hop.Close() }, func(in protocol.Info) error {
			if len(in.Models) != 1 || in.Models[0].FreeCacheBytes != budget || in.Models[0].Load != 0 || in.Models[0].Sessions != 0 {
				return fmt.Errorf("answer %+v, want the whole budget back and no load", in)
			}
			return nil
		}},
		{"draining", func() error { s.StopSessions(); return nil }, func(in protocol.Info) error {
			if in.Version != "test" || len(in.Models) != 0 {
				return fmt.Errorf("answer %+v, want the version and no spans", in)
			}
			return nil
		}},
	} {
		if tc.do != nil {
			if err := tc.do(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		// A session ends on the server shortly after the client closes
		// it: poll until the answer settles.
		var err error
		for {
			var in protocol.Info
			in, err = protocol.QueryInfo(ctx, c.Host(), s.ID())
			if err == nil {
				err = tc.check(in)
			}
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}
