package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// StoreSource is a model of a content-addressed weight store. Its ID is
// the model's root CID, the same on every node that imported or fetched
// it. Parts missing from the store are fetched from the swarm's providers
// when opened.
type StoreSource struct {
	store   *weights.Store
	root    cid.Cid
	fetcher *weights.Fetcher // nil: local parts only
	track   *transfers       // the node's, recording fetches; may be nil
}

// StoreSource returns a source for model root of the node's weight store
// (Config.Store), fetching missing parts through the node's host and DHT.
func (n *Node) StoreSource(root cid.Cid) (*StoreSource, error) {
	if n.cfg.Store == nil {
		return nil, fmt.Errorf("node: no weight store configured")
	}
	if err := weights.CheckCID(root); err != nil {
		return nil, err
	}
	return &StoreSource{store: n.cfg.Store, root: root, fetcher: n.fetcher, track: n.transfers}, nil
}

// NewStoreSource is a source over the local parts of root only.
func NewStoreSource(store *weights.Store, root cid.Cid) *StoreSource {
	return &StoreSource{store: store, root: root}
}

// ID is the root CID.
func (s *StoreSource) ID() string { return s.root.String() }

// Root is the model's root CID.
func (s *StoreSource) Root() cid.Cid { return s.root }

// Store is the weight store the source reads.
func (s *StoreSource) Store() *weights.Store { return s.store }

// Open fetches the parts of span (and the embedding and head, if asked)
// the store lacks, then returns the store's GGUF of them. A stored block
// found corrupt while the span is assembled (a *weights.CorruptError) is
// never used: the fetch re-hashes the span's stored blocks, drops the bad
// ones and gets them again from the swarm, and the span is assembled
// anew. Without a swarm the corrupt block is the error. A fetch is
// recorded among the node's Transfers.
func (s *StoreSource) Open(ctx context.Context, span sharding.Span, withEmbed, withHead bool) (*gguf.File, error) {
	if s.fetcher != nil && !s.has(ctx, span, withEmbed, withHead) {
		if err := s.fetch(ctx, span, withEmbed, withHead); err != nil {
			return nil, err
		}
	}
	f, err := s.store.OpenSpan(ctx, s.root, span, withEmbed, withHead)
	if err != nil && errors.Is(err, weights.ErrCorrupt) && s.fetcher != nil {
		if ferr := s.fetch(ctx, span, withEmbed, withHead); ferr != nil {
			return nil, fmt.Errorf("node: open blocks %v of %s: %w; repairing it: %w", span, s.root, err, ferr)
		}
		f, err = s.store.OpenSpan(ctx, s.root, span, withEmbed, withHead)
	}
	switch {
	case err == nil:
		return f, nil
	case s.fetcher == nil && errors.Is(err, weights.ErrNotFound):
		return nil, fmt.Errorf("node: model %s: blocks %v not in the weight store and no swarm to fetch them from: %w", s.root, span, err)
	}
	return nil, fmt.Errorf("node: open blocks %v of %s: %w", span, s.root, err)
}

// fetch gets the wanted parts the store lacks, or holds corrupt, from the
// swarm, recorded as a transfer.
func (s *StoreSource) fetch(ctx context.Context, span sharding.Span, withEmbed, withHead bool) error {
	h := s.track.begin(Transfer{Kind: TransferFetch, Model: s.root.String(), Span: span, Embed: withEmbed, Head: withHead})
	_, err := s.fetcher.Fetch(ctx, s.root, weights.Want{Span: span, Embed: withEmbed, Head: withHead, Progress: h.progress})
	if err != nil {
		err = fmt.Errorf("node: fetching blocks %v of %s: %w", span, s.root, err)
	}
	h.end(cid.Undef, err)
	return err
}

// has reports whether the store holds the wanted parts.
func (s *StoreSource) has(ctx context.Context, span sharding.Span, embed, head bool) bool {
	ms, err := s.store.Models(ctx)
	if err != nil {
		return false
	}
	for _, mi := range ms {
		if !mi.Root.Equals(s.root) || !mi.HaveRoot || (embed && !mi.Embed) || (head && !mi.Head) || span.End > len(mi.LocalBlocks) || span.Start < 0 {
			continue
		}
		ok := true
		for i := span.Start; i < span.End; i++ {
			ok = ok && mi.LocalBlocks[i]
		}
		if ok {
			return true
		}
	}
	return false
}

// provider is a ModelSource whose weights the node announces while it
// serves them.
type provider interface {
	provide(ctx context.Context, n *Node) error
}

func (s *StoreSource) provide(ctx context.Context, n *Node) error {
	if s.store != n.cfg.Store {
		return nil // only the node's own store has a block server
	}
	_, err := s.store.Provide(ctx, n.dht, s.root)
	return err
}

// repairStore is the weight store's OnCorrupt hook: the store removed a
// corrupt block c (found while serving it to a peer, assembling a span or
// verifying). The node fetches again, from the swarm, what the models it
// serves from the store lack, and announces their blocks again once whole:
// until then the damaged block's layer is not announced (Provide announces
// only whole layers) and peers asking for the block are told it is not
// here. One repair runs at a time; blocks found corrupt meanwhile are
// covered by it (each fetch re-hashes the span's stored blocks).
func (n *Node) repairStore(c cid.Cid) {
	if n.ctx.Err() != nil || !n.repairing.CompareAndSwap(false, true) {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.repairing.Store(false)
		n.log.Warn("node: a stored block was corrupt and was removed; fetching it again", "cid", c)
		type want struct {
			src   *StoreSource
			span  sharding.Span
			entry bool
		}
		var wants []want
		n.serveComponent.mu.Lock()
		for _, srv := range n.models {
			if src, ok := srv.src.(*StoreSource); ok && src.fetcher != nil && src.store == n.cfg.Store {
				wants = append(wants, want{src, srv.span(), srv.entry != nil})
			}
		}
		n.serveComponent.mu.Unlock()
		for _, w := range wants {
			if err := w.src.fetch(n.ctx, w.span, w.entry, w.entry); err != nil {
				n.log.Warn("node: repairing the weight store", "model", w.src.root, "err", err)
				continue
			}
			if err := w.src.provide(n.ctx, n); err != nil {
				n.log.Debug("node: announcing after a repair", "model", w.src.root, "err", err)
			}
		}
	}()
}
