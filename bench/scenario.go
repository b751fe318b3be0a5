package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// Scenario describes one benchmark: see the example files in
// bench/scenarios.
type Scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Seed        uint64 `yaml:"seed"`
	Model       Model  `yaml:"model"`
	Encoding    string `yaml:"encoding"` // hidden-state encoding: f32, f16 (default), q8_0
	// Route is what the entry nodes' routes optimize: latency (default)
	// or throughput (node.Config.RouteMode, orbit run --route).
	Route      string   `yaml:"route"`
	SpanPolicy string   `yaml:"span_policy"`
	Nodes      []Group  `yaml:"nodes"`
	Links      Links    `yaml:"links"`
	Workload   Workload `yaml:"workload"`
	Events     []Event  `yaml:"events"`
	// Speculate is the entry nodes' speculative decoding: off (default),
	// auto or ngram (node.Config.Speculate, orbit run --speculate; the
	// bench has no draft model). A run with speculation also runs the
	// workload without it on a fresh swarm, and its results show both
	// (Results.Baseline).
	Speculate string `yaml:"speculate"`
	// DraftLayers > 0 gives speculate: draft (and auto) a draft model:
	// the first DraftLayers blocks of the served model and its head, run
	// by each entry node (self-speculation by early exit).
	DraftLayers int `yaml:"draft_layers"`
}

// Model is the model the swarm serves: exactly one of Path, CID and
// Synthetic. A Path under ../shared/ is looked for as the shared test
// data is (see DefaultVocab) when it is not there.
type Model struct {
	Path      string     `yaml:"path"`
	CID       string     `yaml:"cid"`
	Synthetic *Synthetic `yaml:"synthetic"`
}

// Synthetic is a random-weight model of a real shape (engine/synth).
type Synthetic struct {
	Shape  string `yaml:"shape"`  // tiny, llama-1b, ...
	Type   string `yaml:"type"`   // weight type: f32, f16, q8_0, q4_0 (q8_0)
	Layers int    `yaml:"layers"` // override the shape's block count
	Vocab  string `yaml:"vocab"`  // GGUF whose tokenizer to use
	Seed   uint64 `yaml:"seed"`
}

// Group is one or more identical nodes. Count > 1 names them Name-0,
// Name-1, ...
type Group struct {
	Name      string   `yaml:"name"`
	Count     int      `yaml:"count"`
	Region    string   `yaml:"region"`
	Entry     bool     `yaml:"entry"`      // loads embedding and head: workload clients use it
	Span      SpanSpec `yaml:"span"`       // "auto", "none", or [start, end)
	MaxBlocks int      `yaml:"max_blocks"` // cap of an auto span
	// Memory is the memory budget for the block weights of an auto span:
	// the node takes no more blocks than fit (orbit run --memory). Zero:
	// no cap in mocknet mode, orbit run's default (60% of the available
	// RAM) in processes mode.
	Memory   Bytes   `yaml:"memory"`
	KVCache  Bytes   `yaml:"kv_cache"` // KV-cache budget (node default 1GiB)
	Slowdown float64 `yaml:"slowdown"` // compute slow-down factor (>= 1; 1 = as measured)
	// ComputeCost emulates the step time of a bigger model or machine
	// (node.ComputeCost): an engine call over b blocks with r rows takes at
	// least b*(block + r*row), the node waiting out what the real call
	// did not take.
	ComputeCost *ComputeCost `yaml:"compute_cost"`
	// Threads is the kernel threads of each of the node's models (0: the
	// machine's; processes mode: the process's GOMAXPROCS).
	Threads int `yaml:"threads"`
	// Liar makes the group's servers lie from position LieFrom of every
	// session on: echo (skip the compute, return the input), noise (add
	// N(0, 0.1)) or random (uniform values); see Workload.VerifyRates.
	Liar    string `yaml:"liar"`
	LieFrom int    `yaml:"lie_from"`
	// MaxConcurrent is an entry node's admission (orbit run
	// --max-concurrent): a number, or auto (sized from the swarm). Empty:
	// orbit run's default in processes mode, no admission in mocknet mode
	// (every client's generation runs at once).
	MaxConcurrent string `yaml:"max_concurrent"`
	// Deferred groups are not started at time 0 but by an "add" event
	// naming them.
	Deferred bool `yaml:"deferred"`
}

// ComputeCost is an emulated step time: per block, per engine call and
// per row.
type ComputeCost struct {
	Block Duration `yaml:"block" json:"block"`
	Row   Duration `yaml:"row" json:"row"`
}

// Node is the cost as the node takes it.
func (c *ComputeCost) Node() node.ComputeCost {
	if c == nil {
		return node.ComputeCost{}
	}
	return node.ComputeCost{Block: time.Duration(c.Block), Row: time.Duration(c.Row)}
}

// String is the cost as ParseComputeCost reads it ("BLOCK,ROW").
func (c *ComputeCost) String() string {
	return time.Duration(c.Block).String() + "," + time.Duration(c.Row).String()
}

// ParseComputeCost reads "BLOCK,ROW" (two durations, as 4ms,800us).
func ParseComputeCost(s string) (node.ComputeCost, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return node.ComputeCost{}, fmt.Errorf("compute cost %q: want BLOCK,ROW such as 4ms,800us", s)
	}
	block, err1 := time.ParseDuration(strings.TrimSpace(a))
	row, err2 := time.ParseDuration(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || block < 0 || row < 0 || block > time.Minute || row > time.Minute {
		return node.ComputeCost{}, fmt.Errorf("compute cost %q: want BLOCK,ROW such as 4ms,800us", s)
	}
	return node.ComputeCost{Block: block, Row: row}, nil
}

// SpanSpec is a node's span: Auto, None, or the fixed blocks [Start, End).
type SpanSpec struct {
	Auto, None bool
	sharding.Span
}

// UnmarshalYAML accepts "auto", "none" or a two-element list.
func (s *SpanSpec) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Value {
		case "auto", "":
			*s = SpanSpec{Auto: true}
		case "none":
			*s = SpanSpec{None: true}
		default:
			return fmt.Errorf("line %d: span %q: want auto, none or [start, end]", n.Line, n.Value)
		}
		return nil
	case yaml.SequenceNode:
		var v []int
		if err := n.Decode(&v); err != nil || len(v) != 2 {
			return fmt.Errorf("line %d: span: want [start, end] with two integers", n.Line)
		}
		if v[0] < 0 || v[1] <= v[0] {
			return fmt.Errorf("line %d: span [%d, %d]: want 0 <= start < end", n.Line, v[0], v[1])
		}
		*s = SpanSpec{Span: sharding.Span{Start: v[0], End: v[1]}}
		return nil
	}
	return fmt.Errorf("line %d: span: want auto, none or [start, end]", n.Line)
}

// Fixed reports whether the span is a fixed block range.
func (s SpanSpec) Fixed() bool { return !s.Auto && !s.None && s.End > s.Start }

func (s SpanSpec) String() string {
	switch {
	case s.None:
		return "none"
	case s.Fixed():
		return s.Span.String()
	}
	return "auto"
}

// Links are the network between regions.
type Links struct {
	Default Link       `yaml:"default" json:"default"` // between any two nodes not otherwise listed (also within a region)
	Pairs   []LinkPair `yaml:"pairs" json:"pairs,omitempty"`
}

// LinkPair is the link between two regions (both directions). A region
// paired with itself sets the link within it.
type LinkPair struct {
	Regions [2]string `yaml:"regions" json:"regions"`
	Link    `yaml:",inline"`
}

// Link is one link's properties, per direction.
type Link struct {
	Latency   Duration  `yaml:"latency" json:"latency,omitzero"` // one-way
	RTT       Duration  `yaml:"rtt" json:"rtt,omitzero"`         // alternative to latency: one-way = rtt/2
	Jitter    Duration  `yaml:"jitter" json:"jitter,omitzero"`   // extra one-way delay, uniform in [0, jitter]
	Bandwidth Bandwidth `yaml:"bandwidth" json:"bandwidth_bps,omitzero"`
	Loss      float64   `yaml:"loss" json:"loss,omitzero"` // probability that a chunk stalls for a retransmission
}

// OneWay is the link's one-way latency.
func (l Link) OneWay() time.Duration {
	if l.Latency > 0 {
		return time.Duration(l.Latency)
	}
	return time.Duration(l.RTT) / 2
}

// Workload is what the clients do.
type Workload struct {
	Clients      int      `yaml:"clients"`       // closed loop: concurrent clients; open loop: max in flight (0: unbounded)
	Arrival      string   `yaml:"arrival"`       // "closed" (default) or "poisson"
	Rate         float64  `yaml:"rate"`          // poisson: requests per second
	PromptTokens int      `yaml:"prompt_tokens"` // per request
	OutputTokens int      `yaml:"output_tokens"` // per request
	Duration     Duration `yaml:"duration"`      // no request starts after it
	Think        Duration `yaml:"think"`         // closed loop: pause between a client's requests (at least 100ms after a failed one)
	Warmup       Duration `yaml:"warmup"`        // requests arriving before it are excluded from summaries
	// Prompts, when set, are the requests' prompts (text, tokenized with
	// the model's tokenizer after a BOS), taken in turn by request ID,
	// instead of prompt_tokens random tokens.
	Prompts []string `yaml:"prompts"`
	// Concurrency, when set, sweeps closed-loop clients over these
	// numbers of concurrent streams on the same swarm: a step of duration
	// each (its first warmup excluded), one after another; results add
	// the aggregate tokens/s and per-stream latency of every step (see
	// SweepPoint).
	Concurrency []int `yaml:"concurrency"`
	// VerifyRates, when set, runs the workload once per verify rate, each
	// on a swarm started afresh: requests one after another from the
	// first entry node, checked at that rate; results add, per rate, the
	// checks' cost and, with liar nodes, how soon a liar was caught and
	// the tokens its lies cost (see VerifyPoint). Mocknet mode only.
	VerifyRates []float64 `yaml:"verify_rates"`
}

// Event is something that happens at time At: exactly one of Kill, Add
// and Cut.
type Event struct {
	At   Duration  `yaml:"at"`
	Kill string    `yaml:"kill"` // node name: its host drops abruptly
	Add  string    `yaml:"add"`  // group name (deferred: true): its nodes start
	Cut  [2]string `yaml:"cut"`  // two regions: their links stop carrying inference traffic
	Heal [2]string `yaml:"heal"` // two regions: undo a cut
}

// Kind names what the event does.
func (e Event) Kind() string {
	switch {
	case e.Kill != "":
		return "kill"
	case e.Add != "":
		return "add"
	case e.Cut[0] != "":
		return "cut"
	case e.Heal[0] != "":
		return "heal"
	}
	return ""
}

// Target is the node, group or region pair the event acts on.
func (e Event) Target() string {
	switch e.Kind() {
	case "kill":
		return e.Kill
	case "add":
		return e.Add
	case "cut":
		return e.Cut[0] + "<->" + e.Cut[1]
	case "heal":
		return e.Heal[0] + "<->" + e.Heal[1]
	}
	return ""
}

// Duration is a time.Duration written as "40ms", "1.5s", ...
type Duration time.Duration

// UnmarshalYAML parses a Go duration string ("0" is allowed).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 40ms", n.Line)
	}
	if n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: want e.g. 40ms or 1.5s", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q is negative", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

// UnmarshalJSON parses a Go duration string ("0" is allowed).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"40ms\": %w", err)
	}
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 40ms or 1.5s", s)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// Bandwidth is in bits per second, written as "100Mbit", "1Gbit/s",
// "512kbps"; 0 means unlimited.
type Bandwidth float64

// ParseBandwidth parses a bit rate.
func ParseBandwidth(s string) (Bandwidth, error) {
	t := strings.TrimSpace(s)
	if t == "" || t == "0" || t == "unlimited" {
		return 0, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "ps")
	t = strings.TrimSuffix(t, "it")
	t = strings.TrimSuffix(t, "b")
	mult := 1.0
	if k := len(t); k > 0 {
		switch t[k-1] {
		case 'k', 'K':
			mult, t = 1e3, t[:k-1]
		case 'M':
			mult, t = 1e6, t[:k-1]
		case 'G':
			mult, t = 1e9, t[:k-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("bandwidth %q: want e.g. 100Mbit, 1Gbit/s or 512kbps", s)
	}
	return Bandwidth(v * mult), nil
}

// UnmarshalYAML parses a bit rate.
func (b *Bandwidth) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a bandwidth such as 100Mbit", n.Line)
	}
	v, err := ParseBandwidth(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// Bytes is a size written as "64MiB", "1GiB", "500MB" or a plain number.
type Bytes int64

// UnmarshalYAML parses a size.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size such as 64MiB", n.Line)
	}
	t := strings.TrimSpace(n.Value)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<50 {
		return fmt.Errorf("line %d: size %q: want e.g. 64MiB or 1GiB", n.Line, n.Value)
	}
	*b = Bytes(v * float64(mult))
	return nil
}

// Limits keep a scenario from asking for more than one process can hold.
const (
	maxNodes        = 256
	maxClients      = 4096
	maxTokens       = 1 << 16
	maxScenarioSize = 1 << 20
)

// LoadFile reads and parses a scenario file.
func LoadFile(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	sc, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("bench: scenario %s: %w", path, err)
	}
	return sc, nil
}

// Parse decodes a YAML scenario, fills defaults and validates it.
// Unknown fields are errors.
func Parse(data []byte) (*Scenario, error) {
	if len(data) > maxScenarioSize {
		return nil, fmt.Errorf("scenario of %d bytes is larger than %d", len(data), maxScenarioSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty scenario")
		}
		return nil, err
	}
	sc.fill()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

func (sc *Scenario) fill() {
	if sc.Encoding == "" {
		sc.Encoding = "f16"
	}
	if sc.SpanPolicy == "" {
		sc.SpanPolicy = "auto"
	}
	if sc.Route == "" {
		sc.Route = "latency"
	}
	if sc.Speculate == "" {
		sc.Speculate = "off"
	}
	if sc.Model.Synthetic != nil {
		s := sc.Model.Synthetic
		if s.Shape == "" {
			s.Shape = "tiny"
		}
		if s.Type == "" {
			s.Type = "q8_0"
		}
		if s.Seed == 0 {
			s.Seed = 1
		}
	}
	for i := range sc.Nodes {
		g := &sc.Nodes[i]
		if g.Count == 0 {
			g.Count = 1
		}
		if g.Slowdown == 0 {
			g.Slowdown = 1
		}
		if g.Region == "" {
			g.Region = "default"
		}
		if !g.Span.Fixed() && !g.Span.None {
			g.Span.Auto = true
		}
	}
	w := &sc.Workload
	if w.Arrival == "" {
		w.Arrival = "closed"
	}
	if w.Clients == 0 && w.Arrival == "closed" {
		w.Clients = 1
	}
	if w.PromptTokens == 0 {
		w.PromptTokens = 8
	}
	if w.OutputTokens == 0 {
		w.OutputTokens = 16
	}
	if w.Duration == 0 {
		w.Duration = Duration(10 * time.Second)
	}
}

// Validate checks the scenario's consistency.
func (sc *Scenario) Validate() error {
	m := sc.Model
	n := 0
	for _, set := range []bool{m.Path != "", m.CID != "", m.Synthetic != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("model: set exactly one of path, cid and synthetic")
	}
	if _, err := protocol.ParseEncoding(sc.Encoding); err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	if _, err := sharding.ParseMode(sc.Route); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	switch m, err := speculate.ParseMode(sc.Speculate); {
	case err != nil:
		return fmt.Errorf("speculate: %w", err)
	case m == speculate.Draft && sc.DraftLayers <= 0:
		return errors.New("speculate: draft needs draft_layers (the bench drafts with the model's first blocks)")
	case sc.DraftLayers < 0:
		return fmt.Errorf("draft_layers %d is negative", sc.DraftLayers)
	}
	if sc.SpanPolicy != "auto" && sc.SpanPolicy != "fixed" {
		return fmt.Errorf("span_policy %q: want auto or fixed", sc.SpanPolicy)
	}
	if len(sc.Nodes) == 0 {
		return errors.New("nodes: none")
	}
	groups := map[string]*Group{}
	names := map[string]bool{}
	total, entries := 0, 0
	for i := range sc.Nodes {
		g := &sc.Nodes[i]
		if g.Name == "" {
			return fmt.Errorf("nodes[%d]: no name", i)
		}
		if groups[g.Name] != nil {
			return fmt.Errorf("nodes[%d]: group name %q used twice", i, g.Name)
		}
		groups[g.Name] = g
		if g.Count < 0 || g.Count > maxNodes {
			return fmt.Errorf("node %s: count %d: want 1..%d", g.Name, g.Count, maxNodes)
		}
		if g.Slowdown < 1 || math.IsInf(g.Slowdown, 0) || math.IsNaN(g.Slowdown) || g.Slowdown > 1000 {
			return fmt.Errorf("node %s: slowdown %v: want 1..1000", g.Name, g.Slowdown)
		}
		if g.MaxBlocks < 0 {
			return fmt.Errorf("node %s: max_blocks %d is negative", g.Name, g.MaxBlocks)
		}
		if g.KVCache < 0 {
			return fmt.Errorf("node %s: kv_cache is negative", g.Name)
		}
		if g.Memory < 0 {
			return fmt.Errorf("node %s: memory is negative", g.Name)
		}
		if _, err := g.admission(); err != nil {
			return fmt.Errorf("node %s: %w", g.Name, err)
		}
		switch g.Liar {
		case "", LieEcho, LieNoise, LieRandom:
		default:
			return fmt.Errorf("node %s: liar %q: want echo, noise or random", g.Name, g.Liar)
		}
		if g.LieFrom < 0 {
			return fmt.Errorf("node %s: lie_from %d is negative", g.Name, g.LieFrom)
		}
		if g.Threads < 0 || g.Threads > 1024 {
			return fmt.Errorf("node %s: threads %d: want 0..1024", g.Name, g.Threads)
		}
		if c := g.ComputeCost; c != nil && (c.Block < 0 || c.Row < 0 || time.Duration(c.Block) > time.Minute || time.Duration(c.Row) > time.Minute) {
			return fmt.Errorf("node %s: compute_cost: want durations under a minute", g.Name)
		}
		if g.Memory > 0 && !g.Span.Auto {
			return fmt.Errorf("node %s: memory budgets an auto span; span %v is not auto", g.Name, g.Span)
		}
		if sc.SpanPolicy == "fixed" && g.Span.Auto {
			return fmt.Errorf("node %s: span_policy fixed needs a span ([start, end] or none)", g.Name)
		}
		if g.Span.None && !g.Entry {
			return fmt.Errorf("node %s: serves no blocks and is not an entry: it would do nothing", g.Name)
		}
		total += g.Count
		if g.Entry && !g.Deferred {
			entries += g.Count
		}
		for _, nm := range g.NodeNames() {
			if names[nm] {
				return fmt.Errorf("node %s: name %q used twice", g.Name, nm)
			}
			names[nm] = true
		}
	}
	if total > maxNodes {
		return fmt.Errorf("nodes: %d in all, more than %d", total, maxNodes)
	}
	if entries == 0 {
		return errors.New("nodes: no entry node started at time 0 (set entry: true on one)")
	}
	if err := sc.Links.validate(); err != nil {
		return err
	}
	w := sc.Workload
	switch w.Arrival {
	case "closed":
		if w.Clients < 1 || w.Clients > maxClients {
			return fmt.Errorf("workload: clients %d: want 1..%d", w.Clients, maxClients)
		}
		for _, c := range w.Concurrency {
			if c < 1 || c > maxClients {
				return fmt.Errorf("workload: concurrency %d: want 1..%d", c, maxClients)
			}
		}
		if len(w.Concurrency) > 0 && len(sc.Events) > 0 {
			return errors.New("workload: a concurrency sweep takes no events")
		}
		if err := validVerifyRates(w.VerifyRates); err != nil {
			return err
		}
		if len(w.VerifyRates) > 0 && (len(w.Concurrency) > 0 || len(sc.Events) > 0) {
			return errors.New("workload: verify_rates takes no concurrency sweep and no events")
		}
	case "poisson":
		if len(w.Concurrency) > 0 || len(w.VerifyRates) > 0 {
			return errors.New("workload: concurrency and verify_rates run closed-loop clients; arrival poisson takes neither")
		}
		if !(w.Rate > 0) || w.Rate > 1e4 || math.IsInf(w.Rate, 0) {
			return fmt.Errorf("workload: rate %v: a poisson workload needs 0 < rate <= 10000 requests/s", w.Rate)
		}
		if w.Clients < 0 || w.Clients > maxClients {
			return fmt.Errorf("workload: clients %d: want 0..%d", w.Clients, maxClients)
		}
	default:
		return fmt.Errorf("workload: arrival %q: want closed or poisson", w.Arrival)
	}
	if w.PromptTokens < 1 || w.PromptTokens > maxTokens || w.OutputTokens < 1 || w.OutputTokens > maxTokens {
		return fmt.Errorf("workload: prompt_tokens %d and output_tokens %d: want 1..%d", w.PromptTokens, w.OutputTokens, maxTokens)
	}
	if w.Duration <= 0 || time.Duration(w.Duration) > 24*time.Hour {
		return fmt.Errorf("workload: duration %v: want up to 24h", time.Duration(w.Duration))
	}
	for i, e := range sc.Events {
		set := 0
		for _, b := range []bool{e.Kill != "", e.Add != "", e.Cut != [2]string{}, e.Heal != [2]string{}} {
			if b {
				set++
			}
		}
		if set != 1 {
			return fmt.Errorf("events[%d]: set exactly one of kill, add, cut and heal", i)
		}
		switch e.Kind() {
		case "kill":
			if !names[e.Kill] {
				return fmt.Errorf("events[%d]: kill %q: no such node", i, e.Kill)
			}
			for _, g := range sc.Nodes {
				if g.Entry && slicesContains(g.NodeNames(), e.Kill) {
					return fmt.Errorf("events[%d]: kill %q: killing an entry node would kill its clients; kill a server", i, e.Kill)
				}
			}
		case "add":
			g := groups[e.Add]
			if g == nil {
				return fmt.Errorf("events[%d]: add %q: no such node group", i, e.Add)
			}
			if !g.Deferred {
				return fmt.Errorf("events[%d]: add %q: the group must be marked deferred: true", i, e.Add)
			}
		case "cut", "heal":
			r := e.Cut
			if e.Kind() == "heal" {
				r = e.Heal
			}
			if r[0] == "" || r[1] == "" {
				return fmt.Errorf("events[%d]: %s: want two region names", i, e.Kind())
			}
		}
	}
	return nil
}

func (ls Links) validate() error {
	if err := ls.Default.validate(); err != nil {
		return fmt.Errorf("links.default: %w", err)
	}
	for i, p := range ls.Pairs {
		if p.Regions[0] == "" || p.Regions[1] == "" {
			return fmt.Errorf("links.pairs[%d]: regions: want two region names", i)
		}
		if err := p.Link.validate(); err != nil {
			return fmt.Errorf("links.pairs[%d] (%s-%s): %w", i, p.Regions[0], p.Regions[1], err)
		}
	}
	return nil
}

func (l Link) validate() error {
	if l.Latency > 0 && l.RTT > 0 {
		return errors.New("set latency (one-way) or rtt, not both")
	}
	if l.OneWay() > time.Minute || time.Duration(l.Jitter) > time.Minute {
		return errors.New("latency and jitter must be under a minute")
	}
	if l.Loss < 0 || l.Loss >= 1 || math.IsNaN(l.Loss) {
		return fmt.Errorf("loss %v: want 0 <= loss < 1", l.Loss)
	}
	if b := float64(l.Bandwidth); math.IsNaN(b) || math.IsInf(b, 0) || (b != 0 && b < 1e3) {
		return fmt.Errorf("bandwidth %v bit/s: want at least 1kbit (or 0 for unlimited)", float64(l.Bandwidth))
	}
	return nil
}

// admission parses MaxConcurrent: 0 for auto or none, else the number.
func (g Group) admission() (int, error) {
	switch g.MaxConcurrent {
	case "", "auto":
		return 0, nil
	}
	n, err := strconv.Atoi(g.MaxConcurrent)
	if err != nil || n < 1 || n > maxClients {
		return 0, fmt.Errorf("max_concurrent %q: want auto or 1..%d", g.MaxConcurrent, maxClients)
	}
	return n, nil
}

// NodeNames are the names of the group's nodes.
func (g Group) NodeNames() []string {
	if g.Count <= 1 {
		return []string{g.Name}
	}
	out := make([]string, g.Count)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", g.Name, i)
	}
	return out
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// LinkBetween is the link from region a to region b.
func (l Links) LinkBetween(a, b string) Link {
	for _, p := range l.Pairs {
		if (p.Regions[0] == a && p.Regions[1] == b) || (p.Regions[0] == b && p.Regions[1] == a) {
			return p.Link
		}
	}
	return l.Default
}

// Overrides change a loaded scenario from the command line (orbit bench
// --shape, --type, ...); zero fields change nothing.
type Overrides struct {
	Shape, Type string // model.synthetic's (the model must be synthetic)
	Layers      int    // model.synthetic.layers
	Threads     int    // every node group's threads
	// ComputeCost is every node group's compute_cost: "BLOCK,ROW", or
	// "none" for the real compute.
	ComputeCost string
	Concurrency []int // workload.concurrency
	// MaxConcurrent is every entry group's max_concurrent (N or auto).
	MaxConcurrent string
}

// Override applies o and validates the result.
func (sc *Scenario) Override(o Overrides) error {
	if o.Shape != "" || o.Type != "" || o.Layers != 0 {
		s := sc.Model.Synthetic
		if s == nil {
			return errors.New("--shape, --type and --layers change a synthetic model; the scenario's is not")
		}
		if o.Shape != "" {
			s.Shape = o.Shape
		}
		if o.Type != "" {
			s.Type = o.Type
		}
		if o.Layers != 0 {
			s.Layers = o.Layers
		}
	}
	var cost *ComputeCost
	switch o.ComputeCost {
	case "", "none":
	default:
		c, err := ParseComputeCost(o.ComputeCost)
		if err != nil {
			return err
		}
		cost = &ComputeCost{Block: Duration(c.Block), Row: Duration(c.Row)}
	}
	for i := range sc.Nodes {
		g := &sc.Nodes[i]
		if o.Threads != 0 {
			g.Threads = o.Threads
		}
		if o.ComputeCost != "" {
			g.ComputeCost = cost
		}
		if o.MaxConcurrent != "" && g.Entry {
			g.MaxConcurrent = o.MaxConcurrent
		}
	}
	if len(o.Concurrency) > 0 {
		sc.Workload.Concurrency = o.Concurrency
	}
	return sc.Validate()
}
