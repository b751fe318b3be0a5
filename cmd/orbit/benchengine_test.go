package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var speedRE = regexp.MustCompile(`(\d+\.\d+) ± (\d+\.\d+)`)

// tableRows returns the lines of the bench-engine table after its header,
// checking the header's columns.
func tableRows(t *testing.T, out string, header ...string) []string {
	t.Helper()
	_, table, ok := strings.Cut(out, "\n\n")
	if !ok {
		t.Fatalf("no table:\n%s", out)
	}
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	for _, h := range header {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header %q lacks %q", lines[0], h)
		}
	}
	return lines[1:]
}

func TestBenchEngine(t *testing.T) {
	vocab := filepath.Join(shared, "models", "aidreams260K.gguf")
	dir := t.TempDir()
	fake, err := filepath.Abs("../../engine/enginebench/testdata/fake-llama-bench")
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--prompt", "8", "--gen", "4", "--threads", "1,2"}

	// Synthetic models of two types, kept in --dir: one line per type and
	// thread count, in that order, each with a positive prefill and decode.
	out, errOut, err := run(t, append([]string{"bench-engine", "--shape", "small", "--layers", "1", "--types", "q8_0,q4_k",
		"--reps", "1", "--vocab", vocab, "--dir", dir}, common...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.HasPrefix(out, "machine: ") || !strings.Contains(out, "synthetic small, 1 blocks") || !strings.Contains(out, "pp8") || !strings.Contains(out, "tg4") {
		t.Errorf("preamble:\n%s", out)
	}
	rows := tableRows(t, out, "MODEL", "TYPE", "THREADS", "PREFILL t/s", "DECODE t/s")
	want := []struct{ typ, threads string }{{"q8_0", "1"}, {"q8_0", "2"}, {"q4_k", "1"}, {"q4_k", "2"}}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i, w := range want {
		f := strings.Fields(rows[i])
		if f[0] != "synth-small-"+w.typ+"-1L-seed1" || f[1] != w.typ || f[5] != w.threads {
			t.Errorf("row %d: %q, want %s at %s threads", i, rows[i], w.typ, w.threads)
		}
		checkSpeeds(t, rows[i], 2)
	}
	models, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if len(models) != 2 {
		t.Errorf("--dir holds %v", models)
	}
	q8 := filepath.Join(dir, "synth-small-q8_0-1L-seed1.gguf")
	if _, err := os.Stat(q8); err != nil {
		t.Fatal(err)
	}

	// -m with llama-bench (a stand-in: 100 tokens/s per thread for
	// prompts, 10 for generation) as JSON: the ratios are Orbit's speeds
	// over those.
	out, errOut, err = run(t, append([]string{"bench-engine", "-m", q8, "--reps", "2", "--json", "--llama-bench", fake}, common...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(rep.Rows) != 2 || rep.Prompt != 8 || rep.Gen != 4 || rep.Reps != 2 || rep.Machine.CPUs < 1 {
		t.Fatalf("report %+v", rep)
	}
	for i, r := range rep.Rows {
		th := i + 1
		if r.Result.Threads != th || r.Model.Type != "q8_0" || r.Model.Path != q8 || r.Model.Bytes <= 0 || r.Llama == nil {
			t.Fatalf("row %d: %+v", i, r)
		}
		if len(r.Result.Prefill.Samples) != 2 || !(r.Result.Prefill.Mean > 0) || !(r.Result.Decode.Mean > 0) {
			t.Errorf("row %d: %+v", i, r.Result)
		}
		if r.Llama.Prefill.Mean != float64(100*th) || r.Llama.Decode.Mean != float64(10*th) || r.Llama.Build != "fake" {
			t.Errorf("row %d: llama.cpp %+v", i, r.Llama)
		}
		if math.Abs(r.PPRatio-r.Result.Prefill.Mean/float64(100*th)) > 1e-9 || math.Abs(r.TGRatio-r.Result.Decode.Mean/float64(10*th)) > 1e-9 {
			t.Errorf("row %d: ratios %v %v", i, r.PPRatio, r.TGRatio)
		}
	}
	if !strings.Contains(errOut, "fake llama-bench -m "+q8+" -t 1,2 -p 8 -n 4 -r 2 -o json") {
		t.Errorf("llama-bench was not run as expected:\n%s", errOut)
	}

	// The table with llama-bench has its columns and the ratios.
	out, errOut, err = run(t, append([]string{"bench-engine", "-m", q8, "--reps", "1", "--llama-bench", fake}, common...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	rows = tableRows(t, out, "LLAMA.CPP PREFILL", "LLAMA.CPP DECODE", "PREFILL RATIO", "DECODE RATIO")
	if len(rows) != 2 {
		t.Fatalf("%d rows:\n%s", len(rows), out)
	}
	for _, row := range rows {
		checkSpeeds(t, row, 4)
		if n := len(regexp.MustCompile(`\d+\.\d\dx`).FindAllString(row, -1)); n != 2 {
			t.Errorf("row %q has %d ratios", row, n)
		}
	}

	for _, bad := range [][]string{
		{"--threads", "0"}, {"--types", "q2_k"}, {"--kernels", "sse9"}, {"--prompt", "0", "--gen", "0"}, {"--reps", "0"},
	} {
		if _, _, err := run(t, append([]string{"bench-engine", "--shape", "small", "--layers", "1", "--vocab", vocab, "--dir", dir}, bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// checkSpeeds checks that row has n "mean ± sd" figures with positive means.
func checkSpeeds(t *testing.T, row string, n int) {
	t.Helper()
	m := speedRE.FindAllStringSubmatch(row, -1)
	if len(m) != n {
		t.Errorf("row %q has %d speeds, want %d", row, len(m), n)
		return
	}
	for _, s := range m {
		if v, err := strconv.ParseFloat(s[1], 64); err != nil || !(v > 0) {
			t.Errorf("row %q: speed %q", row, s[0])
		}
	}
}
