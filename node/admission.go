package node

import (
	"context"
	"fmt"
	"sync"
	"time"

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
	return admissionLimit(len(hops), v.Swarm, maxLen, n.admission.runningAt(model, v.At, running)), nil
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
	limit := AdmissionPerHop * max(depth, 1)
	if maxLen <= 0 || sw.Blocks <= 0 {
		return limit
	}
	fit := -1
	for b := range sw.Blocks {
		n := 0
		for _, s := range sw.Servers {
			if s.Span.Start <= b && b < s.Span.End && s.FreeCache > 0 {
				n += s.FreeCache / maxLen
			}
		}
		if fit < 0 || n < fit {
			fit = n
		}
	}
	if fit >= 0 {
		limit = min(limit, running+fit)
	}
	return max(limit, 1)
}
