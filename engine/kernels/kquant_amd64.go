//go:build amd64

package kernels

//go:noescape
func q4KIsumsAVX2(qs *byte, xq *int8, out *int32)

//go:noescape
func q6KIsumsAVX2(blk *byte, xq *int8, out *int32)

// dotQ4KAVX2 is dotQ4KGeneric with the integer sub-block products in AVX2
// assembly; the float operations are the same, so results are bitwise
// equal to the generic kernel.
func dotQ4KAVX2(w []byte, a qcol) float32 {
	var sum float32
	nb := len(a.d) / 8
	_ = w[:nb*q4KBytes]
	_ = a.q[:nb*qkK]
	_ = a.s[:nb*8]
	var is [8]int32
	for b := 0; b < nb; b++ {
		blk := w[b*q4KBytes : (b+1)*q4KBytes]
		d := f16At(blk, 0)
		dmin := f16At(blk, 2)
		scales := blk[4:16]
		q4KIsumsAVX2(&blk[16], &a.q[b*qkK], &is[0])
		var sumd, summ float32
		for j := 0; j < 8; j++ {
			sc, m := scaleMinK4(j, scales)
			dx := a.d[b*8+j]
			sumd += dx * float32(is[j]*int32(sc))
			summ += dx * float32(a.s[b*8+j]*int32(m))
		}
		sum += d*sumd - dmin*summ
	}
	return sum
}

// dotQ6KAVX2 is dotQ6KGeneric with the integer products in AVX2 assembly
// (bitwise equal results).
func dotQ6KAVX2(w []byte, a qcol) float32 {
	var sum float32
	nb := len(a.d) / 8
	_ = w[:nb*q6KBytes]
	_ = a.q[:nb*qkK]
	var is [16]int32
	for b := 0; b < nb; b++ {
		blk := w[b*q6KBytes : (b+1)*q6KBytes]
		sc := blk[192:208]
		d := f16At(blk, 208)
		q6KIsumsAVX2(&blk[0], &a.q[b*qkK], &is[0])
		var bsum float32
		for j := 0; j < 8; j++ {
			k := (j/4)*8 + j%4
			isum := is[k]*int32(int8(sc[2*j])) + is[k+4]*int32(int8(sc[2*j+1]))
			bsum += a.d[b*8+j] * float32(isum)
		}
		sum += d * bsum
	}
	return sum
}
