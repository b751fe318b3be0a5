//go:build amd64

package kernels

//go:noescape
func q5_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func q4_1x4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nb int, out *float32)

//go:noescape
func mxfp4x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)

//go:noescape
func q5Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

//go:noescape
func q5Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)

//go:noescape
func iq4XSx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)

//go:noescape
func mxfp4x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

//go:noescape
func q3Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)

//go:noescape
func q5_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

//go:noescape
func q4_1x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)

//go:noescape
func q3Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

//go:noescape
func iq4XSx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)

// The amd64 row kernels of the later types (qx_avx2_amd64.s), 4 rows x 1
// column, bitwise the generic ones, and the AVX2 kernels for repacked
// matrices of those types (avx2Packed). The AVX-512 set uses the same
// row kernels, with its own for repacked matrices.
var (
	avx2Ext = extKernels{
		q4_1Rows:  sRowsAsm(q4_1x4AVX2),
		q5_0Rows:  q4RowsAsm(q5_0x4AVX2),
		mxfp4Rows: q4RowsAsm(mxfp4x4AVX2),
		q3KRows:   kRowsAsm(q3Kx4AVX2),
		q5KRows:   kRowsAsm(q5Kx4AVX2),
		iq4XSRows: kRowsAsm(iq4XSx4AVX2),
		q5KCols:   q5Kx1x4AVX2,
		iq4XSCols: iq4XSx1x4AVX2,
		mxfp4Cols: mxfp4x2x4AVX2,
		q3KCols:   q3Kx1x4AVX2,
		q5_0Cols:  q5_0x2x4AVX2,
		q4_1Cols:  q4_1x2x4AVX2,
		packed:    avx2Packed,
	}
	avx512Ext = func() extKernels {
		e := avx2Ext
		e.packed = avx512Packed
		return e
	}()
)
