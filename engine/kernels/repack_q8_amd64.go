//go:build amd64

package kernels

// The AVX-512 VNNI kernels of repacked q8_0 matrices (repack_q8_amd64.s):
// the 16 rows of a group against 1 to 4 activation columns, each row's
// result bitwise the generic one.

//go:noescape
func q8_0P1VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q8_0P2VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q8_0P3VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q8_0P4VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

// The AVX2 kernels of repacked q8_0 matrices (the same file), 1 to 4
// columns as two halves of 8 rows.

//go:noescape
func q8_0P1AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q8_0P2AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q8_0P3AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q8_0P4AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
