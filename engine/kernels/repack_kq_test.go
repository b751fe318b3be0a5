package kernels

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCanonicalRepackedKQ checks products with repacked q5_k and q3_k
// matrices bitwise against the generic kernels on the original ones, for
// every implementation (those without kernels for the layout read the
// rows back), row counts with and without whole groups of 16 and a tail
// of 1..9 rows, batches of 1..9 columns, quantized and random-bit weights
// and activations at the int8 limits; and that a repacked matrix gives
// back every row. The amd64 sets must have the kernels (an AVX2 or
// AVX-512 machine fails rather than reading the rows back).
func TestCanonicalRepackedKQ(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	for _, impl := range Available() {
		p, _ := NewPoolImpl(2, impl)
		defer p.Close()
		for _, typ := range []DType{Q5_K, Q3_K} {
			if (impl == AVX2 || impl == AVX512) && !p.set.packedFor(typ) {
				t.Errorf("%s has no kernels for repacked %s", impl, typ)
			}
			if typ == Q5_K || typ == Q3_K {
				requirePackedSmall(t, impl, typ) // n = 2, 3, 5, 7 go through them
			}
			if r := p.Repack(Mat{Type: typ, Rows: 16, Cols: qkK, Data: make([]byte, 16*typ.BlockBytes())}); r.Repacked() != p.set.packedFor(typ) {
				t.Errorf("%s %s: Repack gave repacked=%v", impl, typ, r.Repacked())
			}
			for _, cols := range []int{qkK, 3 * qkK} {
				for _, rows := range []int{1, 5, 9, 16, 17, 20, 25, 32, 41} {
					for _, wmode := range []string{"quant", "bits"} {
						var w Mat
						if wmode == "quant" {
							w, _ = randMat(t, rng, typ, rows, cols)
						} else {
							w = randBlocks(rng, typ, rows, cols)
						}
						pw := p.Repack(w)
						if !pw.Repacked() && rows >= packRows {
							pw = packForTest(w)
						}
						for r := 0; r < rows; r++ {
							if !bytes.Equal(pw.Row(r), w.Row(r)) {
								t.Fatalf("%s %s: row %d of %d differs repacked", impl, typ, r, rows)
							}
						}
						for n := 1; n <= 9; n++ {
							name := fmt.Sprintf("%s/%s/%s/%dx%d/n%d", impl, typ, wmode, rows, cols, n)
							x := randVec(rng, n*cols)
							switch n {
							case 2: // every activation at +-127
								for i := range x {
									x[i] = 3
								}
								x[cols] = -3
							case 3:
								for i := range x {
									x[i] = float32(1 - 2*(i/16%2))
								}
							}
							want := make([]float32, n*rows)
							got := make([]float32, n*rows)
							if err := gen.MatMul(want, w, x, n); err != nil {
								t.Fatal(err)
							}
							if err := p.MatMul(got, pw, x, n); err != nil {
								t.Fatal(err)
							}
							if i := bitsEqual(got, want); i >= 0 {
								t.Fatalf("%s: [%d] = %g, generic %g", name, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestCanonicalRepackedKQGLU checks a gate and up product of q5_k and q3_k
// matrices, one repacked and one not, against the generic kernels.
func TestCanonicalRepackedKQGLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	for _, impl := range Available() {
		p, _ := NewPoolImpl(2, impl)
		defer p.Close()
		for _, typ := range []DType{Q5_K, Q3_K} {
			const rows, cols = 48, 2 * qkK
			for _, n := range []int{1, 4, 7} {
				w, _ := randMat(t, rng, typ, rows, cols)
				pw := p.Repack(w)
				x := randVec(rng, n*cols)
				want, wantUp := make([]float32, n*rows), make([]float32, n*rows)
				if err := gen.MatMul(want, w, x, n); err != nil {
					t.Fatal(err)
				}
				if err := gen.MatMul(wantUp, w, x, n); err != nil {
					t.Fatal(err)
				}
				siluMul(want, wantUp)
				hb, up := make([]float32, n*rows), make([]float32, n*rows)
				if err := p.MatMulGLU(hb, pw, up, w, x, n); err != nil {
					t.Fatal(err)
				}
				if i := bitsEqual(hb, want); i >= 0 {
					t.Fatalf("%s %s n%d: glu [%d] = %g, generic %g", impl, typ, n, i, hb[i], want[i])
				}
			}
		}
	}
}

// requirePackedSmall fails the test if impl, an amd64 set, lacks the 2-
// and 3-column kernels for repacked typ (a batch of 2 or 3 sessions would
// then unpack each block once per session, unseen by the bitwise tests).
func requirePackedSmall(t *testing.T, impl Impl, typ DType) {
	t.Helper()
	if impl != AVX2 && impl != AVX512 {
		return
	}
	if p2, p3 := setFor(impl).packedSmall(typ); p2 == nil || p3 == nil {
		t.Errorf("%s has no 2- or 3-column kernels for repacked %s", impl, typ)
	}
}
