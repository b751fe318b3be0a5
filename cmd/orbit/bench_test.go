package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/sim"
)

func TestBenchCmd(t *testing.T) {
	if _, err := os.Stat(filepath.Join(shared, "vocab", "ggml-vocab-llama-spm.gguf")); err != nil {
		t.Skipf("vocabulary not available: %v", err)
	}
	out := t.TempDir()
	stdout, stderr, err := run(t, "bench", "../../bench/scenarios/lan.yaml", "--out", out, "--duration", "1s", "--seed", "9")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "seed 9") || !strings.Contains(stdout, "0 failed") {
		t.Errorf("stdout: %s", stdout)
	}
	if !strings.Contains(stderr, "tok/s") {
		t.Errorf("no progress bar on stderr: %q", stderr)
	}
	for _, f := range []string{"results.json", "requests.csv", "hops.csv", "throughput.csv", "links.csv", "throughput.png", "latency_cdf.png", "hops.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The simulator's cost model calibrates from these results.
	report := filepath.Join(t.TempDir(), "sim.json")
	if _, stderr, err := run(t, "sim", "--cost", filepath.Join(out, "results.json"), "--peers", "20", "--blocks", "8", "--duration", "2m", "--out", report); err != nil {
		t.Fatalf("sim --cost results.json: %v\n%s", err, stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Config struct {
			Cost struct {
				Reference  string  `json:"reference"`
				BlockMilli float64 `json:"block_ms_per_token"`
			} `json:"cost"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if c := rep.Config.Cost; !strings.HasPrefix(c.Reference, "orbit bench scenario lan (mocknet, seed 9)") || !(c.BlockMilli > 0) || c.BlockMilli == sim.DefaultCost().BlockMillisPerToken {
		t.Errorf("cost model from the bench results: %+v", c)
	}
}

func TestBenchCmdErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nnodes: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "accepts 1 arg"},
		{[]string{"bench", "no-such.yaml"}, "no such file"},
		{[]string{"bench", bad}, "exactly one of path, cid and synthetic"},
		{[]string{"bench", "../../bench/scenarios/lan.yaml", "--mode", "processes", "--out", t.TempDir()}, "test binary"},
	} {
		_, _, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
