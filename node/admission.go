package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// AdmissionPerHop is how many generations an entry node runs at once per
// hop of its route when it sizes its admission itself (AdmissionLimit): a
// generation occupies one hop at a time, so a route of H hops needs H
// generations in flight to keep every hop busy, and a few more per hop
// let each server batch several sessions' steps into one engine call.
const AdmissionPerHop = 4

// AdmissionLimit is how many generations of model, of up to maxLen
// positions each, this entry node should run at once, running of them
// being under way: AdmissionPerHop times the hops of the route it would
// plan now, but no more than the swarm's KV caches hold (see
// admissionLimit). It is at least 1.
func (n *Node) AdmissionLimit(ctx context.Context, model string, maxLen, running int) (int, error) {
	hops, err := n.PlanRoute(ctx, model)
	if err != nil {
		return 0, err
	}
	v, err := n.SwarmView(ctx, model, false)
	if err != nil {
		return 0, fmt.Errorf("node: admission: %w", err)
	}
	// The view's free caches leave out the sessions of the generations
	// running when it was gathered (about when it is first seen here),
	// not those started since.
	running = n.admission.runningAt(model, v.At, running)
	if cfg, ok := n.modelConfig(model); ok && maxLen > 0 {
		return admissionLimitFit(len(hops), v.Swarm, running, func(s sharding.Server) int {
			return sessionsFit(cfg, v.Info[s.ID], s, maxLen)
		}), nil
	}
	return admissionLimit(len(hops), v.Swarm, maxLen, running), nil
}

// modelConfig is the configuration of a model this node serves or is an
// entry of.
func (n *Node) modelConfig(model string) (engine.Config, bool) {
	m := n.servedModel(model)
	switch {
	case m == nil:
		return engine.Config{}, false
	case m.entry != nil:
		return m.entry.Config, true
	case m.model != nil:
		return m.model.Config, true
	}
	return engine.Config{}, false
}

// sessionsFit is how many sessions of maxLen positions server s can still
// open: its free KV-cache bytes over a session's bytes on its span (the
// sliding-window blocks' caches are bounded, so a session's bytes do not
// grow with its length as the positions count does), else its free
// positions over maxLen.
func sessionsFit(cfg engine.Config, in protocol.ModelInfo, s sharding.Server, maxLen int) int {
	if s.FreeCache <= 0 {
		return 0
	}
	if per := cfg.SessionBytes(s.Span, maxLen); per > 0 && in.FreeCacheBytes > 0 && in.Span == s.Span {
		return int(min(in.FreeCacheBytes/per, 1<<30))
	}
	return s.FreeCache / maxLen
}

// admissionMemo remembers, per model, the generations running when a view
// was first used to size admission.
type admissionMemo struct {
	mu   sync.Mutex
	seen map[string]admissionSeen
}

type admissionSeen struct {
	at      time.Time // the view's
	running int
}

// runningAt returns the generations running when the view of model
// gathered at was first seen, running now if that is now.
func (a *admissionMemo) runningAt(model string, at time.Time, running int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.seen[model]; ok && s.at.Equal(at) {
		return s.running
	}
	if a.seen == nil {
		a.seen = map[string]admissionSeen{}
	}
	a.seen[model] = admissionSeen{at: at, running: running}
	return running
}

// admissionLimit is AdmissionPerHop*depth generations, capped by the KV
// caches of sw: running (the generations whose sessions the view's free
// caches already leave out) plus the sessions of maxLen positions that
// the servers of the scarcest block can still accept, summed over that
// block's replicas. It is at least 1.
func admissionLimit(depth int, sw sharding.Swarm, maxLen, running int) int {
	if maxLen <= 0 {
		return AdmissionPerHop * max(depth, 1)
	}
	return admissionLimitFit(depth, sw, running, func(s sharding.Server) int { return s.FreeCache / maxLen })
}

// admissionLimitFit is admissionLimit with fit(s) the sessions server s
// can still open.
func admissionLimitFit(depth int, sw sharding.Swarm, running int, fit func(s sharding.Server) int) int {
	limit := AdmissionPerHop * max(depth, 1)
	if sw.Blocks <= 0 {
		return limit
	}
	least := -1
	for b := range sw.Blocks {
		n := 0
		for _, s := range sw.Servers {
			if s.Span.Start <= b && b < s.Span.End && s.FreeCache > 0 {
				n += fit(s)
			}
		}
		if least < 0 || n < least {
			least = n
		}
	}
	if least >= 0 {
		limit = min(limit, running+least)
	}
	return max(limit, 1)
}
