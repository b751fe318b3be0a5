package kernels

import (
	"math"
	"testing"
)

func TestTanh(t *testing.T) {
	for _, x := range []float64{0, 1e-30, -1e-9, 3e-5, 0.00097, 0.001, -0.3, 0.5, 1, -2.5, 7, 21.9, 22, -40, math.Inf(1)} {
		got, want := Tanh(x), math.Tanh(x)
		if d := math.Abs(got - want); d > 1e-13*math.Abs(want) {
			t.Errorf("Tanh(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(Tanh(math.NaN())) {
		t.Error("Tanh(NaN) is not NaN")
	}
}

func TestGeGLU(t *testing.T) {
	g := []float32{-11, -10, -3, -0.5, 0, 0.25, 1, 2.5, 9.99, 10, 12}
	u := []float32{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}
	got := append([]float32(nil), g...)
	GeGLU(got, u)
	for i, x := range g {
		exact := 0.5 * float64(x) * (1 + math.Tanh(math.Sqrt(2/math.Pi)*float64(x)*(1+0.044715*float64(x)*float64(x)))) * 2
		// float16 rounding of the input and of GELU: about 3 significant digits.
		if d := math.Abs(float64(got[i]) - exact); d > 2e-3*math.Abs(exact)+2e-3 {
			t.Errorf("GeGLU(%v, 2) = %v, want about %v", x, got[i], exact)
		}
	}
	if got[0] != 0 || got[1] != 0 || got[9] != 20 || got[10] != 24 {
		t.Errorf("the ranges past ±10: %v", got)
	}
}

// TestSwiGLUOAI checks gpt-oss's activation against its float64 formula
// and its clamps: the gate is capped at 7 above only, up at ±7.
func TestSwiGLUOAI(t *testing.T) {
	ref := func(g, u float64) float64 {
		x, y := math.Min(g, 7), math.Max(math.Min(u, 7), -7)
		return x / (1 + math.Exp(-1.702*x)) * (y + 1)
	}
	for _, tc := range []struct{ g, u float32 }{
		{0, 0}, {1, 1}, {-1, 2}, {3.5, -0.5}, {7, 7}, {9, 1}, {1, 12}, {1, -12}, {-9, 3}, {-40, 1}, {0.01, -1},
	} {
		got, want := SwiGLUOAI(tc.g, tc.u), ref(float64(tc.g), float64(tc.u))
		if d := math.Abs(float64(got) - want); d > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("SwiGLUOAI(%v, %v) = %v, want %v", tc.g, tc.u, got, want)
		}
	}
	if SwiGLUOAI(9, 1) != SwiGLUOAI(7, 1) || SwiGLUOAI(1, 30) != SwiGLUOAI(1, 7) || SwiGLUOAI(1, -30) != SwiGLUOAI(1, -7) {
		t.Error("clamps not applied")
	}
	g, u := []float32{9, -2, 0.5}, []float32{1, -30, 2}
	want := []float32{SwiGLUOAI(9, 1), SwiGLUOAI(-2, -30), SwiGLUOAI(0.5, 2)}
	SwiGLUOAIRows(g, u)
	for i := range g {
		if g[i] != want[i] {
			t.Errorf("SwiGLUOAIRows[%d] = %v, want %v", i, g[i], want[i])
		}
	}
}
