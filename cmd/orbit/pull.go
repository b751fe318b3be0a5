package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

func newPullCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "pull hf:ORG/REPO[:QUANT]",
		Short: "Download a GGUF model from Hugging Face straight into the weight store",
		Long: `Pull lists the repository's files through the Hugging Face API and picks a GGUF
by its quantization, as llama.cpp's -hf does: QUANT (any case), else Q4_K_M,
else the closest quant the repository has. Every file (every part of a split
model) streams into the weight store, chunks hashed and stored as they arrive,
resumed with range requests when a connection drops (and where it stood when
a pull is run again after an interruption), and checked against the
SHA-256 the hub publishes; the model is named only when all of it arrived
intact (ORG/REPO:QUANT unless --name is given). A model in the local Hugging
Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)
is imported from there without a download; pulling a model again is a no-op.
HF_TOKEN is sent for gated or private repositories, HF_ENDPOINT names a
mirror, HF_HUB_OFFLINE=1 uses only the cache. Prints the root CID.`,
		Example: "  orbit pull hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF\n" +
			"  orbit pull hf:unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M\n" +
			"  orbit run --model hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q8_0",
		Args: cobra.ExactArgs(1),
	}
	open := weightsDataDirFlag(cmd)
	cmd.Flags().StringVar(&name, "name", "", "name for the model (default ORG/REPO:QUANT)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := open()
		if err != nil {
			return err
		}
		res, err := weightsPullHF(cmd.Context(), cmd, s, args[0], name, nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), res.Root)
		return nil
	}
	return cmd
}

// isHFModel reports whether a --model or import argument names a Hugging
// Face repository (hf:ORG/REPO[:QUANT]) rather than a file: a file of
// that name is taken as ./hf:...
func isHFModel(model string) bool {
	if !strings.HasPrefix(model, weights.HFPrefix) {
		return false
	}
	_, err := os.Stat(model)
	return err != nil
}

// weightsPullHF pulls the model named model (hf:ORG/REPO[:QUANT]) into s,
// with a progress bar and notes on stderr; progress, if set, is told too.
func weightsPullHF(ctx context.Context, cmd *cobra.Command, s *weights.Store, model, name string, progress func(weights.Progress)) (weights.HFPullResult, error) {
	ref, err := weights.ParseHFRef(model)
	if err != nil {
		return weights.HFPullResult{}, err
	}
	stderr := cmd.ErrOrStderr()
	update, done := weightsProgressBar(stderr, "pull")
	opt := weights.HFPullOptions{
		ImportOptions: weights.ImportOptions{Name: name, Progress: func(p weights.Progress) {
			update(p)
			if progress != nil {
				progress(p)
			}
		}},
		Offline: os.Getenv("HF_HUB_OFFLINE") == "1" || strings.EqualFold(os.Getenv("HF_HUB_OFFLINE"), "true"),
		Log: func(msg string, args ...any) {
			var b strings.Builder
			b.WriteString(strings.TrimPrefix(msg, "weights: "))
			for i := 0; i+1 < len(args); i += 2 {
				fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
			}
			fmt.Fprintf(stderr, "\rpull: %s\n", b.String())
		},
	}
	res, err := s.PullHF(ctx, ref, opt)
	done()
	if err != nil {
		return res, fmt.Errorf("%s: %w", model, err)
	}
	fmt.Fprintf(stderr, "pull: %s is %s (%s, %d file(s), %s)\n", res.Name, res.Root, res.Source, len(res.Model.Files), humanize.IBytes(uint64(res.Model.Size())))
	return res, nil
}

// servePullHF pulls model into the default weight store for orbit serve
// and returns the GGUF of the whole model assembled from it, and the name
// to serve it under.
func servePullHF(cmd *cobra.Command, model string) (path, id string, err error) {
	s, err := weights.Open(weightsDefaultDataDir(), nil)
	if err != nil {
		return "", "", err
	}
	res, err := weightsPullHF(cmd.Context(), cmd, s, model, "", nil)
	if err != nil {
		return "", "", err
	}
	root := res.Root
	m, err := s.Manifest(cmd.Context(), root)
	if err != nil {
		return "", "", err
	}
	full := sharding.Span{Start: 0, End: len(m.Layers)}
	f, err := s.OpenSpan(cmd.Context(), root, full, true, true)
	if err != nil {
		return "", "", err
	}
	f.Close()
	return s.SpanPath(root, full, true, true), res.Name, nil
}
