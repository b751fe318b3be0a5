// Package llama2c reads model checkpoints in the llama2.c ".bin" format and
// converts them, together with a llama2.c tokenizer file, to GGUF v3 files
// of architecture "llama" that llama.cpp and the orbit engine load.
//
// # Checkpoint format
//
// A checkpoint is a header of seven little-endian int32 values
//
//	dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//
// followed by float32 weights in this order (shapes row-major, the last
// dimension contiguous):
//
//	token_embedding [vocab, dim]
//	rms_att         [layers, dim]
//	wq              [layers, dim, dim]
//	wk              [layers, kv_dim, dim]
//	wv              [layers, kv_dim, dim]
//	wo              [layers, dim, dim]
//	rms_ffn         [layers, dim]
//	w1              [layers, hidden, dim]
//	w2              [layers, dim, hidden]
//	w3              [layers, hidden, dim]
//	rms_final       [dim]
//	freq_cis_real   [seq_len, head_size/2]  (legacy, ignored)
//	freq_cis_imag   [seq_len, head_size/2]  (legacy, ignored)
//	wcls            [vocab, dim]            (only if vocab_size < 0)
//
// A negative vocab_size means the output classifier is stored separately
// (wcls); otherwise it shares token_embedding. Parse checks every size
// against the length of the input before touching any weight, so a hostile
// header gives an error, never a panic or a huge allocation.
//
// The query/key weights of llama2.c already use the interleaved-pair rotary
// layout that GGUF "llama" expects, so conversion copies them unchanged.
package llama2c

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/orbitswarm/orbit/internal/platform"
)

// HeaderSize is the size in bytes of the checkpoint header.
const HeaderSize = 7 * 4

// ErrFormat is wrapped by every error about a malformed checkpoint.
var ErrFormat = errors.New("llama2c: malformed checkpoint")

// exportMagic starts the newer, versioned llama2.c export formats ("ak42"),
// which this package does not read.
const exportMagic = 0x616b3432

// Config is the model hyperparameters from the checkpoint header.
type Config struct {
	Dim       int // embedding width
	HiddenDim int // feed-forward width
	Layers    int
	Heads     int
	KVHeads   int
	VocabSize int // always positive; see SharedClassifier
	SeqLen    int // maximum context length
	// SharedClassifier is true when the output head reuses the token
	// embedding (the header's vocab_size was positive).
	SharedClassifier bool
}

// HeadSize is the width of one attention head.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim is the width of the key and value projections.
func (c Config) KVDim() int { return c.KVHeads * c.HeadSize() }

// ParseHeader decodes and validates the 28-byte checkpoint header at the
// start of b. It checks the hyperparameters for consistency but not the
// file size; see Layout.
func ParseHeader(b []byte) (Config, error) {
	if len(b) < HeaderSize {
		return Config{}, fmt.Errorf("%w: %d bytes is too short for the %d-byte header", ErrFormat, len(b), HeaderSize)
	}
	var h [7]int32
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	if uint32(h[0]) == exportMagic {
		return Config{}, fmt.Errorf("%w: versioned llama2.c export (magic \"ak42\", version %d) is not supported; export with the legacy format", ErrFormat, h[1])
	}
	c := Config{
		Dim: int(h[0]), HiddenDim: int(h[1]), Layers: int(h[2]), Heads: int(h[3]),
		KVHeads: int(h[4]), VocabSize: int(h[5]), SeqLen: int(h[6]),
		SharedClassifier: h[5] > 0,
	}
	if h[5] < 0 {
		if h[5] == math.MinInt32 {
			return Config{}, fmt.Errorf("%w: vocab_size %d out of range", ErrFormat, h[5])
		}
		c.VocabSize = -c.VocabSize
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"n_layers", c.Layers}, {"n_heads", c.Heads},
		{"n_kv_heads", c.KVHeads}, {"vocab_size", c.VocabSize}, {"seq_len", c.SeqLen}} {
		if f.v <= 0 {
			return Config{}, fmt.Errorf("%w: header field %s = %d, want > 0", ErrFormat, f.name, f.v)
		}
	}
	if c.Dim%c.Heads != 0 {
		return Config{}, fmt.Errorf("%w: dim %d is not a multiple of n_heads %d", ErrFormat, c.Dim, c.Heads)
	}
	if c.HeadSize()%2 != 0 {
		return Config{}, fmt.Errorf("%w: head size %d (dim %d / n_heads %d) is odd; rotary embeddings need pairs", ErrFormat, c.HeadSize(), c.Dim, c.Heads)
	}
	if c.KVHeads > c.Heads || c.Heads%c.KVHeads != 0 {
		return Config{}, fmt.Errorf("%w: n_heads %d is not a multiple of n_kv_heads %d", ErrFormat, c.Heads, c.KVHeads)
	}
	return c, nil
}

// Weight locates one float32 matrix (or vector, Rows == 1) of a checkpoint.
// Cols is the contiguous dimension.
type Weight struct {
	Rows, Cols int
	Offset     int64  // byte offset in the checkpoint
	data       []byte // Rows*Cols*4 bytes, nil if only the layout is known
}

// Elements is Rows*Cols.
func (w Weight) Elements() int { return w.Rows * w.Cols }

// Bytes returns the raw little-endian float32 data (aliasing the
// checkpoint image).
func (w Weight) Bytes() []byte { return w.data }

// Row decodes row r into dst, which must hold Cols elements.
func (w Weight) Row(dst []float32, r int) {
	b := w.data[r*w.Cols*4 : (r+1)*w.Cols*4]
	for i := range dst[:w.Cols] {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// Floats decodes the whole weight into a new slice.
func (w Weight) Floats() []float32 {
	out := make([]float32, w.Elements())
	for r := 0; r < w.Rows; r++ {
		w.Row(out[r*w.Cols:(r+1)*w.Cols], r)
	}
	return out
}

// Block holds the weights of one transformer block, in llama2.c naming.
type Block struct {
	RMSAtt Weight // [1, dim]
	WQ     Weight // [dim, dim]
	WK     Weight // [kv_dim, dim]
	WV     Weight // [kv_dim, dim]
	WO     Weight // [dim, dim]
	RMSFFN Weight // [1, dim]
	W1     Weight // [hidden, dim] (gate)
	W2     Weight // [dim, hidden] (down)
	W3     Weight // [hidden, dim] (up)
}

// Layout is the position of every weight in a checkpoint. It holds O(1)
// data however many layers the header claims; Block computes the weights of
// one layer on demand.
type Layout struct {
	TokenEmbedding Weight // [vocab, dim]
	RMSFinal       Weight // [1, dim]
	// Classifier is the output head [vocab, dim]; when the classifier is
	// shared it equals TokenEmbedding.
	Classifier Weight
	Size       int64 // total file size implied by the header
	layers     int
	stacks     [9]Weight // layer 0 of rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3
}

// layoutBuilder assigns consecutive offsets with overflow-checked
// arithmetic; every product is bounded by the file size before it is
// formed, so no int64 overflow is possible.
type layoutBuilder struct {
	off   int64
	limit int64 // file size
	err   error
}

// take reserves count arrays of rows*cols float32 values and returns the
// first as a Weight.
func (b *layoutBuilder) take(what string, count, rows, cols int) Weight {
	if b.err != nil {
		return Weight{}
	}
	avail := max((b.limit-b.off)/4, 0)
	n := int64(1)
	for _, f := range []int{count, rows, cols} {
		if n > avail/int64(f) {
			b.err = fmt.Errorf("%w: %s (%d x %d x %d float32 at offset %d) runs past the end of the %d-byte file",
				ErrFormat, what, count, rows, cols, b.off, b.limit)
			return Weight{}
		}
		n *= int64(f)
	}
	w := Weight{Rows: rows, Cols: cols, Offset: b.off}
	b.off += 4 * n
	return w
}

// ComputeLayout places every weight of a checkpoint with config c and
// checks that a file of fileSize bytes holds exactly those weights.
func (c Config) ComputeLayout(fileSize int64) (*Layout, error) {
	b := &layoutBuilder{off: HeaderSize, limit: fileSize}
	l := &Layout{layers: c.Layers}
	l.TokenEmbedding = b.take("token_embedding", 1, c.VocabSize, c.Dim)
	kv := c.KVDim()
	l.stacks = [9]Weight{
		b.take("rms_att", c.Layers, 1, c.Dim),
		b.take("wq", c.Layers, c.Dim, c.Dim),
		b.take("wk", c.Layers, kv, c.Dim),
		b.take("wv", c.Layers, kv, c.Dim),
		b.take("wo", c.Layers, c.Dim, c.Dim),
		b.take("rms_ffn", c.Layers, 1, c.Dim),
		b.take("w1", c.Layers, c.HiddenDim, c.Dim),
		b.take("w2", c.Layers, c.Dim, c.HiddenDim),
		b.take("w3", c.Layers, c.HiddenDim, c.Dim),
	}
	l.RMSFinal = b.take("rms_final", 1, 1, c.Dim)
	b.take("freq_cis_real", 1, c.SeqLen, c.HeadSize()/2)
	b.take("freq_cis_imag", 1, c.SeqLen, c.HeadSize()/2)
	l.Classifier = l.TokenEmbedding
	if !c.SharedClassifier {
		l.Classifier = b.take("wcls", 1, c.VocabSize, c.Dim)
	}
	if b.err != nil {
		return nil, b.err
	}
	if b.off != fileSize {
		return nil, fmt.Errorf("%w: header (dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, seq_len %d, shared classifier %v) implies %d bytes, file has %d",
			ErrFormat, c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.VocabSize, c.SeqLen, c.SharedClassifier, b.off, fileSize)
	}
	l.Size = b.off
	return l, nil
}

// Block returns the position of the weights of layer i (0 <= i < Layers).
func (l *Layout) Block(i int) Block {
	var ws [9]Weight
	for k, s := range l.stacks {
		ws[k] = s
		ws[k].Offset += int64(i) * int64(s.Rows) * int64(s.Cols) * 4
	}
	return Block{RMSAtt: ws[0], WQ: ws[1], WK: ws[2], WV: ws[3], WO: ws[4], RMSFFN: ws[5], W1: ws[6], W2: ws[7], W3: ws[8]}
}

// Model is a parsed checkpoint whose weights alias the bytes it was parsed
// from (for Open, a read-only memory map released by Close).
type Model struct {
	Config
	layout Layout
	data   []byte
	mapped bool
}

// Parse parses a checkpoint image held in memory. It never panics on
// malformed input. The returned Model aliases data.
func Parse(data []byte) (*Model, error) {
	c, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	l, err := c.ComputeLayout(int64(len(data)))
	if err != nil {
		return nil, err
	}
	return &Model{Config: c, layout: *l, data: data}, nil
}

func (m *Model) attach(w Weight) Weight {
	end := w.Offset + int64(w.Elements())*4
	w.data = m.data[w.Offset:end:end]
	return w
}

// TokenEmbedding is the [vocab, dim] embedding table.
func (m *Model) TokenEmbedding() Weight { return m.attach(m.layout.TokenEmbedding) }

// RMSFinal is the final norm weight [1, dim].
func (m *Model) RMSFinal() Weight { return m.attach(m.layout.RMSFinal) }

// Classifier is the output head [vocab, dim] (the token embedding when
// SharedClassifier is set).
func (m *Model) Classifier() Weight { return m.attach(m.layout.Classifier) }

// Block returns the weights of layer i (0 <= i < Layers).
func (m *Model) Block(i int) Block {
	b := m.layout.Block(i)
	for _, w := range []*Weight{&b.RMSAtt, &b.WQ, &b.WK, &b.WV, &b.WO, &b.RMSFFN, &b.W1, &b.W2, &b.W3} {
		*w = m.attach(*w)
	}
	return b
}

// Open maps the checkpoint at path read-only and parses it.
func Open(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("llama2c: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("llama2c: %w", err)
	}
	size := st.Size()
	if size < HeaderSize {
		return nil, fmt.Errorf("%s: %w: %d bytes is too short for the %d-byte header", path, ErrFormat, size, HeaderSize)
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("llama2c: %s: file too large to map", path)
	}
	data, err := platform.Map(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("llama2c: mmap %s: %w", path, err)
	}
	m, err := Parse(data)
	if err != nil {
		_ = platform.Unmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.mapped = true
	return m, nil
}

// Close releases the memory map of a model returned by Open; its weights
// must not be used afterwards. It is a no-op for models from Parse.
func (m *Model) Close() error {
	if !m.mapped || m.data == nil {
		return nil
	}
	err := platform.Unmap(m.data)
	m.data = nil
	if err != nil {
		return fmt.Errorf("llama2c: munmap: %w", err)
	}
	return nil
}
