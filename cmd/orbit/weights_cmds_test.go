package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWeightsLifecycle drives the weight store commands on real files: the
// GGUF and the llama2.c checkpoint (with its tokenizer) import to the same
// root CID, export gives back the GGUF byte for byte, verify (one model or
// all) re-hashes everything and reports a chunk whose bytes were changed
// on disk (and fails), and gc frees what no named model references.
func TestWeightsLifecycle(t *testing.T) {
	models := filepath.Join(shared, "models")
	gguf := filepath.Join(models, "aidreams260K.gguf")
	orig, err := os.ReadFile(gguf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, _, err := run(t, "import", "--data-dir", dir, gguf)
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(out)
	if !strings.HasPrefix(root, "bafk") {
		t.Fatalf("import printed %q, want a CID", out)
	}
	out, _, err = run(t, "import", "--data-dir", dir, "--name", "from-bin", filepath.Join(models, "aidreams260K.bin"), "--tokenizer", filepath.Join(models, "tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != root {
		t.Fatalf("the llama2.c checkpoint imports as %s, the GGUF as %s", got, root)
	}

	exported := filepath.Join(t.TempDir(), "out.gguf")
	if _, _, err := run(t, "export", "--data-dir", dir, "from-bin", "-o", exported); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(exported); err != nil || !bytes.Equal(got, orig) {
		t.Fatalf("export differs from the imported GGUF (%d vs %d bytes, %v)", len(got), len(orig), err)
	}

	for _, args := range [][]string{{"verify", "--data-dir", dir}, {"verify", "--data-dir", dir, root}} {
		out, _, err := run(t, args...)
		if err != nil || !strings.Contains(out, root+": ") || !strings.Contains(out, "0 missing, 0 corrupt") {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}

	// Flip a byte of the largest chunk on disk.
	var victim string
	var size int64
	err = filepath.Walk(filepath.Join(dir, "blocks"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasPrefix(fi.Name(), "bafk") && fi.Size() > size {
			victim, size = p, fi.Size()
		}
		return err
	})
	if err != nil || victim == "" {
		t.Fatalf("no chunk file found: %v", err)
	}
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, "verify", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "1 corrupt") || !strings.Contains(out, "corrupt (removed): "+filepath.Base(victim)) {
		t.Fatalf("verify after corrupting %s: %v\n%s", filepath.Base(victim), err, out)
	}
	if _, err := os.Stat(victim); !os.IsNotExist(err) {
		t.Fatalf("the corrupt chunk is still stored: %v", err)
	}
	// Now the chunk is missing: verify says so without an error, export
	// cannot rebuild the file.
	out, _, err = run(t, "verify", "--data-dir", dir, root)
	if err != nil || !strings.Contains(out, "1 missing, 0 corrupt") {
		t.Fatalf("verify after the removal: %v\n%s", err, out)
	}
	if _, _, err := run(t, "export", "--data-dir", dir, root, "-o", filepath.Join(t.TempDir(), "x.gguf")); err == nil {
		t.Fatal("export of an incomplete model succeeded")
	}

	// gc keeps what a named model references.
	out, _, err = run(t, "gc", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "removed 0 blocks") {
		t.Fatalf("gc: %v\n%s", err, out)
	}
	out, _, err = run(t, "verify", "--data-dir", t.TempDir())
	if err != nil || !strings.Contains(out, "no models") {
		t.Fatalf("verify of an empty store: %v\n%s", err, out)
	}
}
