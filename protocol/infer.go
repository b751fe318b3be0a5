package protocol

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/internal/enum"
	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/sharding"
)

// Protocol IDs. The version is part of the ID: an incompatible change gets
// a new one, and both can be served side by side.
const (
	InferID protocol.ID = "/orbit/infer/1.0.0"
	InfoID  protocol.ID = "/orbit/info/1.0.0"
)

// ServiceName is the resource-manager service of Orbit's streams.
const ServiceName = "orbit.infer"

// FramePriority is the resource-manager priority of a stream handler's
// frame reservation: it fails once a scope is 80% full, so the last fifth
// of a peer's (and the node's) memory stays for what the connection itself
// needs, the muxer's stream windows above all. With ReservationPriorityAlways
// a peer that holds many streams open filled its scope to the limit; the
// muxer could then reserve no window for the next stream, and new streams
// stalled, other peers' included.
const FramePriority = network.ReservationPriorityHigh

// Limits of the infer protocol.
const (
	// MaxFrame caps one frame; an entry node sizes its prefill steps to
	// fit (256 rows of a 4096-wide model in f16).
	MaxFrame = 2 << 20
	// MaxStepRows caps the positions of one step.
	MaxStepRows = 512
	// MaxRouteAddrs caps the addresses of a next hop.
	MaxRouteAddrs = 32
	// MaxModelIDLen caps a model ID.
	MaxModelIDLen = 256
)

// SessionID names a session on a server. It is random and unguessable: it
// is also the capability a previous hop presents to push steps into it.
type SessionID [16]byte

// NewSessionID returns a random session ID.
func NewSessionID() SessionID {
	var id SessionID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	return id
}

func (id SessionID) String() string { return hex.EncodeToString(id[:8]) }

func sessionIDFromWire(b []byte) (SessionID, error) {
	var id SessionID
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: session id of %d bytes, want %d", ErrBadFrame, len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}

// NextHop is where a server pushes its outputs.
type NextHop struct {
	Peer    peer.ID
	Addrs   []ma.Multiaddr
	Session SessionID
}

// OpenRequest opens a session on a server.
type OpenRequest struct {
	Model     string
	Span      sharding.Span
	MaxLength int
	Encodings []Encoding // acceptable, preferred first; empty means DefaultEncoding
	Next      *NextHop   // nil on the last hop
	// Sign asks the server to sign every result (Result.Proof); a server
	// that does not know the capability ignores it (Opened.Signs false).
	Sign bool
	// Truncate asks for the truncate capability (Hop.Truncate, for
	// speculative decoding's rollback); a server that does not know it
	// ignores it (Opened.Truncates false) and still serves plain steps.
	Truncate bool
}

// Opened is a server's answer to OpenRequest.
type Opened struct {
	Session  SessionID
	Encoding Encoding
	Dim      int
	Signs    bool // every result carries a Proof
	// Truncates: the session takes Hop.Truncate.
	Truncates bool
}

// Truncater is a ComputeSession whose KV cache can forget positions: a
// server grants the truncate capability on its sessions.
type Truncater interface {
	// Truncate forgets every position from n on (a no-op when the
	// session holds n positions or fewer).
	Truncate(n int)
}

// Hidden is a batch of encoded hidden-state rows as they travel.
type Hidden struct {
	Encoding Encoding
	Rows     int
	Dim      int
	Data     []byte
}

// Decode decodes h into dst (grown as needed), checking it against the
// expected encoding, rows and dimension.
func (h Hidden) Decode(dst []float32, enc Encoding, rows, dim int) ([]float32, error) {
	if h.Encoding != enc || h.Rows != rows || h.Dim != dim {
		return dst, fmt.Errorf("%w: got %d rows of %d in %v, want %d rows of %d in %v", ErrBadHidden, h.Rows, h.Dim, h.Encoding, rows, dim, enc)
	}
	return DecodeHidden(dst, h.Encoding, h.Data, h.Rows, h.Dim)
}

// EncodeRows encodes x (rows of dim values) in e.
func EncodeRows(e Encoding, x []float32, dim int) (Hidden, error) {
	b, err := EncodeHidden(nil, e, x, dim)
	if err != nil {
		return Hidden{}, err
	}
	return Hidden{Encoding: e, Rows: len(x) / dim, Dim: dim, Data: b}, nil
}

// Step carries hidden states of consecutive positions into a session.
type Step struct {
	Seq     uint64 // increasing per session; a server ignores stale ones
	Pos     int    // position of the first row
	Hidden  Hidden
	Forward int // further hops the output is pushed through
}

// Result is a server's output for one step.
type Result struct {
	Seq       uint64
	Pos       int
	Hidden    Hidden
	PushError string // non-empty: the push to the next hop failed
	// Compute and Queue are how the server spent the step: engine time
	// (of the batch the step ran in) and time waiting for the engine.
	// Zero when the server does not report them.
	Compute time.Duration
	Queue   time.Duration
	// Proof is the server's signed claim about the result, when the
	// session signs (see Claim).
	Proof *Proof
}

// StepTiming is how a server spent one step.
type StepTiming struct {
	Compute time.Duration // engine time of the batch the step ran in
	Queue   time.Duration // waiting for the engine (batching, other batches)
}

// TimedSession is a ComputeSession that reports how its last Forward was
// spent. A server whose sessions do not implement it reports the whole
// Forward call as compute time.
type TimedSession interface {
	LastTiming() StepTiming
}

// ErrorCode classifies a server's error.
type ErrorCode int

// Error codes a server reports.
const (
	CodeInternal     ErrorCode = ErrorCode(pb.InferErrorCode_INFER_ERROR_CODE_INTERNAL)
	CodeBadRequest   ErrorCode = ErrorCode(pb.InferErrorCode_INFER_ERROR_CODE_BAD_REQUEST)
	CodeUnknownModel ErrorCode = ErrorCode(pb.InferErrorCode_INFER_ERROR_CODE_UNKNOWN_MODEL)
	CodeCacheFull    ErrorCode = ErrorCode(pb.InferErrorCode_INFER_ERROR_CODE_CACHE_FULL)
	CodeShuttingDown ErrorCode = ErrorCode(pb.InferErrorCode_INFER_ERROR_CODE_SHUTTING_DOWN)
	CodeBadPush      ErrorCode = ErrorCode(pb.InferErrorCode_INFER_ERROR_CODE_BAD_PUSH)
	CodeIdle         ErrorCode = ErrorCode(pb.InferErrorCode_INFER_ERROR_CODE_IDLE)
)

func (c ErrorCode) String() string {
	s := pb.InferErrorCode(c).String()
	const p = "INFER_ERROR_CODE_"
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// ParseErrorCode is the inverse of ErrorCode.String for the codes a server
// reports ("CACHE_FULL", ...).
func ParseErrorCode(s string) (ErrorCode, error) {
	return enum.Parse("protocol: error code", s, CodeInternal, CodeBadRequest, CodeUnknownModel, CodeCacheFull, CodeShuttingDown, CodeBadPush, CodeIdle)
}

// MarshalText writes c as String does.
func (c ErrorCode) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads c as ParseErrorCode does.
func (c *ErrorCode) UnmarshalText(b []byte) error { return enum.Unmarshal(c, b, ParseErrorCode) }

// Errors a server's refusal wraps, matched with errors.Is.
var (
	ErrUnknownModel = errors.New("protocol: model not served")
	ErrCacheFull    = errors.New("protocol: KV cache full")
	ErrShuttingDown = errors.New("protocol: server shutting down")
	ErrBadRequest   = errors.New("protocol: bad request")
)

// RemoteError is an error a server reported.
type RemoteError struct {
	Code    ErrorCode
	Message string
	Seq     uint64
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("protocol: remote %s: %s", e.Code, e.Message)
}

// Is maps codes onto the package's sentinel errors.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case ErrUnknownModel:
		return e.Code == CodeUnknownModel
	case ErrCacheFull:
		return e.Code == CodeCacheFull
	case ErrShuttingDown:
		return e.Code == CodeShuttingDown
	case ErrBadRequest:
		return e.Code == CodeBadRequest
	}
	return false
}

func codeOf(err error) ErrorCode {
	var re *RemoteError
	switch {
	case errors.As(err, &re):
		return re.Code
	case errors.Is(err, ErrUnknownModel):
		return CodeUnknownModel
	case errors.Is(err, ErrCacheFull):
		return CodeCacheFull
	case errors.Is(err, ErrShuttingDown):
		return CodeShuttingDown
	case errors.Is(err, ErrBadRequest), errors.Is(err, ErrBadHidden), errors.Is(err, engine.ErrBadInput), errors.Is(err, ErrBadFrame):
		return CodeBadRequest
	}
	return CodeInternal
}

// --- wire conversion: the generated types never leave this package ---

func encodingToWire(e Encoding) pb.HiddenEncoding { return pb.HiddenEncoding(e) }

func encodingFromWire(e pb.HiddenEncoding) (Encoding, error) {
	enc := Encoding(e)
	if !enc.Valid() {
		return 0, fmt.Errorf("%w: unknown hidden-state encoding %d", ErrBadFrame, int32(e))
	}
	return enc, nil
}

func hiddenToWire(h Hidden) *pb.InferHidden {
	return &pb.InferHidden{Encoding: encodingToWire(h.Encoding), Rows: uint32(h.Rows), Dim: uint32(h.Dim), Data: h.Data}
}

// hiddenFromWire checks the shape and size (not the values, which Decode
// checks) so that a wrong shape is caught before any work.
func hiddenFromWire(m *pb.InferHidden) (Hidden, error) {
	if m == nil {
		return Hidden{}, fmt.Errorf("%w: missing hidden states", ErrBadFrame)
	}
	enc, err := encodingFromWire(m.GetEncoding())
	if err != nil {
		return Hidden{}, err
	}
	h := Hidden{Encoding: enc, Rows: int(m.GetRows()), Dim: int(m.GetDim()), Data: m.GetData()}
	if h.Rows <= 0 || h.Rows > MaxStepRows {
		return Hidden{}, fmt.Errorf("%w: %d rows (1..%d)", ErrBadHidden, h.Rows, MaxStepRows)
	}
	size, err := enc.EncodedSize(h.Rows, h.Dim)
	if err != nil {
		return Hidden{}, err
	}
	if size != len(h.Data) {
		return Hidden{}, fmt.Errorf("%w: %d rows of %d in %v need %d bytes, got %d", ErrBadHidden, h.Rows, h.Dim, enc, size, len(h.Data))
	}
	return h, nil
}

func nextToWire(n *NextHop) *pb.InferNextHop {
	if n == nil {
		return nil
	}
	m := &pb.InferNextHop{PeerId: n.Peer.String(), SessionId: n.Session[:]}
	for _, a := range n.Addrs {
		m.Addrs = append(m.Addrs, a.Bytes())
	}
	return m
}

func nextFromWire(m *pb.InferNextHop) (*NextHop, error) {
	if m == nil {
		return nil, nil
	}
	p, err := peer.Decode(m.GetPeerId())
	if err != nil {
		return nil, fmt.Errorf("%w: next hop peer id: %v", ErrBadFrame, err)
	}
	sid, err := sessionIDFromWire(m.GetSessionId())
	if err != nil {
		return nil, err
	}
	if len(m.GetAddrs()) > MaxRouteAddrs {
		return nil, fmt.Errorf("%w: %d next-hop addresses (max %d)", ErrBadFrame, len(m.GetAddrs()), MaxRouteAddrs)
	}
	n := &NextHop{Peer: p, Session: sid}
	for _, b := range m.GetAddrs() {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%w: next hop address: %v", ErrBadFrame, err)
		}
		n.Addrs = append(n.Addrs, a)
	}
	return n, nil
}

func openToWire(r OpenRequest) *pb.InferOpen {
	m := &pb.InferOpen{ModelId: r.Model, Start: uint32(r.Span.Start), End: uint32(r.Span.End), MaxLength: uint32(r.MaxLength), Next: nextToWire(r.Next), Sign: r.Sign, Truncate: r.Truncate}
	for _, e := range r.Encodings {
		m.Encodings = append(m.Encodings, encodingToWire(e))
	}
	return m
}

func openFromWire(m *pb.InferOpen) (OpenRequest, error) {
	r := OpenRequest{Model: m.GetModelId(), Span: sharding.Span{Start: int(m.GetStart()), End: int(m.GetEnd())}, MaxLength: int(m.GetMaxLength()), Sign: m.GetSign(), Truncate: m.GetTruncate()}
	if r.Model == "" || len(r.Model) > MaxModelIDLen {
		return r, fmt.Errorf("%w: model id of %d bytes", ErrBadRequest, len(r.Model))
	}
	if r.Span.Start >= r.Span.End {
		return r, fmt.Errorf("%w: empty span %v", ErrBadRequest, r.Span)
	}
	if r.MaxLength <= 0 {
		return r, fmt.Errorf("%w: max length %d", ErrBadRequest, r.MaxLength)
	}
	if len(m.GetEncodings()) > 8 {
		return r, fmt.Errorf("%w: %d encodings offered", ErrBadRequest, len(m.GetEncodings()))
	}
	for _, e := range m.GetEncodings() {
		if enc := Encoding(e); enc.Valid() {
			r.Encodings = append(r.Encodings, enc)
		}
	}
	next, err := nextFromWire(m.GetNext())
	if err != nil {
		return r, err
	}
	r.Next = next
	return r, nil
}

func stepToWire(s Step) *pb.InferStep {
	return &pb.InferStep{Seq: s.Seq, Position: uint32(s.Pos), Hidden: hiddenToWire(s.Hidden), Forward: uint32(s.Forward)}
}

func stepFromWire(m *pb.InferStep) (Step, error) {
	if m == nil {
		return Step{}, fmt.Errorf("%w: missing step", ErrBadFrame)
	}
	h, err := hiddenFromWire(m.GetHidden())
	if err != nil {
		return Step{}, err
	}
	if m.GetForward() > 1024 {
		return Step{}, fmt.Errorf("%w: forward count %d", ErrBadFrame, m.GetForward())
	}
	return Step{Seq: m.GetSeq(), Pos: int(m.GetPosition()), Hidden: h, Forward: int(m.GetForward())}, nil
}

func resultToWire(r Result) *pb.InferResult {
	return &pb.InferResult{Seq: r.Seq, Position: uint32(r.Pos), Hidden: hiddenToWire(r.Hidden), PushError: r.PushError,
		ComputeNs: durationToWire(r.Compute), QueueNs: durationToWire(r.Queue), Proof: proofToWire(r.Proof)}
}

func resultFromWire(m *pb.InferResult) (Result, error) {
	h, err := hiddenFromWire(m.GetHidden())
	if err != nil {
		return Result{}, err
	}
	proof, err := proofFromWire(m.GetProof())
	if err != nil {
		return Result{}, err
	}
	return Result{Seq: m.GetSeq(), Pos: int(m.GetPosition()), Hidden: h, PushError: m.GetPushError(),
		Compute: durationFromWire(m.GetComputeNs()), Queue: durationFromWire(m.GetQueueNs()), Proof: proof}, nil
}

func durationToWire(d time.Duration) uint64 { return uint64(max(d, 0)) }

// durationFromWire caps a reported duration at an hour: a peer's number
// is informative only and must not overflow anything downstream.
func durationFromWire(ns uint64) time.Duration {
	return time.Duration(min(ns, uint64(time.Hour)))
}

func errorToWire(err error, seq uint64) *pb.InferResponse {
	return &pb.InferResponse{Msg: &pb.InferResponse_Error{Error: &pb.InferError{
		Code: pb.InferErrorCode(codeOf(err)), Message: err.Error(), Seq: seq,
	}}}
}

func errorFromWire(m *pb.InferError) *RemoteError {
	code := ErrorCode(m.GetCode())
	if _, ok := pb.InferErrorCode_name[int32(code)]; !ok || code == 0 {
		code = CodeInternal
	}
	msg := m.GetMessage()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	return &RemoteError{Code: code, Message: msg, Seq: m.GetSeq()}
}
