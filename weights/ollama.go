package weights

// Importing models from a local ollama store.
//
// An ollama store (the directory $OLLAMA_MODELS, ~/.ollama/models or, for a
// Linux system install, /usr/share/ollama/.ollama/models) holds
//
//	manifests/<host>/<namespace>/<model>/<tag>   one JSON manifest per name
//	blobs/sha256-<hex>                            content-addressed layers
//
// A manifest is a docker distribution v2 style document whose layers are
// typed by media type; the layer of type application/vnd.ollama.image.model
// is a GGUF file, which Store.ImportOllama imports like any other GGUF after
// checking that its bytes hash to the layer's digest.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// Defaults of the parts of an ollama model name.
const (
	OllamaDefaultHost      = "registry.ollama.ai"
	OllamaDefaultNamespace = "library"
	OllamaDefaultTag       = "latest"
)

// Media types of the ollama manifest layers this package looks at.
const (
	ollamaMediaModel     = "application/vnd.ollama.image.model"
	ollamaMediaAdapter   = "application/vnd.ollama.image.adapter"
	ollamaMediaProjector = "application/vnd.ollama.image.projector"
)

// maxOllamaManifest caps the size of a manifest file read from disk; real
// ones are well under 4 KiB.
const maxOllamaManifest = 1 << 20

// Errors of the ollama import. Each error returned by this file's
// functions wraps one of them (or is an *OllamaDigestError).
var (
	// ErrOllamaRef is wrapped by errors about malformed model names.
	ErrOllamaRef = errors.New("weights: invalid ollama model name")
	// ErrOllamaNotFound is wrapped by errors about a missing store,
	// manifest or blob.
	ErrOllamaNotFound = errors.New("weights: not in the ollama store")
	// ErrOllamaManifest is wrapped by errors about manifests that are too
	// large, not JSON, or have no usable model layer.
	ErrOllamaManifest = errors.New("weights: bad ollama manifest")
	// ErrOllamaUnsupported is wrapped by errors about models this import
	// cannot take: LoRA adapters, several model layers.
	ErrOllamaUnsupported = errors.New("weights: unsupported ollama model")
	// ErrOllamaBlob is wrapped by errors about a model blob that does not
	// match its manifest entry (size or digest).
	ErrOllamaBlob = errors.New("weights: ollama blob does not match its manifest")
)

// OllamaDigestError reports a blob whose bytes do not hash to the digest
// its manifest gives. errors.Is(err, ErrOllamaBlob) is true for it.
type OllamaDigestError struct {
	Path string // the blob file
	Want string // digest in the manifest, "sha256:<hex>"
	Got  string // digest of the bytes read
}

func (e *OllamaDigestError) Error() string {
	return fmt.Sprintf("weights: ollama blob %s is corrupt: its bytes hash to %s, the manifest says %s", e.Path, e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrOllamaBlob) true.
func (e *OllamaDigestError) Unwrap() error { return ErrOllamaBlob }

// OllamaRef names a model in an ollama store: host/namespace/model:tag.
type OllamaRef struct {
	Host, Namespace, Model, Tag string
}

// ParseOllamaRef parses an ollama model name as the ollama CLI takes it:
//
//	model               registry.ollama.ai/library/model:latest
//	model:tag           registry.ollama.ai/library/model:tag
//	namespace/model:tag registry.ollama.ai/namespace/model:tag
//	host/ns/model:tag   fully qualified (host may carry a :port)
//
// Every part must be non-empty, start with a letter, digit or '_', and hold
// only letters, digits, '_', '-' and '.' (the host also ':'), never "..":
// the parts become path elements under the store's manifests directory.
// A digest reference (model@sha256:...) is not accepted.
func ParseOllamaRef(s string) (OllamaRef, error) {
	r := OllamaRef{Host: OllamaDefaultHost, Namespace: OllamaDefaultNamespace, Tag: OllamaDefaultTag}
	parts := strings.Split(s, "/")
	last := parts[len(parts)-1]
	if m, tag, ok := strings.Cut(last, ":"); ok {
		last, r.Tag = m, tag
	}
	switch len(parts) {
	case 1:
		r.Model = last
	case 2:
		r.Namespace, r.Model = parts[0], last
	case 3:
		r.Host, r.Namespace, r.Model = parts[0], parts[1], last
	default:
		return OllamaRef{}, fmt.Errorf("%w %q: want [[host/]namespace/]model[:tag]", ErrOllamaRef, s)
	}
	if err := r.Validate(); err != nil {
		return OllamaRef{}, fmt.Errorf("%w (in %q)", err, s)
	}
	return r, nil
}

// Validate checks that every part of r is a safe, well-formed name.
func (r OllamaRef) Validate() error {
	for _, p := range []struct {
		what, v string
		max     int
		colon   bool
	}{
		{"host", r.Host, 255, true},
		{"namespace", r.Namespace, 128, false},
		{"model", r.Model, 128, false},
		{"tag", r.Tag, 128, false},
	} {
		if err := checkOllamaPart(p.v, p.max, p.colon); err != nil {
			return fmt.Errorf("%w: %s %q %s", ErrOllamaRef, p.what, p.v, err)
		}
	}
	return nil
}

// checkOllamaPart returns why v cannot be a part of a name (as a phrase),
// or nil.
func checkOllamaPart(v string, maxLen int, colon bool) error {
	if v == "" || len(v) > maxLen {
		return fmt.Errorf("must be 1 to %d bytes", maxLen)
	}
	if strings.Contains(v, "..") {
		return errors.New(`must not contain ".."`)
	}
	for i, c := range []byte(v) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		switch {
		case alnum:
		case i == 0:
			return errors.New("must start with a letter, digit or '_'")
		case c == '-' || c == '.' || colon && c == ':':
		default:
			return fmt.Errorf("holds %q, not a letter, digit, '_', '-' or '.'", rune(c))
		}
	}
	return nil
}

// String is the short form of r, as `ollama list` shows it: the default
// host and namespace are left out, the tag never is ("llama3.2:1b",
// "user/model:latest", "host/ns/model:tag").
func (r OllamaRef) String() string {
	name := r.Model + ":" + r.Tag
	switch {
	case r.Host != OllamaDefaultHost:
		return r.Host + "/" + r.Namespace + "/" + name
	case r.Namespace != OllamaDefaultNamespace:
		return r.Namespace + "/" + name
	}
	return name
}

// manifestPath is where r's manifest lives under the store root.
func (r OllamaRef) manifestPath(root string) string {
	return filepath.Join(root, "manifests", r.Host, r.Namespace, r.Model, r.Tag)
}

// OllamaDirs returns the ollama store roots to try, in order: $OLLAMA_MODELS
// alone when set, else ~/.ollama/models and the Linux system install's
// /usr/share/ollama/.ollama/models. getenv is os.Getenv outside tests.
func OllamaDirs(getenv func(string) string) []string {
	if d := getenv("OLLAMA_MODELS"); d != "" {
		return []string{d}
	}
	var dirs []string
	if home := getenv("HOME"); home != "" {
		dirs = append(dirs, filepath.Join(home, ".ollama", "models"))
	}
	return append(dirs, filepath.Join("/usr", "share", "ollama", ".ollama", "models"))
}

// OllamaDir returns the first of OllamaDirs(getenv) that holds a manifests
// directory, or the first of them when none does (so that errors name the
// place a user would expect).
func OllamaDir(getenv func(string) string) string {
	dirs := OllamaDirs(getenv)
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, "manifests")); err == nil && st.IsDir() {
			return d
		}
	}
	return dirs[0]
}

// OllamaModel describes a model of an ollama store.
type OllamaModel struct {
	Ref    OllamaRef
	Name   string // Ref.String()
	Blob   string // path of the model layer's blob, a GGUF file
	Digest string // the model layer's digest, "sha256:<hex>"
	Size   int64  // bytes of the model layer
	// Projectors counts the multimodal projector layers, which an import
	// leaves out (the text model works without them).
	Projectors int
	// Err is set, by ListOllama only, for a manifest this package cannot
	// import; the fields above are then only partly filled.
	Err error
}

// ollamaLayer is a config or layer entry of an ollama manifest.
type ollamaLayer struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// ollamaManifest is the JSON manifest of one model name.
type ollamaManifest struct {
	SchemaVersion int           `json:"schemaVersion"`
	MediaType     string        `json:"mediaType"`
	Config        ollamaLayer   `json:"config"`
	Layers        []ollamaLayer `json:"layers"`
}

// ollamaParsed is what an import needs from a manifest.
type ollamaParsed struct {
	Model      ollamaLayer
	Projectors int
}

// parseOllamaManifest decodes a manifest and picks its model layer. Layers
// of other types (template, params, license, system, messages) are
// ignored; adapter layers and more than one model layer are errors.
func parseOllamaManifest(b []byte) (ollamaParsed, error) {
	var p ollamaParsed
	if len(b) > maxOllamaManifest {
		return p, fmt.Errorf("%w: %d bytes, at most %d", ErrOllamaManifest, len(b), maxOllamaManifest)
	}
	var m ollamaManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return p, fmt.Errorf("%w: %w", ErrOllamaManifest, err)
	}
	if m.SchemaVersion != 2 {
		return p, fmt.Errorf("%w: schema version %d, want 2", ErrOllamaManifest, m.SchemaVersion)
	}
	models := 0
	for i, l := range m.Layers {
		switch l.MediaType {
		case ollamaMediaModel:
			if err := checkOllamaLayer(l); err != nil {
				return p, fmt.Errorf("%w: layer %d: %w", ErrOllamaManifest, i, err)
			}
			models++
			p.Model = l
		case ollamaMediaAdapter:
			return p, fmt.Errorf("%w: it has a LoRA adapter layer (%s); import the base model, or merge the adapter into a GGUF first", ErrOllamaUnsupported, l.Digest)
		case ollamaMediaProjector:
			p.Projectors++
		}
	}
	switch {
	case models == 0:
		return p, fmt.Errorf("%w: no layer of type %s", ErrOllamaManifest, ollamaMediaModel)
	case models > 1:
		return p, fmt.Errorf("%w: %d model layers, want one", ErrOllamaUnsupported, models)
	}
	return p, nil
}

// checkOllamaLayer checks a layer's digest ("sha256:" and 64 lower-case
// hex digits, so it is safe as a file name) and size.
func checkOllamaLayer(l ollamaLayer) error {
	h, ok := strings.CutPrefix(l.Digest, "sha256:")
	if !ok || len(h) != 2*sha256.Size || strings.ToLower(h) != h {
		return fmt.Errorf("digest %q is not sha256:<64 hex digits>", l.Digest)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("digest %q: %w", l.Digest, err)
	}
	if l.Size < 0 {
		return fmt.Errorf("size %d is negative", l.Size)
	}
	return nil
}

// readOllamaManifest reads and parses the manifest at path, reading at
// most maxOllamaManifest+1 bytes.
func readOllamaManifest(path string) (ollamaParsed, error) {
	f, err := os.Open(path)
	if err != nil {
		return ollamaParsed{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxOllamaManifest+1))
	if err != nil {
		return ollamaParsed{}, fmt.Errorf("weights: reading %s: %w", path, err)
	}
	return parseOllamaManifest(b)
}

// ollamaBlobPath returns the blob file of digest under root: blobs/sha256-<hex>,
// or blobs/sha256:<hex> as older ollama versions named it.
func ollamaBlobPath(root, digest string) (string, os.FileInfo, error) {
	h := strings.TrimPrefix(digest, "sha256:")
	var first error
	for _, name := range []string{"sha256-" + h, "sha256:" + h} {
		p := filepath.Join(root, "blobs", name)
		st, err := os.Stat(p)
		if err == nil {
			if !st.Mode().IsRegular() {
				return "", nil, fmt.Errorf("%w: blob %s is not a regular file", ErrOllamaBlob, p)
			}
			return p, st, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("weights: ollama blob: %w", err)
		}
		if first == nil {
			first = err
		}
	}
	return "", nil, fmt.Errorf("%w: blob %s (%s): %w", ErrOllamaNotFound, digest, filepath.Join(root, "blobs"), first)
}

// OpenOllama finds the model ref in the ollama store at root and returns
// the path of its GGUF blob and a description. It checks the manifest and
// that the blob exists with the manifest's size; it does not hash the blob
// (ImportOllama does, before it writes anything).
func OpenOllama(root string, ref OllamaRef) (string, OllamaModel, error) {
	info := OllamaModel{Ref: ref, Name: ref.String()}
	if err := ref.Validate(); err != nil {
		return "", info, err
	}
	if err := checkOllamaRoot(root); err != nil {
		return "", info, err
	}
	path := ref.manifestPath(root)
	p, err := readOllamaManifest(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", info, fmt.Errorf("%w: no model %s in %s (%s)", ErrOllamaNotFound, info.Name, root, ollamaTagsHint(root, ref))
	}
	if err != nil {
		return "", info, fmt.Errorf("ollama model %s: %w (manifest %s)", info.Name, err, path)
	}
	info.Digest, info.Size, info.Projectors = p.Model.Digest, p.Model.Size, p.Projectors
	blob, st, err := ollamaBlobPath(root, p.Model.Digest)
	if err != nil {
		return "", info, fmt.Errorf("ollama model %s: %w", info.Name, err)
	}
	info.Blob = blob
	if st.Size() != p.Model.Size {
		return "", info, fmt.Errorf("%w: ollama model %s: blob %s is %d bytes, the manifest says %d (partial download?)",
			ErrOllamaBlob, info.Name, blob, st.Size(), p.Model.Size)
	}
	return blob, info, nil
}

// checkOllamaRoot checks that root has a manifests directory.
func checkOllamaRoot(root string) error {
	st, err := os.Stat(filepath.Join(root, "manifests"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: no ollama store at %s (no manifests directory in it)", ErrOllamaNotFound, root)
	case err != nil:
		return fmt.Errorf("weights: ollama store %s: %w", root, err)
	case !st.IsDir():
		return fmt.Errorf("%w: no ollama store at %s (its manifests is not a directory)", ErrOllamaNotFound, root)
	}
	return nil
}

// ollamaTagsHint lists the tags installed for ref's model, as a phrase for
// a "not found" error.
func ollamaTagsHint(root string, ref OllamaRef) string {
	ents, err := os.ReadDir(filepath.Dir(ref.manifestPath(root)))
	if err != nil {
		return "no tag of " + ref.Model + " is installed"
	}
	var tags []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			tags = append(tags, e.Name())
		}
	}
	if len(tags) == 0 {
		return "no tag of " + ref.Model + " is installed"
	}
	sort.Strings(tags)
	return fmt.Sprintf("installed tags of %s: %s", ref.Model, strings.Join(tags, ", "))
}

// ListOllama enumerates the models of the ollama store at root, sorted by
// name. A model whose manifest or blob is unusable is listed with Err set;
// entries that are not valid names are skipped. A missing store is an error
// wrapping ErrOllamaNotFound.
func ListOllama(root string) ([]OllamaModel, error) {
	if err := checkOllamaRoot(root); err != nil {
		return nil, err
	}
	mdir := filepath.Join(root, "manifests")
	// manifests/<host>/<namespace>/<model>/<tag>: exactly four levels.
	var out []OllamaModel
	var walk func(dir string, parts []string) error
	walk = func(dir string, parts []string) error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("weights: listing ollama store: %w", err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := append(parts[:len(parts):len(parts)], e.Name())
			if len(p) < 4 {
				if e.IsDir() {
					if err := walk(filepath.Join(dir, e.Name()), p); err != nil {
						return err
					}
				}
				continue
			}
			if !e.Type().IsRegular() {
				continue
			}
			ref := OllamaRef{Host: p[0], Namespace: p[1], Model: p[2], Tag: p[3]}
			if ref.Validate() != nil {
				continue
			}
			_, m, err := OpenOllama(root, ref)
			m.Err = err
			out = append(out, m)
		}
		return nil
	}
	if err := walk(mdir, nil); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// OllamaImportOptions tune Store.ImportOllama.
type OllamaImportOptions struct {
	// ImportOptions of the GGUF import. An empty Name makes the ollama
	// name (OllamaRef.String, e.g. "llama3.2:1b") the model's alias.
	ImportOptions
	// HashProgress, if set, is called as the blob is hashed against its
	// digest, before the import proper starts.
	HashProgress func(Progress)
}

// ImportOllama imports the model ref of the ollama store at root: it finds
// its GGUF blob (OpenOllama), hashes it against the manifest's digest, and
// imports it with Store.Import. The blob is hashed before anything is
// written, so a corrupt blob (an *OllamaDigestError) leaves the store as it
// was. The root CID equals that of importing the same GGUF file directly.
func (s *Store) ImportOllama(ctx context.Context, root string, ref OllamaRef, opt OllamaImportOptions) (cid.Cid, error) {
	blob, info, err := OpenOllama(root, ref)
	if err != nil {
		return cid.Undef, err
	}
	if info.Projectors > 0 {
		s.log.Warn("weights: ollama model has a multimodal projector; importing the text model without it", "model", info.Name, "projectors", info.Projectors)
	}
	start := time.Now()
	if err := hashOllamaBlob(ctx, blob, info.Digest, info.Size, opt.HashProgress); err != nil {
		return cid.Undef, fmt.Errorf("ollama model %s: %w", info.Name, err)
	}
	s.log.Debug("weights: ollama blob verified", "model", info.Name, "blob", blob, "bytes", info.Size, "took", time.Since(start))
	f, err := gguf.Open(blob)
	if err != nil {
		return cid.Undef, fmt.Errorf("ollama model %s: %w", info.Name, err)
	}
	defer f.Close()
	if int64(len(f.Bytes())) != info.Size {
		return cid.Undef, fmt.Errorf("%w: ollama model %s: blob %s changed while being imported", ErrOllamaBlob, info.Name, blob)
	}
	if opt.Name == "" {
		opt.Name = info.Name
	}
	return s.Import(ctx, f, opt.ImportOptions)
}

// hashOllamaBlob streams the file at path through sha256 and compares the
// sum with digest ("sha256:<hex>"); a mismatch is an *OllamaDigestError.
// It stops early when ctx is done.
func hashOllamaBlob(ctx context.Context, path, digest string, size int64, progress func(Progress)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("weights: ollama blob: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	m := newMeter(progress, size, 0)
	buf := make([]byte, 4<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := f.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			m.add(int64(k))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("weights: reading ollama blob %s: %w", path, err)
		}
	}
	m.finish()
	if n != size {
		return fmt.Errorf("%w: blob %s is %d bytes, the manifest says %d", ErrOllamaBlob, path, n, size)
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if got != digest {
		return &OllamaDigestError{Path: path, Want: digest, Got: got}
	}
	return nil
}
