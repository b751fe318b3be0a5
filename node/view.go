package node

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// discoveryGrace is how long provider lookups go on once every block has
// a provider.
const discoveryGrace = 150 * time.Millisecond

// View is a node's picture of one model's servers.
type View struct {
	Model string
	Swarm sharding.Swarm
	Peers map[string]peer.ID // sharding server ID -> peer
	At    time.Time
	// Info is what each server said of its span on /orbit/info/1.0.0
	// (by sharding server ID), for reports such as its KV cache's use.
	Info map[string]protocol.ModelInfo
	// answered is when each peer's entries were last answered for.
	answered map[peer.ID]time.Time
}

// lateKeep is how long a peer that stopped answering info in time keeps
// its last answer in the views.
const lateKeep = time.Minute

// SwarmView returns the servers of model: the view gathered last, or one
// gathered afresh (from the DHT, connected peers and their info answers)
// when fresh is set or there is none. A view older than ViewTTL is still
// returned at once, and gathered anew in the background, so no caller
// waits on a slow peer for a refresh.
func (n *Node) SwarmView(ctx context.Context, model string, fresh bool) (*View, error) {
	blocks := 0
	if s := n.servedModel(model); s != nil { // a plain lookup: blocks is fixed at load
		blocks = s.blocks
	}
	v := n.cachedView(model)
	if v != nil && !fresh {
		if n.clock.Since(v.At) >= n.cfg.ViewTTL {
			n.refresh(model, blocks)
		}
		return v, nil
	}
	return n.gather(ctx, model, blocks)
}

// refresh gathers the view of model in the background, unless a refresh
// of it is running already.
func (s *swarmComponent) refresh(model string, blocks int) {
	s.mu.Lock()
	if s.refreshing[model] || s.ctx.Err() != nil {
		s.mu.Unlock()
		return
	}
	s.refreshing[model] = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		if _, err := s.gather(s.ctx, model, blocks); err != nil {
			s.log.Debug("view refresh", "model", model, "err", err)
		}
		s.mu.Lock()
		delete(s.refreshing, model)
		s.mu.Unlock()
	}()
}

// gather builds a view: providers of every block (DHT), plus connected
// peers, each asked over /orbit/info/1.0.0, plus this node itself. blocks
// may be 0 if unknown; the info answers then tell it.
func (s *swarmComponent) gather(ctx context.Context, model string, blocks int) (*View, error) {
	cands := map[peer.ID]bool{}
	var mu sync.Mutex
	if blocks > 0 {
		// A lookup in a small swarm rarely reaches its count, so it would
		// run to the timeout: once every block has a provider, allow a
		// short grace for more and stop.
		lctx, cancel := context.WithTimeout(ctx, s.cfg.DiscoveryTimeout)
		covered := make([]bool, blocks)
		left := blocks
		var wg sync.WaitGroup
		for i := range blocks {
			wg.Go(func() {
				for ai := range s.dht.FindProvidersAsync(lctx, BlockKey(model, i), 20) {
					if ai.ID == "" {
						continue
					}
					if ai.ID != s.host.ID() && len(ai.Addrs) > 0 {
						s.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
					}
					mu.Lock()
					if ai.ID != s.host.ID() {
						cands[ai.ID] = true
					}
					if !covered[i] {
						covered[i] = true
						if left--; left == 0 {
							time.AfterFunc(discoveryGrace, cancel)
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		cancel()
	}
	type answer struct {
		p  peer.ID
		in protocol.Info
	}
	var answers []answer
	got, late := s.askInfo(ctx, cands)
	for p, in := range got {
		answers = append(answers, answer{p, in})
	}
	sort.Slice(answers, func(i, j int) bool { return answers[i].p < answers[j].p })

	known := blocks > 0
	v := &View{Model: model, Peers: map[string]peer.ID{}, At: s.clock.Now(), Info: map[string]protocol.ModelInfo{},
		answered: map[peer.ID]time.Time{}}
	// A peer that did not answer in time keeps its place of the last view
	// for a while (its late answer is dropped): the view does not wait on
	// it, and does not lose it for being slow once.
	if old := s.cachedView(model); old != nil && blocks > 0 && old.Swarm.Blocks == blocks {
		for _, srv := range old.Swarm.Servers {
			p, ok := old.Peers[srv.ID]
			if !ok || !late[p] || s.clock.Since(old.answered[p]) > lateKeep {
				continue
			}
			v.Swarm.Servers = append(v.Swarm.Servers, srv)
			v.Peers[srv.ID] = p
			if in, ok := old.Info[srv.ID]; ok {
				v.Info[srv.ID] = in
			}
			v.answered[p] = old.answered[p]
		}
	}
	for _, a := range answers {
		for _, mi := range a.in.Models {
			if mi.Model != model {
				continue
			}
			if blocks == 0 {
				blocks = mi.Blocks
			}
			if mi.Blocks != blocks || mi.Span.Len() == 0 {
				continue
			}
			id := a.p.String()
			var rtt time.Duration
			if a.p == s.host.ID() {
				rtt = time.Microsecond
			} else {
				rtt = s.host.Peerstore().LatencyEWMA(a.p)
			}
			v.Swarm.Servers = append(v.Swarm.Servers, sharding.Server{
				ID: id, Span: mi.Span,
				Throughput: mi.Throughput, Load: mi.Load, FreeCache: mi.FreeCacheTokens, RTT: rtt,
			})
			v.Peers[id] = a.p
			v.Info[id] = mi
			v.answered[a.p] = v.At
		}
	}
	if !known && blocks > 0 {
		// The connected peers told the model's size: now look up the
		// providers of every block too, for servers not connected yet.
		return s.gather(ctx, model, blocks)
	}
	v.Swarm.Blocks = blocks
	s.keepView(model, v)
	return v, nil
}

// GapError is the ErrNoRoute of a swarm in which some blocks of a model
// have no server at all (not only busy or failed ones): a coverage gap.
type GapError struct {
	Model string
	// Missing are the runs of blocks nobody serves, in order.
	Missing []sharding.Span
	// Joining reports that a server is on its way to serve missing
	// blocks: this node fetching them, or a peer that announced them and
	// is not ready yet (no measured throughput).
	Joining bool
}

func (e *GapError) Error() string {
	s := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		s[i] = m.String()
	}
	return fmt.Sprintf("node: coverage gap: no server in the swarm serves blocks %s of %s", strings.Join(s, ", "), e.Model)
}

// Unwrap makes a GapError an ErrNoRoute.
func (e *GapError) Unwrap() error { return ErrNoRoute }

// CoverageGap explains a failed route for model: a *GapError when blocks
// have no server in the current view (err, wrapped, otherwise).
func (n *Node) CoverageGap(ctx context.Context, model string, err error) error {
	v, verr := n.SwarmView(ctx, model, false)
	if verr != nil || v.Swarm.Blocks <= 0 {
		return err
	}
	served := make([]bool, v.Swarm.Blocks)
	pending := make([]bool, v.Swarm.Blocks)
	for _, s := range v.Swarm.Servers {
		ready := s.Throughput > 0 && !math.IsInf(s.Throughput, 0) && !math.IsNaN(s.Throughput)
		for b := max(0, s.Span.Start); b < min(s.Span.End, v.Swarm.Blocks); b++ {
			if ready {
				served[b] = true
			} else {
				pending[b] = true
			}
		}
	}
	for _, t := range n.Transfers() {
		if t.Running() && t.Kind == TransferFetch && t.Model == model {
			for b := max(0, t.Span.Start); b < min(t.Span.End, v.Swarm.Blocks); b++ {
				pending[b] = true
			}
		}
	}
	g := &GapError{Model: model}
	for b := 0; b < len(served); b++ {
		if served[b] {
			continue
		}
		if pending[b] {
			g.Joining = true
		}
		if k := len(g.Missing) - 1; k >= 0 && g.Missing[k].End == b {
			g.Missing[k].End++
		} else {
			g.Missing = append(g.Missing, sharding.Span{Start: b, End: b + 1})
		}
	}
	if len(g.Missing) == 0 {
		return err
	}
	return g
}
