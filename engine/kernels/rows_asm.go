//go:build amd64 || arm64

package kernels

// The adapters of this file serve the assembly sets of both amd64 (AVX2,
// AVX-512) and arm64 (NEON): their 4-row x 1-column kernels of 32-value
// blocks and their float dots take the same arguments.

// q4RowsAsm adapts a 4-row asm kernel; tail rows run the same kernel with
// stride 0, so every row goes through identical operations.
func q4RowsAsm(k func(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)) qRowsFn {
	return func(dst []float32, w []byte, rowBytes int, a qcol) {
		nb := len(a.d)
		if nb == 0 {
			clear(dst)
			return
		}
		_ = w[:len(dst)*rowBytes]
		_ = a.q[:nb*qk]
		r := 0
		for ; r+4 <= len(dst); r += 4 {
			k(&w[r*rowBytes], rowBytes, &a.q[0], &a.d[0], nb, &dst[r])
		}
		var out [4]float32
		for ; r < len(dst); r++ {
			k(&w[r*rowBytes], 0, &a.q[0], &a.d[0], nb, &out[0])
			dst[r] = out[0]
		}
	}
}

// sRowsAsm adapts a 4-row asm kernel of blocks of 32 that also takes the
// activation sums, like q4RowsAsm.
func sRowsAsm(k func(w *byte, stride int, xq *int8, xd *float32, xs *int32, nb int, out *float32)) qRowsFn {
	return func(dst []float32, w []byte, rowBytes int, a qcol) {
		nb := len(a.d)
		if nb == 0 {
			clear(dst)
			return
		}
		_ = w[:len(dst)*rowBytes]
		_ = a.q[:nb*qk]
		_ = a.s[:nb]
		r := 0
		for ; r+4 <= len(dst); r += 4 {
			k(&w[r*rowBytes], rowBytes, &a.q[0], &a.d[0], &a.s[0], nb, &dst[r])
		}
		var out [4]float32
		for ; r < len(dst); r++ {
			k(&w[r*rowBytes], 0, &a.q[0], &a.d[0], &a.s[0], nb, &out[0])
			dst[r] = out[0]
		}
	}
}

// floatRowsAsm adapts an asm dot of rows of size-byte float weights;
// lengths that are not a multiple of 16 use the generic dot.
func floatRowsAsm(size int, k func(w *byte, x *float32, n int) float32, generic func(w []byte, x []float32) float32) fRowsFn {
	return func(dst []float32, w []byte, rowBytes int, x []float32) {
		n := len(x)
		if n == 0 || n%fLanes != 0 {
			fRowsLoop(generic)(dst, w, rowBytes, x)
			return
		}
		_ = w[:len(dst)*rowBytes]
		for r := range dst {
			row := w[r*rowBytes : r*rowBytes+size*n]
			dst[r] = k(&row[0], &x[0], n)
		}
	}
}
