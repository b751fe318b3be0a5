//go:build amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKQuantAVX2 checks the AVX2 k-quant dots bitwise against the generic
// ones, including extreme activations (-128..127) and random bytes.
func TestKQuantAVX2(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, typ := range []DType{Q4_K, Q6_K} {
		for _, nsb := range []int{1, 3, 8} {
			cols := nsb * qkK
			rb, _ := typ.RowBytes(cols)
			w := make([]byte, rb)
			for i := range w {
				w[i] = byte(rng.Uint32())
			}
			for b := 0; b < nsb; b++ { // sane fp16 scales
				if typ == Q4_K {
					put16(w, b*q4KBytes, F32ToF16(float32(rng.Float64())))
					put16(w, b*q4KBytes+2, F32ToF16(float32(rng.Float64())))
				} else {
					put16(w, b*q6KBytes+208, F32ToF16(float32(rng.Float64())))
				}
			}
			a := qcol{q: make([]int8, cols), d: make([]float32, cols/qk), s: make([]int32, cols/qk)}
			for i := range a.q {
				a.q[i] = int8(rng.Uint32())
			}
			a.q[0], a.q[1] = -128, 127
			for i := range a.d {
				a.d[i] = float32(rng.Float64())
				var s int32
				for _, v := range a.q[i*qk : (i+1)*qk] {
					s += int32(v)
				}
				a.s[i] = s
			}
			var got, want float32
			if typ == Q4_K {
				got, want = dotQ4KAVX2(w, a), dotQ4KGeneric(w, a)
			} else {
				got, want = dotQ6KAVX2(w, a), dotQ6KGeneric(w, a)
			}
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("%s nsb=%d: avx2 %g, generic %g", typ, nsb, got, want)
			}
		}
	}
}
