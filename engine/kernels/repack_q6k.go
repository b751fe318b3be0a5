package kernels

// Repacked q6_k (repack.go's layout). The kernels take the 6-bit values
// q (0..63) as unsigned bytes, so a row's exact int32 sum over its 16
// groups of 16 is
//
//	isum = sum_g sc_g*dot(q-32, x)_g = sum_g sc_g*dot(q, x)_g + 32*sum_g sc_g*(-s_g)
//
// with s_g the sum of the group's 16 activations. q6KPairSums provides
// the -s_g once per column, in the place of the sums of 32 (which no q6_k
// kernel reads), as the word pairs the kernels multiply with the scales'
// word pairs: per super-block and j = 0..3, dword 2j holds -s_4j (low
// half) and -s_4j+2 (high half), dword 2j+1 -s_4j+1 and -s_4j+3. Every
// integer is exact in int32 (|isum| < 2^28), so the float steps see the
// generic isum.

// q6KPairSums overwrites c.s (len 8 per super-block) with the negated
// sums of each 16 quantized activations as described above.
func q6KPairSums(c qcol) {
	for b := range c.d {
		q := c.q[b*qkK : (b+1)*qkK]
		var s [16]int32
		for g := range s {
			for _, v := range q[16*g : 16*g+16] {
				s[g] += int32(v)
			}
		}
		ps := c.s[b*8 : b*8+8]
		for j := 0; j < 4; j++ {
			ps[2*j] = int32(uint32(uint16(-s[4*j])) | uint32(uint16(-s[4*j+2]))<<16)
			ps[2*j+1] = int32(uint32(uint16(-s[4*j+1])) | uint32(uint16(-s[4*j+3]))<<16)
		}
	}
}
