package netcount

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/orbitswarm/orbit/metrics"
)

// TestCountNetworkBytes: the wrapped host counts the bytes of the streams
// it opens and of the ones it accepts, in both directions, into
// orbit_network_bytes_total; the peer's own traffic is not counted.
func TestCountNetworkBytes(t *testing.T) {
	mn, err := mocknet.FullMeshConnected(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mn.Close() })
	hs := mn.Hosts()
	m := metrics.New()
	self, other := WrapHost(m.AddNetworkBytes)(hs[0]), hs[1]

	// reply reads the request (up to the writer's CloseWrite), then
	// answers n bytes.
	reply := func(n int) network.StreamHandler {
		return func(st network.Stream) {
			defer st.Close()
			if _, err := io.Copy(io.Discard, st); err != nil {
				st.Reset()
				return
			}
			st.Write(bytes.Repeat([]byte{'r'}, n))
		}
	}
	// ask opens a stream from h, sends req bytes and reads the answer.
	ask := func(t *testing.T, open func(context.Context) (network.Stream, error), req int) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Write(bytes.Repeat([]byte{'q'}, req)); err != nil {
			t.Fatal(err)
		}
		if err := st.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(st)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	tests := []struct {
		name          string
		outbound      bool // the counted node opens the stream
		req, resp     int
		wantIn, wantO int64 // counted so far
	}{
		{"opens: request out, answer in", true, 100, 250, 250, 100},
		{"accepts: request in, answer out", false, 40, 7, 290, 107},
		{"opens an empty request", true, 0, 1 << 16, 290 + 1<<16, 107},
		{"accepts a large request", false, 3 << 20, 1, 290 + 1<<16 + 3<<20, 108},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pid := protocolID(i)
			var got int
			if tc.outbound {
				other.SetStreamHandler(pid, reply(tc.resp))
				got = ask(t, func(ctx context.Context) (network.Stream, error) { return self.NewStream(ctx, other.ID(), pid) }, tc.req)
			} else {
				self.SetStreamHandler(pid, reply(tc.resp))
				got = ask(t, func(ctx context.Context) (network.Stream, error) { return other.NewStream(ctx, self.ID(), pid) }, tc.req)
			}
			if got != tc.resp {
				t.Fatalf("answer of %d bytes, want %d", got, tc.resp)
			}
			// The accepting handler's write is counted when Write
			// returns, which may be after the asker has read it.
			deadline := time.Now().Add(5 * time.Second)
			for {
				in, out := networkBytes(t, m)
				if in == tc.wantIn && out == tc.wantO {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("counted in %d out %d, want in %d out %d", in, out, tc.wantIn, tc.wantO)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func protocolID(i int) protocol.ID { return protocol.ID(fmt.Sprintf("/orbit/test-count/%d", i)) }

// networkBytes reads orbit_network_bytes_total from m.
func networkBytes(t *testing.T, m *metrics.Metrics) (in, out int64) {
	t.Helper()
	var b strings.Builder
	if err := m.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	sc, err := metrics.ParseText(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	vin, _ := sc.Value("orbit_network_bytes_total", "direction", "in")
	vout, _ := sc.Value("orbit_network_bytes_total", "direction", "out")
	return int64(vin), int64(vout)
}
