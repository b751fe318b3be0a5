package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSiLU checks every set's SiLU(g)*u bitwise against siluMul (the
// canonical Exp32) on random values of every magnitude and on the
// arguments Exp32 treats apart (its bounds, overflow, underflow, NaN,
// infinities), mixed into groups with ordinary values, for lengths that
// are and are not multiples of the vector width.
func TestSiLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	special := []float32{0, float32(math.Copysign(0, -1)), 708, 709.4, 709.5, 709.8, 710, 745, 746, 800,
		-88.7, -88.8, 88.37626, 88.37627, -88.37626, -88.37627, 87.33654, 87.33655, -87.33654, -87.33655, -709, -709.5, -710, -745, -746, -1e30, 1e30, 0x1p-149, -0x1p-149, 1e-40,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32}
	for _, impl := range Available() {
		set := setFor(impl)
		for _, n := range []int{1, 3, 4, 7, 64, 1 << 16} {
			t.Run(fmt.Sprintf("%s/%d", impl, n), func(t *testing.T) {
				g := make([]float32, n)
				u := make([]float32, n)
				for i := range g {
					g[i] = float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(24)-12)))
					u[i] = float32(rng.NormFloat64())
				}
				if n >= 64 {
					for k, v := range special {
						g[(k*37)%n] = v
						g[n-1-k] = v
					}
					for i := 0; i < n/64; i++ { // the whole range of exponents
						g[rng.IntN(n)] = float32(rng.Float64()*1600 - 800)
					}
				}
				want := append([]float32(nil), g...)
				siluMul(want, u)
				got := append([]float32(nil), g...)
				set.siluMul(got, u)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
						t.Fatalf("g[%d] = %g: got %g, generic %g", i, g[i], got[i], want[i])
					}
				}
			})
		}
	}
}
