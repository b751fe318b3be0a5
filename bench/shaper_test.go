package bench

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestEmulatedDue: the delay line of an emulating shaper (processes
// mode): a chunk of n bytes enters the link when written (after the
// previous chunk), is serialised behind the chunks before it for
// n*8/bandwidth, and arrives a one-way latency later; each direction is
// its own link.
func TestEmulatedDue(t *testing.T) {
	msec := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	type send struct {
		from, to string
		at       float64 // ms
		n        int
		want     float64 // ms
	}
	for _, tc := range []struct {
		name  string
		link  Link
		sends []send
	}{
		{"latency", Link{Latency: Duration(40 * time.Millisecond)}, []send{
			{"pa", "pb", 0, 100, 40}, {"pa", "pb", 1, 100, 41}, {"pb", "pa", 1, 100, 41}, {"pa", "pb", 1, 0, 41},
		}},
		{"rtt", Link{RTT: Duration(30 * time.Millisecond)}, []send{{"pa", "pb", 5, 10, 20}}},
		// 8 Mbit/s: 1000 bytes take 1 ms.
		{"bandwidth", Link{Bandwidth: 8e6}, []send{
			{"pa", "pb", 0, 1000, 1}, {"pa", "pb", 0, 1000, 2}, {"pa", "pb", 0, 2000, 4},
			{"pb", "pa", 0, 1000, 1}, // the other direction is idle
			{"pa", "pb", 10, 500, 10.5}, {"pa", "pb", 10, 0, 10.5},
		}},
		{"latency and bandwidth", Link{Latency: Duration(10 * time.Millisecond), Bandwidth: 8e6}, []send{
			{"pa", "pb", 0, 1000, 11}, {"pa", "pb", 0, 1000, 12}, {"pa", "pb", 5, 0, 15}, {"pa", "pb", 5, 4000, 19},
			{"pa", "pb", 100, 125000, 235}, // 1 Mbit: 125 ms
		}},
		{"plain", Link{}, []send{{"pa", "pb", 3, 1 << 20, 3}, {"pa", "pb", 3, 1, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh := newLinkShaper(Links{Default: tc.link}, 1)
			sh.addNode("pa", "A", "a")
			sh.addNode("pb", "B", "b")
			t0 := time.Unix(1000, 0)
			for i, s := range tc.sends {
				got := sh.due(peer.ID(s.from), peer.ID(s.to), s.n, t0.Add(msec(s.at))).Sub(t0)
				if d := got - msec(s.want); d < -time.Microsecond || d > time.Microsecond {
					t.Errorf("send %d (%s->%s %d bytes at %vms): due at %v, want %vms", i, s.from, s.to, s.n, s.at, got, s.want)
				}
			}
		})
	}
}

// TestMocknetDueUnchanged: the mocknet shaper leaves latency and
// bandwidth to the mocknet link: without jitter and loss a chunk goes at
// once.
func TestMocknetDueUnchanged(t *testing.T) {
	sh := newShaper(Links{Default: Link{Latency: Duration(40 * time.Millisecond), Bandwidth: 1e3}}, 1)
	sh.addNode("pa", "A", "a")
	sh.addNode("pb", "B", "b")
	now := time.Unix(1000, 0)
	for range 3 {
		if due := sh.due("pa", "pb", 1<<20, now); !due.Equal(now) {
			t.Fatalf("due %v after now", due.Sub(now))
		}
	}
	if sh.delays(sh.links.Default) {
		t.Error("a mocknet shaper delays a link without jitter and loss")
	}
}

// TestEmulatedDueJitterOrder: with jitter and loss on top of latency and
// bandwidth, arrivals keep the write order, and none comes before the
// latency plus its serialisation.
func TestEmulatedDueJitterOrder(t *testing.T) {
	l := Link{Latency: Duration(10 * time.Millisecond), Jitter: Duration(5 * time.Millisecond), Loss: 0.05, Bandwidth: 80e6}
	sh := newLinkShaper(Links{Default: l}, 3)
	sh.addNode("pa", "A", "a")
	sh.addNode("pb", "B", "b")
	t0 := time.Unix(1000, 0)
	var prev time.Time
	for i := range 2000 {
		at := t0.Add(time.Duration(i) * 100 * time.Microsecond)
		due := sh.due("pa", "pb", 1000, at)
		if due.Before(prev) {
			t.Fatalf("chunk %d due %v before the previous %v", i, due, prev)
		}
		if earliest := at.Add(10*time.Millisecond + serialisation(1000, l.Bandwidth)); due.Before(earliest) {
			t.Fatalf("chunk %d due %v before latency and serialisation (%v)", i, due.Sub(at), earliest.Sub(at))
		}
		prev = due
	}
	st := sh.stats()
	if len(st) != 1 || st[0].Stalls == 0 || st[0].MeanDelayMS <= 10 {
		t.Errorf("stats %+v", st)
	}
}

// fakeStream records what reaches the stream below a shapedStream.
type fakeStream struct {
	network.Stream
	remote peer.ID
	seq    *atomic.Int64

	mu                          sync.Mutex
	writes                      [][]byte
	writeAt                     []time.Time
	writeSeq                    []int64
	closeWrite, closed, readEnd bool
	reset                       bool
	endSeq                      int64
	failWith                    error
}

type fakeConn struct {
	network.Conn
	remote peer.ID
}

func (c fakeConn) RemotePeer() peer.ID { return c.remote }

func (f *fakeStream) Conn() network.Conn { return fakeConn{remote: f.remote} }

func (f *fakeStream) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return 0, f.failWith
	}
	if f.reset || f.closed || f.closeWrite {
		return 0, network.ErrReset
	}
	f.writes = append(f.writes, append([]byte(nil), p...))
	f.writeAt = append(f.writeAt, time.Now())
	f.writeSeq = append(f.writeSeq, f.seq.Add(1))
	return len(p), nil
}

func (f *fakeStream) CloseWrite() error {
	f.mu.Lock()
	f.closeWrite, f.endSeq = true, f.seq.Add(1)
	f.mu.Unlock()
	return nil
}

func (f *fakeStream) Close() error {
	f.mu.Lock()
	f.closed, f.endSeq = true, f.seq.Add(1)
	f.mu.Unlock()
	return nil
}

func (f *fakeStream) CloseRead() error {
	f.mu.Lock()
	f.readEnd = true
	f.mu.Unlock()
	return nil
}

func (f *fakeStream) Reset() error {
	f.mu.Lock()
	f.reset = true
	f.mu.Unlock()
	return nil
}

func (f *fakeStream) ResetWithError(network.StreamErrorCode) error { return f.Reset() }

func (f *fakeStream) snapshot() (writes [][]byte, at []time.Time, closeWrite, closed, reset bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.writes...), append([]time.Time(nil), f.writeAt...), f.closeWrite, f.closed, f.reset
}

// eventually polls cond for up to 10 s (a loaded machine may be slow).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func emulatedPair(t *testing.T, l Link) (*shaper, func() (*shapedStream, *fakeStream)) {
	t.Helper()
	sh := newLinkShaper(Links{Default: l}, 1)
	sh.addNode("pa", "A", "a")
	sh.addNode("pb", "B", "b")
	t.Cleanup(sh.close)
	var seq atomic.Int64
	return sh, func() (*shapedStream, *fakeStream) {
		f := &fakeStream{remote: "pb", seq: &seq}
		st, ok := sh.wrap(f, "pa").(*shapedStream)
		if !ok {
			t.Fatal("stream to a known peer not wrapped")
		}
		return st, f
	}
}

// TestShapedStream: what the stream below sees of writes, closes and
// resets through an emulated link's delay line.
func TestShapedStream(t *testing.T) {
	const lat = 30 * time.Millisecond
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream)
	}{
		{"delayed in order", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			start := time.Now()
			for _, s := range []string{"a", "bb", "ccc"} {
				if n, err := st.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("write %q: %d, %v", s, n, err)
				}
			}
			if w, _, _, _, _ := f.snapshot(); len(w) != 0 {
				t.Fatalf("%d writes went through at once", len(w))
			}
			eventually(t, "three writes", func() bool { w, _, _, _, _ := f.snapshot(); return len(w) == 3 })
			w, at, _, _, _ := f.snapshot()
			if !bytes.Equal(bytes.Join(w, nil), []byte("abbccc")) {
				t.Errorf("got %q", w)
			}
			for i, a := range at {
				if d := a.Sub(start); d < lat {
					t.Errorf("write %d arrived after %v, before the %v latency", i, d, lat)
				}
			}
		}},
		{"close after the data", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			_, _ = st.Write([]byte("x"))
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Write([]byte("y")); !errors.Is(err, network.ErrReset) {
				t.Errorf("write after close: %v", err)
			}
			f.mu.Lock()
			readEnd, closed := f.readEnd, f.closed
			f.mu.Unlock()
			if !readEnd || closed {
				t.Errorf("at once: read side closed %v (want true), stream closed %v (want false: data queued)", readEnd, closed)
			}
			eventually(t, "close", func() bool { _, _, _, c, _ := f.snapshot(); return c })
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.writes) != 1 || f.writeSeq[0] > f.endSeq {
				t.Errorf("writes %q (seq %v), close at %d: the close overtook the data", f.writes, f.writeSeq, f.endSeq)
			}
		}},
		{"close write", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			_, _ = st.Write([]byte("x"))
			_ = st.CloseWrite()
			eventually(t, "close write", func() bool { _, _, cw, _, _ := f.snapshot(); return cw })
			if w, _, _, closed, _ := f.snapshot(); len(w) != 1 || closed {
				t.Errorf("writes %q, closed %v", w, closed)
			}
		}},
		{"reset drops queued data", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			_, _ = st.Write([]byte("lost"))
			if err := st.Reset(); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Write([]byte("y")); !errors.Is(err, network.ErrReset) {
				t.Errorf("write after reset: %v", err)
			}
			eventually(t, "the delay line to stop", func() bool { return len(sh.liveStreams(func(*shapedStream) bool { return true })) == 0 })
			time.Sleep(2 * lat)
			if w, _, _, _, reset := f.snapshot(); len(w) != 0 || !reset {
				t.Errorf("after reset: writes %q, reset %v", w, reset)
			}
		}},
		{"write error surfaces", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			boom := errors.New("boom")
			f.mu.Lock()
			f.failWith = boom
			f.mu.Unlock()
			_, _ = st.Write([]byte("x"))
			eventually(t, "the error", func() bool { _, err := st.Write([]byte("y")); return errors.Is(err, boom) })
		}},
		{"delay line goroutine ends when drained", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			_, _ = st.Write([]byte("x"))
			if len(sh.liveStreams(func(*shapedStream) bool { return true })) != 1 {
				t.Error("no running delay line")
			}
			eventually(t, "the delay line to stop", func() bool { return len(sh.liveStreams(func(*shapedStream) bool { return true })) == 0 })
			// It starts again for the next write.
			_, _ = st.Write([]byte("y"))
			eventually(t, "two writes", func() bool { w, _, _, _, _ := f.snapshot(); return len(w) == 2 })
		}},
		{"cut resets", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			sh.setCut([][2]string{{"b", "a"}})
			if _, err := st.Write([]byte("x")); !errors.Is(err, network.ErrReset) {
				t.Errorf("write across a cut: %v", err)
			}
			if _, _, _, _, reset := f.snapshot(); !reset {
				t.Error("stream across a cut not reset")
			}
		}},
		{"shaper closed", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			_, _ = st.Write([]byte("x"))
			sh.close()
			eventually(t, "writes to fail", func() bool { _, err := st.Write([]byte("y")); return err != nil })
		}},
		{"writer waits for a full line", func(t *testing.T, sh *shaper, st *shapedStream, f *fakeStream) {
			big := make([]byte, maxQueuedBytes)
			// The first is taken by the delay line at once, the second
			// waits in it, and the third must wait for room: until the
			// first has gone down.
			for i := range 2 {
				if _, err := st.Write(big); err != nil {
					t.Fatal(i, err)
				}
			}
			if _, err := st.Write([]byte("z")); err != nil {
				t.Fatal(err)
			}
			returned := f.seq.Add(1)
			eventually(t, "three writes", func() bool { w, _, _, _, _ := f.snapshot(); return len(w) == 3 })
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.writeSeq[0] > returned {
				t.Errorf("the third write returned (seq %d) before the first reached the stream (seq %d)", returned, f.writeSeq[0])
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh, open := emulatedPair(t, Link{Latency: Duration(lat)})
			st, f := open()
			tc.run(t, sh, st, f)
		})
	}
}

// TestShapedStreamPlain: a link with nothing to emulate passes writes
// straight through, and streams to unknown peers are not wrapped.
func TestShapedStreamPlain(t *testing.T) {
	sh, open := emulatedPair(t, Link{})
	st, f := open()
	if st.delayed {
		t.Fatal("plain link has a delay line")
	}
	_, _ = st.Write([]byte("x"))
	if w, _, _, _, _ := f.snapshot(); len(w) != 1 {
		t.Errorf("write not passed through: %q", w)
	}
	var seq atomic.Int64
	u := &fakeStream{remote: "stranger", seq: &seq}
	if got := sh.wrap(u, "pa"); got != network.Stream(u) {
		t.Errorf("stream to an unknown peer wrapped")
	}
}
