package enginebench

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

const shared = "../../../shared"

func smallModel(t testing.TB, typ kernels.DType) string {
	t.Helper()
	vocab, err := tokenizer.LoadLlama2C(filepath.Join(shared, "models", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := synth.ShapeByName("small")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := synth.WriteFile(path, synth.Options{Shape: shape, Type: typ, Vocab: vocab, Seed: 1, Layers: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMeasure(t *testing.T) {
	path := smallModel(t, kernels.Q8_0)
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		threads      int
		impl         kernels.Impl
		cfg          Config
		prefill, gen bool
	}{
		{"both", 1, kernels.Active(), Config{Prompt: 9, Gen: 5, Reps: 3}, true, true},
		{"two threads, generic", 2, kernels.Generic, Config{Prompt: 600, Gen: 2, Reps: 1}, true, true}, // two prefill chunks
		{"prefill only", 1, kernels.Active(), Config{Prompt: 4, Reps: 2}, true, false},
		{"decode only", 1, kernels.Active(), Config{Gen: 4, Reps: 2}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Measure(ctx, path, tc.threads, tc.impl, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Threads != tc.threads || r.Kernels != tc.impl.String() {
				t.Errorf("threads %d kernels %s", r.Threads, r.Kernels)
			}
			for _, s := range []struct {
				name string
				sp   Speed
				want bool
			}{{"prefill", r.Prefill, tc.prefill}, {"decode", r.Decode, tc.gen}} {
				if !s.want {
					if s.sp.Mean != 0 || len(s.sp.Samples) != 0 {
						t.Errorf("%s measured though not asked: %+v", s.name, s.sp)
					}
					continue
				}
				if len(s.sp.Samples) != tc.cfg.Reps || !(s.sp.Mean > 0) || math.IsInf(s.sp.Mean, 0) || s.sp.Stddev < 0 {
					t.Errorf("%s: %+v", s.name, s.sp)
				}
				if m, _ := meanStddev(s.sp.Samples); m != s.sp.Mean {
					t.Errorf("%s: mean %v of samples %v", s.name, s.sp.Mean, s.sp.Samples)
				}
			}
		})
	}
	if _, err := Measure(ctx, path, 1, kernels.Active(), Config{Prompt: 3000, Reps: 1}); err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("prompt beyond the context: %v", err)
	}
	if _, err := Measure(ctx, path, 0, kernels.Active(), Config{Prompt: 3, Reps: 1}); err == nil {
		t.Error("0 threads accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Measure(cctx, path, 1, kernels.Active(), Config{Prompt: 3, Reps: 1}); err == nil {
		t.Error("a cancelled context measured")
	}
}

func TestMeanStddev(t *testing.T) {
	for _, tc := range []struct {
		xs       []float64
		mean, sd float64
	}{
		{nil, 0, 0},
		{[]float64{5}, 5, 0},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
	} {
		m, sd := meanStddev(tc.xs)
		if math.Abs(m-tc.mean) > 1e-12 || math.Abs(sd-tc.sd) > 1e-12 {
			t.Errorf("meanStddev(%v) = %v, %v; want %v, %v", tc.xs, m, sd, tc.mean, tc.sd)
		}
	}
}

func TestThisMachine(t *testing.T) {
	m := ThisMachine()
	if m.CPUs < 1 || m.OS == "" || len(m.Kernels) == 0 || m.Kernels[0] != "generic" || m.Default == "" {
		t.Errorf("%+v", m)
	}
}

// TestParseCapturedLlamaBench reads real llama-bench output: the build of
// ../shared/anchors/llama-bench (llama.cpp from node-llama-cpp 3.22.1),
// `-m small-q8_0.gguf -t 1,2 -p 16 -n 8 -r 2 -o json` on a 2-block
// synthetic model of the small shape.
func TestParseCapturedLlamaBench(t *testing.T) {
	captured, err := os.ReadFile("testdata/llama-bench.json")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseLlamaBench(captured)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatalf("%d tests, want 4", len(rs))
	}
	for _, th := range []int{1, 2} {
		pp, tg := Find(rs, th, 16, 8)
		if pp.Threads != th || pp.NPrompt != 16 || pp.NGen != 0 || !(pp.AvgTS > 0) || !(pp.StddevTS > 0) {
			t.Errorf("threads %d prefill: %+v", th, pp)
		}
		if tg.Threads != th || tg.NGen != 8 || tg.NPrompt != 0 || !(tg.AvgTS > 0) {
			t.Errorf("threads %d decode: %+v", th, tg)
		}
		for _, r := range []LlamaResult{pp, tg} {
			if !strings.HasSuffix(r.Model, "small-q8_0.gguf") || r.ModelType != "llama ?B Q8_0" || r.CPU == "" || r.Build == "" {
				t.Errorf("threads %d: %+v", th, r)
			}
		}
	}
}

// llama-bench's JSON output (-o json: an array of tests, as its README
// documents and testdata/fake-llama-bench prints) and JSON lines.
func TestParseLlamaBench(t *testing.T) {
	out, err := exec.Command("testdata/fake-llama-bench", "-m", "x.gguf", "-t", "1,2", "-p", "16", "-n", "8", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseLlamaBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatalf("%d tests, want 4", len(rs))
	}
	for _, th := range []int{1, 2} {
		pp, tg := Find(rs, th, 16, 8)
		if pp.Threads != th || pp.NPrompt != 16 || pp.AvgTS != float64(100*th) || tg.Threads != th || tg.NGen != 8 || tg.AvgTS != float64(10*th) {
			t.Errorf("threads %d: %+v %+v", th, pp, tg)
		}
		if pp.Model != "x.gguf" || pp.Build != "fake" || pp.StddevTS != 1.5 {
			t.Errorf("threads %d: %+v", th, pp)
		}
	}
	if pp, tg := Find(rs, 3, 16, 8); pp.AvgTS != 0 || tg.AvgTS != 0 {
		t.Error("found a thread count that is not there")
	}
	// JSON lines carry the same tests.
	var lines bytes.Buffer
	for _, r := range rs {
		lines.WriteString(`{"n_threads": ` + strconv.Itoa(r.Threads) + `, "n_prompt": ` + strconv.Itoa(r.NPrompt) + `, "n_gen": ` + strconv.Itoa(r.NGen) +
			`, "avg_ts": 12.5, "stddev_ts": 0.5}` + "\n")
	}
	rl, err := ParseLlamaBench(lines.Bytes())
	if err != nil || len(rl) != len(rs) || rl[3].AvgTS != 12.5 {
		t.Errorf("jsonl: %v, %+v", err, rl)
	}
	for _, bad := range []string{
		``, `[]`, `{`, `[{"n_threads": 0, "n_prompt": 16, "n_gen": 0, "avg_ts": 1}]`,
		`[{"n_threads": 1, "n_prompt": 16, "n_gen": 8, "avg_ts": 1}]`,
		`[{"n_threads": 1, "n_prompt": 0, "n_gen": 0, "avg_ts": 1}]`,
		`[{"n_threads": 1, "n_prompt": 16, "n_gen": 0, "avg_ts": 0}]`,
		`[{"n_threads": 1, "n_prompt": 16, "n_gen": 0, "avg_ts": 1, "stddev_ts": -1}]`,
		`| model | size |`,
	} {
		if _, err := ParseLlamaBench([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseLlamaBench(f *testing.F) {
	if b, err := os.ReadFile("testdata/llama-bench.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`[{"n_threads": 1, "n_prompt": 16, "n_gen": 0, "avg_ts": 100, "stddev_ts": 1.5},
{"n_threads": 1, "n_prompt": 0, "n_gen": 8, "avg_ts": 10, "stddev_ts": 0.5}]`))
	f.Add([]byte(`{"n_threads": 2, "n_prompt": 0, "n_gen": 8, "avg_ts": 3.5, "stddev_ts": 0.1}`))
	f.Add([]byte(`[{"n_threads": 1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseLlamaBench(data)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Threads < 1 || !(r.AvgTS > 0) || (r.NPrompt == 0) == (r.NGen == 0) {
				t.Fatalf("accepted a bad test: %+v", r)
			}
		}
	})
}

// LlamaBench.Run passes the test sizes and thread counts and reads the
// output back (a stand-in script prints what llama-bench would).
func TestLlamaBenchRun(t *testing.T) {
	var stderr bytes.Buffer
	lb := LlamaBench{Path: "testdata/fake-llama-bench", Stderr: &stderr}
	rs, err := lb.Run(context.Background(), "m.gguf", []int{1, 3}, Config{Prompt: 64, Gen: 16, Reps: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "-m m.gguf -t 1,3 -p 64 -n 16 -r 2 -o json") {
		t.Errorf("arguments: %q", stderr.String())
	}
	for _, th := range []int{1, 3} {
		pp, tg := Find(rs, th, 64, 16)
		if pp.AvgTS != float64(100*th) || tg.AvgTS != float64(10*th) {
			t.Errorf("threads %d: %+v %+v", th, pp, tg)
		}
	}
	if _, err := (LlamaBench{Path: "testdata/no-such-llama-bench"}).Run(context.Background(), "m.gguf", []int{1}, Config{Prompt: 1, Gen: 1}); err == nil {
		t.Error("a missing llama-bench ran")
	}
}
