package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRowsF32 checks the many-rows dot and axpy of every implementation
// bitwise against its single-row dot and axpy called row by row, for row
// lengths that are and are not multiples of the vector width, strides
// larger than the rows (a KV head inside a KV cache row), and 1 to 300
// rows.
func TestRowsF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, impl := range Available() {
		set := setFor(impl)
		for _, n := range []int{5, 8, 13, 16, 24, 64, 72, 96, 128, 136} {
			for _, rows := range []int{1, 2, 7, 300} {
				t.Run(fmt.Sprintf("%s/n%d/rows%d", impl, n, rows), func(t *testing.T) {
					stride := n + rng.IntN(3)*8
					b := randVec(rng, (rows-1)*stride+n)
					a := randVec(rng, n)
					got := make([]float32, rows)
					set.dotRows(got, a, b, stride)
					want := make([]float32, rows)
					for p := range want {
						want[p] = set.dotF32(a, b[p*stride:p*stride+n])
					}
					if i := bitsEqual(got, want); i >= 0 {
						t.Fatalf("dot row %d = %g, row by row %g", i, got[i], want[i])
					}
					coef := randVec(rng, rows)
					y0 := randVec(rng, n)
					gy := append([]float32(nil), y0...)
					set.axpyRows(gy, coef, b, stride)
					wy := append([]float32(nil), y0...)
					for p, c := range coef {
						set.axpyF32(wy, c, b[p*stride:p*stride+n])
					}
					if i := bitsEqual(gy, wy); i >= 0 {
						t.Fatalf("axpy element %d = %g, row by row %g", i, gy[i], wy[i])
					}
				})
			}
		}
	}
}

func TestRowsF32Bounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"dot short b", func() { DotRowsF32(make([]float32, 3), make([]float32, 8), make([]float32, 8*3-1), 8) }},
		{"axpy short x", func() { AxpyRowsF32(make([]float32, 8), make([]float32, 3), make([]float32, 8*3-1), 8) }},
		{"dot negative stride", func() { DotRowsF32(make([]float32, 2), make([]float32, 8), make([]float32, 64), -8) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.fn()
		})
	}
	// Empty inputs are no-ops.
	DotRowsF32(nil, make([]float32, 8), nil, 8)
	AxpyRowsF32(make([]float32, 8), nil, nil, 8)
}
