package protocol

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/sharding"
)

// posBackend's sessions are positional like a KV cache: a step may start
// at or below the length held, and Truncate shortens it. Each Forward
// records the length it found.
type posBackend struct{ s *posSession }

func (b posBackend) OpenSession(context.Context, string, sharding.Span, int) (ComputeSession, error) {
	return b.s, nil
}

type posSession struct {
	mu   sync.Mutex
	n    int
	seen []int // the length each Forward found
}

func (*posSession) Dim() int { return 32 }
func (s *posSession) Forward(_ context.Context, x []float32, pos int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos > s.n {
		return errors.New("position past the cache")
	}
	s.seen = append(s.seen, s.n)
	s.n = pos + len(x)/32
	return nil
}
func (s *posSession) Truncate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n = min(s.n, n)
}
func (*posSession) Close() {}

// TestInferTruncate: a server grants the truncate capability only when asked and
// when its sessions can truncate; a granted truncate shortens the cache
// as of its step and is ignored once a later step ran; the entry node
// never sends it to a server that did not grant it (an old peer).
func TestInferTruncate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend InferBackend
		ask     bool
		granted bool
	}{
		{"asked and able", posBackend{&posSession{}}, true, true},
		{"not asked", posBackend{&posSession{}}, false, false},
		{"server cannot truncate", widthBackend{32}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := connected(t)
			srv := NewInferServer(server, tc.backend, ServerConfig{IOTimeout: 5 * time.Second, Logger: quiet})
			srv.Start()
			t.Cleanup(srv.Close)
			req := OpenRequest{Model: "m", Span: spanOf(0, 1), MaxLength: 16, Encodings: []Encoding{EncodingF32}, Truncate: tc.ask}
			hp, err := OpenHop(t.Context(), client, server.ID(), req, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer hp.Close()
			if got := hp.Opened.Truncates; got != tc.granted {
				t.Fatalf("granted %v, want %v", got, tc.granted)
			}
			step := func(seq uint64, pos, rows int) {
				t.Helper()
				h, err := EncodeRows(EncodingF32, randRows(rows, 32, seq), 32)
				if err != nil {
					t.Fatal(err)
				}
				if err := hp.Send(Step{Seq: seq, Pos: pos, Hidden: h}); err != nil {
					t.Fatal(err)
				}
				if _, err := hp.Await(t.Context(), seq, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			step(1, 0, 3)
			step(2, 3, 2)
			err = hp.Truncate(2, 4)
			if !tc.granted {
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("truncate on a session without the feature: %v, want ErrBadRequest", err)
				}
				step(3, 4, 1) // the session goes on with plain steps
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			step(3, 4, 1)
			// Stale: step 3 ran after step 2, so a truncate as of step 2
			// must not undo it.
			if err := hp.Truncate(2, 1); err != nil {
				t.Fatal(err)
			}
			step(4, 5, 1)
			s := tc.backend.(posBackend).s
			s.mu.Lock()
			defer s.mu.Unlock()
			if want := []int{0, 3, 4, 5}; !slices.Equal(s.seen, want) {
				t.Fatalf("lengths found by the steps %v, want %v", s.seen, want)
			}
		})
	}
}
