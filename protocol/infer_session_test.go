package protocol

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/sharding"
)

// widthBackend's sessions have rows of dim values and return their input.
type widthBackend struct{ dim int }

func (b widthBackend) OpenSession(context.Context, string, sharding.Span, int) (ComputeSession, error) {
	return widthSession{b.dim}, nil
}

type widthSession struct{ dim int }

func (s widthSession) Dim() int                                    { return s.dim }
func (widthSession) Forward(context.Context, []float32, int) error { return nil }
func (widthSession) Close()                                        {}

// connected returns two connected loopback hosts.
func connected(t *testing.T) (server, client host.Host) {
	t.Helper()
	server, client = newHost(t), newHost(t)
	if err := client.Connect(t.Context(), peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return server, client
}

// TestInferEncodingNegotiation: the server takes the first offered
// encoding that can carry its row width, steps then travel in it, and a
// server that can use none of the offers refuses the session clearly.
func TestInferEncodingNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dim    int
		offers []Encoding
		want   Encoding // 0: refused
	}{
		{"nothing offered takes the default", 64, nil, DefaultEncoding},
		{"first offer wins", 64, []Encoding{EncodingQ8_0, EncodingF16, EncodingF32}, EncodingQ8_0},
		{"f32 first", 64, []Encoding{EncodingF32, EncodingF16}, EncodingF32},
		{"q8_0 skipped for a width not a multiple of 32", 40, []Encoding{EncodingQ8_0, EncodingF16}, EncodingF16},
		{"no offer fits", 40, []Encoding{EncodingQ8_0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := connected(t)
			srv := NewInferServer(server, widthBackend{tc.dim}, ServerConfig{IOTimeout: 5 * time.Second, Logger: quiet})
			srv.Start()
			t.Cleanup(srv.Close)
			req := OpenRequest{Model: "m", Span: spanOf(0, 1), MaxLength: 8, Encodings: tc.offers}
			hp, err := OpenHop(t.Context(), client, server.ID(), req, 5*time.Second)
			if tc.want == 0 {
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("open: %v, want a refusal wrapping ErrBadRequest", err)
				}
				if srv.Sessions() != 0 {
					t.Fatalf("%d sessions left after a refusal", srv.Sessions())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer hp.Close()
			if hp.Opened.Encoding != tc.want || hp.Opened.Dim != tc.dim {
				t.Fatalf("opened %v for dimension %d, want %v and %d", hp.Opened.Encoding, hp.Opened.Dim, tc.want, tc.dim)
			}
			x := randRows(2, tc.dim, 1)
			h, err := EncodeRows(tc.want, x, tc.dim)
			if err != nil {
				t.Fatal(err)
			}
			if err := hp.Send(Step{Seq: 1, Pos: 0, Hidden: h}); err != nil {
				t.Fatal(err)
			}
			res, err := hp.Await(t.Context(), 1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.Hidden.Encoding != tc.want || !reflect.DeepEqual(res.Hidden.Data, h.Data) {
				t.Fatalf("result in %v, %d bytes; want the step's %d bytes in %v", res.Hidden.Encoding, len(res.Hidden.Data), len(h.Data), tc.want)
			}
		})
	}
}

// TestInferOpenHostileServer: an entry node refuses an open answer whose
// encoding it did not offer or cannot carry the width, or that names no
// session.
func TestInferOpenHostileServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opened *pb.InferOpened
	}{
		{"encoding not offered", &pb.InferOpened{SessionId: make([]byte, 16), Encoding: pb.HiddenEncoding(EncodingF32), Dim: 64}},
		{"encoding unfit for the width", &pb.InferOpened{SessionId: make([]byte, 16), Encoding: pb.HiddenEncoding(EncodingQ8_0), Dim: 40}},
		{"unknown encoding", &pb.InferOpened{SessionId: make([]byte, 16), Encoding: 99, Dim: 64}},
		{"short session id", &pb.InferOpened{SessionId: []byte{1}, Encoding: pb.HiddenEncoding(EncodingF16), Dim: 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := connected(t)
			server.SetStreamHandler(InferID, func(st network.Stream) {
				defer st.Close()
				var hello pb.InferHello
				if NewFrameReader(st, MaxFrame).ReadMsg(&hello) != nil {
					return
				}
				_ = NewFrameWriter(st, MaxFrame).WriteMsg(&pb.InferResponse{Msg: &pb.InferResponse_Opened{Opened: tc.opened}})
				_, _ = io.Copy(io.Discard, st)
			})
			req := OpenRequest{Model: "m", Span: spanOf(0, 1), MaxLength: 8, Encodings: []Encoding{EncodingQ8_0, EncodingF16}}
			if hp, err := OpenHop(t.Context(), client, server.ID(), req, 2*time.Second); !errors.Is(err, ErrBadFrame) {
				if hp != nil {
					hp.Close()
				}
				t.Fatalf("open: %v, want ErrBadFrame", err)
			}
		})
	}
}

// TestInferIdleTimeout: steps keep a session alive past the idle timeout;
// once they stop, the server closes it, tells the entry node why (IDLE),
// and frees it.
func TestInferIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	server, client := connected(t)
	srv := NewInferServer(server, widthBackend{pushDim}, ServerConfig{IdleTimeout: idle, IOTimeout: 5 * time.Second, Logger: quiet})
	srv.Start()
	t.Cleanup(srv.Close)
	req := OpenRequest{Model: "m", Span: spanOf(0, 1), MaxLength: 64, Encodings: []Encoding{EncodingF32}}
	hp, err := OpenHop(t.Context(), client, server.ID(), req, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer hp.Close()
	// Steps a sixth of the timeout apart, for three times the timeout.
	start := time.Now()
	tick := time.NewTicker(idle / 6)
	defer tick.Stop()
	seq := uint64(0)
	for time.Since(start) < 3*idle {
		<-tick.C
		seq++
		send(t, hp, seq, int(seq)-1, float32(seq), 0)
		await(t, hp, seq, int(seq)-1, float32(seq))
	}
	if srv.Sessions() != 1 {
		t.Fatalf("%d sessions while steps kept coming, want 1", srv.Sessions())
	}
	// Silence: the next result is the server's IDLE notice.
	_, err = hp.Await(t.Context(), seq+1, 10*time.Second)
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != CodeIdle {
		t.Fatalf("after %v of silence: %v, want an IDLE error", idle, err)
	}
	if srv.Sessions() != 0 {
		t.Fatalf("%d sessions after the idle timeout", srv.Sessions())
	}
}

// TestQueryInfo: an honest answer arrives whole; answers that break the
// protocol's caps or make no sense are errors, never half-believed.
func TestQueryInfo(t *testing.T) {
	honest := Info{Version: "orbit/1.2.3", Models: []ModelInfo{
		{Model: "bafkreimodel", Span: spanOf(1, 3), Blocks: 4, Throughput: 12.5, FreeCacheBytes: 1 << 30, FreeCacheTokens: 4096, Load: 0.25,
			Sessions: 3, CacheBytes: 2 << 30, CacheTokens: 8192},
		{Model: "other", Span: spanOf(0, 0), Blocks: 8, Entry: true},
	}}
	frame := func(m proto.Message) []byte {
		b, _ := proto.Marshal(m)
		return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
	}
	model := func(mutate func(*pb.InfoModel)) []byte {
		m := &pb.InfoModel{ModelId: "m", Start: 0, End: 2, Blocks: 4, Throughput: 3}
		mutate(m)
		return frame(&pb.InfoResponse{Version: "v", Models: []*pb.InfoModel{m}})
	}
	many := &pb.InfoResponse{Version: "v"}
	for range maxInfoModels + 1 {
		many.Models = append(many.Models, &pb.InfoModel{ModelId: "m", End: 1, Blocks: 1})
	}
	for _, tc := range []struct {
		name  string
		reply []byte // nil: the real ServeInfo answers honest
		want  error
	}{
		{"honest", nil, nil},
		{"NaN throughput", model(func(m *pb.InfoModel) { m.Throughput = math.NaN() }), ErrBadFrame},
		{"infinite load", model(func(m *pb.InfoModel) { m.Load = math.Inf(1) }), ErrBadFrame},
		{"negative throughput", model(func(m *pb.InfoModel) { m.Throughput = -1 }), ErrBadFrame},
		{"span past the model", model(func(m *pb.InfoModel) { m.End = 9 }), ErrBadFrame},
		{"inverted span", model(func(m *pb.InfoModel) { m.Start = 3 }), ErrBadFrame},
		{"no model id", model(func(m *pb.InfoModel) { m.ModelId = "" }), ErrBadFrame},
		{"too many models", frame(many), ErrBadFrame},
		{"long version", frame(&pb.InfoResponse{Version: string(make([]byte, 200))}), ErrBadFrame},
		{"huge length prefix", binary.AppendUvarint(nil, 1<<40), ErrFrameTooLarge},
		{"garbage", []byte{3, 0xff, 0xff, 0xff}, ErrBadFrame},
		{"nothing", []byte{}, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := connected(t)
			if tc.reply == nil {
				stop := ServeInfo(server, func() Info { return honest }, quiet)
				defer stop()
			} else {
				server.SetStreamHandler(InfoID, func(st network.Stream) {
					defer st.Close()
					_, _ = NewFrameReader(st, maxInfoFrame).Next()
					_, _ = st.Write(tc.reply)
				})
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			got, err := QueryInfo(ctx, client, server.ID())
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, honest) {
					t.Fatalf("got %+v\nwant %+v", got, honest)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %+v, %v; want an error wrapping %v", got, err, tc.want)
			}
		})
	}
}

// TestInferIdleStreamCaps: streams that have not sent their first frame
// are capped per peer (more are refused) and per IP address (a new one
// closes the oldest), they reserve no memory, and one whose first frame
// does not come in HelloTimeout is closed.
func TestInferIdleStreamCaps(t *testing.T) {
	server := newHost(t)
	const perPeer, perIP = 3, 5
	srv := NewInferServer(server, widthBackend{8}, ServerConfig{IOTimeout: 5 * time.Second, HelloTimeout: 2 * time.Second,
		MaxIdlePerPeer: perPeer, MaxIdlePerIP: perIP, Logger: quiet})
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(c host.Host, n int) []network.Stream {
		var out []network.Stream
		for range n {
			st, err := c.NewStream(ctx, server.ID(), InferID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Write([]byte{0x80}); err != nil { // half a length prefix
				t.Fatal(err)
			}
			out = append(out, st)
		}
		return out
	}
	settle := func(want int) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for srv.IdleStreams() != want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := srv.IdleStreams(); got != want {
			t.Fatalf("%d idle streams, want %d", got, want)
		}
	}
	alive := func(st network.Stream) bool {
		_ = st.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := st.Read(make([]byte, 1))
		var ne interface{ Timeout() bool }
		return errors.As(err, &ne) && ne.Timeout()
	}
	a, b := newHost(t), newHost(t)
	for _, c := range []host.Host{a, b} {
		if err := c.Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	first := open(a, perPeer+2) // two over the peer's cap: refused
	settle(perPeer)
	var held []network.Stream
	for _, st := range first {
		if alive(st) {
			held = append(held, st)
		}
	}
	if len(held) != perPeer {
		t.Fatalf("%d of peer a's streams alive, want %d", len(held), perPeer)
	}
	second := open(b, perPeer) // over the address's cap: the oldest (a's) go
	settle(perIP)
	kept := 0
	for _, st := range held {
		if alive(st) {
			kept++
		}
	}
	if want := perIP - perPeer; kept != want {
		t.Errorf("after b's streams, %d of a's streams alive, want %d", kept, want)
	}
	for i, st := range second {
		if !alive(st) {
			t.Errorf("b's stream %d closed, want the oldest closed", i)
		}
	}
	var mem int64
	_ = server.Network().ResourceManager().ViewService(ServiceName, func(s network.ServiceScope) error {
		mem = s.Stat().Memory
		return nil
	})
	if mem != 0 {
		t.Errorf("idle streams hold %d bytes", mem)
	}
	// No first frame within HelloTimeout: closed.
	settle(0)
	for i, st := range second {
		if alive(st) {
			t.Errorf("b's stream %d still open after the hello timeout", i)
		}
	}
}
