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
}

// SwarmView returns the servers of model, from a recent view or gathered
// afresh from the DHT, connected peers and their info answers.
func (n *Node) SwarmView(ctx context.Context, model string, fresh bool) (*View, error) {
	v := n.cachedView(model)
	if v != nil && !fresh && n.clock.Since(v.At) < n.cfg.ViewTTL {
		return v, nil
	}
	blocks := 0
	if s := n.servedModel(model); s != nil { // a plain lookup: blocks is fixed at load
		blocks = s.blocks
	}
	return n.gather(ctx, model, blocks)
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
	for p, in := range s.askInfo(ctx, cands) {
		answers = append(answers, answer{p, in})
	}
	sort.Slice(answers, func(i, j int) bool { return answers[i].p < answers[j].p })

	known := blocks > 0
	v := &View{Model: model, Peers: map[string]peer.ID{}, At: s.clock.Now(), Info: map[string]protocol.ModelInfo{}}
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
