package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestTile8Kernels checks every 4-row x 8-column and 2-row x 16-column
// tile kernel bitwise against the generic row kernels: random weight
// bytes (every int8 and nibble, -128 included), random fp16 scales, a
// zero block, extreme activations (-127 and 127) and block counts from 1
// up, 8 different columns. The AVX2 set must have the q8_0 ones (prefill
// on AVX2-only CPUs).
func TestTile8Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, impl := range Available() {
		set := setFor(impl)
		if impl == AVX2 && (set.tile8For(Q8_0) == nil || set.tile16For(Q8_0) == nil) {
			t.Errorf("the AVX2 set lacks the q8_0 4x8 or 2x16 tile kernel")
		}
		for _, typ := range []DType{Q8_0, Q4_0} {
			tile8 := set.tile8For(typ)
			if tile8 == nil {
				continue
			}
			rowsFn := map[DType]qRowsFn{Q8_0: genericSet.q8_0Rows, Q4_0: genericSet.q4_0Rows}[typ]
			for _, nb := range []int{1, 2, 3, 5, 64} {
				t.Run(fmt.Sprintf("%s/%s/%d", impl, typ, nb), func(t *testing.T) {
					const rows, n = 8, 8
					cols := nb * qk
					bs := typ.BlockBytes()
					rb := nb * bs
					w := make([]byte, rows*rb)
					for i := range w {
						w[i] = byte(rng.Uint32())
					}
					for r := 0; r < rows; r++ {
						for b := 0; b < nb; b++ {
							put16(w, r*rb+b*bs, F32ToF16(float32(rng.NormFloat64())))
						}
					}
					clear(w[rb+2 : rb+bs]) // a zero block
					c := qcol{q: make([]int8, n*cols), d: make([]float32, n*nb), s: make([]int32, n*nb)}
					col := func(b int) qcol {
						return qcol{q: c.q[b*cols : (b+1)*cols], d: c.d[b*nb : (b+1)*nb], s: c.s[b*nb : (b+1)*nb]}
					}
					xp := make([]byte, nb*max(2*packBytes, packWideBytes))
					for b := 0; b < n; b++ {
						quantizeAct(col(b), randVec(rng, cols))
						if b == 3 {
							col(b).q[0], col(b).q[cols-1] = -127, 127
						}
						if set.wide8(typ) {
							packColWide(xp, b, col(b))
						} else {
							packCol(xp, 8, b, col(b), packFlip(typ, 8))
						}
					}
					want := make([]float32, n*rows)
					for b := 0; b < n; b++ {
						rowsFn(want[b*rows:(b+1)*rows], w, rb, col(b))
					}
					got := make([]float32, n*rows)
					for r := 0; r < rows; r += 4 {
						tile8(&w[r*rb], rb, &xp[0], nb, &got[r], 4*rows)
					}
					if i := bitsEqual(got, want); i >= 0 {
						t.Fatalf("element %d (column %d, row %d) = %g, generic %g", i, i/rows, i%rows, got[i], want[i])
					}
					// 2x16: two adjacent groups of 8 (columns 8..15 are
					// columns 0..7 reversed).
					t16 := set.tile16For(typ)
					if t16 == nil {
						return
					}
					xp16 := make([]byte, 2*nb*packWideBytes)
					for b := 0; b < 16; b++ {
						k := b
						if b >= 8 {
							k = 15 - b
						}
						packColWide(xp16[(b/8)*nb*packWideBytes:], b%8, col(k))
					}
					got16 := make([]float32, 16*rows)
					for r := 0; r < rows; r += 2 {
						t16(&w[r*rb], rb, &xp16[0], nb, &got16[r], 4*rows)
					}
					for b := 0; b < 16; b++ {
						k := b
						if b >= 8 {
							k = 15 - b
						}
						if i := bitsEqual(got16[b*rows:(b+1)*rows], want[k*rows:(k+1)*rows]); i >= 0 {
							t.Fatalf("2x16: column %d row %d = %g, generic %g", b, i, got16[b*rows+i], want[k*rows+i])
						}
					}
				})
			}
		}
	}
}
