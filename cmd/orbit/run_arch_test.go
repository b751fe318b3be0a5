package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunProcessesMoE starts three `orbit run` processes on loopback, one
// block each of a 3-block synthetic Mixtral-style mixture of experts, the
// third generating through the other two with --prompt; the text must be
// what orbit generate gives in one process.
func TestRunProcessesMoE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "moe.gguf")
	if _, _, err := run(t, "synth", "--shape", "mixtral-tiny", "--type", "q8_0", "--layers", "3",
		"--vocab", "../../../shared/vocab/ggml-vocab-llama-spm.gguf", "-o", model); err != nil {
		t.Fatal(err)
	}
	const prompt = "Once upon a time"
	want, _, err := run(t, "generate", "--model", model, "--prompt", prompt, "-n", "24", "--temperature", "0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(want, prompt) || len(strings.TrimSpace(want)) < len(prompt)+10 {
		t.Fatalf("orbit generate printed %q", want)
	}
	bin := buildOrbit(t, dir)
	common := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--encoding", "f32", "--no-api", "--model", model}
	first := startRun(t, bin, append(common, "--blocks", "0:1", "--data-dir", filepath.Join(dir, "a"))...)
	ready := first.readLine(t, "ready ", 30*time.Second)
	boot := strings.Split(field(ready, "addrs"), ",")[0]
	second := startRun(t, bin, append(common, "--blocks", "1:2", "--bootstrap", boot, "--data-dir", filepath.Join(dir, "b"))...)
	second.readLine(t, "ready ", 30*time.Second)
	third := startRun(t, bin, append(common, "--blocks", "2:3", "--bootstrap", boot, "--data-dir", filepath.Join(dir, "c"),
		"--prompt", prompt, "-n", "24", "--wait", "30s")...)
	third.readLine(t, "ready ", 30*time.Second)
	if err := third.wait(t, 60*time.Second); err != nil {
		t.Fatalf("entry process: %v\n%s", err, third.stderrText())
	}
	got := strings.TrimSpace(strings.Join(third.lines()[third.seen:], "\n"))
	if got != strings.TrimSpace(want) {
		t.Fatalf("swarm %q\nlocal %q", got, strings.TrimSpace(want))
	}
}
