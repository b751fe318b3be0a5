package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestCanonicalMatMul checks every implementation gives bitwise the generic
// kernels' results for every weight type, batch size and shape.
func TestCanonicalMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	for _, impl := range Available()[1:] {
		p, _ := NewPoolImpl(2, impl)
		defer p.Close()
		for _, typ := range Types() {
			bs := typ.BlockSize()
			colsList := []int{bs, 3 * bs, 8 * bs, 17 * bs}
			if bs == 1 {
				colsList = []int{1, 7, 16, 37, 64, 100, 257, 512}
			}
			for _, cols := range colsList {
				for _, n := range []int{1, 2, 3, 5, 8, 13} {
					rows := 1 + rng.IntN(40)
					t.Run(fmt.Sprintf("%s/%s/%dx%d/n%d", impl, typ, rows, cols, n), func(t *testing.T) {
						w, _ := randMat(t, rng, typ, rows, cols)
						x := randVec(rng, n*cols)
						want := make([]float32, n*rows)
						got := make([]float32, n*rows)
						if err := gen.MatMul(want, w, x, n); err != nil {
							t.Fatal(err)
						}
						if err := p.MatMul(got, w, x, n); err != nil {
							t.Fatal(err)
						}
						if i := bitsEqual(got, want); i >= 0 {
							t.Fatalf("[%d] = %g, generic %g", i, got[i], want[i])
						}
					})
				}
			}
		}
	}
}

// TestCanonicalVectorOps checks the float dot, axpy, their many-rows forms
// and the activation quantizer of every implementation bitwise against
// the generic definitions, for lengths with and without a tail.
func TestCanonicalVectorOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, impl := range Available()[1:] {
		set := setFor(impl)
		for _, n := range []int{1, 5, 15, 16, 17, 32, 48, 64, 100, 128, 1000, 4096} {
			a, b := randVec(rng, n), randVec(rng, 9*n+30)
			if g, s := dotF32Generic(a, b[:n]), set.dotF32(a, b[:n]); math.Float32bits(g) != math.Float32bits(s) {
				t.Errorf("%s dot n=%d: %g, generic %g", impl, n, s, g)
			}
			want, got := make([]float32, 7), make([]float32, 7)
			dotRowsLoop(want, a, b, n+3, dotF32Generic)
			set.dotRows(got, a, b, n+3)
			if i := bitsEqual(got, want); i >= 0 {
				t.Errorf("%s dotRows n=%d [%d]: %g, generic %g", impl, n, i, got[i], want[i])
			}
			y1 := randVec(rng, n)
			y2 := append([]float32(nil), y1...)
			axpyF32Generic(y1, 0.37, a)
			set.axpyF32(y2, 0.37, a)
			if i := bitsEqual(y2, y1); i >= 0 {
				t.Errorf("%s axpy n=%d [%d]", impl, n, i)
			}
			coef := randVec(rng, 7)
			axpyRowsLoop(y1, coef, b, n+3, axpyF32Generic)
			set.axpyRows(y2, coef, b, n+3)
			if i := bitsEqual(y2, y1); i >= 0 {
				t.Errorf("%s axpyRows n=%d [%d]", impl, n, i)
			}
		}
		for _, nb := range []int{1, 8, 40} {
			x := randVec(rng, nb*qk)
			x[3] = 0
			x[qk-1] = -x[qk-2]
			c1 := qcol{q: make([]int8, nb*qk), d: make([]float32, nb), s: make([]int32, nb)}
			c2 := qcol{q: make([]int8, nb*qk), d: make([]float32, nb), s: make([]int32, nb)}
			quantizeAct(c1, x)
			set.quantAct(c2, x)
			for i := range c1.q {
				if c1.q[i] != c2.q[i] {
					t.Fatalf("%s quantAct q[%d]", impl, i)
				}
			}
			if i := bitsEqual(c2.d, c1.d); i >= 0 {
				t.Fatalf("%s quantAct d[%d]", impl, i)
			}
		}
	}
}

// ulps returns the distance in units of the last place between two
// finite float32 values of the same sign.
func ulps32(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

func ulps64(a, b float64) int64 {
	d := int64(math.Float64bits(a)) - int64(math.Float64bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

// TestCanonicalMath checks the accuracy of the canonical elementary
// functions against Go's math package and their special values.
func TestCanonicalMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	var worst32 int64
	for i := 0; i < 200000; i++ {
		x := float32(rng.Float64()*175 - 87.3)
		got, want := Exp32(x), float32(math.Exp(float64(x)))
		if d := ulps32(got, want); d > worst32 {
			worst32 = d
		}
	}
	if worst32 > 2 {
		t.Errorf("Exp32: %d ulp from math.Exp", worst32)
	}
	specials32 := []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))},
		{-100, 0}, {100, float32(math.Inf(1))},
	}
	for _, s := range specials32 {
		if got := Exp32(s.x); got != s.want {
			t.Errorf("Exp32(%g) = %g, want %g", s.x, got, s.want)
		}
	}
	if v := Exp32(float32(math.NaN())); v == v {
		t.Error("Exp32(NaN) is not NaN")
	}
	var worstExp, worstLog, worstSin, worstCos int64
	for i := 0; i < 100000; i++ {
		x := rng.Float64()*1400 - 700
		if d := ulps64(Exp(x), math.Exp(x)); d > worstExp {
			worstExp = d
		}
		y := math.Exp(rng.Float64()*1400 - 700)
		if d := ulps64(Log(y), math.Log(y)); d > worstLog {
			worstLog = d
		}
		a := rng.Float64() * 200000
		s, c := Sincos(a)
		ms, mc := math.Sincos(a)
		// Near a zero of sin or cos the relative error grows; compare in
		// absolute terms there.
		if math.Abs(s-ms) > 1e-15*max(1, a/1000) {
			if d := ulps64(s, ms); d > worstSin {
				worstSin = d
			}
		}
		if math.Abs(c-mc) > 1e-15*max(1, a/1000) {
			if d := ulps64(c, mc); d > worstCos {
				worstCos = d
			}
		}
	}
	if worstExp > 2 || worstLog > 2 || worstSin > 4 || worstCos > 4 {
		t.Errorf("ulp from math: Exp %d, Log %d, Sin %d, Cos %d", worstExp, worstLog, worstSin, worstCos)
	}
	t.Logf("worst ulp: Exp32 %d, Exp %d, Log %d, Sin %d, Cos %d", worst32, worstExp, worstLog, worstSin, worstCos)
	if p := Pow(10000, -0.5); math.Abs(p-0.01) > 1e-16 {
		t.Errorf("Pow(10000, -0.5) = %g", p)
	}
	if Log(1) != 0 || !math.IsInf(Log(0), -1) || !math.IsNaN(Log(-1)) {
		t.Error("Log special values")
	}
	if s, c := Sincos(0); s != 0 || c != 1 {
		t.Errorf("Sincos(0) = %g, %g", s, c)
	}
}
