package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportForms: export takes the output file as -o FILE or as the
// second argument, and says what is missing otherwise (not cobra's
// "accepts 1 arg(s)").
func TestExportForms(t *testing.T) {
	gguf := filepath.Join(shared, "models", "aidreams260K.gguf")
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
	tmp := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		file    string // the file written, or "" for an error
		wantErr string
	}{
		{"flag", []string{root, "-o", filepath.Join(tmp, "a.gguf")}, "a.gguf", ""},
		{"positional", []string{root, filepath.Join(tmp, "b.gguf")}, "b.gguf", ""},
		{"no output", []string{root}, "", "orbit export " + root + " -o FILE"},
		{"no model", nil, "", "orbit export MODEL -o FILE"},
		{"output twice", []string{root, filepath.Join(tmp, "c.gguf"), "-o", filepath.Join(tmp, "d.gguf")}, "", "given twice"},
		{"too many", []string{root, "x", "y"}, "", "3 arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, append([]string{"export", "--data-dir", dir}, tc.args...)...)
			if tc.file == "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "accepts") {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(tmp, tc.file)); err != nil || !bytes.Equal(got, orig) {
				t.Fatalf("export differs from the GGUF: %v", err)
			}
		})
	}
}

// TestServeListenAlias: orbit serve names its HTTP address --api, as orbit
// run does; --listen, its old name, is an alias.
func TestServeListenAlias(t *testing.T) {
	for _, flag := range []string{"--api", "--listen"} {
		cmd := newServeCmd()
		if err := cmd.ParseFlags([]string{flag, "127.0.0.1:9999"}); err != nil {
			t.Fatalf("%s: %v", flag, err)
		}
		f := cmd.Flags().Lookup("api")
		if f == nil || f.Value.String() != "127.0.0.1:9999" || !f.Changed {
			t.Errorf("%s 127.0.0.1:9999 sets --api to %v", flag, f)
		}
	}
}

// TestInfoValues: orbit info quotes strings, not numbers.
func TestInfoValues(t *testing.T) {
	out, _, err := run(t, "info", filepath.Join(shared, "models", "aidreams260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`general.name                                 string = "aidreams260K"`,
		`llama.context_length                         uint32 = 128`,
		`llama.attention.layer_norm_rms_epsilon       float32 = 1e-05`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no line %q in\n%s", want, out)
		}
	}
}

// TestConfigRedactsAPIKey: orbit config shows that an API key is set, and
// where from, but not the key.
func TestConfigRedactsAPIKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("serve:\n  api-key: file-secret-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORBIT_DATA_DIR", dir)
	t.Setenv("ORBIT_API_KEY", "env-secret-456")
	for _, args := range [][]string{{"config", "run"}, {"config", "run", "--json"}, {"config", "serve"}, {"config", "serve", "--json"}} {
		out, _, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "secret") || !strings.Contains(out, "<redacted>") {
			t.Errorf("%v prints the key or not that it is set:\n%s", args, out)
		}
	}
	t.Setenv("ORBIT_API_KEY", "")
	out, _, err := run(t, "config", "run")
	if err != nil || strings.Contains(out, "<redacted>") {
		t.Errorf("no key set, yet %v:\n%s", err, out)
	}
}

// TestImportRepairsAndOrphans: importing the same file again repairs a
// chunk damaged on disk (same size, other bytes), and the chunks of an
// import stopped midway are reported by verify (pointing to gc) and reused
// by the next import.
func TestImportRepairsAndOrphans(t *testing.T) {
	gguf := filepath.Join(shared, "models", "aidreams260K.gguf")
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
	chunks := chunkFiles(t, dir)
	victim := chunks[len(chunks)/2]
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "import", "--data-dir", dir, gguf); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, "verify", "--data-dir", dir, root)
	if err != nil || !strings.Contains(out, "0 missing, 0 corrupt") {
		t.Fatalf("verify after importing again: %v\n%s", err, out)
	}
	exported := filepath.Join(t.TempDir(), "x.gguf")
	if _, _, err := run(t, "export", "--data-dir", dir, root, exported); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(exported); !bytes.Equal(got, orig) {
		t.Fatal("the repaired store does not export the file")
	}

	// An import stopped midway: its chunks without the manifests and the
	// name (what a killed import leaves).
	stopped := t.TempDir()
	if _, _, err := run(t, "import", "--data-dir", stopped, gguf); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(stopped, "models.json")); err != nil {
		t.Fatalf("the store's names: %v", err)
	}
	left := chunkFiles(t, stopped)
	out, _, err = run(t, "verify", "--data-dir", stopped)
	if err != nil || !strings.Contains(out, "no models") || !strings.Contains(out, "belong to no model") || !strings.Contains(out, "orbit gc") {
		t.Fatalf("verify of a store with only orphans: %v\n%s", err, out)
	}
	before, err := os.Stat(left[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "import", "--data-dir", stopped, gguf); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(left[0])
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("the next import did not reuse the orphan chunk %s: %v", left[0], err)
	}
	out, _, err = run(t, "verify", "--data-dir", stopped)
	if err != nil || strings.Contains(out, "belong to no model") {
		t.Fatalf("verify after the import: %v\n%s", err, out)
	}
}

// chunkFiles lists the block files of the store in dir.
func chunkFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "blocks"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, ".tmp") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no chunk files in %s: %v", dir, err)
	}
	return out
}

// TestTokenizerForms: import and convert take a llama2.c checkpoint's
// tokenizer the same two ways, as the argument after the model or as
// --tokenizer; both give what the GGUF gives, and a tokenizer given twice
// or where none belongs is refused.
func TestTokenizerForms(t *testing.T) {
	models := filepath.Join(shared, "models")
	bin, tok, gguf := filepath.Join(models, "aidreams260K.bin"), filepath.Join(models, "tok512.bin"), filepath.Join(models, "aidreams260K.gguf")
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
	tmp := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		out     string // convert's output file, "" for import
		wantErr string
	}{
		{"import positional", []string{"import", "--data-dir", dir, bin, tok}, "", ""},
		{"import flag", []string{"import", "--data-dir", dir, bin, "--tokenizer", tok}, "", ""},
		{"import twice", []string{"import", "--data-dir", dir, bin, tok, "--tokenizer", tok}, "", "given twice"},
		{"import ollama with tokenizer", []string{"import", "--data-dir", dir, "ollama:x", tok}, "", "only for llama2.c"},
		{"import too many", []string{"import", "--data-dir", dir, bin, tok, "x"}, "", "accepts between 1 and 2"},
		{"convert positional", []string{"convert", bin, tok, filepath.Join(tmp, "a.gguf")}, "a.gguf", ""},
		{"convert flag", []string{"convert", bin, "--tokenizer", tok, filepath.Join(tmp, "b.gguf")}, "b.gguf", ""},
		{"convert twice", []string{"convert", bin, tok, filepath.Join(tmp, "c.gguf"), "--tokenizer", tok}, "", "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.out == "" {
				if got := strings.TrimSpace(out); got != root {
					t.Fatalf("imported as %s, the GGUF as %s", got, root)
				}
				return
			}
			if got, err := os.ReadFile(filepath.Join(tmp, tc.out)); err != nil || !bytes.Equal(got, orig) {
				t.Fatalf("converted file differs from the GGUF: %v", err)
			}
		})
	}
}
