package bench

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multistream"

	"github.com/orbitswarm/orbit/protocol"
)

// retransmitStall is TCP's minimum retransmission timeout: a lost chunk
// arrives that much (plus a round trip) late.
const retransmitStall = 200 * time.Millisecond

// errCut resets streams whose link a "cut" event severed.
var errCut = errors.New("bench: link cut")

type dirKey struct{ from, to peer.ID }

// linkState is one directed peer pair's sender queue and counters.
type linkState struct {
	busyUntil time.Time
	chunks    int64
	bytes     int64
	injected  time.Duration // total network delay added (not the slow-down)
	stalls    int64
}

// LinkStats is what the shaper did on one directed link.
type LinkStats struct {
	From         string  `json:"from"`
	To           string  `json:"to"`
	Chunks       int64   `json:"chunks"`
	Bytes        int64   `json:"bytes"`
	MeanDelayMS  float64 `json:"mean_delay_ms"` // mean injected delay per chunk
	Stalls       int64   `json:"stalls"`
	OneWayMS     float64 `json:"one_way_ms"`    // configured
	BandwidthBPS float64 `json:"bandwidth_bps"` // configured
}

type nodeInfo struct {
	name, region string
	extra        time.Duration // per-row compute delay added to what the node sends
}

// shaper emulates the links between the swarm's nodes.
type shaper struct {
	links Links

	mu      sync.Mutex
	rng     *rand.Rand
	nodes   map[peer.ID]nodeInfo
	state   map[dirKey]*linkState
	cut     map[[2]string]bool
	streams map[*shapedStream]struct{}
	rowSize int // bytes of one encoded hidden row (for slow-down)
}

func newShaper(links Links, seed uint64, rowSize int) *shaper {
	return &shaper{links: links, rng: rand.New(rand.NewPCG(seed, 0x5ba9e)), nodes: map[peer.ID]nodeInfo{},
		state: map[dirKey]*linkState{}, cut: map[[2]string]bool{}, streams: map[*shapedStream]struct{}{}, rowSize: max(rowSize, 1)}
}

func (s *shaper) addNode(p peer.ID, name, region string) {
	s.mu.Lock()
	s.nodes[p] = nodeInfo{name: name, region: region}
	s.mu.Unlock()
}

// setExtra sets the delay a node adds per hidden row it sends (its
// emulated extra compute time).
func (s *shaper) setExtra(p peer.ID, d time.Duration) {
	s.mu.Lock()
	ni := s.nodes[p]
	ni.extra = d
	s.nodes[p] = ni
	s.mu.Unlock()
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// setCut severs (or heals) inference traffic between two regions and
// resets the streams crossing it.
func (s *shaper) setCut(a, b string, cut bool) {
	s.mu.Lock()
	s.cut[pairKey(a, b)] = cut
	var victims []*shapedStream
	if cut {
		for st := range s.streams {
			if s.isCutLocked(st.local, st.remote) {
				victims = append(victims, st)
			}
		}
	}
	s.mu.Unlock()
	for _, st := range victims {
		st.fail(errCut)
	}
}

func (s *shaper) isCutLocked(a, b peer.ID) bool {
	return s.cut[pairKey(s.nodes[a].region, s.nodes[b].region)]
}

// delay returns when n bytes sent now from one peer to another arrive.
func (s *shaper) delay(from, to peer.ID, n int, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, dst := s.nodes[from], s.nodes[to]
	l := s.links.LinkBetween(src.region, dst.region)
	k := dirKey{from, to}
	ls := s.state[k]
	if ls == nil {
		ls = &linkState{}
		s.state[k] = ls
	}
	start := now
	if ls.busyUntil.After(start) {
		start = ls.busyUntil
	}
	if l.Bandwidth > 0 {
		start = start.Add(time.Duration(float64(n) * 8 / float64(l.Bandwidth) * float64(time.Second)))
	}
	ls.busyUntil = start
	at := start.Add(l.OneWay())
	if l.Jitter > 0 {
		at = at.Add(time.Duration(s.rng.Int64N(int64(l.Jitter) + 1)))
	}
	if l.Loss > 0 && s.rng.Float64() < l.Loss {
		at = at.Add(retransmitStall + 2*l.OneWay())
		ls.stalls++
	}
	ls.chunks++
	ls.bytes += int64(n)
	ls.injected += at.Sub(now)
	if src.extra > 0 {
		at = at.Add(time.Duration(max(1, n/s.rowSize)) * src.extra)
	}
	return at
}

// stats reports every directed link that carried traffic.
func (s *shaper) stats() []LinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LinkStats
	for k, ls := range s.state {
		src, dst := s.nodes[k.from], s.nodes[k.to]
		l := s.links.LinkBetween(src.region, dst.region)
		st := LinkStats{From: src.name, To: dst.name, Chunks: ls.chunks, Bytes: ls.bytes, Stalls: ls.stalls,
			OneWayMS: ms(l.OneWay()), BandwidthBPS: float64(l.Bandwidth)}
		if ls.chunks > 0 {
			st.MeanDelayMS = ms(ls.injected) / float64(ls.chunks)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}

// intercept makes h's inference handler see shaped streams. The node
// package builds its own host and offers no way to wrap it, so the
// handler it registered is fetched back from the host's protocol switch
// (by negotiating the protocol over an in-memory pipe) and registered
// again behind the shaper.
func (s *shaper) intercept(h host.Host) error {
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- multistream.SelectProtoOrFail(protocol.InferID, client)
		client.Close()
	}()
	_ = server.SetDeadline(time.Now().Add(5 * time.Second))
	id, handler, err := h.Mux().Negotiate(server)
	server.Close()
	if cerr := <-done; err == nil && cerr != nil && !errors.Is(cerr, io.ErrClosedPipe) {
		err = cerr
	}
	if err != nil || id != protocol.InferID || handler == nil {
		return fmt.Errorf("bench: fetching the inference handler of %s: %v %w", h.ID(), id, err)
	}
	local := h.ID()
	h.SetStreamHandler(protocol.InferID, func(st network.Stream) {
		ss := s.wrap(st, local)
		if ss == nil {
			return
		}
		_ = handler(protocol.InferID, ss)
	})
	return nil
}

// wrap shapes st, accepted by local. It returns nil (and resets st) if
// the link is cut.
func (s *shaper) wrap(st network.Stream, local peer.ID) *shapedStream {
	ss := &shapedStream{Stream: st, sh: s, local: local, remote: st.Conn().RemotePeer(),
		rq: make(chan chunk, 1024), wq: make(chan chunk, 1024), dlChanged: make(chan struct{}), gone: make(chan struct{})}
	s.mu.Lock()
	if s.isCutLocked(ss.local, ss.remote) {
		s.mu.Unlock()
		_ = st.Reset()
		return nil
	}
	s.streams[ss] = struct{}{}
	s.mu.Unlock()
	go ss.pumpIn()
	go ss.pumpOut()
	return ss
}

func (s *shaper) forget(ss *shapedStream) {
	s.mu.Lock()
	delete(s.streams, ss)
	s.mu.Unlock()
}

type chunkKind int

const (
	chunkData chunkKind = iota
	chunkCloseWrite
	chunkClose
)

type chunk struct {
	data []byte
	due  time.Time
	kind chunkKind
}

// shapedStream is a delay line in each direction over an accepted stream.
type shapedStream struct {
	network.Stream
	sh            *shaper
	local, remote peer.ID

	rq   chan chunk // arrived from remote, waiting for their due time
	wq   chan chunk // written locally, waiting to be sent
	gone chan struct{}

	mu        sync.Mutex
	head      []byte // rest of a chunk already due
	waiting   *chunk // a chunk taken from rq, not due yet
	rerr      error  // read side's end (after rq drains)
	werr      error
	wclosed   bool
	deadline  time.Time
	dlChanged chan struct{}
	failOnce  sync.Once
}

func (s *shapedStream) pumpIn() {
	defer close(s.rq)
	for {
		buf := make([]byte, 32<<10)
		n, err := s.Stream.Read(buf)
		if n > 0 {
			now := time.Now()
			select {
			case s.rq <- chunk{data: buf[:n], due: s.sh.delay(s.remote, s.local, n, now)}:
			case <-s.gone:
				return
			}
		}
		if err != nil {
			s.mu.Lock()
			if s.rerr == nil {
				s.rerr = err
			}
			s.mu.Unlock()
			return
		}
	}
}

func (s *shapedStream) pumpOut() {
	defer s.sh.forget(s)
	for {
		var c chunk
		select {
		case c = <-s.wq:
		case <-s.gone:
			return
		}
		if d := time.Until(c.due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.gone:
				t.Stop()
				return
			}
		}
		var err error
		switch c.kind {
		case chunkData:
			_, err = s.Stream.Write(c.data)
		case chunkCloseWrite:
			err = s.Stream.CloseWrite()
		case chunkClose:
			_ = s.Stream.Close()
			return
		}
		if err != nil {
			s.mu.Lock()
			if s.werr == nil {
				s.werr = err
			}
			s.mu.Unlock()
		}
	}
}

// Read returns arrived bytes once their delivery time has come.
func (s *shapedStream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		if len(s.head) > 0 {
			n := copy(p, s.head)
			s.head = s.head[n:]
			s.mu.Unlock()
			return n, nil
		}
		dl, changed := s.deadline, s.dlChanged
		w := s.waiting
		s.mu.Unlock()
		var dlC <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			dlC = t.C
		}
		if w == nil {
			select {
			case c, ok := <-s.rq:
				if !ok {
					s.mu.Lock()
					err := s.rerr
					s.mu.Unlock()
					if err == nil {
						err = io.EOF
					}
					return 0, err
				}
				w = &c
				s.mu.Lock()
				s.waiting = w
				s.mu.Unlock()
			case <-dlC:
				return 0, os.ErrDeadlineExceeded
			case <-changed:
				continue
			case <-s.gone:
				return 0, s.readErr()
			}
		}
		if d := time.Until(w.due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-dlC:
				t.Stop()
				return 0, os.ErrDeadlineExceeded
			case <-changed:
				t.Stop()
				continue
			case <-s.gone:
				t.Stop()
				return 0, s.readErr()
			}
		}
		s.mu.Lock()
		s.head, s.waiting = w.data, nil
		s.mu.Unlock()
	}
}

func (s *shapedStream) readErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rerr != nil {
		return s.rerr
	}
	return network.ErrReset
}

// Write queues p for delivery after the link's delay.
func (s *shapedStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	err := s.werr
	if err == nil && s.wclosed {
		err = network.ErrReset
	}
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	c := chunk{data: append([]byte(nil), p...), due: s.sh.delay(s.local, s.remote, len(p), time.Now())}
	select {
	case s.wq <- c:
		return len(p), nil
	case <-s.gone:
		return 0, s.readErr()
	}
}

func (s *shapedStream) queueEnd(k chunkKind) error {
	s.mu.Lock()
	if s.wclosed {
		s.mu.Unlock()
		return nil
	}
	s.wclosed = true
	s.mu.Unlock()
	select {
	case s.wq <- chunk{kind: k, due: s.sh.delay(s.local, s.remote, 0, time.Now())}:
	case <-s.gone:
	}
	return nil
}

// CloseWrite ends the write side after what is queued is sent.
func (s *shapedStream) CloseWrite() error { return s.queueEnd(chunkCloseWrite) }

// Close ends both sides; queued writes are still sent.
func (s *shapedStream) Close() error {
	_ = s.Stream.CloseRead()
	return s.queueEnd(chunkClose)
}

// Reset drops everything at once.
func (s *shapedStream) Reset() error {
	s.fail(network.ErrReset)
	return nil
}

func (s *shapedStream) fail(err error) {
	s.failOnce.Do(func() {
		s.mu.Lock()
		if s.rerr == nil {
			s.rerr = err
		}
		s.mu.Unlock()
		close(s.gone)
		_ = s.Stream.Reset()
		s.sh.forget(s)
	})
}

// SetDeadline sets the read deadline; writes are queued and never block
// long, so their deadline is ignored.
func (s *shapedStream) SetDeadline(t time.Time) error { return s.SetReadDeadline(t) }

// SetReadDeadline bounds pending and future Reads.
func (s *shapedStream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.deadline = t
	close(s.dlChanged)
	s.dlChanged = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// SetWriteDeadline is a no-op: see SetDeadline.
func (s *shapedStream) SetWriteDeadline(time.Time) error { return nil }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
