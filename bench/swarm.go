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
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/protocol"
)

// DefaultVocab is where synthetic models take their tokenizer when the
// scenario names none.
const DefaultVocab = "/work/shared/vocab/ggml-vocab-llama-spm.gguf"

// prepareModel returns the scenario's model source, writing a synthetic
// model into dir (reused when already there: synthesis is deterministic).
func prepareModel(ctx context.Context, m Model, dir string) (*node.FileSource, engine.Config, error) {
	var path string
	switch {
	case m.CID != "":
		return nil, engine.Config{}, fmt.Errorf("model.cid %s: not supported yet: node has no weight-store ModelSource; use path or synthetic", m.CID)
	case m.Path != "":
		path = m.Path
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

// member is one node of the running swarm.
type member struct {
	name     string
	group    *Group
	n        *node.Node
	status   node.ModelStatus
	started  time.Duration
	killedAt time.Duration // 0: alive
}

// swarm is the running in-process swarm.
type swarm struct {
	sc    *Scenario
	src   *node.FileSource
	mcfg  engine.Config
	enc   protocol.Encoding
	sh    *shaper
	log   *slog.Logger
	nodeL *slog.Logger
	t0    time.Time
	seed  uint64

	mu      sync.Mutex
	members []*member
	byPeer  map[peer.ID]*member
	boot    string // bootstrap address: the first node's
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

func (s *swarm) startNode(ctx context.Context, g *Group, name string) error {
	s.mu.Lock()
	boot := s.boot
	s.mu.Unlock()
	cfg := node.Config{
		Listen:           []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS:      true,
		KVCacheBytes:     int64(g.KVCache),
		Encoding:         s.enc,
		StepTimeout:      10 * time.Second,
		IOTimeout:        10 * time.Second,
		DiscoveryTimeout: 2 * time.Second,
		Version:          "bench",
		Logger:           s.nodeL.With("node", name),
	}
	if boot != "" {
		cfg.Bootstrap = []string{boot}
	}
	// A key derived from the seed and the name: the same scenario and seed
	// give the same peer IDs, hence the same DHT layout and route ties.
	dir, err := os.MkdirTemp("", "orbit-bench-node-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir) // the node reads its key at start only
	if err := writeIdentity(dir, s.seed, name); err != nil {
		return err
	}
	cfg.DataDir = dir
	n, err := node.New(ctx, cfg)
	if err != nil {
		return err
	}
	s.sh.addNode(n.ID(), name, g.Region)
	if err := s.sh.intercept(n.Host()); err != nil {
		n.Close()
		return err
	}
	opt := node.ServeOptions{Entry: g.Entry, MaxBlocks: g.MaxBlocks, NoBlocks: g.Span.None}
	if g.Span.Fixed() {
		if g.Span.End > s.mcfg.Layers {
			n.Close()
			return fmt.Errorf("span %v outside the model's %d blocks", g.Span, s.mcfg.Layers)
		}
		opt.Blocks = engine.Span{Start: g.Span.Start, End: g.Span.End}
	}
	st, err := n.Serve(ctx, s.src, opt)
	if err != nil {
		n.Close()
		return err
	}
	if g.Slowdown > 1 && st.Throughput > 0 && st.Span.Len() > 0 {
		perRow := time.Duration((g.Slowdown - 1) * float64(st.Span.Len()) / st.Throughput * float64(time.Second))
		s.sh.setExtra(n.ID(), perRow)
	}
	m := &member{name: name, group: g, n: n, status: st, started: time.Since(s.t0)}
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

// kill drops a node's host abruptly: its connections die without a
// goodbye, as when a machine loses power.
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
	s.mu.Unlock()
	return m.n.Host().Close()
}

func (s *swarm) entries() []*member {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*member
	for _, m := range s.members {
		if m.group.Entry {
			out = append(out, m)
		}
	}
	return out
}

// close stops every node.
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
}

// writeIdentity stores the Ed25519 key of (seed, name) as dir's node
// identity.
func writeIdentity(dir string, seed uint64, name string) error {
	h := sha256.Sum256(fmt.Appendf(nil, "orbit-bench/%d/%s", seed, name))
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(h[:]))
	if err != nil {
		return fmt.Errorf("bench: identity: %w", err)
	}
	b, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		return fmt.Errorf("bench: identity: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "identity.key"), b, 0o600); err != nil {
		return fmt.Errorf("bench: identity: %w", err)
	}
	return nil
}
