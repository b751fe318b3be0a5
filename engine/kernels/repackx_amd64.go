//go:build amd64

package kernels

//go:noescape
func q4_1P1VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q4_1P4VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q5_0P1VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q5_0P4VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func mxfp4P1VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func mxfp4P4VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func iq4XSP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func iq4XSP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

// avx512Packed: the AVX-512 VNNI kernels for repacked q4_1, q5_0, mxfp4
// and iq4_xs matrices (q32x_avx512_amd64.s).
var avx512Packed = extPacked{
	q4_1P1: q4_1P1VNNI, q4_1P4: q4_1P4VNNI,
	q5_0P1: q5_0P1VNNI, q5_0P4: q5_0P4VNNI,
	mxfp4P1: mxfp4P1VNNI, mxfp4P4: mxfp4P4VNNI,
	iq4XSP1: iq4XSP1VNNI, iq4XSP4: iq4XSP4VNNI,
}

//go:noescape
func q4_1P1AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q4_1P4AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q5_0P1AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q5_0P4AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func mxfp4P1AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func mxfp4P4AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func iq4XSP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func iq4XSP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

// avx2Packed: the AVX2 kernels for repacked q4_1, q5_0, mxfp4 and iq4_xs
// matrices (q32x_p_avx2_amd64.s), 8 rows per ymm, bitwise the AVX-512
// ones'.
var avx2Packed = extPacked{
	q4_1P1: q4_1P1AVX2, q4_1P4: q4_1P4AVX2,
	q5_0P1: q5_0P1AVX2, q5_0P4: q5_0P4AVX2,
	mxfp4P1: mxfp4P1AVX2, mxfp4P4: mxfp4P4AVX2,
	iq4XSP1: iq4XSP1AVX2, iq4XSP4: iq4XSP4AVX2,
}
