package bench

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// retransmitStall is TCP's minimum retransmission timeout: a lost chunk
// arrives that much (plus a round trip) late.
const retransmitStall = 200 * time.Millisecond

type dirKey struct{ from, to peer.ID }

// linkState is one directed peer pair's counters.
type linkState struct {
	lastDue  time.Time // jitter/loss delay line: delivery of the last chunk
	chunks   int64
	bytes    int64
	injected time.Duration // total jitter and stall delay added
	stalls   int64
}

// LinkStats is what went over one directed link.
type LinkStats struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Chunks int64  `json:"chunks"` // writes, all protocols
	Bytes  int64  `json:"bytes"`
	// MeanDelayMS is the configured one-way latency plus the mean jitter
	// and loss stall the shaper added per chunk (bandwidth queueing in the
	// mocknet link is not included).
	MeanDelayMS  float64 `json:"mean_delay_ms"`
	Stalls       int64   `json:"stalls"`
	OneWayMS     float64 `json:"one_way_ms"`    // configured
	BandwidthBPS float64 `json:"bandwidth_bps"` // configured
}

type nodeInfo struct{ name, region string }

// shaper adds what libp2p's mocknet links lack, jitter and loss stalls,
// as a delay line on the write side of every stream of the hosts it
// wraps, and counts the bytes each directed link carries. Latency and
// bandwidth are the mocknet links' own.
type shaper struct {
	links Links

	mu    sync.Mutex
	rng   *rand.Rand
	nodes map[peer.ID]nodeInfo
	state map[dirKey]*linkState
	live  map[*shapedStream]struct{} // streams with a running delay line
}

func newShaper(links Links, seed uint64) *shaper {
	return &shaper{links: links, rng: rand.New(rand.NewPCG(seed, 0x5ba9e)), nodes: map[peer.ID]nodeInfo{}, state: map[dirKey]*linkState{}, live: map[*shapedStream]struct{}{}}
}

func (s *shaper) addNode(p peer.ID, name, region string) {
	s.mu.Lock()
	s.nodes[p] = nodeInfo{name: name, region: region}
	s.mu.Unlock()
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// link is the configured link from one peer to another.
func (s *shaper) link(from, to peer.ID) Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.links.LinkBetween(s.nodes[from].region, s.nodes[to].region)
}

// due counts n bytes sent now from one peer to another and returns when
// the shaper lets them into the mocknet link: after the previous chunk,
// plus jitter uniform in [0, jitter] and, with probability loss, a
// retransmission stall. A link without jitter and loss returns now.
func (s *shaper) due(from, to peer.ID, n int, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.links.LinkBetween(s.nodes[from].region, s.nodes[to].region)
	k := dirKey{from, to}
	ls := s.state[k]
	if ls == nil {
		ls = &linkState{}
		s.state[k] = ls
	}
	ls.chunks++
	ls.bytes += int64(n)
	at := now
	if l.Jitter > 0 {
		at = at.Add(time.Duration(s.rng.Int64N(int64(l.Jitter) + 1)))
	}
	if l.Loss > 0 && s.rng.Float64() < l.Loss {
		at = at.Add(retransmitStall + 2*l.OneWay())
		ls.stalls++
	}
	ls.injected += at.Sub(now)
	if ls.lastDue.After(at) {
		at = ls.lastDue
	}
	ls.lastDue = at
	return at
}

// stats reports every directed link that carried traffic.
func (s *shaper) stats() []LinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LinkStats
	for k, ls := range s.state {
		src, dst := s.nodes[k.from], s.nodes[k.to]
		if src.name == "" || dst.name == "" {
			continue
		}
		l := s.links.LinkBetween(src.region, dst.region)
		st := LinkStats{From: src.name, To: dst.name, Chunks: ls.chunks, Bytes: ls.bytes, Stalls: ls.stalls,
			OneWayMS: ms(l.OneWay()), BandwidthBPS: float64(l.Bandwidth), MeanDelayMS: ms(l.OneWay())}
		if ls.chunks > 0 {
			st.MeanDelayMS += ms(ls.injected) / float64(ls.chunks)
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

// shapedHost is a host whose streams, opened or accepted through it, are
// shaped. The node builds everything (DHT, info, inference) on it, so all
// of its traffic is; libp2p's own identify and ping, registered on the
// inner host before, only see the mocknet link.
type shapedHost struct {
	host.Host
	sh *shaper
}

func (h *shapedHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	st, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.sh.wrap(st, h.ID()), nil
}

func (h *shapedHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(st network.Stream) { handler(h.sh.wrap(st, h.ID())) })
}

func (h *shapedHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, func(st network.Stream) { handler(h.sh.wrap(st, h.ID())) })
}

// wrap shapes the writes of st, a stream of local.
func (s *shaper) wrap(st network.Stream, local peer.ID) network.Stream {
	remote := st.Conn().RemotePeer()
	l := s.link(local, remote)
	ss := &shapedStream{Stream: st, sh: s, local: local, remote: remote}
	if l.Jitter > 0 || l.Loss > 0 {
		ss.wq = make(chan chunk, 1024)
		ss.gone = make(chan struct{})
		s.mu.Lock()
		s.live[ss] = struct{}{}
		s.mu.Unlock()
		go ss.pump()
	}
	return ss
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

// shapedStream counts what is written and, on a link with jitter or
// loss, delays it in a delay line (order kept) before the mocknet stream
// gets it.
type shapedStream struct {
	network.Stream
	sh            *shaper
	local, remote peer.ID

	wq   chan chunk // nil: writes go straight through
	gone chan struct{}

	mu       sync.Mutex
	werr     error
	wclosed  bool
	failOnce sync.Once
}

// close stops every delay line still running.
func (s *shaper) close() {
	s.mu.Lock()
	live := s.live
	s.live = map[*shapedStream]struct{}{}
	s.mu.Unlock()
	for ss := range live {
		ss.stop()
	}
}

func (s *shapedStream) stop() { s.failOnce.Do(func() { close(s.gone) }) }

func (s *shapedStream) pump() {
	defer func() {
		s.sh.mu.Lock()
		delete(s.sh.live, s)
		s.sh.mu.Unlock()
	}()
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
			_ = s.Stream.CloseWrite()
			return
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

// Write sends p, after the link's jitter and loss stall if it has them.
func (s *shapedStream) Write(p []byte) (int, error) {
	due := s.sh.due(s.local, s.remote, len(p), time.Now())
	if s.wq == nil {
		return s.Stream.Write(p)
	}
	s.mu.Lock()
	err := s.werr
	if err == nil && s.wclosed {
		err = network.ErrReset
	}
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	select {
	case s.wq <- chunk{data: append([]byte(nil), p...), due: due}:
		return len(p), nil
	case <-s.gone:
		return 0, network.ErrReset
	}
}

func (s *shapedStream) queueEnd(k chunkKind) {
	s.mu.Lock()
	if s.wclosed {
		s.mu.Unlock()
		return
	}
	s.wclosed = true
	s.mu.Unlock()
	select {
	case s.wq <- chunk{kind: k, due: s.sh.due(s.local, s.remote, 0, time.Now())}:
	case <-s.gone:
	}
}

// CloseWrite ends the write side after what is queued is sent.
func (s *shapedStream) CloseWrite() error {
	if s.wq == nil {
		return s.Stream.CloseWrite()
	}
	s.queueEnd(chunkCloseWrite)
	return nil
}

// Close ends both sides; queued writes are still sent.
func (s *shapedStream) Close() error {
	if s.wq == nil {
		return s.Stream.Close()
	}
	_ = s.Stream.CloseRead()
	s.queueEnd(chunkClose)
	return nil
}

// Reset drops everything at once.
func (s *shapedStream) Reset() error {
	if s.wq == nil {
		return s.Stream.Reset()
	}
	s.stop()
	return s.Stream.Reset()
}

// ResetWithError resets the stream.
func (s *shapedStream) ResetWithError(code network.StreamErrorCode) error {
	if s.wq == nil {
		return s.Stream.ResetWithError(code)
	}
	s.stop()
	return s.Stream.ResetWithError(code)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
