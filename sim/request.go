package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/orbitswarm/orbit/sharding"
)

// reqState is where a request is in its life.
type reqState uint8

const (
	rqWaiting reqState = iota // not attached to servers; (re)planning
	rqActive                  // generating through its route
	rqDone                    // all tokens generated
	rqFailed                  // gave up: no route after MaxReplans tries
)

// hop is one server of a request's chain and the blocks it runs there.
type hop struct {
	peer int32
	span sharding.Span
}

// request is one client's generation.
type request struct {
	at       place
	tokens   int
	arrived  time.Duration
	done     float64       // tokens generated up to since
	since    time.Duration // when the current rate took effect (after a replay)
	attached time.Duration // when the request joined its current chain
	rate     float64       // tokens/s while attached, else 0
	perToken time.Duration // latency of one token on the current route
	planned  bool          // perToken of the first route was recorded
	hops     []hop
	exclude  map[string]bool // servers found dead
	replans  int             // failed attempts since the chain last worked
	gen      uint32          // bumped when attached or detached; guards evDone
	state    reqState
}

func (s *Sim) onArrive() {
	s.q.push(event{at: s.now + expSeconds(s.rngClient, s.cfg.ClientRate), kind: evArrive})
	rng := s.rngClient
	mean := s.cfg.TokensPerRequest
	tokens := max(1, mean/2+rng.IntN(mean+1))
	ri := int32(len(s.reqs))
	s.reqs = append(s.reqs, request{
		at:      place{region: pick(rng, s.regionCDF), access: 1 + rng.Float64()*max(0, s.cfg.AccessMillisMax-1), key: rng.Uint64()},
		tokens:  tokens,
		arrived: s.now,
	})
	s.st.arrived++
	s.plan(ri)
}

// blockSeconds is peer p's time for one token through one block, queueing
// included: demand beyond capacity stretches it by the overload factor.
func (s *Sim) blockSeconds(p *peer) float64 {
	return max(1, p.utilization()) / p.raw
}

// routeOptions are request r's planning options. Compute is costed by
// sharding's default model over the client view's records; the network by
// the topology: in a mesh servers pass activations to the next server
// (HopCost, "" being the client), in a star every hop returns to the
// client (the records' RTT).
func (s *Sim) routeOptions(r *request) sharding.RouteOptions {
	opt := sharding.RouteOptions{
		Mode:      s.mode,
		Exclude:   r.exclude,
		NeedCache: r.tokens, // a session keeps its tokens' KV cache on every hop
	}
	if s.cfg.Topology == "mesh" {
		opt.HopCost = func(from, to string) time.Duration {
			return s.net.oneWay(s.endpoint(r, from), s.endpoint(r, to)) + s.net.overhead
		}
	}
	return opt
}

// endpoint places a route endpoint: a server by its ID, anything else
// (the empty ID) is the client.
func (s *Sim) endpoint(r *request, id string) place {
	if pi, ok := s.byID[id]; ok && id != "" {
		return s.peers[pi].at
	}
	return r.at
}

// latency is the per-token latency of request r's current chain: compute
// and queueing on every hop, plus the network legs from the client through
// every server and back.
func (s *Sim) latency(r *request) time.Duration {
	var sec float64
	var netd time.Duration
	prev := r.at
	for _, h := range r.hops {
		p := &s.peers[h.peer]
		sec += float64(h.span.Len()) * s.blockSeconds(p)
		if s.cfg.Topology == "star" {
			netd += 2*s.net.oneWay(r.at, p.at) + s.net.overhead
			continue
		}
		netd += s.net.oneWay(prev, p.at) + s.net.overhead
		prev = p.at
	}
	if s.cfg.Topology == "mesh" {
		netd += s.net.oneWay(prev, r.at)
	}
	return time.Duration(sec*float64(time.Second)) + netd
}

// valid reports whether hop h can still be used: its server serves the
// hop's blocks (a crashed server looks valid until a client touches it).
func (s *Sim) valid(h hop) bool {
	p := &s.peers[h.peer]
	switch p.state {
	case stServing, stGhost:
		return p.span.Start <= h.span.Start && h.span.End <= p.span.End
	}
	return false
}

var errNoRoute = errors.New("no route")

// routeSegment asks sharding for a chain over [from, to).
func (s *Sim) routeSegment(r *request, from, to int) ([]hop, error) {
	s.st.routeCalls++
	sw := sharding.Swarm{Blocks: s.cfg.Blocks, Servers: s.clientView(r, from, to)}
	hs, err := sharding.Route(sw, from, to, s.routeOptions(r))
	if err != nil {
		s.st.routeErrors++
		return nil, fmt.Errorf("route [%d,%d): %w", from, to, err)
	}
	if len(hs) == 0 {
		s.st.routeErrors++
		return nil, fmt.Errorf("route [%d,%d): %w", from, to, errNoRoute)
	}
	out := make([]hop, len(hs))
	for i, h := range hs {
		pi, ok := s.byID[h.Server]
		if !ok {
			return nil, fmt.Errorf("route [%d,%d): unknown server %q", from, to, h.Server)
		}
		out[i] = hop{peer: pi, span: h.Span}
	}
	return out, nil
}

// plan (re)builds request ri's chain: it keeps the hops that still work,
// asks sharding for routes over the broken segments (or the whole model
// when that fails), opens the chain and attaches the request, or schedules
// a retry when a server on the chain turns out to be dead.
func (s *Sim) plan(ri int32) {
	r := &s.reqs[ri]
	hops, err := s.repair(r)
	if err != nil {
		s.log.Debug("sim: no route", "t", s.now, "request", ri, "err", err)
		s.retry(ri, s.cfg.FailureTimeout.D())
		return
	}
	// Opening the sessions finds the crashed servers still in the view.
	for _, h := range hops {
		if p := &s.peers[h.peer]; p.state == stGhost {
			s.st.ghostHits++
			if r.exclude == nil {
				r.exclude = make(map[string]bool)
			}
			r.exclude[p.id] = true
			r.hops = hops
			s.retry(ri, s.cfg.FailureTimeout.D())
			return
		}
	}
	// Replaying the tokens generated so far through the servers that are
	// new on the chain: a batched prefill of those tokens.
	var replay time.Duration
	if r.done > 0 {
		var sec float64
		for _, h := range hops {
			if !slices.Contains(r.hops, h) {
				sec += r.done * float64(h.span.Len()) * s.blockSeconds(&s.peers[h.peer]) / s.cfg.Cost.ReplaySpeedup
			}
		}
		replay = time.Duration(sec * float64(time.Second))
	}
	r.hops = hops
	s.attach(ri, replay)
}

// repair returns request r's chain with every unusable hop replaced.
func (s *Sim) repair(r *request) ([]hop, error) {
	if len(r.hops) == 0 {
		s.st.fullPlan++
		return s.routeSegment(r, 0, s.cfg.Blocks)
	}
	var out []hop
	for i := 0; i < len(r.hops); {
		h := r.hops[i]
		if s.valid(h) && !r.exclude[s.peers[h.peer].id] {
			out = append(out, h)
			i++
			continue
		}
		j := i
		for j < len(r.hops) && !(s.valid(r.hops[j]) && !r.exclude[s.peers[r.hops[j].peer].id]) {
			j++
		}
		from, to := r.hops[i].span.Start, r.hops[j-1].span.End
		s.st.segmentReplans++
		seg, err := s.routeSegment(r, from, to)
		if err != nil {
			s.st.fullPlan++
			return s.routeSegment(r, 0, s.cfg.Blocks)
		}
		out = append(out, seg...)
		i = j
	}
	return out, nil
}

// retry schedules request ri to plan again after d, or fails it when it has
// re-planned too often.
func (s *Sim) retry(ri int32, d time.Duration) {
	r := &s.reqs[ri]
	r.replans++
	s.st.replans++
	if r.replans > s.cfg.MaxReplans {
		r.state = rqFailed
		r.hops = nil
		s.st.failed++
		return
	}
	r.state = rqWaiting
	r.gen++
	s.q.push(event{at: s.now + d, kind: evRetry, req: ri, gen: r.gen})
}

// attach starts request ri on its chain after delay (a replay): it adds its
// demand to every server and schedules its last token.
func (s *Sim) attach(ri int32, delay time.Duration) {
	r := &s.reqs[ri]
	r.perToken = s.latency(r)
	if !r.planned {
		r.planned = true
		s.recordLatency(r)
	}
	r.rate = 1 / r.perToken.Seconds()
	r.replans = 0 // MaxReplans bounds failed attempts in a row
	r.attached = s.now
	r.since = s.now + delay
	r.state = rqActive
	r.gen++
	s.advanceServed()
	s.serveRate += r.rate
	s.active++
	for _, h := range r.hops {
		p := &s.peers[h.peer]
		p.demand += float64(h.span.Len()) * r.rate
		p.cacheUsed += r.tokens
		if p.reqs == nil {
			p.reqs = make(map[int32]struct{})
		}
		p.reqs[ri] = struct{}{}
		s.refreshLoad(h.peer)
	}
	left := float64(r.tokens) - r.done
	finish := r.since + time.Duration(left*r.perToken.Seconds()*float64(time.Second))
	s.q.push(event{at: finish, kind: evDone, req: ri, gen: r.gen})
}

// detach takes request ri off its chain, banking the tokens generated.
func (s *Sim) detach(ri int32) {
	r := &s.reqs[ri]
	if r.state != rqActive {
		return
	}
	s.advanceServed()
	if s.now > r.since {
		r.done = min(float64(r.tokens), r.done+(s.now-r.since).Seconds()*r.rate)
	}
	// The served total counted this request's rate from attach on; take
	// back the part spent replaying rather than generating.
	s.served -= (min(s.now, r.since) - r.attached).Seconds() * r.rate
	s.serveRate -= r.rate
	for _, h := range r.hops {
		p := &s.peers[h.peer]
		p.demand -= float64(h.span.Len()) * r.rate
		p.cacheUsed -= r.tokens
		delete(p.reqs, ri)
		if len(p.reqs) == 0 {
			p.demand = 0 // no rounding residue on an idle server
		}
		s.refreshLoad(h.peer)
	}
	s.active--
	if s.active == 0 {
		s.serveRate = 0 // no rounding residue when nothing runs
	}
	r.rate = 0
	r.state = rqWaiting
	r.gen++
}

// advanceServed integrates the served token rate up to now.
func (s *Sim) advanceServed() {
	if s.now > s.lastServe {
		s.served += s.serveRate * (s.now - s.lastServe).Seconds()
		s.lastServe = s.now
	}
}

// fail handles the loss of server pi under request ri: the request leaves
// its chain and re-plans now, or after FailureTimeout when the server
// crashed (the client learns it only by a timeout).
func (s *Sim) fail(ri, pi int32, crashed bool) {
	s.detach(ri)
	r := &s.reqs[ri]
	if !crashed {
		s.st.replans++
		s.q.push(event{at: s.now, kind: evRetry, req: ri, gen: r.gen})
		return
	}
	if r.exclude == nil {
		r.exclude = make(map[string]bool)
	}
	r.exclude[s.peers[pi].id] = true
	s.retry(ri, s.cfg.FailureTimeout.D())
}

func (s *Sim) onDone(e event) {
	r := &s.reqs[e.req]
	if r.gen != e.gen || r.state != rqActive {
		return
	}
	s.detach(e.req)
	r.done = float64(r.tokens)
	r.state = rqDone
	s.st.completed++
	s.st.hopsSum += len(r.hops)
	s.recordEffective(r)
	r.hops = nil
	r.exclude = nil
}
