package weights

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// fakeHub answers as the Hugging Face hub does: the tree API (paginated
// by Link headers, LFS files with their SHA-256), errors with X-Error-Code,
// and /REPO/resolve/REV/PATH redirecting to a file host on another host
// name that serves ranges with ETags.
type fakeHub struct {
	t     *testing.T
	hub   *httptest.Server
	files *httptest.Server

	mu    sync.Mutex
	repos map[string]map[string][]byte // repo -> path -> bytes
	gated map[string]bool
	token string
	// Faults by REPO/PATH.
	corrupt  map[string]bool  // serve the file with a byte flipped
	drop     map[string]int64 // cut the first response of the file after this many bytes
	replaced map[string]bool  // after the first response, serve other bytes with another ETag
	down     map[string]bool  // answer 503 (after a cut first response, if any)
	requests []string         // file host: "PATH RANGE"
	authSeen bool             // the file host got an Authorization header
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, repos: map[string]map[string][]byte{}, gated: map[string]bool{},
		corrupt: map[string]bool{}, drop: map[string]int64{}, replaced: map[string]bool{}, down: map[string]bool{}}
	h.files = httptest.NewServer(http.HandlerFunc(h.serveFile))
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	t.Cleanup(func() { h.hub.Close(); h.files.Close() })
	return h
}

func (h *fakeHub) client() *HFClient {
	return &HFClient{Endpoint: h.hub.URL, HTTP: &http.Client{}, Retries: 4, Backoff: time.Millisecond}
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (h *fakeHub) add(repo, path string, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.repos[repo] == nil {
		h.repos[repo] = map[string][]byte{}
	}
	h.repos[repo][path] = b
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := r.URL.Path
	var repo string
	api := strings.HasPrefix(p, "/api/models/")
	if api {
		rest := strings.TrimPrefix(p, "/api/models/")
		i := strings.Index(rest, "/tree/")
		if i < 0 {
			http.NotFound(w, r)
			return
		}
		repo = rest[:i]
	} else {
		parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
		if len(parts) < 5 || parts[2] != "resolve" {
			http.NotFound(w, r)
			return
		}
		repo = parts[0] + "/" + parts[1]
	}
	files, ok := h.repos[repo]
	if !ok {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		http.Error(w, `{"error":"Repository not found"}`, http.StatusUnauthorized)
		return
	}
	if h.gated[repo] && r.Header.Get("Authorization") != "Bearer "+h.token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to model "+repo+" is restricted.")
		http.Error(w, `{"error":"gated"}`, http.StatusUnauthorized)
		return
	}
	if api {
		var names []string
		for n := range files {
			names = append(names, n)
		}
		sortStrings(names)
		page, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		const per = 2
		var out []map[string]any
		for _, n := range names[min(page*per, len(names)):min((page+1)*per, len(names))] {
			b := files[n]
			e := map[string]any{"type": "file", "path": n, "size": len(b), "oid": "gitsha1"}
			if strings.HasSuffix(n, ".gguf") {
				e["lfs"] = map[string]any{"oid": sum(b), "size": len(b), "pointerSize": 134}
			}
			out = append(out, e)
		}
		if (page+1)*per < len(names) {
			next := *r.URL
			next.Scheme, next.Host = "http", r.Host
			q := next.Query()
			q.Set("cursor", strconv.Itoa(page+1))
			next.RawQuery = q.Encode()
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	path := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)[4]
	if _, ok := files[path]; !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "entry not found", http.StatusNotFound)
		return
	}
	// The file host is another host name, so the token stays here.
	u, _ := url.Parse(h.files.URL)
	u.Host = strings.Replace(u.Host, "127.0.0.1", "localhost", 1)
	u.Path = "/blob"
	u.RawQuery = url.Values{"repo": {repo}, "path": {path}}.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (h *fakeHub) serveFile(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	repo, path := r.URL.Query().Get("repo"), r.URL.Query().Get("path")
	b := h.repos[repo][path]
	h.requests = append(h.requests, path+" "+r.Header.Get("Range"))
	h.authSeen = h.authSeen || r.Header.Get("Authorization") != ""
	key := repo + "/" + path
	drop, dropping := h.drop[key]
	delete(h.drop, key)
	if h.down[key] && !dropping {
		h.mu.Unlock()
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	etag := `"` + sum(b)[:16] + `"`
	if h.corrupt[key] {
		b = append([]byte(nil), b...)
		b[len(b)/2] ^= 0x40
	}
	if h.replaced[key] {
		if !dropping {
			b = append([]byte(nil), b...)
			b[0] ^= 1
			etag = `"replaced"`
		}
	}
	h.mu.Unlock()
	if b == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", etag)
	if dropping {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b[:drop])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-file
	}
	http.ServeContent(w, r, path, time.Time{}, bytes.NewReader(b))
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// hubModel puts a repository on the hub: the shared model as Q8_0, split
// in three as Q4_K_M, a projector and a README; it returns the split
// parts' bytes.
func hubModel(t *testing.T, h *fakeHub, repo string) [][]byte {
	t.Helper()
	single, err := os.ReadFile(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	h.add(repo, "README.md", []byte("# model\n"))
	h.add(repo, "model-Q8_0.gguf", single)
	h.add(repo, "mmproj-model-f16.gguf", single)
	var parts [][]byte
	for i, p := range writeSplit(t, 3) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, b)
		h.add(repo, fmt.Sprintf("Q4_K_M/model-Q4_K_M-%05d-of-00003.gguf", i+1), b)
	}
	return parts
}

func TestPullHF(t *testing.T) {
	ctx := context.Background()
	h := newFakeHub(t)
	parts := hubModel(t, h, "org/model-GGUF")
	h.drop["org/model-GGUF/Q4_K_M/model-Q4_K_M-00002-of-00003.gguf"] = int64(len(parts[1]) / 3)
	s := openStore(t)
	var progress []Progress
	opt := HFPullOptions{Client: h.client(), CacheDirs: []string{}, ImportOptions: ImportOptions{Progress: func(p Progress) { progress = append(progress, p) }}}
	ref, err := ParseHFRef("hf:org/model-GGUF")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.PullHF(ctx, ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != "download" || res.Name != "org/model-GGUF:Q4_K_M" || len(res.Model.Files) != 3 {
		t.Fatalf("pull: %+v", res)
	}
	if h.authSeen {
		t.Error("the file host got the token")
	}
	// The dropped connection was resumed with a range request.
	resumed := false
	for _, r := range h.requests {
		resumed = resumed || r == fmt.Sprintf("Q4_K_M/model-Q4_K_M-00002-of-00003.gguf bytes=%d-", len(parts[1])/3)
	}
	if !resumed {
		t.Errorf("no range request resumed the dropped file: %q", h.requests)
	}
	if len(progress) == 0 || progress[len(progress)-1].Done != res.Model.Size() || progress[len(progress)-1].Total != res.Model.Size() {
		t.Errorf("progress %+v, want to end at %d", progress[len(progress)-1:], res.Model.Size())
	}
	// The root is the one the files give on disk, the name resolves to it,
	// and export writes the hub's files byte for byte.
	dir := t.TempDir()
	var paths []string
	for i, b := range parts {
		p := filepath.Join(dir, fmt.Sprintf("m-%05d-of-00003.gguf", i+1))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	f, err := gguf.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if want := importFile(t, openStore(t), f, ""); want != res.Root {
		t.Fatalf("pulled root %s, the files on disk give %s", res.Root, want)
	}
	if got, err := s.Resolve("org/model-GGUF:Q4_K_M"); err != nil || got != res.Root {
		t.Fatalf("name resolves to %s, %v", got, err)
	}
	out, err := s.ExportFiles(ctx, res.Root, filepath.Join(t.TempDir(), "x.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if b, _ := os.ReadFile(out[i]); !bytes.Equal(b, parts[i]) {
			t.Fatalf("exported part %d differs from the hub's", i+1)
		}
	}
	// A second pull downloads nothing.
	before := len(h.requests)
	again, err := s.PullHF(ctx, ref, opt)
	if err != nil || again.Root != res.Root || again.Source != "store" {
		t.Fatalf("second pull: %+v, %v", again, err)
	}
	if len(h.requests) != before {
		t.Fatalf("second pull asked the file host %d times", len(h.requests)-before)
	}
	// A quant by name, any case: the single file.
	q8, err := s.PullHF(ctx, HFRef{Repo: "org/model-GGUF", Quant: "q8_0", Revision: "main"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if want := importFile(t, openStore(t), openModel(t), ""); q8.Root != want || q8.Name != "org/model-GGUF:Q8_0" {
		t.Fatalf("q8_0: %+v, want root %s", q8, want)
	}
}

func TestPullHFErrors(t *testing.T) {
	ctx := context.Background()
	h := newFakeHub(t)
	hubModel(t, h, "org/m")
	hubModel(t, h, "org/gated")
	h.gated["org/gated"] = true
	h.token = "secret"
	hubModel(t, h, "org/bad")
	h.corrupt["org/bad/model-Q8_0.gguf"] = true
	hubModel(t, h, "org/moving")
	h.replaced["org/moving/Q4_K_M/model-Q4_K_M-00001-of-00003.gguf"] = true
	h.drop["org/moving/Q4_K_M/model-Q4_K_M-00001-of-00003.gguf"] = 100

	tests := []struct {
		name  string
		ref   string
		token string
		want  error
		text  string
	}{
		{"missing repo", "org/nope", "", ErrHFNotFound, "HF_TOKEN"},
		{"missing quant", "org/m:Q5_K_M", "", ErrHFQuant, "Q4_K_M (3 parts), Q8_0"},
		{"gated without token", "org/gated", "", ErrHFGated, "set HF_TOKEN"},
		{"gated, wrong token", "org/gated", "nope", ErrHFGated, "no access"},
		{"corrupt byte", "org/bad:Q8_0", "", nil, "hash to"},
		{"file changed", "org/moving", "", ErrHFDownload, "changed on the hub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			ref, err := ParseHFRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			c := h.client()
			c.Token = tt.token
			_, err = s.PullHF(ctx, ref, HFPullOptions{Client: c, CacheDirs: []string{}})
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("got %v, want %v with %q", err, tt.want, tt.text)
			}
			var ce *HFChecksumError
			if tt.name == "corrupt byte" && !errors.As(err, &ce) {
				t.Fatalf("%v is not a checksum error", err)
			}
			// Nothing half-written is named.
			if ms, err := s.Models(ctx); err != nil || len(ms) != 0 {
				t.Fatalf("models after a failed pull: %+v, %v", ms, err)
			}
		})
	}
	// With the token, the gated repository pulls.
	c := h.client()
	c.Token = "secret"
	if _, err := openStore(t).PullHF(ctx, HFRef{Repo: "org/gated", Revision: "main"}, HFPullOptions{Client: c, CacheDirs: []string{}}); err != nil {
		t.Fatal(err)
	}
}

// TestPullHFCache imports from a local Hugging Face cache in place: the
// same root as the download, and no request to the hub.
func TestPullHFCache(t *testing.T) {
	ctx := context.Background()
	h := newFakeHub(t)
	parts := hubModel(t, h, "org/model-GGUF")
	cache := t.TempDir()
	repo := filepath.Join(cache, "models--org--model-GGUF")
	snap := filepath.Join(repo, "snapshots", "0123abcd")
	for _, d := range []string{filepath.Join(repo, "blobs"), filepath.Join(snap, "Q4_K_M"), filepath.Join(repo, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "refs", "main"), []byte("0123abcd"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, b := range parts {
		if err := os.WriteFile(filepath.Join(repo, "blobs", sum(b)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(snap, "Q4_K_M", fmt.Sprintf("model-Q4_K_M-%05d-of-00003.gguf", i+1))
		if err := os.Symlink(filepath.Join("..", "..", "..", "blobs", sum(b)), link); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t)
	ref := HFRef{Repo: "org/model-GGUF", Revision: "main"}
	res, err := s.PullHF(ctx, ref, HFPullOptions{Client: h.client(), CacheDirs: []string{cache}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != "cache" || len(h.requests) != 0 {
		t.Fatalf("pull: %+v, %d file requests", res, len(h.requests))
	}
	down, err := openStore(t).PullHF(ctx, ref, HFPullOptions{Client: h.client(), CacheDirs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if down.Root != res.Root {
		t.Fatalf("cache gives %s, download %s", res.Root, down.Root)
	}
	if again, err := s.PullHF(ctx, ref, HFPullOptions{Client: h.client(), CacheDirs: []string{cache}}); err != nil || again.Source != "store" || again.Root != res.Root {
		t.Fatalf("second pull from the cache: %+v, %v", again, err)
	}
	// Offline, a quant the cache lacks is an error naming what it has.
	if _, err := s.PullHF(ctx, HFRef{Repo: "org/model-GGUF", Quant: "Q8_0", Revision: "main"}, HFPullOptions{Offline: true, CacheDirs: []string{cache}}); !errors.Is(err, ErrHFQuant) {
		t.Fatalf("offline, missing quant: %v", err)
	}
	// A damaged blob is refused.
	blob := filepath.Join(repo, "blobs", sum(parts[2]))
	b := append([]byte(nil), parts[2]...)
	b[len(b)-40] ^= 1
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *HFChecksumError
	if _, err := openStore(t).PullHF(ctx, ref, HFPullOptions{Offline: true, CacheDirs: []string{cache}}); !errors.As(err, &ce) {
		t.Fatalf("damaged blob: %v", err)
	}
}

func TestPickHFModel(t *testing.T) {
	mk := func(names ...string) []HFModel {
		var fs []HFFile
		for _, n := range names {
			fs = append(fs, HFFile{Path: n})
		}
		return HFModels(fs)
	}
	tests := []struct {
		files []string
		quant string
		want  string // first file picked, "" for an error
	}{
		{[]string{"a-Q8_0.gguf", "a-Q4_K_M.gguf"}, "", "a-Q4_K_M.gguf"},
		{[]string{"a-Q8_0.gguf", "a-Q4_K_S.gguf", "a-Q6_K.gguf"}, "", "a-Q4_K_S.gguf"},
		{[]string{"a-Q8_0.gguf", "a-Q5_K_M.gguf", "a-Q3_K_M.gguf"}, "", "a-Q5_K_M.gguf"},
		{[]string{"a.Q4_K_M.gguf", "a.q8_0.gguf"}, "Q8_0", "a.q8_0.gguf"},
		{[]string{"a-UD-Q4_K_XL.gguf", "a-IQ4_XS.gguf"}, "ud-q4_k_xl", "a-UD-Q4_K_XL.gguf"},
		{[]string{"a-f16.gguf", "mmproj-a-f16.gguf", "a-Q2_K.gguf"}, "", "a-Q2_K.gguf"},
		{[]string{"model.gguf"}, "", "model.gguf"},
		{[]string{"a-Q4_K_M-00001-of-00002.gguf"}, "", ""}, // a part missing
		{[]string{"a-Q8_0.gguf"}, "Q4_0", ""},
		{[]string{"README.md"}, "", ""},
	}
	for _, tt := range tests {
		m, err := PickHFModel(mk(tt.files...), tt.quant)
		got := ""
		if err == nil {
			got = m.Files[0].Path
		}
		if got != tt.want {
			t.Errorf("PickHFModel(%v, %q) = %q (%v), want %q", tt.files, tt.quant, got, err, tt.want)
		}
	}
}

func TestParseHFRef(t *testing.T) {
	tests := []struct {
		in   string
		want HFRef
		ok   bool
	}{
		{"hf:org/repo", HFRef{Repo: "org/repo", Revision: "main"}, true},
		{"hf:org/repo:Q4_K_M", HFRef{Repo: "org/repo", Quant: "Q4_K_M", Revision: "main"}, true},
		{"hf.co/org/repo-GGUF:q8_0", HFRef{Repo: "org/repo-GGUF", Quant: "q8_0", Revision: "main"}, true},
		{"org/repo@v1.0:IQ4_XS", HFRef{Repo: "org/repo", Quant: "IQ4_XS", Revision: "v1.0"}, true},
		{"hf:repo", HFRef{}, false},
		{"hf:org/../x", HFRef{}, false},
		{"hf:org/repo/extra", HFRef{}, false},
		{"hf:org/repo:", HFRef{}, false},
	}
	for _, tt := range tests {
		got, err := ParseHFRef(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseHFRef(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func FuzzParseHFRef(f *testing.F) {
	for _, s := range []string{"hf:org/repo:Q4_K_M", "org/r@main", "hf.co/a/b:c", "::", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseHFRef(s)
		if err != nil {
			return
		}
		back, err := ParseHFRef(r.String())
		if err != nil || back != r {
			t.Fatalf("%q parses to %+v, which prints as %q and parses to %+v, %v", s, r, r.String(), back, err)
		}
	})
}

// FuzzImportStream feeds arbitrary bytes to the streaming import: it fails
// cleanly or stores what Import stores for the same file.
func FuzzImportStream(f *testing.F) {
	single, err := os.ReadFile(modelPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(single[:4096])
	var buf bytes.Buffer
	w := gguf.NewWriter()
	w.Set("general.architecture", gguf.String("llama"))
	w.AddTensor("token_embd.weight", 0, []uint64{4, 2}, make([]byte, 32))
	if _, err := w.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		s := openStore(t)
		root, err := s.ImportStream(context.Background(), []StreamPart{{Name: "x", Size: int64(len(data)), R: bytes.NewReader(data)}}, ImportOptions{})
		if err != nil {
			return
		}
		g, err := gguf.Parse(data)
		if err != nil {
			t.Fatalf("stream imported what Parse refuses: %v", err)
		}
		if want, err := openStore(t).Import(context.Background(), g, ImportOptions{}); err != nil || want != root {
			t.Fatalf("stream root %s, Import %s, %v", root, want, err)
		}
	})
}

// TestPullHFResumesAcrossProcesses: a pull that gave up mid-file (the file
// host down) leaves where it stood; the next pull, as from another process,
// asks only for the rest and gives the same root.
func TestPullHFResumesAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	h := newFakeHub(t)
	parts := hubModel(t, h, "org/m")
	const second = "org/m/Q4_K_M/model-Q4_K_M-00002-of-00003.gguf"
	h.drop[second] = int64(len(parts[1]) * 2 / 3)
	h.down[second] = true
	s := openStore(t)
	ref := HFRef{Repo: "org/m", Revision: "main"}
	opt := HFPullOptions{Client: h.client(), CacheDirs: []string{}, CheckpointEvery: 1}
	if _, err := s.PullHF(ctx, ref, opt); !errors.Is(err, ErrHFDownload) {
		t.Fatalf("pull with the file host down: %v", err)
	}
	if ms, _ := s.Models(ctx); len(ms) != 0 {
		t.Fatalf("a model is named after a failed pull: %+v", ms)
	}
	h.mu.Lock()
	h.down[second] = false
	before := len(h.requests)
	h.mu.Unlock()
	res, err := s.PullHF(ctx, ref, opt)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	again := append([]string(nil), h.requests[before:]...)
	h.mu.Unlock()
	for _, r := range again {
		if strings.HasPrefix(r, "Q4_K_M/model-Q4_K_M-00001-of-00003.gguf") {
			t.Fatalf("the finished first part was asked for again: %q", again)
		}
	}
	if len(again) == 0 || !strings.HasPrefix(again[0], "Q4_K_M/model-Q4_K_M-00002-of-00003.gguf bytes=") || strings.HasSuffix(again[0], "bytes=0-") {
		t.Fatalf("the second part did not resume with a range: %q", again)
	}
	f, err := gguf.Open(writeSplit(t, 3)[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if want := importFile(t, openStore(t), f, ""); res.Root != want {
		t.Fatalf("resumed pull gives %s, want %s", res.Root, want)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "pulls")); len(ents) != 0 {
		t.Fatalf("pull states left after the pull: %v", ents)
	}
	// A state whose chunks gc removed is not trusted: the pull starts over.
	s2 := openStore(t)
	h.mu.Lock()
	h.drop[second] = int64(len(parts[1]) * 2 / 3)
	h.down[second] = true
	h.mu.Unlock()
	if _, err := s2.PullHF(ctx, ref, opt); err == nil {
		t.Fatal("pull with the file host down succeeded")
	}
	if _, err := s2.GC(ctx); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.down[second] = false
	h.mu.Unlock()
	res2, err := s2.PullHF(ctx, ref, opt)
	if err != nil || res2.Root != res.Root {
		t.Fatalf("pull after gc: %+v, %v", res2, err)
	}
	if v, err := s2.Verify(ctx, res2.Root); err != nil {
		t.Fatalf("verify after the pull: %+v, %v", v, err)
	}
}

// FuzzPartState decodes resume states as a pull reads them from disk:
// restore takes a state that fits the file or says why not, never panics.
func FuzzPartState(f *testing.F) {
	f.Add([]byte(`{"off":100,"chunks":[["",""]]}`), int64(100))
	f.Add([]byte(`{"off":5,"chunks":[["bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",""]],"done":true}`), int64(5))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		var st PartState
		if json.Unmarshal(b, &st) != nil {
			return
		}
		ts := []Tensor{{Name: "a", Size: 2*ChunkSize - 1, Chunks: make([]cid.Cid, 2)}}
		if err := st.restore(ts, int64(len(st.Header)), size); err != nil {
			return
		}
		if st.Off > size || st.Done && (!ts[0].Chunks[0].Defined() || !ts[0].Chunks[1].Defined()) {
			t.Fatalf("restored a state that does not fit: %+v", st)
		}
	})
}
