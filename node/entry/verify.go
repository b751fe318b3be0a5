package entry

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// Verification by recomputation.
//
// After a hop's result, the core draws (with the seeded generator, at
// Config.VerifyRate) whether to check the hop at this step. A check
// replays every input the hop received since its last check, in batches
// of up to Chunk rows, into a shadow session of the same blocks on
// another server (the entry node's own when it serves them), and
// compares the shadow's outputs with the hop's, byte for byte: the
// engine's result is canonical, so honest servers agree exactly. The
// shadow stays open, so its KV cache follows the hop's, and each check
// covers every row since the previous one: prefill and decode steps
// alike. The checked peer sees nothing of it.
//
// Outputs that differ need a third opinion, unless the entry node itself
// was the verifier: a judge session on a third server is given all the
// hop's inputs and sides with one of the two. The liar is banned and
// reported (Mismatch, with the three signed answers), and when the hop
// lied, it and every hop after it (whose caches saw its outputs) are
// replaced and replayed, so the generation goes on exactly as an honest
// route computes it. A judge that agrees with neither leaves the dispute
// undecided: the three are excluded from the generation and none is
// banned. Without a third server the generation fails (ErrUnverified).

// Answer is one server's signed answer: the claim of its result at step
// Seq over rows Pos..Pos+Rows of Span, with the proof it sent (nil when
// its session does not sign). The driver knows the session and model of
// Hop and so the whole protocol.Claim.
type Answer struct {
	Hop   HopID
	Peer  peer.ID
	Span  sharding.Span
	Seq   uint64
	Pos   int
	Rows  int
	Proof *protocol.Proof
}

// Checked reports a check that passed: Verifier recomputed Rows rows of
// Peer's outputs for blocks Span and got the same bytes.
type Checked struct {
	Peer, Verifier peer.ID
	Span           sharding.Span
	Rows           int
}

// Mismatch reports outputs of a hop and its verifier that differ from
// position Pos on, and the verdict: Liar is the server shown wrong (the
// verifier's side when the entry node verified itself, else the side
// the judge disagreed with), or empty when undecided. The answers are
// each side's last, at the same end position and over the same inputs.
type Mismatch struct {
	Span     sharding.Span
	Pos      int
	Accused  Answer
	Verifier Answer
	Judge    *Answer // nil when the entry node verified, or no judge answered
	Liar     peer.ID
}

// VerifyStats count a generation's checks.
type VerifyStats struct {
	Checks     int           // checks completed (passed or not)
	Mismatches int           // checks whose outputs differed
	Skipped    int           // checks drawn but not run: no verifier could be had
	Rows       int           // rows recomputed by verifiers and judges
	Time       time.Duration // the generation's time spent checking
}

func (a Checked) String() string {
	return fmt.Sprintf("checked %s%v by %s rows=%d", a.Peer, a.Span, a.Verifier, a.Rows)
}

func (a Mismatch) String() string {
	return fmt.Sprintf("mismatch %v pos=%d accused=%s verifier=%s liar=%s", a.Span, a.Pos, a.Accused.Peer, a.Verifier.Peer, a.Liar)
}

// check is the state of the check running.
type check struct {
	i       int             // the hop checked, in c.hops
	out     protocol.Hidden // its output of the step, to go on with
	began   time.Time
	v       *hop // the session replayed into: the shadow, or the judge
	judging bool
	shadow  *hop // while judging: the shadow that disagreed
	a, b    int  // the batch in flight: the hop's inputs a..b-1
	seq     uint64
	pos     int
	rows    int
	// first is the index of the first input whose outputs differed
	// between the hop and the shadow (-1: none), shadowOut the shadow's
	// output of it; judgeBad says the judge differed from the hop.
	first     int
	shadowOut []byte
	judgeBad  bool
	judgeSide bool // the judge agreed with the shadow at first
}

// extendChain extends a digest chain by positions (see
// protocol.ChainRows) with r, written over any positions from r.pos on.
func extendChain(ch []protocol.Digest, r record) []protocol.Digest {
	if len(ch) == 0 {
		ch = append(ch, protocol.Digest{})
	}
	if r.pos < 0 || r.pos >= len(ch) || r.h.Rows <= 0 {
		return ch // a gap cannot happen: inputs come in order
	}
	return append(ch[:r.pos+1], protocol.ChainRows(ch[r.pos], r.h.Data, r.h.Rows)...)
}

// rollbackChecks forgets the hop's outputs, digests and checks from
// position n on; a shadow is taken back too (its next check replays from
// there, over the positions it computed before).
func (h *hop) rollbackChecks(n int) {
	h.outputs = truncate(h.outputs, n)
	if len(h.inCh) > n+1 {
		h.inCh = h.inCh[:n+1]
	}
	if len(h.outCh) > n+1 {
		h.outCh = h.outCh[:n+1]
	}
	h.checked = min(h.checked, n)
	if s := h.shadow; s != nil {
		s.fed = min(s.fed, n)
		if len(s.outCh) > n+1 {
			s.outCh = s.outCh[:n+1]
		}
	}
}

// checkProof checks a signed result of session v against what the entry
// node knows: the inputs' chain of hop in (v's own, or the hop v
// shadows) and v's outputs' chain, with the result's rows just recorded;
// it keeps the proof as v's last answer. The signature itself the driver
// has checked.
func (c *Core) checkProof(v, in *hop, seq uint64, res protocol.Result) error {
	end := res.Pos + res.Hidden.Rows
	v.answer = Answer{Hop: v.ID, Peer: v.Peer, Span: v.Span, Seq: seq, Pos: res.Pos, Rows: res.Hidden.Rows, Proof: res.Proof}
	p := res.Proof
	if p == nil {
		return nil
	}
	if end >= len(in.inCh) || end >= len(v.outCh) || p.In != in.inCh[end] || p.Out != v.outCh[end] {
		return fmt.Errorf("%w: %s signed digests that are not those of its inputs and outputs", protocol.ErrBadProof, v.Peer)
	}
	return nil
}

// drawCheck draws whether to check hop h at this step.
func (c *Core) drawCheck(h *hop) bool {
	if c.cfg.VerifyRate <= 0 {
		return false
	}
	x := c.rng.Float64()
	return h.Peer != c.cfg.Self && x < c.cfg.VerifyRate
}

// beginCheck checks hop i, whose output of the step is out.
func (c *Core) beginCheck(now time.Time, i int, out protocol.Hidden) {
	h := c.hops[i]
	c.chk = check{i: i, out: out, began: now, first: -1}
	if h.shadow != nil {
		c.chk.v = h.shadow
		c.feedFrom(now, h.shadow.fed)
		return
	}
	c.phase = phaseCheckView
	c.emit(FetchView{})
}

// pickServer picks a server serving all of span, not in excl, banned,
// excluded or failed as a verifier: the entry node itself when it can,
// else one drawn at random.
func (c *Core) pickServer(v ViewUpdate, span sharding.Span, excl ...peer.ID) (peer.ID, bool) {
	var cands []peer.ID
	for _, s := range v.Swarm.Servers {
		p, ok := v.Peers[s.ID]
		if !ok || s.Span.Start > span.Start || s.Span.End < span.End || v.Banned[s.ID] || c.exclude[s.ID] || c.noVerify[s.ID] || slices.Contains(excl, p) {
			continue
		}
		if s.FreeCache > 0 && s.FreeCache < c.cfg.MaxLen {
			continue
		}
		if p == c.cfg.Self {
			return p, true
		}
		cands = append(cands, p)
	}
	if len(cands) == 0 {
		return "", false
	}
	slices.Sort(cands)
	return cands[c.rng.IntN(len(cands))], true
}

func (c *Core) onCheckView(now time.Time, v ViewUpdate) {
	h := c.hops[c.chk.i]
	excl := []peer.ID{h.Peer}
	if c.chk.judging {
		excl = append(excl, c.chk.shadow.Peer)
	}
	p, ok := c.pickServer(v, h.Span, excl...)
	if !ok {
		c.noCheckServer(now)
		return
	}
	c.chk.v = c.newHop(RouteHop{Peer: p, Span: h.Span})
	c.chk.v.pace.priorFromView(v.Swarm.Servers, p.String(), h.Span)
	c.phase = phaseCheckOpen
	c.emit(Open{Hops: []Hop{c.chk.v.Hop}, Tail: NoHop})
}

// noCheckServer goes on without a verifier (the check is skipped) or
// without a judge (the generation cannot be trusted).
func (c *Core) noCheckServer(now time.Time) {
	if !c.chk.judging {
		c.verify.Skipped++
		h := c.hops[c.chk.i]
		if !h.unchecked {
			h.unchecked = true
			c.log.Info("no other server of the span to check this hop on; its checks are skipped", "hop", h.Peer, "span", h.Span)
		} else {
			c.log.Debug("no verifier for a check", "hop", h.Peer, "span", h.Span)
		}
		c.resume(now)
		return
	}
	h, s := c.hops[c.chk.i], c.chk.shadow
	m := c.mismatch(nil)
	c.verify.Mismatches++
	c.emit(m)
	c.emit(Reset{Hop: s.ID})
	h.shadow = nil
	c.fail(fmt.Errorf("%w: %s and %s disagree on blocks %v from position %d, and no third server can judge", ErrUnverified, h.Peer, s.Peer, h.Span, m.Pos))
}

func (c *Core) onCheckOpened(now time.Time) {
	v := c.chk.v
	v.fed = 0
	if !c.chk.judging {
		c.hops[c.chk.i].shadow = v
	}
	c.feedFrom(now, 0)
}

func (c *Core) onCheckOpenFailed(now time.Time, err error) {
	v := c.chk.v
	c.log.Info("verifier refused or unreachable", "peer", v.Peer, "span", v.Span, "err", err)
	c.noVerify[v.Peer.String()] = true
	c.phase = phaseCheckView
	c.emit(FetchView{})
}

// feedFrom replays the checked hop's inputs from position pos on into
// the check's session.
func (c *Core) feedFrom(now time.Time, pos int) {
	in := c.hops[c.chk.i].inputs
	a := 0
	for a < len(in) && in[a].pos+in[a].h.Rows <= pos {
		a++
	}
	c.chk.a = a
	c.feed(now)
}

// feed sends the next batch of the check's replay, or ends the check.
func (c *Core) feed(now time.Time) {
	h, v := c.hops[c.chk.i], c.chk.v
	if c.chk.a >= len(h.inputs) {
		c.checkDone(now)
		return
	}
	b, st := c.batch(h.inputs, c.chk.a)
	c.chk.b, c.chk.seq, c.chk.pos, c.chk.rows = b, st.Seq, st.Pos, st.Hidden.Rows
	c.phase = phaseChecking
	c.emit(Send{Hop: v.ID, Step: st})
	c.await(now, v, st.Seq, st.Hidden.Rows)
}

func (c *Core) onCheckResult(now time.Time, res protocol.Result) {
	h, v := c.hops[c.chk.i], c.chk.v
	rows := c.chk.rows
	if res.Pos != c.chk.pos || res.Hidden.Rows != rows || len(res.Hidden.Data)%rows != 0 {
		c.verifierFailed(now, fmt.Errorf("%w: check result of %d rows at position %d, want %d at %d", protocol.ErrBadHidden, res.Hidden.Rows, res.Pos, rows, c.chk.pos))
		return
	}
	v.outCh = extendChain(v.outCh, record{pos: res.Pos, h: res.Hidden})
	if err := c.checkProof(v, h, c.chk.seq, res); err != nil {
		c.verifierFailed(now, err)
		return
	}
	c.verify.Rows += rows
	rb := len(res.Hidden.Data) / rows
	off := 0
	for j := c.chk.a; j < c.chk.b; j++ {
		r := h.inputs[j]
		got := res.Hidden.Data[off : off+r.h.Rows*rb]
		off += r.h.Rows * rb
		same := j < len(h.outputs) && h.outputs[j].pos == r.pos && bytes.Equal(h.outputs[j].h.Data, got)
		switch {
		case !c.chk.judging:
			if !same && c.chk.first < 0 {
				c.chk.first, c.chk.shadowOut = j, append([]byte(nil), got...)
			}
		default:
			c.chk.judgeBad = c.chk.judgeBad || !same
			if j == c.chk.first {
				c.chk.judgeSide = bytes.Equal(got, c.chk.shadowOut)
			}
		}
	}
	v.fed = res.Pos + rows
	c.chk.a = c.chk.b
	c.feed(now)
}

// verifierFailed drops a verifier or judge that failed (not a liar
// shown: its stream ended, it timed out or sent a bad shape or proof)
// and goes on: without the check, or with another judge.
func (c *Core) verifierFailed(now time.Time, err error) {
	v := c.chk.v
	c.log.Info("verifier failed", "peer", v.Peer, "span", v.Span, "err", err)
	c.noVerify[v.Peer.String()] = true
	c.emit(Reset{Hop: v.ID})
	h := c.hops[c.chk.i]
	if h.shadow == v {
		h.shadow = nil
	}
	if c.chk.judging {
		c.phase = phaseCheckView
		c.emit(FetchView{})
		return
	}
	c.verify.Skipped++
	c.resume(now)
}

// mismatch is the report of the check's dispute, with the judge's
// answer if there is one.
func (c *Core) mismatch(judge *hop) Mismatch {
	h := c.hops[c.chk.i]
	s := c.chk.v
	if c.chk.judging {
		s = c.chk.shadow
	}
	m := Mismatch{Span: h.Span, Accused: h.answer, Verifier: s.answer}
	if c.chk.first >= 0 && c.chk.first < len(h.inputs) {
		m.Pos = h.inputs[c.chk.first].pos
	}
	if judge != nil {
		a := judge.answer
		m.Judge = &a
	}
	return m
}

// checkDone ends a check whose replay is complete.
func (c *Core) checkDone(now time.Time) {
	h, v := c.hops[c.chk.i], c.chk.v
	if !c.chk.judging {
		c.verify.Checks++
	}
	end := 0
	if k := len(h.inputs); k > 0 {
		end = h.inputs[k-1].pos + h.inputs[k-1].h.Rows
	}
	switch {
	case !c.chk.judging && c.chk.first < 0:
		h.checked = end
		c.emit(Checked{Peer: h.Peer, Verifier: v.Peer, Span: h.Span, Rows: end})
		c.resume(now)
	case !c.chk.judging && v.Peer == c.cfg.Self:
		// The entry node computed it: it is the judge.
		c.convict(now, c.mismatch(nil))
	case !c.chk.judging:
		c.log.Info("check mismatch: asking a judge", "hop", h.Peer, "verifier", v.Peer, "span", h.Span)
		c.chk.judging, c.chk.shadow = true, v
		c.phase = phaseCheckView
		c.emit(FetchView{})
	case !c.chk.judgeBad:
		// The judge agrees with the hop: the verifier lied. The judge,
		// in sync with the hop, shadows it from now on.
		s := c.chk.shadow
		m := c.mismatch(v)
		m.Liar = s.Peer
		c.verify.Mismatches++
		c.emit(m)
		c.emit(Reset{Hop: s.ID})
		c.noVerify[s.Peer.String()] = true
		c.emit(Ban{Peer: s.Peer})
		h.shadow, h.checked = v, end
		c.resume(now)
	case c.chk.judgeSide:
		c.convict(now, c.mismatch(v))
	default:
		// Three answers, no two alike: at most one is honest and none
		// can be shown to be. Route around all three, ban none.
		s := c.chk.shadow
		m := c.mismatch(v)
		c.verify.Mismatches++
		c.emit(m)
		c.emit(Reset{Hop: s.ID})
		c.emit(Reset{Hop: v.ID})
		h.shadow = nil
		for _, p := range []peer.ID{h.Peer, s.Peer, v.Peer} {
			c.exclude[p.String()] = true
		}
		c.replaceFrom(c.chk.i)
	}
}

// convict bans the checked hop, shown to have lied, and replaces it and
// every hop after it (their caches hold what its lies led to).
func (c *Core) convict(now time.Time, m Mismatch) {
	h := c.hops[c.chk.i]
	m.Liar = h.Peer
	c.verify.Mismatches++
	c.verify.Time += now.Sub(c.chk.began)
	c.emit(m)
	if c.chk.judging {
		c.emit(Reset{Hop: c.chk.v.ID})
	}
	c.log.Info("hop lied", "hop", h.Peer, "span", h.Span, "from_pos", m.Pos)
	c.exclude[h.Peer.String()] = true
	c.emit(Ban{Peer: h.Peer})
	c.replaceFrom(c.chk.i)
}

// replaceFrom resets hops i.. and replaces them.
func (c *Core) replaceFrom(i int) {
	for _, x := range c.hops[i:] {
		c.emit(Reset{Hop: x.ID})
	}
	c.replace(i, len(c.hops))
}

// resume goes on with the step after the check.
func (c *Core) resume(now time.Time) {
	c.verify.Time += now.Sub(c.chk.began)
	c.step.mark = now
	i, out := c.chk.i, c.chk.out
	c.chk = check{}
	c.advance(now, i+1, out)
}
