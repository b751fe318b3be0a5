package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestMatMulShared checks that MatMulShared and MatMulGLU give bitwise the
// results of separate MatMul calls (and the elementwise SiLU loop), for
// every implementation, batch sizes around the tile widths, odd row counts
// and mixed types.
func TestMatMulShared(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const cols = 256
	for _, impl := range Available() {
		for _, workers := range []int{1, 2, 3} {
			p, err := NewPoolImpl(workers, impl)
			if err != nil {
				t.Fatal(err)
			}
			for _, types := range [][3]DType{{Q8_0, Q8_0, Q8_0}, {Q4_0, Q4_0, Q4_0}, {Q4_K, Q4_K, Q6_K}, {F16, F16, F16}, {Q8_0, Q4_0, Q8_0}} {
				rows := [3]int{68, 13, 13}
				var ws [3]Mat
				for i := range ws {
					ws[i], _ = randMat(t, rng, types[i], rows[i], cols)
				}
				for _, n := range []int{1, 3, 4, 9, 13} {
					x := randVec(rng, n*cols)
					var want, got [3][]float32
					for i := range ws {
						want[i] = make([]float32, n*rows[i])
						got[i] = make([]float32, n*rows[i])
						if err := p.MatMul(want[i], ws[i], x, n); err != nil {
							t.Fatal(err)
						}
					}
					if err := p.MatMulShared(x, n, Product{got[0], ws[0]}, Product{got[1], ws[1]}, Product{got[2], ws[2]}); err != nil {
						t.Fatal(err)
					}
					for i := range ws {
						if d := bitsEqual(want[i], got[i]); d >= 0 {
							t.Fatalf("%s w%d %v n=%d: shared product %d differs at %d", impl, workers, types, n, i, d)
						}
					}
					// GLU over products 1 and 2 (same shape).
					g := make([]float32, n*rows[1])
					u := make([]float32, n*rows[1])
					if err := p.MatMulGLU(g, ws[1], u, ws[2], x, n); err != nil {
						t.Fatal(err)
					}
					for j, v := range want[1] {
						want[1][j] = SiLUMul(v, want[2][j])
					}
					if d := bitsEqual(want[1], g); d >= 0 {
						t.Fatalf("%s w%d %v n=%d: glu differs at %d", impl, workers, types, n, d)
					}
					if d := bitsEqual(want[2], u); d >= 0 {
						t.Fatalf("%s w%d %v n=%d: glu up differs at %d", impl, workers, types, n, d)
					}
				}
			}
			p.Close()
		}
	}
}
