package enginebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// LlamaResult is one test of llama.cpp's llama-bench (one line of its
// JSON output): a prompt test (NPrompt > 0, NGen 0) or a generation test
// (NGen > 0, NPrompt 0) at a thread count.
type LlamaResult struct {
	Model     string  `json:"model_filename"`
	ModelType string  `json:"model_type"`
	Threads   int     `json:"n_threads"`
	NPrompt   int     `json:"n_prompt"`
	NGen      int     `json:"n_gen"`
	AvgTS     float64 `json:"avg_ts"`
	StddevTS  float64 `json:"stddev_ts"`
	CPU       string  `json:"cpu_info"`
	Build     string  `json:"build_commit"`
}

// ParseLlamaBench reads llama-bench's `-o json` output (a JSON array of
// tests) or `-o jsonl` output (one test per line), checking each test's
// numbers.
func ParseLlamaBench(data []byte) ([]LlamaResult, error) {
	data = bytes.TrimSpace(data)
	var out []LlamaResult
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, fmt.Errorf("enginebench: llama-bench output: %w", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var r LlamaResult
			err := dec.Decode(&r)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("enginebench: llama-bench output: %w", err)
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("enginebench: llama-bench output has no tests")
	}
	for i, r := range out {
		if r.Threads < 1 || r.NPrompt < 0 || r.NGen < 0 || (r.NPrompt == 0) == (r.NGen == 0) ||
			!(r.AvgTS > 0) || r.AvgTS > 1e12 || !(r.StddevTS >= 0) {
			return nil, fmt.Errorf("enginebench: llama-bench test %d: threads %d, n_prompt %d, n_gen %d, avg_ts %v, stddev_ts %v",
				i, r.Threads, r.NPrompt, r.NGen, r.AvgTS, r.StddevTS)
		}
	}
	return out, nil
}

// LlamaBench is llama.cpp's llama-bench at Path (an executable, or a script
// that builds and runs it, such as ../shared/anchors/llama-bench).
type LlamaBench struct {
	Path   string
	Stderr io.Writer // llama-bench's progress and build messages; nil discards them
}

// Run runs llama-bench on model at each thread count with the same test
// sizes and repetitions as cfg, and returns its tests.
func (lb LlamaBench) Run(ctx context.Context, model string, threads []int, cfg Config) ([]LlamaResult, error) {
	ts := make([]string, len(threads))
	for i, t := range threads {
		ts[i] = strconv.Itoa(t)
	}
	args := []string{"-m", model, "-t", strings.Join(ts, ","), "-p", strconv.Itoa(cfg.Prompt), "-n", strconv.Itoa(cfg.Gen),
		"-r", strconv.Itoa(max(1, cfg.Reps)), "-o", "json"}
	cmd := exec.CommandContext(ctx, lb.Path, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = lb.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("enginebench: %s %s: %w", lb.Path, strings.Join(args, " "), err)
	}
	return ParseLlamaBench(stdout.Bytes())
}

// Find returns the speeds of the prefill (prompt) and decode (gen) tests at
// a thread count, 0 for a test that is not there.
func Find(rs []LlamaResult, threads, prompt, gen int) (prefill, decode LlamaResult) {
	for _, r := range rs {
		switch {
		case r.Threads == threads && r.NPrompt == prompt && r.NGen == 0:
			prefill = r
		case r.Threads == threads && r.NGen == gen && r.NPrompt == 0:
			decode = r
		}
	}
	return prefill, decode
}
