package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/orbitswarm/orbit/bench"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/runstatus"
)

// newBenchCmd is `orbit bench SCENARIO.yaml`: run a whole swarm under an
// emulated network and write results.json, CSV tables and PNG plots.
func newBenchCmd() *cobra.Command {
	var out, mode, work, dataDir, orbitBin string
	var ov bench.Overrides
	var seed uint64
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "bench SCENARIO.yaml",
		Short: "Measure a swarm over emulated links (libp2p mocknet) or as orbit processes",
		Long: `Runs the swarm a scenario describes (model, nodes, links, workload, events)
and writes results.json, requests.csv, hops.csv, throughput.csv, links.csv
and throughput.png, latency_cdf.png, hops.png to the output directory.
Example scenarios are in bench/scenarios. A scenario's model is a GGUF file
(model.path), a synthetic shape (model.synthetic), or a model of the weight
store in --data-dir (model.cid: its root CID or name, stored whole).

--mode mocknet (default) runs every node in this process on a libp2p
mocknet whose links have the scenario's latency and bandwidth (plus
jitter and loss): all traffic, DHT included, crosses them.
--mode processes runs every node as an 'orbit run' process of this binary
on loopback and drives the workload through the entry's HTTP API; each
process emulates its links on its own writes (latency, bandwidth, jitter,
loss, cut and heal), but libp2p's identify and ping are not delayed, and
routes, per-hop timings and per-link statistics are not reported.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := bench.LoadFile(args[0])
			if err != nil {
				return err
			}
			if err := sc.Override(ov); err != nil {
				return fmt.Errorf("bench: %s: %w", args[0], err)
			}
			if out == "" {
				name := strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
				out = filepath.Join("bench-results", name+"-"+time.Now().Format("20060102-150405"))
			}
			log := slog.Default()
			verbose, _ := cmd.Flags().GetBool("verbose")
			opt := bench.Options{Mode: mode, Seed: seed, Duration: duration, WorkDir: work, DataDir: dataDir, Progress: cmd.ErrOrStderr(),
				Logger: log, NodeLogger: log.With("component", "node"), ProcessLogs: filepath.Join(out, "logs"), ProcessVerbose: verbose, Orbit: orbitBin}
			res, err := bench.Run(cmd.Context(), sc, opt)
			if res != nil {
				if werr := res.Write(out); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return err
			}
			s := res.Summary
			w := cmd.OutOrStdout()
			for _, n := range res.Notes {
				fmt.Fprintf(w, "note: %s\n", n)
			}
			if len(res.Verify) > 0 {
				fmt.Fprintf(w, "scenario %s, seed %d, %.1fs: one swarm per verify rate\n", res.Scenario, res.Seed, res.DurationS)
				for _, p := range res.Verify {
					fmt.Fprintf(w, "verify rate %.2f: %d requests, %.1f tok/s, %.0f%% of the time checking, %d checks over %d rows; ", p.Rate, p.Requests, p.TokensPerS,
						100*p.CheckShare, p.Checks, p.CheckedRows)
					if p.Detected {
						fmt.Fprintf(w, "liar caught %d positions after its first lie (request %d), %d tokens wasted\n", p.DetectionSteps, p.DetectedAtRequest, p.WastedTokens)
					} else {
						fmt.Fprintf(w, "no liar caught, %d tokens wasted\n", p.WastedTokens)
					}
				}
				fmt.Fprintf(w, "results in %s\n", out)
				return nil
			}
			fmt.Fprintf(w, "scenario %s, seed %d, %d nodes, %.1fs (setup %.1fs)\n", res.Scenario, res.Seed, len(res.Nodes), res.DurationS, res.SetupS)
			fmt.Fprintf(w, "requests %d: %d completed, %d failed, %d failovers\n", s.Requests, s.Completed, s.Failed, s.Failovers)
			fmt.Fprintf(w, "throughput %.1f tok/s; TTFT p50 %.1f ms p95 %.1f ms; per-token p50 %.1f ms p95 %.1f ms; decode p50 %.1f tok/s\n",
				s.ThroughputTokS, s.TTFTP50MS, s.TTFTP95MS, s.PerTokenP50MS, s.PerTokenP95MS, s.DecodeTokSP50)
			fmt.Fprintf(w, "per token: %.2f hops, %.2f network traversals; compute %.1f ms, network %.1f ms, queue %.1f ms, entry %.1f ms\n",
				s.MeanHops, s.MeanTraversals, s.MeanComputeMS, s.MeanNetworkMS, s.MeanQueueMS, s.MeanEntryMS)
			if sp := res.Speculation; sp != nil {
				b := sp.Baseline
				fmt.Fprintf(w, "speculate %s: %.1f%% of %d drafts kept, %.2f tokens per pass; decode p50 %.1f tok/s per stream vs %.1f without (%.2fx), throughput %.1f vs %.1f tok/s (%.2fx)\n",
					sp.Mode, 100*s.AcceptanceRate, s.Drafted, s.TokensPerPass, s.DecodeTokSP50, b.DecodeTokSP50, sp.DecodeSpeedup,
					s.ThroughputTokS, b.ThroughputTokS, sp.ThroughputSpeedup)
			}
			for _, p := range res.Sweep {
				fmt.Fprintf(w, "streams %2d: %7.1f tok/s (%.2fx); per token p50 %.1f ms p95 %.1f ms; TTFT p50 %.1f ms", p.Streams, p.TokensPerS, p.Speedup,
					p.PerTokenP50MS, p.PerTokenP95MS, p.TTFTP50MS)
				for _, n := range p.Nodes {
					fmt.Fprintf(w, "; %s busy %.0f%% rows/call %.1f", n.Name, 100*n.Busy, n.MeanRows)
				}
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "results in %s\n", out)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&out, "out", "", "output directory (default bench-results/NAME-TIME)")
	fl.StringVar(&mode, "mode", bench.ModeMocknet, "mocknet (all nodes in this process on emulated links) or processes (orbit run processes on loopback, each emulating its links)")
	fl.Uint64Var(&seed, "seed", 0, "seed of arrivals, prompts, jitter and loss (0: the scenario's)")
	fl.DurationVar(&duration, "duration", 0, "workload duration (0: the scenario's)")
	fl.StringVar(&work, "work-dir", filepath.Join(os.TempDir(), "orbit-bench-models"), "where generated synthetic models (and models exported from the weight store) are kept between runs")
	fl.StringVar(&dataDir, "data-dir", weightsDefaultDataDir(), "weight store a scenario's model.cid (root CID or name) is exported from (default $ORBIT_DATA_DIR or ~/.orbit)")
	fl.StringVar(&ov.Shape, "shape", "", "synthetic model shape instead of the scenario's (llama-1b, llama-8b, ...)")
	fl.StringVar(&ov.Type, "type", "", "synthetic model weight type instead of the scenario's (q4_0, q8_0, ...)")
	fl.IntVar(&ov.Layers, "layers", 0, "synthetic model blocks instead of the scenario's")
	fl.IntVar(&ov.Threads, "threads", 0, "kernel threads of every node (processes mode: its GOMAXPROCS) instead of the scenario's")
	fl.StringVar(&ov.ComputeCost, "compute-cost", "", "every node's emulated compute instead of the scenario's: BLOCK,ROW (an engine call over b blocks and r rows takes at least b*(BLOCK+r*ROW)) or none (real compute only)")
	fl.IntSliceVar(&ov.Concurrency, "concurrency", nil, "sweep these numbers of concurrent streams instead of the scenario's workload.concurrency")
	fl.StringVar(&ov.MaxConcurrent, "max-concurrent", "", "every entry node's admission instead of the scenario's: N or auto (orbit run --max-concurrent; mocknet mode admits all by default)")
	fl.StringVar(&orbitBin, "orbit", "", "processes mode: the orbit binary its nodes run (default: this one)")
	cmd.AddCommand(newBenchNodeCmd())
	return cmd
}

// newBenchNodeCmd is `orbit bench node [orbit run flags] --link-emulation
// FILE`, the processes mode's node: `orbit run` (the same command, flags
// and output) on a host that emulates the links FILE describes
// (bench.StartLinkEmulation; SIGUSR1 reloads it). Only the bench starts
// it, so it is hidden; `orbit run` itself has no link emulation.
func newBenchNodeCmd() *cobra.Command {
	var links, cost, metricsAddr string
	cmd := newRunCmdWith(runExtension{
		flags: func(fl *pflag.FlagSet) {
			fl.StringVar(&links, "link-emulation", "", "JSON file of emulated links written by orbit bench (SIGUSR1 reloads it)")
			fl.StringVar(&cost, "compute-cost", "", "emulated compute, BLOCK,ROW: an engine call over b blocks and r rows takes at least b*(BLOCK+r*ROW)")
			fl.StringVar(&metricsAddr, "metrics-addr", "", "serve the node's Prometheus metrics on this address (at /metrics), API or not")
		},
		node: func(ctx context.Context, cfg *node.Config, mets *metrics.Metrics, log *slog.Logger) error {
			if cost != "" {
				c, err := bench.ParseComputeCost(cost)
				if err != nil {
					return fmt.Errorf("--compute-cost: %w", err)
				}
				cfg.ComputeCost = c
			}
			if metricsAddr != "" {
				return bench.ServeMetrics(ctx, metricsAddr, mets, log)
			}
			return nil
		},
		wrapHost: func(ctx context.Context, dataDir string, status *runstatus.Writer, log *slog.Logger) (func(host.Host) host.Host, error) {
			if links == "" {
				return nil, nil
			}
			emu, err := bench.StartLinkEmulation(ctx, links, dataDir, status.Links, log)
			if err != nil {
				return nil, err
			}
			return emu.WrapHost, nil
		},
	})
	cmd.Use = "node [orbit run flags] --link-emulation FILE"
	cmd.Short = "Run a node of 'orbit bench --mode processes': orbit run over emulated links"
	cmd.Long = `Node runs what 'orbit run' runs, with the same flags and status lines, on a
host that emulates the links of the file --link-emulation names (written by
'orbit bench --mode processes', reloaded on SIGUSR1 and acknowledged with a
"links" status line). The bench starts it; people run 'orbit run'.`
	cmd.Hidden = true
	return cmd
}
