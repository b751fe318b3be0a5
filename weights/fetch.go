package weights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/routing"

	"github.com/orbitswarm/orbit/sharding"
)

// ErrNoProvider is wrapped by errors about blocks no provider could serve
// with the right bytes.
var ErrNoProvider = errors.New("weights: no provider for block")

// BanList remembers peers that served bad bytes, each until an expiry.
// Time is passed in so callers (and tests) control the clock.
type BanList struct {
	ttl time.Duration

	mu    sync.Mutex
	until map[peer.ID]time.Time
}

// NewBanList bans peers for ttl.
func NewBanList(ttl time.Duration) *BanList {
	return &BanList{ttl: ttl, until: map[peer.ID]time.Time{}}
}

// Ban bans p from now for the list's ttl.
func (b *BanList) Ban(p peer.ID, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.until[p] = now.Add(b.ttl)
}

// Banned reports whether p is banned at now; expired bans are forgotten.
func (b *BanList) Banned(p peer.ID, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.until[p]
	if ok && !now.Before(u) {
		delete(b.until, p)
		return false
	}
	return ok
}

// List returns the peers banned at now.
func (b *BanList) List(now time.Time) []peer.ID {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []peer.ID
	for p, u := range b.until {
		if now.Before(u) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// FetchOptions tune a Fetcher; zero fields take defaults.
type FetchOptions struct {
	// Routing finds providers of root and layer CIDs (a *dht.IpfsDHT, for
	// one); nil uses Peers only.
	Routing routing.ContentRouting
	// Peers are providers to ask in any case.
	Peers []peer.AddrInfo
	// Parallel caps requests in flight in all (default 8), PerPeer per
	// provider (default 3), Batch the CIDs per request (default 4).
	Parallel, PerPeer, Batch int
	// Writers caps the blocks being written (and synced) at once
	// (default 4).
	Writers int
	// MaxProviders caps the providers looked up per CID (default 20).
	MaxProviders int
	// BanFor is how long a peer that served bad bytes is not asked again
	// (default 30 minutes).
	BanFor time.Duration
	// Progress, if set, is called as chunks arrive.
	Progress func(Progress)
	// Stored, if set, is called once for every block received from a
	// peer, verified and stored, with its size (the node's
	// orbit_chunks_fetched_total). It must not block.
	Stored func(bytes int)
	// Now is the clock of the ban list (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Fetcher gets the blocks of models from peers into a Store. A Fetcher may
// run several fetches at once; its ban list is shared by them.
type Fetcher struct {
	store  *Store
	host   host.Host
	client BlockClient
	opt    FetchOptions
	bans   *BanList
	log    *slog.Logger

	// slots caps the requests open to each provider across all of the
	// Fetcher's fetches at PerPeer, so concurrent fetches from one
	// provider stay under its per-peer cap instead of being refused.
	slotsMu sync.Mutex
	slots   map[peer.ID]chan struct{}
}

// NewFetcher returns a fetcher storing into s, dialing from h and asking
// peers for blocks through c (package protocol's BlockClient over h).
func NewFetcher(s *Store, h host.Host, c BlockClient, opt FetchOptions) *Fetcher {
	if opt.Parallel <= 0 {
		opt.Parallel = 8
	}
	if opt.PerPeer <= 0 {
		opt.PerPeer = 3
	}
	if opt.Batch <= 0 {
		opt.Batch = 8
	}
	opt.Batch = min(opt.Batch, c.MaxPerRequest())
	if opt.Writers <= 0 {
		opt.Writers = 4
	}
	if opt.MaxProviders <= 0 {
		opt.MaxProviders = 20
	}
	if opt.BanFor <= 0 {
		opt.BanFor = 30 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Fetcher{store: s, host: h, client: c, opt: opt,
		bans: NewBanList(opt.BanFor), log: opt.Logger, slots: map[peer.ID]chan struct{}{}}
}

// acquire takes one of p's request slots, waiting while all are in use.
func (f *Fetcher) acquire(ctx context.Context, p peer.ID) (release func(), err error) {
	f.slotsMu.Lock()
	ch := f.slots[p]
	if ch == nil {
		ch = make(chan struct{}, f.opt.PerPeer)
		f.slots[p] = ch
	}
	f.slotsMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Bans is the fetcher's list of peers that served bad bytes.
func (f *Fetcher) Bans() *BanList { return f.bans }

// Want says which parts of a model to fetch.
type Want struct {
	All   bool          // the whole model (Span, Embed and Head are ignored)
	Span  sharding.Span // transformer blocks
	Embed bool          // the token embedding
	Head  bool          // output norm and output matrix
	// Name is the alias to give the model; "" uses general.name, or the
	// root CID.
	Name string
	// Progress, if set, is called as this fetch's chunks arrive (as well as
	// FetchOptions.Progress, which every fetch of the Fetcher reports to),
	// so concurrent fetches can report separately.
	Progress func(Progress)
}

// FetchStats reports what a fetch did.
type FetchStats struct {
	Chunks       int   // chunks the wanted parts are made of
	Fetched      int   // blocks received, verified and stored
	Bytes        int64 // bytes of those blocks
	SkippedBytes int64 // bytes already present and verified
	Retries      int   // blocks asked again after a failure or bad bytes
	Elapsed      time.Duration
}

// Fetch gets the root manifest, the metadata, the layer manifests of the
// wanted span and then its chunks, from several providers at once. Every
// block is verified on arrival; a bad or missing one is asked of another
// provider, and a provider that served bad bytes is banned. Blocks already
// stored (and still good) are skipped, so a fetch that was stopped resumes
// where it was. Fetch fails early if the missing bytes do not fit on disk.
func (f *Fetcher) Fetch(ctx context.Context, root cid.Cid, want Want) (FetchStats, error) {
	start := time.Now()
	var st FetchStats
	if err := CheckCID(root); err != nil {
		return st, err
	}
	unlock, err := f.store.lock(ctx, "gc.lock", false)
	if err != nil {
		return st, err
	}
	defer unlock()

	rootProv := f.providers(ctx, root)
	if err := f.run(ctx, []fetchJob{{c: root}}, rootProv, nil, &st); err != nil {
		return st, fmt.Errorf("weights: root manifest: %w", err)
	}
	m, err := f.store.Manifest(ctx, root)
	if err != nil {
		return st, err
	}
	span := want.Span
	embed, head := want.Embed, want.Head
	if want.All {
		span, embed, head = sharding.Span{Start: 0, End: len(m.Layers)}, true, true
	}
	if err := checkSpan(m, span); err != nil {
		return st, err
	}
	// Metadata and layer manifests.
	var jobs []fetchJob
	for _, c := range m.MetadataChunks {
		jobs = append(jobs, fetchJob{c: c, group: -1})
	}
	layerProv := map[int][]peer.ID{-1: rootProv}
	for i := span.Start; i < span.End; i++ {
		jobs = append(jobs, fetchJob{c: m.Layers[i].CID, group: i})
	}
	f.lookupLayers(ctx, m, span, layerProv)
	if err := f.run(ctx, jobs, nil, layerProv, &st); err != nil {
		return st, err
	}
	name := want.Name
	if name == "" {
		if kvs, err := f.store.Metadata(ctx, m); err == nil {
			for _, kv := range kvs {
				if s, ok := kv.Value.Str(); ok && kv.Key == "general.name" && CheckName(s) == nil {
					name = s
				}
			}
		}
	}
	if name == "" {
		name = root.String()
	}
	// Name the model now, so GC keeps a partial fetch.
	if err := f.store.SetAlias(ctx, name, root); err != nil {
		return st, err
	}
	ls, err := f.store.layers(ctx, m, span)
	if err != nil {
		return st, err
	}
	// Chunks: skip those stored and good, fetch the rest.
	jobs = jobs[:0]
	seen := map[cid.Cid]bool{}
	var total, have, need int64
	addTensors := func(ts []Tensor, group int) error {
		for i := range ts {
			for ci, c := range ts[i].Chunks {
				if seen[c] {
					continue
				}
				seen[c] = true
				n := int64(ts[i].ChunkLen(ci, m.ChunkSize))
				total += n
				st.Chunks++
				if f.store.HasBlock(c) {
					_, err := f.store.GetBlock(ctx, c)
					if err == nil {
						have += n
						continue
					}
					if !errors.Is(err, ErrCorrupt) {
						return err
					}
					f.log.Warn("weights: stored chunk is corrupt, fetching it again", "cid", c)
					if err := f.store.blocks.remove(c); err != nil {
						return err
					}
				}
				need += n
				jobs = append(jobs, fetchJob{c: c, group: group, size: n})
			}
		}
		return nil
	}
	if err := addTensors(neededTensors(m, embed, head), -1); err != nil {
		return st, err
	}
	for _, l := range ls {
		if err := addTensors(l.Tensors, l.Index); err != nil {
			return st, err
		}
	}
	st.SkippedBytes = have
	if err := f.store.checkSpace(uint64(need), "fetch"); err != nil {
		return st, err
	}
	f.log.Info("weights: fetching", "root", root, "span", span, "embed", embed, "head", head,
		"chunks", len(jobs), "bytes", need, "present", have)
	meter := newMeter(bothProgress(f.opt.Progress, want.Progress), total, have)
	err = f.run(ctx, jobs, nil, layerProv, &st, meter)
	meter.finish()
	if serr := f.store.blocks.sync(); err == nil {
		err = serr
	}
	st.Elapsed = time.Since(start)
	return st, err
}

// bothProgress returns a callback calling a and b, either of which may be
// nil.
func bothProgress(a, b func(Progress)) func(Progress) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(p Progress) { a(p); b(p) }
}

// providers returns the known peers plus those routing finds for c.
func (f *Fetcher) providers(ctx context.Context, c cid.Cid) []peer.ID {
	self := f.host.ID()
	seen := map[peer.ID]bool{self: true}
	var out []peer.ID
	add := func(ai peer.AddrInfo) {
		if seen[ai.ID] || ai.ID == "" {
			return
		}
		seen[ai.ID] = true
		if len(ai.Addrs) > 0 {
			f.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
		}
		out = append(out, ai.ID)
	}
	for _, ai := range f.opt.Peers {
		add(ai)
	}
	if f.opt.Routing != nil {
		lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		for ai := range f.opt.Routing.FindProvidersAsync(lctx, c, f.opt.MaxProviders) {
			add(ai)
		}
	}
	return out
}

// lookupLayers finds the providers of each layer of span (in parallel),
// adding the root's providers to each.
func (f *Fetcher) lookupLayers(ctx context.Context, m *Manifest, span sharding.Span, prov map[int][]peer.ID) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := span.Start; i < span.End; i++ {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ps := f.providers(ctx, m.Layers[i].CID)
			mu.Lock()
			prov[i] = ps
			mu.Unlock()
		})
	}
	wg.Wait()
	for i := span.Start; i < span.End; i++ {
		prov[i] = union(prov[i], prov[-1])
	}
}

func union(a, b []peer.ID) []peer.ID {
	seen := map[peer.ID]bool{}
	var out []peer.ID
	for _, s := range [][]peer.ID{a, b} {
		for _, p := range s {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

type fetchJob struct {
	c     cid.Cid
	group int // layer index, -1 for root-level blocks
	size  int64
	tried map[peer.ID]bool
}

// scheduler hands batches of jobs to workers, each batch to the least
// loaded provider that may have its blocks and has not failed them.
type scheduler struct {
	f     *Fetcher
	prov  map[int][]peer.ID
	mu    sync.Mutex
	cond  *sync.Cond
	queue []*fetchJob
	busy  int
	load  map[peer.ID]int
	err   error
}

func (s *scheduler) eligible(j *fetchJob, p peer.ID) bool {
	return !j.tried[p] && !s.f.bans.Banned(p, s.f.opt.Now())
}

// next returns a provider and a batch for it, or ok=false when the work is
// done or failed.
func (s *scheduler) next(ctx context.Context) (peer.ID, []*fetchJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.err != nil || ctx.Err() != nil {
			return "", nil, false
		}
		if len(s.queue) == 0 {
			if s.busy == 0 {
				return "", nil, false
			}
			s.cond.Wait()
			continue
		}
		var best peer.ID
		for _, j := range s.queue[:min(len(s.queue), 256)] {
			possible := false
			for _, p := range s.prov[j.group] {
				if !s.eligible(j, p) {
					continue
				}
				possible = true
				if s.load[p] < s.f.opt.PerPeer && (best == "" || s.load[p] < s.load[best]) {
					best = p
				}
			}
			if !possible && s.busy == 0 {
				s.err = fmt.Errorf("%w %s: every provider failed it or is banned (%d known)", ErrNoProvider, j.c, len(s.prov[j.group]))
				s.cond.Broadcast()
				return "", nil, false
			}
		}
		if best == "" {
			if s.busy == 0 {
				s.err = fmt.Errorf("%w %s: no provider known", ErrNoProvider, s.queue[0].c)
				return "", nil, false
			}
			s.cond.Wait()
			continue
		}
		var batch []*fetchJob
		rest := s.queue[:0]
		for _, j := range s.queue {
			if len(batch) < s.f.opt.Batch && s.eligible(j, best) && contains(s.prov[j.group], best) {
				batch = append(batch, j)
			} else {
				rest = append(rest, j)
			}
		}
		s.queue = rest
		s.load[best]++
		s.busy++
		return best, batch, true
	}
}

func contains(ps []peer.ID, p peer.ID) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// done returns a batch: failed jobs go back in the queue, marked as tried
// by p.
func (s *scheduler) done(p peer.ID, failed []*fetchJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load[p]--
	s.busy--
	for _, j := range failed {
		if j.tried == nil {
			j.tried = map[peer.ID]bool{}
		}
		j.tried[p] = true
		s.queue = append(s.queue, j)
	}
	s.cond.Broadcast()
}

func (s *scheduler) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	s.cond.Broadcast()
}

// run fetches the jobs' blocks. Jobs of group g may be asked of prov[g]
// (or of flat, when prov is nil).
func (f *Fetcher) run(ctx context.Context, jobs []fetchJob, flat []peer.ID, prov map[int][]peer.ID, st *FetchStats, meters ...*meter) error {
	if len(jobs) == 0 {
		return nil
	}
	if prov == nil {
		prov = map[int][]peer.ID{}
		for _, j := range jobs {
			prov[j.group] = flat
		}
	}
	s := &scheduler{f: f, prov: prov, load: map[peer.ID]int{}}
	s.cond = sync.NewCond(&s.mu)
	var todo []*fetchJob
	for i := range jobs {
		if f.store.HasBlock(jobs[i].c) {
			if _, err := f.store.GetBlock(ctx, jobs[i].c); err == nil {
				continue
			}
			_ = f.store.blocks.remove(jobs[i].c)
		}
		todo = append(todo, &jobs[i])
	}
	s.queue = todo
	if len(todo) == 0 {
		return nil
	}
	stop := context.AfterFunc(ctx, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer stop()
	writes := make(chan struct{}, f.opt.Writers)
	var statsMu sync.Mutex
	var wg sync.WaitGroup
	for range f.opt.Parallel {
		wg.Go(func() {
			for {
				p, batch, ok := s.next(ctx)
				if !ok {
					return
				}
				failed, retries, got, err := f.request(ctx, p, batch, writes, meters)
				statsMu.Lock()
				st.Fetched += len(batch) - len(failed)
				st.Bytes += got
				st.Retries += retries
				statsMu.Unlock()
				if err != nil && ctx.Err() == nil {
					f.log.Debug("weights: request failed", "peer", p, "blocks", len(batch), "err", err)
				}
				s.done(p, failed)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.err
}

// request asks p for a batch and stores what arrives good. Blocks are
// verified as they arrive and written (with fsync) by a bounded pool, so
// the stream keeps flowing while the disk syncs. It returns the jobs that
// did not succeed.
func (f *Fetcher) request(ctx context.Context, p peer.ID, batch []*fetchJob, writes chan struct{}, meters []*meter) (failed []*fetchJob, retries int, bytes int64, err error) {
	cids := make([]cid.Cid, len(batch))
	for i, j := range batch {
		cids[i] = j.c
	}
	release, err := f.acquire(ctx, p)
	if err != nil {
		return batch, 0, 0, err
	}
	defer release()
	ok := make([]bool, len(batch))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var werr error
	i := 0
	err = f.client.GetBlocks(ctx, p, cids, func(_ cid.Cid, data []byte, found bool) error {
		j := batch[i]
		idx := i
		i++
		if !found {
			return nil
		}
		if verr := VerifyBlock(j.c, data); verr != nil || (j.size > 0 && int64(len(data)) != j.size) {
			f.bans.Ban(p, f.opt.Now())
			f.log.Warn("weights: provider served bad bytes; banned", "peer", p, "cid", j.c, "err", verr)
			return nil
		}
		select {
		case writes <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-writes }()
			perr := f.store.blocks.putVerified(j.c, data)
			mu.Lock()
			defer mu.Unlock()
			if perr != nil {
				werr = perr
				return
			}
			ok[idx] = true
			bytes += int64(len(data))
			for _, m := range meters {
				m.add(int64(len(data)))
			}
			if f.opt.Stored != nil {
				f.opt.Stored(len(data))
			}
		})
		return nil
	})
	wg.Wait()
	if err == nil {
		err = werr
	}
	for k, j := range batch {
		if !ok[k] {
			failed = append(failed, j)
			if ctx.Err() == nil {
				retries++
			}
		}
	}
	return failed, retries, bytes, err
}

// Provide announces, through r, the root CID of a model whose root
// manifest and metadata are stored, and the layer CID of every block whose
// manifest and chunks are all stored. It returns the CIDs announced.
func (s *Store) Provide(ctx context.Context, r routing.ContentRouting, root cid.Cid) ([]cid.Cid, error) {
	m, err := s.Manifest(ctx, root)
	if err != nil {
		return nil, err
	}
	var out []cid.Cid
	if _, err := s.Metadata(ctx, m); err == nil {
		if err := r.Provide(ctx, root, true); err != nil {
			return out, fmt.Errorf("weights: announcing %s: %w", root, err)
		}
		out = append(out, root)
	}
	for _, ref := range m.Layers {
		l, err := s.Layer(ctx, ref.CID)
		if err != nil || !s.hasAll(l.Tensors) {
			continue
		}
		if err := r.Provide(ctx, ref.CID, true); err != nil {
			return out, fmt.Errorf("weights: announcing layer %d (%s): %w", ref.Index, ref.CID, err)
		}
		out = append(out, ref.CID)
	}
	return out, nil
}
