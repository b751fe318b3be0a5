package protocol

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/sharding"
)

const pushDim = 8

// addBackend's sessions add the length of their span to every value and
// keep a cursor, as a KV cache does: a step must start where the last
// one ended.
type addBackend struct{}

func (addBackend) OpenSession(_ context.Context, _ string, span sharding.Span, maxLen int) (ComputeSession, error) {
	return &addSession{add: float32(span.Len()), max: maxLen}, nil
}

type addSession struct {
	add    float32
	n, max int // guarded by the server, which runs one step at a time
}

func (s *addSession) Dim() int { return pushDim }

func (s *addSession) Forward(_ context.Context, x []float32, pos int) error {
	rows := len(x) / pushDim
	if pos != s.n || pos+rows > s.max {
		return fmt.Errorf("%w: %d rows at %d, cursor at %d of %d", engine.ErrBadInput, rows, pos, s.n, s.max)
	}
	for i := range x {
		x[i] += s.add
	}
	s.n += rows
	return nil
}

func (s *addSession) Close() {}

func newInferServer(t testing.TB, h host.Host) *InferServer {
	t.Helper()
	s := NewInferServer(h, addBackend{}, ServerConfig{IOTimeout: 10 * time.Second, Logger: quiet})
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// openSession opens a session of blocks [a,b) on s for an entry node in this
// process.
func openSession(t testing.TB, s *InferServer, a, b int, next *NextHop) *Hop {
	t.Helper()
	req := OpenRequest{Model: "m", Span: sharding.Span{Start: a, End: b}, MaxLength: 64, Encodings: []Encoding{EncodingF32}, Next: next}
	hp, err := s.OpenLocal(t.Context(), req, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hp.Close() })
	return hp
}

func nextOf(h host.Host, hp *Hop) *NextHop {
	return &NextHop{Peer: h.ID(), Addrs: h.Addrs(), Session: hp.Opened.Session}
}

// row is one hidden-state row of pushDim copies of v.
func row(t testing.TB, v float32) Hidden {
	t.Helper()
	x := make([]float32, pushDim)
	for i := range x {
		x[i] = v
	}
	h, err := EncodeRows(EncodingF32, x, pushDim)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func send(t testing.TB, hp *Hop, seq uint64, pos int, v float32, forward int) {
	t.Helper()
	if err := hp.Send(Step{Seq: seq, Pos: pos, Hidden: row(t, v), Forward: forward}); err != nil {
		t.Fatal(err)
	}
}

// await returns the result of step seq, checking its position and value.
func await(t testing.TB, hp *Hop, seq uint64, pos int, want float32) Result {
	t.Helper()
	r, err := hp.Await(t.Context(), seq, 10*time.Second)
	if err != nil {
		t.Fatalf("step %d: %v", seq, err)
	}
	x, err := r.Hidden.Decode(nil, EncodingF32, 1, pushDim)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pos != pos || x[0] != want {
		t.Fatalf("step %d: position %d value %v, want %d and %v", seq, r.Pos, x[0], pos, want)
	}
	return r
}

// TestInferPush: a session pushes its outputs to the next hop's session,
// on another peer over a stream or on the same peer in process, with the
// same behaviour: steps arrive in order, a pushed step the next session
// cannot take is reported to the entry node as BAD_PUSH and skipped, and
// the session goes on.
func TestInferPush(t *testing.T) {
	for _, tc := range []struct {
		name  string
		local bool
	}{{"remote", false}, {"local", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ha := newHost(t)
			sa := newInferServer(t, ha)
			hb, sb := ha, sa
			if !tc.local {
				hb = newHost(t)
				sb = newInferServer(t, hb)
			}
			second := openSession(t, sb, 2, 5, nil)               // adds 3
			first := openSession(t, sa, 0, 2, nextOf(hb, second)) // adds 2

			// Steps sent back to back reach the second hop in order.
			for seq := uint64(1); seq <= 5; seq++ {
				send(t, first, seq, int(seq)-1, float32(10*seq), 1)
			}
			for seq := uint64(1); seq <= 5; seq++ {
				if r := await(t, first, seq, int(seq)-1, float32(10*seq)+2); r.PushError != "" {
					t.Fatalf("step %d: push failed: %s", seq, r.PushError)
				}
				await(t, second, seq, int(seq)-1, float32(10*seq)+5)
			}

			// The entry node hands step 6 to the second hop itself, so the
			// push of step 7 (the same position) is refused there...
			send(t, second, 6, 5, 100, 0)
			await(t, second, 6, 5, 103)
			send(t, first, 7, 5, 200, 1)
			if r := await(t, first, 7, 5, 202); r.PushError != "" {
				t.Fatalf("step 7: push failed: %s", r.PushError)
			}
			var re *RemoteError
			if _, err := second.Await(t.Context(), 7, 10*time.Second); !errors.As(err, &re) || re.Code != CodeBadPush || re.Seq != 7 {
				t.Fatalf("bad pushed step 7: %v, want BAD_PUSH", err)
			}
			// ...and both sessions go on.
			send(t, first, 8, 6, 300, 1)
			await(t, first, 8, 6, 302)
			await(t, second, 8, 6, 305)

			want := PushStats{Remote: 7}
			if tc.local {
				want = PushStats{Local: 7}
			}
			if got := sa.PushStats(); got != want {
				t.Errorf("pushes %+v, want %+v", got, want)
			}
		})
	}
}

// TestInferLocalPushFailures: a push within one server that cannot be
// handed over fails at once, the result says so (the entry node then
// relays the step), and the pushing session goes on.
func TestInferLocalPushFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		// link opens the pushing session (blocks [0,2)) and whatever it
		// pushes to, and returns it with the position of its next step.
		link func(t *testing.T, h host.Host, s *InferServer) (*Hop, int)
	}{
		{"unknown session", func(t *testing.T, h host.Host, s *InferServer) (*Hop, int) {
			return openSession(t, s, 0, 2, &NextHop{Peer: h.ID(), Session: NewSessionID()}), 0
		}},
		{"to itself", func(t *testing.T, h host.Host, s *InferServer) (*Hop, int) {
			first := openSession(t, s, 0, 2, nil)
			if err := first.SetNext(nextOf(h, first)); err != nil {
				t.Fatal(err)
			}
			return first, 0
		}},
		{"next session ended", func(t *testing.T, h host.Host, s *InferServer) (*Hop, int) {
			second := openSession(t, s, 2, 5, nil)
			first := openSession(t, s, 0, 2, nextOf(h, second))
			send(t, first, 1, 0, 10, 1)
			if r := await(t, first, 1, 0, 12); r.PushError != "" {
				t.Fatalf("push failed: %s", r.PushError)
			}
			await(t, second, 1, 0, 15)
			s.mu.Lock()
			ss := s.sessions[second.Opened.Session]
			s.mu.Unlock()
			if err := second.Close(); err != nil {
				t.Fatal(err)
			}
			<-ss.done // closed once the session has ended its push streams
			return first, 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			s := newInferServer(t, h)
			first, pos := tc.link(t, h, s)
			before := s.PushStats()
			for i := range 2 {
				seq, pos := uint64(10+i), pos+i
				send(t, first, seq, pos, 1, 1)
				if r := await(t, first, seq, pos, 3); r.PushError == "" {
					t.Fatalf("step %d: push reported delivered", seq)
				}
			}
			if got, want := s.PushStats(), (PushStats{Local: before.Local, Failed: 2}); got != want {
				t.Errorf("pushes %+v, want %+v", got, want)
			}
		})
	}
}
