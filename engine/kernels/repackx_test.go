package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestCanonicalRepackedExt checks products with repacked q4_1, q5_0,
// mxfp4 and iq4_xs matrices of random bits (every scale magnitude,
// mxfp4's subnormal and largest exponents) bitwise against the generic
// kernels on the original ones, for every implementation, one to three
// groups of 16 rows followed by 0 to 9 rows in block layout, several row
// lengths (q5_0 and mxfp4: no run of 8 positions, one and a tail, whole
// runs) and batches of 1 to 9 columns (the 4-column kernels and the
// single-column tails). On amd64 the AVX2 and AVX-512 sets must repack
// these types (a set that lost its kernels fails here rather than
// falling back to reading the rows back).
func TestCanonicalRepackedExt(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	for _, impl := range Available() {
		p, _ := NewPoolImpl(2, impl)
		defer p.Close()
		for _, typ := range []DType{Q4_1, Q5_0, MXFP4, IQ4_XS} {
			if runtime.GOARCH == "amd64" && (impl == AVX2 || impl == AVX512) && !p.set.packedFor(typ) {
				t.Errorf("%s has no kernels for repacked %s", impl, typ)
			}
			bs := typ.BlockSize()
			for _, cols := range []int{bs, 3 * bs, 11 * bs, 2048} {
				for tail := 0; tail <= 9; tail++ {
					rows := 16*(1+rng.IntN(3)) + tail
					n := 1 + rng.IntN(9)
					if tail < 2 {
						n = 4 * (1 + tail) // whole groups of 4 columns only
					}
					t.Run(fmt.Sprintf("%s/%s/%dx%d/n%d", impl, typ, rows, cols, n), func(t *testing.T) {
						w := randBlocks(rng, typ, rows, cols)
						pw := p.Repack(w)
						if pw.Repacked() != p.set.packedFor(typ) {
							t.Fatalf("Repack gave repacked=%v", pw.Repacked())
						}
						if !pw.Repacked() {
							pw = packForTest(w)
						}
						x := randVec(rng, n*cols)
						want := make([]float32, n*rows)
						got := make([]float32, n*rows)
						if err := gen.MatMul(want, w, x, n); err != nil {
							t.Fatal(err)
						}
						if err := p.MatMul(got, pw, x, n); err != nil {
							t.Fatal(err)
						}
						if i := bitsEqual(got, want); i >= 0 {
							t.Fatalf("[%d] = %g, generic %g", i, got[i], want[i])
						}
						// The block layout on the same pool (its row and
						// batch kernels) gives the same bits too.
						if err := p.MatMul(got, w, x, n); err != nil {
							t.Fatal(err)
						}
						if i := bitsEqual(got, want); i >= 0 {
							t.Fatalf("unpacked [%d] = %g, generic %g", i, got[i], want[i])
						}
					})
				}
			}
		}
	}
}
