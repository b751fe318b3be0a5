package node

import (
	"context"
	"crypto/sha256"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	mh "github.com/multiformats/go-multihash"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// maxModelProviders caps how many servers a model discovery asks.
const maxModelProviders = 64

// ModelsKey is the DHT key every server provides, whatever it serves: a
// node that was not told which model to serve looks it up to find servers
// and asks them what they serve.
func ModelsKey() cid.Cid {
	sum := sha256.Sum256([]byte("orbit/models/v1"))
	m, _ := mh.Encode(sum[:], mh.SHA2_256) // cannot fail for a sha2-256 digest
	return cid.NewCidV1(cid.Raw, m)
}

// SwarmModel is one model the swarm serves, as DiscoverModels saw it.
type SwarmModel struct {
	Model      string
	Blocks     int
	Servers    int
	Coverage   []int   // servers per block
	Bottleneck float64 // tokens/s through the weakest block; 0 with gaps
	Swarm      sharding.Swarm
}

// DiscoverModels finds the models served in the swarm: it asks the
// providers of ModelsKey (at most 64, found within DiscoveryTimeout) and
// the connected peers what they serve, and adds this node's own models.
// Models are sorted by ID.
func (s *swarmComponent) DiscoverModels(ctx context.Context) ([]SwarmModel, error) {
	cands := map[peer.ID]bool{}
	lctx, cancel := context.WithTimeout(ctx, s.cfg.DiscoveryTimeout)
	for ai := range s.dht.FindProvidersAsync(lctx, ModelsKey(), maxModelProviders) {
		if ai.ID == "" || ai.ID == s.host.ID() {
			continue
		}
		if len(ai.Addrs) > 0 {
			s.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
		}
		cands[ai.ID] = true
	}
	cancel()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	answers, _ := s.askInfo(ctx, cands)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return modelsFromInfo(answers), nil
}

// askInfo asks the candidates and every connected peer for their
// /orbit/info/1.0.0 answer, at once, and waits at most InfoWait for them:
// peers that fail are left out (and logged); those that have not answered
// by then, whose last query is still running, or that failed a hop
// lately (not asked) are late, and an answer that comes later is
// dropped. This node answers itself. Each answer on an already open
// connection also updates the peer's RTT estimate (peerstore latency).
func (s *swarmComponent) askInfo(ctx context.Context, cands map[peer.ID]bool) (map[peer.ID]protocol.Info, map[peer.ID]bool) {
	for _, p := range s.host.Network().Peers() {
		if s.host.Network().Connectedness(p) == network.Connected {
			cands[p] = true
		}
	}
	delete(cands, s.host.ID())
	var mu sync.Mutex // guards the three below
	answers := map[peer.ID]protocol.Info{s.host.ID(): s.self()}
	late := map[peer.ID]bool{}
	over := false // the wait is over: later answers are dropped
	done := make(chan struct{}, len(cands))
	asked := 0
	for p := range cands {
		late[p] = true // until it answers
	}
	for p := range cands {
		if s.isFailed(p) {
			// It failed a hop lately (it may be dead, and a dead peer's
			// QUIC connection looks alive until its idle timeout): keep
			// its last answer rather than wait for one.
			continue
		}
		s.mu.Lock()
		busy := s.asking[p]
		s.asking[p] = true
		s.mu.Unlock()
		if busy {
			continue
		}
		asked++
		s.wg.Go(func() {
			defer func() { done <- struct{}{} }()
			defer func() {
				s.mu.Lock()
				delete(s.asking, p)
				s.mu.Unlock()
			}()
			connected := s.host.Network().Connectedness(p) == network.Connected
			start := s.clock.Now()
			in, err := protocol.QueryInfo(s.ctx, s.host, p)
			mu.Lock()
			defer mu.Unlock()
			if over {
				return // too late: dropped
			}
			delete(late, p)
			if err != nil {
				s.log.Debug("info", "from", p, "err", err)
				return
			}
			if connected {
				// On an open connection the query is one round trip (a
				// new stream, its request and the answer): it feeds the
				// RTT estimate that routes are planned with.
				s.host.Peerstore().RecordLatency(p, s.clock.Since(start))
			}
			answers[p] = in
		})
	}
	wait := s.cfg.InfoWait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
collect:
	for range asked {
		select {
		case <-done:
		case <-timer.C:
			break collect
		case <-ctx.Done():
			break collect
		}
	}
	mu.Lock()
	defer mu.Unlock()
	over = true
	return answers, late
}

// modelsFromInfo groups info answers by model. A model's size is the block
// count most of its servers report; answers that disagree are left out.
func modelsFromInfo(answers map[peer.ID]protocol.Info) []SwarmModel {
	peers := make([]peer.ID, 0, len(answers))
	for p := range answers {
		peers = append(peers, p)
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i] < peers[j] })
	votes := map[string]map[int]int{}
	for _, p := range peers {
		for _, mi := range answers[p].Models {
			if mi.Blocks <= 0 {
				continue
			}
			if votes[mi.Model] == nil {
				votes[mi.Model] = map[int]int{}
			}
			votes[mi.Model][mi.Blocks]++
		}
	}
	var out []SwarmModel
	for model, v := range votes {
		blocks, most := 0, 0
		for b, c := range v {
			if c > most || (c == most && b < blocks) {
				blocks, most = b, c
			}
		}
		sw := sharding.Swarm{Blocks: blocks}
		for _, p := range peers {
			for _, mi := range answers[p].Models {
				if mi.Model != model || mi.Blocks != blocks || mi.Span.Len() == 0 {
					continue
				}
				sw.Servers = append(sw.Servers, sharding.Server{ID: p.String(),
					Span: mi.Span, Throughput: mi.Throughput, Load: mi.Load})
			}
		}
		out = append(out, SwarmModel{Model: model, Blocks: blocks, Servers: len(sw.Servers),
			Coverage: sharding.Coverage(sw), Bottleneck: sharding.Bottleneck(sw), Swarm: sw})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// PickModel returns the model of models a joining server should serve
// (sharding.ChooseModel: unserved blocks first, then the weakest), among
// those accept admits (nil: all). It returns false when none qualifies.
func PickModel(models []SwarmModel, accept func(SwarmModel) bool) (SwarmModel, bool) {
	var ok []SwarmModel
	var in []sharding.ModelSwarm
	for _, m := range models {
		if accept == nil || accept(m) {
			ok = append(ok, m)
			in = append(in, sharding.ModelSwarm{Model: m.Model, Swarm: m.Swarm})
		}
	}
	i := sharding.ChooseModel(in)
	if i < 0 {
		return SwarmModel{}, false
	}
	return ok[i], true
}
