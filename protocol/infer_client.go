package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	pb "github.com/orbitswarm/orbit/proto"
)

// ErrHopGone is wrapped by errors about a hop whose control stream ended.
var ErrHopGone = errors.New("protocol: hop gone")

// ErrTimeout is wrapped when a hop does not answer in time.
var ErrTimeout = errors.New("protocol: hop timed out")

// Hop is the entry node's control stream to one server's session.
type Hop struct {
	Peer   peer.ID
	Opened Opened

	st      duplex
	release func()
	ioTO    time.Duration

	wmu sync.Mutex
	fw  *FrameWriter

	events chan hopEvent
	done   chan struct{} // closed when the reader exits
	quit   chan struct{} // closed by Close
	once   sync.Once
}

type hopEvent struct {
	res Result
	err error // a *RemoteError, or the stream's end
}

// OpenHop opens a session on server p. ioTimeout bounds the handshake and
// every later write.
func OpenHop(ctx context.Context, h host.Host, p peer.ID, req OpenRequest, ioTimeout time.Duration) (*Hop, error) {
	if ioTimeout <= 0 {
		ioTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	st, err := h.NewStream(ctx, p, InferID)
	if err != nil {
		return nil, fmt.Errorf("protocol: open stream to %s: %w", p, err)
	}
	release, err := setupStream(st)
	if err != nil {
		_ = st.Reset()
		return nil, err
	}
	return openOn(ctx, st, p, req, ioTimeout, release)
}

// openOn runs the open handshake on st.
func openOn(ctx context.Context, st duplex, p peer.ID, req OpenRequest, ioTimeout time.Duration, release func()) (*Hop, error) {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	fail := func(err error) (*Hop, error) {
		_ = st.Reset()
		release()
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	_ = st.SetDeadline(deadline)
	fw := NewFrameWriter(st, MaxFrame)
	if err := fw.WriteMsg(&pb.InferHello{Msg: &pb.InferHello_Open{Open: openToWire(req)}}); err != nil {
		return fail(fmt.Errorf("protocol: send open to %s: %w", p, err))
	}
	fr := NewFrameReader(st, MaxFrame)
	var resp pb.InferResponse
	if err := fr.ReadMsg(&resp); err != nil {
		return fail(fmt.Errorf("protocol: open on %s: %w: %w", p, ErrHopGone, err))
	}
	var op Opened
	switch m := resp.Msg.(type) {
	case *pb.InferResponse_Error:
		return fail(fmt.Errorf("protocol: open on %s: %w", p, errorFromWire(m.Error)))
	case *pb.InferResponse_Opened:
		id, err := sessionIDFromWire(m.Opened.GetSessionId())
		if err != nil {
			return fail(err)
		}
		enc, err := encodingFromWire(m.Opened.GetEncoding())
		if err != nil {
			return fail(err)
		}
		op = Opened{Session: id, Encoding: enc, Dim: int(m.Opened.GetDim()), Signs: m.Opened.GetSigns(),
			Truncates: req.Truncate && m.Opened.GetTruncates()}
	default:
		return fail(fmt.Errorf("%w: open on %s answered without a session", ErrBadFrame, p))
	}
	offered := req.Encodings
	if len(offered) == 0 {
		offered = []Encoding{DefaultEncoding}
	}
	ok := false
	for _, e := range offered {
		ok = ok || e == op.Encoding
	}
	if !ok || !op.Encoding.Supports(op.Dim) {
		return fail(fmt.Errorf("%w: %s chose encoding %v for dimension %d, not among %v", ErrBadFrame, p, op.Encoding, op.Dim, offered))
	}
	_ = st.SetDeadline(time.Time{})
	hp := &Hop{Peer: p, Opened: op, st: st, release: release, ioTO: ioTimeout, fw: fw,
		events: make(chan hopEvent, 16), done: make(chan struct{}), quit: make(chan struct{})}
	go hp.read(fr)
	return hp, nil
}

func (h *Hop) read(fr *FrameReader) {
	defer close(h.done)
	emit := func(ev hopEvent) bool {
		select {
		case h.events <- ev:
			return true
		case <-h.quit:
			return false
		}
	}
	for {
		var resp pb.InferResponse
		if err := fr.ReadMsg(&resp); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			emit(hopEvent{err: fmt.Errorf("%w: %s: %w", ErrHopGone, h.Peer, err)})
			return
		}
		var ev hopEvent
		switch m := resp.Msg.(type) {
		case *pb.InferResponse_Result:
			r, err := resultFromWire(m.Result)
			if err != nil {
				ev.err = fmt.Errorf("protocol: result from %s: %w", h.Peer, err)
			} else {
				ev.res = r
			}
		case *pb.InferResponse_Error:
			ev.err = errorFromWire(m.Error)
		default:
			ev.err = fmt.Errorf("%w: unexpected message from %s", ErrBadFrame, h.Peer)
		}
		if !emit(ev) {
			return
		}
		var re *RemoteError
		if ev.err != nil && !(errors.As(ev.err, &re) && re.Code == CodeBadPush) {
			return // anything but a BAD_PUSH notice ends the session
		}
	}
}

func (h *Hop) send(m *pb.InferRequest) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	_ = h.st.SetWriteDeadline(deadlineIn(h.ioTO))
	if err := h.fw.WriteMsg(m); err != nil {
		return fmt.Errorf("%w: send to %s: %w", ErrHopGone, h.Peer, err)
	}
	return nil
}

// Send sends a step on the control stream.
func (h *Hop) Send(st Step) error {
	return h.send(&pb.InferRequest{Msg: &pb.InferRequest_Step{Step: stepToWire(st)}})
}

// Truncate tells the session to forget every position from n on, as of
// step seq (ignored by the server when a later step already ran). The
// session must have granted the capability (Opened.Truncates).
func (h *Hop) Truncate(seq uint64, n int) error {
	if !h.Opened.Truncates {
		return fmt.Errorf("%w: %s did not grant truncate", ErrBadRequest, h.Peer)
	}
	return h.send(&pb.InferRequest{Msg: &pb.InferRequest_Truncate{Truncate: &pb.InferTruncate{Seq: seq, Length: uint32(max(n, 0))}}})
}

// SetNext changes where the session pushes; nil stops pushing.
func (h *Hop) SetNext(n *NextHop) error {
	return h.send(&pb.InferRequest{Msg: &pb.InferRequest_SetNext{SetNext: &pb.InferSetNext{Next: nextToWire(n)}}})
}

// Await returns the result of step seq, skipping results of earlier steps
// (duplicates after a failover). A server's error comes back as a
// *RemoteError; a BAD_PUSH notice for seq is returned too (the session
// goes on). It gives up after timeout with ErrTimeout.
func (h *Hop) Await(ctx context.Context, seq uint64, timeout time.Duration) (Result, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case ev := <-h.events:
			if ev.err != nil {
				var re *RemoteError
				if errors.As(ev.err, &re) && re.Code == CodeBadPush && re.Seq < seq {
					continue
				}
				return Result{}, ev.err
			}
			if ev.res.Seq < seq {
				continue
			}
			if ev.res.Seq > seq {
				return Result{}, fmt.Errorf("%w: %s answered step %d while step %d was due", ErrBadFrame, h.Peer, ev.res.Seq, seq)
			}
			return ev.res, nil
		case <-t.C:
			return Result{}, fmt.Errorf("%w: %s gave no result for step %d in %v", ErrTimeout, h.Peer, seq, timeout)
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
}

// Close ends the session cleanly and waits for the reader to stop.
func (h *Hop) Close() error { return h.end(false) }

// Reset aborts the session.
func (h *Hop) Reset() error { return h.end(true) }

func (h *Hop) end(reset bool) error {
	var err error
	h.once.Do(func() {
		close(h.quit)
		if reset {
			err = h.st.Reset()
		} else {
			// Close both directions: a server ends the session on EOF.
			err = h.st.Close()
		}
		// Close does not interrupt a blocked read on every transport.
		_ = h.st.SetReadDeadline(deadlineIn(0))
		<-h.done
		h.release()
	})
	return err
}
