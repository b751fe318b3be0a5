package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" for a valid config
	}{
		{"defaults", func(*Config) {}, ""},
		{"no peers is valid", func(c *Config) { c.Peers = 0 }, ""},
		{"no blocks", func(c *Config) { c.Blocks = 0 }, "blocks"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"crash fraction above 1", func(c *Config) { c.CrashFraction = 1.5 }, "crash_fraction"},
		{"negative rates mean auto", func(c *Config) { c.JoinRate, c.ClientRate = -1, -5 }, ""},
		{"unknown route mode", func(c *Config) { c.RouteMode = "fastest" }, "route_mode"},
		{"asymmetric rtt", func(c *Config) { c.Regions[0].RTTMillis[1] = 1 }, "symmetric"},
		{"short rtt row", func(c *Config) { c.Regions[2].RTTMillis = c.Regions[2].RTTMillis[:2] }, "rtt_ms"},
		{"class too small for a block", func(c *Config) { c.Classes[0].MemoryGiB = 0.1 }, "holds no block"},
		{"zero cost", func(c *Config) { c.Cost.BlockMillisPerToken = 0 }, "block_ms_per_token"},
		{"no regions", func(c *Config) { c.Regions = nil }, "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig(100)
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestResolvedRates(t *testing.T) {
	c := DefaultConfig(3600).Resolved()
	if c.JoinRate != 0.5 || c.LeaveRate != 0.5 || c.ClientRate != 3.6 {
		t.Fatalf("auto rates for 3600 peers: join %v leave %v clients %v", c.JoinRate, c.LeaveRate, c.ClientRate)
	}
	c = DefaultConfig(3600)
	c.JoinRate = 0
	if got := c.Resolved().JoinRate; got != 0 {
		t.Fatalf("explicit join rate 0 became %v", got)
	}
}

func TestParseRegions(t *testing.T) {
	tests := []struct {
		spec    string
		names   []string
		weights []float64
		rtt01   float64 // RTT between the first two selected, if any
		wantErr bool
	}{
		{spec: "", names: RegionNames()},
		{spec: "europe,us-east", names: []string{"europe", "us-east"}, weights: []float64{0.30, 0.25}, rtt01: 85},
		{spec: "asia=2, oceania=1", names: []string{"asia", "oceania"}, weights: []float64{2, 1}, rtt01: 120},
		{spec: "mars", wantErr: true},
		{spec: "europe=-1", wantErr: true},
		{spec: "europe,europe", wantErr: true},
		{spec: ",", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			rs, err := ParseRegions(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseRegions(%q) = %v, want an error", tt.spec, rs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(tt.names) {
				t.Fatalf("%d regions, want %d", len(rs), len(tt.names))
			}
			for i, r := range rs {
				if r.Name != tt.names[i] || len(r.RTTMillis) != len(rs) {
					t.Fatalf("region %d: %+v", i, r)
				}
				if tt.weights != nil && r.Weight != tt.weights[i] {
					t.Fatalf("region %s weight %v, want %v", r.Name, r.Weight, tt.weights[i])
				}
			}
			if tt.rtt01 != 0 && (rs[0].RTTMillis[1] != tt.rtt01 || rs[1].RTTMillis[0] != tt.rtt01) {
				t.Fatalf("rtt %v / %v, want %v", rs[0].RTTMillis[1], rs[1].RTTMillis[0], tt.rtt01)
			}
			c := DefaultConfig(10)
			c.Regions = rs
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadCost(t *testing.T) {
	tests := []struct {
		file      string
		blockMs   float64
		overhead  float64
		reference string
		wantErr   bool
	}{
		{file: "testdata/cost_direct.json", blockMs: 4.5, overhead: 0.25, reference: "test node"},
		// 12.5 tokens/s over 32 blocks: 1000 / 400 = 2.5 ms per block.
		{file: "testdata/cost_bench.json", blockMs: 2.5, overhead: DefaultCost().HopOverheadMillis, reference: "orbit generate --verbose, 32-block model"},
		{file: "testdata/cost_bad.json", wantErr: true},
		{file: "testdata/missing.json", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := LoadCost(tt.file)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BlockMillisPerToken != tt.blockMs || c.HopOverheadMillis != tt.overhead || c.Reference != tt.reference {
				t.Fatalf("cost %+v", c)
			}
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadConfigRunsAndRoundTrips(t *testing.T) {
	c, err := LoadConfig("testdata/config_small.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Peers != 40 || c.Blocks != 16 || c.Duration.D() != 10*time.Minute || c.RebalancePeriod.D() != 5*time.Second || len(c.Regions) != 2 {
		t.Fatalf("loaded %+v", c)
	}
	if c.Classes[1].Name != "desktop" {
		t.Fatal("classes the file lacks should keep their defaults")
	}
	rep := mustRun(t, c)
	// The report's config, fed back, gives the same report.
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(rep.Config); err != nil {
		t.Fatal(err)
	}
	var again Config
	if err := json.Unmarshal(b.Bytes(), &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reportJSON(t, mustRun(t, again)), reportJSON(t, rep)) {
		t.Fatal("re-running the report's config gave a different report")
	}
}

// TestLoadCostFromBenchResults calibrates the cost model from `orbit
// bench` results.json files: compute per step and block over the hops,
// weighted by steps, each node's slow-down taken out.
func TestLoadCostFromBenchResults(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		blockMs float64
		ref     string
		wantErr string
	}{
		{"two hops, one slowed down",
			`{"scenario":"lan","mode":"mocknet","seed":3,"model":{"layers":8},
			  "nodes":[{"name":"a","slowdown":1},{"name":"b","slowdown":2}],
			  "hops":[{"node":"a","blocks":4,"steps":10,"compute_ms":2},{"node":"b","blocks":4,"steps":30,"compute_ms":4}]}`,
			0.5, "orbit bench scenario lan (mocknet, seed 3): 8-block model", ""},
		{"weighted by steps",
			`{"scenario":"x","mode":"mocknet","model":{"layers":4},"nodes":[{"name":"a","slowdown":1}],
			  "hops":[{"node":"a","blocks":2,"steps":1,"compute_ms":4},{"node":"a","blocks":2,"steps":3,"compute_ms":2}]}`,
			1.25, "orbit bench scenario x", ""},
		{"unknown node, unusable hops skipped",
			`{"scenario":"x","mode":"mocknet","model":{"layers":4},
			  "hops":[{"node":"z","blocks":4,"steps":2,"compute_ms":8},{"node":"z","blocks":0,"steps":2,"compute_ms":8},{"node":"z","blocks":4,"steps":5,"compute_ms":0}]}`,
			2, "orbit bench scenario x", ""},
		{"processes mode has no timings",
			`{"scenario":"p","mode":"processes","model":{"layers":4},"nodes":[{"name":"a","slowdown":1}],"hops":[]}`,
			0, "", "no per-hop compute timings"},
		{"explicit figure wins",
			`{"scenario":"x","model":{"layers":4},"block_ms_per_token":3,"hops":[{"node":"a","blocks":1,"steps":1,"compute_ms":9}]}`,
			3, DefaultCost().Reference, ""},
		{"not bench results: decode speed",
			`{"decode_tokens_per_s":10,"bench_blocks":10}`, 10, DefaultCost().Reference, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.json")
			if err := os.WriteFile(path, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadCost(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c.BlockMillisPerToken-tt.blockMs) > 1e-12 || !strings.HasPrefix(c.Reference, tt.ref) {
				t.Fatalf("block ms %v reference %q, want %v and %q...", c.BlockMillisPerToken, c.Reference, tt.blockMs, tt.ref)
			}
			if c.HopOverheadMillis != DefaultCost().HopOverheadMillis {
				t.Errorf("hop overhead %v changed", c.HopOverheadMillis)
			}
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzLoadCost: any file given to --cost loads into a cost model or fails
// with an error, never a panic; what loads and validates has a finite,
// positive per-block cost.
func FuzzLoadCost(f *testing.F) {
	f.Add([]byte(`{"block_ms_per_token": 2.5, "hop_overhead_ms": 0.3}`))
	f.Add([]byte(`{"decode_tokens_per_second": 20, "bench_blocks": 4}`))
	f.Add([]byte(`{"scenario": "lan", "mode": "mocknet", "model": {"layers": 8}, "nodes": [{"name": "a", "slowdown": 2}],
		"hops": [{"node": "a", "blocks": 4, "steps": 10, "compute_ms": 3}]}`))
	f.Add([]byte(`{"scenario": "x", "model": {}, "hops": [{"node": "a", "blocks": -1, "steps": 1e300, "compute_ms": 1e308}]}`))
	f.Add([]byte(`not json`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "cost.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadCost(path)
		if err != nil {
			return
		}
		if c.validate() == nil && (!(c.BlockMillisPerToken > 0) || math.IsInf(c.BlockMillisPerToken, 0)) {
			t.Fatalf("validated cost model with block cost %v", c.BlockMillisPerToken)
		}
	})
}
