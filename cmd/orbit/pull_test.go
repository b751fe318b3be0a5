package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPullCommands pulls a model from a local server that answers as the
// Hugging Face hub does: orbit pull stores it under ORG/REPO:QUANT, orbit
// import of the same name is a no-op, and orbit run --model hf:... serves
// it and generates the reference text.
func TestPullCommands(t *testing.T) {
	model, err := os.ReadFile(filepath.Join(shared, "models", "aidreams260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	var downloads atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/models/org/tiny-GGUF/tree/main":
			_ = json.NewEncoder(w).Encode([]map[string]any{
				{"type": "file", "path": "README.md", "size": 3},
				{"type": "file", "path": "tiny-F32.gguf", "size": len(model), "lfs": map[string]any{"oid": hex.EncodeToString(sum[:]), "size": len(model)}},
			})
		case "/org/tiny-GGUF/resolve/main/tiny-F32.gguf":
			downloads.Add(1)
			w.Header().Set("ETag", `"e1"`)
			http.ServeContent(w, r, "tiny-F32.gguf", time.Time{}, bytes.NewReader(model))
		default:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "Repository not found", http.StatusUnauthorized)
		}
	}))
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	dir := t.TempDir()

	out, errOut, err := run(t, "pull", "--data-dir", dir, "hf:org/tiny-GGUF")
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, errOut)
	}
	root := strings.TrimSpace(out)
	if !strings.HasPrefix(root, "bafk") || !strings.Contains(errOut, "org/tiny-GGUF:F32 is "+root+" (download") {
		t.Fatalf("pull printed %q\n%s", out, errOut)
	}
	want, _, err := run(t, "import", "--data-dir", t.TempDir(), filepath.Join(shared, "models", "aidreams260K.gguf"))
	if err != nil || strings.TrimSpace(want) != root {
		t.Fatalf("the file imports as %q, the pull gave %s (%v)", want, root, err)
	}
	out, errOut, err = run(t, "import", "--data-dir", dir, "hf:org/tiny-GGUF:f32")
	if err != nil || strings.TrimSpace(out) != root || !strings.Contains(errOut, "(store,") || downloads.Load() != 1 {
		t.Fatalf("import of the pulled name: %q %v, %d downloads\n%s", out, err, downloads.Load(), errOut)
	}
	if _, errOut, err := run(t, "pull", "--data-dir", dir, "hf:org/nope"); err == nil || !strings.Contains(err.Error(), "not on the Hugging Face hub") {
		t.Fatalf("missing repository: %v\n%s", err, errOut)
	}
	if _, _, err := run(t, "pull", "--data-dir", dir, "hf:org/tiny-GGUF:Q2_K"); err == nil || !strings.Contains(err.Error(), "it has F32") {
		t.Fatalf("missing quant: %v", err)
	}

	c := loadRef(t)[1]
	out, errOut, err = run(t, "run", "--model", "hf:org/tiny-GGUF", "--data-dir", dir, "--listen", "/ip4/127.0.0.1/tcp/0",
		"--no-mdns", "--no-api", "--nat=false", "--encoding", "f32", "--prompt", c.Prompt, "-n", "200")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, c.Text) || !strings.Contains(out, "model="+root) {
		t.Fatalf("run --model hf:... printed\n%s\nwant the text %q", out, c.Text)
	}

	// orbit serve --model hf:... serves it from the store (ORBIT_DATA_DIR)
	// under its name.
	t.Setenv("ORBIT_DATA_DIR", dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		cmd := newRootCmd(io.Discard, io.Discard)
		cmd.SetArgs([]string{"serve", "--model", "hf:org/tiny-GGUF", "--api", addr})
		served <- cmd.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		<-served
	}()
	var ids []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v1/models")
		if err != nil {
			continue
		}
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err == nil {
			for _, m := range list.Data {
				ids = append(ids, m.ID)
			}
			break
		}
	}
	if len(ids) != 1 || ids[0] != "org/tiny-GGUF:F32" || downloads.Load() != 1 {
		t.Fatalf("serve --model hf:... lists %v (%d downloads), want org/tiny-GGUF:F32 from the store", ids, downloads.Load())
	}
}
