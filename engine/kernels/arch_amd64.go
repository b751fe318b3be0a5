//go:build amd64

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func dotF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dotBF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func axpyAVX512(y, x *float32, n int, a float32)

//go:noescape
func q8_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func q8_0x4VNNI(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func q4_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func q4_0x4VNNI(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func siluMulAVX2(x, y *float32, n int) int

//go:noescape
func dotRowsAVX2(a, b *float32, n, stride, rows int, out *float32)

//go:noescape
func axpyRowsAVX2(y, x *float32, n, stride, rows int, coef *float32)

//go:noescape
func q4Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

//go:noescape
func q6Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

//go:noescape
func q4Kx4VNNI(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

//go:noescape
func q4Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)

//go:noescape
func q6Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)

//go:noescape
func q8_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

//go:noescape
func q4_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

//go:noescape
func q8_0x4x4VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)

//go:noescape
func q4_0x4x4VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)

//go:noescape
func quantActAVX512(x *float32, nb int, q *int8, d *float32, s *int32)

//go:noescape
func q8_0x4x8VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)

//go:noescape
func q4_0x4x8VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW &&
		cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

	avx2Set = kernelSet{
		impl:     AVX2,
		quantAct: quantizeAct,
		dotF32:   dotF32Asm,
		axpyF32:  axpyAsm(axpyAVX2, 8),
		dotRows:  dotRowsAsm,
		axpyRows: axpyRowsAsm(axpyRowsAVX2, 8, axpyAsm(axpyAVX2, 8)),
		f32Rows:  f32RowsAsm,
		f16Rows:  halfRowsAsm(dotF16AVX2, dotF16Generic),
		bf16Rows: halfRowsAsm(dotBF16AVX2, dotBF16Generic),
		q8_0Rows: q4RowsAsm(q8_0x4AVX2),
		q4_0Rows: q4RowsAsm(q4_0x4AVX2),
		q4KRows:  kRowsAsm(q4Kx4AVX2),
		q6KRows:  kRowsAsm(q6Kx4AVX2),
		q8_0Cols: q8_0x2x4AVX2,
		q4_0Cols: q4_0x2x4AVX2,
		q4KCols:  q4Kx1x4AVX2,
		q6KCols:  q6Kx1x4AVX2,
		siluMul:  siluMulAsm,
		ext:      avx2Ext,
		q4_0P1:   q4_0P1AVX2,
		q4_0P2:   q4_0P2AVX2,
		q4_0P3:   q4_0P3AVX2,
		q4_0P4:   q4_0P4AVX2,
		q4KP1:    q4KP1AVX2,
		q4KP2:    q4KP2AVX2,
		q4KP3:    q4KP3AVX2,
		q4KP4:    q4KP4AVX2,
		q8_0P1:   q8_0P1AVX2,
		q8_0P2:   q8_0P2AVX2,
		q8_0P3:   q8_0P3AVX2,
		q8_0P4:   q8_0P4AVX2,
		kq:       kqAVX2,
		q6KP1:    q6KP1AVX2,
		q6KP2:    q6KP2AVX2,
		q6KP3:    q6KP3AVX2,
		q6KP4:    q6KP4AVX2,

		// Prefill: 4 rows x 8 columns of q8_0 (tile8_avx2_amd64.s).
		q8_0Tile8:  q8_0x4x8AVX2,
		q8_0Wide8:  true,
		q8_0Tile16: q8_0x2x16AVX2,
	}
	avx512Set = kernelSet{
		impl:      AVX512,
		dotF32:    dotF32Asm,
		axpyF32:   axpyAsm(axpyAVX512, 16),
		dotRows:   dotRowsAsm,
		axpyRows:  axpyRowsOf(axpyAsm(axpyAVX512, 16)),
		f32Rows:   f32RowsAsm,
		f16Rows:   halfRowsAsm(dotF16AVX2, dotF16Generic),
		bf16Rows:  halfRowsAsm(dotBF16AVX2, dotBF16Generic),
		q8_0Rows:  q4RowsAsm(q8_0x4VNNI),
		q4_0Rows:  q4RowsAsm(q4_0x4VNNI),
		q4KRows:   kRowsAsm(q4Kx4VNNI),
		q6KRows:   kRowsAsm(q6Kx4AVX2),
		q4KCols:   q4Kx1x4AVX2,
		q6KCols:   q6Kx1x4AVX2,
		q8_0Tile:  q8_0x4x4VNNI,
		q4_0Tile:  q4_0x4x4VNNI,
		q8_0Tile8: q8_0x4x8VNNI,
		quantAct: func(c qcol, x []float32) {
			if nb := len(c.d); nb > 0 {
				_ = x[nb*qk-1]
				_ = c.q[nb*qk-1]
				_ = c.s[nb-1]
				quantActAVX512(&x[0], nb, &c.q[0], &c.d[0], &c.s[0])
			}
		},
		q4_0Tile8: q4_0x4x8VNNI,
		siluMul:   siluMulAsm,
		q4_0P1:    q4_0P1VNNI,
		q4_0P4:    q4_0P4VNNI,
		q4KP1:     q4KP1VNNI,
		q4KP4:     q4KP4VNNI,
		kq:        kqVNNI,
		q6KP1:     q6KP1VNNI,
		q6KP2:     q6KP2VNNI,
		q6KP3:     q6KP3VNNI,
		q6KP4:     q6KP4VNNI,
		q4_0P2:    q4_0P2VNNI,
		q4_0P3:    q4_0P3VNNI,
		q4KP2:     q4KP2VNNI,
		q4KP3:     q4KP3VNNI,
		q8_0P1:    q8_0P1VNNI,
		q8_0P2:    q8_0P2VNNI,
		q8_0P3:    q8_0P3VNNI,
		q8_0P4:    q8_0P4VNNI,
		ext:       avx512Ext,
	}
)

func archSet(i Impl) *kernelSet {
	switch {
	case i == AVX2 && hasAVX2:
		return &avx2Set
	case i == AVX512 && hasAVX512:
		return &avx512Set
	}
	return nil
}

// The float dots of both amd64 sets are the AVX2 16-lane kernels, which
// give the canonical (generic) results for lengths that are multiples of
// 16; other lengths use the generic kernels.

// dotF32Asm is the canonical dot product of a and b (len(b) >= len(a)).
func dotF32Asm(a, b []float32) float32 {
	n := len(a)
	if n == 0 || n%fLanes != 0 {
		return dotF32Generic(a, b)
	}
	_ = b[n-1]
	var s float32
	dotRowsAVX2(&a[0], &b[0], n, 0, 1, &s)
	return s
}

// siluMulAsm is siluMul with siluMulAVX2 on whole groups of 8 (bitwise
// the same results).
func siluMulAsm(g, u []float32) {
	n := len(g) &^ 7
	if n > 0 {
		_ = u[:n]
		for i := 0; i < n; {
			i += siluMulAVX2(&g[i], &u[i], n-i)
			if i < n { // a group with an argument Exp32 treats apart
				siluMul(g[i:i+8], u[i:i+8])
				i += 8
			}
		}
	}
	siluMul(g[n:], u[n:len(g)])
}

// axpyAVX2 is y += a*x over n elements (n % 8 == 0): axpyRowsAVX2 on one
// row.
func axpyAVX2(y, x *float32, n int, a float32) {
	axpyRowsAVX2(y, x, n, 0, 1, &a)
}

// dotRowsAsm is DotRowsF32 with dotRowsAVX2 for lengths that are
// multiples of 16.
func dotRowsAsm(dst, a, b []float32, stride int) {
	n := len(a)
	if n == 0 || n%fLanes != 0 {
		dotRowsLoop(dst, a, b, stride, dotF32Generic)
		return
	}
	_ = b[(len(dst)-1)*stride+n-1]
	dotRowsAVX2(&a[0], &b[0], n, stride, len(dst), &dst[0])
}

// axpyRowsAsm wraps axpyRowsAVX2 for lengths that are multiples of step;
// other lengths go row by row through axpy.
func axpyRowsAsm(k func(y, x *float32, n, stride, rows int, coef *float32), step int, axpy func(y []float32, a float32, x []float32)) func(y, coef, x []float32, stride int) {
	return func(y, coef, x []float32, stride int) {
		n := len(y)
		if n == 0 || n%step != 0 {
			axpyRowsLoop(y, coef, x, stride, axpy)
			return
		}
		_ = x[(len(coef)-1)*stride+n-1]
		k(&y[0], &x[0], n, stride, len(coef), &coef[0])
	}
}

func axpyAsm(k func(y, x *float32, n int, a float32), step int) func(y []float32, a float32, x []float32) {
	return func(y []float32, a float32, x []float32) {
		n := len(y)
		x = x[:n]
		m := n &^ (step - 1)
		if m > 0 {
			k(&y[0], &x[0], m, a)
		}
		for i := m; i < n; i++ {
			y[i] += a * x[i]
		}
	}
}

// f32RowsAsm computes rows of float32 weights against x.
var f32RowsAsm = floatRowsAsm(4, dotF32RowAVX2, dotF32Bytes)

// dotF32RowAVX2 is the 16-lane dot of a float32 row (as bytes) with x.
func dotF32RowAVX2(w *byte, x *float32, n int) float32 {
	var s float32
	dotRowsAVX2((*float32)(unsafe.Pointer(w)), x, n, 0, 1, &s)
	return s
}

// halfRowsAsm adapts a 16-bit-weight asm dot.
func halfRowsAsm(k func(w *byte, x *float32, n int) float32, generic func(w []byte, x []float32) float32) fRowsFn {
	return floatRowsAsm(2, k, generic)
}

// kRowsAsm adapts a 4-row k-quant asm kernel like q4RowsAsm.
func kRowsAsm(k func(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)) qRowsFn {
	return func(dst []float32, w []byte, rowBytes int, a qcol) {
		nsb := len(a.d)
		if nsb == 0 {
			clear(dst)
			return
		}
		_ = w[:len(dst)*rowBytes]
		_ = a.q[:nsb*qkK]
		_ = a.s[:nsb*8]
		r := 0
		for ; r+4 <= len(dst); r += 4 {
			k(&w[r*rowBytes], rowBytes, &a.q[0], &a.d[0], &a.s[0], nsb, &dst[r])
		}
		var out [4]float32
		for ; r < len(dst); r++ {
			k(&w[r*rowBytes], 0, &a.q[0], &a.d[0], &a.s[0], nsb, &out[0])
			dst[r] = out[0]
		}
	}
}

//go:noescape
func q4_0P1VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q4_0P4VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4KP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q4KP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4_0P1AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q4KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q4KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4KP3AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4_0P2VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4_0P3VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4KP3VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4_0P2AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4_0P3AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q4_0P4AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
