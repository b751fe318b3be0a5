package node

import (
	"context"
	"fmt"
	"github.com/orbitswarm/orbit/sharding"
	"math/rand/v2"
	"time"
)

// rebalanceLoop runs a rebalancing step for every served model once per
// RebalanceInterval (plus jitter). The epoch is wall-clock time divided by
// the interval, so that the nodes of a swarm agree on whose turn it is.
func (n *Node) rebalanceLoop() {
	defer n.wg.Done()
	every := n.cfg.RebalanceInterval
	for {
		d := every + time.Duration(rand.Int64N(int64(every)/10+1))
		t := time.NewTimer(d)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		epoch := n.clock.Now().UnixNano() / int64(every)
		for _, st := range n.Models() {
			if st.Span.Len() == 0 {
				continue
			}
			if _, _, err := n.Rebalance(n.ctx, st.Model, epoch); err != nil {
				n.log.Warn("rebalance", "model", st.Model, "err", err)
			}
		}
	}
}

// Rebalance is one rebalancing step for model in epoch: when it is this
// node's turn among the model's servers (sharding.RebalanceTurn) and
// moving raises the swarm's bottleneck enough or closes a gap
// (sharding.Rebalance), the node loads the new span, announces it and
// serves it; sessions already open on the old span run on, and the old
// span is released when they are done. It returns the span served
// afterwards and whether it moved. The periodic loop calls it; tests call
// it with an epoch of their choice.
func (n *Node) Rebalance(ctx context.Context, model string, epoch int64) (sharding.Span, bool, error) {
	// A plain lookup: of old this reads only what is fixed at load (span,
	// src, blocks, whether it has an entry); load opens src anew, and the
	// swap below checks under the lock that old is still the one served.
	old := n.servedModel(model)
	if old == nil {
		return sharding.Span{}, false, fmt.Errorf("%w: %s", ErrNotEntry, model)
	}
	cur := old.span()
	if cur.Len() == 0 || n.draining.Load() {
		return cur, false, nil
	}
	v, err := n.SwarmView(ctx, model, true)
	if err != nil {
		return cur, false, err
	}
	self := n.ID().String()
	ids := make([]string, 0, len(v.Swarm.Servers))
	for _, s := range v.Swarm.Servers {
		ids = append(ids, s.ID)
	}
	if !sharding.RebalanceTurn(ids, self, epoch) {
		return cur, false, nil
	}
	to, move := sharding.Rebalance(v.Swarm, self, n.cfg.RebalanceThreshold)
	if !move {
		return cur, false, nil
	}
	span := to
	n.log.Info("rebalancing", "model", model, "from", cur, "to", span, "epoch", epoch)
	srv, err := n.load(ctx, old.src, old.blocks, span, old.entry != nil)
	if err != nil {
		return cur, false, err
	}
	if err := n.swap(old, srv); err != nil {
		srv.close()
		return cur, false, err
	}
	n.dropViews()
	ok := n.announce(ctx, model, span)
	n.wg.Add(2)
	go n.reannounce(model, span, ok)
	go n.retire(old)
	n.log.Info("serving", "model", model, "span", span, "throughput", fmt.Sprintf("%.1f tok/s/block", srv.throughput), "replaced", cur)
	return span, true, nil
}

// retire closes a replaced span once its sessions and generations have
// ended (or the node closes).
func (n *Node) retire(old *served) {
	defer n.wg.Done()
	defer old.close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for old.busy() > 0 {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
	}
}
