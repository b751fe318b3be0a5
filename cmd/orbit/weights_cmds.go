package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/internal/progress"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// newWeightsCmds returns the weight-store commands: import, export, models,
// gc, verify and fetch.
func newWeightsCmds() []*cobra.Command {
	return []*cobra.Command{
		newWeightsImportCmd(), newWeightsExportCmd(), newWeightsModelsCmd(),
		newWeightsGCCmd(), newWeightsVerifyCmd(), newWeightsFetchCmd(),
	}
}

// weightsDefaultDataDir is $ORBIT_DATA_DIR, else ~/.orbit.
func weightsDefaultDataDir() string {
	if d := os.Getenv("ORBIT_DATA_DIR"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".orbit")
	}
	return ".orbit"
}

// weightsDataDirFlag adds --data-dir to cmd and returns a function opening
// the store it names.
func weightsDataDirFlag(cmd *cobra.Command) func() (*weights.Store, error) {
	dir := cmd.PersistentFlags().String("data-dir", weightsDefaultDataDir(), "node data directory (default $ORBIT_DATA_DIR or ~/.orbit)")
	return func() (*weights.Store, error) { return weights.Open(*dir, nil) }
}

// weightsProgressBar renders progress as a one-line bar on w when w is a
// terminal (bytes, rate, ETA), and as a final summary line otherwise.
func weightsProgressBar(w io.Writer, label string) (update func(weights.Progress), done func()) {
	tty := progress.Terminal(w)
	var mu sync.Mutex
	var last weights.Progress
	update = func(p weights.Progress) {
		mu.Lock()
		defer mu.Unlock()
		last = p
		if !tty {
			return
		}
		frac := 0.0
		if p.Total > 0 {
			frac = float64(p.Done) / float64(p.Total)
		}
		eta := "--"
		if d := p.ETA(); d > 0 {
			eta = d.Round(time.Second).String()
		}
		fmt.Fprint(w, progress.Line(label, frac, bytesStatus(frac, p.Done, humanize.IBytes(uint64(p.Total)), p.Rate, eta)+"   "))
	}
	done = func() {
		mu.Lock()
		defer mu.Unlock()
		if tty {
			fmt.Fprintln(w)
		}
		if last.Total > 0 {
			fmt.Fprintf(w, "%s: %s in %s (%s/s)\n", label, humanize.IBytes(uint64(last.Done)),
				last.Elapsed.Round(time.Millisecond), humanize.IBytes(uint64(last.Rate)))
		}
	}
	return update, done
}

// ollamaPrefix marks an import argument as an ollama model name.
const ollamaPrefix = "ollama:"

func newWeightsImportCmd() *cobra.Command {
	var name, tok, ollama, ollamaDir string
	var ollamaList bool
	cmd := &cobra.Command{
		Use:   "import MODEL [TOKENIZER] | ollama:NAME[:TAG] | hf:ORG/REPO[:QUANT] | --ollama NAME[:TAG] | --ollama-list",
		Short: "Import a GGUF, a llama2.c .bin (with its tokenizer) or an ollama model into the weight store",
		Long: "Cuts every tensor into content-addressed chunks, writes them, a layer manifest per\n" +
			"transformer block and a root manifest into the store, and prints the model's root CID.\n\n" +
			"MODEL is a GGUF file (any part of a split model names all of it), or a llama2.c\n" +
			"checkpoint followed by its tokenizer (TOKENIZER, as orbit convert takes it, or\n" +
			"--tokenizer FILE). hf:ORG/REPO[:QUANT] pulls from Hugging Face as orbit pull\n" +
			"does (from the local Hugging Face cache when it is there). ollama:NAME[:TAG] (or\n" +
			"--ollama NAME[:TAG]) takes the model's GGUF blob straight from a local ollama store,\n" +
			"checks it against the sha256 digest of its manifest, and names the model NAME:TAG unless\n" +
			"--name is given. NAME is model, namespace/model or host/namespace/model, as ollama\n" +
			"takes it; the tag defaults to latest. The store is --ollama-dir, else $OLLAMA_MODELS,\n" +
			"else ~/.ollama/models, else /usr/share/ollama/.ollama/models. --ollama-list lists the\n" +
			"models of the ollama store. (A GGUF file whose name starts with \"ollama:\" is ./ollama:...)",
		Example: "  orbit import model.gguf\n" +
			"  orbit import model.bin tokenizer.bin\n" +
			"  orbit import ollama:llama3.2:1b\n" +
			"  orbit import hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0\n" +
			"  orbit import --ollama-dir /srv/ollama/models --ollama hf.co/someone/model-GGUF:Q8_0 --name m\n" +
			"  orbit import --ollama-list",
		Args: func(cmd *cobra.Command, args []string) error {
			if ollamaList || ollama != "" {
				if len(args) != 0 {
					return fmt.Errorf("--ollama and --ollama-list take no MODEL argument, got %d", len(args))
				}
				return nil
			}
			return cobra.RangeArgs(1, 2)(cmd, args)
		},
	}
	open := weightsDataDirFlag(cmd)
	cmd.Flags().StringVar(&name, "name", "", "name for the model (default: general.name; for an ollama model its ollama name)")
	cmd.Flags().StringVar(&tok, "tokenizer", "", "llama2.c tokenizer, when MODEL is a llama2.c checkpoint")
	cmd.Flags().StringVar(&ollama, "ollama", "", "import this model of the local ollama store (NAME[:TAG])")
	cmd.Flags().StringVar(&ollamaDir, "ollama-dir", "", "ollama store (default $OLLAMA_MODELS, ~/.ollama/models or /usr/share/ollama/.ollama/models)")
	cmd.Flags().BoolVar(&ollamaList, "ollama-list", false, "list the models of the ollama store and exit")
	cmd.MarkFlagsMutuallyExclusive("ollama", "ollama-list")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		root := ollamaDir
		if root == "" {
			root = weights.OllamaDir(os.Getenv)
		}
		if ollamaList {
			return weightsOllamaList(cmd.OutOrStdout(), root)
		}
		model, isOllama := ollama, ollama != ""
		if !isOllama {
			model, isOllama = strings.CutPrefix(args[0], ollamaPrefix)
		}
		if len(args) == 2 {
			if tok != "" {
				return fmt.Errorf("the tokenizer is given twice (%s and --tokenizer %s)", args[1], tok)
			}
			if isOllama || isHFModel(args[0]) {
				return fmt.Errorf("a TOKENIZER argument is only for llama2.c models; %s is a GGUF", args[0])
			}
			tok = args[1]
		}
		if isOllama && tok != "" {
			return fmt.Errorf("--tokenizer is only for llama2.c models; an ollama model is a GGUF")
		}
		s, err := open()
		if err != nil {
			return err
		}
		var imported cid.Cid
		if !isOllama && isHFModel(args[0]) {
			if tok != "" {
				return fmt.Errorf("--tokenizer is only for llama2.c models; a Hugging Face model is a GGUF")
			}
			var res weights.HFPullResult
			res, err = weightsPullHF(cmd.Context(), cmd, s, args[0], name, nil)
			imported = res.Root
		} else if isOllama {
			imported, err = weightsImportOllama(cmd, s, root, model, name)
		} else {
			imported, err = weightsImportFile(cmd, s, args[0], tok, name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), imported)
		return nil
	}
	return cmd
}

// weightsImportFile imports a GGUF or llama2.c file.
func weightsImportFile(cmd *cobra.Command, s *weights.Store, path, tok, name string) (cid.Cid, error) {
	f, err := openAnyModel(path, tok)
	if err != nil {
		return cid.Undef, err
	}
	defer f.Close()
	update, done := weightsProgressBar(cmd.ErrOrStderr(), "import")
	root, err := s.Import(cmd.Context(), f, weights.ImportOptions{Name: name, Progress: update})
	done()
	return root, err
}

// weightsImportOllama imports the model named model of the ollama store at
// dir, checking its blob's digest first.
func weightsImportOllama(cmd *cobra.Command, s *weights.Store, dir, model, name string) (cid.Cid, error) {
	ref, err := weights.ParseOllamaRef(model)
	if err != nil {
		return cid.Undef, err
	}
	hashUpdate, hashDone := weightsProgressBar(cmd.ErrOrStderr(), "verify")
	update, done := weightsProgressBar(cmd.ErrOrStderr(), "import")
	opt := weights.OllamaImportOptions{ImportOptions: weights.ImportOptions{Name: name, Progress: update}}
	hashed := false
	opt.HashProgress = func(p weights.Progress) {
		hashUpdate(p)
		if p.Done == p.Total && !hashed {
			hashed = true
			hashDone()
		}
	}
	root, err := s.ImportOllama(cmd.Context(), dir, ref, opt)
	if !hashed {
		hashDone()
	}
	done()
	if errors.Is(err, weights.ErrOllamaNotFound) {
		err = fmt.Errorf("%w\n(`orbit import --ollama-list` shows the models of %s; --ollama-dir or $OLLAMA_MODELS choose another ollama store)", err, dir)
	}
	return root, err
}

// weightsOllamaList prints the models of the ollama store at dir.
func weightsOllamaList(w io.Writer, dir string) error {
	ms, err := weights.ListOllama(dir)
	if err != nil {
		return fmt.Errorf("%w (--ollama-dir or $OLLAMA_MODELS name another store)", err)
	}
	if len(ms) == 0 {
		fmt.Fprintf(w, "no models in the ollama store %s\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tDIGEST\tNOTE")
	for _, m := range ms {
		size, digest := "?", "?"
		if m.Digest != "" {
			size = humanize.IBytes(uint64(m.Size))
			digest = strings.TrimPrefix(m.Digest, "sha256:")[:12]
		}
		note := ""
		switch {
		case m.Err != nil:
			note = "cannot import: " + m.Err.Error()
		case m.Projectors > 0:
			note = "multimodal projector not imported"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, size, digest, note)
	}
	return tw.Flush()
}

func newWeightsExportCmd() *cobra.Command {
	var out string
	var car bool
	cmd := &cobra.Command{
		Use:   "export MODEL -o FILE",
		Short: "Rebuild a model's GGUF (or a CAR v1 archive with --car) from the store",
		Long: `MODEL is a name or a root CID. The GGUF is byte-identical to the imported file.
The output file is -o FILE; "orbit export MODEL FILE" means the same. A model
imported from split files is written as the same parts, byte-identical, named
FILE without .gguf then -00001-of-0000N.gguf.`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return errors.New("export: name the model and the output file: orbit export MODEL -o FILE")
			case len(args) > 2:
				return fmt.Errorf("export: %d arguments; want orbit export MODEL -o FILE", len(args))
			case len(args) == 2 && out != "":
				return fmt.Errorf("export: the output file is given twice (%s and -o %s)", args[1], out)
			case len(args) == 1 && out == "":
				return fmt.Errorf("export: name the output file: orbit export %s -o FILE", args[0])
			}
			return nil
		},
	}
	open := weightsDataDirFlag(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (or the second argument)")
	cmd.Flags().BoolVar(&car, "car", false, "write a CAR v1 archive of the model's blocks, same CIDs")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 2 {
			out = args[1]
		}
		s, root, err := weightsResolve(open, args[0])
		if err != nil {
			return err
		}
		if !car {
			paths, err := s.ExportFiles(cmd.Context(), root, out)
			if err == nil && len(paths) > 1 {
				fmt.Fprintf(cmd.ErrOrStderr(), "split model: wrote %d parts: %s\n", len(paths), strings.Join(paths, " "))
			}
			return err
		}
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if err := s.ExportCAR(cmd.Context(), root, f); err != nil {
			f.Close()
			os.Remove(out)
			return err
		}
		return f.Close()
	}
	return cmd
}

func weightsResolve(open func() (*weights.Store, error), model string) (*weights.Store, cid.Cid, error) {
	s, err := open()
	if err != nil {
		return nil, cid.Undef, err
	}
	root, err := s.Resolve(model)
	if err != nil {
		return nil, cid.Undef, err
	}
	return s, root, nil
}

func newWeightsGCCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove blocks no named model references",
		Args:  cobra.NoArgs,
	}
	open := weightsDataDirFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := open()
		if err != nil {
			return err
		}
		rep, err := s.GC(cmd.Context())
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "removed %d blocks, freed %s, kept %d blocks\n", rep.Removed, humanize.IBytes(uint64(rep.Freed)), rep.Kept)
		return nil
	}
	return cmd
}

func newWeightsVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify [MODEL]",
		Short: "Re-hash every stored block of a model (of every model without MODEL); corrupt blocks are reported and removed",
		Long: `Verify re-hashes every stored block of MODEL, or of every model without
MODEL, removes corrupt ones (a fetch, or importing the file again, puts
them back) and fails if it found any. Without MODEL it also reports blocks
that belong to no model, such as an import stopped midway leaves ('orbit gc'
removes them; importing the same file again reuses them).`,
		Args: cobra.MaximumNArgs(1),
	}
	open := weightsDataDirFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := open()
		if err != nil {
			return err
		}
		var roots []cid.Cid
		if len(args) == 1 {
			root, err := s.Resolve(args[0])
			if err != nil {
				return err
			}
			roots = append(roots, root)
		} else {
			models, err := s.Models(cmd.Context())
			if err != nil {
				return err
			}
			seen := map[cid.Cid]bool{}
			for _, m := range models {
				if m.HaveRoot && !seen[m.Root] {
					seen[m.Root] = true
					roots = append(roots, m.Root)
				}
			}
			if len(roots) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no models in the store")
			}
		}
		out := cmd.OutOrStdout()
		if len(args) == 0 {
			// Blocks of no model: an import or fetch stopped midway.
			orph, err := s.Orphans(cmd.Context())
			if err != nil {
				return err
			}
			if orph.Blocks > 0 {
				fmt.Fprintf(out, "%d blocks (%s) belong to no model (an import or fetch stopped midway, or running now): 'orbit gc' removes them; importing the same file again reuses them\n",
					orph.Blocks, humanize.IBytes(uint64(orph.Bytes)))
			}
		}
		var errs []error
		for _, root := range roots {
			start := time.Now()
			rep, err := s.Verify(cmd.Context(), root)
			fmt.Fprintf(out, "%s: %d blocks good (%s) in %s, %d missing, %d corrupt\n", root, rep.Blocks,
				humanize.IBytes(uint64(rep.Bytes)), time.Since(start).Round(time.Millisecond), len(rep.Missing), len(rep.Corrupt))
			for _, c := range rep.Corrupt {
				fmt.Fprintf(out, "corrupt (removed): %s\n", c)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", root, err))
			}
		}
		return errors.Join(errs...)
	}
	return cmd
}

// weightsParseSpan parses --blocks: "all" (or empty) for every block with
// the embedding and head, else a span as sharding.ParseSpan reads it ("A:B"
// or "[A,B)").
func weightsParseSpan(s string) (sharding.Span, bool, error) {
	if s == "" || s == "all" {
		return sharding.Span{}, true, nil
	}
	span, err := sharding.ParseSpan(s)
	if err != nil {
		return sharding.Span{}, false, fmt.Errorf("--blocks: %w, or all", err)
	}
	return span, false, nil
}

func newWeightsFetchCmd() *cobra.Command {
	var peers []string
	var blocks, name string
	var embed, head, useDHT bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "fetch ROOT-CID --peer ADDR [--peer ADDR ...]",
		Short: "Fetch a model (or a span of its blocks) from peers, verifying every block",
		Long: "Fetches the root manifest, the layer manifests and the chunks of the wanted blocks from\n" +
			"the given peers (full multiaddrs with /p2p/ID) and, with --dht, from providers found in\n" +
			"the Orbit DHT bootstrapped from those peers. Blocks already stored are skipped, so an\n" +
			"interrupted fetch resumes.",
		Args: cobra.ExactArgs(1),
	}
	open := weightsDataDirFlag(cmd)
	cmd.Flags().StringArrayVar(&peers, "peer", nil, "provider multiaddr with /p2p/ID (repeatable)")
	cmd.Flags().StringVar(&blocks, "blocks", "all", "blocks to fetch: A:B or [A,B), or all (with embedding and head)")
	cmd.Flags().BoolVar(&embed, "embed", false, "also fetch the token embedding")
	cmd.Flags().BoolVar(&head, "head", false, "also fetch the output norm and head")
	cmd.Flags().BoolVar(&useDHT, "dht", false, "find more providers in the DHT, bootstrapped from --peer")
	cmd.Flags().StringVar(&name, "name", "", "name for the model (default: general.name)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "timeout of each stream read or write")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		s, err := open()
		if err != nil {
			return err
		}
		root, err := cid.Decode(args[0])
		if err != nil {
			return fmt.Errorf("root CID %q: %w", args[0], err)
		}
		span, all, err := weightsParseSpan(blocks)
		if err != nil {
			return err
		}
		var infos []peer.AddrInfo
		for _, p := range peers {
			ai, err := peer.AddrInfoFromString(p)
			if err != nil {
				return fmt.Errorf("--peer %q: %w", p, err)
			}
			infos = append(infos, *ai)
		}
		if len(infos) == 0 {
			return fmt.Errorf("no --peer given")
		}
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/0.0.0.0/tcp/0"))
		if err != nil {
			return err
		}
		defer h.Close()
		opt := weights.FetchOptions{Peers: infos}
		if useDHT {
			d, err := dht.New(ctx, h, dht.Mode(dht.ModeClient), dht.ProtocolPrefix("/orbit"), dht.BootstrapPeers(infos...))
			if err != nil {
				return err
			}
			defer d.Close()
			if err := d.Bootstrap(ctx); err != nil {
				return err
			}
			opt.Routing = d
		}
		update, done := weightsProgressBar(cmd.ErrOrStderr(), "fetch")
		opt.Progress = update
		st, err := weights.NewFetcher(s, h, protocol.NewBlockClient(h, timeout), opt).Fetch(ctx, root, weights.Want{All: all, Span: span, Embed: embed, Head: head, Name: name})
		done()
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %d chunks, %s fetched, %s already stored, %d retries, %s\n", root, st.Chunks,
			humanize.IBytes(uint64(st.Bytes)), humanize.IBytes(uint64(st.SkippedBytes)), st.Retries, st.Elapsed.Round(time.Millisecond))
		return nil
	}
	return cmd
}
