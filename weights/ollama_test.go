package weights

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeOllama is an ollama store under construction in a test directory.
type fakeOllama struct {
	t    testing.TB
	root string
	// oldBlobNames names blobs "sha256:<hex>", as ollama once did.
	oldBlobNames bool
}

func newFakeOllama(t testing.TB, oldBlobNames bool) *fakeOllama {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "manifests"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fakeOllama{t: t, root: root, oldBlobNames: oldBlobNames}
}

// blob stores data under its real digest and returns its layer entry.
func (o *fakeOllama) blob(mediaType string, data []byte) ollamaLayer {
	o.t.Helper()
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	name := "sha256-" + h
	if o.oldBlobNames {
		name = "sha256:" + h
	}
	if err := os.WriteFile(filepath.Join(o.root, "blobs", name), data, 0o644); err != nil {
		o.t.Fatal(err)
	}
	return ollamaLayer{MediaType: mediaType, Digest: "sha256:" + h, Size: int64(len(data))}
}

// manifest writes the manifest of name with a config and the given layers.
func (o *fakeOllama) manifest(name string, layers ...ollamaLayer) OllamaRef {
	o.t.Helper()
	cfg := o.blob("application/vnd.docker.container.image.v1+json", []byte(`{"model_format":"gguf"}`))
	b, err := json.Marshal(ollamaManifest{SchemaVersion: 2, MediaType: "application/vnd.docker.distribution.manifest.v2+json",
		Config: cfg, Layers: layers})
	if err != nil {
		o.t.Fatal(err)
	}
	return o.rawManifest(name, b)
}

// rawManifest writes b as the manifest of name.
func (o *fakeOllama) rawManifest(name string, b []byte) OllamaRef {
	o.t.Helper()
	ref, err := ParseOllamaRef(name)
	if err != nil {
		o.t.Fatal(err)
	}
	p := ref.manifestPath(o.root)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		o.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		o.t.Fatal(err)
	}
	return ref
}

// model adds a complete model (GGUF, template, params, license) as name.
func (o *fakeOllama) model(name string, gguf []byte, extra ...ollamaLayer) OllamaRef {
	o.t.Helper()
	layers := []ollamaLayer{
		o.blob(ollamaMediaModel, gguf),
		o.blob("application/vnd.ollama.image.template", []byte("{{ .Prompt }}")),
		o.blob("application/vnd.ollama.image.params", []byte(`{"stop":["</s>"]}`)),
		o.blob("application/vnd.ollama.image.license", []byte("MIT")),
	}
	return o.manifest(name, append(layers, extra...)...)
}

func sharedModelBytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(modelPath)
	if err != nil {
		t.Skipf("model not available: %v", err)
	}
	return b
}

func TestParseOllamaRef(t *testing.T) {
	def := func(model, tag string) OllamaRef {
		return OllamaRef{Host: OllamaDefaultHost, Namespace: OllamaDefaultNamespace, Model: model, Tag: tag}
	}
	good := []struct {
		in, short string
		want      OllamaRef
	}{
		{"llama3.2", "llama3.2:latest", def("llama3.2", "latest")},
		{"llama3.2:1b", "llama3.2:1b", def("llama3.2", "1b")},
		{"qwen2.5-coder:0.5b-instruct-q8_0", "qwen2.5-coder:0.5b-instruct-q8_0", def("qwen2.5-coder", "0.5b-instruct-q8_0")},
		{"library/llama3.2:1b", "llama3.2:1b", def("llama3.2", "1b")},
		{"registry.ollama.ai/library/llama3.2", "llama3.2:latest", def("llama3.2", "latest")},
		{"me/my_model:v1", "me/my_model:v1", OllamaRef{OllamaDefaultHost, "me", "my_model", "v1"}},
		{"hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
			OllamaRef{"hf.co", "bartowski", "Llama-3.2-1B-Instruct-GGUF", "Q4_K_M"}},
		{"localhost:5000/team/m:t", "localhost:5000/team/m:t", OllamaRef{"localhost:5000", "team", "m", "t"}},
		{"_x", "_x:latest", def("_x", "latest")},
	}
	for _, tc := range good {
		got, err := ParseOllamaRef(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseOllamaRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.short {
			t.Errorf("%q: String() = %q, want %q", tc.in, got.String(), tc.short)
		}
		if again, err := ParseOllamaRef(got.String()); err != nil || again != got {
			t.Errorf("%q: String() %q parses to %+v, %v", tc.in, got.String(), again, err)
		}
	}
	bad := []string{
		"", ":", ":1b", "llama3.2:", "/llama3.2", "llama3.2/", "a//b", "a/b/c/d",
		"..", "../x", "x/..:1b", "a/../b", "m:..", "m..x", ".hidden", "-x", "m:-t",
		`a\b`, "m@sha256:00", "m:t:x", "ns:x/m", "m:t/x", "a b", "m\x00", "m\n", "héllo",
		strings.Repeat("m", 129), "m:" + strings.Repeat("t", 129),
	}
	for _, in := range bad {
		if r, err := ParseOllamaRef(in); err == nil || !errors.Is(err, ErrOllamaRef) {
			t.Errorf("ParseOllamaRef(%q) = %+v, %v; want an ErrOllamaRef", in, r, err)
		}
	}
}

func TestOllamaDir(t *testing.T) {
	home := t.TempDir()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := OllamaDir(env(map[string]string{"OLLAMA_MODELS": "/x/models", "HOME": home})); got != "/x/models" {
		t.Errorf("with OLLAMA_MODELS: %q", got)
	}
	want := filepath.Join(home, ".ollama", "models")
	// Neither candidate exists: the first is named.
	if got := OllamaDir(env(map[string]string{"HOME": home})); got != want {
		t.Errorf("empty home: %q, want %q", got, want)
	}
	if err := os.MkdirAll(filepath.Join(want, "manifests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := OllamaDir(env(map[string]string{"HOME": home})); got != want {
		t.Errorf("home store: %q, want %q", got, want)
	}
	if d := OllamaDirs(env(nil)); len(d) != 1 || d[0] != "/usr/share/ollama/.ollama/models" {
		t.Errorf("no HOME: %q", d)
	}
}

func TestImportOllamaMatchesDirectImport(t *testing.T) {
	data := sharedModelBytes(t)
	want := importFile(t, openStore(t), openModel(t), "")
	for _, old := range []bool{false, true} {
		o := newFakeOllama(t, old)
		refs := []OllamaRef{
			o.model("aidreams", data),
			o.model("aidreams:260k", data),
			o.model("someone/aidreams:f32", data),
			o.model("hf.co/someone/aidreams-GGUF:F32", data),
			o.model("vision:1b", data, o.blob(ollamaMediaProjector, []byte("projector weights"))),
		}
		for _, ref := range refs {
			t.Run(ref.String()+map[bool]string{true: "/old-blob-names"}[old], func(t *testing.T) {
				s := openStore(t)
				var hashed Progress
				got, err := s.ImportOllama(context.Background(), o.root, ref,
					OllamaImportOptions{HashProgress: func(p Progress) { hashed = p }})
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equals(want) {
					t.Fatalf("root %s, direct import gives %s", got, want)
				}
				if hashed.Done != int64(len(data)) || hashed.Total != int64(len(data)) {
					t.Errorf("hash progress ended at %d/%d, want %d", hashed.Done, hashed.Total, len(data))
				}
				if r, err := s.Resolve(ref.String()); err != nil || !r.Equals(want) {
					t.Errorf("alias %q resolves to %s, %v", ref.String(), r, err)
				}
				var out bytes.Buffer
				if _, err := s.Export(context.Background(), got, &out); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out.Bytes(), data) {
					t.Error("export differs from the ollama blob")
				}
			})
		}
	}
	t.Run("name", func(t *testing.T) {
		o := newFakeOllama(t, false)
		ref := o.model("aidreams", data)
		s := openStore(t)
		opt := OllamaImportOptions{ImportOptions: ImportOptions{Name: "mine"}}
		if _, err := s.ImportOllama(context.Background(), o.root, ref, opt); err != nil {
			t.Fatal(err)
		}
		ms, err := s.Models(context.Background())
		if err != nil || len(ms) != 1 || ms[0].Name != "mine" || !ms[0].Root.Equals(want) {
			t.Fatalf("models %+v, %v; want one named mine", ms, err)
		}
	})
}

func TestListOllama(t *testing.T) {
	model := synthModel(t, 1, 32, 64, 16, 3).Bytes()
	other := synthModel(t, 1, 32, 64, 16, 4).Bytes()
	o := newFakeOllama(t, false)
	o.model("b-model:latest", model)
	o.model("a-model:q8", other)
	o.model("a-model:f16", model)
	o.model("me/vision:1b", model, o.blob(ollamaMediaProjector, []byte("p")), o.blob(ollamaMediaProjector, []byte("q")))
	o.rawManifest("broken:1", []byte("{not json"))
	// Not names: skipped.
	for _, p := range []string{"manifests/registry.ollama.ai/library/.tmp/x", "manifests/registry.ollama.ai/stray",
		"manifests/registry.ollama.ai/library/m/t/deeper"} {
		if err := os.MkdirAll(filepath.Join(o.root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(o.root, p), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ListOllama(o.root)
	if err != nil {
		t.Fatal(err)
	}
	digest := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
	want := []struct {
		name       string
		data       []byte
		projectors int
		bad        bool
	}{
		{"a-model:f16", model, 0, false},
		{"a-model:q8", other, 0, false},
		{"b-model:latest", model, 0, false},
		{"broken:1", nil, 0, true},
		{"me/vision:1b", model, 2, false},
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d models, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || (g.Err != nil) != w.bad {
			t.Errorf("model %d: %q err %v, want %q (bad %v)", i, g.Name, g.Err, w.name, w.bad)
			continue
		}
		if w.bad {
			if !errors.Is(g.Err, ErrOllamaManifest) {
				t.Errorf("%s: err %v, want ErrOllamaManifest", g.Name, g.Err)
			}
			continue
		}
		b, err := os.ReadFile(g.Blob)
		if err != nil || !bytes.Equal(b, w.data) || g.Size != int64(len(w.data)) || g.Digest != digest(w.data) || g.Projectors != w.projectors {
			t.Errorf("%s: blob %s size %d digest %s projectors %d (%v)", g.Name, g.Blob, g.Size, g.Digest, g.Projectors, err)
		}
	}
	if _, err := ListOllama(filepath.Join(o.root, "nowhere")); !errors.Is(err, ErrOllamaNotFound) {
		t.Errorf("missing store: %v, want ErrOllamaNotFound", err)
	}
}

func TestImportOllamaErrors(t *testing.T) {
	model := synthModel(t, 1, 32, 64, 16, 5).Bytes()
	layer := func(data []byte) ollamaLayer {
		s := sha256.Sum256(data)
		return ollamaLayer{MediaType: ollamaMediaModel, Digest: "sha256:" + hex.EncodeToString(s[:]), Size: int64(len(data))}
	}
	tests := []struct {
		name  string
		setup func(o *fakeOllama) string // returns the name to import
		want  error
		text  string // the error message holds it
	}{
		{"no store", func(o *fakeOllama) string {
			o.root = filepath.Join(o.root, "nowhere")
			return "m"
		}, ErrOllamaNotFound, "no ollama store"},
		{"missing manifest lists tags", func(o *fakeOllama) string {
			o.model("m:q4", model)
			o.model("m:f16", model)
			return "m:q8"
		}, ErrOllamaNotFound, "installed tags of m: f16, q4"},
		{"missing model", func(o *fakeOllama) string { return "other" }, ErrOllamaNotFound, "no tag of other is installed"},
		{"malformed json", func(o *fakeOllama) string {
			o.rawManifest("m", []byte(`{"schemaVersion":2,"layers":[`))
			return "m"
		}, ErrOllamaManifest, "unexpected end"},
		{"trailing garbage", func(o *fakeOllama) string {
			b, _ := json.Marshal(ollamaManifest{SchemaVersion: 2, Layers: []ollamaLayer{o.blob(ollamaMediaModel, model)}})
			o.rawManifest("m", append(b, " x"...))
			return "m"
		}, ErrOllamaManifest, "invalid character"},
		{"schema version", func(o *fakeOllama) string {
			o.rawManifest("m", []byte(`{"schemaVersion":1,"layers":[]}`))
			return "m"
		}, ErrOllamaManifest, "schema version 1"},
		{"too large", func(o *fakeOllama) string {
			o.rawManifest("m", append([]byte(`{"schemaVersion":2,"x":"`), bytes.Repeat([]byte("a"), maxOllamaManifest)...))
			return "m"
		}, ErrOllamaManifest, "at most"},
		{"no model layer", func(o *fakeOllama) string {
			o.manifest("m", o.blob("application/vnd.ollama.image.template", []byte("t")))
			return "m"
		}, ErrOllamaManifest, "no layer of type " + ollamaMediaModel},
		{"bad digest", func(o *fakeOllama) string {
			o.manifest("m", ollamaLayer{MediaType: ollamaMediaModel, Digest: "sha256:../../../etc/passwd", Size: 1})
			return "m"
		}, ErrOllamaManifest, "not sha256:<64 hex digits>"},
		{"upper-case digest", func(o *fakeOllama) string {
			l := o.blob(ollamaMediaModel, model)
			l.Digest = strings.ToUpper(l.Digest)
			o.manifest("m", l)
			return "m"
		}, ErrOllamaManifest, "not sha256:<64 hex digits>"},
		{"negative size", func(o *fakeOllama) string {
			l := o.blob(ollamaMediaModel, model)
			l.Size = -1
			o.manifest("m", l)
			return "m"
		}, ErrOllamaManifest, "negative"},
		{"missing blob", func(o *fakeOllama) string {
			o.manifest("m", layer(model))
			return "m"
		}, ErrOllamaNotFound, "blob sha256:"},
		{"blob size mismatch", func(o *fakeOllama) string {
			l := o.blob(ollamaMediaModel, model)
			l.Size++
			o.manifest("m", l)
			return "m"
		}, ErrOllamaBlob, "partial download"},
		{"corrupt blob", func(o *fakeOllama) string {
			l := o.blob(ollamaMediaModel, model)
			bad := bytes.Clone(model)
			bad[len(bad)-1] ^= 1 // tensor data: the file still parses
			hexd := strings.TrimPrefix(l.Digest, "sha256:")
			if err := os.WriteFile(filepath.Join(o.root, "blobs", "sha256-"+hexd), bad, 0o644); err != nil {
				t.Fatal(err)
			}
			o.manifest("m", l)
			return "m"
		}, ErrOllamaBlob, "is corrupt"},
		{"not gguf", func(o *fakeOllama) string {
			o.model("m", []byte("this blob is not a GGUF file at all, but it has the right digest"))
			return "m"
		}, nil, "gguf"},
		{"adapter", func(o *fakeOllama) string {
			o.model("m", model, o.blob(ollamaMediaAdapter, []byte("lora")))
			return "m"
		}, ErrOllamaUnsupported, "adapter"},
		{"two model layers", func(o *fakeOllama) string {
			o.manifest("m", o.blob(ollamaMediaModel, model), o.blob(ollamaMediaModel, append(bytes.Clone(model), 0)))
			return "m"
		}, ErrOllamaUnsupported, "2 model layers"},
		{"manifest is a directory", func(o *fakeOllama) string {
			ref, _ := ParseOllamaRef("m:d")
			if err := os.MkdirAll(ref.manifestPath(o.root), 0o755); err != nil {
				t.Fatal(err)
			}
			return "m:d"
		}, nil, "m:d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newFakeOllama(t, false)
			ref, err := ParseOllamaRef(tc.setup(o))
			if err != nil {
				t.Fatal(err)
			}
			s := openStore(t)
			_, err = s.ImportOllama(context.Background(), o.root, ref, OllamaImportOptions{})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v; want %v holding %q", err, tc.want, tc.text)
			}
			if tc.name == "corrupt blob" {
				var de *OllamaDigestError
				if !errors.As(err, &de) || de.Want == de.Got {
					t.Errorf("err %v is not an *OllamaDigestError", err)
				}
			}
			ms, err := s.Models(context.Background())
			if err != nil || len(ms) != 0 {
				t.Errorf("a failed import left models %+v (%v)", ms, err)
			}
		})
	}
}

func TestImportOllamaCanceled(t *testing.T) {
	o := newFakeOllama(t, false)
	ref := o.model("m", synthModel(t, 1, 32, 64, 16, 6).Bytes())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := openStore(t)
	if _, err := s.ImportOllama(ctx, o.root, ref, OllamaImportOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func FuzzParseOllamaManifest(f *testing.F) {
	h := strings.Repeat("ab", 32)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:` + h + `","size":485},` +
		`"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:` + h + `","size":1321082688},` +
		`{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:` + h + `","size":1429},` +
		`{"mediaType":"application/vnd.ollama.image.projector","digest":"sha256:` + h + `","size":7}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.adapter","digest":"sha256:` + h + `","size":1}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:AB","size":-1}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseOllamaManifest(b)
		if err != nil {
			if !errors.Is(err, ErrOllamaManifest) && !errors.Is(err, ErrOllamaUnsupported) {
				t.Fatalf("error %v wraps neither ErrOllamaManifest nor ErrOllamaUnsupported", err)
			}
			return
		}
		if err := checkOllamaLayer(p.Model); err != nil || p.Model.MediaType != ollamaMediaModel {
			t.Fatalf("accepted model layer %+v: %v", p.Model, err)
		}
		// The accepted layer names a blob inside the store.
		path := filepath.Join("root", "blobs", "sha256-"+strings.TrimPrefix(p.Model.Digest, "sha256:"))
		if filepath.Dir(path) != filepath.Join("root", "blobs") {
			t.Fatalf("digest %q escapes the blobs directory", p.Model.Digest)
		}
		// A manifest of the parsed layers parses to the same result.
		layers := []ollamaLayer{p.Model}
		for range p.Projectors {
			layers = append(layers, ollamaLayer{MediaType: ollamaMediaProjector})
		}
		again, err := json.Marshal(ollamaManifest{SchemaVersion: 2, Layers: layers})
		if err != nil {
			t.Fatal(err)
		}
		if q, err := parseOllamaManifest(again); err != nil || q != p {
			t.Fatalf("re-encoded manifest parses to %+v, %v; want %+v", q, err, p)
		}
	})
}

// BenchmarkImportOllama imports the 15 MB model of BenchmarkImport from a
// fake ollama store: the difference is the cost of hashing the blob first.
func BenchmarkImportOllama(b *testing.B) {
	data := testModel(b).Bytes()
	o := newFakeOllama(b, false)
	ref := o.model("m", data)
	root := b.TempDir()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s := freshStore(b, root)
		if _, err := s.ImportOllama(context.Background(), o.root, ref, OllamaImportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = os.RemoveAll(s.Dir())
		b.StartTimer()
	}
}

// BenchmarkHashOllamaBlob is the digest check alone.
func BenchmarkHashOllamaBlob(b *testing.B) {
	data := testModel(b).Bytes()
	o := newFakeOllama(b, false)
	l := o.blob(ollamaMediaModel, data)
	path, _, err := ollamaBlobPath(o.root, l.Digest)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := hashOllamaBlob(context.Background(), path, l.Digest, l.Size, nil); err != nil {
			b.Fatal(err)
		}
	}
}
