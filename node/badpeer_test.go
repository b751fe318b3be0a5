package node

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// badServer makes n a lying server: it claims a huge throughput (so routes
// prefer it) and answers every step with what corrupt returns.
func badServer(n *Node, corrupt func(step *pb.InferStep) *pb.InferResponse) {
	protocol.ServeInfo(n.host, func() protocol.Info {
		in := n.info()
		for i := range in.Models {
			in.Models[i].Throughput *= 1e6
		}
		return in
	}, nil)
	// Steps come on the control stream or, pushed by the previous hop, on
	// an attached stream; answers go to the control stream.
	var mu sync.Mutex
	var ctrl *protocol.FrameWriter
	var ctrlStream network.Stream
	answer := func(step *pb.InferStep) bool {
		mu.Lock()
		defer mu.Unlock()
		if ctrl == nil {
			return false
		}
		resp := corrupt(step)
		if resp == silence {
			return true // take the step, never answer
		}
		if resp == nil {
			_, _ = ctrlStream.Write([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3}) // not a frame
			return false
		}
		return ctrl.WriteMsg(resp) == nil
	}
	n.host.SetStreamHandler(protocol.InferID, func(st network.Stream) {
		defer st.Reset()
		_ = st.SetDeadline(time.Now().Add(time.Minute))
		fr := protocol.NewFrameReader(st, protocol.MaxFrame)
		var hello pb.InferHello
		if fr.ReadMsg(&hello) != nil {
			return
		}
		if open := hello.GetOpen(); open != nil {
			fw := protocol.NewFrameWriter(st, protocol.MaxFrame)
			mu.Lock()
			ctrl, ctrlStream = fw, st
			err := fw.WriteMsg(&pb.InferResponse{Msg: &pb.InferResponse_Opened{Opened: &pb.InferOpened{
				SessionId: make([]byte, 16), Encoding: open.GetEncodings()[0], Dim: 64}}})
			mu.Unlock()
			if err != nil {
				return
			}
		}
		for {
			var req pb.InferRequest
			if fr.ReadMsg(&req) != nil {
				return
			}
			if req.GetStep() != nil && !answer(req.GetStep()) {
				return
			}
		}
	})
}

// silence, returned by a badServer's corrupt function, makes it take the
// step and never answer.
var silence = &pb.InferResponse{}

func result(step *pb.InferStep, h *pb.InferHidden) *pb.InferResponse {
	return &pb.InferResponse{Msg: &pb.InferResponse_Result{Result: &pb.InferResult{Seq: step.GetSeq(), Position: step.GetPosition(), Hidden: h}}}
}

// TestBadPeers: a server answering with garbage or wrong shapes is
// detected, dropped from the route, and the generation completes with the
// reference tokens.
func TestBadPeers(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[2]
	f32 := func(v float32, n int) []byte {
		b := make([]byte, 0, 4*n)
		for range n {
			u := math.Float32bits(v)
			b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		corrupt func(*pb.InferStep) *pb.InferResponse
	}{
		{"extra row", func(s *pb.InferStep) *pb.InferResponse {
			h := s.GetHidden()
			return result(s, &pb.InferHidden{Encoding: h.Encoding, Rows: h.Rows + 1, Dim: h.Dim, Data: f32(0.5, int(h.Rows+1)*int(h.Dim))})
		}},
		{"wrong dim", func(s *pb.InferStep) *pb.InferResponse {
			h := s.GetHidden()
			return result(s, &pb.InferHidden{Encoding: h.Encoding, Rows: h.Rows, Dim: 32, Data: f32(0.5, int(h.Rows)*32)})
		}},
		{"truncated data", func(s *pb.InferStep) *pb.InferResponse {
			h := s.GetHidden()
			return result(s, &pb.InferHidden{Encoding: h.Encoding, Rows: h.Rows, Dim: h.Dim, Data: h.Data[:len(h.Data)/2]})
		}},
		{"nan values", func(s *pb.InferStep) *pb.InferResponse {
			h := s.GetHidden()
			return result(s, &pb.InferHidden{Encoding: h.Encoding, Rows: h.Rows, Dim: h.Dim, Data: f32(float32(math.NaN()), int(h.Rows*h.Dim))})
		}},
		{"wrong position", func(s *pb.InferStep) *pb.InferResponse {
			r := result(s, s.GetHidden())
			r.GetResult().Position++
			return r
		}},
		{"garbage frame", func(*pb.InferStep) *pb.InferResponse { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry, servers := swarm(t, src, protocol.EncodingF32,
				sharding.Span{Start: 0, End: 2}, sharding.Span{Start: 2, End: 4}, sharding.Span{Start: 2, End: 4})
			badServer(servers[2], tc.corrupt)
			// The honest server of the span claims to be slow, so the
			// route takes the liar first whatever the measured RTTs.
			protocol.ServeInfo(servers[1].host, func() protocol.Info {
				in := servers[1].info()
				for i := range in.Models {
					in.Models[i].Throughput /= 1e3
				}
				return in
			}, nil)
			waitView(t, entry, src.ID(), 3)
			got, st := generate(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens))
			if !slices.Equal(got, c.GeneratedTokens) {
				t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
			}
			if st.Failovers != 1 {
				t.Errorf("%d failovers, want 1 (was the bad server routed?)", st.Failovers)
			}
			for _, h := range st.Route {
				if h.Peer == servers[2].ID() {
					t.Errorf("bad server still in the route %+v", st.Route)
				}
			}
		})
	}
}

// TestCacheFull: a server whose KV-cache budget cannot hold a session
// refuses it clearly, and the entry routes around it.
func TestCacheFull(t *testing.T) {
	src := fileSource(t, aidreamsPath)
	s := startNode(t, testConfig(t))
	cfg := testConfig(t, s)
	cfg.KVCacheBytes = 1024 // far below one session
	tiny := startNode(t, cfg)
	serve(t, s, src, ServeOptions{Blocks: sharding.Span{Start: 0, End: 4}})
	serve(t, tiny, src, ServeOptions{Blocks: sharding.Span{Start: 0, End: 4}})
	entry := startNode(t, testConfig(t, s))
	serve(t, entry, src, ServeOptions{NoBlocks: true, Entry: true})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := protocol.OpenHop(ctx, entry.host, tiny.ID(), protocol.OpenRequest{Model: src.ID(), Span: sharding.Span{Start: 0, End: 4}, MaxLength: 64}, 5*time.Second)
	if err == nil || !errorsIs(err, protocol.ErrCacheFull) {
		t.Fatalf("open on a full server: %v, want ErrCacheFull", err)
	}
	t.Logf("refusal: %v", err)
	got, st := generate(t, entry, src.ID(), []int32{1}, 10)
	if len(got) != 10 || len(st.Route) != 1 || st.Route[0].Peer != s.ID() {
		t.Fatalf("got %v via %+v", got, st.Route)
	}
}

// TestSilentPeer: a server that takes sessions and steps but never answers
// is given up on after the entry node's step deadline, dropped from the
// route, and the generation completes with the reference tokens. The
// deadline bounds the stall: one step timeout, not the generation's.
func TestSilentPeer(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[0]
	const stepTimeout = 700 * time.Millisecond
	first := startNode(t, testConfig(t))
	serve(t, first, src, ServeOptions{Blocks: spanOf(0, 2)})
	var servers []*Node
	for range 2 {
		n := startNode(t, testConfig(t, first))
		serve(t, n, src, ServeOptions{Blocks: spanOf(2, 4)})
		servers = append(servers, n)
	}
	honest, silent := servers[0], servers[1]
	badServer(silent, func(*pb.InferStep) *pb.InferResponse { return silence })
	protocol.ServeInfo(honest.host, func() protocol.Info {
		in := honest.info()
		for i := range in.Models {
			in.Models[i].Throughput /= 1e3
		}
		return in
	}, nil)
	for _, tc := range []struct {
		name string
		enc  protocol.Encoding
	}{{"f32", protocol.EncodingF32}, {"f16", protocol.EncodingF16}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, first)
			cfg.Encoding = tc.enc
			cfg.StepTimeout = stepTimeout
			entry := startNode(t, cfg)
			serve(t, entry, src, ServeOptions{NoBlocks: true, Entry: true})
			waitView(t, entry, src.ID(), 3)
			start := time.Now()
			got, st := generate(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens))
			if !slices.Equal(got, c.GeneratedTokens) {
				t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
			}
			if st.Failovers != 1 {
				t.Errorf("%d failovers, want 1 (was the silent server routed?)", st.Failovers)
			}
			for _, h := range st.Route {
				if h.Peer == silent.ID() {
					t.Errorf("silent server still in the route %+v", st.Route)
				}
			}
			if el := time.Since(start); el > stepTimeout+10*time.Second {
				t.Errorf("generation took %v with a step timeout of %v", el, stepTimeout)
			}
		})
	}
}
