package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/orbitswarm/orbit/sharding"
)

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("1h30m", "250ms"); a bare JSON number is taken as seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var sec float64
	if err := json.Unmarshal(b, &sec); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"90s\" or seconds: %w", b, err)
	}
	*d = Duration(sec * float64(time.Second))
	return nil
}

// Cost is the cost model, calibrated from a benchmark of a reference node.
// It can be read from a results JSON file with LoadCost; fields the file
// lacks keep their defaults, and unknown fields are ignored so a wider
// benchmark report can be passed as it is.
type Cost struct {
	// Reference describes the node and model the figures were measured on.
	Reference string `json:"reference"`
	// BlockMillisPerToken is the decode time of one token through one
	// transformer block on the reference node.
	BlockMillisPerToken float64 `json:"block_ms_per_token"`
	// DecodeTokensPerSecond and BenchBlocks are an alternative calibration:
	// a whole-model decode speed measured over BenchBlocks blocks. They are
	// used only when BlockMillisPerToken is not set.
	DecodeTokensPerSecond float64 `json:"decode_tokens_per_s,omitempty"`
	BenchBlocks           int     `json:"bench_blocks,omitempty"`
	// HopOverheadMillis is the fixed cost of one hop besides the network
	// delay: framing, (de)serializing the hidden state, scheduling.
	HopOverheadMillis float64 `json:"hop_overhead_ms"`
	// BlockLoadSeconds is the time a server needs to fetch and load one
	// block before it serves it.
	BlockLoadSeconds float64 `json:"block_load_s"`
	// BlockMemoryGiB is the memory one block takes (weights plus its share
	// of KV cache); a class's memory budget divided by it bounds the blocks
	// a server of that class holds.
	BlockMemoryGiB float64 `json:"block_mem_gib"`
	// ReplaySpeedup is how much faster than decoding a server re-processes
	// the tokens a client replays after a failover (a batched prefill).
	ReplaySpeedup float64 `json:"replay_speedup"`
	// MemoryBandwidthGBps is the reference node's memory bandwidth, which
	// ForBlock turns a block's weights into decode time with.
	MemoryBandwidthGBps float64 `json:"memory_bandwidth_gbps,omitempty"`
}

// ForBlock is c for a model named name whose block holds blockBytes of
// weights of which decoding one token reads activeBytes (all of them in a
// dense block; the router, attention and the experts a token is routed to
// in a mixture of experts): decode is memory-bound, activeBytes at
// MemoryBandwidthGBps per block and token, and a block takes its weights
// plus a tenth for its share of KV cache in memory. So a mixture of
// experts' block costs the memory of all its experts and the time of a
// few.
func (c Cost) ForBlock(name string, blockBytes, activeBytes int64) Cost {
	bw := c.MemoryBandwidthGBps
	if !(bw > 0) {
		bw = DefaultCost().MemoryBandwidthGBps
	}
	c.MemoryBandwidthGBps = bw
	c.BlockMillisPerToken = float64(activeBytes) / (bw * 1e9) * 1000
	c.BlockMemoryGiB = float64(blockBytes) * 1.1 / (1 << 30)
	c.Reference = fmt.Sprintf("%s: %.3g GiB of weights per block, %.3g GiB read per token, memory-bound at %g GB/s",
		name, float64(blockBytes)/(1<<30), float64(activeBytes)/(1<<30), bw)
	return c
}

// DefaultCost is a Llama-2-70B-shaped model (80 blocks) in Q4_0 on the
// reference node, a 2-core AMD Zen 4 with about 28 GB/s of memory bandwidth:
// a Q4_0 block of that model is about 0.48 GB of weights, so a memory-bound
// decode needs about 17 ms per block per token there.
func DefaultCost() Cost {
	return Cost{
		Reference:           "2-core Zen 4, 28 GB/s; Llama-2-70B block, Q4_0 (memory-bound estimate)",
		BlockMillisPerToken: 17,
		HopOverheadMillis:   1,
		BlockLoadSeconds:    5,
		BlockMemoryGiB:      0.5,
		ReplaySpeedup:       8,
		MemoryBandwidthGBps: 28,
	}
}

// LoadCost reads a cost model from a JSON file, over the defaults.
func LoadCost(path string) (Cost, error) {
	c := DefaultCost()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read cost model: %w", err)
	}
	c.BlockMillisPerToken = 0
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("parse cost model %s: %w", path, err)
	}
	if c.BlockMillisPerToken == 0 {
		switch ok, err := c.fromBenchResults(b); {
		case err != nil:
			return c, fmt.Errorf("cost model %s: %w", path, err)
		case ok:
		case c.DecodeTokensPerSecond > 0 && c.BenchBlocks > 0:
			c.BlockMillisPerToken = 1000 / (c.DecodeTokensPerSecond * float64(c.BenchBlocks))
		default:
			c.BlockMillisPerToken = DefaultCost().BlockMillisPerToken
		}
	}
	return c, nil
}

// benchResults is the part of an `orbit bench` results.json that
// calibrates the cost model.
type benchResults struct {
	Scenario *string `json:"scenario"`
	Mode     string  `json:"mode"`
	Seed     uint64  `json:"seed"`
	Model    *struct {
		Layers int `json:"layers"`
	} `json:"model"`
	Nodes []struct {
		Name     string  `json:"name"`
		Slowdown float64 `json:"slowdown"`
	} `json:"nodes"`
	Hops []struct {
		Node      string  `json:"node"`
		Blocks    int     `json:"blocks"`
		Steps     int     `json:"steps"`
		ComputeMS float64 `json:"compute_ms"`
	} `json:"hops"`
}

// fromBenchResults sets BlockMillisPerToken from an `orbit bench`
// results.json (recognised by its scenario and model fields): the servers'
// compute time per step and block, over every hop of every request,
// weighted by steps, with each node's emulated slow-down taken out. It
// reports false when b is not bench results, and an error when it is but
// holds no per-hop compute timings (processes mode, or no request done).
func (c *Cost) fromBenchResults(b []byte) (bool, error) {
	var r benchResults
	if err := json.Unmarshal(b, &r); err != nil || r.Scenario == nil || r.Model == nil {
		return false, nil
	}
	slow := map[string]float64{}
	for _, n := range r.Nodes {
		slow[n.Name] = n.Slowdown
	}
	var ms, blockSteps float64
	for _, h := range r.Hops {
		if h.Blocks <= 0 || h.Steps <= 0 || !(h.ComputeMS > 0) || math.IsInf(h.ComputeMS, 0) {
			continue
		}
		s := slow[h.Node]
		if !(s >= 1) || math.IsInf(s, 0) {
			s = 1
		}
		ms += h.ComputeMS / s * float64(h.Steps)
		blockSteps += float64(h.Blocks * h.Steps)
	}
	if blockSteps == 0 || !(ms > 0) {
		return true, fmt.Errorf("bench results of scenario %q (mode %q) have no per-hop compute timings: run orbit bench in mocknet mode with completed requests", *r.Scenario, r.Mode)
	}
	c.BlockMillisPerToken = ms / blockSteps
	c.Reference = fmt.Sprintf("orbit bench scenario %s (%s, seed %d): %d-block model, %.4g ms per block per token", *r.Scenario, r.Mode, r.Seed, r.Model.Layers, c.BlockMillisPerToken)
	return true, nil
}

func (c Cost) validate() error {
	switch {
	case !(c.BlockMillisPerToken > 0) || math.IsInf(c.BlockMillisPerToken, 0):
		return fmt.Errorf("block_ms_per_token must be positive, got %v", c.BlockMillisPerToken)
	case c.HopOverheadMillis < 0:
		return fmt.Errorf("hop_overhead_ms must not be negative, got %v", c.HopOverheadMillis)
	case c.BlockLoadSeconds < 0:
		return fmt.Errorf("block_load_s must not be negative, got %v", c.BlockLoadSeconds)
	case !(c.BlockMemoryGiB > 0):
		return fmt.Errorf("block_mem_gib must be positive, got %v", c.BlockMemoryGiB)
	case !(c.ReplaySpeedup > 0):
		return fmt.Errorf("replay_speedup must be positive, got %v", c.ReplaySpeedup)
	}
	return nil
}

// Class is a kind of volunteer machine.
type Class struct {
	Name string `json:"name"`
	// Share is the weight of this class among joining peers.
	Share float64 `json:"share"`
	// Speed is the class's median speed relative to the reference node.
	Speed float64 `json:"speed"`
	// SpeedSigma is the log-normal spread of speed within the class.
	SpeedSigma float64 `json:"speed_sigma"`
	// MemoryGiB is the memory a peer of this class gives to blocks.
	MemoryGiB float64 `json:"memory_gib"`
	// CacheTokens is the KV-cache positions a server of this class offers
	// to clients' sessions.
	CacheTokens int `json:"cache_tokens"`
}

// DefaultClasses is a volunteer mix: many laptops, desktops, a few servers.
// With the default cost model they hold 8, 20 and 48 blocks of 0.5 GiB, so
// no volunteer holds the whole 80-block model and every route has hops.
func DefaultClasses() []Class {
	return []Class{
		{Name: "laptop", Share: 0.40, Speed: 0.6, SpeedSigma: 0.25, MemoryGiB: 4, CacheTokens: 8192},
		{Name: "desktop", Share: 0.45, Speed: 1.0, SpeedSigma: 0.25, MemoryGiB: 10, CacheTokens: 16384},
		{Name: "server", Share: 0.15, Speed: 2.5, SpeedSigma: 0.3, MemoryGiB: 24, CacheTokens: 65536},
	}
}

// Region is a place where peers and clients live. RTTMillis[j] is the round
// trip to region j of the same list; the diagonal is the typical round trip
// between two hosts of the region.
type Region struct {
	Name      string    `json:"name"`
	Weight    float64   `json:"weight"`
	RTTMillis []float64 `json:"rtt_ms"`
}

// defaultRegionNames and defaultRTT describe six regions with round trips
// typical of public measurements between their main hubs.
var defaultRegionNames = [...]string{"us-east", "us-west", "europe", "asia", "south-america", "oceania"}

var defaultRegionWeights = [...]float64{0.25, 0.15, 0.30, 0.20, 0.05, 0.05}

var defaultRTT = [6][6]float64{
	{15, 65, 85, 190, 120, 200},
	{65, 15, 145, 130, 170, 150},
	{85, 145, 15, 200, 190, 280},
	{190, 130, 200, 20, 290, 120},
	{120, 170, 190, 290, 20, 300},
	{200, 150, 280, 120, 300, 20},
}

// DefaultRegions returns the built-in regions with their default weights.
func DefaultRegions() []Region {
	out := make([]Region, len(defaultRegionNames))
	for i, n := range defaultRegionNames {
		out[i] = Region{Name: n, Weight: defaultRegionWeights[i], RTTMillis: append([]float64(nil), defaultRTT[i][:]...)}
	}
	return out
}

// RegionNames lists the built-in regions ParseRegions accepts.
func RegionNames() []string { return append([]string(nil), defaultRegionNames[:]...) }

// ParseRegions selects built-in regions from a comma-separated list of
// names, each optionally weighted as name=weight ("europe=2,us-east=1").
// Unweighted names take their default weight. The empty string selects all.
func ParseRegions(spec string) ([]Region, error) {
	all := DefaultRegions()
	if strings.TrimSpace(spec) == "" {
		return all, nil
	}
	var idx []int
	var w []float64
	seen := map[int]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, hasWeight := strings.Cut(part, "=")
		i := -1
		for j, r := range all {
			if r.Name == name {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("unknown region %q (known: %s)", name, strings.Join(RegionNames(), ", "))
		}
		if seen[i] {
			return nil, fmt.Errorf("region %q given twice", name)
		}
		seen[i] = true
		wt := all[i].Weight
		if hasWeight {
			v, err := strconv.ParseFloat(weight, 64)
			if err != nil || !(v > 0) {
				return nil, fmt.Errorf("region %q: weight %q must be a positive number", name, weight)
			}
			wt = v
		}
		idx = append(idx, i)
		w = append(w, wt)
	}
	if len(idx) == 0 {
		return nil, errors.New("no region selected")
	}
	out := make([]Region, len(idx))
	for k, i := range idx {
		rtt := make([]float64, len(idx))
		for m, j := range idx {
			rtt[m] = all[i].RTTMillis[j]
		}
		out[k] = Region{Name: all[i].Name, Weight: w[k], RTTMillis: rtt}
	}
	return out, nil
}

// Config describes one simulation. Its zero value is not usable: start from
// DefaultConfig and change what the experiment needs.
type Config struct {
	// Peers is the number of servers at time 0; they are placed one after
	// another with ChooseSpan and serve from the start (a warm swarm).
	Peers int `json:"peers"`
	// Blocks is the model's number of transformer blocks.
	Blocks int `json:"blocks"`
	// Duration is the simulated time.
	Duration Duration `json:"duration"`
	// Seed makes the run reproducible: same Config, same Report.
	Seed uint64 `json:"seed"`

	// JoinRate and LeaveRate are the swarm-wide Poisson rates of server
	// joins and leaves, per second; Auto (negative) is Peers/7200 each.
	JoinRate  float64 `json:"join_rate"`
	LeaveRate float64 `json:"leave_rate"`
	// CrashFraction is the probability that a leaving server crashes
	// instead of leaving gracefully.
	CrashFraction float64 `json:"crash_fraction"`
	// CrashTTL is how long a crashed server's record stays in the views.
	CrashTTL Duration `json:"crash_ttl"`
	// FailureTimeout is the time a client loses on a hop to a dead server
	// before it re-plans.
	FailureTimeout Duration `json:"failure_timeout"`

	// ClientRate is the Poisson rate of client requests per second; Auto
	// (negative) is Peers/1000.
	ClientRate float64 `json:"client_rate"`
	// TokensPerRequest is the mean number of new tokens per request; each
	// request draws uniformly from [mean/2, 3*mean/2].
	TokensPerRequest int `json:"tokens_per_request"`
	// MaxReplans bounds the failed attempts in a row (no route, a dead
	// server on the chain) after which a request gives up.
	MaxReplans int `json:"max_replans"`
	// ClientViewPerBlock is how many providers of each block a client's
	// DHT lookup returns (Kademlia's k); 0 gives clients the whole view.
	// RouteCandidatesPerBlock is how many of them per block the client
	// keeps as route candidates, the closest, fastest and least loaded for
	// the blocks they can run; 0 keeps them all.
	ClientViewPerBlock      int `json:"client_view_per_block"`
	RouteCandidatesPerBlock int `json:"route_candidates_per_block"`
	// Topology is how activations travel, for planning and for latency:
	// "star" (every server returns its output to the client, as in Petals;
	// Route runs in time linear in the candidates' spans) or "mesh" (each
	// server pushes to the next, the last back to the client, as in the
	// design's data flow; Route then calls HopCost for every pair of
	// candidates meeting at a block boundary, which at thousands of peers
	// needs RouteCandidatesPerBlock of 1 to 3 and is still about 20 times
	// slower than star).
	Topology string `json:"topology"`
	// RouteMode is "latency" (sharding.MinLatency) or "throughput"
	// (sharding.MaxThroughput).
	RouteMode string `json:"route_mode"`

	// RebalancePeriod is the length of one rebalancing epoch: one server
	// holds the turn per epoch. RebalanceJitter delays its check by a random
	// amount in [0, RebalanceJitter). RebalanceThreshold is the relative
	// gain a move must bring (sharding.Rebalance's threshold).
	RebalancePeriod    Duration `json:"rebalance_period"`
	RebalanceJitter    Duration `json:"rebalance_jitter"`
	RebalanceThreshold float64  `json:"rebalance_threshold"`

	// SampleEvery is the period of the report's time series.
	SampleEvery Duration `json:"sample_every"`
	// RTTJitter spreads each pair's round trip by up to this fraction.
	RTTJitter float64 `json:"rtt_jitter"`
	// AccessMillisMax bounds the last-mile delay of a peer or client (drawn
	// uniformly from [1, AccessMillisMax] ms and added to each round trip).
	AccessMillisMax float64 `json:"access_ms_max"`

	Regions []Region `json:"regions"`
	Classes []Class  `json:"classes"`
	Cost    Cost     `json:"cost"`
}

// Auto, as a join, leave or client rate, asks for the default rate for the
// swarm's size (see DefaultConfig); New resolves it.
const Auto = -1.0

// DefaultSession is the mean server session behind the automatic churn
// rates: joins and leaves of Peers / DefaultSession each.
const DefaultSession = 2 * time.Hour

// DefaultConfig returns a documented default experiment for a swarm of
// peers servers: one simulated hour of an 80-block model, churn with a mean
// server session of two hours (join rate = leave rate = peers / 7200 s, 30%
// of the leaves are crashes), and client requests of 256 new tokens at a
// rate of peers/1000 per second (roughly a third of the swarm's capacity
// with the default classes). The rates are Auto, so they follow Peers when
// it is changed.
func DefaultConfig(peers int) Config {
	return Config{
		Peers:                   peers,
		Blocks:                  80,
		Duration:                Duration(time.Hour),
		Seed:                    1,
		JoinRate:                Auto,
		LeaveRate:               Auto,
		CrashFraction:           0.3,
		CrashTTL:                Duration(60 * time.Second),
		FailureTimeout:          Duration(3 * time.Second),
		ClientRate:              Auto,
		TokensPerRequest:        256,
		MaxReplans:              8,
		ClientViewPerBlock:      20,
		RouteCandidatesPerBlock: 0,
		Topology:                "star",
		RouteMode:               "latency",
		RebalancePeriod:         Duration(10 * time.Second),
		RebalanceJitter:         Duration(5 * time.Second),
		RebalanceThreshold:      0.2,
		SampleEvery:             Duration(time.Minute),
		RTTJitter:               0.2,
		AccessMillisMax:         10,
		Regions:                 DefaultRegions(),
		Classes:                 DefaultClasses(),
		Cost:                    DefaultCost(),
	}
}

// Resolved returns c with every Auto (negative) rate replaced by its
// default for c.Peers.
func (c Config) Resolved() Config {
	churn := float64(c.Peers) / DefaultSession.Seconds()
	if c.JoinRate < 0 {
		c.JoinRate = churn
	}
	if c.LeaveRate < 0 {
		c.LeaveRate = churn
	}
	if c.ClientRate < 0 {
		c.ClientRate = float64(c.Peers) / 1000
	}
	return c
}

// LoadConfig reads a Config from a JSON file over DefaultConfig: fields
// the file lacks keep their defaults.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig(1000)
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("parse config %s: %w", path, err)
	}
	return c, nil
}

// Validate reports the first problem that makes c unusable; Auto rates
// are valid.
func (c Config) Validate() error {
	c = c.Resolved()
	nonNeg := func(name string, v float64) error {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s must be a finite number >= 0, got %v", name, v)
		}
		return nil
	}
	switch {
	case c.Peers < 0:
		return fmt.Errorf("peers must not be negative, got %d", c.Peers)
	case c.Blocks <= 0:
		return fmt.Errorf("blocks must be positive, got %d", c.Blocks)
	case c.Duration <= 0:
		return fmt.Errorf("duration must be positive, got %v", c.Duration.D())
	case c.SampleEvery <= 0:
		return fmt.Errorf("sample_every must be positive, got %v", c.SampleEvery.D())
	case c.RebalancePeriod <= 0:
		return fmt.Errorf("rebalance_period must be positive, got %v", c.RebalancePeriod.D())
	case c.RebalanceJitter < 0 || c.CrashTTL < 0 || c.FailureTimeout < 0:
		return errors.New("rebalance_jitter, crash_ttl and failure_timeout must not be negative")
	case c.CrashFraction < 0 || c.CrashFraction > 1:
		return fmt.Errorf("crash_fraction must be in [0, 1], got %v", c.CrashFraction)
	case c.TokensPerRequest <= 0:
		return fmt.Errorf("tokens_per_request must be positive, got %d", c.TokensPerRequest)
	case c.ClientViewPerBlock < 0 || c.RouteCandidatesPerBlock < 0:
		return errors.New("client_view_per_block and route_candidates_per_block must not be negative")
	case c.Topology != "mesh" && c.Topology != "star":
		return fmt.Errorf("topology must be mesh or star, got %q", c.Topology)
	case c.MaxReplans < 0:
		return fmt.Errorf("max_replans must not be negative, got %d", c.MaxReplans)
	case !validMode(c.RouteMode):
		return fmt.Errorf("route_mode must be latency or throughput, got %q", c.RouteMode)
	case len(c.Regions) == 0:
		return errors.New("at least one region is needed")
	case len(c.Classes) == 0:
		return errors.New("at least one peer class is needed")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"join_rate", c.JoinRate}, {"leave_rate", c.LeaveRate}, {"client_rate", c.ClientRate},
		{"rebalance_threshold", c.RebalanceThreshold}, {"rtt_jitter", c.RTTJitter}, {"access_ms_max", c.AccessMillisMax},
	} {
		if err := nonNeg(f.name, f.v); err != nil {
			return err
		}
	}
	var wsum float64
	for i, r := range c.Regions {
		if len(r.RTTMillis) != len(c.Regions) {
			return fmt.Errorf("region %q: rtt_ms has %d entries, want %d", r.Name, len(r.RTTMillis), len(c.Regions))
		}
		if err := nonNeg("region "+r.Name+" weight", r.Weight); err != nil {
			return err
		}
		for j, v := range r.RTTMillis {
			if err := nonNeg("region "+r.Name+" rtt_ms", v); err != nil {
				return err
			}
			if v != c.Regions[j].RTTMillis[i] {
				return fmt.Errorf("rtt_ms is not symmetric between %q and %q", r.Name, c.Regions[j].Name)
			}
		}
		wsum += r.Weight
	}
	if !(wsum > 0) {
		return errors.New("region weights sum to zero")
	}
	if err := c.Cost.validate(); err != nil {
		return fmt.Errorf("cost model: %w", err)
	}
	wsum = 0
	for _, k := range c.Classes {
		if err := nonNeg("class "+k.Name+" share", k.Share); err != nil {
			return err
		}
		if !(k.Speed > 0) || k.SpeedSigma < 0 || k.CacheTokens < 0 {
			return fmt.Errorf("class %q: speed must be positive, speed_sigma and cache_tokens not negative", k.Name)
		}
		if int(k.MemoryGiB/c.Cost.BlockMemoryGiB) < 1 {
			return fmt.Errorf("class %q: memory_gib %v holds no block of %v GiB", k.Name, k.MemoryGiB, c.Cost.BlockMemoryGiB)
		}
		wsum += k.Share
	}
	if !(wsum > 0) {
		return errors.New("class shares sum to zero")
	}
	return nil
}

// validMode reports whether s names a route mode (sharding.ParseMode).
func validMode(s string) bool {
	_, err := sharding.ParseMode(s)
	return err == nil
}
