package bench

import (
	"context"
	"errors"
	"fmt"
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

// A stream's delay line holds at most this much before Write waits for
// the line to drain (as a full TCP send buffer makes a writer wait); a
// single larger write is let in when the line is empty.
const (
	maxQueuedBytes  = 8 << 20
	maxQueuedChunks = 4096
)

// errLinkCut is the error of a stream or dial across a cut link
// (link emulation of processes mode).
var errLinkCut = errors.New("link cut")

type dirKey struct{ from, to peer.ID }

// linkState is one directed peer pair's delay line and counters.
type linkState struct {
	lastEntry time.Time // when the last chunk entered the link (after jitter and stalls)
	busyUntil time.Time // emulated bandwidth: the link is serialising until then
	chunks    int64
	bytes     int64
	injected  time.Duration // total delay added beyond the one-way latency
	stalls    int64
}

// LinkStats is what went over one directed link.
type LinkStats struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Chunks int64  `json:"chunks"` // writes, all protocols
	Bytes  int64  `json:"bytes"`
	// MeanDelayMS is the configured one-way latency plus the mean delay
	// the shaper added per chunk: jitter and loss stalls, and where it
	// emulates bandwidth too (processes mode) serialisation and queueing
	// (in mocknet mode, bandwidth queueing in the mocknet link is not
	// included).
	MeanDelayMS  float64 `json:"mean_delay_ms"`
	Stalls       int64   `json:"stalls"`
	OneWayMS     float64 `json:"one_way_ms"`    // configured
	BandwidthBPS float64 `json:"bandwidth_bps"` // configured
}

type nodeInfo struct{ name, region string }

// shaper is a delay line on the write side of every stream of the hosts
// it wraps, per directed link, and counts the bytes each directed link
// carries.
//
// Built by newShaper (mocknet mode) it adds what libp2p's mocknet links
// lack, jitter and loss stalls: latency and bandwidth are the mocknet
// links' own. Built by newLinkShaper (processes mode, real hosts) it
// emulates the whole link: a chunk of n bytes written at t enters the
// link at max(previous entry, t + jitter [+ stall]), is serialised
// behind the chunks before it for n*8/bandwidth, and is delivered a
// one-way latency later; links between regions it was told are cut
// carry nothing (see setCut).
type shaper struct {
	links   Links
	emulate bool // latency, bandwidth and cuts too (real hosts)

	mu     sync.Mutex
	rng    *rand.Rand
	nodes  map[peer.ID]nodeInfo
	state  map[dirKey]*linkState
	live   map[*shapedStream]struct{} // streams whose delay line holds chunks
	cut    map[[2]string]bool         // region pairs (pairKey) cut
	closed bool
}

// newShaper is the shaper of mocknet mode: jitter and loss only.
func newShaper(links Links, seed uint64) *shaper {
	return &shaper{links: links, rng: rand.New(rand.NewPCG(seed, 0x5ba9e)), nodes: map[peer.ID]nodeInfo{}, state: map[dirKey]*linkState{},
		live: map[*shapedStream]struct{}{}, cut: map[[2]string]bool{}}
}

// newLinkShaper is a shaper that emulates whole links on real hosts:
// latency and bandwidth too, and cuts.
func newLinkShaper(links Links, seed uint64) *shaper {
	s := newShaper(links, seed)
	s.emulate = true
	return s
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

// link is the configured link from one peer to another, and whether the
// shaper knows both.
func (s *shaper) link(from, to peer.ID) (Link, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, okA := s.nodes[from]
	b, okB := s.nodes[to]
	return s.links.LinkBetween(a.region, b.region), okA && okB
}

// delays reports whether a stream over l needs a delay line.
func (s *shaper) delays(l Link) bool {
	return l.Jitter > 0 || l.Loss > 0 || (s.emulate && (l.OneWay() > 0 || l.Bandwidth > 0))
}

// serialisation is how long a link of bps bits/s is busy sending n bytes.
func serialisation(n int, bps Bandwidth) time.Duration {
	if bps <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(float64(n) * 8 / float64(bps) * float64(time.Second))
}

// due counts n bytes sent at now from one peer to another and returns
// when the delay line hands them to the stream below. They enter the link
// after the previous chunk, plus jitter uniform in [0, jitter] and, with
// probability loss, a retransmission stall; without emulation (mocknet)
// that entry is the answer, and a link without jitter and loss returns
// now. With emulation (newLinkShaper) the chunk then waits for the link
// to finish serialising the chunks before it, takes n*8/bandwidth itself,
// and arrives a one-way latency later.
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
	added := at.Sub(now)
	if ls.lastEntry.After(at) {
		at = ls.lastEntry
	}
	ls.lastEntry = at
	if !s.emulate {
		ls.injected += added
		return at
	}
	if l.Bandwidth > 0 {
		if ls.busyUntil.After(at) {
			at = ls.busyUntil
		}
		at = at.Add(serialisation(n, l.Bandwidth))
		ls.busyUntil = at
	}
	ls.injected += at.Sub(now)
	return at.Add(l.OneWay())
}

// setCut replaces the set of region pairs whose links are cut.
func (s *shaper) setCut(pairs [][2]string) {
	cut := map[[2]string]bool{}
	for _, p := range pairs {
		cut[pairKey(p[0], p[1])] = true
	}
	s.mu.Lock()
	s.cut = cut
	s.mu.Unlock()
}

// isCut reports whether the link between two known peers is cut.
func (s *shaper) isCut(a, b peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cut) == 0 {
		return false
	}
	x, okA := s.nodes[a]
	y, okB := s.nodes[b]
	return okA && okB && s.cut[pairKey(x.region, y.region)]
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

// track registers a stream whose delay line starts running; false once
// the shaper is closed.
func (s *shaper) track(ss *shapedStream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.live[ss] = struct{}{}
	return true
}

func (s *shaper) untrack(ss *shapedStream) {
	s.mu.Lock()
	delete(s.live, ss)
	s.mu.Unlock()
}

// liveStreams are the streams with a running delay line that match.
func (s *shaper) liveStreams(match func(*shapedStream) bool) []*shapedStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*shapedStream
	for ss := range s.live {
		if match(ss) {
			out = append(out, ss)
		}
	}
	return out
}

// close stops every delay line still running; later writes through the
// shaper fail.
func (s *shaper) close() {
	s.mu.Lock()
	s.closed = true
	live := s.live
	s.live = map[*shapedStream]struct{}{}
	s.mu.Unlock()
	for ss := range live {
		ss.stop()
	}
}

// shapedHost is a host whose streams, opened or accepted through it, are
// shaped. The node builds everything (DHT, info, inference) on it, so all
// of its traffic is; libp2p's own identify and ping, registered on the
// inner host before, are not (in mocknet mode they see the mocknet
// link's latency and bandwidth, in processes mode plain loopback).
//
// With an emulating shaper it also enforces cuts: streams and dials
// across a cut fail, streams accepted across one are reset, and
// connections that come up across one are closed.
type shapedHost struct {
	host.Host
	sh      *shaper
	notifee *network.NotifyBundle // emulating shaper: closes connections across a cut
}

func newShapedHost(h host.Host, sh *shaper) *shapedHost {
	sh2 := &shapedHost{Host: h, sh: sh}
	if sh.emulate {
		local := h.ID()
		sh2.notifee = &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
			if sh.isCut(local, c.RemotePeer()) {
				go c.Close()
			}
		}}
		h.Network().Notify(sh2.notifee)
	}
	return sh2
}

func (h *shapedHost) cutErr(p peer.ID) error {
	if h.sh.emulate && h.sh.isCut(h.ID(), p) {
		return fmt.Errorf("bench: link to %s: %w", p, errLinkCut)
	}
	return nil
}

// Connect fails across a cut.
func (h *shapedHost) Connect(ctx context.Context, ai peer.AddrInfo) error {
	if err := h.cutErr(ai.ID); err != nil {
		return err
	}
	return h.Host.Connect(ctx, ai)
}

func (h *shapedHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	if err := h.cutErr(p); err != nil {
		return nil, err
	}
	st, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.sh.wrap(st, h.ID()), nil
}

func (h *shapedHost) accept(handler network.StreamHandler) network.StreamHandler {
	return func(st network.Stream) {
		if h.cutErr(st.Conn().RemotePeer()) != nil {
			_ = st.Reset()
			return
		}
		handler(h.sh.wrap(st, h.ID()))
	}
}

func (h *shapedHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.accept(handler))
}

func (h *shapedHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, h.accept(handler))
}

// applyCut acts on the shaper's cut set: the delay lines of streams
// across a cut drop what they hold and reset, and the connections across
// it close (resetting every stream on them, on both sides), as a mocknet
// cut disconnects the peers.
func (h *shapedHost) applyCut() {
	local := h.ID()
	for _, ss := range h.sh.liveStreams(func(ss *shapedStream) bool { return ss.local == local }) {
		if h.sh.isCut(local, ss.remote) {
			_ = ss.Reset()
		}
	}
	for _, p := range h.Network().Peers() {
		if h.sh.isCut(local, p) {
			_ = h.Network().ClosePeer(p)
		}
	}
}

// Close stops this host's delay lines and closes the host it wraps.
func (h *shapedHost) Close() error {
	if h.notifee != nil {
		h.Network().StopNotify(h.notifee)
	}
	local := h.ID()
	for _, ss := range h.sh.liveStreams(func(ss *shapedStream) bool { return ss.local == local }) {
		ss.stop()
	}
	return h.Host.Close()
}

// wrap shapes the writes of st, a stream of local. Streams to peers the
// shaper does not know are not shaped.
func (s *shaper) wrap(st network.Stream, local peer.ID) network.Stream {
	remote := st.Conn().RemotePeer()
	l, known := s.link(local, remote)
	if !known {
		return st
	}
	ss := &shapedStream{Stream: st, sh: s, local: local, remote: remote}
	if s.delays(l) {
		ss.delayed = true
		ss.gone = make(chan struct{})
		ss.room = make(chan struct{})
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

// shapedStream counts what is written and, on a link that needs it,
// delays it in a delay line (order kept) before the stream below gets
// it. The delay line's goroutine runs only while it holds chunks.
type shapedStream struct {
	network.Stream
	sh            *shaper
	local, remote peer.ID

	delayed  bool          // false: writes go straight through
	gone     chan struct{} // closed by stop: the delay line drops what it holds
	stopOnce sync.Once

	mu      sync.Mutex
	q       []chunk
	qbytes  int
	room    chan struct{} // closed (and replaced) whenever the pump takes a chunk
	pumping bool
	werr    error // the stream below failed a write
	wclosed bool  // Close or CloseWrite was called
}

func (s *shapedStream) stop() {
	if s.gone != nil {
		s.stopOnce.Do(func() { close(s.gone) })
	}
}

func (s *shapedStream) stopped() bool {
	select {
	case <-s.gone:
		return true
	default:
		return false
	}
}

// errLocked is why a write cannot be queued, if it cannot.
func (s *shapedStream) errLocked() error {
	switch {
	case s.werr != nil:
		return s.werr
	case s.wclosed, s.stopped():
		return network.ErrReset
	}
	return nil
}

// pushLocked appends c to the delay line and makes sure it runs.
func (s *shapedStream) pushLocked(c chunk) error {
	if !s.pumping {
		if !s.sh.track(s) {
			s.stop()
			return network.ErrReset
		}
		s.pumping = true
		go s.pump()
	}
	s.q = append(s.q, c)
	s.qbytes += len(c.data)
	return nil
}

func (s *shapedStream) pump() {
	for {
		s.mu.Lock()
		if len(s.q) == 0 || s.stopped() {
			s.q, s.qbytes, s.pumping = nil, 0, false
			s.sh.untrack(s)
			close(s.room)
			s.room = make(chan struct{})
			s.mu.Unlock()
			return
		}
		c := s.q[0]
		s.q[0] = chunk{}
		s.q = s.q[1:]
		s.qbytes -= len(c.data)
		close(s.room)
		s.room = make(chan struct{})
		s.mu.Unlock()
		if d := time.Until(c.due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.gone:
				t.Stop()
				continue
			}
		}
		var err error
		switch c.kind {
		case chunkData:
			_, err = s.Stream.Write(c.data)
		case chunkCloseWrite:
			err = s.Stream.CloseWrite()
		case chunkClose:
			err = s.Stream.Close()
		}
		if err != nil {
			s.mu.Lock()
			if s.werr == nil {
				s.werr = err
			}
			s.q, s.qbytes = nil, 0
			s.mu.Unlock()
		}
	}
}

// waitRoom waits until the delay line can take n more bytes.
func (s *shapedStream) waitRoom(n int) error {
	for {
		s.mu.Lock()
		if err := s.errLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
		if len(s.q) == 0 || (s.qbytes+n <= maxQueuedBytes && len(s.q) < maxQueuedChunks) {
			s.mu.Unlock()
			return nil
		}
		room := s.room
		s.mu.Unlock()
		select {
		case <-room:
		case <-s.gone:
			return network.ErrReset
		}
	}
}

// Write sends p after the link's delay. Across a cut (emulating shaper)
// it resets the stream and fails.
func (s *shapedStream) Write(p []byte) (int, error) {
	if s.sh.emulate && s.sh.isCut(s.local, s.remote) {
		_ = s.Reset()
		return 0, network.ErrReset
	}
	if !s.delayed {
		s.sh.due(s.local, s.remote, len(p), time.Now())
		return s.Stream.Write(p)
	}
	if err := s.waitRoom(len(p)); err != nil {
		return 0, err
	}
	due := s.sh.due(s.local, s.remote, len(p), time.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.errLocked(); err != nil {
		return 0, err
	}
	if err := s.pushLocked(chunk{data: append([]byte(nil), p...), due: due}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// queueEnd queues the end of the write side (k) after what is queued.
func (s *shapedStream) queueEnd(k chunkKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wclosed || s.werr != nil || s.stopped() {
		s.wclosed = true
		return
	}
	s.wclosed = true
	_ = s.pushLocked(chunk{kind: k, due: s.sh.due(s.local, s.remote, 0, time.Now())})
}

// CloseWrite ends the write side after what is queued is sent.
func (s *shapedStream) CloseWrite() error {
	if !s.delayed {
		return s.Stream.CloseWrite()
	}
	s.queueEnd(chunkCloseWrite)
	return nil
}

// Close ends both sides; queued writes are still sent.
func (s *shapedStream) Close() error {
	if !s.delayed {
		return s.Stream.Close()
	}
	_ = s.Stream.CloseRead()
	s.queueEnd(chunkClose)
	return nil
}

// Reset drops everything at once.
func (s *shapedStream) Reset() error {
	s.stop()
	return s.Stream.Reset()
}

// ResetWithError resets the stream.
func (s *shapedStream) ResetWithError(code network.StreamErrorCode) error {
	s.stop()
	return s.Stream.ResetWithError(code)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
