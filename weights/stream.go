package weights

// Importing a model from its bytes as they arrive (a download), without a
// file: each tensor's chunks are hashed and stored as soon as their bytes
// are in, so the model is written once, into the store, and the root CID is
// known when the last byte lands. The root CID is the one Import gives for
// the same file (or split parts) on disk.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"

	"github.com/ipfs/go-cid"
	"golang.org/x/sync/errgroup"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// maxStreamHeader bounds the GGUF header (metadata and tensor list) a
// stream may have; real ones are a few MiB (the tokenizer).
const maxStreamHeader = 256 << 20

// StreamPart is one GGUF file of a model to import from a stream: the
// whole file, or one part of a split model.
type StreamPart struct {
	Name string // labels errors
	Size int64  // the file's length in bytes
	// R yields the file's bytes from the first; an error from R (a failed
	// checksum at the end, say) fails the import.
	R io.Reader
}

// ImportStream imports the model whose GGUF files parts are (one file, or
// every part of a split model in order), reading each to its end once:
// chunks are stored as they arrive, and the model is named (opt.Name,
// else general.name, else its root CID) only when every byte was read
// without error. The root CID is the one Import gives for the same files.
// opt.Progress counts the files' bytes read.
func (s *Store) ImportStream(ctx context.Context, parts []StreamPart, opt ImportOptions) (cid.Cid, error) {
	if len(parts) == 0 {
		return cid.Undef, errors.New("weights: import of no files")
	}
	unlock, err := s.lock(ctx, "gc.lock", false)
	if err != nil {
		return cid.Undef, err
	}
	defer unlock()
	var total int64
	for _, p := range parts {
		if p.Size < 0 {
			return cid.Undef, fmt.Errorf("weights: %s: size %d", p.Name, p.Size)
		}
		total += p.Size
	}
	if err := s.checkSpace(uint64(total), "import"); err != nil {
		return cid.Undef, err
	}
	meter := newMeter(opt.Progress, total, 0)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(4, runtime.GOMAXPROCS(0)))
	var (
		headers []*gguf.File
		tensors []Tensor
		tails   []uint64
		exact   = true
	)
	for _, p := range parts {
		h, ts, rest, zero, err := s.streamPart(gctx, p, g, meter)
		if err != nil {
			_ = g.Wait()
			return cid.Undef, err
		}
		// The bytes after the last tensor, as packed decides for a file.
		var tail uint64
		if ok, _ := packed(h); ok && zero && uint64(rest) < h.Alignment {
			tail = uint64(rest)
		} else if ok {
			exact = false
		}
		headers = append(headers, h)
		tensors = append(tensors, ts...)
		tails = append(tails, tail)
	}
	if err := g.Wait(); err != nil {
		return cid.Undef, err
	}
	if err := ctx.Err(); err != nil {
		return cid.Undef, err
	}
	meter.finish()
	f := headers[0]
	if len(headers) > 1 {
		if f, err = gguf.Merge(headers); err != nil {
			return cid.Undef, err
		}
	} else if _, count, _, ok, err := f.Split(); err != nil || ok && count > 1 {
		return cid.Undef, fmt.Errorf("weights: %s is one part of a model split in %d files; import every part", parts[0].Name, count)
	}
	m, blocks, packedOK, err := describe(f)
	if err != nil {
		return cid.Undef, err
	}
	if m.Split == nil {
		m.TailPadding = tails[0]
	} else {
		for i := range m.Split {
			m.Split[i].TailPadding = tails[i]
		}
	}
	if !exact || !packedOK {
		s.log.Warn("weights: the file's tensors are not packed in order; export will rebuild it packed, not byte for byte")
	}
	return s.commitImport(ctx, f, m, blocks, tensors, opt.Name)
}

// countReader adds the bytes read to a meter.
type countReader struct {
	r     io.Reader
	meter *meter
	n     int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.meter.add(int64(n))
	return n, err
}

// streamPart reads one GGUF file from p.R: its header, then each tensor's
// chunks, handed to g to hash and store, then the rest to the end. It
// returns the header, the tensors (indexed like the header's, their chunks
// filled once g is done), and how many bytes followed the last tensor and
// whether they were all zero.
func (s *Store) streamPart(ctx context.Context, p StreamPart, g *errgroup.Group, meter *meter) (h *gguf.File, tensors []Tensor, rest int64, zero bool, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("weights: %s: %w", p.Name, err)
		}
	}()
	r := &countReader{r: p.R, meter: meter}
	// The header: a prefix that doubles until it parses.
	var buf []byte
	for want := min(p.Size, 1<<20); ; want = min(p.Size, 2*want, maxStreamHeader) {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, false, err
		}
		have := len(buf)
		buf = append(buf, make([]byte, int(want)-have)...)
		if _, err := io.ReadFull(r, buf[have:]); err != nil {
			return nil, nil, 0, false, fmt.Errorf("reading the header: %w", err)
		}
		var perr error
		if h, perr = gguf.ParseHeader(buf); perr == nil {
			break
		}
		if want == p.Size || want == maxStreamHeader {
			return nil, nil, 0, false, perr
		}
	}
	// As Parse checks a whole file: every tensor within the file.
	var dataLen uint64
	if h.DataStart <= uint64(p.Size) {
		dataLen = uint64(p.Size) - h.DataStart
	} else if len(h.Tensors) > 0 {
		return nil, nil, 0, false, fmt.Errorf("%w: data section starts at %d, past the end of the %d-byte file", gguf.ErrFormat, h.DataStart, p.Size)
	}
	for i := range h.Tensors {
		if t := &h.Tensors[i]; t.Offset > dataLen || t.Size > dataLen-t.Offset {
			return nil, nil, 0, false, fmt.Errorf("%w: tensor %q (%d bytes at data offset %d) runs past the end of the file (%d data bytes)", gguf.ErrFormat, t.Name, t.Size, t.Offset, dataLen)
		}
	}
	var src io.Reader = r
	if h.DataStart <= uint64(len(buf)) {
		src = io.MultiReader(bytes.NewReader(buf[h.DataStart:]), r)
	} else if err := skip(r, int64(h.DataStart)-int64(len(buf))); err != nil {
		return nil, nil, 0, false, err
	}
	tensors = make([]Tensor, len(h.Tensors))
	order := make([]int, len(h.Tensors))
	for i := range h.Tensors {
		ti := &h.Tensors[i]
		tensors[i] = Tensor{Name: ti.Name, Type: ti.Type, Dims: append([]uint64(nil), ti.Dims...), Offset: ti.Offset, Size: ti.Size,
			Chunks: make([]cid.Cid, ceilDiv(ti.Size, ChunkSize))}
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return h.Tensors[order[a]].Offset < h.Tensors[order[b]].Offset })
	pos := uint64(0) // in the data section
	for _, i := range order {
		t := &tensors[i]
		if err := skip(src, int64(t.Offset-pos)); err != nil {
			return nil, nil, 0, false, fmt.Errorf("before tensor %q: %w", t.Name, err)
		}
		for ci := range t.Chunks {
			if err := ctx.Err(); err != nil {
				return nil, nil, 0, false, err
			}
			chunk := make([]byte, t.ChunkLen(ci, ChunkSize))
			if _, err := io.ReadFull(src, chunk); err != nil {
				return nil, nil, 0, false, fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			g.Go(func() error {
				c := SumCID(chunk)
				if err := s.blocks.putVerified(c, chunk); err != nil {
					return err
				}
				t.Chunks[ci] = c
				return nil
			})
		}
		pos = t.Offset + t.Size
	}
	// The rest, to the end: padding, and the reader's last word (a
	// checksum error).
	if rest, zero, err = drain(src); err != nil {
		return nil, nil, 0, false, err
	}
	if r.n != p.Size {
		return nil, nil, 0, false, fmt.Errorf("read %d bytes, want %d", r.n, p.Size)
	}
	return h, tensors, rest, zero, nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// skip reads and drops n bytes of r.
func skip(r io.Reader, n int64) error {
	if n < 0 {
		return errors.New("tensors overlap")
	}
	_, err := io.CopyN(io.Discard, r, n)
	return err
}

// drain reads r to its end and returns how many bytes it read and
// whether they were all zero.
func drain(r io.Reader) (int64, bool, error) {
	buf := make([]byte, 1<<16)
	var n int64
	zero := true
	for {
		k, err := r.Read(buf)
		n += int64(k)
		zero = zero && isZero(buf[:k])
		if err == io.EOF {
			return n, zero, nil
		}
		if err != nil {
			return n, zero, err
		}
	}
}
