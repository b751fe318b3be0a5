package protocol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/sharding"
)

// ReportID is the protocol on which entry nodes tell peers they know of a
// server caught lying: one InferReport frame, then the stream ends.
const ReportID protocol.ID = "/orbit/report/1.0.0"

// Limits of a report.
const (
	// MaxReportAnswers caps the signed answers of a report.
	MaxReportAnswers = 8
	// maxReportFrame caps a report's frame.
	maxReportFrame = 64 << 10
)

// Errors of a report's verdict, matched with errors.Is.
var (
	// ErrBadReport: the report is malformed, a signature does not verify
	// or its answers are not about the same inputs; it proves nothing
	// and its sender is not to be believed.
	ErrBadReport = errors.New("protocol: bad report")
	// ErrUndecided: the report is well formed but proves no one wrong
	// (fewer than two independent answers against the accused's).
	ErrUndecided = errors.New("protocol: report proves no liar")
)

// SignedAnswer is a server's claim about one result and its signature.
type SignedAnswer struct {
	Claim     Claim
	Signature []byte
}

// Report is the evidence against a server: its signed answer (Accused)
// and other servers' signed answers over the same inputs (the same
// model, blocks, end position and input digest) that agree with each
// other and not with it.
type Report struct {
	Accused   SignedAnswer
	Witnesses []SignedAnswer
}

// Verdict checks the report and returns the server it proves a liar.
// Every signature must verify and every answer be over the same inputs;
// the witnesses must be at least two distinct peers other than the
// accused, whose outputs agree with each other and differ from the
// accused's. The reporter's word counts for nothing: with the engine's
// canonical results two honest servers never disagree, so two signed
// answers against one show the one wrong unless two of the three
// colluded. A report failing the checks wraps ErrBadReport; a valid one
// short of witnesses wraps ErrUndecided.
//
// keys, when not nil, gives the public keys of peers whose IDs do not
// embed them (a peerstore's PubKey); nil results fall back to the ID.
func (r Report) Verdict(keys func(peer.ID) crypto.PubKey) (peer.ID, error) {
	a := r.Accused.Claim
	if len(r.Witnesses) == 0 || len(r.Witnesses) > MaxReportAnswers-1 {
		return "", fmt.Errorf("%w: %d witnesses", ErrBadReport, len(r.Witnesses))
	}
	all := append([]SignedAnswer{r.Accused}, r.Witnesses...)
	seen := map[peer.ID]bool{}
	for _, w := range all {
		c := w.Claim
		var pub crypto.PubKey
		if keys != nil {
			pub = keys(c.Peer)
		}
		if err := c.VerifyKey(pub, w.Signature); err != nil {
			return "", fmt.Errorf("%w: %w", ErrBadReport, err)
		}
		if c.Model != a.Model || c.Span != a.Span || c.End() != a.End() || c.In != a.In {
			return "", fmt.Errorf("%w: answers about different inputs", ErrBadReport)
		}
		if seen[c.Peer] {
			return "", fmt.Errorf("%w: %s answers twice", ErrBadReport, c.Peer)
		}
		seen[c.Peer] = true
	}
	out := r.Witnesses[0].Claim.Out
	for _, w := range r.Witnesses {
		if w.Claim.Out != out {
			return "", fmt.Errorf("%w: the witnesses disagree", ErrUndecided)
		}
	}
	if out == a.Out {
		return "", fmt.Errorf("%w: the accused agrees with the witnesses", ErrBadReport)
	}
	if len(r.Witnesses) < 2 {
		return "", fmt.Errorf("%w: one answer against %s's", ErrUndecided, a.Peer)
	}
	return a.Peer, nil
}

func answerToWire(a SignedAnswer) *pb.InferSignedAnswer {
	c := a.Claim
	return &pb.InferSignedAnswer{PeerId: c.Peer.String(), ModelId: c.Model, SessionId: c.Session[:],
		Start: uint32(c.Span.Start), End: uint32(c.Span.End), Seq: c.Seq, Position: uint32(c.Pos), Rows: uint32(c.Rows),
		Proof: proofToWire(&Proof{In: c.In, Out: c.Out, Signature: a.Signature})}
}

func answerFromWire(m *pb.InferSignedAnswer) (SignedAnswer, error) {
	p, err := peer.Decode(m.GetPeerId())
	if err != nil {
		return SignedAnswer{}, fmt.Errorf("%w: answer peer id: %v", ErrBadFrame, err)
	}
	sid, err := sessionIDFromWire(m.GetSessionId())
	if err != nil {
		return SignedAnswer{}, err
	}
	if m.GetModelId() == "" || len(m.GetModelId()) > MaxModelIDLen {
		return SignedAnswer{}, fmt.Errorf("%w: model id of %d bytes", ErrBadFrame, len(m.GetModelId()))
	}
	if m.GetStart() >= m.GetEnd() || m.GetRows() == 0 || m.GetRows() > MaxStepRows {
		return SignedAnswer{}, fmt.Errorf("%w: answer for blocks [%d,%d), %d rows", ErrBadFrame, m.GetStart(), m.GetEnd(), m.GetRows())
	}
	pr, err := proofFromWire(m.GetProof())
	if err != nil {
		return SignedAnswer{}, err
	}
	if pr == nil {
		return SignedAnswer{}, fmt.Errorf("%w: answer without a proof", ErrBadFrame)
	}
	c := Claim{Peer: p, Model: m.GetModelId(), Session: sid, Span: sharding.Span{Start: int(m.GetStart()), End: int(m.GetEnd())},
		Seq: m.GetSeq(), Pos: int(m.GetPosition()), Rows: int(m.GetRows()), In: pr.In, Out: pr.Out}
	return SignedAnswer{Claim: c, Signature: pr.Signature}, nil
}

// ReportToWire is the report's message.
func ReportToWire(r Report) *pb.InferReport {
	m := &pb.InferReport{Answers: []*pb.InferSignedAnswer{answerToWire(r.Accused)}}
	for _, w := range r.Witnesses {
		m.Answers = append(m.Answers, answerToWire(w))
	}
	return m
}

// ReportFromWire decodes a report's message (its shape only: Verdict
// checks the evidence).
func ReportFromWire(m *pb.InferReport) (Report, error) {
	n := len(m.GetAnswers())
	if n < 2 || n > MaxReportAnswers {
		return Report{}, fmt.Errorf("%w: report of %d answers", ErrBadFrame, n)
	}
	var r Report
	for i, am := range m.GetAnswers() {
		a, err := answerFromWire(am)
		if err != nil {
			return Report{}, err
		}
		if i == 0 {
			r.Accused = a
		} else {
			r.Witnesses = append(r.Witnesses, a)
		}
	}
	return r, nil
}

// SendReport sends r to peer p on ReportID.
func SendReport(ctx context.Context, h host.Host, p peer.ID, r Report, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := h.NewStream(ctx, p, ReportID)
	if err != nil {
		return fmt.Errorf("protocol: report to %s: %w", p, err)
	}
	_ = st.SetDeadline(deadlineIn(timeout))
	if err := NewFrameWriter(st, maxReportFrame).WriteMsg(ReportToWire(r)); err != nil {
		_ = st.Reset()
		return fmt.Errorf("protocol: report to %s: %w", p, err)
	}
	return st.Close()
}

// ServeReports registers the ReportID handler: each report received is
// decoded and passed to handle with its sender (handle judges it; see
// Report.Verdict), at most DefaultReportRate per peer. It returns a
// function that removes the handler.
func ServeReports(h host.Host, handle func(from peer.ID, r Report, err error), log *slog.Logger) func() {
	return ServeReportsLimited(h, handle, log, DefaultReportRate)
}

// ServeReportsLimited is ServeReports with the rate of reports each peer
// gets judged (a zero Rate: no limit); a report over it is reset unread.
func ServeReportsLimited(h host.Host, handle func(from peer.ID, r Report, err error), log *slog.Logger, rate RateLimit) func() {
	if log == nil {
		log = slog.Default()
	}
	lim := newPeerLimiter(rate, nil)
	h.SetStreamHandler(ReportID, func(st network.Stream) {
		if !lim.allow(st.Conn().RemotePeer()) {
			_ = st.Reset()
			return
		}
		defer st.Close()
		if err := st.Scope().SetService(ServiceName); err != nil {
			_ = st.Reset()
			return
		}
		if err := st.Scope().ReserveMemory(maxReportFrame, FramePriority); err != nil {
			_ = st.Reset()
			return
		}
		defer st.Scope().ReleaseMemory(maxReportFrame)
		_ = st.SetDeadline(deadlineIn(10 * time.Second))
		var m pb.InferReport
		from := st.Conn().RemotePeer()
		if err := NewFrameReader(st, maxReportFrame).ReadMsg(&m); err != nil {
			log.Debug("bad report frame", "peer", from, "err", err)
			_ = st.Reset()
			return
		}
		r, err := ReportFromWire(&m)
		handle(from, r, err)
	})
	return func() { h.RemoveStreamHandler(ReportID) }
}
