//go:build amd64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKQuantRowKernels checks the 4-row k-quant assembly kernels of every
// set against the generic dots on random bytes (every 6-bit scale and min,
// every nibble and 6-bit value), random fp16 scales and extreme
// activations (-128..127), for row counts with tail rows (stride 0) and
// several super-block counts: bitwise the generic (canonical) result, and
// the same for a row whatever its position in the matrix.
func TestKQuantRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	type kernel struct {
		name string
		fn   qRowsFn
	}
	var ks []kernel
	for _, impl := range Available()[1:] {
		set := setFor(impl)
		ks = append(ks, kernel{impl.String() + "/q4_k", set.q4KRows}, kernel{impl.String() + "/q6_k", set.q6KRows})
	}
	for _, k := range ks {
		typ := Q4_K
		if k.name[len(k.name)-4:] == "q6_k" {
			typ = Q6_K
		}
		for _, nsb := range []int{1, 3, 8} {
			for _, rows := range []int{1, 4, 7} {
				t.Run(fmt.Sprintf("%s/nsb%d/rows%d", k.name, nsb, rows), func(t *testing.T) {
					cols := nsb * qkK
					rb, _ := typ.RowBytes(cols)
					w := make([]byte, rows*rb)
					for i := range w {
						w[i] = byte(rng.Uint32())
					}
					for r := 0; r < rows; r++ {
						for b := 0; b < nsb; b++ { // finite fp16 scales
							o := r*rb + b*typ.BlockBytes()
							if typ == Q4_K {
								put16(w, o, F32ToF16(float32(rng.NormFloat64())))
								put16(w, o+2, F32ToF16(float32(rng.Float64())))
							} else {
								put16(w, o+208, F32ToF16(float32(rng.NormFloat64())))
							}
						}
					}
					a := qcol{q: make([]int8, cols), d: make([]float32, cols/qkK), s: make([]int32, cols/qk)}
					for i := range a.q {
						a.q[i] = int8(rng.Uint32())
					}
					a.q[0], a.q[1], a.q[cols-1] = -128, 127, -128
					for i := range a.d {
						a.d[i] = float32(rng.Float64())
					}
					for i := range a.s {
						var s int32
						for _, v := range a.q[i*qk : (i+1)*qk] {
							s += int32(v)
						}
						a.s[i] = s
					}
					got := make([]float32, rows)
					k.fn(got, w, rb, a)
					for r := 0; r < rows; r++ {
						row := w[r*rb : (r+1)*rb]
						want := dotQ4KGeneric(row, a)
						if typ == Q6_K {
							want = dotQ6KGeneric(row, a)
						}
						if math.Float32bits(got[r]) != math.Float32bits(want) {
							t.Fatalf("row %d = %g, generic %g", r, got[r], want)
						}
						one := make([]float32, 1)
						k.fn(one, row, rb, a)
						if math.Float32bits(one[0]) != math.Float32bits(got[r]) {
							t.Fatalf("row %d alone = %g, in the matrix %g", r, one[0], got[r])
						}
					}
				})
			}
		}
	}
}

// TestKQuantColsKernels checks the 1-row x 4-column k-quant kernels
// bitwise against the set's row kernels on random bytes (every scale,
// nibble and 6-bit value) and extreme activations.
func TestKQuantColsKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, impl := range Available() {
		set := setFor(impl)
		for _, tc := range []struct {
			typ  DType
			rows qRowsFn
			cols kColsFn
		}{{Q4_K, set.q4KRows, set.q4KCols}, {Q6_K, set.q6KRows, set.q6KCols}} {
			for _, nsb := range []int{1, 2, 5} {
				if tc.cols == nil {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/nsb%d", impl, tc.typ, nsb), func(t *testing.T) {
					const rows, n = 3, 4
					cols := nsb * qkK
					nb := cols / qk
					rb := nsb * tc.typ.BlockBytes()
					w := make([]byte, rows*rb)
					for i := range w {
						w[i] = byte(rng.Uint32())
					}
					for r := 0; r < rows; r++ {
						for b := 0; b < nsb; b++ {
							o := r*rb + b*tc.typ.BlockBytes()
							if tc.typ == Q4_K {
								put16(w, o, F32ToF16(float32(rng.NormFloat64())))
								put16(w, o+2, F32ToF16(float32(rng.Float64())))
							} else {
								put16(w, o+208, F32ToF16(float32(rng.NormFloat64())))
							}
						}
					}
					a := qcol{q: make([]int8, n*cols), d: make([]float32, n*nsb), s: make([]int32, n*nb)}
					for i := range a.q {
						a.q[i] = int8(rng.Uint32())
					}
					a.q[0], a.q[n*cols-1] = -128, 127
					for i := range a.d {
						a.d[i] = float32(rng.Float64())
					}
					for i := range a.s {
						var s int32
						for _, v := range a.q[i*qk : (i+1)*qk] {
							s += int32(v)
						}
						a.s[i] = s
					}
					col := func(c int) qcol {
						return qcol{q: a.q[c*cols : (c+1)*cols], d: a.d[c*nsb : (c+1)*nsb], s: a.s[c*nb : (c+1)*nb]}
					}
					want := make([]float32, n*rows)
					for c := 0; c < n; c++ {
						tc.rows(want[c*rows:(c+1)*rows], w, rb, col(c))
					}
					got := make([]float32, n*rows)
					for r := 0; r < rows; r++ {
						tc.cols(&w[r*rb], &a.q[0], &a.d[0], &a.s[0], nsb, &got[r], 4*rows)
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("column %d row %d = %g, row kernel %g", i/rows, i%rows, got[i], want[i])
						}
					}
				})
			}
		}
	}
}
