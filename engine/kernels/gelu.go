package kernels

import (
	"math"
	"sync"
)

// Tanh is the canonical hyperbolic tangent in float64: x itself below
// 2^-28 in magnitude, x - x^3/3 + 2x^5/15 below 2^-7, ±1 from 22 on,
// else sign(x) * (1 - 2/(Exp(2|x|)+1)); each operation one rounding in
// this order (so the same bits on every CPU), within about 1e-13 relative.
func Tanh(x float64) float64 {
	a := math.Abs(x)
	switch {
	case x != x:
		return x
	case a < 0x1p-28:
		return x
	case a < 0x1p-7:
		x2 := float64(x * x)
		return x - float64(x*float64(x2*(1.0/3-float64(x2*(2.0/15)))))
	case a >= 22:
		return math.Copysign(1, x)
	}
	t := 1 - 2/(Exp(2*a)+1)
	return math.Copysign(t, x)
}

// Tanh32 is Tanh of a float32, rounded to float32 (logit soft-capping).
func Tanh32(x float32) float32 { return float32(Tanh(float64(x))) }

// GELU coefficients as ggml writes them (float32 constants).
const (
	geluCoefA      float32 = 0.044715
	geluSqrt2OverP float32 = 0.79788456080286535587989211986876
)

// gelu32 is GELU's tanh approximation in float32, one rounding per
// operation in this order: 0.5*x*(1 + tanh(c*x*(1 + a*x*x))).
func gelu32(x float32) float32 {
	inner := float32(geluSqrt2OverP*x) * (1 + float32(float32(geluCoefA*x)*x))
	return float32(0.5*x) * (1 + Tanh32(inner))
}

// geluTable maps every float16 input to its float16 GELU, as ggml's CPU
// backend tabulates it.
var geluTable = sync.OnceValue(func() *[1 << 16]uint16 {
	var t [1 << 16]uint16
	for i := range t {
		t[i] = F32ToF16(gelu32(F16ToF32(uint16(i))))
	}
	return &t
})

// GeGLU sets g[i] = GELU(g[i]) * u[i] (Gemma's gated feed-forward), with
// GELU as ggml computes it: 0 for g <= -10, g for g >= 10, else the
// float16 GELU of g rounded to float16; then one float32 product.
func GeGLU(g, u []float32) {
	t := geluTable()
	for i, x := range g {
		switch {
		case x <= -10:
			g[i] = 0
		case x >= 10:
			g[i] = x * u[i]
		default:
			g[i] = F16ToF32(t[F32ToF16(x)]) * u[i]
		}
	}
}
