package weights

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

func newHost(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func addrInfo(h host.Host) peer.AddrInfo { return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()} }

// badStore serves corrupted bytes for the blocks bad says so.
type badStore struct {
	*Store
	bad    func(c cid.Cid) bool
	served atomic.Int64
	hook   func(n int64)
}

func (b *badStore) GetBlock(ctx context.Context, c cid.Cid) ([]byte, error) {
	data, err := b.Store.GetBlock(ctx, c)
	if err != nil {
		return nil, err
	}
	if n := b.served.Add(1); b.hook != nil {
		b.hook(n)
	}
	if b.bad != nil && b.bad(c) {
		data = bytes.Clone(data)
		data[0] ^= 1
	}
	return data, nil
}

type provider struct {
	h     host.Host
	store *badStore
	root  cid.Cid
}

// newProvider imports f into a fresh store served on a new host.
func newProvider(t testing.TB, f *gguf.File, bad func(cid.Cid) bool) *provider {
	t.Helper()
	s := openStore(t)
	root := importFile(t, s, f, "m")
	h := newHost(t)
	bs := &badStore{Store: s, bad: bad}
	srv := protocol.NewBlockServer(h, bs, protocol.BlockServerOptions{Logger: quiet})
	t.Cleanup(func() { srv.Close() })
	return &provider{h: h, store: bs, root: root}
}

// spanBytes assembles the span file in s and returns its bytes.
func spanBytes(t testing.TB, s *Store, root cid.Cid, span sharding.Span, embed, head bool) []byte {
	t.Helper()
	f, err := s.OpenSpan(context.Background(), root, span, embed, head)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return bytes.Clone(f.Bytes())
}

func testModel(t testing.TB) *gguf.File { return synthModel(t, 4, 128, 2304, 64, 42) }

func TestFetchSpanFromTwoProviders(t *testing.T) {
	f := testModel(t)
	good := newProvider(t, f, nil)
	n := 0
	var mu sync.Mutex
	bad := newProvider(t, f, func(cid.Cid) bool { // every other block it serves is bad
		mu.Lock()
		defer mu.Unlock()
		n++
		return n%2 == 0
	})
	s := openStore(t)
	h := newHost(t)
	now := time.Unix(1000, 0)
	fe := newFetcher(s, h, FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(good.h), addrInfo(bad.h)},
		Parallel: 4, PerPeer: 2, Batch: 2, Now: func() time.Time { return now }})
	span := sharding.Span{Start: 1, End: 3}
	var last Progress
	fe.opt.Progress = func(p Progress) { last = p }
	st, err := fe.Fetch(context.Background(), good.root, Want{Span: span, Embed: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Fetched == 0 || st.Retries == 0 {
		t.Fatalf("stats %+v: want fetched blocks and retries", st)
	}
	if last.Done != last.Total || last.Total == 0 {
		t.Fatalf("last progress %+v", last)
	}
	if bans := fe.Bans().List(now); len(bans) != 1 || bans[0] != bad.h.ID() {
		t.Fatalf("banned %v, want only %s", bans, bad.h.ID())
	}
	if bad.store.served.Load() == 0 {
		t.Fatal("the bad provider was never asked")
	}
	if got, want := spanBytes(t, s, good.root, span, true, false), spanBytes(t, good.store.Store, good.root, span, true, false); !bytes.Equal(got, want) {
		t.Fatal("fetched span differs from the provider's")
	}
	if rep, err := s.Verify(context.Background(), good.root); err != nil || len(rep.Corrupt) != 0 {
		t.Fatalf("verify after fetch: %+v, %v", rep, err)
	}
	ms, err := s.Models(context.Background())
	if err != nil || len(ms) != 1 {
		t.Fatalf("models: %v, %v", ms, err)
	}
	if lb := ms[0].LocalBlocks; lb[0] || !lb[1] || !lb[2] || lb[3] || !ms[0].Embed || ms[0].Head {
		t.Fatalf("local parts %+v", ms[0])
	}
	// The ban expires.
	if fe.Bans().Banned(bad.h.ID(), now.Add(31*time.Minute)) {
		t.Fatal("ban did not expire")
	}
}

func TestFetchOnlyBadProvider(t *testing.T) {
	f := testModel(t)
	bad := newProvider(t, f, func(c cid.Cid) bool { return c.Hash()[5]%3 == 0 })
	s := openStore(t)
	fe := newFetcher(s, newHost(t), FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(bad.h)}})
	_, err := fe.Fetch(context.Background(), bad.root, Want{All: true})
	if !errors.Is(err, ErrNoProvider) {
		t.Fatalf("fetch from a lying provider: %v", err)
	}
	if rep, err := s.Verify(context.Background(), bad.root); err != nil || len(rep.Corrupt) > 0 {
		t.Fatalf("bad bytes were stored: %+v, %v", rep, err)
	}
}

func TestFetchResumes(t *testing.T) {
	f := testModel(t)
	p := newProvider(t, f, nil)
	s := openStore(t)
	h := newHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	p.store.hook = func(n int64) {
		if n == 12 {
			cancel()
		}
	}
	fe := newFetcher(s, h, FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(p.h)}, Parallel: 1, Batch: 1})
	_, err := fe.Fetch(ctx, p.root, Want{All: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled fetch: %v", err)
	}
	rep, err := s.Verify(context.Background(), p.root)
	if err != nil || len(rep.Missing) == 0 || rep.Blocks < 5 {
		t.Fatalf("after the interrupted fetch: %d good, %d missing, %v", rep.Blocks, len(rep.Missing), err)
	}
	p.store.hook = nil
	fe = newFetcher(s, h, FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(p.h)}})
	st, err := fe.Fetch(context.Background(), p.root, Want{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := uniqueBytes(t, s, p.root); st.SkippedBytes == 0 || st.Bytes+st.SkippedBytes != want {
		t.Fatalf("resumed fetch %+v: skipped + fetched should be the model's %d bytes", st, want)
	}
	var out bytes.Buffer
	if _, err := s.Export(context.Background(), p.root, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), f.Bytes()) {
		t.Fatal("model fetched in two goes differs from the original")
	}
}

// uniqueBytes sums the sizes of a model's distinct chunks.
func uniqueBytes(t testing.TB, s *Store, root cid.Cid) int64 {
	ctx := context.Background()
	m, err := s.Manifest(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := s.allTensors(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[cid.Cid]bool{}
	var n int64
	for i := range ts {
		for ci, c := range ts[i].Chunks {
			if !seen[c] {
				seen[c] = true
				n += int64(ts[i].ChunkLen(ci, m.ChunkSize))
			}
		}
	}
	return n
}

func TestFetchNoSpace(t *testing.T) {
	p := newProvider(t, testModel(t), nil)
	s := openStore(t)
	s.freeSpace = func(string) (uint64, error) { return 70 << 20, nil }
	fe := newFetcher(s, newHost(t), FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(p.h)}})
	_, err := fe.Fetch(context.Background(), p.root, Want{All: true})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("fetch onto a full disk: %v", err)
	}
}

func TestFetchNoProviders(t *testing.T) {
	s := openStore(t)
	fe := newFetcher(s, newHost(t), FetchOptions{Logger: quiet})
	_, err := fe.Fetch(context.Background(), SumCID([]byte("x")), Want{All: true})
	if !errors.Is(err, ErrNoProvider) {
		t.Fatalf("fetch with no provider: %v", err)
	}
}

func TestBanList(t *testing.T) {
	t0 := time.Unix(0, 0)
	tests := []struct {
		name   string
		at     time.Duration
		banned bool
	}{
		{"at once", 0, true},
		{"just before expiry", time.Minute - 1, true},
		{"at expiry", time.Minute, false},
		{"later", time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBanList(time.Minute)
			b.Ban("p", t0)
			if got := b.Banned("p", t0.Add(tc.at)); got != tc.banned {
				t.Fatalf("banned = %v, want %v", got, tc.banned)
			}
			if b.Banned("q", t0) {
				t.Fatal("unknown peer banned")
			}
		})
	}
}

// TestFetchThroughDHT finds providers through a kad-dht among three
// loopback hosts: two provide (announcing root and layer CIDs), the third
// fetches knowing no provider up front.
func TestFetchThroughDHT(t *testing.T) {
	ctx := context.Background()
	f := testModel(t)
	a := newProvider(t, f, nil)
	b := newProvider(t, f, nil)
	c := newHost(t)
	hosts := []host.Host{a.h, b.h, c}
	dhts := make([]*dht.IpfsDHT, len(hosts))
	for i, h := range hosts {
		d, err := dht.New(ctx, h, dht.Mode(dht.ModeServer), dht.ProtocolPrefix("/orbit"), dht.DisableAutoRefresh())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		dhts[i] = d
	}
	for i := range hosts {
		for j := range i {
			if err := hosts[i].Connect(ctx, addrInfo(hosts[j])); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range dhts {
		for d.RoutingTable().Size() < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("routing table of %s has %d peers", d.PeerID(), d.RoutingTable().Size())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i, p := range []*provider{a, b} {
		got, err := p.store.Provide(ctx, dhts[i], p.root)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("announced %d CIDs, want root and 4 layers", len(got))
		}
	}
	s := openStore(t)
	fe := newFetcher(s, c, FetchOptions{Logger: quiet, Routing: dhts[2]})
	span := sharding.Span{Start: 2, End: 4}
	if _, err := fe.Fetch(ctx, a.root, Want{Span: span, Head: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := spanBytes(t, s, a.root, span, false, true), spanBytes(t, a.store.Store, a.root, span, false, true); !bytes.Equal(got, want) {
		t.Fatal("span fetched through the DHT differs")
	}
	if a.store.served.Load() == 0 || b.store.served.Load() == 0 {
		t.Fatalf("providers served %d and %d blocks: want both used", a.store.served.Load(), b.store.served.Load())
	}
}

// TestFetchPerCallProgress runs two fetches of different spans at once
// through one Fetcher: each Want.Progress sees only its own fetch, and
// FetchOptions.Progress sees both.
func TestFetchPerCallProgress(t *testing.T) {
	f := testModel(t)
	p := newProvider(t, f, nil)
	s := openStore(t)
	var mu sync.Mutex
	shared := 0
	fe := newFetcher(s, newHost(t), FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(p.h)},
		Progress: func(Progress) { mu.Lock(); shared++; mu.Unlock() }})
	spans := []sharding.Span{{Start: 0, End: 1}, {Start: 1, End: 4}}
	last := make([]Progress, len(spans))
	var wg sync.WaitGroup
	errs := make([]error, len(spans))
	for i, span := range spans {
		wg.Go(func() {
			_, errs[i] = fe.Fetch(context.Background(), p.root, Want{Span: span, Progress: func(pr Progress) { last[i] = pr }})
		})
	}
	wg.Wait()
	for i, span := range spans {
		if errs[i] != nil {
			t.Fatalf("fetch %v: %v", span, errs[i])
		}
		want := spanTensorBytes(t, p.store.Store, p.root, span)
		if last[i].Total != want || last[i].Done != want {
			t.Errorf("fetch %v: last progress %+v, want %d of %d bytes", span, last[i], want, want)
		}
	}
	if shared < len(spans) {
		t.Errorf("FetchOptions.Progress called %d times, want at least %d", shared, len(spans))
	}
}

// spanTensorBytes sums the sizes of the distinct chunks of span's blocks.
func spanTensorBytes(t testing.TB, s *Store, root cid.Cid, span sharding.Span) int64 {
	t.Helper()
	m, err := s.Manifest(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := s.layers(context.Background(), m, span)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	seen := map[cid.Cid]bool{}
	for _, l := range ls {
		for _, ts := range l.Tensors {
			for i, c := range ts.Chunks {
				if !seen[c] {
					seen[c] = true
					n += int64(ts.ChunkLen(i, m.ChunkSize))
				}
			}
		}
	}
	return n
}

// TestConcurrentFetchesOneProvider: several fetches at once through one
// Fetcher from a single provider share its per-peer request slots, so the
// provider's cap on concurrent requests per peer (4, below the 3 per fetch
// times 4 fetches) never refuses one and every fetch completes.
func TestConcurrentFetchesOneProvider(t *testing.T) {
	f := testModel(t)
	p := newProvider(t, f, nil)
	fe := newFetcher(openStore(t), newHost(t), FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(p.h)}, Batch: 1})
	spans := []sharding.Span{{Start: 0, End: 1}, {Start: 1, End: 2}, {Start: 2, End: 3}, {Start: 3, End: 4}}
	errs := make([]error, len(spans))
	var wg sync.WaitGroup
	for i, span := range spans {
		wg.Go(func() { _, errs[i] = fe.Fetch(t.Context(), p.root, Want{Span: span}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("fetch %v: %v", spans[i], err)
		}
	}
	if b := fe.Bans().List(time.Now()); len(b) != 0 {
		t.Fatalf("the provider was banned: %v", b)
	}
}

// TestFetchRepairsCorruptBlocks: a store holding the whole model, one of
// whose blocks has rotted on disk, fetches exactly that block again: the
// bad copy is never kept, and the model exports byte for byte afterwards.
func TestFetchRepairsCorruptBlocks(t *testing.T) {
	f := testModel(t)
	p := newProvider(t, f, nil)
	ctx := context.Background()
	m, err := p.store.Manifest(ctx, p.root)
	if err != nil {
		t.Fatal(err)
	}
	layer := func(i int) *LayerManifest {
		l, err := p.store.Layer(ctx, m.Layers[i].CID)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// lastChunk is the last chunk of l's largest tensor: a chunk past the
	// first, shorter than ChunkSize.
	lastChunk := func(l *LayerManifest) cid.Cid {
		big := &l.Tensors[0]
		for i := range l.Tensors {
			if l.Tensors[i].Size > big.Size {
				big = &l.Tensors[i]
			}
		}
		if len(big.Chunks) < 2 {
			t.Fatalf("largest tensor %q of block %d is one chunk", big.Name, l.Index)
		}
		return big.Chunks[len(big.Chunks)-1]
	}
	embed := neededTensors(m, true, false)
	for _, tc := range []struct {
		name string
		bad  cid.Cid
		want Want
	}{
		{"root manifest", p.root, Want{All: true}},
		{"metadata chunk", m.MetadataChunks[0], Want{All: true}},
		{"layer manifest", m.Layers[1].CID, Want{All: true}},
		{"last chunk of a tensor", lastChunk(layer(2)), Want{All: true}},
		{"chunk of the embedding", embed[0].Chunks[0], Want{All: true}},
		{"chunk of the wanted span only", layer(3).Tensors[0].Chunks[0], Want{Span: sharding.Span{Start: 3, End: 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			importFile(t, s, f, "m")
			corruptOneChunk(t, s, tc.bad)
			fe := newFetcher(s, newHost(t), FetchOptions{Logger: quiet, Peers: []peer.AddrInfo{addrInfo(p.h)}})
			st, err := fe.Fetch(ctx, p.root, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if st.Fetched != 1 {
				t.Errorf("fetched %d blocks, want only the corrupt one", st.Fetched)
			}
			if _, err := s.GetBlock(ctx, tc.bad); err != nil {
				t.Fatalf("block %s after the fetch: %v", tc.bad, err)
			}
			rep, err := s.Verify(ctx, p.root)
			if err != nil || len(rep.Corrupt) != 0 || len(rep.Missing) != 0 {
				t.Fatalf("verify after the fetch: %+v, %v", rep, err)
			}
			var out bytes.Buffer
			if _, err := s.Export(ctx, p.root, &out); err != nil || !bytes.Equal(out.Bytes(), f.Bytes()) {
				t.Fatalf("export after the repair differs from the original (%v)", err)
			}
		})
	}
}

// newFetcher is a Fetcher over h asking peers through the blocks protocol.
func newFetcher(s *Store, h host.Host, opt FetchOptions) *Fetcher {
	return NewFetcher(s, h, protocol.NewBlockClient(h, 0), opt)
}
