//go:build amd64

package kernels

// q8_0x4x8AVX2 is the AVX2 q8_0 tile kernel of 4 rows x 8 packed columns
// (tile8_avx2_amd64.s), a qTileFn.
//
//go:noescape
func q8_0x4x8AVX2(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)

// q8_0x2x16AVX2 is the AVX2 q8_0 tile kernel of 2 rows x 16 packed
// columns (two adjacent groups of packColWide), a qTileFn.
//
//go:noescape
func q8_0x2x16AVX2(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
