package kernels

import (
	"fmt"
	"os"
	"strings"
)

// Impl identifies a kernel implementation.
type Impl uint8

// Kernel implementations, from slowest to fastest.
const (
	Generic Impl = iota // portable pure Go
	AVX2                // amd64 AVX2 + FMA + F16C
	AVX512              // amd64 AVX-512 F/BW/VL/VNNI (+ F16C, FMA)
	NEON                // arm64 Advanced SIMD with the dot-product extension (SDOT)
)

func (i Impl) String() string {
	switch i {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	case NEON:
		return "neon"
	}
	return fmt.Sprintf("impl(%d)", uint8(i))
}

// ParseImpl is the case-insensitive inverse of Impl.String.
func ParseImpl(s string) (Impl, error) {
	for _, i := range []Impl{Generic, AVX2, AVX512, NEON} {
		if strings.EqualFold(strings.TrimSpace(s), i.String()) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown implementation %q", s)
}

// qRowsFn computes dst[i] = dot(row i, a) for i < len(dst), the rows
// starting at w and rowBytes apart.
type qRowsFn func(dst []float32, w []byte, rowBytes int, a qcol)

// fRowsFn is qRowsFn for float activations.
type fRowsFn func(dst []float32, w []byte, rowBytes int, x []float32)

// qTileFn computes a tile of 4 rows x 4 (or 8) activation columns packed
// by packCol (see tile_amd64.s); each element bitwise equal to the qRowsFn
// result.
type qTileFn func(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)

// kernelSet is one implementation's table of kernels. Tables are immutable.
type kernelSet struct {
	impl     Impl
	quantAct func(c qcol, x []float32)    // quantizeAct, bitwise identical
	dotF32   func(a, b []float32) float32 // len(b) >= len(a)
	axpyF32  func(y []float32, a float32, x []float32)
	siluMul  func(g, u []float32)                   // siluMul, bitwise identical
	dotRows  func(dst, a, b []float32, stride int)  // dotRowsLoop with dotF32, bitwise; len(dst) > 0
	axpyRows func(y, coef, x []float32, stride int) // axpyRowsLoop with axpyF32, bitwise; len(coef) > 0
	f32Rows  fRowsFn
	f16Rows  fRowsFn
	bf16Rows fRowsFn
	q8_0Rows qRowsFn
	q4_0Rows qRowsFn
	q4KRows  qRowsFn
	q6KRows  qRowsFn

	// Optional 4x4 and 4x8 tile kernels for batches (nil: use the 2x4
	// or row kernels). A set may have the 4x8 ones alone (AVX2's q8_0):
	// the columns after the groups of 8 then take the 2x4 kernels.
	q8_0Tile  qTileFn
	q4_0Tile  qTileFn
	q8_0Tile8 qTileFn
	q4_0Tile8 qTileFn
	// q8_0Wide8: q8_0Tile8 takes its group packed by packColWide (int16
	// pairs) rather than packCol; such a set may also have q8_0Tile16,
	// 2 rows x two adjacent groups of 8 (16 columns).
	q8_0Wide8  bool
	q8_0Tile16 qTileFn

	// Optional 2-row x 4-column kernels for the columns of a batch the
	// tile kernels leave (nil: use the row kernels); bitwise the row
	// kernels' results.
	q8_0Cols qColsFn
	q4_0Cols qColsFn
	// Optional 1-row x 4-column k-quant kernels for batches (nil: the
	// row kernels); bitwise the row kernels' results.
	q4KCols kColsFn
	q6KCols kColsFn

	// Optional kernels for repacked matrices (repack.go; nil: the set
	// does not repack that type): the 16 rows of a group against 1 or 4
	// activation columns, each element bitwise the generic result.
	q4_0P1 pColFn
	q4_0P4 pColsFn
	q4KP1  pColFn
	q4KP4  pColsFn
	kq     kqPacked // q5_k and q3_k (repack_kq.go)
	q6KP1  pColFn   // xs: the column's sums of 16 values as q6KPairSums leaves them
	q6KP4  pColsFn

	// Optional kernels for 2 and 3 columns of repacked matrices, in
	// pColsFn's layout (nil: the 1-column kernel column by column), so
	// that a small batch unpacks each block once.
	q4_0P2, q4_0P3 pColsFn
	q4KP2, q4KP3   pColsFn
	q6KP2, q6KP3   pColsFn

	// Optional kernels for repacked q8_0 matrices: 1 to 4 columns.
	q8_0P1                 pColFn
	q8_0P2, q8_0P3, q8_0P4 pColsFn

	// The row kernels of the later types (q4_1, q5_0, mxfp4, q3_k, q5_k,
	// iq4_xs).
	ext extKernels
}

// pColFn computes the 16 rows of the repacked group at w against one
// quantized activation column: xq its values, xd its scales, xs its sums
// of 32 values; nb is the number of blocks per row (super-blocks for the
// k-quants). The 16 results go to out.
type pColFn func(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

// pColsFn is pColFn for 4 columns in the Pool's layout: column c's values
// xqs*c bytes after xq, its scales and sums one column's worth (nb, or
// for the k-quants nb and 8*nb, elements) further per column; column c's
// results go to out + c*ostride (bytes).
type pColsFn func(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

// packedFor reports whether the set has kernels for repacked t matrices.
func (s *kernelSet) packedFor(t DType) bool {
	p1, _ := s.packedKernels(t)
	return p1 != nil
}

// packedKernels returns the set's kernels for repacked t matrices.
func (s *kernelSet) packedKernels(t DType) (pColFn, pColsFn) {
	switch t {
	case Q8_0:
		return s.q8_0P1, s.q8_0P4
	case Q4_0:
		return s.q4_0P1, s.q4_0P4
	case Q4_K:
		return s.q4KP1, s.q4KP4
	case Q5_K:
		return s.kq.q5KP1, s.kq.q5KP4
	case Q3_K:
		return s.kq.q3KP1, s.kq.q3KP4
	case Q6_K:
		return s.q6KP1, s.q6KP4
	}
	return s.ext.packedKernels(t)
}

// packedSmall returns the set's 2- and 3-column kernels for repacked t
// matrices (either may be nil).
func (s *kernelSet) packedSmall(t DType) (p2, p3 pColsFn) {
	switch t {
	case Q8_0:
		return s.q8_0P2, s.q8_0P3
	case Q4_0:
		return s.q4_0P2, s.q4_0P3
	case Q4_K:
		return s.q4KP2, s.q4KP3
	case Q6_K:
		return s.q6KP2, s.q6KP3
	case Q5_K:
		return s.kq.q5KP2, s.kq.q5KP3
	case Q3_K:
		return s.kq.q3KP2, s.kq.q3KP3
	}
	return nil, nil
}

// kColsFn computes 1 k-quant row x 4 quantized activation columns (the
// Pool's layout: column c's values at xq+c*nsb*256, its scales and sums
// at xd and xs + c*nsb*32), storing column c's result at out + c*ostride
// (bytes); each bitwise equal to the qRowsFn result.
type kColsFn func(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)

// qColsFn computes 2 rows (w, w+stride) x 4 quantized activation columns
// (the Pool's layout: column c's values at xq+c*nb*32, its scales at
// xd+c*nb*4), storing (row i, column c) at out + c*ostride + 4*i (ostride
// in bytes); each element bitwise equal to the qRowsFn result.
type qColsFn func(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

// active is the kernel set chosen once at init (read-only afterwards).
var active = chooseSet()

func chooseSet() *kernelSet {
	best := Generic
	for _, i := range Available() {
		best = i
	}
	if env, ok := os.LookupEnv("ORBIT_KERNELS"); ok && env != "" {
		if want, err := ParseImpl(env); err == nil && want <= best && setFor(want) != nil {
			best = want
		}
	}
	return setFor(best)
}

// Available lists the implementations this CPU supports, slowest first
// (Generic is always first).
func Available() []Impl {
	out := []Impl{Generic}
	for _, i := range []Impl{AVX2, AVX512, NEON} {
		if setFor(i) != nil {
			out = append(out, i)
		}
	}
	return out
}

// Active returns the implementation selected at init (best available, or
// the one named by ORBIT_KERNELS).
func Active() Impl { return active.impl }

func setFor(i Impl) *kernelSet {
	if i == Generic {
		return &genericSet
	}
	return archSet(i)
}

// DotF32 returns the dot product of a and b over min(len(a), len(b))
// elements, using the active implementation.
func DotF32(a, b []float32) float32 {
	if len(b) < len(a) {
		a = a[:len(b)]
	}
	return active.dotF32(a, b)
}

// AxpyF32 computes y[i] += a*x[i] for i < min(len(y), len(x)).
func AxpyF32(y []float32, a float32, x []float32) {
	if len(x) < len(y) {
		y = y[:len(x)]
	}
	active.axpyF32(y, a, x)
}

// DotRowsF32 sets dst[p] = DotF32(a, b[p*stride:p*stride+len(a)]) for
// every p < len(dst), bitwise, in one call: the scores of one attention
// head over the positions of a KV cache. It panics if b is too short.
func DotRowsF32(dst, a, b []float32, stride int) {
	if len(dst) == 0 {
		return
	}
	if need := (len(dst)-1)*stride + len(a); stride < 0 || need > len(b) {
		panic(fmt.Sprintf("kernels: DotRowsF32 needs %d elements of b, has %d", need, len(b)))
	}
	active.dotRows(dst, a, b, stride)
}

// AxpyRowsF32 does AxpyF32(y, coef[p], x[p*stride:p*stride+len(y)]) for
// p = 0, 1, ..., len(coef)-1 in that order, bitwise, in one call: an
// attention head's weighted sum of the values of a KV cache. It panics if
// x is too short.
func AxpyRowsF32(y, coef, x []float32, stride int) {
	if len(coef) == 0 || len(y) == 0 {
		return
	}
	if need := (len(coef)-1)*stride + len(y); stride < 0 || need > len(x) {
		panic(fmt.Sprintf("kernels: AxpyRowsF32 needs %d elements of x, has %d", need, len(x)))
	}
	active.axpyRows(y, coef, x, stride)
}

// dotRowsLoop is DotRowsF32 with the dot product dot, row by row.
func dotRowsLoop(dst, a, b []float32, stride int, dot func(a, b []float32) float32) {
	n := len(a)
	for p := range dst {
		dst[p] = dot(a, b[p*stride:p*stride+n])
	}
}

// rowsOf returns dotRowsLoop over dot.
func rowsOf(dot func(a, b []float32) float32) func(dst, a, b []float32, stride int) {
	return func(dst, a, b []float32, stride int) { dotRowsLoop(dst, a, b, stride, dot) }
}

// axpyRowsOf returns axpyRowsLoop over axpy.
func axpyRowsOf(axpy func(y []float32, a float32, x []float32)) func(y, coef, x []float32, stride int) {
	return func(y, coef, x []float32, stride int) { axpyRowsLoop(y, coef, x, stride, axpy) }
}

// axpyRowsLoop is AxpyRowsF32 with axpy, row by row.
func axpyRowsLoop(y, coef, x []float32, stride int, axpy func(y []float32, a float32, x []float32)) {
	n := len(y)
	for p, c := range coef {
		axpy(y, c, x[p*stride:p*stride+n])
	}
}

// tileFor returns the 4x4 tile kernel for t, or nil.
func (s *kernelSet) tileFor(t DType) qTileFn {
	switch t {
	case Q8_0:
		return s.q8_0Tile
	case Q4_0:
		return s.q4_0Tile
	}
	return nil
}

// colsFor returns the 2x4 kernel for t, or nil.
func (s *kernelSet) colsFor(t DType) qColsFn {
	switch t {
	case Q8_0:
		return s.q8_0Cols
	case Q4_0:
		return s.q4_0Cols
	case MXFP4:
		return s.ext.mxfp4Cols
	case Q5_0:
		return s.ext.q5_0Cols
	case Q4_1:
		return s.ext.q4_1Cols
	}
	return nil
}

// kColsFor returns the 1x4 k-quant kernel for t, or nil.
func (s *kernelSet) kColsFor(t DType) kColsFn {
	switch t {
	case Q4_K:
		return s.q4KCols
	case Q6_K:
		return s.q6KCols
	case Q5_K:
		return s.ext.q5KCols
	case IQ4_XS:
		return s.ext.iq4XSCols
	case Q3_K:
		return s.ext.q3KCols
	}
	return nil
}

// wide8 reports whether the set's 4x8 tile kernel for t takes its group
// packed by packColWide.
func (s *kernelSet) wide8(t DType) bool {
	return t == Q8_0 && s.q8_0Wide8
}

// tile16For returns the 2x16 tile kernel for t, or nil.
func (s *kernelSet) tile16For(t DType) qTileFn {
	if t == Q8_0 {
		return s.q8_0Tile16
	}
	return nil
}

// tile8For returns the 4x8 tile kernel for t, or nil.
func (s *kernelSet) tile8For(t DType) qTileFn {
	switch t {
	case Q8_0:
		return s.q8_0Tile8
	case Q4_0:
		return s.q4_0Tile8
	}
	return nil
}
