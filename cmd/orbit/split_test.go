package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSplitModelCommands drives a split model through the CLI: synth
// --split writes the parts, info on any part shows the split, generate
// reads across the parts as from the single file, import of any part gives
// one root, and export writes the same parts byte for byte.
func TestSplitModelCommands(t *testing.T) {
	vocab := filepath.Join(shared, "vocab", "ggml-vocab-llama-spm.gguf")
	dir := t.TempDir()
	single := filepath.Join(dir, "single.gguf")
	base := []string{"synth", "--shape", "tiny", "--layers", "2", "--vocab", vocab, "--seed", "3"}
	if _, errOut, err := run(t, append(base, "-o", single)...); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	out, errOut, err := run(t, append(base, "-o", filepath.Join(dir, "m.gguf"), "--split", "3")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	parts := strings.Fields(out)
	if len(parts) != 3 || parts[2] != filepath.Join(dir, "m-00003-of-00003.gguf") {
		t.Fatalf("synth --split printed %q", out)
	}

	out, _, err = run(t, "info", parts[1])
	if err != nil || !strings.Contains(out, "split: 3 parts") || !strings.Contains(out, "part 3:") {
		t.Fatalf("info of a part: %v\n%s", err, out)
	}

	gen := func(model string) string {
		out, errOut, err := run(t, "generate", "--model", model, "--prompt", "Once upon", "-n", "6", "--temperature", "0")
		if err != nil {
			t.Fatalf("generate %s: %v\n%s", model, err, errOut)
		}
		return out
	}
	if a, b := gen(single), gen(parts[0]); a != b {
		t.Fatalf("generate from the parts %q, from the single file %q", b, a)
	}

	data := t.TempDir()
	var root string
	for _, p := range []string{parts[2], parts[0]} {
		out, errOut, err := run(t, "import", "--data-dir", data, p)
		if err != nil {
			t.Fatalf("import %s: %v\n%s", p, err, errOut)
		}
		if root != "" && strings.TrimSpace(out) != root {
			t.Fatalf("import of another part gives %s, want %s", out, root)
		}
		root = strings.TrimSpace(out)
	}
	exported := filepath.Join(t.TempDir(), "x.gguf")
	if _, errOut, err := run(t, "export", "--data-dir", data, root, "-o", exported); err != nil || !strings.Contains(errOut, "3 parts") {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	for i, p := range parts {
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(filepath.Dir(exported), []string{"x-00001-of-00003.gguf", "x-00002-of-00003.gguf", "x-00003-of-00003.gguf"}[i]))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("exported part %d differs (%d vs %d bytes, %v)", i+1, len(got), len(want), err)
		}
	}
}
