package bench

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/runstatus"
)

// LinkEmulation is the file `orbit run --link-emulation FILE` reads in
// processes mode: which node of the scenario this process is, every node
// of the swarm (peer IDs are known before the processes start: they
// derive from the seed and the node names), the links between regions
// and the region pairs cut now. The process emulates the links on its
// own writes (LinkEmulator). To cut or heal, the bench rewrites the file
// with a higher Generation and sends the process SIGUSR1; the process
// reloads it and answers `links generation=N cut=...` on stdout.
type LinkEmulation struct {
	Generation uint64         `json:"generation"`
	Node       string         `json:"node"` // this process's node name
	Seed       uint64         `json:"seed"` // of jitter and loss (mixed with Node)
	Nodes      []EmulatedNode `json:"nodes"`
	Links      Links          `json:"links"`
	Cut        [][2]string    `json:"cut,omitempty"` // region pairs whose links carry nothing
}

// EmulatedNode is one node of the swarm.
type EmulatedNode struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Peer   string `json:"peer"` // peer ID
}

const (
	maxLinkEmulationSize = 1 << 20
	maxCutPairs          = 4096
)

// ParseLinkEmulation decodes and validates a link-emulation file.
// Unknown fields and trailing data are errors.
func ParseLinkEmulation(data []byte) (*LinkEmulation, error) {
	if len(data) > maxLinkEmulationSize {
		return nil, fmt.Errorf("%d bytes, more than %d", len(data), maxLinkEmulationSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var le LinkEmulation
	if err := dec.Decode(&le); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON object")
	}
	if err := le.Validate(); err != nil {
		return nil, err
	}
	return &le, nil
}

// LoadLinkEmulation reads and parses a link-emulation file.
func LoadLinkEmulation(path string) (*LinkEmulation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("link emulation: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLinkEmulationSize+1))
	if err != nil {
		return nil, fmt.Errorf("link emulation %s: %w", path, err)
	}
	le, err := ParseLinkEmulation(b)
	if err != nil {
		return nil, fmt.Errorf("link emulation %s: %w", path, err)
	}
	return le, nil
}

// Validate checks the file's consistency.
func (le *LinkEmulation) Validate() error {
	if le.Node == "" {
		return errors.New("node: no name")
	}
	if len(le.Nodes) == 0 || len(le.Nodes) > maxNodes {
		return fmt.Errorf("nodes: %d, want 1..%d", len(le.Nodes), maxNodes)
	}
	names, peers := map[string]bool{}, map[peer.ID]bool{}
	for i, n := range le.Nodes {
		if n.Name == "" || n.Region == "" {
			return fmt.Errorf("nodes[%d]: want a name and a region", i)
		}
		if names[n.Name] {
			return fmt.Errorf("nodes[%d]: name %q used twice", i, n.Name)
		}
		names[n.Name] = true
		id, err := peer.Decode(n.Peer)
		if err != nil {
			return fmt.Errorf("nodes[%d] (%s): peer %q: %w", i, n.Name, n.Peer, err)
		}
		if peers[id] {
			return fmt.Errorf("nodes[%d] (%s): peer %s used twice", i, n.Name, id)
		}
		peers[id] = true
	}
	if !names[le.Node] {
		return fmt.Errorf("node %q is not among the nodes", le.Node)
	}
	if err := le.Links.validate(); err != nil {
		return err
	}
	if len(le.Cut) > maxCutPairs {
		return fmt.Errorf("cut: %d region pairs, more than %d", len(le.Cut), maxCutPairs)
	}
	for i, c := range le.Cut {
		if c[0] == "" || c[1] == "" {
			return fmt.Errorf("cut[%d]: want two region names", i)
		}
	}
	return nil
}

// self is this process's node.
func (le *LinkEmulation) self() EmulatedNode {
	for _, n := range le.Nodes {
		if n.Name == le.Node {
			return n
		}
	}
	return EmulatedNode{}
}

// cutString is the cut set as "a|b,c|d" (sorted; "-" for none).
func cutString(pairs [][2]string) string {
	var s []string
	for _, p := range pairs {
		k := pairKey(p[0], p[1])
		s = append(s, k[0]+"|"+k[1])
	}
	if len(s) == 0 {
		return "-"
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// writeLinkEmulation stores le at path atomically (a reader sees the old
// or the new file, never a part).
func writeLinkEmulation(path string, le *LinkEmulation) error {
	b, err := json.MarshalIndent(le, "", "  ")
	if err != nil {
		return fmt.Errorf("link emulation: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("link emulation: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("link emulation: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("link emulation: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("link emulation: %w", err)
	}
	return nil
}

// LinkEmulator emulates a LinkEmulation's links on the host of one
// process (orbit run --link-emulation): every stream the node opens or
// accepts through the wrapped host (WrapHost) delays its writes by the
// link's one-way latency, serialises them at its bandwidth and adds its
// jitter and loss stalls (the shaper of newLinkShaper); the other end's
// process does the same for the other direction. Streams and dials
// across a cut fail, and a cut closes the connections across it.
type LinkEmulator struct {
	sh     *shaper
	selfID peer.ID
	log    *slog.Logger

	mu   sync.Mutex
	cur  *LinkEmulation
	host *shapedHost
}

// NewLinkEmulator builds the emulator of le (validated first).
func NewLinkEmulator(le *LinkEmulation, log *slog.Logger) (*LinkEmulator, error) {
	if err := le.Validate(); err != nil {
		return nil, fmt.Errorf("link emulation: %w", err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := fnv.New64a()
	h.Write([]byte(le.Node))
	sh := newLinkShaper(le.Links, le.Seed^h.Sum64())
	e := &LinkEmulator{sh: sh, log: log, cur: le}
	for _, n := range le.Nodes {
		id, err := peer.Decode(n.Peer)
		if err != nil {
			return nil, fmt.Errorf("link emulation: node %s: %w", n.Name, err)
		}
		sh.addNode(id, n.Name, n.Region)
		if n.Name == le.Node {
			e.selfID = id
		}
	}
	sh.setCut(le.Cut)
	return e, nil
}

// Peer is the peer ID the file gives this node: the process's identity
// must be it.
func (e *LinkEmulator) Peer() peer.ID { return e.selfID }

// WrapHost wraps the node's host (node.Config.WrapHost). Closing the
// wrapper closes h.
func (e *LinkEmulator) WrapHost(h host.Host) host.Host {
	if h.ID() != e.selfID {
		e.log.Warn("link emulation: the host's peer ID is not the node's: its links are not emulated", "host", h.ID(), "node", e.selfID)
	}
	sh := newShapedHost(h, e.sh)
	e.mu.Lock()
	e.host = sh
	e.mu.Unlock()
	return sh
}

// Generation is the generation of the file last applied.
func (e *LinkEmulator) Generation() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur.Generation
}

// Update applies a new version of the file: only its generation and cut
// set may differ. Streams and connections across a new cut are reset
// and closed; healed links carry traffic again (connections come back
// on the next dial).
func (e *LinkEmulator) Update(le *LinkEmulation) error {
	if err := le.Validate(); err != nil {
		return fmt.Errorf("link emulation: %w", err)
	}
	e.mu.Lock()
	old := *e.cur
	a, b := *le, old
	a.Generation, a.Cut, b.Generation, b.Cut = 0, nil, 0, nil
	if !reflect.DeepEqual(a, b) {
		e.mu.Unlock()
		return errors.New("link emulation: only the generation and the cut set may change while the node runs")
	}
	if le.Generation < old.Generation {
		e.mu.Unlock()
		return fmt.Errorf("link emulation: generation %d is older than the applied %d", le.Generation, old.Generation)
	}
	e.cur = le
	h := e.host
	e.mu.Unlock()
	e.sh.setCut(le.Cut)
	if h != nil {
		h.applyCut()
	}
	e.log.Info("link emulation updated", "generation", le.Generation, "cut", cutString(le.Cut))
	return nil
}

// Status is the applied state as `generation=N cut=a|b,...`.
func (e *LinkEmulator) Status() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("generation=%d cut=%s", e.cur.Generation, cutString(e.cur.Cut))
}

// Links is the emulation in force, as a process acknowledges it: the cut
// pairs each in name order, sorted.
func (e *LinkEmulator) Links() runstatus.Links {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := runstatus.Links{Generation: e.cur.Generation}
	for _, p := range e.cur.Cut {
		l.Cut = append(l.Cut, pairKey(p[0], p[1]))
	}
	slices.SortFunc(l.Cut, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	return l
}

// Stats are the directed links from this node that carried traffic.
func (e *LinkEmulator) Stats() []LinkStats { return e.sh.stats() }
