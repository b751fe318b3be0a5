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
	"sync"

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
	// R yields the file's bytes from the first (from Resume.Off with
	// Resume); an error from R (a failed checksum at the end, say) fails
	// the import.
	R io.Reader
	// Resume, if set, is where an earlier import of this file stopped
	// (what Checkpoint was given last).
	Resume *PartState
	// Checkpoint, if set, is called about every CheckpointEvery bytes (at
	// a chunk boundary, once the chunks before it are stored and synced)
	// and when the file is in, with the state to resume from.
	Checkpoint      func(PartState) error
	CheckpointEvery int64
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
	var base int64
	for _, p := range parts {
		base += resumedAt(p)
	}
	meter := newMeter(opt.Progress, total, base)
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
// chunks, handed to g to hash and store, then the rest to the end; or,
// with p.Resume, the rest of the file from where an earlier import
// stopped. It returns the header, the tensors (indexed like the header's,
// their chunks filled once g is done), and how many bytes followed the
// last tensor and whether they were all zero.
func (s *Store) streamPart(ctx context.Context, p StreamPart, g *errgroup.Group, meter *meter) (h *gguf.File, tensors []Tensor, rest int64, zero bool, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("weights: %s: %w", p.Name, err)
		}
	}()
	r := &countReader{r: p.R, meter: meter}
	var buf []byte // the file's first bytes, holding the header
	if p.Resume != nil {
		buf = p.Resume.Header
		if h, err = gguf.ParseHeader(buf); err != nil {
			return nil, nil, 0, false, err
		}
	} else {
		// A prefix that doubles until it parses.
		for want := min(p.Size, 64<<10); ; want = min(p.Size, 2*want, maxStreamHeader) {
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
	tensors = make([]Tensor, len(h.Tensors))
	order := make([]int, len(h.Tensors))
	for i := range h.Tensors {
		ti := &h.Tensors[i]
		tensors[i] = Tensor{Name: ti.Name, Type: ti.Type, Dims: append([]uint64(nil), ti.Dims...), Offset: ti.Offset, Size: ti.Size,
			Chunks: make([]cid.Cid, ceilDiv(ti.Size, ChunkSize))}
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return h.Tensors[order[a]].Offset < h.Tensors[order[b]].Offset })

	var src io.Reader = r
	pos := int64(len(buf)) // the file offset of src's next byte
	if p.Resume != nil {
		if err := p.Resume.restore(tensors, int64(len(buf)), p.Size); err != nil {
			return nil, nil, 0, false, err
		}
		if p.Resume.Done {
			return h, tensors, p.Resume.Rest, p.Resume.Zero, nil
		}
		pos = p.Resume.Off
	} else if h.DataStart <= uint64(len(buf)) {
		src, pos = io.MultiReader(bytes.NewReader(buf[h.DataStart:]), r), int64(h.DataStart)
	}
	var stored sync.WaitGroup // chunks handed to g, to wait for at checkpoints
	last := pos
	checkpoint := func(st PartState) error {
		stored.Wait()
		if err := ctx.Err(); err != nil {
			return err // a chunk failed
		}
		if err := s.blocks.sync(); err != nil {
			return err
		}
		st.Header, st.Chunks = buf, chunkStrings(tensors)
		return p.Checkpoint(st)
	}
	for _, i := range order {
		t := &tensors[i]
		start := int64(h.DataStart + t.Offset)
		for ci := range t.Chunks {
			if err := ctx.Err(); err != nil {
				return nil, nil, 0, false, err
			}
			at, n := start+int64(ci)*ChunkSize, t.ChunkLen(ci, ChunkSize)
			if t.Chunks[ci].Defined() && at+int64(n) <= pos {
				continue // stored before the import resumed
			}
			if err := skip(src, at-pos); err != nil {
				return nil, nil, 0, false, fmt.Errorf("before tensor %q: %w", t.Name, err)
			}
			chunk := make([]byte, n)
			if _, err := io.ReadFull(src, chunk); err != nil {
				return nil, nil, 0, false, fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			pos = at + int64(n)
			stored.Add(1)
			g.Go(func() error {
				defer stored.Done()
				c := SumCID(chunk)
				if err := s.blocks.putVerified(c, chunk); err != nil {
					return err
				}
				t.Chunks[ci] = c
				return nil
			})
			if p.Checkpoint != nil && pos-last >= max(p.CheckpointEvery, 1) && pos >= int64(len(buf)) {
				if err := checkpoint(PartState{Off: pos}); err != nil {
					return nil, nil, 0, false, err
				}
				last = pos
			}
		}
	}
	// The rest, to the end: padding, and the reader's last word (a
	// checksum error).
	if rest, zero, err = drain(src); err != nil {
		return nil, nil, 0, false, err
	}
	if r.n+resumedAt(p) != p.Size {
		return nil, nil, 0, false, fmt.Errorf("read %d bytes, want %d", r.n+resumedAt(p), p.Size)
	}
	if p.Checkpoint != nil {
		if err := checkpoint(PartState{Off: p.Size, Done: true, Rest: rest, Zero: zero}); err != nil {
			return nil, nil, 0, false, err
		}
	}
	return h, tensors, rest, zero, nil
}

// resumedAt is where p's reader starts in its file.
func resumedAt(p StreamPart) int64 {
	if p.Resume == nil {
		return 0
	}
	return p.Resume.Off
}

// PartState is where the import of one file stands, so that another
// process can resume it (StreamPart.Resume): the bytes before Off are in
// the store.
type PartState struct {
	Off    int64      `json:"off"`    // a chunk boundary past the header
	Header []byte     `json:"header"` // the file's first bytes, holding its header
	Chunks [][]string `json:"chunks"` // per tensor in header order, the CIDs of its chunks before Off ("" for the others)
	// Done says the whole file is in; Rest and Zero describe the bytes
	// after its last tensor.
	Done bool  `json:"done,omitempty"`
	Rest int64 `json:"rest,omitempty"`
	Zero bool  `json:"zero,omitempty"`
	// Reader is the state of the reader of the file at Off, for its owner.
	Reader []byte `json:"reader,omitempty"`
}

func chunkStrings(ts []Tensor) [][]string {
	out := make([][]string, len(ts))
	for i := range ts {
		out[i] = make([]string, len(ts[i].Chunks))
		for j, c := range ts[i].Chunks {
			if c.Defined() {
				out[i][j] = c.String()
			}
		}
	}
	return out
}

// restore fills the chunk CIDs of tensors from the state, checking it fits
// the file (headerLen bytes of header prefix, size bytes in all).
func (st *PartState) restore(tensors []Tensor, headerLen, size int64) error {
	if st.Off < headerLen || st.Off > size || len(st.Chunks) != len(tensors) || st.Done && st.Off != size {
		return fmt.Errorf("weights: resume state does not fit the file (offset %d of %d)", st.Off, size)
	}
	for i, cs := range st.Chunks {
		if len(cs) != len(tensors[i].Chunks) {
			return fmt.Errorf("weights: resume state: tensor %q has %d chunks, not %d", tensors[i].Name, len(tensors[i].Chunks), len(cs))
		}
		for j, c := range cs {
			if c == "" {
				if st.Done {
					return fmt.Errorf("weights: resume state of a whole file misses chunk %d of %q", j, tensors[i].Name)
				}
				continue
			}
			d, err := cid.Decode(c)
			if err != nil {
				return fmt.Errorf("weights: resume state: %w", err)
			}
			tensors[i].Chunks[j] = d
		}
	}
	return nil
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
