package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node/entry"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// LiarBan is how long a peer shown to have lied stays out of this node's
// routes (a peer that merely failed is avoided for a minute).
const LiarBan = 24 * time.Hour

// maxDisputes caps the disputes a node keeps for its status.
const maxDisputes = 32

// maxReportPeers caps the peers a report is sent to.
const maxReportPeers = 64

// Liar is a peer this node banned for lying.
type Liar struct {
	Peer  peer.ID
	Model string
	Span  sharding.Span
	// Source is "check" (this node's own check found it) or "report"
	// (a report whose signed answers prove it).
	Source string
	// Reporter is the peer that sent the report (Source "report").
	Reporter peer.ID
	At       time.Time
	Until    time.Time
}

// Dispute is a check of this node whose outputs differed.
type Dispute struct {
	At    time.Time
	Model string
	Span  sharding.Span
	Pos   int // the first position whose outputs differed
	// Caught and End are the positions of the step at which the check
	// found it: End-Pos positions went by between the first lie and
	// its detection.
	Caught, End int
	Accused     peer.ID
	Verifier    peer.ID
	Judge       peer.ID // empty when this node verified, or none could judge
	Liar        peer.ID // empty when undecided
	// Report is the signed evidence (nil when a side does not sign);
	// Published says it was sent to the peers this node knows (it needs
	// two signed answers against the liar's).
	Report    *protocol.Report
	Published bool
}

// VerifyStatus is what this node's checks found.
type VerifyStatus struct {
	Checks     int64 // checks by recomputation (passed or not)
	Mismatches int64
	Liars      []Liar
	Disputes   []Dispute      // the latest, oldest first
	Reports    map[string]int // reports received, by verdict (banned, rejected, ignored)
}

// verifier is the node's record of checks, disputes and liars, and the
// /orbit/report/1.0.0 endpoint.
type verifier struct {
	host    host.Host
	clock   clock.Clock
	log     *slog.Logger
	metrics *metrics.Metrics
	ctx     context.Context // the node's: publishing stops with it
	wg      *sync.WaitGroup
	timeout time.Duration

	mu         sync.Mutex
	checks     int64
	mismatches int64
	liars      map[peer.ID]Liar
	disputes   []Dispute
	reports    map[string]int
}

func newVerifier(ctx context.Context, wg *sync.WaitGroup, h host.Host, c clock.Clock, log *slog.Logger, m *metrics.Metrics, timeout time.Duration) *verifier {
	return &verifier{host: h, clock: c, log: log, metrics: m, ctx: ctx, wg: wg, timeout: timeout,
		liars: map[peer.ID]Liar{}, reports: map[string]int{}}
}

// isLiar reports whether p is banned for lying.
func (v *verifier) isLiar(p peer.ID) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, ok := v.liars[p]
	if ok && v.clock.Now().After(l.Until) {
		delete(v.liars, p)
		return false
	}
	return ok
}

func (v *verifier) ban(l Liar) {
	l.At = v.clock.Now()
	l.Until = l.At.Add(LiarBan)
	v.mu.Lock()
	v.liars[l.Peer] = l
	v.mu.Unlock()
	v.log.Warn("peer banned for lying", "peer", l.Peer, "model", l.Model, "span", l.Span, "source", l.Source, "reporter", l.Reporter)
}

func (v *verifier) checked(entry.Checked) {
	v.mu.Lock()
	v.checks++
	v.mu.Unlock()
	v.metrics.AddVerify(1, 0)
}

// mismatch records a dispute, bans its liar and publishes the evidence.
func (v *verifier) mismatch(d Dispute) {
	d.At = v.clock.Now()
	if d.Liar != "" {
		v.ban(Liar{Peer: d.Liar, Model: d.Model, Span: d.Span, Source: "check"})
		if d.Report != nil {
			if _, err := d.Report.Verdict(v.host.Peerstore().PubKey); err == nil {
				d.Published = true
				v.publish(*d.Report, d.Liar)
			}
		}
	}
	v.mu.Lock()
	v.checks++
	v.mismatches++
	v.disputes = append(v.disputes, d)
	if len(v.disputes) > maxDisputes {
		v.disputes = v.disputes[len(v.disputes)-maxDisputes:]
	}
	v.mu.Unlock()
	v.metrics.AddVerify(1, 1)
}

// publish sends r to the peers this node is connected to, but the liar,
// in the background.
func (v *verifier) publish(r protocol.Report, liar peer.ID) {
	if v.ctx.Err() != nil {
		return // the node is closing
	}
	var to []peer.ID
	for _, p := range v.host.Network().Peers() {
		if p != liar && p != v.host.ID() && len(to) < maxReportPeers {
			to = append(to, p)
		}
	}
	for _, p := range to {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			if err := protocol.SendReport(v.ctx, v.host, p, r, v.timeout); err != nil {
				v.log.Debug("report not sent", "peer", p, "err", err)
			}
		}()
	}
}

// receive judges a report from another peer: it bans the accused only
// when the report's signed answers prove it wrong (Report.Verdict), never
// on the reporter's word.
func (v *verifier) receive(from peer.ID, r protocol.Report, err error) {
	var liar peer.ID
	if err == nil {
		liar, err = r.Verdict(v.host.Peerstore().PubKey)
	}
	verdict := "banned"
	switch {
	case errors.Is(err, protocol.ErrUndecided):
		verdict = "ignored"
	case err != nil:
		verdict = "rejected"
	case liar == v.host.ID():
		verdict, err = "ignored", errors.New("the report accuses this node")
	}
	v.mu.Lock()
	v.reports[verdict]++
	v.mu.Unlock()
	v.metrics.CountReport(verdict)
	if err != nil {
		v.log.Info("report not acted on", "from", from, "verdict", verdict, "err", err)
		return
	}
	v.ban(Liar{Peer: liar, Model: r.Accused.Claim.Model, Span: r.Accused.Claim.Span, Source: "report", Reporter: from})
}

func (v *verifier) status() VerifyStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := VerifyStatus{Checks: v.checks, Mismatches: v.mismatches, Disputes: append([]Dispute(nil), v.disputes...), Reports: map[string]int{}}
	for _, l := range v.liars {
		st.Liars = append(st.Liars, l)
	}
	for k, n := range v.reports {
		st.Reports[k] = n
	}
	return st
}

// VerifyStatus returns what this node's checks and the reports it
// received found.
func (n *Node) VerifyStatus() VerifyStatus { return n.verify.status() }

// checkSignature checks a result's proof when the hop's session signs
// (an old server does not: its results are checkable by recomputation
// only).
func (g *generation) checkSignature(c *hopConn, seq uint64, res protocol.Result) error {
	if !c.conn.Opened.Signs {
		return nil
	}
	p := res.Proof
	if p == nil {
		return fmt.Errorf("%w: %s signs its results but sent none for step %d", protocol.ErrBadProof, c.conn.Peer, seq)
	}
	cl := protocol.Claim{Peer: c.conn.Peer, Model: g.model, Session: c.conn.Opened.Session, Span: c.span,
		Seq: seq, Pos: res.Pos, Rows: res.Hidden.Rows, In: p.In, Out: p.Out}
	return cl.VerifyKey(g.n.host.Peerstore().PubKey(c.conn.Peer), p.Signature)
}

// signed is a's signed answer, when its session signs.
func (g *generation) signed(a entry.Answer) (protocol.SignedAnswer, bool) {
	c := g.conns[a.Hop]
	if a.Proof == nil || c == nil {
		return protocol.SignedAnswer{}, false
	}
	return protocol.SignedAnswer{Claim: protocol.Claim{Peer: a.Peer, Model: g.model, Session: c.conn.Opened.Session, Span: a.Span,
		Seq: a.Seq, Pos: a.Pos, Rows: a.Rows, In: a.Proof.In, Out: a.Proof.Out}, Signature: a.Proof.Signature}, true
}

// evidence is the dispute of a mismatch, with the report against its
// liar when every side signed.
func (g *generation) evidence(m entry.Mismatch) Dispute {
	d := Dispute{Model: g.model, Span: m.Span, Pos: m.Pos, Caught: m.Accused.Pos, End: m.Accused.Pos + m.Accused.Rows,
		Accused: m.Accused.Peer, Verifier: m.Verifier.Peer, Liar: m.Liar}
	answers := []entry.Answer{m.Accused, m.Verifier}
	if m.Judge != nil {
		d.Judge = m.Judge.Peer
		answers = append(answers, *m.Judge)
	}
	if m.Liar == "" {
		return d
	}
	var r protocol.Report
	found := false
	for _, a := range answers {
		sa, ok := g.signed(a)
		if !ok {
			return d
		}
		if a.Peer == m.Liar && !found {
			r.Accused, found = sa, true
		} else {
			r.Witnesses = append(r.Witnesses, sa)
		}
	}
	if found {
		d.Report = &r
	}
	return d
}
