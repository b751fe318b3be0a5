//go:build amd64

package kernels

// Kernels for repacked q6_k matrices (repack_q6k_amd64.s), with the
// activation sums of q6KPairSums as xs.

//go:noescape
func q6KP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q6KP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q6KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)

//go:noescape
func q6KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q6KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q6KP3VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q6KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

//go:noescape
func q6KP3AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
