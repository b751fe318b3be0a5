package node

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// lie is how a lying server corrupts the rows of a step: x holds rows of
// dim values at positions pos.., in (the step's input) and out (what the
// engine computed).
type lie func(rng *rand.Rand, in, out []float32)

var lies = map[string]lie{
	// skips the compute and echoes its input
	"echo": func(_ *rand.Rand, in, out []float32) { copy(out, in) },
	// adds N(0, 0.1) noise
	"noise": func(rng *rand.Rand, _, out []float32) {
		for i := range out {
			out[i] += float32(rng.NormFloat64() * 0.1)
		}
	},
	// returns random values
	"random": func(rng *rand.Rand, _, out []float32) {
		for i := range out {
			out[i] = float32(rng.Float64()*2 - 1)
		}
	},
}

// lyingBackend opens sessions that compute honestly, then corrupt the
// rows of positions from `from` on.
type lyingBackend struct {
	protocol.InferBackend
	lie  lie
	from int
}

func (b lyingBackend) OpenSession(ctx context.Context, model string, span sharding.Span, maxLen int) (protocol.ComputeSession, error) {
	s, err := b.InferBackend.OpenSession(ctx, model, span, maxLen)
	if err != nil {
		return nil, err
	}
	return &lyingSession{ComputeSession: s, b: b, rng: rand.New(rand.NewPCG(1, 2))}, nil
}

type lyingSession struct {
	protocol.ComputeSession
	b   lyingBackend
	rng *rand.Rand
}

func (s *lyingSession) Forward(ctx context.Context, x []float32, pos int) error {
	in := slices.Clone(x)
	if err := s.ComputeSession.Forward(ctx, x, pos); err != nil {
		return err
	}
	dim := s.Dim()
	for r := range len(x) / dim {
		if pos+r >= s.b.from {
			s.b.lie(s.rng, in[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim])
		}
	}
	return nil
}

// liarServer makes n's inference server lie from position from on (a
// real server otherwise: it signs, pushes and batches as any), and claim
// a huge throughput so routes take it.
func liarServer(t *testing.T, n *Node, l lie, from int) {
	srv := protocol.NewInferServer(n.host, lyingBackend{InferBackend: backend{n}, lie: l, from: from}, protocol.ServerConfig{Logger: n.log})
	srv.Start()
	t.Cleanup(srv.Close)
	protocol.ServeInfo(n.host, func() protocol.Info {
		in := n.info()
		for i := range in.Models {
			in.Models[i].Throughput *= 1e6
		}
		return in
	}, nil)
}

func generateWith(t testing.TB, n *Node, model string, prompt []int32, maxTokens int, opt genOptions) ([]int32, Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []int32
	st, err := n.generate(ctx, model, prompt, maxTokens, nil, func(tok int32) bool { return tok == 1 }, func(tok int32) error {
		got = append(got, tok)
		return nil
	}, opt)
	if err != nil {
		t.Fatalf("generate %v: %v (stats %+v)", prompt, err, st)
	}
	return got, st
}

func liarIDs(st VerifyStatus) []peer.ID {
	var out []peer.ID
	for _, l := range st.Liars {
		out = append(out, l.Peer)
	}
	return out
}

// TestVerifyLiars: at verify rate 1 a server that echoes its input, adds
// N(0, 0.1) noise or returns random values is caught at the first step
// it lies (prefill or decode), the generation's tokens are those of an
// all-honest run, the liar is banned at the entry node, and the signed
// report the entry publishes makes a peer that only received it ban the
// liar too. Three servers share the liar's span, so a judge settles the
// dispute; no honest server is ever flagged.
func TestVerifyLiars(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[2]
	rate := 1.0
	for _, tc := range []struct {
		name string
		from int // first position it lies at
	}{
		{"echo", 0}, // from the prefill on
		{"noise", len(c.PromptTokens) + 2},
		{"random", len(c.PromptTokens) + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry, servers := swarm(t, src, protocol.EncodingF32,
				sharding.Span{Start: 0, End: 2}, sharding.Span{Start: 2, End: 4}, sharding.Span{Start: 2, End: 4}, sharding.Span{Start: 2, End: 4})
			liar := servers[3]
			liarServer(t, liar, lies[tc.name], tc.from)
			waitView(t, entry, src.ID(), 4)
			// The liar claims to be fastest; the route is pinned through it
			// all the same, whatever the view's RTTs.
			pinned := []RouteHop{{Peer: servers[0].ID(), Span: spanOf(0, 2)}, {Peer: liar.ID(), Span: spanOf(2, 4)}}
			got, st := generateWith(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens), genOptions{verifyRate: &rate, route: pinned})
			if !slices.Equal(got, c.GeneratedTokens) {
				t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
			}
			vs := entry.VerifyStatus()
			if len(vs.Disputes) != 1 {
				t.Fatalf("%d disputes, want 1: %+v; stats %+v", len(vs.Disputes), vs.Disputes, st)
			}
			d := vs.Disputes[0]
			if d.Liar != liar.ID() || d.Judge == "" {
				t.Fatalf("dispute %+v, want %s judged the liar", d, liar.ID())
			}
			if d.Pos != tc.from || d.Caught > tc.from || d.End <= tc.from {
				t.Errorf("lie from position %d found at %d by the step of positions [%d,%d), want that step", tc.from, d.Pos, d.Caught, d.End)
			}
			if !slices.Equal(liarIDs(vs), []peer.ID{liar.ID()}) || !entry.verify.isLiar(liar.ID()) {
				t.Errorf("liars at the entry %v, want %s", liarIDs(vs), liar.ID())
			}
			for _, h := range st.Route {
				if h.Peer == liar.ID() {
					t.Errorf("the liar is still in the route %+v", st.Route)
				}
			}
			if st.Verify.Checks == 0 || st.Verify.Mismatches != 1 || vs.Checks != int64(st.Verify.Checks) {
				t.Errorf("verify stats %+v, node %d checks", st.Verify, vs.Checks)
			}
			// The report: the [0,2) server did not take part, and bans the
			// liar on the evidence alone.
			if d.Report == nil || !d.Published {
				t.Fatalf("no report published: %+v", d)
			}
			obs := servers[0]
			deadline := time.Now().Add(10 * time.Second)
			for !obs.verify.isLiar(liar.ID()) {
				if time.Now().After(deadline) {
					t.Fatalf("the observer did not ban the liar: %+v", obs.VerifyStatus())
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, n := range append(servers[:3:3], entry) {
				for _, p := range liarIDs(n.VerifyStatus()) {
					if p != liar.ID() {
						t.Errorf("%s flagged the honest %s", n.ID(), p)
					}
				}
			}

			// A false report is rejected: a liar cannot get an honest
			// server banned with its own answer and a forged one, nor on
			// its word alone.
			r := *d.Report
			honest := r.Witnesses[0]
			forged := r.Accused
			forged.Claim.Peer = r.Witnesses[1].Claim.Peer
			for _, fr := range []protocol.Report{
				{Accused: honest, Witnesses: []protocol.SignedAnswer{r.Accused, forged}},
				{Accused: honest, Witnesses: []protocol.SignedAnswer{r.Accused}},
			} {
				if err := protocol.SendReport(t.Context(), liar.host, obs.ID(), fr, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			deadline = time.Now().Add(10 * time.Second)
			for {
				s := obs.VerifyStatus()
				if s.Reports["rejected"] == 1 && s.Reports["ignored"] == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("reports at the observer %v, want one rejected and one ignored", s.Reports)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if obs.verify.isLiar(honest.Claim.Peer) {
				t.Fatalf("a false report got the honest %s banned", honest.Claim.Peer)
			}
		})
	}
}

// TestVerifySelfJudge: an entry node that serves the liar's span checks
// it itself and is the judge: the liar is caught at its first lie and
// the tokens are an all-honest run's.
func TestVerifySelfJudge(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[1]
	first := startNode(t, testConfig(t))
	serve(t, first, src, ServeOptions{Blocks: spanOf(0, 4)})
	liar := startNode(t, testConfig(t, first))
	serve(t, liar, src, ServeOptions{Blocks: spanOf(0, 4)})
	from := len(c.PromptTokens) + 1
	liarServer(t, liar, lies["noise"], from)
	cfg := testConfig(t, first)
	cfg.Encoding = protocol.EncodingF32
	cfg.VerifyRate = 1
	entry := startNode(t, cfg)
	serve(t, entry, src, ServeOptions{Blocks: spanOf(0, 4), Entry: true})
	// The entry node would route through itself: pin the liar.
	waitView(t, entry, src.ID(), 3)
	got, _ := generateWith(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens), genOptions{route: []RouteHop{{Peer: liar.ID(), Span: spanOf(0, 4)}}})
	if !slices.Equal(got, c.GeneratedTokens) {
		t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
	}
	vs := entry.VerifyStatus()
	if len(vs.Disputes) != 1 || vs.Disputes[0].Liar != liar.ID() || vs.Disputes[0].Verifier != entry.ID() || vs.Disputes[0].Pos != from {
		t.Fatalf("disputes %+v, want the liar caught by the entry node at %d", vs.Disputes, from)
	}
}

// TestVerifyLowRate: at a low verify rate a liar is caught within the
// expected number of steps. The checks are drawn from a fixed seed, so
// the test is exact; the bound is the 99.9th percentile of the geometric
// delay (1-r)^k <= 0.001, which a random seed exceeds once in a thousand.
func TestVerifyLowRate(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[2]
	entry, servers := swarm(t, src, protocol.EncodingF32,
		sharding.Span{Start: 0, End: 2}, sharding.Span{Start: 2, End: 4}, sharding.Span{Start: 2, End: 4}, sharding.Span{Start: 2, End: 4})
	liar := servers[3]
	from := len(c.PromptTokens) + 3
	liarServer(t, liar, lies["noise"], from)
	waitView(t, entry, src.ID(), 4)
	const rate = 0.2
	bound := int(math.Ceil(math.Log(0.001) / math.Log(1-rate)))
	seed := uint64(20261204)
	r := rate
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := 0
	_, err := entry.generate(ctx, src.ID(), c.PromptTokens, from+bound+2-len(c.PromptTokens), nil, nil, func(int32) error { n++; return nil },
		genOptions{verifyRate: &r, seed: &seed, route: []RouteHop{{Peer: servers[0].ID(), Span: spanOf(0, 2)}, {Peer: liar.ID(), Span: spanOf(2, 4)}}})
	if err != nil {
		t.Fatal(err)
	}
	vs := entry.VerifyStatus()
	if len(vs.Disputes) != 1 || vs.Disputes[0].Liar != liar.ID() {
		t.Fatalf("after %d tokens: disputes %+v, want the liar caught within %d steps of its first lie", n, vs.Disputes, bound)
	}
	d := vs.Disputes[0]
	if delay := d.End - from; d.Pos != from || delay > bound {
		t.Fatalf("lie at %d found at %d, %d positions later; want within %d", from, d.Pos, delay, bound)
	}
	t.Logf("rate %.2f: caught %d positions after the first lie (bound %d); %d checks", rate, d.End-from, bound, vs.Checks)
}
