package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/orbitswarm/orbit/clock"
	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/sharding"
)

// InferBackend computes for an InferServer: it owns the models, the KV-cache
// budget and the batching of concurrent sessions.
type InferBackend interface {
	// OpenSession allocates a KV cache of maxLen positions for span of
	// model. Refusals wrap ErrUnknownModel, ErrCacheFull or ErrBadRequest.
	OpenSession(ctx context.Context, model string, span sharding.Span, maxLen int) (ComputeSession, error)
}

// ComputeSession is one sequence's KV cache on a server.
type ComputeSession interface {
	// Dim is the width of a hidden-state row.
	Dim() int
	// Forward runs the span over rows of x (len(x)/Dim rows at positions
	// pos, pos+1, ...) in place. Bad positions wrap engine.ErrBadInput.
	Forward(ctx context.Context, x []float32, pos int) error
	// Close releases the cache.
	Close()
}

// Default caps of a server's idle streams (ServerConfig).
const (
	DefaultMaxIdlePerPeer = 32
	DefaultMaxIdlePerIP   = 128
)

// ServerConfig tunes an InferServer. Zero values take defaults.
type ServerConfig struct {
	// IdleTimeout closes a session no step touched for this long (5m).
	IdleTimeout time.Duration
	// IOTimeout bounds the open handshake, each write and each push (30s).
	IOTimeout time.Duration
	// HelloTimeout is how long a new stream has for its first message
	// (5s, at most IOTimeout); streams waiting for it are idle.
	HelloTimeout time.Duration
	// MaxIdlePerPeer caps the idle streams of one peer
	// (DefaultMaxIdlePerPeer): more are refused. MaxIdlePerIP caps those
	// from one IP address (DefaultMaxIdlePerIP): a new one closes the
	// oldest.
	MaxIdlePerPeer, MaxIdlePerIP int

	Logger *slog.Logger
	// Clock times the steps a server computes (the system clock).
	Clock clock.Clock
}

func (c *ServerConfig) fill() {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = 30 * time.Second
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = min(5*time.Second, c.IOTimeout)
	}
	if c.MaxIdlePerPeer <= 0 {
		c.MaxIdlePerPeer = DefaultMaxIdlePerPeer
	}
	if c.MaxIdlePerIP <= 0 {
		c.MaxIdlePerIP = DefaultMaxIdlePerIP
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Clock = clock.Or(c.Clock)
}

// InferServer serves /orbit/infer/1.0.0 on a host.
type InferServer struct {
	host    host.Host
	backend InferBackend
	cfg     ServerConfig
	log     *slog.Logger

	mu       sync.Mutex
	closing  bool
	sessions map[SessionID]*serverSession
	wg       sync.WaitGroup
	// Idle streams (no first message yet): per peer, and per IP address
	// in the order they came.
	idlePeer map[peer.ID]int
	idleIP   map[string][]network.Stream

	pushedRemote, pushedLocal, pushFailed atomic.Uint64
}

// PushStats counts the steps a server's sessions pushed to their next hops.
type PushStats struct {
	Remote uint64 // written to a push stream to another peer
	Local  uint64 // handed in process to a session of this server
	Failed uint64 // not handed over: the result carried a PushError
}

// PushStats returns the server's push counters since it was made.
func (s *InferServer) PushStats() PushStats {
	return PushStats{Remote: s.pushedRemote.Load(), Local: s.pushedLocal.Load(), Failed: s.pushFailed.Load()}
}

// NewInferServer makes a server; Start registers its handler.
func NewInferServer(h host.Host, b InferBackend, cfg ServerConfig) *InferServer {
	cfg.fill()
	return &InferServer{host: h, backend: b, cfg: cfg, log: cfg.Logger.With("proto", string(InferID)), sessions: map[SessionID]*serverSession{},
		idlePeer: map[peer.ID]int{}, idleIP: map[string][]network.Stream{}}
}

// Start registers the stream handler.
func (s *InferServer) Start() { s.host.SetStreamHandler(InferID, s.handle) }

// Sessions is the number of open sessions.
func (s *InferServer) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close stops taking streams, ends every session (telling each entry node
// the server shuts down) and waits for the handlers to return.
func (s *InferServer) Close() {
	s.host.RemoveStreamHandler(InferID)
	s.mu.Lock()
	s.closing = true
	var all []*serverSession
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.close(fmt.Errorf("%w", ErrShuttingDown))
	}
	s.wg.Wait()
}

// setupStream applies the resource steps of a stream this node opens (an
// entry node's control stream, a push stream to the next hop): the service
// scope and a memory reservation for the largest frame.
func setupStream(st network.Stream) (release func(), err error) {
	if err := st.Scope().SetService(ServiceName); err != nil {
		return nil, fmt.Errorf("protocol: attach stream to service: %w", err)
	}
	if err := st.Scope().ReserveMemory(MaxFrame, FramePriority); err != nil {
		return nil, fmt.Errorf("protocol: reserve stream memory: %w", err)
	}
	return func() { st.Scope().ReleaseMemory(MaxFrame) }, nil
}

func (s *InferServer) handle(st network.Stream) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = st.Reset()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	log := s.log.With("peer", st.Conn().RemotePeer())
	if err := st.Scope().SetService(ServiceName); err != nil {
		log.Debug("refusing stream", "err", fmt.Errorf("protocol: attach stream to service: %w", err))
		_ = st.Reset()
		return
	}
	active, ok := s.idle(st)
	if !ok {
		log.Debug("refusing stream: too many idle streams from the peer")
		_ = st.Reset()
		return
	}
	// Memory is reserved frame by frame as frames arrive (the first, a
	// small one), not for the stream's life: idle streams hold none.
	_ = st.SetReadDeadline(deadlineIn(s.cfg.HelloTimeout))
	_ = st.SetWriteDeadline(deadlineIn(s.cfg.IOTimeout))
	fr := NewFrameReader(st, maxHello)
	fr.ReserveFrames(st.Scope(), FramePriority)
	defer fr.Release()
	var hello pb.InferHello
	err := fr.ReadMsg(&hello)
	active()
	if err != nil {
		log.Debug("bad hello", "err", err)
		_ = st.Reset()
		return
	}
	fr.SetLimit(MaxFrame)
	switch m := hello.Msg.(type) {
	case *pb.InferHello_Open:
		s.serveControl(st, fr, m.Open, log)
	case *pb.InferHello_Attach:
		s.servePush(st, fr, m.Attach, log)
	default:
		log.Debug("hello without open or attach")
		_ = st.Reset()
	}
}

// maxHello caps a stream's first frame (an open or an attach).
const maxHello = 64 << 10

// idle counts st among the idle streams (waiting for their first frame)
// of its peer and its IP address, or refuses it when its peer has
// MaxIdlePerPeer already; when its address has MaxIdlePerIP, the oldest
// of those is reset. active takes st out of them.
func (s *InferServer) idle(st network.Stream) (active func(), ok bool) {
	p := st.Conn().RemotePeer()
	ip := ""
	if a, err := manet.ToIP(st.Conn().RemoteMultiaddr()); err == nil {
		ip = a.String()
	}
	s.mu.Lock()
	if s.idlePeer[p] >= s.cfg.MaxIdlePerPeer {
		s.mu.Unlock()
		return nil, false
	}
	s.idlePeer[p]++
	var evict network.Stream
	if ip != "" {
		q := s.idleIP[ip]
		if len(q) >= s.cfg.MaxIdlePerIP {
			evict, q = q[0], q[1:]
		}
		s.idleIP[ip] = append(q, st)
	}
	s.mu.Unlock()
	if evict != nil {
		_ = evict.Reset()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.idlePeer[p]--; s.idlePeer[p] <= 0 {
				delete(s.idlePeer, p)
			}
			q := s.idleIP[ip]
			for i, x := range q {
				if x == st {
					q = append(q[:i:i], q[i+1:]...)
					break
				}
			}
			if len(q) == 0 {
				delete(s.idleIP, ip)
			} else {
				s.idleIP[ip] = q
			}
		})
	}, true
}

// IdleStreams is the number of streams waiting for their first frame.
func (s *InferServer) IdleStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.idlePeer {
		n += c
	}
	return n
}

// duplex is what a session needs of a control or push stream: a libp2p
// stream, or an in-memory pipe within this process (a session of the
// node's own entry; a push into a session of this server).
type duplex interface {
	io.ReadWriter
	Close() error
	Reset() error
	SetDeadline(time.Time) error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// pipeStream adapts one end of net.Pipe.
type pipeStream struct{ net.Conn }

func (p pipeStream) Reset() error { return p.Close() }

// refuse answers an open with an error and ends the stream.
func (s *InferServer) refuse(st duplex, err error, log *slog.Logger) {
	log.Info("refusing session", "err", err)
	fw := NewFrameWriter(st, MaxFrame)
	if werr := fw.WriteMsg(errorToWire(err, 0)); werr != nil {
		_ = st.Reset()
		return
	}
	if cw, ok := st.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		// Let the error reach the peer before the stream goes away.
		_, _ = io.Copy(io.Discard, io.LimitReader(st, 1<<10))
	}
	_ = st.Close()
}

// OpenLocal opens a session on this server for an entry node in the same
// process (a host cannot dial itself), over an in-memory pipe.
func (s *InferServer) OpenLocal(ctx context.Context, req OpenRequest, ioTimeout time.Duration) (*Hop, error) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil, ErrShuttingDown
	}
	s.wg.Add(1)
	s.mu.Unlock()
	a, b := net.Pipe()
	go func() {
		defer s.wg.Done()
		st := pipeStream{b}
		_ = st.SetDeadline(deadlineIn(s.cfg.IOTimeout))
		fr := NewFrameReader(st, MaxFrame)
		var hello pb.InferHello
		if err := fr.ReadMsg(&hello); err != nil || hello.GetOpen() == nil {
			_ = st.Close()
			return
		}
		s.serveControl(st, fr, hello.GetOpen(), s.log.With("peer", "self"))
	}()
	return openOn(ctx, pipeStream{a}, s.host.ID(), req, ioTimeout, func() {})
}

// attachLocal opens a push stream into a session of this server, for a
// session whose next hop is this very peer (a host cannot dial itself;
// a route may hold two consecutive hops on one peer, for example a span
// it moved off and the span it moved to). The stream is an in-memory
// pipe whose far end runs the handler of a remote push stream, from the
// attach message on: steps arrive in order, each bounded by the same
// write deadline; a bad step is reported as BAD_PUSH, a failed one ends
// the receiving session; the stream ends with either session.
func (s *InferServer) attachLocal() (duplex, error) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w", ErrShuttingDown)
	}
	s.wg.Add(1)
	s.mu.Unlock()
	a, b := net.Pipe()
	go func() {
		defer s.wg.Done()
		st := pipeStream{b}
		_ = st.SetDeadline(deadlineIn(s.cfg.IOTimeout))
		fr := NewFrameReader(st, MaxFrame)
		var hello pb.InferHello
		if err := fr.ReadMsg(&hello); err != nil || hello.GetAttach() == nil {
			_ = st.Reset()
			return
		}
		s.servePush(st, fr, hello.GetAttach(), s.log.With("peer", "self"))
	}()
	return pipeStream{a}, nil
}

func (s *InferServer) serveControl(st duplex, fr *FrameReader, m *pb.InferOpen, log *slog.Logger) {
	req, err := openFromWire(m)
	if err != nil {
		s.refuse(st, err, log)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.IOTimeout)
	comp, err := s.backend.OpenSession(ctx, req.Model, req.Span, req.MaxLength)
	cancel()
	if err != nil {
		s.refuse(st, err, log)
		return
	}
	dim := comp.Dim()
	enc := Encoding(0)
	offers := req.Encodings
	if len(offers) == 0 {
		offers = []Encoding{DefaultEncoding}
	}
	for _, e := range offers {
		if e.Supports(dim) {
			enc = e
			break
		}
	}
	if enc == 0 {
		comp.Close()
		s.refuse(st, fmt.Errorf("%w: none of the offered encodings %v carries dimension %d", ErrBadRequest, offers, dim), log)
		return
	}
	ss := &serverSession{
		srv: s, id: NewSessionID(), comp: comp, enc: enc, dim: dim,
		ctrl: st, ctrlW: NewFrameWriter(st, MaxFrame), next: req.Next,
		log: log, pushIn: map[duplex]bool{}, done: make(chan struct{}),
	}
	if req.Sign {
		ss.initSigning(req)
	}
	_, canTruncate := comp.(Truncater)
	ss.truncate = req.Truncate && canTruncate
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		comp.Close()
		s.refuse(st, ErrShuttingDown, log)
		return
	}
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	ss.idle = time.AfterFunc(s.cfg.IdleTimeout, func() {
		ss.close(&RemoteError{Code: CodeIdle, Message: fmt.Sprintf("session idle for %v", s.cfg.IdleTimeout)})
	})
	opened := &pb.InferResponse{Msg: &pb.InferResponse_Opened{Opened: &pb.InferOpened{SessionId: ss.id[:], Encoding: encodingToWire(enc), Dim: uint32(dim), Signs: ss.key != nil, Truncates: ss.truncate}}}
	if err := ss.write(opened); err != nil {
		ss.close(err)
		return
	}
	// From here the idle timer bounds the stream's life.
	_ = st.SetReadDeadline(time.Time{})
	log.Debug("session opened", "session", ss.id, "model", req.Model, "span", req.Span, "max_len", req.MaxLength, "encoding", enc)
	for {
		var r pb.InferRequest
		if err := fr.ReadMsg(&r); err != nil {
			if errors.Is(err, io.EOF) {
				ss.close(nil)
			} else {
				ss.close(fmt.Errorf("control stream: %w", err))
			}
			return
		}
		var ferr error
		switch m := r.Msg.(type) {
		case *pb.InferRequest_Step:
			ferr = ss.stepWire(m.Step, false)
		case *pb.InferRequest_SetNext:
			ferr = ss.setNext(m.SetNext.GetNext())
		case *pb.InferRequest_Truncate:
			ferr = ss.truncateTo(m.Truncate.GetSeq(), int(m.Truncate.GetLength()))
		default:
			ferr = fmt.Errorf("%w: empty request", ErrBadFrame)
		}
		if ferr != nil {
			ss.close(ferr)
			return
		}
	}
}

func (s *InferServer) servePush(st duplex, fr *FrameReader, m *pb.InferAttach, log *slog.Logger) {
	id, err := sessionIDFromWire(m.GetSessionId())
	if err != nil {
		_ = st.Reset()
		return
	}
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil || !ss.addPushIn(st) {
		log.Debug("push for unknown session", "session", id)
		_ = st.Reset()
		return
	}
	defer ss.removePushIn(st)
	_ = st.SetReadDeadline(time.Time{})
	for {
		var r pb.InferRequest
		if err := fr.ReadMsg(&r); err != nil {
			if errors.Is(err, io.EOF) {
				_ = st.Close()
			} else {
				_ = st.Reset()
			}
			return
		}
		step := r.GetStep()
		if step == nil {
			_ = st.Reset()
			return
		}
		if err := ss.stepWire(step, true); err != nil {
			ss.close(err)
			_ = st.Reset()
			return
		}
	}
}

// serverSession is one open session on a server.
type serverSession struct {
	srv  *InferServer
	id   SessionID
	comp ComputeSession
	enc  Encoding
	dim  int
	log  *slog.Logger
	idle *time.Timer

	ctx    context.Context // cancelled when the session closes
	cancel context.CancelFunc

	wmu   sync.Mutex // guards ctrl writes
	ctrl  duplex
	ctrlW *FrameWriter

	truncate bool // the session takes truncates (OpenRequest.Truncate)

	mu      sync.Mutex // serializes steps; guards the fields below
	closed  bool
	started bool
	lastSeq uint64
	x       []float32
	next    *NextHop
	push    duplex // nil until the first push to next
	pushW   *FrameWriter
	pushRel func()
	local   bool // push is an in-process pipe into this server
	pushIn  map[duplex]bool

	// Signing (OpenRequest.Sign): the host's key, the claim's fixed
	// fields, and the digest chains of inputs and outputs by position
	// (chain[p] covers rows 0..p-1; filled is the positions computed).
	key         crypto.PrivKey
	claim       Claim
	inCh, outCh []Digest
	filled      int

	once sync.Once
	done chan struct{}
}

func (ss *serverSession) write(m *pb.InferResponse) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	_ = ss.ctrl.SetWriteDeadline(deadlineIn(ss.srv.cfg.IOTimeout))
	if err := ss.ctrlW.WriteMsg(m); err != nil {
		return fmt.Errorf("protocol: write to entry node: %w", err)
	}
	return nil
}

func (ss *serverSession) addPushIn(st duplex) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	ss.pushIn[st] = true
	return true
}

func (ss *serverSession) removePushIn(st duplex) {
	ss.mu.Lock()
	delete(ss.pushIn, st)
	ss.mu.Unlock()
}

func (ss *serverSession) setNext(m *pb.InferNextHop) error {
	n, err := nextFromWire(m)
	if err != nil {
		return err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.dropPushLocked()
	ss.next = n
	return nil
}

func (ss *serverSession) dropPushLocked() {
	if ss.push != nil {
		_ = ss.push.Reset()
		ss.pushRel()
		ss.push, ss.pushW, ss.pushRel, ss.local = nil, nil, nil, false
	}
}

// truncateTo forgets the positions from n on if no step after seq ran
// (a later one rewrote its positions already: the entry node sends the
// truncate on the control stream, and the next step may come pushed by
// the previous hop before it).
func (ss *serverSession) truncateTo(seq uint64, n int) error {
	if !ss.truncate {
		return fmt.Errorf("%w: truncate on a session that was not granted it", ErrBadRequest)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.closed && ss.lastSeq == seq {
		ss.comp.(Truncater).Truncate(n)
		ss.filled = min(ss.filled, n)
	}
	ss.idle.Reset(ss.srv.cfg.IdleTimeout)
	return nil
}

// stepWire runs one step. It returns an error only when the session must
// end; a bad step pushed by the previous hop is reported to the entry node
// (BAD_PUSH) and skipped, since the entry node can send it itself.
func (ss *serverSession) stepWire(m *pb.InferStep, pushed bool) error {
	st, err := stepFromWire(m)
	if err == nil {
		err = ss.step(st)
	}
	if err == nil {
		return nil
	}
	if pushed && codeOf(err) == CodeBadRequest {
		ss.log.Info("bad step from previous hop", "session", ss.id, "err", err)
		return ss.write(errorToWire(&RemoteError{Code: CodeBadPush, Message: err.Error()}, m.GetSeq()))
	}
	return err
}

func (ss *serverSession) step(st Step) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return fmt.Errorf("protocol: session %v closed", ss.id)
	}
	if ss.started && st.Seq <= ss.lastSeq {
		// A duplicate of a step already run (after a failover the entry
		// node may resend what a dead hop had pushed): drop it.
		return nil
	}
	x, err := st.Hidden.Decode(ss.x, ss.enc, st.Hidden.Rows, ss.dim)
	if err != nil {
		return err
	}
	ss.x = x
	began := ss.srv.cfg.Clock.Now()
	if err := ss.comp.Forward(ss.ctx, x, st.Pos); err != nil {
		return fmt.Errorf("protocol: forward at position %d: %w", st.Pos, err)
	}
	timing := StepTiming{Compute: ss.srv.cfg.Clock.Since(began)}
	if ts, ok := ss.comp.(TimedSession); ok {
		timing = ts.LastTiming()
	}
	ss.started, ss.lastSeq = true, st.Seq
	out, err := EncodeRows(ss.enc, x, ss.dim)
	if err != nil {
		return fmt.Errorf("protocol: encode output: %w", err)
	}
	res := Result{Seq: st.Seq, Pos: st.Pos, Hidden: out, Compute: timing.Compute, Queue: timing.Queue}
	if ss.key != nil {
		if res.Proof, err = ss.proveLocked(st, out); err != nil {
			return err
		}
	}
	if st.Forward > 0 {
		switch err := ss.pushLocked(Step{Seq: st.Seq, Pos: st.Pos, Hidden: out, Forward: st.Forward - 1}); {
		case err != nil:
			ss.srv.pushFailed.Add(1)
			res.PushError = err.Error()
			ss.log.Info("push failed", "session", ss.id, "err", err)
		case ss.local:
			ss.srv.pushedLocal.Add(1)
		default:
			ss.srv.pushedRemote.Add(1)
		}
	}
	ss.idle.Reset(ss.srv.cfg.IdleTimeout)
	return ss.write(&pb.InferResponse{Msg: &pb.InferResponse_Result{Result: resultToWire(res)}})
}

// pushLocked sends a step to the next hop, attaching to it on first use:
// over a stream to another peer, or over an in-memory pipe when the next
// hop is a session of this server.
func (ss *serverSession) pushLocked(st Step) error {
	if ss.next == nil {
		return errors.New("no next hop")
	}
	timeout := ss.srv.cfg.IOTimeout
	if ss.push == nil {
		var (
			s     duplex
			rel   = func() {}
			local = ss.next.Peer == ss.srv.host.ID()
		)
		if local {
			if ss.next.Session == ss.id {
				return fmt.Errorf("%w: session %v would push to itself", ErrBadRequest, ss.id)
			}
			var err error
			if s, err = ss.srv.attachLocal(); err != nil {
				return fmt.Errorf("attach to local session %v: %w", ss.next.Session, err)
			}
		} else {
			h := ss.srv.host
			if len(ss.next.Addrs) > 0 {
				h.Peerstore().AddAddrs(ss.next.Peer, ss.next.Addrs, peerstore.TempAddrTTL)
			}
			ctx, cancel := context.WithTimeout(ss.ctx, timeout)
			ns, err := h.NewStream(ctx, ss.next.Peer, InferID)
			cancel()
			if err != nil {
				return fmt.Errorf("open push stream to %s: %w", ss.next.Peer, err)
			}
			if rel, err = setupStream(ns); err != nil {
				_ = ns.Reset()
				return err
			}
			s = ns
		}
		fw := NewFrameWriter(s, MaxFrame)
		_ = s.SetWriteDeadline(deadlineIn(timeout))
		hello := &pb.InferHello{Msg: &pb.InferHello_Attach{Attach: &pb.InferAttach{SessionId: ss.next.Session[:]}}}
		if err := fw.WriteMsg(hello); err != nil {
			_ = s.Reset()
			rel()
			return fmt.Errorf("attach to %s: %w", ss.next.Peer, err)
		}
		ss.push, ss.pushW, ss.pushRel, ss.local = s, fw, rel, local
	}
	_ = ss.push.SetWriteDeadline(deadlineIn(timeout))
	if err := ss.pushW.WriteMsg(&pb.InferRequest{Msg: &pb.InferRequest_Step{Step: stepToWire(st)}}); err != nil {
		ss.dropPushLocked()
		return fmt.Errorf("push to %s: %w", ss.next.Peer, err)
	}
	return nil
}

// close ends the session: nil for a clean end, else the reason, which is
// sent to the entry node before the control stream is reset.
func (ss *serverSession) close(reason error) {
	ss.once.Do(func() {
		ss.idle.Stop()
		s := ss.srv
		s.mu.Lock()
		delete(s.sessions, ss.id)
		s.mu.Unlock()
		ss.cancel()
		if reason != nil {
			ss.log.Debug("session closed", "session", ss.id, "reason", reason)
			// Best effort, bounded by the write deadline. A reset would
			// make the peer drop the notice unread, so a notice that was
			// written is followed by a close: the entry node reads why
			// (IDLE, SHUTTING_DOWN...), then the end of the stream.
			if ss.write(errorToWire(reason, 0)) == nil {
				_ = ss.ctrl.Close()
			} else {
				_ = ss.ctrl.Reset()
			}
		} else {
			_ = ss.ctrl.Close()
		}
		ss.mu.Lock()
		ss.closed = true
		for st := range ss.pushIn {
			_ = st.Reset()
		}
		if ss.push != nil {
			_ = ss.push.Close()
			ss.pushRel()
			ss.push = nil
		}
		ss.comp.Close()
		ss.mu.Unlock()
		close(ss.done)
	})
}

// initSigning makes the session sign its results with the host's key,
// when the host has one in its peerstore.
func (ss *serverSession) initSigning(req OpenRequest) {
	h := ss.srv.host
	key := h.Peerstore().PrivKey(h.ID())
	if key == nil {
		return
	}
	ss.key = key
	ss.claim = Claim{Peer: h.ID(), Model: req.Model, Session: ss.id, Span: req.Span}
	ss.inCh = make([]Digest, req.MaxLength+1)
	ss.outCh = make([]Digest, req.MaxLength+1)
}

// proveLocked extends the digest chains by the step's rows and signs the
// claim about its result.
func (ss *serverSession) proveLocked(st Step, out Hidden) (*Proof, error) {
	p, rows := st.Pos, st.Hidden.Rows
	if p > ss.filled || p+rows >= len(ss.inCh) {
		return nil, fmt.Errorf("%w: step at position %d of %d rows after %d positions", ErrBadRequest, p, rows, ss.filled)
	}
	copy(ss.inCh[p+1:], ChainRows(ss.inCh[p], st.Hidden.Data, rows))
	copy(ss.outCh[p+1:], ChainRows(ss.outCh[p], out.Data, rows))
	ss.filled = p + rows
	c := ss.claim
	c.Seq, c.Pos, c.Rows, c.In, c.Out = st.Seq, p, rows, ss.inCh[p+rows], ss.outCh[p+rows]
	sig, err := c.Sign(ss.key)
	if err != nil {
		return nil, err
	}
	return &Proof{In: c.In, Out: c.Out, Signature: sig}, nil
}
