package kernels

import (
	"errors"
	"fmt"
)

// Errors returned (wrapped) by this package.
var (
	// ErrShortBuffer: a buffer is smaller than the sizes require.
	ErrShortBuffer = errors.New("buffer too short")
	// ErrShape: dimensions are negative, not block-aligned or inconsistent.
	ErrShape = errors.New("bad shape")
	// ErrClosed: the Pool was closed.
	ErrClosed = errors.New("pool closed")
)

// Mat is a row-major weight matrix: Rows rows of Cols elements each, in GGUF
// block layout (each row is Type.RowBytes(Cols) bytes; rows are contiguous).
//
// A matrix returned by Pool.Repack stores its rows in the interleaved
// layout the pool's kernels read fastest (see repack.go): Data then has the
// same size, but only Row gives a row's bytes in block layout.
type Mat struct {
	Type       DType
	Rows, Cols int
	Data       []byte

	packed bool // rows [0, Rows&^15) interleaved in groups of 16 (repack.go)
}

// NewMat validates the sizes and returns the matrix. data must hold at least
// rows*t.RowBytes(cols) bytes; it is sliced to exactly that length.
func NewMat(t DType, rows, cols int, data []byte) (Mat, error) {
	m := Mat{Type: t, Rows: rows, Cols: cols, Data: data}
	n, err := m.size()
	if err != nil {
		return Mat{}, err
	}
	m.Data = data[:n]
	return m, nil
}

// RowBytes returns the number of bytes per row (0 if the matrix is invalid).
func (m Mat) RowBytes() int {
	rb, err := m.Type.RowBytes(m.Cols)
	if err != nil {
		return 0
	}
	return rb
}

// Row returns the bytes of row r in block layout: a slice of Data, or for
// a row of a repacked matrix's interleaved groups a new copy.
func (m Mat) Row(r int) []byte {
	rb := m.RowBytes()
	if m.packed && r < m.Rows&^(packRows-1) {
		out := make([]byte, rb)
		unpackRow(out, m, r)
		return out
	}
	return m.Data[r*rb : (r+1)*rb]
}

// DequantizeRow writes row r of m, Cols values, to dst as float32, in
// either layout: the embedding lookup of a matrix that is also the
// output. A repacked row of q8_0, q4_0, q4_k or q6_k is gathered block by
// block without allocating; of the other types through Row (a copy).
func (m Mat) DequantizeRow(dst []float32, r int) error {
	rb := m.RowBytes()
	switch {
	case !m.packed || r >= m.Rows&^(packRows-1):
		return Dequantize(dst[:m.Cols], m.Data[r*rb:(r+1)*rb], m.Type)
	case m.Type != Q8_0 && m.Type != Q4_0 && m.Type != Q4_K && m.Type != Q6_K:
		return Dequantize(dst[:m.Cols], m.Row(r), m.Type)
	}
	var blk [q6KBytes]byte // the largest of the four
	bs, be := m.Type.BlockBytes(), m.Type.BlockSize()
	g := r &^ (packRows - 1)
	grp := m.Data[g*rb : (g+packRows)*rb]
	ps := packPieces(m.Type)
	nb := rb / bs
	dst = dst[:nb*be]
	for b := 0; b < nb; b++ {
		for i, pc := range ps {
			at := pieceAt(m.Type, ps, i, b, nb) + (r-g)*pc.n
			copy(blk[pc.off:pc.off+pc.n], grp[at:at+pc.n])
		}
		y := dst[b*be : (b+1)*be]
		switch m.Type { // direct calls: blk stays on the stack
		case Q8_0:
			dequantQ8_0Block(y, blk[:bs])
		case Q4_0:
			dequantQ4_0Block(y, blk[:bs])
		case Q4_K:
			dequantQ4KBlock(y, blk[:bs])
		case Q6_K:
			dequantQ6KBlock(y, blk[:bs])
		}
	}
	return nil
}

// size validates m and returns its data size in bytes.
func (m Mat) size() (int, error) {
	if m.Rows < 0 || m.Cols < 0 {
		return 0, fmt.Errorf("kernels: matrix %dx%d: %w", m.Rows, m.Cols, ErrShape)
	}
	rb, err := m.Type.RowBytes(m.Cols)
	if err != nil {
		return 0, fmt.Errorf("kernels: matrix %dx%d: %w: %w", m.Rows, m.Cols, ErrShape, err)
	}
	if rb != 0 && m.Rows > (1<<62)/rb {
		return 0, fmt.Errorf("kernels: matrix %dx%d of %s overflows: %w", m.Rows, m.Cols, m.Type, ErrShape)
	}
	n := rb * m.Rows
	if len(m.Data) < n {
		return 0, fmt.Errorf("kernels: matrix %dx%d of %s needs %d bytes, have %d: %w", m.Rows, m.Cols, m.Type, n, len(m.Data), ErrShortBuffer)
	}
	return n, nil
}
