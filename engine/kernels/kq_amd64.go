//go:build amd64

package kernels

// The AVX2 (kq_avx2_amd64.s) and AVX-512 VNNI (kq_vnni_amd64.s) kernels
// of repacked q5_k and q3_k matrices (layouts in repack_kq.go): the 16
// rows of a group against 1 or 4 activation columns, each row's result
// bitwise the generic one.
var (
	kqAVX2 = kqPacked{
		q5KP1: q5KP1AVX2,
		q5KP2: q5KP2AVX2,
		q5KP3: q5KP3AVX2,
		q5KP4: q5KP4AVX2,
		q3KP1: q3KP1AVX2,
		q3KP2: q3KP2AVX2,
		q3KP3: q3KP3AVX2,
		q3KP4: q3KP4AVX2,
	}
	kqVNNI = kqPacked{
		q5KP1: q5KP1VNNI,
		q5KP2: q5KP2VNNI,
		q5KP3: q5KP3VNNI,
		q5KP4: q5KP4VNNI,
		q3KP1: q3KP1VNNI,
		q3KP2: q3KP2VNNI,
		q3KP3: q3KP3VNNI,
		q3KP4: q3KP4VNNI,
	}
)

//go:noescape
func q5KP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q5KP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q3KP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q3KP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q5KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q5KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q3KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q3KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q5KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q5KP3VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q5KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q5KP3AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q3KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q3KP3VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q3KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q3KP3AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
