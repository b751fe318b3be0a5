package weights

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"golang.org/x/sync/errgroup"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// Progress reports how far an import or fetch has come.
type Progress struct {
	Done, Total int64         // bytes
	Elapsed     time.Duration // since the operation started
	// Rate is the bytes per second moved by this operation (bytes already
	// stored before it started do not count).
	Rate float64
}

// ETA estimates the time left at the current rate (0 when unknown).
func (p Progress) ETA() time.Duration {
	if p.Rate <= 0 || p.Done >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second))
}

// meter turns byte counts into throttled Progress callbacks.
type meter struct {
	fn    func(Progress)
	start time.Time
	total int64
	base  int64 // bytes present before the operation
	done  atomic.Int64

	mu   sync.Mutex
	last time.Time
}

func newMeter(fn func(Progress), total, base int64) *meter {
	m := &meter{fn: fn, start: time.Now(), total: total, base: base}
	m.done.Store(base)
	return m
}

func (m *meter) add(n int64) {
	d := m.done.Add(n)
	if m.fn == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if now := time.Now(); now.Sub(m.last) >= 100*time.Millisecond || d == m.total {
		m.last = now
		m.fn(m.progress(d, now))
	}
}

func (m *meter) progress(d int64, now time.Time) Progress {
	el := now.Sub(m.start)
	p := Progress{Done: d, Total: m.total, Elapsed: el}
	if el > 0 {
		p.Rate = float64(d-m.base) / el.Seconds()
	}
	return p
}

func (m *meter) finish() {
	if m.fn == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fn(m.progress(m.done.Load(), time.Now()))
}

// ImportOptions tune Import.
type ImportOptions struct {
	// Name is the alias to give the model; "" uses general.name, or the
	// root CID when the file has no name.
	Name string
	// Progress, if set, is called as chunks are stored.
	Progress func(Progress)
}

// Import stores the model held by f (any *gguf.File: opened, parsed, or
// converted from another format) and returns its root CID. The same file
// gives the same CID on every machine.
func (s *Store) Import(ctx context.Context, f *gguf.File, opt ImportOptions) (cid.Cid, error) {
	unlock, err := s.lock(ctx, "gc.lock", false)
	if err != nil {
		return cid.Undef, err
	}
	defer unlock()

	m, blocks, exact, err := describe(f)
	if err != nil {
		return cid.Undef, err
	}
	if !exact {
		s.log.Warn("weights: the file's tensors are not packed in order; export will rebuild it packed, not byte for byte")
	}
	if err := s.checkSpace(m.TotalBytes, "import"); err != nil {
		return cid.Undef, err
	}
	// Cut, hash and store every tensor's chunks on all cores; the first
	// error stops the rest.
	tensors := make([]Tensor, len(f.Tensors))
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		t := Tensor{Name: ti.Name, Type: ti.Type, Dims: append([]uint64(nil), ti.Dims...), Offset: ti.Offset, Size: ti.Size}
		t.Chunks = make([]cid.Cid, ceilDiv(ti.Size, ChunkSize))
		tensors[i] = t
	}
	meter := newMeter(opt.Progress, int64(m.TotalBytes), 0)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(4, runtime.GOMAXPROCS(0))) // chunk writes wait on fsync, so more than the cores
send:
	for i := range f.Tensors {
		data := f.TensorData(&f.Tensors[i])
		for ci := range tensors[i].Chunks {
			if gctx.Err() != nil {
				break send
			}
			chunk := data[ci*ChunkSize : min((ci+1)*ChunkSize, len(data))]
			g.Go(func() error {
				c := SumCID(chunk)
				if err := s.blocks.putVerified(c, chunk); err != nil {
					return err
				}
				tensors[i].Chunks[ci] = c
				meter.add(int64(len(chunk)))
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return cid.Undef, err
	}
	if err := ctx.Err(); err != nil {
		return cid.Undef, err
	}
	meter.finish()
	return s.commitImport(ctx, f, m, blocks, tensors, opt.Name)
}

// commitImport stores what an import of f needs beside the tensor chunks
// (stored already, their CIDs in tensors, indexed like f.Tensors): the
// metadata chunks, a layer manifest per block and the root manifest of m
// (from describe), then names the model: name, else general.name, else its
// root CID.
func (s *Store) commitImport(ctx context.Context, f *gguf.File, m *Manifest, blocks []int, tensors []Tensor, name string) (cid.Cid, error) {
	// Metadata, cut into chunks like tensor data.
	meta, err := encodeMetadata(f.KV)
	if err != nil {
		return cid.Undef, err
	}
	m.MetadataSize = uint64(len(meta))
	for lo := 0; lo < len(meta); lo += ChunkSize {
		c, err := s.putNew(meta[lo:min(lo+ChunkSize, len(meta))])
		if err != nil {
			return cid.Undef, err
		}
		m.MetadataChunks = append(m.MetadataChunks, c)
	}
	// One layer manifest per block, then the root.
	layers := make([]LayerManifest, len(m.Layers))
	for i := range layers {
		layers[i] = LayerManifest{Index: i, ChunkSize: ChunkSize}
	}
	for i := range tensors {
		if b := blocks[i]; b >= 0 {
			layers[b].Tensors = append(layers[b].Tensors, tensors[i])
			m.Layers[b].Bytes += tensors[i].Size
		} else {
			m.Tensors = append(m.Tensors, tensors[i])
		}
	}
	for i := range layers {
		b, err := layers[i].Encode()
		if err != nil {
			return cid.Undef, err
		}
		if m.Layers[i].CID, err = s.putNew(b); err != nil {
			return cid.Undef, fmt.Errorf("weights: layer %d: %w", i, err)
		}
	}
	rb, err := m.Encode()
	if err != nil {
		return cid.Undef, err
	}
	root, err := s.putNew(rb)
	if err != nil {
		return cid.Undef, fmt.Errorf("weights: root manifest: %w", err)
	}
	if err := s.blocks.sync(); err != nil {
		return cid.Undef, err
	}
	if name == "" {
		name, _ = f.String("general.name")
	}
	if name == "" || CheckName(name) != nil {
		name = root.String()
	}
	if err := s.SetAlias(ctx, name, root); err != nil {
		return cid.Undef, err
	}
	s.log.Info("weights: imported model", "name", name, "root", root, "bytes", m.TotalBytes, "layers", len(m.Layers))
	return root, nil
}

func (s *Store) putNew(b []byte) (cid.Cid, error) {
	if len(b) > MaxBlockSize {
		return cid.Undef, fmt.Errorf("weights: manifest block of %d bytes exceeds %d", len(b), MaxBlockSize)
	}
	c := SumCID(b)
	return c, s.blocks.putVerified(c, b)
}

// describe fills the parts of a root manifest that come from f's header,
// and returns each tensor's block index (-1 for non-block tensors) and
// whether export will reproduce f byte for byte.
func describe(f *gguf.File) (m *Manifest, blocks []int, exact bool, err error) {
	m = &Manifest{GGUFVersion: f.Version, Alignment: f.Alignment, ChunkSize: ChunkSize}
	m.Architecture, _ = f.String("general.architecture")
	a := m.Architecture + "."
	hp := func(key string) int {
		v, err := f.Int(a + key)
		if err != nil || v < 0 || v > 1<<31 {
			return 0
		}
		return int(v)
	}
	m.Hyper = Hyper{Blocks: hp("block_count"), Dim: hp("embedding_length"), Hidden: hp("feed_forward_length"),
		Heads: hp("attention.head_count"), KVHeads: hp("attention.head_count_kv"), Context: hp("context_length"), Vocab: hp("vocab_size")}
	if t, ok := f.Tensor(tensorEmbed); ok && len(t.Dims) == 2 {
		m.Hyper.Vocab = int(t.Dims[1])
	} else if v, ok := f.Get("tokenizer.ggml.tokens"); ok && m.Hyper.Vocab == 0 {
		m.Hyper.Vocab = v.Len()
	}
	blocks = make([]int, len(f.Tensors))
	nblocks := m.Hyper.Blocks
	for i := range f.Tensors {
		t := &f.Tensors[i]
		b, ok := blockIndex(t.Name)
		if !ok {
			blocks[i] = -1
		} else {
			blocks[i] = b
			if m.Hyper.Blocks == 0 {
				nblocks = max(nblocks, b+1)
			} else if b >= m.Hyper.Blocks {
				return nil, nil, false, fmt.Errorf("weights: tensor %q is past %sblock_count %d", t.Name, a, m.Hyper.Blocks)
			}
		}
		m.TensorOrder = append(m.TensorOrder, t.Name)
		m.TotalBytes += t.Size
	}
	if nblocks > maxLayers {
		return nil, nil, false, fmt.Errorf("weights: %d blocks, at most %d supported", nblocks, maxLayers)
	}
	m.Layers = make([]LayerRef, nblocks)
	for i := range m.Layers {
		m.Layers[i].Index = i
	}
	// Export rebuilds the file (each file of a split model) with
	// gguf.Writer, which packs tensors in order; note files it will not
	// reproduce byte for byte.
	parts := f.Parts()
	if parts == nil {
		exact, m.TailPadding = packed(f)
		return m, blocks, exact, nil
	}
	exact = true
	for i, p := range parts {
		sp := SplitPart{Tensors: len(p.Tensors)}
		if i > 0 {
			sp.KV = p.KV
		}
		var ok bool
		ok, sp.TailPadding = packed(p)
		exact = exact && ok
		m.Split = append(m.Split, sp)
	}
	return m, blocks, exact, nil
}

// packed reports whether gguf.Writer reproduces the single file f byte for
// byte (its tensors packed in order, then fewer zero bytes than the
// alignment), and how many zero bytes follow its last tensor.
func packed(f *gguf.File) (exact bool, tail uint64) {
	off := uint64(0)
	exact = true
	for i := range f.Tensors {
		off = (off + f.Alignment - 1) / f.Alignment * f.Alignment
		if f.Tensors[i].Offset != off {
			exact = false
		}
		off += f.Tensors[i].Size
	}
	if data := f.Bytes(); data != nil && exact {
		end := f.DataStart + off
		if len(f.Tensors) == 0 {
			end = f.DataStart
		}
		if end <= uint64(len(data)) {
			rest := data[end:]
			zero := uint64(len(rest)) < f.Alignment
			for _, b := range rest {
				zero = zero && b == 0
			}
			if zero {
				tail = uint64(len(rest))
			} else {
				exact = false
			}
		}
	}
	return exact, tail
}
