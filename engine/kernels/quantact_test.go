package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantAct checks every implementation's activation quantizer against
// quantizeAct, bitwise, on random data and on special blocks (zeros,
// ties, tiny and huge values, -0, NaN, Inf).
func TestQuantAct(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const nb = 40
	x := randVec(rng, nb*qk)
	blk := func(b int) []float32 { return x[b*qk : (b+1)*qk] }
	clear(blk(1))
	for j := range blk(2) {
		blk(2)[j] = float32(j-16) * 0.5 // many exact .5 ties after scaling
	}
	for j := range blk(3) {
		blk(3)[j] = float32(rng.NormFloat64()) * 1e-30
	}
	for j := range blk(4) {
		blk(4)[j] = float32(rng.NormFloat64()) * 1e30
	}
	blk(5)[3] = float32(math.Copysign(0, -1))
	blk(6)[7] = float32(math.NaN())
	blk(7)[9] = float32(math.Inf(-1))
	blk(8)[0] = 127
	blk(8)[1] = -127
	for j := range blk(9) {
		blk(9)[j] = float32(math.NaN())
	}
	blk(10)[31] = math.MaxFloat32
	blk(11)[5] = math.SmallestNonzeroFloat32
	want := qcol{q: make([]int8, nb*qk), d: make([]float32, nb), s: make([]int32, nb)}
	quantizeAct(want, x)
	for _, impl := range Available() {
		set := setFor(impl)
		for _, n := range []int{0, 1, 3, nb} {
			got := qcol{q: make([]int8, n*qk), d: make([]float32, n), s: make([]int32, n)}
			set.quantAct(got, x[:n*qk])
			if !slices.Equal(got.q, want.q[:n*qk]) || !slices.Equal(got.s, want.s[:n]) {
				t.Fatalf("%s n=%d: values or sums differ", impl, n)
			}
			if i := bitsEqual(got.d, want.d[:n]); i >= 0 {
				t.Fatalf("%s n=%d: scale %d = %g, want %g", impl, n, i, got.d[i], want.d[i])
			}
		}
	}
}

// BenchmarkQuantAct measures the activation quantizer on a 2048 vector.
func BenchmarkQuantAct(b *testing.B) {
	const cols = 2048
	x := randVec(rand.New(rand.NewPCG(1, 1)), cols)
	c := qcol{q: make([]int8, cols), d: make([]float32, cols/qk), s: make([]int32, cols/qk)}
	for _, impl := range Available() {
		set := setFor(impl)
		b.Run(impl.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				set.quantAct(c, x)
			}
		})
	}
}
