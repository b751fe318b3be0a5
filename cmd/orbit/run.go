package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/swarmbackend"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/internal/filelock"
	"github.com/orbitswarm/orbit/internal/netcount"
	"github.com/orbitswarm/orbit/internal/sysmem"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/runstatus"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

type runFlags struct {
	model, blocks, dataDir, psk, prompt, encoding, route string
	stepTimeout                                          string
	apiAddr, apiKey                                      string
	maxBlocks, n, memoryMiB, maxConcurrent, maxQueue     int
	listen, bootstrap, allow, corsOrigins                []string
	noMDNS, nat, entry, noAPI, statusJSON                bool
	kvCacheMiB                                           int64
	wait, drain, rebalance                               time.Duration
	params                                               sample.Params
	spec                                                 speculateFlags
	verifyRate                                           float64
	// autoConcurrent: --max-concurrent auto (the default), sized from
	// the swarm for each request; maxConcurrent is then unused.
	autoConcurrent bool
}

// concurrency is the API backend's MaxConcurrent: 0 for auto.
func (f *runFlags) concurrency() int {
	if f.autoConcurrent {
		return 0
	}
	return f.maxConcurrent
}

// concurrencyFlag is --max-concurrent: a number, or auto.
type concurrencyFlag struct {
	n    *int
	auto *bool
}

func (c concurrencyFlag) String() string {
	if c.auto == nil || *c.auto {
		return "auto"
	}
	return strconv.Itoa(*c.n)
}

func (c concurrencyFlag) Set(v string) error {
	if strings.TrimSpace(v) == "auto" {
		*c.auto, *c.n = true, 0
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("want a number or auto, not %q", v)
	}
	*c.auto, *c.n = false, n
	return nil
}

func (c concurrencyFlag) Type() string { return "N|auto" }

// runExtension extends `orbit run` for another entry point that runs the
// same node: `orbit bench node` adds the bench's link emulator this way,
// so that `orbit run` itself carries none of it.
type runExtension struct {
	// flags adds the entry point's own flags.
	flags func(*pflag.FlagSet)
	// wrapHost is called once the data directory is taken, with a context
	// that ends when the command returns; it returns a wrapper of the
	// node's host (nil: none) and may print status (link acknowledgements).
	wrapHost func(ctx context.Context, dataDir string, status *runstatus.Writer, log *slog.Logger) (func(host.Host) host.Host, error)
	// node, when set, may change the node's configuration and use its
	// metrics, with a context that ends when the command returns.
	node func(ctx context.Context, cfg *node.Config, mets *metrics.Metrics, log *slog.Logger) error
}

func newRunCmd() *cobra.Command { return newRunCmdWith(runExtension{}) }

func newRunCmdWith(ext runExtension) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [--model NAME|CID|FILE.gguf|ollama:NAME|hf:ORG/REPO[:QUANT]] [--blocks a:b | --max-blocks N] [--bootstrap MULTIADDR...]",
		Short: "Join the swarm and serve a span of a model's blocks",
		Long: `Run starts a node: it joins the swarm (DHT, bootstrap peers, mDNS on the LAN),
serves a span of the model's blocks (--blocks, or one chosen from what the
swarm lacks), and prints one status line:

  ready peer=<ID> addrs=<multiaddrs> model=<root CID> span=[a,b) throughput=<tok/s/block> peers=<n> api=<URL|off>

(with --status-json, that line and the later status lines are JSON objects,
one a line, with an "event" field: ready, stopping, stopped).

Models come from the weight store in --data-dir: a GGUF file is imported
first (so every node of a swarm names the model by the same root CID), a
name or CID is looked up there, and blocks the store lacks are fetched from
the swarm. ollama:NAME[:TAG] imports the model from the local ollama store
($OLLAMA_MODELS or ~/.ollama/models), checking its digest. hf:ORG/REPO[:QUANT]
pulls it from Hugging Face as orbit pull does. Without --model
the node asks the swarm what it serves (for up to --wait) and picks the
model with unserved blocks, else the one with the weakest per-block
throughput. The node serves its stored blocks to peers. The import and the
fetch show progress bars on stderr, and in the node API (orbit status).

Unless --no-api, it serves the OpenAI-compatible API, the node API and the
dashboard on --api (as 'orbit serve' does), generating through the swarm;
this implies --entry. Listening on a non-loopback address needs --api-key.

It runs until SIGINT or SIGTERM: then it stops taking sessions, lets the
running ones finish (at most --drain), leaves the swarm and exits 0. With
--prompt it acts as the entry node: it waits until the swarm covers every
block, generates -n tokens through it, prints the prompt and the generated
text like 'orbit generate', and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, &f, ext) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model: GGUF file (imported into the store), ollama:NAME[:TAG] (from the local ollama store), hf:ORG/REPO[:QUANT] (pulled from Hugging Face), or name or root CID in the store or the swarm; default: the model the swarm needs most")
	fl.StringVar(&f.blocks, "blocks", "", "blocks to serve, a:b or [a,b) (half-open), or none (an entry node only); default: chosen from the swarm")
	fl.IntVar(&f.memoryMiB, "memory", 0, "memory budget for block weights in MiB when choosing a span (0: 60% of available RAM)")
	fl.IntVar(&f.maxBlocks, "max-blocks", 0, "most blocks to serve when choosing (0: all)")
	fl.StringSliceVar(&f.listen, "listen", nil, "multiaddrs to listen on (default: TCP and QUIC, all interfaces, random ports)")
	fl.StringSliceVar(&f.bootstrap, "bootstrap", nil, "multiaddrs of peers to join through (with /p2p/ID)")
	fl.StringVar(&f.dataDir, "data-dir", "", "node data directory: identity key and weight store (default $ORBIT_DATA_DIR or ~/.orbit); a second node on one machine needs its own")
	fl.StringVar(&f.psk, "psk", "", "pre-shared key file of a private swarm")
	fl.StringSliceVar(&f.allow, "allow-peer", nil, "admit only these peer IDs (repeatable)")
	fl.BoolVar(&f.noMDNS, "no-mdns", false, "do not discover peers on the LAN")
	fl.BoolVar(&f.nat, "nat", true, "NAT traversal for nodes behind home routers: port mapping (UPnP, NAT-PMP), AutoNAT, relay reservations on bootstrap peers when unreachable, hole punching; --nat=false turns it off")
	fl.BoolVar(&f.entry, "entry", false, "load the embedding and head to serve generations (implied by --prompt)")
	fl.Int64Var(&f.kvCacheMiB, "kv-cache", 1024, "KV-cache budget in MiB")
	fl.StringVar(&f.encoding, "encoding", "f16", "hidden-state encoding between hops: f32, f16 or q8_0")
	fl.Float64Var(&f.verifyRate, "verify-rate", 0.05, "share of each hop's steps this entry node checks by recomputing them on another server (0 to 1; 1 checks every step; a request may ask for another with \"orbit\": {\"verify_rate\": R})")
	fl.StringVar(&f.stepTimeout, "step-timeout", "auto", "how long this entry node waits for a hop's step before replaying it elsewhere: auto (a few times what the hop's steps take, from its observed step times and RTT, 2s to 30s) or a duration")
	fl.StringVar(&f.route, "route", "latency", "what this entry node's routes optimize: latency (each generation's speed) or throughput (spread generations over replicas, avoiding loaded servers)")
	fl.StringVarP(&f.prompt, "prompt", "p", "", "generate from this prompt through the swarm, print and exit")
	fl.IntVarP(&f.n, "n", "n", 128, "tokens to generate at most, with --prompt")
	fl.DurationVar(&f.wait, "wait", time.Minute, "how long to wait for the swarm to show a model (without --model), and with --prompt to cover it")
	fl.Float32Var(&f.params.Temperature, "temperature", 0, "sampling temperature; 0 is greedy")
	fl.IntVar(&f.params.TopK, "top-k", 40, "keep the k most likely tokens (0: all)")
	fl.Float32Var(&f.params.TopP, "top-p", 0.95, "nucleus sampling probability mass (1: off)")
	fl.Uint64Var(&f.params.Seed, "seed", 0, "random seed")
	fl.StringVar(&f.apiAddr, "api", api.DefaultAddr, "address of the HTTP API and dashboard")
	fl.BoolVar(&f.noAPI, "no-api", false, "do not serve the HTTP API")
	f.autoConcurrent = true
	fl.Var(concurrencyFlag{&f.maxConcurrent, &f.autoConcurrent}, "max-concurrent",
		"generations this entry node's API runs at once: N, or auto (4 per hop of the route, no more than the servers' KV caches hold)")
	fl.IntVar(&f.maxQueue, "max-queue", 16, "generations waiting beyond those; more get HTTP 503")
	fl.StringVar(&f.apiKey, "api-key", "", "API key required from clients (default $ORBIT_API_KEY)")
	fl.StringSliceVar(&f.corsOrigins, "cors-origin", nil, "web origins (scheme://host:port, or *) allowed to call the API from a browser; others are refused")
	fl.DurationVar(&f.rebalance, "rebalance-every", time.Minute, "how often the node considers moving to a span the swarm needs more (0: never)")
	fl.DurationVar(&f.drain, "drain", 30*time.Second, "on SIGINT/SIGTERM, how long running sessions may take to finish")
	f.spec.add(fl)
	fl.BoolVar(&f.statusJSON, "status-json", false, "print the ready line and the later status lines as JSON objects, one a line, for programs")
	if ext.flags != nil {
		ext.flags(fl)
	}
	return cmd
}

// parseSpan parses --blocks as sharding.ParseSpan does ("a:b" or
// "[a,b)"); a node serves at least one block, so the span may not be empty.
func parseSpan(s string) (sharding.Span, error) {
	span, err := sharding.ParseSpan(s)
	if err != nil {
		return sharding.Span{}, fmt.Errorf("--blocks: %w", err)
	}
	if span.Len() == 0 {
		return sharding.Span{}, fmt.Errorf("--blocks %q: the span is empty; want a:b with a < b", s)
	}
	return span, nil
}

// runSettings are the flags of orbit run checked and parsed, before
// anything starts.
type runSettings struct {
	spec    speculate.Mode
	route   sharding.Mode
	enc     protocol.Encoding
	sampler *sample.Sampler
	apiKey  string
	serve   node.ServeOptions
	// stepTimeout is node.Config.StepTimeout: 0 derives step deadlines.
	stepTimeout time.Duration
}

// parseStepTimeout parses --step-timeout: auto (0) or a positive duration.
func parseStepTimeout(s string) (time.Duration, error) {
	if s == "" || s == "auto" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--step-timeout %q: want auto or a positive duration such as 5s", s)
	}
	return d, nil
}

func runRun(cmd *cobra.Command, f *runFlags, ext runExtension) error {
	ctx := cmd.Context()
	status := runstatus.NewWriter(cmd.OutOrStdout(), f.statusJSON)
	log := slog.Default()
	set, err := parseRunFlags(f)
	if err != nil {
		return err
	}
	storeDir, store, unlock, err := openRunStore(f.dataDir, log)
	if err != nil {
		return err
	}
	defer unlock()
	mets := metrics.New()
	// The extension's context lasts until runRun returns, not just until
	// the signal: the bench may still cut or heal while the node drains.
	extCtx, stopExt := context.WithCancel(context.WithoutCancel(ctx))
	defer stopExt()
	cfg, err := runNodeConfig(extCtx, f, set, storeDir, store, mets, status, ext, log)
	if err != nil {
		return err
	}
	gf, root, err := openRunModel(cmd, store, f.model)
	if err != nil {
		return err
	}
	if gf != nil {
		defer gf.Close()
	}
	draft, err := f.spec.openDraft(nil)
	if err != nil {
		return err
	}
	if draft != nil {
		defer draft.Close()
		cfg.Draft = draft.dm
	}
	// Imports and fetches of weights show as progress bars on stderr (and
	// in the node API).
	cfg.OnTransfer = newTransferBars(cmd.ErrOrStderr()).report
	n, err := node.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := checkBootstrapReached(n, f); err != nil {
		return err
	}
	// The API starts before the model is imported or fetched, so that
	// progress shows there too.
	a, err := startRunAPI(ctx, n, f, set.apiKey, mets, log)
	if err != nil {
		return err
	}
	defer a.stop()
	src, st, err := serveRunModel(ctx, cmd, n, gf, root, f, set.serve)
	if err != nil {
		return err
	}
	if draft != nil {
		if err := checkRunDraft(n, st.Model, draft); err != nil {
			return err
		}
	}
	var addrs []string
	for _, a := range n.Addrs() {
		addrs = append(addrs, a.String())
	}
	_ = status.Ready(runstatus.Ready{Peer: n.ID().String(), Addrs: addrs, Model: st.Model, Start: st.Span.Start, End: st.Span.End,
		Throughput: st.Throughput, Peers: len(n.Host().Network().Peers()), API: a.url})
	if f.prompt != "" {
		err := runPrompt(ctx, cmd, n, src, st, f, set.sampler)
		a.stop()
		a.wait()
		return err
	}
	return drainRun(ctx, n, f.drain, a, status, log)
}

// checkRunDraft refuses a --draft whose vocabulary is not the served
// model's (on an entry node; others do not generate).
func checkRunDraft(n *node.Node, model string, draft *draftModel) error {
	tok, err := n.Tokenizer(model)
	if err != nil {
		slog.Warn("--draft is unused: this node is not an entry node of the model", "model", model, "err", err)
		return nil
	}
	// The vocabulary sizes are compared when a generation starts.
	return draft.check(tok, draft.model.Config.VocabSize)
}

// openRunStore takes the data directory (--data-dir, or the default) for
// this process and opens its weight store. One node per data directory: a
// second would share its identity key (the swarm would see one peer at two
// addresses).
func openRunStore(dataDir string, log *slog.Logger) (dir string, store *weights.Store, unlock func(), err error) {
	dir = dataDir
	if dir == "" {
		dir = weightsDefaultDataDir()
	}
	if unlock, err = lockRunDir(dir); err != nil {
		return "", nil, nil, err
	}
	if store, err = weights.Open(dir, log); err != nil {
		unlock()
		return "", nil, nil, err
	}
	return dir, store, unlock, nil
}

// parseRunFlags checks and parses the flags of orbit run.
func parseRunFlags(f *runFlags) (runSettings, error) {
	var set runSettings
	var err error
	if set.route, err = sharding.ParseMode(f.route); err != nil {
		return set, fmt.Errorf("--route: %w", err)
	}
	if set.spec, err = f.spec.parse(); err != nil {
		return set, err
	}
	if set.enc, err = protocol.ParseEncoding(f.encoding); err != nil {
		return set, err
	}
	if set.stepTimeout, err = parseStepTimeout(f.stepTimeout); err != nil {
		return set, err
	}
	if set.sampler, err = sample.New(f.params); err != nil {
		return set, err
	}
	if f.maxConcurrent < 1 && !f.autoConcurrent {
		return set, errors.New("--max-concurrent must be at least 1")
	}
	if f.maxQueue < 0 {
		return set, errors.New("--max-queue must not be negative")
	}
	if !(f.verifyRate >= 0 && f.verifyRate <= 1) {
		return set, fmt.Errorf("--verify-rate must be between 0 and 1, got %v", f.verifyRate)
	}
	set.apiKey = f.apiKey
	if set.apiKey == "" {
		set.apiKey = os.Getenv("ORBIT_API_KEY")
	}
	if !f.noAPI {
		if err := api.CheckListenAddr(f.apiAddr, set.apiKey); err != nil {
			return set, err
		}
	}
	set.serve = node.ServeOptions{MaxBlocks: f.maxBlocks, Entry: f.entry || f.prompt != "" || !f.noAPI}
	set.serve.MemoryBudget = int64(f.memoryMiB) << 20
	if set.serve.MemoryBudget <= 0 {
		set.serve.MemoryBudget = sysmem.DefaultBudget()
	}
	if f.blocks == "none" {
		if !set.serve.Entry {
			return set, fmt.Errorf("--blocks none serves nothing: it needs the API, --entry or --prompt")
		}
		set.serve.NoBlocks = true
	} else if f.blocks != "" {
		if set.serve.Blocks, err = parseSpan(f.blocks); err != nil {
			return set, err
		}
	}
	return set, nil
}

// runNodeConfig is the node's configuration: its host counts the swarm's
// bytes into orbit_network_bytes_total (and is wrapped by the extension's,
// set up with ctx), a private swarm's key and allowed peers.
func runNodeConfig(ctx context.Context, f *runFlags, set runSettings, storeDir string, store *weights.Store, mets *metrics.Metrics,
	status *runstatus.Writer, ext runExtension, log *slog.Logger) (node.Config, error) {
	cfg := node.Config{
		DataDir: storeDir, Listen: f.listen, Bootstrap: f.bootstrap, DisableMDNS: f.noMDNS, NAT: f.nat,
		KVCacheBytes: f.kvCacheMiB << 20, Encoding: set.enc, Version: version, Store: store, Metrics: mets, Logger: log,
		RebalanceInterval: f.rebalance, RouteMode: set.route, Speculate: set.spec, VerifyRate: f.verifyRate,
		StepTimeout: set.stepTimeout,
	}
	if f.rebalance <= 0 || f.blocks != "" {
		cfg.RebalanceInterval = -1 // a span given by hand stays put
	}
	cfg.WrapHost = netcount.WrapHost(mets.AddNetworkBytes)
	if ext.wrapHost != nil {
		wrap, err := ext.wrapHost(ctx, f.dataDir, status, log)
		if err != nil {
			return cfg, err
		}
		if wrap != nil {
			count := cfg.WrapHost
			cfg.WrapHost = func(h host.Host) host.Host { return wrap(count(h)) }
		}
	}
	if ext.node != nil {
		if err := ext.node(ctx, &cfg, mets, log); err != nil {
			return cfg, err
		}
	}
	if f.psk != "" {
		var err error
		if cfg.PSK, err = node.LoadPSK(f.psk); err != nil {
			return cfg, err
		}
	}
	for _, s := range f.allow {
		p, err := peer.Decode(s)
		if err != nil {
			return cfg, fmt.Errorf("--allow-peer %q: %w", s, err)
		}
		cfg.AllowPeers = append(cfg.AllowPeers, p)
	}
	return cfg, nil
}

// openRunModel resolves --model before the node starts: ollama:NAME is
// imported from the ollama store, a GGUF file opened for the node to
// import, a name or CID looked up in the store; none ("") is picked from
// the swarm later.
func openRunModel(cmd *cobra.Command, store *weights.Store, model string) (*gguf.File, cid.Cid, error) {
	switch {
	case model == "", isHFModel(model): // hf: is pulled once the node API runs, so its progress shows there
		return nil, cid.Undef, nil
	case strings.HasPrefix(model, ollamaPrefix):
		dir := weights.OllamaDir(os.Getenv)
		root, err := weightsImportOllama(cmd, store, dir, strings.TrimPrefix(model, ollamaPrefix), "")
		if err != nil {
			return nil, cid.Undef, fmt.Errorf("--model %s: %w", model, err)
		}
		return nil, root, nil
	}
	return resolveModel(store, model)
}

// runAPI is the node's HTTP API while it runs: it runs until the node has
// drained (stop), not until the signal.
type runAPI struct {
	url  string     // "" without an API
	done chan error // the server's end; nil without an API (never ready)
	stop context.CancelFunc
}

// wait waits for the API server to end after stop, returning its error.
func (a *runAPI) wait() error {
	if a.done == nil {
		return nil
	}
	return <-a.done
}

// startRunAPI serves the OpenAI-compatible and node API over the swarm on
// --api, unless --no-api.
func startRunAPI(ctx context.Context, n *node.Node, f *runFlags, key string, mets *metrics.Metrics, log *slog.Logger) (*runAPI, error) {
	apiCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a := &runAPI{stop: stop}
	if f.noAPI {
		return a, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.apiAddr)
	if err != nil {
		stop()
		return nil, fmt.Errorf("api: listen: %w", err)
	}
	queue := f.maxQueue
	if queue == 0 {
		queue = -1 // swarmbackend.Options: negative means no queue
	}
	srv := api.NewServer(swarmbackend.New(n, swarmbackend.Options{MaxConcurrent: f.concurrency(), MaxQueue: queue, Metrics: mets, Logger: log}),
		api.Options{APIKey: key, Metrics: mets, Logger: log, CORSOrigins: f.corsOrigins})
	a.url = "http://" + ln.Addr().String()
	a.done = make(chan error, 1)
	go func() { a.done <- srv.Serve(apiCtx, ln) }()
	return a, nil
}

// serveRunModel imports the opened GGUF file (gf) or picks a model from
// the swarm (no --model), then serves its span.
func serveRunModel(ctx context.Context, cmd *cobra.Command, n *node.Node, gf *gguf.File, root cid.Cid, f *runFlags,
	opt node.ServeOptions) (*node.StoreSource, node.ModelStatus, error) {
	var err error
	if gf != nil {
		root, err = n.Import(ctx, gf, f.model, weights.ImportOptions{})
		gf.Close()
		if err != nil {
			return nil, node.ModelStatus{}, err
		}
	}
	if isHFModel(f.model) {
		if root, err = n.ImportWith(ctx, f.model, func(ctx context.Context, s *weights.Store, progress func(weights.Progress)) (cid.Cid, error) {
			res, err := weightsPullHF(ctx, cmd, s, f.model, "", progress)
			return res.Root, err
		}); err != nil {
			return nil, node.ModelStatus{}, fmt.Errorf("--model %s: %w", f.model, err)
		}
	}
	if f.model == "" {
		if root, err = pickModel(ctx, cmd, n, f.wait); err != nil {
			return nil, node.ModelStatus{}, err
		}
	}
	src, err := n.StoreSource(root)
	if err != nil {
		return nil, node.ModelStatus{}, err
	}
	st, err := n.Serve(ctx, src, opt)
	return src, st, err
}

// drainRun waits for the signal (ctx) or the API's failure, then stops
// taking sessions, lets the running ones finish (up to drain) and stops
// the API.
func drainRun(ctx context.Context, n *node.Node, drain time.Duration, a *runAPI, status *runstatus.Writer, log *slog.Logger) error {
	select {
	case <-ctx.Done():
	case err := <-a.done:
		return err // the API server failed
	}
	_ = status.Stopping()
	dctx, cancel := context.WithTimeout(context.Background(), drain)
	left := n.Drain(dctx)
	cancel()
	a.stop()
	if err := a.wait(); err != nil {
		log.Warn("api", "err", err)
	}
	_ = status.Stopped(runstatus.Stopped{SessionsCut: left})
	return nil
}

// pickModel waits (up to wait) for the swarm to show the models it serves
// and returns the one this node should serve: the one with unserved
// blocks, else the weakest (node.PickModel). Only models named by a root
// CID qualify: their blocks can be fetched from the servers' stores.
func pickModel(ctx context.Context, cmd *cobra.Command, n *node.Node, wait time.Duration) (cid.Cid, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	fetchable := func(m node.SwarmModel) bool {
		_, err := cid.Decode(m.Model)
		return err == nil
	}
	seen := 0
	for {
		models, err := n.DiscoverModels(ctx)
		if err == nil {
			seen = len(models)
			if m, ok := node.PickModel(models, fetchable); ok {
				root, _ := cid.Decode(m.Model)
				gaps := sharding.Gaps(m.Swarm)
				fmt.Fprintf(cmd.ErrOrStderr(), "picked model %s: %d blocks, %d servers, %d unserved ranges, bottleneck %.1f tokens/s (of %d models in the swarm)\n",
					m.Model, m.Blocks, m.Servers, len(gaps), m.Bottleneck, len(models))
				return root, nil
			}
		}
		select {
		case <-ctx.Done():
			if seen > 0 {
				return cid.Undef, fmt.Errorf("no --model given and none of the %d models the swarm serves can be fetched (models given as files have no root CID): name one with --model", seen)
			}
			return cid.Undef, fmt.Errorf("no --model given and no model found in the swarm within --wait %v: is --bootstrap set, and does a peer serve a model?", wait)
		case <-time.After(time.Second):
		}
	}
}

// resolveModel resolves --model: a GGUF file is opened, to be imported
// into the store (node.Import) once the node runs; a name or CID is
// resolved by the store (a CID need not be stored: its blocks are fetched
// from the swarm).
func resolveModel(store *weights.Store, model string) (*gguf.File, cid.Cid, error) {
	if fi, err := os.Stat(model); err == nil && !fi.IsDir() {
		f, err := gguf.Open(model)
		if err != nil {
			return nil, cid.Undef, fmt.Errorf("--model %s: %w", model, err)
		}
		return f, cid.Undef, nil
	} else if strings.HasSuffix(strings.ToLower(model), ".gguf") {
		return nil, cid.Undef, fmt.Errorf("--model %s: %w", model, err)
	}
	root, err := store.Resolve(model)
	if err != nil {
		return nil, cid.Undef, fmt.Errorf("--model %s: %w", model, err)
	}
	return nil, root, nil
}

// runPrompt generates through the swarm as its entry node.
func runPrompt(ctx context.Context, cmd *cobra.Command, n *node.Node, src node.ModelSource, st node.ModelStatus, f *runFlags, sampler *sample.Sampler) error {
	gf, err := src.Open(ctx, sharding.Span{}, false, false)
	if err != nil {
		return err
	}
	tok, err := tokenizer.FromGGUF(gf)
	gf.Close()
	if err != nil {
		return err
	}
	if err := waitCoverage(ctx, n, st.Model, f.wait); err != nil {
		return err
	}
	prompt := tok.Encode(f.prompt, true, false)
	if len(prompt) == 0 {
		prompt = []int32{tok.Vocab().BOS}
	}
	w := bufio.NewWriter(cmd.OutOrStdout())
	defer w.Flush()
	dec := tok.NewStreamDecoder()
	for _, t := range prompt {
		w.WriteString(dec.Next(t))
	}
	bos := tok.Vocab().BOS
	stats, err := n.Generate(ctx, st.Model, prompt, f.n, sampler,
		func(t int32) bool { return tok.IsEOG(t) || t == bos },
		func(t int32) error {
			w.WriteString(dec.Next(t))
			return w.Flush()
		})
	w.WriteString("\n")
	if err != nil {
		return err
	}
	if verbose, _ := cmd.Flags().GetBool("verbose"); verbose {
		fmt.Fprintf(cmd.ErrOrStderr(), "route: %d hops %v, failovers %d, prefill %v, decode %.2f tokens/s\n",
			len(stats.Route), stats.Route, stats.Failovers, stats.Prefill.Round(time.Millisecond), stats.DecodeTokensPerSecond())
	}
	return nil
}

// waitCoverage waits until the swarm view covers every block of model.
func waitCoverage(ctx context.Context, n *node.Node, model string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		v, err := n.SwarmView(ctx, model, true)
		if err == nil && v.Swarm.Blocks > 0 && len(sharding.Gaps(v.Swarm)) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			gaps := "unknown"
			if v != nil {
				gaps = fmt.Sprint(sharding.Gaps(v.Swarm))
			}
			return fmt.Errorf("swarm does not cover model %s after %v (missing blocks %s): %w", model, wait, gaps, ctx.Err())
		case <-tick.C:
		}
	}
}

// runLockFile, in a data directory, is held (flock) by the orbit run
// process using it.
const runLockFile = "run.lock"

// lockRunDir takes the data directory dir for this process, or says which
// process has it.
func lockRunDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, runLockFile)
	l, err := filelock.TryLock(path, true, 0o600)
	if errors.Is(err, filelock.ErrHeld) {
		holder, _ := os.ReadFile(path)
		return nil, fmt.Errorf("data directory %s is in use by another orbit run (pid %s): give each node on this machine its own --data-dir", dir, strings.TrimSpace(string(holder[:min(len(holder), 64)])))
	}
	if err != nil {
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	if err := l.File().Truncate(0); err == nil {
		_, _ = l.File().WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { _ = l.Unlock() }, nil
}

// checkBootstrapReached fails when --bootstrap named peers and the node
// reached none of them: it would otherwise print ready and serve alone,
// which is what a wrong --psk or an allow-list that leaves the bootstrap
// peers out looks like. A node that starts a swarm runs without
// --bootstrap (or names only itself).
func checkBootstrapReached(n *node.Node, f *runFlags) error {
	var others []peer.ID
	for _, b := range f.bootstrap {
		ai, err := peer.AddrInfoFromString(b)
		if err != nil || ai.ID == n.ID() {
			continue // a bad address was refused by node.New already
		}
		others = append(others, ai.ID)
	}
	if len(others) == 0 {
		return nil
	}
	for _, id := range others {
		if n.Host().Network().Connectedness(id) == network.Connected {
			return nil
		}
	}
	hint := ""
	switch {
	case f.psk != "":
		hint = ": with --psk, check that they use the same key file"
	case len(f.allow) > 0:
		hint = ": with --allow-peer, check that the list admits them"
	}
	return fmt.Errorf("none of the %d bootstrap peers could be reached%s (a node that starts a new swarm runs without --bootstrap)", len(others), hint)
}
