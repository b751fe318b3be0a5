package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/orbitswarm/orbit/bench"
	"github.com/orbitswarm/orbit/engine/enginebench"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

type benchEngineFlags struct {
	shape, vocab, dir, llamaBench string
	types, kernelSets, models     []string
	threads                       []int
	layers, prompt, gen, reps     int
	seed                          uint64
	asJSON                        bool
}

// benchModel is one GGUF file to measure.
type benchModel struct {
	Path  string `json:"path"`
	Type  string `json:"type"`  // the weight type(s), by bytes
	Bytes int64  `json:"bytes"` // of the matrices
}

// benchRow is one line of the table: a model at a thread count with a
// kernel set, and llama.cpp's figures for the same model and threads.
type benchRow struct {
	Model   benchModel         `json:"model"`
	Result  enginebench.Result `json:"orbit"`
	Llama   *llamaSpeeds       `json:"llama_cpp,omitempty"`
	PPRatio float64            `json:"prefill_ratio,omitempty"` // Orbit / llama.cpp
	TGRatio float64            `json:"decode_ratio,omitempty"`
}

type llamaSpeeds struct {
	Prefill enginebench.Speed `json:"prefill"`
	Decode  enginebench.Speed `json:"decode"`
	Build   string            `json:"build,omitempty"`
}

// benchReport is what --json prints.
type benchReport struct {
	Machine enginebench.Machine `json:"machine"`
	Shape   string              `json:"shape,omitempty"`
	Layers  int                 `json:"layers,omitempty"`
	Prompt  int                 `json:"prompt"`
	Gen     int                 `json:"gen"`
	Reps    int                 `json:"reps"`
	Rows    []benchRow          `json:"results"`
}

// newBenchEngineCmd is `orbit bench-engine`: prefill and decode tokens/s of
// the engine per weight type and thread count, optionally beside
// llama.cpp's llama-bench on the same files.
func newBenchEngineCmd() *cobra.Command {
	var f benchEngineFlags
	var shapes []string
	for _, s := range synth.Shapes() {
		shapes = append(shapes, s.Name)
	}
	cmd := &cobra.Command{
		Use:   "bench-engine [--shape SHAPE --types T,...] [-m FILE ...] [--threads N,...] [--prompt N] [--gen N]",
		Short: "Measure the engine's prefill and decode tokens/s per weight type and thread count",
		Long: `Measures prompt processing (prefill: --prompt random tokens in one batch)
and generation (decode: --gen tokens one at a time from an empty cache,
each with its logits) as llama.cpp's llama-bench does: one warm-up run,
then --reps timed runs, reported as mean ± standard deviation of tokens/s.

The models are synthetic (orbit synth) of --shape, one per --types entry,
written to --dir (reused when already there) or to a temporary directory,
or the GGUF files given with -m. --kernels measures other kernel sets
too (generic, avx2, avx512, neon: "all" for every one this CPU runs).

--llama-bench PATH runs llama.cpp's llama-bench (an executable, or
../shared/anchors/llama-bench, which builds it natively on its first run)
on the same files, thread counts and sizes, and adds its figures and the
ratios Orbit / llama.cpp to the table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchEngine(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.shape, "shape", "llama-1b", "model shape of the synthetic models: "+strings.Join(shapes, ", "))
	fl.IntVar(&f.layers, "layers", 0, "override the number of blocks of the synthetic models (0: the shape's)")
	fl.StringSliceVar(&f.types, "types", []string{"q8_0", "q4_0", "q4_k"}, "weight types of the synthetic models: "+strings.Join(synth.TypeNames(), ", "))
	fl.StringSliceVarP(&f.models, "model", "m", nil, "GGUF files to measure instead of synthetic models (repeatable)")
	fl.StringVar(&f.vocab, "vocab", "", "GGUF file whose tokenizer the synthetic models take (default: ../shared's llama-bpe for llama-1b and llama-8b, llama-spm otherwise)")
	fl.StringVar(&f.dir, "dir", "", "directory to keep the synthetic models in (default: a temporary one, removed)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the synthetic weights and of the random tokens")
	fl.IntSliceVar(&f.threads, "threads", defaultBenchThreads(), "thread counts")
	fl.StringSliceVar(&f.kernelSets, "kernels", nil, "kernel sets to measure: generic, avx2, avx512, neon or all (default: the one the engine picks)")
	fl.IntVar(&f.prompt, "prompt", 128, "prompt tokens of the prefill test (0: none)")
	fl.IntVar(&f.gen, "gen", 32, "tokens of the decode test (0: none)")
	fl.IntVar(&f.reps, "reps", 3, "timed repetitions of each test, after one warm-up")
	fl.BoolVar(&f.asJSON, "json", false, "print the results as JSON")
	fl.StringVar(&f.llamaBench, "llama-bench", "", "llama.cpp's llama-bench to run on the same models (off by default)")
	return cmd
}

// defaultBenchThreads is 1 and every logical CPU.
func defaultBenchThreads() []int {
	if n := runtime.NumCPU(); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

func runBenchEngine(cmd *cobra.Command, f *benchEngineFlags) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	if len(f.threads) == 0 {
		return errors.New("--threads: no thread counts")
	}
	for _, t := range f.threads {
		if t < 1 {
			return fmt.Errorf("--threads: %d is not a thread count", t)
		}
	}
	if f.prompt < 0 || f.gen < 0 || f.prompt+f.gen == 0 {
		return fmt.Errorf("--prompt %d and --gen %d: nothing to measure", f.prompt, f.gen)
	}
	if f.reps < 1 {
		return fmt.Errorf("--reps %d: at least 1", f.reps)
	}
	impls, err := parseKernelSets(f.kernelSets)
	if err != nil {
		return err
	}
	cfg := enginebench.Config{Prompt: f.prompt, Gen: f.gen, Reps: f.reps, Seed: f.seed}
	rep := benchReport{Machine: enginebench.ThisMachine(), Prompt: f.prompt, Gen: f.gen, Reps: f.reps}

	var models []benchModel
	if len(f.models) > 0 {
		for _, p := range f.models {
			bm, err := describeModel(p)
			if err != nil {
				return err
			}
			models = append(models, bm)
		}
	} else {
		sh, err := synth.ShapeByName(f.shape)
		if err != nil {
			return err
		}
		if f.layers > 0 {
			sh.Layers = f.layers
		}
		rep.Shape, rep.Layers = sh.Name, sh.Layers
		dir := f.dir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "orbit-bench-engine-"); err != nil {
				return err
			}
			defer os.RemoveAll(dir)
		} else if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if models, err = synthBenchModels(sh, f, dir, stderr); err != nil {
			return err
		}
	}

	var lb *enginebench.LlamaBench
	if f.llamaBench != "" {
		lb = &enginebench.LlamaBench{Path: f.llamaBench, Stderr: stderr}
	}
	for _, bm := range models {
		for _, impl := range impls {
			for _, t := range f.threads {
				if err := ctx.Err(); err != nil {
					return err
				}
				res, err := enginebench.Measure(ctx, bm.Path, t, impl, cfg)
				if err != nil {
					return fmt.Errorf("%s: %w", bm.Path, err)
				}
				fmt.Fprintf(stderr, "orbit %s %s threads %d: prefill %s, decode %s tokens/s\n",
					bm.Type, res.Kernels, t, fmtSpeed(res.Prefill), fmtSpeed(res.Decode))
				rep.Rows = append(rep.Rows, benchRow{Model: bm, Result: res})
			}
		}
		if lb == nil {
			continue
		}
		fmt.Fprintf(stderr, "llama-bench %s ...\n", filepath.Base(bm.Path))
		lr, err := lb.Run(ctx, bm.Path, f.threads, cfg)
		if err != nil {
			return err
		}
		for i := range rep.Rows {
			r := &rep.Rows[i]
			if r.Model.Path != bm.Path {
				continue
			}
			pp, tg := enginebench.Find(lr, r.Result.Threads, f.prompt, f.gen)
			r.Llama = &llamaSpeeds{Prefill: enginebench.Speed{Mean: pp.AvgTS, Stddev: pp.StddevTS},
				Decode: enginebench.Speed{Mean: tg.AvgTS, Stddev: tg.StddevTS}, Build: cmp.Or(pp.Build, tg.Build)}
			if pp.AvgTS > 0 {
				r.PPRatio = r.Result.Prefill.Mean / pp.AvgTS
			}
			if tg.AvgTS > 0 {
				r.TGRatio = r.Result.Decode.Mean / tg.AvgTS
			}
		}
	}

	out := cmd.OutOrStdout()
	if f.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printBenchTable(out, rep, lb != nil)
}

// parseKernelSets reads --kernels: nil for the engine's default set.
func parseKernelSets(names []string) ([]kernels.Impl, error) {
	if len(names) == 0 {
		return []kernels.Impl{kernels.Active()}, nil
	}
	if len(names) == 1 && strings.EqualFold(names[0], "all") {
		return kernels.Available(), nil
	}
	var out []kernels.Impl
	for _, n := range names {
		i, err := kernels.ParseImpl(n)
		if err != nil {
			return nil, fmt.Errorf("--kernels: %w", err)
		}
		out = append(out, i)
	}
	return out, nil
}

// synthBenchModels writes (or finds in dir) one synthetic model per type.
func synthBenchModels(sh synth.Shape, f *benchEngineFlags, dir string, stderr io.Writer) ([]benchModel, error) {
	vocabPath := f.vocab
	if vocabPath == "" {
		vocabPath = bench.DefaultVocab // llama-spm
		if sh.Name == "llama-1b" || sh.Name == "llama-8b" {
			vocabPath = filepath.Join(filepath.Dir(bench.DefaultVocab), "ggml-vocab-llama-bpe.gguf")
		}
	}
	var vocab *tokenizer.Vocab
	var models []benchModel
	for _, name := range f.types {
		typ, mixed, err := synth.ParseType(name)
		if err != nil {
			return nil, fmt.Errorf("--types: %w", err)
		}
		path := filepath.Join(dir, fmt.Sprintf("synth-%s-%s-%dL-seed%d.gguf", sh.Name, synth.TypeName(typ, mixed), sh.Layers, f.seed))
		if _, err := os.Stat(path); err != nil {
			if vocab == nil {
				vf, err := gguf.Open(vocabPath)
				if err != nil {
					return nil, fmt.Errorf("--vocab: %w", err)
				}
				vocab, err = tokenizer.VocabFromGGUF(vf)
				vf.Close()
				if err != nil {
					return nil, fmt.Errorf("--vocab %s: %w", vocabPath, err)
				}
			}
			fmt.Fprintf(stderr, "synthesizing %s\n", path)
			if err := synth.WriteFile(path, synth.Options{Shape: sh, Type: typ, Mixed: mixed, Vocab: vocab, Seed: f.seed}); err != nil {
				return nil, err
			}
		}
		bm, err := describeModel(path)
		if err != nil {
			return nil, err
		}
		models = append(models, bm)
	}
	return models, nil
}

// describeModel names a GGUF file's weight types (those of its matrices,
// most bytes first) and sums their bytes.
func describeModel(path string) (benchModel, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return benchModel{}, err
	}
	defer f.Close()
	bytesOf := map[kernels.DType]int64{}
	var total int64
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if len(ti.Dims) < 2 {
			continue
		}
		bytesOf[kernels.DType(ti.Type)] += int64(ti.Size)
		total += int64(ti.Size)
	}
	var ts []kernels.DType
	for t := range bytesOf {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return bytesOf[ts[i]] > bytesOf[ts[j]] })
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return benchModel{Path: path, Type: strings.Join(names, "+"), Bytes: total}, nil
}

func fmtSpeed(s enginebench.Speed) string {
	if s.Mean == 0 {
		return "-"
	}
	prec := 1
	if s.Mean < 100 {
		prec = 2
	}
	return fmt.Sprintf("%.*f ± %.*f", prec, s.Mean, prec, s.Stddev)
}

func fmtRatio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", r)
}

// printBenchTable prints the machine, the test sizes and one line per
// model, kernel set and thread count.
func printBenchTable(w io.Writer, rep benchReport, llama bool) error {
	m := rep.Machine
	cpu := m.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s, flags %s; kernels %s (default %s)\n",
		cpu, m.CPUs, m.OS, strings.Join(m.Flags, " "), strings.Join(m.Kernels, " "), m.Default)
	if rep.Shape != "" {
		fmt.Fprintf(w, "models: synthetic %s, %d blocks\n", rep.Shape, rep.Layers)
	}
	fmt.Fprintf(w, "tests: prefill pp%d, decode tg%d, tokens/s as mean ± sd of %d runs after a warm-up\n\n", rep.Prompt, rep.Gen, rep.Reps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "MODEL\tTYPE\tSIZE\tKERNELS\tTHREADS\tPREFILL t/s\tDECODE t/s"
	if llama {
		head += "\tLLAMA.CPP PREFILL\tLLAMA.CPP DECODE\tPREFILL RATIO\tDECODE RATIO"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rep.Rows {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s", strings.TrimSuffix(filepath.Base(r.Model.Path), ".gguf"), r.Model.Type,
			humanize.IBytes(uint64(r.Model.Bytes)), r.Result.Kernels, r.Result.Threads, fmtSpeed(r.Result.Prefill), fmtSpeed(r.Result.Decode))
		if llama {
			var pp, tg enginebench.Speed
			if r.Llama != nil {
				pp, tg = r.Llama.Prefill, r.Llama.Decode
			}
			line += fmt.Sprintf("\t%s\t%s\t%s\t%s", fmtSpeed(pp), fmtSpeed(tg), fmtRatio(r.PPRatio), fmtRatio(r.TGRatio))
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}
