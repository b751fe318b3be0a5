package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// DefaultVocab is where synthetic models take their tokenizer when the
// scenario names none: the shared test data's llama-spm vocabulary, found
// as shared/vocab/ in the working directory or one of its parents (the
// repository sits beside ../shared), or, failing that, beside the
// executable's directory or its parents.
var DefaultVocab = findShared(filepath.Join("vocab", "ggml-vocab-llama-spm.gguf"))

// findShared returns the first existing shared/rel in the working
// directory, the executable's directory, or their parents (at most six
// levels up); when there is none, ../shared/rel, so that the error names
// where the README says the data belongs.
func findShared(rel string) string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for range 7 {
			p := filepath.Join(dir, "shared", rel)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return filepath.Join("..", "shared", rel)
}

// prepareModel returns the scenario's model source, writing a synthetic
// model into dir (reused when already there: synthesis is deterministic),
// or exporting a model.cid from the weight store in dataDir into dir
// (byte-identical to the file imported; reused when already there).
func prepareModel(ctx context.Context, m Model, dir, dataDir string) (*node.FileSource, engine.Config, error) {
	var path string
	switch {
	case m.CID != "":
		var err error
		if path, err = exportCID(ctx, m.CID, dir, dataDir); err != nil {
			return nil, engine.Config{}, err
		}
	case m.Path != "":
		path = m.Path
		// ../shared/... is the shared test data wherever it is found.
		if rel, ok := strings.CutPrefix(filepath.ToSlash(path), "../shared/"); ok {
			if _, err := os.Stat(path); err != nil {
				path = findShared(filepath.FromSlash(rel))
			}
		}
	default:
		s := m.Synthetic
		shape, err := synth.ShapeByName(s.Shape)
		if err != nil {
			return nil, engine.Config{}, fmt.Errorf("model.synthetic: %w", err)
		}
		dt, err := kernels.ParseDType(s.Type)
		if err != nil {
			return nil, engine.Config{}, fmt.Errorf("model.synthetic.type: %w", err)
		}
		vocabPath := s.Vocab
		if vocabPath == "" {
			vocabPath = DefaultVocab
		}
		layers := s.Layers
		if layers == 0 {
			layers = shape.Layers
		}
		path = filepath.Join(dir, fmt.Sprintf("synth-%s-%s-%dL-seed%d.gguf", s.Shape, s.Type, layers, s.Seed))
		if _, err := os.Stat(path); err != nil {
			vf, err := gguf.Open(vocabPath)
			if err != nil {
				return nil, engine.Config{}, fmt.Errorf("model.synthetic.vocab: %w", err)
			}
			vocab, err := tokenizer.VocabFromGGUF(vf)
			vf.Close()
			if err != nil {
				return nil, engine.Config{}, fmt.Errorf("model.synthetic.vocab %s: %w", vocabPath, err)
			}
			tmp := path + ".tmp"
			if err := synth.WriteFile(tmp, synth.Options{Shape: shape, Type: dt, Vocab: vocab, Seed: s.Seed, Layers: layers}); err != nil {
				return nil, engine.Config{}, fmt.Errorf("bench: synthesizing the model: %w", err)
			}
			if err := os.Rename(tmp, path); err != nil {
				return nil, engine.Config{}, fmt.Errorf("bench: %w", err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, engine.Config{}, err
	}
	src, err := node.NewFileSource(path)
	if err != nil {
		return nil, engine.Config{}, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, engine.Config{}, fmt.Errorf("bench: model: %w", err)
	}
	defer f.Close()
	cfg, err := engine.ConfigFromGGUF(f)
	if err != nil {
		return nil, engine.Config{}, fmt.Errorf("bench: model %s: %w", path, err)
	}
	return src, cfg, nil
}

// exportCID writes the model the weight store in dataDir names by cid (a
// root CID or a store alias) as a GGUF file into dir and returns its path.
// Every chunk is verified on the way out; the whole model must be stored.
func exportCID(ctx context.Context, cid, dir, dataDir string) (string, error) {
	if dataDir == "" {
		return "", fmt.Errorf("model.cid %s: no weight store to read it from (Options.DataDir, orbit bench --data-dir)", cid)
	}
	if _, err := os.Stat(dataDir); err != nil {
		return "", fmt.Errorf("model.cid %s: weight store: %w", cid, err)
	}
	store, err := weights.Open(dataDir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return "", fmt.Errorf("model.cid %s: %w", cid, err)
	}
	root, err := store.Resolve(cid)
	if err != nil {
		return "", fmt.Errorf("model.cid %s: %w", cid, err)
	}
	path := filepath.Join(dir, "cid-"+root.String()+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := store.ExportFile(ctx, root, path); err != nil {
		return "", fmt.Errorf("model.cid %s: exporting it from the weight store %s: %w", cid, dataDir, err)
	}
	return path, nil
}

// member is one node of the running swarm.
type member struct {
	name     string
	group    *Group
	n        *node.Node
	h        host.Host // the mocknet host (unshaped)
	status   node.ModelStatus
	started  time.Duration
	killedAt time.Duration // 0: alive
	slots    *api.Slots    // an entry's admission (Group.MaxConcurrent); nil: none
}

// swarm is the in-process swarm on a libp2p mocknet: every node has a
// mocknet host, every pair of nodes a mocknet link with the latency and
// bandwidth of their regions' link, and the shaper adds jitter and loss.
type swarm struct {
	sc    *Scenario
	src   *node.FileSource
	mcfg  engine.Config
	enc   protocol.Encoding
	mn    mocknet.Mocknet
	sh    *shaper
	log   *slog.Logger
	nodeL *slog.Logger
	t0    time.Time
	seed  uint64

	mu      sync.Mutex
	members []*member
	byPeer  map[peer.ID]*member
	boot    string             // bootstrap address: the first node's
	cut     map[[2]string]bool // region pairs whose links are cut
	// draft is the entries' draft model, loaded on first use.
	draft *speculate.DraftModel
}

func newSwarm(sc *Scenario, src *node.FileSource, mcfg engine.Config, enc protocol.Encoding, seed uint64, log, nodeLog *slog.Logger) *swarm {
	return &swarm{sc: sc, src: src, mcfg: mcfg, enc: enc, mn: mocknet.New(), sh: newShaper(sc.Links, seed), log: log, nodeL: nodeLog,
		t0: time.Now(), seed: seed, byPeer: map[peer.ID]*member{}, cut: map[[2]string]bool{}}
}

func (s *swarm) memberNamed(name string) *member {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

func (s *swarm) nameOf(p peer.ID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.byPeer[p]; m != nil {
		return m.name
	}
	return p.String()
}

// draftModel is the entry nodes' draft model (Scenario.DraftLayers): the
// first blocks of the served model and its head, loaded once.
func (s *swarm) draftModel() (*speculate.DraftModel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draft == nil {
		n := min(s.sc.DraftLayers, s.mcfg.Layers)
		m, err := engine.Open(s.src.Path, engine.Options{Embed: true, Head: true, Blocks: sharding.Span{Start: 0, End: n}})
		if err != nil {
			return nil, fmt.Errorf("bench: draft model: %w", err)
		}
		s.draft = &speculate.DraftModel{Model: m}
	}
	return s.draft, nil
}

// startGroup starts every node of g, one after the other (each auto span
// is chosen seeing the ones before it).
func (s *swarm) startGroup(ctx context.Context, g *Group) error {
	for _, name := range g.NodeNames() {
		if err := s.startNode(ctx, g, name); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
	}
	return nil
}

// mockOptions are the mocknet link options of a scenario link.
func mockOptions(l Link) mocknet.LinkOptions {
	return mocknet.LinkOptions{Latency: l.OneWay(), Bandwidth: float64(l.Bandwidth) / 8}
}

// linkTo links p to every live member not across a cut.
func (s *swarm) linkTo(p peer.ID, region string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.killedAt > 0 || s.cut[pairKey(region, m.group.Region)] {
			continue
		}
		l, err := s.mn.LinkPeers(p, m.h.ID())
		if err != nil {
			return fmt.Errorf("bench: mocknet link: %w", err)
		}
		l.SetOptions(mockOptions(s.sc.Links.LinkBetween(region, m.group.Region)))
	}
	return nil
}

func (s *swarm) startNode(ctx context.Context, g *Group, name string) error {
	key, err := nodeKey(s.seed, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	idx := len(s.members) + 1
	boot := s.boot
	s.mu.Unlock()
	// RFC 6666 discard prefix, as mocknet's GenPeer: never dialled for real.
	addr, err := ma.NewMultiaddr(fmt.Sprintf("/ip6/100::%x/tcp/4242", idx))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	h, err := s.mn.AddPeer(key, addr)
	if err != nil {
		return fmt.Errorf("bench: mocknet peer: %w", err)
	}
	s.sh.addNode(h.ID(), name, g.Region)
	if err := s.linkTo(h.ID(), g.Region); err != nil {
		h.Close()
		return err
	}
	cfg := node.Config{
		Host:             newShapedHost(h, s.sh),
		DisableMDNS:      true,
		KVCacheBytes:     int64(g.KVCache),
		Encoding:         s.enc,
		StepTimeout:      10 * time.Second,
		IOTimeout:        10 * time.Second,
		DiscoveryTimeout: 2 * time.Second,
		Version:          "bench",
		Logger:           s.nodeL.With("node", name),
		ComputeSlowdown:  g.Slowdown,
		ComputeCost:      g.ComputeCost.Node(),
		Lie:              lieOf(g, s.seed, name),
		Threads:          g.Threads,
	}
	cfg.RouteMode, _ = sharding.ParseMode(s.sc.Route) // Validate checked it
	cfg.Speculate, _ = speculate.ParseMode(s.sc.Speculate)
	if g.Entry && s.sc.DraftLayers > 0 {
		d, err := s.draftModel()
		if err != nil {
			h.Close()
			return err
		}
		cfg.Draft = d
	}
	if boot != "" {
		cfg.Bootstrap = []string{boot}
	}
	n, err := node.New(ctx, cfg)
	if err != nil {
		h.Close()
		return err
	}
	opt := node.ServeOptions{Entry: g.Entry, MaxBlocks: g.MaxBlocks, NoBlocks: g.Span.None, MemoryBudget: int64(g.Memory)}
	if g.Span.Fixed() {
		if g.Span.End > s.mcfg.Layers {
			n.Close()
			h.Close()
			return fmt.Errorf("span %v outside the model's %d blocks", g.Span, s.mcfg.Layers)
		}
		opt.Blocks = g.Span.Span
	}
	st, err := n.Serve(ctx, s.src, opt)
	if err != nil {
		n.Close()
		h.Close()
		return err
	}
	m := &member{name: name, group: g, n: n, h: h, status: st, started: time.Since(s.t0)}
	if g.Entry && g.MaxConcurrent != "" {
		limit, _ := g.admission() // Validate checked it
		if limit == 0 {
			limit = node.AdmissionPerHop // until a route is known
		}
		m.slots = api.NewSlots(limit, maxClients, nil)
	}
	s.mu.Lock()
	if s.boot == "" {
		if a := n.Addrs(); len(a) > 0 {
			s.boot = a[0].String()
		}
	}
	s.members = append(s.members, m)
	s.byPeer[n.ID()] = m
	s.mu.Unlock()
	s.log.Debug("node started", "node", name, "region", g.Region, "span", st.Span, "entry", g.Entry, "throughput", st.Throughput)
	return nil
}

// kill drops a node abruptly, as when a machine loses power: its mocknet
// links go (nobody can dial it again) and its host closes, resetting
// every stream without a goodbye from the node.
func (s *swarm) kill(name string) error {
	m := s.memberNamed(name)
	if m == nil {
		return fmt.Errorf("kill %s: no such running node", name)
	}
	s.mu.Lock()
	if m.killedAt > 0 {
		s.mu.Unlock()
		return fmt.Errorf("kill %s: already dead", name)
	}
	m.killedAt = max(time.Since(s.t0), 1)
	others := make([]peer.ID, 0, len(s.members))
	for _, o := range s.members {
		others = append(others, o.h.ID())
	}
	s.mu.Unlock()
	for _, o := range others {
		for _, l := range s.mn.LinksBetweenPeers(m.h.ID(), o) {
			_ = s.mn.Unlink(l)
		}
	}
	return m.h.Close()
}

// setCut severs (or restores) the mocknet links between two regions; a
// cut also closes the connections across it.
func (s *swarm) setCut(_ context.Context, a, b string, cut bool) error {
	s.mu.Lock()
	s.cut[pairKey(a, b)] = cut
	var pairs [][2]*member
	for i, x := range s.members {
		for _, y := range s.members[i+1:] {
			if x.killedAt > 0 || y.killedAt > 0 || pairKey(x.group.Region, y.group.Region) != pairKey(a, b) {
				continue
			}
			pairs = append(pairs, [2]*member{x, y})
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, p := range pairs {
		x, y := p[0].h.ID(), p[1].h.ID()
		if cut {
			if len(s.mn.LinksBetweenPeers(x, y)) > 0 {
				errs = append(errs, s.mn.UnlinkPeers(x, y))
			}
			errs = append(errs, s.mn.DisconnectPeers(x, y))
			continue
		}
		if len(s.mn.LinksBetweenPeers(x, y)) == 0 {
			l, err := s.mn.LinkPeers(x, y)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			l.SetOptions(mockOptions(s.sc.Links.LinkBetween(p[0].group.Region, p[1].group.Region)))
		}
	}
	return errors.Join(errs...)
}

func (s *swarm) entries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.members {
		if m.group.Entry {
			out = append(out, m.name)
		}
	}
	return out
}

func (s *swarm) add(ctx context.Context, g *Group) error { return s.startGroup(ctx, g) }

// generate runs one generation through the entry node named entry.
func (s *swarm) generate(ctx context.Context, entry string, prompt []int32, maxTokens int, emit func()) (genStats, error) {
	m := s.memberNamed(entry)
	if m == nil {
		return genStats{}, fmt.Errorf("bench: no entry node %s", entry)
	}
	if m.slots != nil {
		if m.group.MaxConcurrent == "auto" {
			if n, err := m.n.AdmissionLimit(ctx, s.src.ID(), len(prompt)+maxTokens, m.slots.Load().Active); err == nil {
				m.slots.SetLimit(n)
			}
		}
		if err := m.slots.Acquire(ctx); err != nil {
			return genStats{}, err
		}
		defer m.slots.Release()
	}
	st, err := m.n.Generate(ctx, s.src.ID(), prompt, maxTokens, nil, nil, func(int32) error { emit(); return nil })
	gs := genStats{failovers: st.Failovers, timed: true}
	if st.Speculate != speculate.Off {
		gs.passes, gs.drafted, gs.accepted = st.Speculation.Passes, st.Speculation.Drafted, st.Speculation.Accepted
	}
	for _, h := range st.Route {
		gs.route = append(gs.route, RouteHop{Node: s.nameOf(h.Peer), Start: h.Span.Start, End: h.Span.End})
	}
	for _, h := range st.Hops {
		gs.hops = append(gs.hops, hopTiming{node: s.nameOf(h.Server), start: h.Span.Start, blocks: h.Span.Len(), steps: h.Steps,
			compute: h.Compute, queue: h.Queue, network: h.Network})
	}
	return gs, err
}

func (s *swarm) nodeResults(setup time.Duration) []NodeResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []NodeResult
	for _, m := range s.members {
		nr := NodeResult{Name: m.name, Region: m.group.Region, Entry: m.group.Entry, Slowdown: m.group.Slowdown,
			Span: [2]int{m.status.Span.Start, m.status.Span.End}, ThroughputTokS: m.status.Throughput, StartedS: (m.started - setup).Seconds()}
		if m.killedAt > 0 {
			nr.KilledS = (m.killedAt - setup).Seconds()
		}
		out = append(out, nr)
	}
	return out
}

func (s *swarm) linkStats() []LinkStats { return s.sh.stats() }

// computeStats reads every live node's batch schedulers.
func (s *swarm) computeStats(context.Context) map[string]node.ComputeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]node.ComputeStats{}
	for _, m := range s.members {
		if m.killedAt == 0 {
			out[m.name] = m.n.ComputeStats()
		}
	}
	return out
}

// close stops every node and the mocknet.
func (s *swarm) close() {
	s.mu.Lock()
	ms := append([]*member(nil), s.members...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() {
			if err := m.n.Close(); err != nil && !errors.Is(err, io.EOF) {
				s.log.Debug("closing node", "node", m.name, "err", err)
			}
		})
	}
	wg.Wait()
	s.sh.close()
	_ = s.mn.Close()
	if s.draft != nil {
		_ = s.draft.Model.Close()
	}
}

// nodeKey is the Ed25519 key of (seed, name): the same scenario and seed
// give the same peer IDs, hence the same DHT layout and route ties.
func nodeKey(seed uint64, name string) (crypto.PrivKey, error) {
	h := sha256.Sum256(fmt.Appendf(nil, "orbit-bench/%d/%s", seed, name))
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(h[:]))
	if err != nil {
		return nil, fmt.Errorf("bench: identity: %w", err)
	}
	return k, nil
}

// writeIdentity stores the key of (seed, name) as dir's node identity
// (processes mode).
func writeIdentity(dir string, seed uint64, name string) error {
	k, err := nodeKey(seed, name)
	if err != nil {
		return err
	}
	b, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		return fmt.Errorf("bench: identity: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("bench: identity: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "identity.key"), b, 0o600); err != nil {
		return fmt.Errorf("bench: identity: %w", err)
	}
	return nil
}
