package weights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/dustin/go-humanize"
	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/internal/atomicfile"
	"github.com/orbitswarm/orbit/internal/filelock"
	"github.com/orbitswarm/orbit/internal/platform"
	"github.com/orbitswarm/orbit/sharding"
)

// ErrNoSpace is wrapped by errors about a data directory too full for an
// operation.
var ErrNoSpace = errors.New("weights: not enough disk space")

// ErrUnknownModel is wrapped by errors about names that are neither an
// alias nor a CID.
var ErrUnknownModel = errors.New("weights: unknown model")

// spaceMargin is kept free on the data directory's file system.
const spaceMargin = 64 << 20

// Store is a node's weight store: a blockstore, model aliases and span
// caches under one data directory. Its methods may be called concurrently;
// several processes may share a data directory (GC excludes the others).
type Store struct {
	dir    string
	blocks *blockstore
	log    *slog.Logger
	// freeSpace reports the free bytes of the file system holding dir.
	freeSpace func(dir string) (uint64, error)

	aliasMu sync.Mutex

	corruptMu sync.Mutex
	onCorrupt map[int]func(cid.Cid)
	nextHook  int
}

// Open opens (creating if needed) the store in dir. A nil logger uses
// slog.Default().
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	for _, d := range []string{dir, filepath.Join(dir, "spans")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("weights: %w", err)
		}
	}
	b, err := openBlockstore(filepath.Join(dir, "blocks"))
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, blocks: b, log: log, freeSpace: statfsFree}, nil
}

// Dir is the store's data directory.
func (s *Store) Dir() string { return s.dir }

func statfsFree(dir string) (uint64, error) {
	free, err := platform.DiskFree(dir)
	if err != nil {
		return 0, fmt.Errorf("weights: %w", err)
	}
	return free, nil
}

// checkSpace fails with ErrNoSpace when need bytes (plus a margin) do not
// fit on the data directory's file system.
func (s *Store) checkSpace(need uint64, what string) error {
	if need == 0 {
		return nil
	}
	free, err := s.freeSpace(s.dir)
	if err != nil {
		return err
	}
	if need+spaceMargin > free {
		return fmt.Errorf("%w: %s needs %s (+%s margin) in %s, only %s free", ErrNoSpace, what,
			humanize.IBytes(need), humanize.IBytes(spaceMargin), s.dir, humanize.IBytes(free))
	}
	return nil
}

// lock takes a flock on the data directory's lock file: exclusive for GC,
// shared for operations that add blocks. It waits until ctx ends.
func (s *Store) lock(ctx context.Context, name string, exclusive bool) (func(), error) {
	l, err := filelock.Wait(ctx, filepath.Join(s.dir, name), exclusive, 0o644)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("weights: lock %s: %w", name, err)
	}
	return func() { _ = l.Unlock() }, nil
}

// GetBlock returns the verified bytes of block c. A missing block is an
// error wrapping ErrNotFound, a damaged one a *CorruptError. Whoever finds
// a block damaged (serving it to a peer, assembling a span, Verify), the
// store removes it, so that it is neither served nor counted as stored
// (a fetch or an import of the file puts it back), and tells the
// OnCorrupt hooks.
func (s *Store) GetBlock(ctx context.Context, c cid.Cid) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := s.blocks.get(c)
	var ce *CorruptError
	if errors.As(err, &ce) {
		s.log.Warn("weights: a stored block is corrupt; removed it", "cid", c)
		if rerr := s.blocks.remove(c); rerr != nil {
			s.log.Warn("weights: removing a corrupt block", "cid", c, "err", rerr)
		}
		s.corruptMu.Lock()
		hooks := make([]func(cid.Cid), 0, len(s.onCorrupt))
		for _, h := range s.onCorrupt {
			hooks = append(hooks, h)
		}
		s.corruptMu.Unlock()
		for _, h := range hooks {
			h(c)
		}
	}
	return b, err
}

// OnCorrupt calls fn (which must not block) with every block found
// corrupt, once removed; the returned function stops it.
func (s *Store) OnCorrupt(fn func(cid.Cid)) (stop func()) {
	s.corruptMu.Lock()
	defer s.corruptMu.Unlock()
	if s.onCorrupt == nil {
		s.onCorrupt = map[int]func(cid.Cid){}
	}
	id := s.nextHook
	s.nextHook++
	s.onCorrupt[id] = fn
	return func() {
		s.corruptMu.Lock()
		defer s.corruptMu.Unlock()
		delete(s.onCorrupt, id)
	}
}

// PutBlock stores data as block c after checking it hashes to c.
func (s *Store) PutBlock(ctx context.Context, c cid.Cid, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.blocks.put(c, data)
}

// HasBlock reports whether block c is stored (without re-hashing it).
func (s *Store) HasBlock(c cid.Cid) bool {
	ok, _, err := s.blocks.has(c)
	return ok && err == nil
}

// Manifest reads the root manifest root.
func (s *Store) Manifest(ctx context.Context, root cid.Cid) (*Manifest, error) {
	b, err := s.GetBlock(ctx, root)
	if err != nil {
		return nil, err
	}
	m, err := DecodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	return m, nil
}

// Layer reads the layer manifest c.
func (s *Store) Layer(ctx context.Context, c cid.Cid) (*LayerManifest, error) {
	b, err := s.GetBlock(ctx, c)
	if err != nil {
		return nil, err
	}
	l, err := DecodeLayer(b)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", c, err)
	}
	return l, nil
}

// layers reads the layer manifests of span, checking their indexes.
func (s *Store) layers(ctx context.Context, m *Manifest, span sharding.Span) ([]*LayerManifest, error) {
	out := make([]*LayerManifest, 0, span.Len())
	for i := span.Start; i < span.End; i++ {
		ref := m.Layers[i]
		l, err := s.Layer(ctx, ref.CID)
		if err != nil {
			return nil, fmt.Errorf("weights: block %d: %w", i, err)
		}
		if l.Index != i || l.ChunkSize != m.ChunkSize {
			return nil, fmt.Errorf("%w: layer %s has index %d chunk size %d, want %d and %d", ErrManifest, ref.CID, l.Index, l.ChunkSize, i, m.ChunkSize)
		}
		out = append(out, l)
	}
	return out, nil
}

// Metadata reassembles a model's GGUF metadata from its chunks.
func (s *Store) Metadata(ctx context.Context, m *Manifest) ([]gguf.KV, error) {
	buf := make([]byte, 0, m.MetadataSize)
	for _, c := range m.MetadataChunks {
		b, err := s.GetBlock(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("weights: metadata: %w", err)
		}
		buf = append(buf, b...)
	}
	if uint64(len(buf)) != m.MetadataSize {
		return nil, fmt.Errorf("%w: metadata is %d bytes, manifest says %d", ErrManifest, len(buf), m.MetadataSize)
	}
	return DecodeMetadata(buf)
}

func checkSpan(m *Manifest, span sharding.Span) error {
	if span.Start < 0 || span.End > len(m.Layers) || span.Start > span.End {
		return fmt.Errorf("weights: span %v outside the model's %d blocks", span, len(m.Layers))
	}
	return nil
}

// Role names of non-block tensors.
const (
	tensorEmbed   = "token_embd.weight"
	tensorOutNorm = "output_norm.weight"
	tensorOutput  = "output.weight"
)

// neededTensors returns the non-block tensors a span needs: the embedding
// when embed (or when head and the output is tied to it), output_norm and
// output when head, and every other non-block tensor (rope factors...).
func neededTensors(m *Manifest, embed, head bool) []Tensor {
	tied := true
	for i := range m.Tensors {
		if m.Tensors[i].Name == tensorOutput {
			tied = false
		}
	}
	var out []Tensor
	for _, t := range m.Tensors {
		switch t.Name {
		case tensorEmbed:
			if !embed && !(head && tied) {
				continue
			}
		case tensorOutNorm, tensorOutput:
			if !head {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// writeGGUF writes the GGUF holding kvs and the tensors ts (ordered as in
// order), streaming each tensor's verified chunks from the store.
func (s *Store) ggufWriter(ctx context.Context, m *Manifest, kvs []gguf.KV, ts []Tensor) *gguf.Writer {
	w := gguf.NewWriter()
	w.Version = m.GGUFVersion
	w.Alignment = m.Alignment
	for _, kv := range kvs {
		w.Set(kv.Key, kv.Value)
	}
	pos := make(map[string]int, len(m.TensorOrder))
	for i, n := range m.TensorOrder {
		pos[n] = i
	}
	sorted := append([]Tensor(nil), ts...)
	sort.SliceStable(sorted, func(a, b int) bool { return pos[sorted[a].Name] < pos[sorted[b].Name] })
	for i := range sorted {
		t := sorted[i]
		w.AddTensorFunc(t.Name, t.Type, t.Dims, func(out io.Writer) error {
			for ci, c := range t.Chunks {
				b, err := s.GetBlock(ctx, c)
				if err != nil {
					return err
				}
				if len(b) != t.ChunkLen(ci, m.ChunkSize) {
					return fmt.Errorf("%w: chunk %d of %q is %d bytes, want %d", ErrManifest, ci, t.Name, len(b), t.ChunkLen(ci, m.ChunkSize))
				}
				if _, err := out.Write(b); err != nil {
					return err
				}
			}
			return nil
		}, t.Size)
	}
	return w
}

// allTensors returns every tensor of the model: non-block ones and those of
// every layer (all layer manifests must be local).
func (s *Store) allTensors(ctx context.Context, m *Manifest) ([]Tensor, error) {
	ls, err := s.layers(ctx, m, sharding.Span{Start: 0, End: len(m.Layers)})
	if err != nil {
		return nil, err
	}
	ts := append([]Tensor(nil), m.Tensors...)
	for _, l := range ls {
		ts = append(ts, l.Tensors...)
	}
	if len(ts) != len(m.TensorOrder) {
		return nil, fmt.Errorf("%w: %d tensors, tensor order names %d", ErrManifest, len(ts), len(m.TensorOrder))
	}
	return ts, nil
}

// Export writes the model root as a GGUF file to out. Exporting an imported
// file gives back the same bytes; a model imported from split files is
// written merged into one file (ExportFiles writes its parts). Every chunk
// is verified on the way.
func (s *Store) Export(ctx context.Context, root cid.Cid, out io.Writer) (int64, error) {
	m, err := s.Manifest(ctx, root)
	if err != nil {
		return 0, err
	}
	kvs, err := s.Metadata(ctx, m)
	if err != nil {
		return 0, err
	}
	if m.Split != nil {
		kvs = modelKV(kvs)
	}
	ts, err := s.allTensors(ctx, m)
	if err != nil {
		return 0, err
	}
	n, err := s.ggufWriter(ctx, m, kvs, ts).WriteTo(out)
	if err != nil {
		return n, fmt.Errorf("weights: export %s: %w", root, err)
	}
	if m.TailPadding > 0 {
		k, err := out.Write(make([]byte, m.TailPadding))
		n += int64(k)
		if err != nil {
			return n, fmt.Errorf("weights: export %s: %w", root, err)
		}
	}
	return n, nil
}

// ExportFile exports root to path atomically (temporary file, sync, rename);
// a split model is exported as its parts, named after path (see
// ExportFiles).
func (s *Store) ExportFile(ctx context.Context, root cid.Cid, path string) error {
	_, err := s.ExportFiles(ctx, root, path)
	return err
}

// writeFileAtomic writes path (mode 0600, the store's) through write,
// atomically.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o600, write); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	return nil
}

// SpanPath is where OpenSpan caches the GGUF of a span.
func (s *Store) SpanPath(root cid.Cid, span sharding.Span, withEmbed, withHead bool) string {
	name := fmt.Sprintf("%s-%d-%d", root, span.Start, span.End)
	if withEmbed {
		name += "-embed"
	}
	if withHead {
		name += "-head"
	}
	return filepath.Join(s.dir, "spans", name+".gguf")
}

// OpenSpan returns a memory-mapped GGUF holding the model's metadata and
// only the tensors of span (plus the embedding and head tensors if asked),
// ready for engine.Load(f, engine.Options{Blocks: span, ...}). The file is
// assembled once from verified chunks, written atomically into the data
// directory with the sha2-256 of its bytes beside it, and reused
// afterwards while it still hashes to that digest (else it is assembled
// anew). The caller closes the file.
func (s *Store) OpenSpan(ctx context.Context, root cid.Cid, span sharding.Span, withEmbed, withHead bool) (*gguf.File, error) {
	path := s.SpanPath(root, span, withEmbed, withHead)
	if f, err := openSpanCache(path); err == nil {
		return f, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("weights: span cache unreadable or damaged, rebuilding it from verified chunks", "path", path, "err", err)
	}
	m, err := s.Manifest(ctx, root)
	if err != nil {
		return nil, err
	}
	if err := checkSpan(m, span); err != nil {
		return nil, err
	}
	kvs, err := s.Metadata(ctx, m)
	if err != nil {
		return nil, err
	}
	kvs = modelKV(kvs) // a span file is one file, never a part
	ls, err := s.layers(ctx, m, span)
	if err != nil {
		return nil, err
	}
	ts := neededTensors(m, withEmbed, withHead)
	var need uint64
	for _, l := range ls {
		ts = append(ts, l.Tensors...)
	}
	for i := range ts {
		need += ts[i].Size
	}
	if err := s.checkSpace(need, "span file"); err != nil {
		return nil, err
	}
	start := time.Now()
	w := s.ggufWriter(ctx, m, kvs, ts)
	sum := sha256.New()
	if err := writeFileAtomic(path, func(out io.Writer) error { _, err := w.WriteTo(io.MultiWriter(out, sum)); return err }); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path+spanSumSuffix, func(out io.Writer) error {
		_, err := fmt.Fprintf(out, "%x\n", sum.Sum(nil))
		return err
	}); err != nil {
		return nil, err
	}
	s.log.Debug("weights: assembled span", "root", root, "span", span, "embed", withEmbed, "head", withHead, "bytes", need, "took", time.Since(start))
	return gguf.Open(path)
}

// spanSumSuffix names the file next to a span file that holds the
// sha2-256 (in hex) of the span file's bytes as they were assembled from
// verified chunks.
const spanSumSuffix = ".sha256"

// errSpanCache is wrapped by errors about a cached span file whose bytes
// no longer match the digest written when it was assembled.
var errSpanCache = errors.New("weights: span file does not match its digest")

// openSpanCache opens the span file at path if it still hashes to the
// digest recorded when it was assembled, so that a cached span, like a
// block, is never used once its bytes have changed. A span file without
// its digest (a crash between the two writes) fails with fs.ErrNotExist.
func openSpanCache(path string) (*gguf.File, error) {
	want, err := os.ReadFile(path + spanSumSuffix)
	if err != nil {
		return nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256(f.Bytes())
	if strings.TrimSpace(string(want)) != hex.EncodeToString(got[:]) {
		f.Close()
		return nil, fmt.Errorf("%w: %s", errSpanCache, path)
	}
	return f, nil
}

// blockIndex returns N for a tensor named "blk.N.<...>".
func blockIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok || num == "" || len(num) > 6 {
		return 0, false
	}
	for _, r := range num {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// aliases ----------------------------------------------------------------

const aliasFile = "models.json"

func (s *Store) readAliases() (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, aliasFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("weights: %s: %w", aliasFile, err)
	}
	return m, nil
}

// CheckName reports whether name can be a model alias.
func CheckName(name string) error {
	if name == "" || len(name) > 200 {
		return fmt.Errorf("weights: model name %q must be 1 to 200 bytes", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("weights: model name %q holds a control or invalid character", name)
		}
	}
	return nil
}

func (s *Store) editAliases(ctx context.Context, edit func(map[string]string)) error {
	s.aliasMu.Lock()
	defer s.aliasMu.Unlock()
	unlock, err := s.lock(ctx, "models.lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.readAliases()
	if err != nil {
		return err
	}
	edit(m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	return writeFileAtomic(filepath.Join(s.dir, aliasFile), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// SetAlias names the model root; a named model is kept by GC.
func (s *Store) SetAlias(ctx context.Context, name string, root cid.Cid) error {
	if err := CheckName(name); err != nil {
		return err
	}
	return s.editAliases(ctx, func(m map[string]string) { m[name] = root.String() })
}

// RemoveAlias forgets a name; GC then removes the model's blocks unless
// another name refers to it.
func (s *Store) RemoveAlias(ctx context.Context, name string) error {
	found := false
	err := s.editAliases(ctx, func(m map[string]string) { _, found = m[name]; delete(m, name) })
	if err == nil && !found {
		return fmt.Errorf("%w: %q", ErrUnknownModel, name)
	}
	return err
}

// Resolve returns the root CID named by an alias or written as a CID.
func (s *Store) Resolve(nameOrCID string) (cid.Cid, error) {
	m, err := s.readAliases()
	if err != nil {
		return cid.Undef, err
	}
	if v, ok := m[nameOrCID]; ok {
		c, err := cid.Decode(v)
		if err != nil {
			return cid.Undef, fmt.Errorf("weights: alias %q: %w", nameOrCID, err)
		}
		return c, nil
	}
	c, err := cid.Decode(nameOrCID)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %q is neither a model name nor a CID", ErrUnknownModel, nameOrCID)
	}
	if err := CheckCID(c); err != nil {
		return cid.Undef, err
	}
	return c, nil
}

// ModelInfo describes a named model in the store.
type ModelInfo struct {
	Name         string
	Root         cid.Cid
	Architecture string
	Bytes        uint64 // tensor bytes of the whole model
	Layers       int
	// LocalBlocks[i] is true when block i's manifest and chunks are all
	// stored. Embed and Head likewise for the non-block tensors.
	LocalBlocks []bool
	Embed, Head bool
	HaveRoot    bool // false when only the name is known
}

// Complete reports whether every part of the model is stored.
func (mi *ModelInfo) Complete() bool {
	if !mi.HaveRoot || !mi.Embed || !mi.Head {
		return false
	}
	for _, ok := range mi.LocalBlocks {
		if !ok {
			return false
		}
	}
	return true
}

// Models lists the named models, sorted by name. Presence is checked by
// file existence; Verify re-hashes.
func (s *Store) Models(ctx context.Context) ([]ModelInfo, error) {
	aliases, err := s.readAliases()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(aliases))
	for n := range aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []ModelInfo
	for _, n := range names {
		root, err := cid.Decode(aliases[n])
		if err != nil {
			return nil, fmt.Errorf("weights: alias %q: %w", n, err)
		}
		mi := ModelInfo{Name: n, Root: root}
		m, err := s.Manifest(ctx, root)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				out = append(out, mi)
				continue
			}
			return nil, err
		}
		mi.HaveRoot = true
		mi.Architecture = m.Architecture
		mi.Bytes = m.TotalBytes
		mi.Layers = len(m.Layers)
		mi.LocalBlocks = make([]bool, len(m.Layers))
		for i, ref := range m.Layers {
			l, err := s.Layer(ctx, ref.CID)
			mi.LocalBlocks[i] = err == nil && s.hasAll(l.Tensors)
		}
		mi.Embed = s.hasAll(neededTensors(m, true, false))
		mi.Head = s.hasAll(neededTensors(m, false, true))
		out = append(out, mi)
	}
	return out, nil
}

func (s *Store) hasAll(ts []Tensor) bool {
	for i := range ts {
		for _, c := range ts[i].Chunks {
			if !s.HasBlock(c) {
				return false
			}
		}
	}
	return true
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Blocks  int       // blocks re-hashed and found good
	Bytes   int64     // bytes re-hashed
	Missing []cid.Cid // referenced blocks not stored (normal for a partial model)
	Corrupt []cid.Cid // blocks whose bytes did not match; they were removed
}

// Verify re-hashes every stored block of model root. Corrupt blocks are
// removed (so a fetch can replace them) and reported: the error then joins
// a *CorruptError per block. Missing blocks are listed, not errors.
func (s *Store) Verify(ctx context.Context, root cid.Cid) (VerifyReport, error) {
	var rep VerifyReport
	var errs []error
	check := func(c cid.Cid) []byte {
		b, err := s.GetBlock(ctx, c)
		var ce *CorruptError
		switch {
		case err == nil:
			rep.Blocks++
			rep.Bytes += int64(len(b))
			return b
		case errors.Is(err, ErrNotFound):
			rep.Missing = append(rep.Missing, c)
		case errors.As(err, &ce):
			rep.Corrupt = append(rep.Corrupt, c)
			errs = append(errs, err)
			if rerr := s.blocks.remove(c); rerr != nil {
				errs = append(errs, rerr)
			}
		default:
			errs = append(errs, err)
		}
		return nil
	}
	rb := check(root)
	if rb == nil {
		if len(rep.Missing) > 0 {
			return rep, fmt.Errorf("%w: root %s", ErrNotFound, root)
		}
		return rep, errors.Join(errs...)
	}
	m, err := DecodeManifest(rb)
	if err != nil {
		return rep, err
	}
	for _, c := range m.MetadataChunks {
		check(c)
	}
	tensors := append([]Tensor(nil), m.Tensors...)
	for _, ref := range m.Layers {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		lb := check(ref.CID)
		if lb == nil {
			continue
		}
		l, err := DecodeLayer(lb)
		if err != nil {
			errs = append(errs, fmt.Errorf("layer %d: %w", ref.Index, err))
			continue
		}
		tensors = append(tensors, l.Tensors...)
	}
	seen := map[cid.Cid]bool{}
	for i := range tensors {
		for _, c := range tensors[i].Chunks {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if !seen[c] {
				seen[c] = true
				check(c)
			}
		}
	}
	return rep, errors.Join(errs...)
}

// liveSet returns the blocks the named models reference (their root and
// layer manifests, metadata and tensor chunks) and the named roots.
func (s *Store) liveSet(ctx context.Context) (map[cid.Cid]bool, map[string]bool, error) {
	aliases, err := s.readAliases()
	if err != nil {
		return nil, nil, err
	}
	live := map[cid.Cid]bool{}
	roots := map[string]bool{}
	for _, v := range aliases {
		root, err := cid.Decode(v)
		if err != nil {
			continue
		}
		roots[root.String()] = true
		live[root] = true
		m, err := s.Manifest(ctx, root)
		if err != nil {
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
				continue
			}
			return nil, nil, err
		}
		for _, c := range m.MetadataChunks {
			live[c] = true
		}
		ts := append([]Tensor(nil), m.Tensors...)
		for _, ref := range m.Layers {
			live[ref.CID] = true
			if l, err := s.Layer(ctx, ref.CID); err == nil {
				ts = append(ts, l.Tensors...)
			}
		}
		for i := range ts {
			for _, c := range ts[i].Chunks {
				live[c] = true
			}
		}
	}
	return live, roots, nil
}

// OrphanReport counts the blocks no named model references.
type OrphanReport struct {
	Blocks int
	Bytes  int64
}

// Orphans counts the blocks no named model references: what an import or
// fetch stopped midway (or running now) left, which GC removes and which
// an import of the same file reuses.
func (s *Store) Orphans(ctx context.Context) (OrphanReport, error) {
	var rep OrphanReport
	live, _, err := s.liveSet(ctx)
	if err != nil {
		return rep, err
	}
	err = s.blocks.each(ctx, func(c cid.Cid, size int64) error {
		if !live[c] {
			rep.Blocks++
			rep.Bytes += size
		}
		return nil
	})
	return rep, err
}

// GCReport is the outcome of GC.
type GCReport struct {
	Removed int   // blocks removed
	Freed   int64 // bytes freed (blocks and span files)
	Kept    int   // blocks kept
}

// GC removes every block no named model references, and span files of
// models no longer named. It excludes imports and fetches (of any process
// on the same data directory) while it runs.
func (s *Store) GC(ctx context.Context) (GCReport, error) {
	var rep GCReport
	unlock, err := s.lock(ctx, "gc.lock", true)
	if err != nil {
		return rep, err
	}
	defer unlock()
	live, roots, err := s.liveSet(ctx)
	if err != nil {
		return rep, err
	}
	err = s.blocks.each(ctx, func(c cid.Cid, size int64) error {
		if live[c] {
			rep.Kept++
			return nil
		}
		if err := s.blocks.remove(c); err != nil {
			return err
		}
		rep.Removed++
		rep.Freed += size
		return nil
	})
	if err != nil {
		return rep, err
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, "spans"))
	if err != nil {
		return rep, fmt.Errorf("weights: %w", err)
	}
	for _, e := range ents {
		root, _, _ := strings.Cut(e.Name(), "-")
		if roots[root] {
			continue
		}
		if info, err := e.Info(); err == nil {
			rep.Freed += info.Size()
		}
		_ = os.Remove(filepath.Join(s.dir, "spans", e.Name()))
	}
	return rep, nil
}
