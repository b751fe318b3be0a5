package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

type runFlags struct {
	model, blocks, dataDir, psk, prompt, encoding string
	maxBlocks, n                                  int
	listen, bootstrap, allow                      []string
	noMDNS, nat, entry                            bool
	kvCacheMiB                                    int64
	wait                                          time.Duration
	params                                        sample.Params
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --model FILE.gguf [--blocks a:b | --max-blocks N] [--bootstrap MULTIADDR...]",
		Short: "Join the swarm and serve a span of a model's blocks",
		Long: `Run starts a node: it joins the swarm (DHT, bootstrap peers, mDNS on the LAN),
serves a span of the model's blocks (--blocks, or one chosen from what the
swarm lacks), and prints one status line:

  ready peer=<ID> addrs=<multiaddrs> model=<ID> span=[a,b) throughput=<tok/s/block> peers=<n>

then runs until SIGINT or SIGTERM, when it stops taking sessions, ends the
open ones and exits. With --prompt it also acts as the entry node: it waits
until the swarm covers every block, generates -n tokens through it, prints
the prompt and the generated text like 'orbit generate', and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model file (GGUF)")
	fl.StringVar(&f.blocks, "blocks", "", "blocks to serve, a:b (half-open); default: chosen from the swarm")
	fl.IntVar(&f.maxBlocks, "max-blocks", 0, "most blocks to serve when choosing (0: all)")
	fl.StringSliceVar(&f.listen, "listen", nil, "multiaddrs to listen on (default: TCP and QUIC, all interfaces, random ports)")
	fl.StringSliceVar(&f.bootstrap, "bootstrap", nil, "multiaddrs of peers to join through (with /p2p/ID)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory of the node's identity key (default: a fresh identity)")
	fl.StringVar(&f.psk, "psk", "", "pre-shared key file of a private swarm")
	fl.StringSliceVar(&f.allow, "allow-peer", nil, "admit only these peer IDs (repeatable)")
	fl.BoolVar(&f.noMDNS, "no-mdns", false, "do not discover peers on the LAN")
	fl.BoolVar(&f.nat, "nat", false, "enable NAT port mapping, hole punching and relays")
	fl.BoolVar(&f.entry, "entry", false, "load the embedding and head to serve generations (implied by --prompt)")
	fl.Int64Var(&f.kvCacheMiB, "kv-cache", 1024, "KV-cache budget in MiB")
	fl.StringVar(&f.encoding, "encoding", "f16", "hidden-state encoding between hops: f32, f16 or q8_0")
	fl.StringVarP(&f.prompt, "prompt", "p", "", "generate from this prompt through the swarm, print and exit")
	fl.IntVarP(&f.n, "n", "n", 128, "tokens to generate at most, with --prompt")
	fl.DurationVar(&f.wait, "wait", time.Minute, "with --prompt: how long to wait for the swarm to cover the model")
	fl.Float32Var(&f.params.Temperature, "temperature", 0, "sampling temperature; 0 is greedy")
	fl.IntVar(&f.params.TopK, "top-k", 40, "keep the k most likely tokens (0: all)")
	fl.Float32Var(&f.params.TopP, "top-p", 0.95, "nucleus sampling probability mass (1: off)")
	fl.Uint64Var(&f.params.Seed, "seed", 0, "random seed")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// parseSpan parses "a:b".
func parseSpan(s string) (engine.Span, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return engine.Span{}, fmt.Errorf("--blocks %q: want a:b", s)
	}
	start, err1 := strconv.Atoi(a)
	end, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || start < 0 || end <= start {
		return engine.Span{}, fmt.Errorf("--blocks %q: want a:b with 0 <= a < b", s)
	}
	return engine.Span{Start: start, End: end}, nil
}

func runRun(cmd *cobra.Command, f *runFlags) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	enc, err := protocol.ParseEncoding(f.encoding)
	if err != nil {
		return err
	}
	sampler, err := sample.New(f.params)
	if err != nil {
		return err
	}
	cfg := node.Config{
		DataDir: f.dataDir, Listen: f.listen, Bootstrap: f.bootstrap, DisableMDNS: f.noMDNS, NAT: f.nat,
		KVCacheBytes: f.kvCacheMiB << 20, Encoding: enc, Version: version,
	}
	if f.psk != "" {
		if cfg.PSK, err = node.LoadPSK(f.psk); err != nil {
			return err
		}
	}
	for _, s := range f.allow {
		p, err := peer.Decode(s)
		if err != nil {
			return fmt.Errorf("--allow-peer %q: %w", s, err)
		}
		cfg.AllowPeers = append(cfg.AllowPeers, p)
	}
	opt := node.ServeOptions{MaxBlocks: f.maxBlocks, Entry: f.entry || f.prompt != ""}
	if f.blocks != "" {
		if opt.Blocks, err = parseSpan(f.blocks); err != nil {
			return err
		}
	}
	src, err := node.NewFileSource(f.model)
	if err != nil {
		return err
	}
	n, err := node.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer n.Close()
	st, err := n.Serve(ctx, src, opt)
	if err != nil {
		return err
	}
	var addrs []string
	for _, a := range n.Addrs() {
		addrs = append(addrs, a.String())
	}
	fmt.Fprintf(out, "ready peer=%s addrs=%s model=%s span=%v throughput=%.1f peers=%d\n",
		n.ID(), strings.Join(addrs, ","), st.Model, st.Span, st.Throughput, len(n.Host().Network().Peers()))

	if f.prompt == "" {
		<-ctx.Done()
		fmt.Fprintln(out, "stopping")
		return nil
	}
	return runPrompt(ctx, cmd, n, src, st, f, sampler)
}

// runPrompt generates through the swarm as its entry node.
func runPrompt(ctx context.Context, cmd *cobra.Command, n *node.Node, src *node.FileSource, st node.ModelStatus, f *runFlags, sampler *sample.Sampler) error {
	gf, err := gguf.Open(src.Path)
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
