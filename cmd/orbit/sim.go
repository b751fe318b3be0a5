package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sim"
)

// simFlags are the flags of orbit sim; each overrides the config only when
// it is given on the command line.
type simFlags struct {
	config, cost, regions, routeMode, topology, out, csv string
	shape, typ                                           string
	peers, blocks, tokens, viewK, candidates             int
	duration, rebalancePeriod, sampleEvery               time.Duration
	seed                                                 uint64
	joinRate, leaveRate, clientsRate, crash              float64
	threshold                                            float64
}

func newSimCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "sim [--peers N] [--blocks B] [--duration 1h] [--seed S] [--out report.json]",
		Short: "Simulate a large swarm with the real placement and routing rules",
		Long: `Runs a discrete-event simulation of a swarm: servers join (ChooseSpan),
rebalance one at a time (RebalanceTurn, Rebalance) and leave or crash, while
clients arrive and are routed (Route). Time is simulated, so an hour of a
10,000-peer swarm takes seconds. The same flags and seed give the same report.

Prints a summary; --out writes the full JSON report (- for stdout), --csv the
time series. --config reads a whole configuration (JSON, the "config" object
of a report) and --cost a cost model or benchmark results (block_ms_per_token,
or decode_tokens_per_s with bench_blocks, or the results.json of an orbit
bench run in mocknet mode, whose per-hop compute timings give the time per
block; hop_overhead_ms, block_load_s, block_mem_gib); flags given on the
command line override both.

Rates left at -1 follow --peers: joins and leaves of peers/7200 per second
each (a mean session of two hours), requests of peers/1000 per second.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.build(cmd)
			if err != nil {
				return err
			}
			return runSim(cmd, cfg, f.out, f.csv)
		},
	}
	def := sim.DefaultConfig(1000)
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "JSON configuration to start from (default: built-in defaults)")
	fl.StringVar(&f.cost, "cost", "", "JSON cost model or benchmark results to calibrate from")
	fl.StringVar(&f.shape, "shape", "", "model shape (as orbit synth --shape names them, mixtures of experts included): its blocks, and the cost of its block from its weights, memory-bound")
	fl.StringVar(&f.typ, "type", "q4_k", "weight type of --shape")
	fl.IntVar(&f.peers, "peers", def.Peers, "servers at the start")
	fl.IntVar(&f.blocks, "blocks", def.Blocks, "transformer blocks of the model")
	fl.DurationVar(&f.duration, "duration", def.Duration.D(), "simulated time")
	fl.Uint64Var(&f.seed, "seed", def.Seed, "random seed")
	fl.Float64Var(&f.joinRate, "join-rate", sim.Auto, "server joins per second (-1: peers/7200)")
	fl.Float64Var(&f.leaveRate, "leave-rate", sim.Auto, "server leaves per second (-1: peers/7200)")
	fl.Float64Var(&f.crash, "crash-fraction", def.CrashFraction, "share of leaves that are crashes")
	fl.Float64Var(&f.clientsRate, "clients-rate", sim.Auto, "client requests per second (-1: peers/1000)")
	fl.IntVar(&f.tokens, "tokens", def.TokensPerRequest, "mean new tokens per request")
	fl.StringVar(&f.regions, "regions", "", "regions as name[=weight],... from "+strings.Join(sim.RegionNames(), ", ")+" (default: all)")
	fl.StringVar(&f.routeMode, "route-mode", def.RouteMode, "client routing: latency or throughput")
	fl.StringVar(&f.topology, "topology", def.Topology, "activation flow: star (via the client) or mesh (server to server; slow to plan at scale)")
	fl.IntVar(&f.viewK, "view-per-block", def.ClientViewPerBlock, "providers per block a client's DHT lookup returns (0: all)")
	fl.IntVar(&f.candidates, "candidates-per-block", def.RouteCandidatesPerBlock, "best providers per block a client keeps for Route (0: all; 1-3 for --topology mesh at scale)")
	fl.DurationVar(&f.rebalancePeriod, "rebalance-period", def.RebalancePeriod.D(), "rebalancing epoch (one server checks per epoch)")
	fl.Float64Var(&f.threshold, "rebalance-threshold", def.RebalanceThreshold, "relative gain of the bottleneck a move needs")
	fl.DurationVar(&f.sampleEvery, "sample-every", def.SampleEvery.D(), "time-series period")
	fl.StringVar(&f.out, "out", "", "write the JSON report here (- for stdout)")
	fl.StringVar(&f.csv, "csv", "", "write the time series as CSV here")
	return cmd
}

// build assembles the Config: defaults or --config, then --cost, then the
// flags given on the command line.
func (f *simFlags) build(cmd *cobra.Command) (sim.Config, error) {
	cfg := sim.DefaultConfig(f.peers)
	if f.config != "" {
		var err error
		if cfg, err = sim.LoadConfig(f.config); err != nil {
			return cfg, err
		}
	}
	if f.cost != "" {
		c, err := sim.LoadCost(f.cost)
		if err != nil {
			return cfg, err
		}
		cfg.Cost = c
	}
	set := cmd.Flags().Changed
	if f.shape != "" {
		shape, err := synth.ShapeByName(f.shape)
		if err != nil {
			return cfg, fmt.Errorf("--shape: %w", err)
		}
		typ, mixed, err := synth.ParseType(f.typ)
		if err != nil {
			return cfg, fmt.Errorf("--type: %w", err)
		}
		block, active, err := shapeBlockBytes(shape, typ, mixed)
		if err != nil {
			return cfg, err
		}
		cfg.Cost = cfg.Cost.ForBlock(shape.Name+" "+f.typ, block, active)
		cfg.Blocks = shape.Layers
	}
	if set("regions") {
		r, err := sim.ParseRegions(f.regions)
		if err != nil {
			return cfg, fmt.Errorf("--regions: %w", err)
		}
		cfg.Regions = r
	}
	apply := []struct {
		name string
		do   func()
	}{
		{"peers", func() { cfg.Peers = f.peers }},
		{"blocks", func() { cfg.Blocks = f.blocks }},
		{"duration", func() { cfg.Duration = sim.Duration(f.duration) }},
		{"seed", func() { cfg.Seed = f.seed }},
		{"join-rate", func() { cfg.JoinRate = f.joinRate }},
		{"leave-rate", func() { cfg.LeaveRate = f.leaveRate }},
		{"crash-fraction", func() { cfg.CrashFraction = f.crash }},
		{"clients-rate", func() { cfg.ClientRate = f.clientsRate }},
		{"tokens", func() { cfg.TokensPerRequest = f.tokens }},
		{"route-mode", func() { cfg.RouteMode = f.routeMode }},
		{"topology", func() { cfg.Topology = f.topology }},
		{"view-per-block", func() { cfg.ClientViewPerBlock = f.viewK }},
		{"candidates-per-block", func() { cfg.RouteCandidatesPerBlock = f.candidates }},
		{"rebalance-period", func() { cfg.RebalancePeriod = sim.Duration(f.rebalancePeriod) }},
		{"rebalance-threshold", func() { cfg.RebalanceThreshold = f.threshold }},
		{"sample-every", func() { cfg.SampleEvery = sim.Duration(f.sampleEvery) }},
	}
	for _, a := range apply {
		if set(a.name) {
			a.do()
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// shapeBlockBytes is the size of the weights of one block of shape (the
// first block with experts: deepseek2's leading blocks are dense; else
// block 0) and the part of them one token reads: of a mixture of experts,
// the router, attention, norms, the shared experts and ExpertsUsed of the
// Experts experts.
func shapeBlockBytes(shape synth.Shape, typ kernels.DType, mixed bool) (block, active int64, err error) {
	first := 0
	if shape.Experts > 0 {
		first = min(shape.MLA.LeadingDense, shape.Layers-1)
	}
	ts, err := synth.Tensors(synth.Options{Shape: shape, Type: typ, Mixed: mixed, Layers: first + 1,
		Vocab: &tokenizer.Vocab{Model: "llama", Tokens: []string{"<unk>"}, BOS: -1, EOS: -1, UNK: 0, PAD: -1}})
	if err != nil {
		return 0, 0, err
	}
	prefix := fmt.Sprintf("blk.%d.", first)
	for i := range ts {
		t := &ts[i]
		if !strings.HasPrefix(t.Name, prefix) {
			continue
		}
		n, err := t.Size()
		if err != nil {
			return 0, 0, err
		}
		block += int64(n)
		if strings.Contains(t.Name, "_exps.") {
			n = n / uint64(shape.Experts) * uint64(shape.ExpertsUsed)
		}
		active += int64(n)
	}
	return block, active, nil
}

// runSim runs cfg and writes the summary, the report and the time series.
func runSim(cmd *cobra.Command, cfg sim.Config, out, csvPath string) error {
	s, err := sim.New(cfg, slog.Default())
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := s.Run(cmd.Context())
	if err != nil {
		return err
	}
	wall := time.Since(start)
	summary := cmd.OutOrStdout()
	if out == "-" {
		summary = cmd.ErrOrStderr()
		if err := rep.WriteJSON(cmd.OutOrStdout()); err != nil {
			return err
		}
	} else if out != "" {
		if err := writeFile(out, rep.WriteJSON); err != nil {
			return err
		}
	}
	if csvPath != "" {
		if err := writeFile(csvPath, rep.WriteCSV); err != nil {
			return err
		}
	}
	if err := rep.WriteSummary(summary); err != nil {
		return err
	}
	_, err = fmt.Fprintf(summary, "wall time    %.2f s\n", wall.Seconds())
	return err
}

// writeFile creates path and fills it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
