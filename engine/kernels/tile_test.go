package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestTileKernels checks every tile kernel against the row kernels of its
// set, bitwise, including an int8 -128 weight and a zero block.
func TestTileKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, impl := range Available() {
		set := setFor(impl)
		for _, typ := range []DType{Q8_0, Q4_0} {
			tile := set.tileFor(typ)
			if tile == nil {
				continue
			}
			rowsFn := map[DType]qRowsFn{Q8_0: set.q8_0Rows, Q4_0: set.q4_0Rows}[typ]
			for _, cols := range []int{32, 96, 2048} {
				t.Run(fmt.Sprintf("%s/%s/%d", impl, typ, cols), func(t *testing.T) {
					const rows, n = 8, 4
					w, _ := randMat(t, rng, typ, rows, cols)
					rb := w.RowBytes()
					clear(w.Data[rb+2 : rb+2+typ.BlockBytes()-2]) // a zero block
					nb := cols / qk
					x := randVec(rng, n*cols)
					c := qcol{q: make([]int8, n*cols), d: make([]float32, n*nb), s: make([]int32, n*nb)}
					for b := 0; b < n; b++ {
						quantizeAct(qcol{q: c.q[b*cols : (b+1)*cols], d: c.d[b*nb : (b+1)*nb], s: c.s[b*nb : (b+1)*nb]}, x[b*cols:(b+1)*cols])
					}
					want := make([]float32, n*rows)
					for b := 0; b < n; b++ {
						rowsFn(want[b*rows:(b+1)*rows], w.Data, rb, qcol{q: c.q[b*cols : (b+1)*cols], d: c.d[b*nb : (b+1)*nb], s: c.s[b*nb : (b+1)*nb]})
					}
					xp := make([]byte, nb*packBytes)
					var g [4]qcol
					for b := range g {
						g[b] = qcol{q: c.q[b*cols : (b+1)*cols], d: c.d[b*nb : (b+1)*nb], s: c.s[b*nb : (b+1)*nb]}
					}
					packGroup(xp, &g)
					got := make([]float32, n*rows)
					for r := 0; r < rows; r += 4 {
						tile(&w.Data[r*rb], rb, &xp[0], nb, &got[r], 4*rows)
					}
					if i := bitsEqual(got, want); i >= 0 {
						t.Fatalf("tile[%d] = %g, rows kernel %g", i, got[i], want[i])
					}
					// 4x8 tile: columns 0..3 twice over (8 columns).
					tile8 := set.tile8For(typ)
					if tile8 == nil {
						return
					}
					xp8 := make([]byte, nb*2*packBytes)
					for b := 0; b < 8; b++ {
						packCol(xp8, 8, b, g[b%4], packFlip(typ, 8))
					}
					got8 := make([]float32, 8*rows)
					for r := 0; r < rows; r += 4 {
						tile8(&w.Data[r*rb], rb, &xp8[0], nb, &got8[r], 4*rows)
					}
					if i := bitsEqual(got8, append(want, want...)); i >= 0 {
						t.Fatalf("tile8[%d] = %g, rows kernel %g", i, got8[i], want[i%len(want)])
					}
				})
			}
		}
	}
}

// TestColsKernels checks every 2-row x 4-column kernel against the row
// kernels of its set, bitwise: random weight bytes (every int8 and nibble,
// -128 included), random fp16 scales, a zero block, extreme activations
// and block counts from 1 up.
func TestColsKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	tested := 0
	for _, impl := range Available() {
		set := setFor(impl)
		for _, typ := range []DType{Q8_0, Q4_0} {
			k := set.colsFor(typ)
			if k == nil {
				continue
			}
			tested++
			rowsFn := map[DType]qRowsFn{Q8_0: set.q8_0Rows, Q4_0: set.q4_0Rows}[typ]
			for _, nb := range []int{1, 2, 3, 5, 64} {
				t.Run(fmt.Sprintf("%s/%s/%d", impl, typ, nb), func(t *testing.T) {
					const rows, n = 6, 4
					cols := nb * qk
					rb := nb * typ.BlockBytes()
					w := make([]byte, rows*rb)
					for i := range w {
						w[i] = byte(rng.Uint32())
					}
					for r := 0; r < rows; r++ {
						for b := 0; b < nb; b++ {
							put16(w, r*rb+b*typ.BlockBytes(), F32ToF16(float32(rng.NormFloat64())))
						}
					}
					clear(w[rb+2 : rb+typ.BlockBytes()]) // a zero block
					c := qcol{q: make([]int8, n*cols), d: make([]float32, n*nb), s: make([]int32, n*nb)}
					for b := 0; b < n; b++ {
						col := qcol{q: c.q[b*cols : (b+1)*cols], d: c.d[b*nb : (b+1)*nb], s: c.s[b*nb : (b+1)*nb]}
						quantizeAct(col, randVec(rng, cols))
						if b == 3 {
							col.q[0], col.q[cols-1] = -127, 127
						}
					}
					want := make([]float32, n*rows)
					for b := 0; b < n; b++ {
						rowsFn(want[b*rows:(b+1)*rows], w, rb, qcol{q: c.q[b*cols : (b+1)*cols], d: c.d[b*nb : (b+1)*nb], s: c.s[b*nb : (b+1)*nb]})
					}
					got := make([]float32, n*rows)
					for r := 0; r < rows; r += 2 {
						k(&w[r*rb], rb, &c.q[0], &c.d[0], nb, &got[r], 4*rows)
					}
					if i := bitsEqual(got, want); i >= 0 {
						t.Fatalf("element %d (column %d, row %d) = %g, rows kernel %g", i, i/rows, i%rows, got[i], want[i])
					}
				})
			}
		}
	}
	if tested == 0 {
		t.Log("no 2x4 kernels on this CPU")
	}
}
