package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dustin/go-humanize"

	"github.com/orbitswarm/orbit/weights"
)

// writeOllamaModel adds name (host/namespace/model/tag path elements) to
// the fake ollama store root, its model layer holding data.
func writeOllamaModel(t *testing.T, root string, name []string, data []byte) {
	t.Helper()
	layer := func(mediaType string, b []byte) map[string]any {
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		if err := os.MkdirAll(filepath.Join(root, "blobs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "blobs", "sha256-"+h), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return map[string]any{"mediaType": mediaType, "digest": "sha256:" + h, "size": len(b)}
	}
	m, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        layer("application/vnd.docker.container.image.v1+json", []byte("{}")),
		"layers": []any{
			layer("application/vnd.ollama.image.model", data),
			layer("application/vnd.ollama.image.template", []byte("{{ .Prompt }}")),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(append([]string{root, "manifests"}, name...)...)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, m, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportOllamaCmd(t *testing.T) {
	model := filepath.Join(shared, "models", "aidreams260K.gguf")
	data, err := os.ReadFile(model)
	if err != nil {
		t.Skipf("model not available: %v", err)
	}
	odir := t.TempDir()
	writeOllamaModel(t, odir, []string{"registry.ollama.ai", "library", "aidreams", "260k"}, data)
	writeOllamaModel(t, odir, []string{"registry.ollama.ai", "me", "aidreams", "latest"}, data)

	out, _, err := run(t, "import", "--data-dir", t.TempDir(), model)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(out)

	dataDir := t.TempDir()
	imports := []struct {
		args  []string
		alias string
	}{
		{[]string{"--ollama-dir", odir, "ollama:aidreams:260k"}, "aidreams:260k"},
		{[]string{"--ollama-dir", odir, "--ollama", "me/aidreams"}, "me/aidreams:latest"},
		{[]string{"--ollama", "registry.ollama.ai/me/aidreams:latest", "--name", "named"}, "named"}, // store from $OLLAMA_MODELS
	}
	t.Setenv("OLLAMA_MODELS", odir)
	for _, im := range imports {
		out, errOut, err := run(t, append([]string{"import", "--data-dir", dataDir}, im.args...)...)
		if err != nil {
			t.Fatalf("import %v: %v\n%s", im.args, err, errOut)
		}
		if got := strings.TrimSpace(out); got != want {
			t.Errorf("import %v = %q, importing the GGUF file gives %q", im.args, got, want)
		}
		if !strings.Contains(errOut, "verify: ") || !strings.Contains(errOut, "import: ") {
			t.Errorf("import %v: no verify and import summaries on stderr:\n%s", im.args, errOut)
		}
	}
	out, _, err = run(t, "models", "--store-only", "--data-dir", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range imports {
		if !strings.Contains(out, im.alias+" ") || !strings.Contains(out, want) {
			t.Errorf("models does not list %s as %s:\n%s", im.alias, want, out)
		}
	}

	out, _, err = run(t, "import", "--ollama-list", "--ollama-dir", odir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sum := sha256.Sum256(data)
	size := humanize.IBytes(uint64(len(data)))
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.HasPrefix(lines[1], "aidreams:260k ") || !strings.HasPrefix(lines[2], "me/aidreams:latest ") {
		t.Fatalf("--ollama-list:\n%s", out)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, size) || !strings.Contains(l, hex.EncodeToString(sum[:6])) {
			t.Errorf("--ollama-list line %q lacks size %s or digest", l, size)
		}
	}
}

func TestImportOllamaCmdErrors(t *testing.T) {
	odir := t.TempDir()
	writeOllamaModel(t, odir, []string{"registry.ollama.ai", "library", "m", "q4"}, []byte("GGUF, though not really"))
	bad := []byte("GGUF, corrupt soon")
	writeOllamaModel(t, odir, []string{"registry.ollama.ai", "library", "bad", "latest"}, bad)
	// Corrupt the model blob of bad:latest behind its manifest's back,
	// keeping its size.
	sum := sha256.Sum256(bad)
	if err := os.WriteFile(filepath.Join(odir, "blobs", "sha256-"+hex.EncodeToString(sum[:])), []byte("GGUF, CORRUPT soon"), 0o644); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	tests := []struct {
		args []string
		want error
		text string
	}{
		{[]string{"ollama:m:q8"}, weights.ErrOllamaNotFound, "installed tags of m: q4"},
		{[]string{"ollama:m:q8"}, weights.ErrOllamaNotFound, "--ollama-list"},
		{[]string{"ollama:../m"}, weights.ErrOllamaRef, ".."},
		{[]string{"ollama:"}, weights.ErrOllamaRef, "model"},
		{[]string{"--ollama", "m:q4", "extra"}, nil, "take no MODEL argument"},
		{[]string{"--ollama", "m:q4", "--ollama-list"}, nil, "none of the others can be"},
		{[]string{"--ollama", "m:q4", "--tokenizer", "tok.bin"}, nil, "--tokenizer is only for llama2.c"},
		{[]string{"ollama:bad"}, weights.ErrOllamaBlob, "is corrupt"},
		{[]string{"--ollama-dir", filepath.Join(odir, "nowhere"), "ollama:m:q4"}, weights.ErrOllamaNotFound, "no ollama store"},
		{[]string{"--ollama-dir", filepath.Join(odir, "nowhere"), "--ollama-list"}, weights.ErrOllamaNotFound, "no ollama store"},
	}
	for _, tc := range tests {
		args := append([]string{"import", "--data-dir", dataDir, "--ollama-dir", odir}, tc.args...)
		_, _, err := run(t, args...)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("import %v: err = %v, want %v holding %q", tc.args, err, tc.want, tc.text)
		}
	}
	out, _, err := run(t, "models", "--store-only", "--data-dir", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 {
		t.Errorf("failed imports left models:\n%s", out)
	}
	out, _, err = run(t, "import", "--ollama-list", "--ollama-dir", odir)
	if err != nil {
		t.Fatal(err)
	}
	// The listing only checks sizes, not digests: both models look good.
	if !strings.Contains(out, "bad:latest") || !strings.Contains(out, "m:q4") || strings.Contains(out, "cannot import") {
		t.Errorf("--ollama-list:\n%s", out)
	}
}
