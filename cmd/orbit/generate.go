package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

type generateFlags struct {
	model, tokenizer, prompt string
	n, threads, ctxLen       int
	params                   sample.Params
	spec                     speculateFlags
}

func newGenerateCmd() *cobra.Command {
	var f generateFlags
	cmd := &cobra.Command{
		Use:   "generate --model FILE --prompt TEXT",
		Short: "Generate text with a local model (GGUF, or llama2.c .bin with --tokenizer)",
		Long: `Generate runs a whole model in this process and prints the prompt followed by
the generated text to stdout, as llama2.c does. With --verbose, load time,
prefill and decode speed go to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runGenerate(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model file: GGUF, or llama2.c .bin (needs --tokenizer)")
	fl.StringVar(&f.tokenizer, "tokenizer", "", "llama2.c tokenizer .bin, for a llama2.c model")
	fl.StringVarP(&f.prompt, "prompt", "p", "", "prompt text")
	fl.IntVarP(&f.n, "n", "n", 128, "number of tokens to generate at most")
	fl.IntVar(&f.threads, "threads", 0, "compute threads (0: all cores)")
	fl.IntVar(&f.ctxLen, "ctx", 0, "context length (0: prompt + n, capped at the model's)")
	fl.Float32Var(&f.params.Temperature, "temperature", 0.8, "sampling temperature; 0 is greedy")
	fl.IntVar(&f.params.TopK, "top-k", 40, "keep the k most likely tokens (0: all)")
	fl.Float32Var(&f.params.TopP, "top-p", 0.95, "nucleus sampling probability mass (1: off)")
	fl.Float32Var(&f.params.MinP, "min-p", 0.05, "drop tokens below this fraction of the top probability (0: off)")
	fl.Float32Var(&f.params.RepeatPenalty, "repeat-penalty", 1, "penalty for recently seen tokens (1: off)")
	fl.IntVar(&f.params.RepeatLastN, "repeat-last-n", 64, "how many recent tokens the penalties look at")
	fl.Float32Var(&f.params.PresencePenalty, "presence-penalty", 0, "subtracted from the logit of every recently seen token (-2 to 2; 0: off)")
	fl.Float32Var(&f.params.FrequencyPenalty, "frequency-penalty", 0, "subtracted from a recently seen token's logit per occurrence (-2 to 2; 0: off)")
	fl.Uint64Var(&f.params.Seed, "seed", 0, "random seed (same seed, same output)")
	f.spec.add(fl)
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// loadedModel is a model file opened for local generation.
type loadedModel struct {
	model *engine.Model
	tok   *tokenizer.Tokenizer
	file  *gguf.File
}

func (l *loadedModel) Close() {
	l.model.Close()
	l.file.Close()
}

// openModel opens a GGUF, or converts a llama2.c model in memory.
func openModel(path, tokPath string, pool *kernels.Pool) (*loadedModel, error) {
	f, err := openAnyModel(path, tokPath)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	opt := engine.Full()
	opt.Pool = pool
	m, err := engine.Load(f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &loadedModel{model: m, tok: tok, file: f}, nil
}

func runGenerate(cmd *cobra.Command, f *generateFlags) error {
	ctx := cmd.Context()
	verbose, _ := cmd.Flags().GetBool("verbose")
	stderr := cmd.ErrOrStderr()
	sampler, err := sample.New(f.params)
	if err != nil {
		return err
	}
	if f.n < 0 {
		return fmt.Errorf("-n must not be negative")
	}
	mode, err := f.spec.parse()
	if err != nil {
		return err
	}
	t0 := time.Now()
	pool := kernels.NewPool(f.threads)
	defer pool.Close()
	lm, err := openModel(f.model, f.tokenizer, pool)
	if err != nil {
		return err
	}
	defer lm.Close()
	draft, err := f.spec.openDraft(pool)
	if err != nil {
		return err
	}
	if draft != nil {
		defer draft.Close()
		if err := draft.check(lm.tok, lm.model.Config.VocabSize); err != nil {
			return err
		}
	}
	load := time.Since(t0)
	cfg := lm.model.Config
	prompt := lm.tok.Encode(f.prompt, true, false)
	if len(prompt) == 0 {
		prompt = []int32{lm.tok.Vocab().BOS}
	}
	ctxLen := f.ctxLen
	if ctxLen <= 0 {
		ctxLen = min(len(prompt)+f.n, cfg.Context)
	}
	if len(prompt) > ctxLen {
		return fmt.Errorf("prompt of %d tokens does not fit the context of %d", len(prompt), ctxLen)
	}
	sess, err := lm.model.NewSession(ctxLen)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(cmd.OutOrStdout())
	defer out.Flush()
	dec := lm.tok.NewStreamDecoder()
	for _, t := range prompt {
		out.WriteString(dec.Next(t))
	}
	out.Flush()
	bos := lm.tok.Vocab().BOS
	opt := engine.GenerateOptions{
		MaxTokens: f.n,
		Stop:      func(t int32) bool { return lm.tok.IsEOG(t) || t == bos },
	}
	if !sampler.Greedy() {
		opt.Sampler = sampler
	}
	emit := func(t int32) error {
		out.WriteString(dec.Next(t))
		return out.Flush()
	}
	var spec speculate.Stats
	if mode = mode.For(sampler); mode != speculate.Off {
		var d speculate.Drafter = speculate.PromptLookup{}
		if draft != nil && mode != speculate.NGram {
			if d, err = draft.dm.NewDrafter(ctxLen); err != nil {
				return err
			}
		}
		opt.Decode = speculate.Local(lm.model, sess, opt, mode, d, emit, &spec)
	}
	st, err := lm.model.Generate(ctx, sess, prompt, opt, emit)
	out.WriteString("\n")
	if err != nil {
		return err
	}
	if verbose {
		printGenerateStats(stderr, f.model, lm.model, pool, load, st)
		if mode != speculate.Off && spec.Passes > 0 {
			fmt.Fprintf(stderr, "speculate %v: %d of %d drafts kept, %.2f tokens per pass\n", mode, spec.Accepted, spec.Drafted, float64(spec.Tokens)/float64(spec.Passes))
		}
	}
	return nil
}

// printGenerateStats is generate's --verbose report: the model, the
// kernels, the load time, prefill and decode rates and the memory used.
func printGenerateStats(w io.Writer, name string, m *engine.Model, pool *kernels.Pool, load time.Duration, st engine.Stats) {
	cfg := m.Config
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "model: %s, %s, %d blocks, dim %d, vocab %d, %s of weights per token\n",
		name, cfg.Arch, cfg.Layers, cfg.Dim, cfg.VocabSize, humanize.IBytes(uint64(m.WeightBytes())))
	fmt.Fprintf(w, "threads: %d, kernels: %s, load: %v\n", pool.Workers(), kernels.Active(), load.Round(time.Millisecond))
	fmt.Fprintf(w, "prefill: %d tokens in %v (%.1f tokens/s)\n", st.PromptTokens, st.Prefill.Round(time.Microsecond), st.PrefillTokensPerSecond())
	fmt.Fprintf(w, "decode: %d tokens in %v (%.2f tokens/s)\n", st.GeneratedTokens, st.Decode.Round(time.Microsecond), st.DecodeTokensPerSecond())
	if rss, ok := residentBytes(); ok {
		fmt.Fprintf(w, "resident memory: %s (Go heap %s)\n", humanize.IBytes(uint64(rss)), humanize.IBytes(ms.HeapAlloc))
	}
}

// residentBytes reads the process's resident set size from /proc.
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	var size, rss int64
	if _, err := fmt.Sscan(string(b), &size, &rss); err != nil {
		return 0, false
	}
	return rss * int64(os.Getpagesize()), true
}
