package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCanonicalRowKernels checks every set's q8_0 and q4_0 row kernels
// bitwise against the generic ones on raw blocks, including the extremes
// the quantizers never write but a file may hold: weights of -128 (q8_0)
// and every nibble, subnormal, huge and negative fp16 scales, activations
// of +-127 and -128, for every row count up to 9 (the 4-row kernels'
// tails) and block counts with and without a remainder of 4.
func TestCanonicalRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	half := func(mode int) uint16 {
		switch mode {
		case 0: // subnormal
			return uint16(1+rng.IntN(0x3ff)) | uint16(rng.IntN(2))<<15
		case 1: // large
			return uint16(0x7000+rng.IntN(0xbff)) | uint16(rng.IntN(2))<<15
		}
		return uint16(0x1000+rng.IntN(0x3000)) | uint16(rng.IntN(2))<<15
	}
	for _, impl := range Available() {
		set := setFor(impl)
		for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, MXFP4, IQ4_XS, Q4_1} {
			gen := genericSet.rowsFor(typ)
			got := set.rowsFor(typ)
			bs := typ.BlockSize()
			halves := map[DType][]int{Q4_K: {0, 2}, Q5_K: {0, 2}, Q6_K: {208}, Q4_1: {0, 2}}[typ] // the fp16 scales' offsets in a block
			if halves == nil {
				halves = []int{0}
			}
			for _, nb := range []int{1, 2, 3, 7, 64} {
				for _, wmode := range []string{"random", "min", "max"} {
					for rows := 1; rows <= 9; rows++ {
						name := fmt.Sprintf("%s/%s/nb%d/%s/rows%d", impl, typ, nb, wmode, rows)
						rb := nb * typ.BlockBytes()
						w := make([]byte, rows*rb)
						for i := range w {
							switch wmode {
							case "random":
								w[i] = byte(rng.Uint32())
							case "min":
								w[i] = 0x80 // q8_0 -128; q4_0 nibbles 0 and 8
							default:
								w[i] = 0xff // q8_0 -1; q4_0 nibbles 15
							}
						}
						for off := 0; typ != MXFP4 && off < len(w); off += typ.BlockBytes() { // mxfp4: every E8M0 byte
							for _, h := range halves {
								put16(w, off+h, half(rng.IntN(3)))
							}
						}
						c := qcol{q: make([]int8, nb*bs), d: make([]float32, nb), s: make([]int32, nb*bs/qk)}
						if kQuant(typ) {
							quantizeActK(c, randVec(rng, nb*bs))
						} else {
							quantizeAct(c, randVec(rng, nb*bs))
						}
						for i := range c.q {
							switch rng.IntN(8) {
							case 0:
								c.q[i] = 127
							case 1:
								c.q[i] = -127
							}
						}
						for b := range c.s {
							var s int32
							for _, v := range c.q[b*qk : (b+1)*qk] {
								s += int32(v)
							}
							c.s[b] = s
						}
						want, have := make([]float32, rows), make([]float32, rows)
						gen(want, w, rb, c)
						got(have, w, rb, c)
						if i := bitsEqual(have, want); i >= 0 {
							t.Fatalf("%s: [%d] = %g, generic %g", name, i, have[i], want[i])
						}
					}
				}
			}
		}
	}
}

// rowsFor returns the set's row kernel for t.
func (s *kernelSet) rowsFor(t DType) qRowsFn {
	switch t {
	case Q8_0:
		return s.q8_0Rows
	case Q4_0:
		return s.q4_0Rows
	case Q4_K:
		return s.q4KRows
	case Q6_K:
		return s.q6KRows
	}
	return s.ext.rows(t)
}
