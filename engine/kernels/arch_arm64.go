//go:build arm64

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The NEON set (arm64 Advanced SIMD with the ARMv8.2 dot-product
// extension, which every Apple M-series and Neoverse core has), each
// kernel bitwise the generic results: q8_0 and q4_0 products with SDOT
// integer dot products (qdot_arm64.s: 4 rows x 1 column for vectors;
// qcols_arm64.s: 2 rows x 4 columns for batches), q4_k, q5_k, q6_k and
// iq4_xs rows (kquant_arm64.s), mxfp4 and q4_1 rows (qx_arm64.s), and the
// float dot products and axpy (f32, f16 and bf16 weights, attention
// scores and sums; floats_arm64.s); everything else is the generic
// kernels. Without SDOT (HWCAP asimddp, macOS hw.optional.arm.FEAT_DotProd)
// the CPU runs the generic set.

//go:noescape
func q8_0x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func q4_0x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func q8_0x2x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

//go:noescape
func q4_0x2x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

//go:noescape
func dotRowsNEON(a, b *float32, n, stride, rows int, out *float32)

//go:noescape
func dotF16NEON(w *byte, x *float32, n int) float32

//go:noescape
func dotBF16NEON(w *byte, x *float32, n int) float32

//go:noescape
func axpyRowsNEON(y, x *float32, n, stride, rows int, coef *float32)

//go:noescape
func q4KRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

//go:noescape
func q5KRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

//go:noescape
func mxfp4x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func iq4XSRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, nsb int, out *float32)

//go:noescape
func q4_1x4NEON(w *byte, stride int, xq *int8, xd *float32, xs *int32, nb int, out *float32)

//go:noescape
func q6KRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, nsb int, out *float32)

var (
	hasNEON = cpu.ARM64.HasASIMD && cpu.ARM64.HasASIMDDP

	neonSet = func() kernelSet {
		s := genericSet
		s.impl = NEON
		s.q8_0Rows = q4RowsAsm(q8_0x4NEON)
		s.q4_0Rows = q4RowsAsm(q4_0x4NEON)
		s.q8_0Cols = q8_0x2x4NEON
		s.q4_0Cols = q4_0x2x4NEON
		s.q4KRows = kRowsNEON(q4KRowsNEON)
		s.ext.q5KRows = kRowsNEON(q5KRowsNEON)
		s.ext.mxfp4Rows = q4RowsAsm(mxfp4x4NEON)
		s.ext.q4_1Rows = sRowsAsm(q4_1x4NEON)
		s.q6KRows = k6RowsNEON(q6KRowsNEON)
		s.ext.iq4XSRows = k6RowsNEON(iq4XSRowsNEON)
		s.dotF32 = dotF32NEON
		s.dotRows = dotRowsNEONFn
		s.axpyF32 = axpyF32NEON
		s.axpyRows = axpyRowsNEONFn
		s.f32Rows = floatRowsAsm(4, dotF32RowNEON, dotF32Bytes)
		s.f16Rows = floatRowsAsm(2, dotF16NEON, dotF16Generic)
		s.bf16Rows = floatRowsAsm(2, dotBF16NEON, dotBF16Generic)
		return s
	}()
)

func archSet(i Impl) *kernelSet {
	if i == NEON && hasNEON {
		return &neonSet
	}
	return nil
}

// kRowsNEON adapts a q4_k-style row kernel (all of dst's rows in one
// call) to a qRowsFn.
func kRowsNEON(k func(w *byte, stride, rows int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)) qRowsFn {
	return func(dst []float32, w []byte, rowBytes int, a qcol) {
		nsb := len(a.d)
		if nsb == 0 {
			clear(dst)
			return
		}
		if len(dst) == 0 {
			return
		}
		_ = w[:len(dst)*rowBytes]
		_ = a.q[:nsb*qkK]
		_ = a.s[:nsb*8]
		k(&w[0], rowBytes, len(dst), &a.q[0], &a.d[0], &a.s[0], nsb, &dst[0])
	}
}

// k6RowsNEON adapts a q6_k-style row kernel (no activation sums; all of
// dst's rows in one call) to a qRowsFn.
func k6RowsNEON(k func(w *byte, stride, rows int, xq *int8, xd *float32, nsb int, out *float32)) qRowsFn {
	return func(dst []float32, w []byte, rowBytes int, a qcol) {
		nsb := len(a.d)
		if nsb == 0 {
			clear(dst)
			return
		}
		if len(dst) == 0 {
			return
		}
		_ = w[:len(dst)*rowBytes]
		_ = a.q[:nsb*qkK]
		k(&w[0], rowBytes, len(dst), &a.q[0], &a.d[0], nsb, &dst[0])
	}
}

// The float kernels take whole multiples of fLanes (16) elements; other
// lengths go to the generic kernels, which define the result.

// dotF32NEON is the canonical dot product of a and b (len(b) >= len(a)).
func dotF32NEON(a, b []float32) float32 {
	n := len(a)
	if n == 0 || n%fLanes != 0 {
		return dotF32Generic(a, b)
	}
	_ = b[n-1]
	var s float32
	dotRowsNEON(&a[0], &b[0], n, 0, 1, &s)
	return s
}

// dotRowsNEONFn is DotRowsF32's kernel (len(dst) > 0).
func dotRowsNEONFn(dst, a, b []float32, stride int) {
	n := len(a)
	if n == 0 || n%fLanes != 0 {
		dotRowsLoop(dst, a, b, stride, dotF32Generic)
		return
	}
	_ = b[(len(dst)-1)*stride+n-1]
	dotRowsNEON(&a[0], &b[0], n, stride, len(dst), &dst[0])
}

// dotF32RowNEON is the 16-lane dot of a float32 row (as bytes) with x,
// the weights the first factors as in dotF32Bytes.
func dotF32RowNEON(w *byte, x *float32, n int) float32 {
	var s float32
	dotRowsNEON((*float32)(unsafe.Pointer(w)), x, n, 0, 1, &s)
	return s
}

// axpyF32NEON is y += a*x: whole groups of 16 in assembly, the rest
// element by element as axpyF32Generic does.
func axpyF32NEON(y []float32, a float32, x []float32) {
	n := len(y)
	x = x[:n]
	m := n &^ (fLanes - 1)
	if m > 0 {
		axpyRowsNEON(&y[0], &x[0], m, 0, 1, &a)
	}
	axpyF32Generic(y[m:], a, x[m:])
}

// axpyRowsNEONFn is AxpyRowsF32's kernel (len(coef) > 0).
func axpyRowsNEONFn(y, coef, x []float32, stride int) {
	n := len(y)
	if n == 0 || n%fLanes != 0 {
		axpyRowsLoop(y, coef, x, stride, axpyF32NEON)
		return
	}
	_ = x[(len(coef)-1)*stride+n-1]
	axpyRowsNEON(&y[0], &x[0], n, stride, len(coef), &coef[0])
}
