package kernels

import "math"

// Canonical elementary functions. Go's math package gives different last
// bits on different architectures (math.Exp and math.Log are assembly on
// amd64 and arm64 with different algorithms, and the compiler fuses
// x*y+z into one instruction on arm64 but not on amd64), so the engine
// computes every transcendental function it needs here, with one fixed
// sequence of IEEE operations. Every product that feeds an addition is
// rounded explicitly (float32(x*y) or float64(x*y)), which forbids the
// compiler from fusing them; fused operations appear only as math.FMA,
// which is exact on every platform.

// Exp32 bounds: above exp32Hi the result is +Inf, below exp32Lo it is +0
// (results that would be subnormal are flushed to zero).
const (
	exp32Hi = float32(88.37626)
	exp32Lo = float32(-87.33654)
)

// Coefficients of Exp32: e^r ≈ 1 + r + r²·P(r) on |r| <= ln2/2 (the
// minimax polynomial of Cephes' expf).
const (
	exp32P0   = float32(1.9875691500e-4)
	exp32P1   = float32(1.3981999507e-3)
	exp32P2   = float32(8.3334519073e-3)
	exp32P3   = float32(4.1665795894e-2)
	exp32P4   = float32(1.6666665459e-1)
	exp32P5   = float32(5.0000001201e-1)
	log2e32   = float32(1.44269504088896341)
	ln2Hi32   = float32(0.693359375)
	ln2Lo32   = float32(-2.12194440e-4)
	roundMag  = float32(12582912) // 1.5 * 2^23: x+roundMag-roundMag rounds x to an integer (ties to even) for |x| < 2^22
	exp32Bias = 127
)

// Exp32 is the canonical e^x in float32 (within 2 ulp of the true value).
// The sequence, every step one rounded float32 operation:
//
//	NaN -> NaN; x > 88.37626 -> +Inf; x < -87.33654 -> +0
//	t = x*log2(e); k = (t + 1.5·2^23) - 1.5·2^23      (k integral, ties to even)
//	r = x - k*0.693359375; r = r - k*(-2.12194440e-4)
//	p = ((((P0*r + P1)*r + P2)*r + P3)*r + P4)*r + P5
//	p = p*(r*r); p = p + r; p = p + 1
//	result = p * 2^k
//
// The assembly versions (SiLU) perform exactly these operations lane by
// lane and hand lanes outside [-87.33654, 88.37626] (and NaN) to this
// function.
func Exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > exp32Hi:
		return float32(math.Inf(1))
	case x < exp32Lo:
		return 0
	}
	t := float32(x * log2e32)
	k := float32(t+roundMag) - roundMag
	r := x - float32(k*ln2Hi32)
	r = r - float32(k*ln2Lo32)
	p := float32(exp32P0*r) + exp32P1
	p = float32(p*r) + exp32P2
	p = float32(p*r) + exp32P3
	p = float32(p*r) + exp32P4
	p = float32(p*r) + exp32P5
	p = float32(p * float32(r*r))
	p = p + r
	p = p + 1
	return p * math.Float32frombits(uint32(int32(k)+exp32Bias)<<23)
}

// SiLUMul returns SiLU(g)*u = g / (1 + Exp32(-g)) * u, the canonical
// sequence: e = Exp32(-g); s = g / (1 + e); s * u.
func SiLUMul(g, u float32) float32 {
	e := Exp32(-g)
	s := g / (1 + e)
	return s * u
}

// siluMul computes g[i] = SiLUMul(g[i], u[i]), the definition the assembly
// versions follow.
func siluMul(g, u []float32) {
	u = u[:len(g)]
	for i, v := range g {
		g[i] = SiLUMul(v, u[i])
	}
}

// SwiGLU-OAI constants (gpt-oss, llama.cpp's LLM_FFN_SWIGLU_OAI_MOE).
const (
	SwiGLUOAIAlpha = 1.702
	SwiGLUOAILimit = 7.0
)

// SwiGLUOAI returns gpt-oss's gated activation of gate g and up u, the
// canonical sequence of float32 operations: x = min(g, limit); y = u
// clamped to [-limit, limit]; e = Exp32(alpha * -x); s = x / (1 + e);
// s * (y + 1), with alpha 1.702 and limit 7.
func SwiGLUOAI(g, u float32) float32 {
	x := min(g, SwiGLUOAILimit)
	y := max(min(u, SwiGLUOAILimit), -SwiGLUOAILimit)
	e := Exp32(float32(SwiGLUOAIAlpha) * -x)
	s := x / (1 + e)
	return s * (y + 1)
}

// SwiGLUOAIRows replaces g[i] with SwiGLUOAI(g[i], u[i]).
func SwiGLUOAIRows(g, u []float32) {
	u = u[:len(g)]
	for i, v := range g {
		g[i] = SwiGLUOAI(v, u[i])
	}
}

// Constants of Exp and Log (fdlibm's e_exp.c and e_log.c).
const (
	ln2Hi  = 6.93147180369123816490e-01
	ln2Lo  = 1.90821492927058770002e-10
	invLn2 = 1.44269504088896338700e+00
	expP1  = 1.66666666666666019037e-01
	expP2  = -2.77777777770155933842e-03
	expP3  = 6.61375632143793436117e-05
	expP4  = -1.65339022054652515390e-06
	expP5  = 4.13813679705723846039e-08
	lg1    = 6.666666666666735130e-01
	lg2    = 3.999999999940941908e-01
	lg3    = 2.857142874366239149e-01
	lg4    = 2.222219843214978396e-01
	lg5    = 1.818357216161805012e-01
	lg6    = 1.531383769920937332e-01
	lg7    = 1.479819860511658591e-01
	sqrt2  = 1.41421356237309504880
)

// Exp is the canonical e^x in float64 (about 1 ulp), for tables computed
// once per model (RoPE frequencies). Results that would be subnormal are
// flushed to zero.
func Exp(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > 709.782712893384:
		return math.Inf(1)
	case x < -708.3964185322641:
		return 0
	}
	k := math.RoundToEven(float64(x * invLn2))
	hi := x - float64(k*ln2Hi)
	lo := float64(k * ln2Lo)
	r := hi - lo
	z := float64(r * r)
	c := math.FMA(z, expP5, expP4)
	c = math.FMA(z, c, expP3)
	c = math.FMA(z, c, expP2)
	c = math.FMA(z, c, expP1)
	c = r - float64(z*c)
	y := 1 - ((lo - float64(float64(r*c)/(2-c))) - hi)
	// y in [0.7, 1.42]; scale by 2^k in two steps so 2^k itself never
	// overflows or underflows.
	ki := int64(k)
	h := ki / 2
	y = y * math.Float64frombits(uint64(h+1023)<<52)
	return y * math.Float64frombits(uint64(ki-h+1023)<<52)
}

// Log is the canonical natural logarithm in float64 (about 1 ulp) for
// positive normal x; Log(0) = -Inf, Log(x<0) = NaN, Log(+Inf) = +Inf.
func Log(x float64) float64 {
	switch {
	case x != x || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f, e := math.Frexp(x) // x = f * 2^e, f in [0.5, 1): exact
	if f < sqrt2/2 {
		f *= 2
		e--
	}
	f = f - 1
	k := float64(e)
	s := f / (2 + f)
	z := float64(s * s)
	w := float64(z * z)
	t1 := float64(w * math.FMA(w, math.FMA(w, lg6, lg4), lg2))
	t2 := float64(z * math.FMA(w, math.FMA(w, math.FMA(w, lg7, lg5), lg3), lg1))
	r := t2 + t1
	hfsq := float64(0.5 * float64(f*f))
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + float64(k*ln2Lo))) - f)
}

// Pow is the canonical x^y for x > 0 and finite y: Exp(y * Log(x)).
func Pow(x, y float64) float64 {
	return Exp(float64(y * Log(x)))
}

// Constants of Sincos: π/2 in three parts (the first two of 33 bits, so
// k*pio2a and k*pio2b are exact for |k| < 2^20) and the minimax
// coefficients of fdlibm's k_sin.c and k_cos.c.
const (
	twoOverPi = 6.36619772367581382433e-01
	pio2a     = 1.57079632673412561417e+00
	pio2b     = 6.07710050630396597660e-11
	pio2c     = 2.02226624879595063154e-21
	sinS1     = -1.66666666666666324348e-01
	sinS2     = 8.33333333332248946124e-03
	sinS3     = -1.98412698298579493134e-04
	sinS4     = 2.75573137070700676789e-06
	sinS5     = -2.50507602534068634195e-08
	sinS6     = 1.58969099521155010221e-10
	cosC1     = 4.16666666666666019037e-02
	cosC2     = -1.38888888888741095749e-03
	cosC3     = 2.48015872894767294178e-05
	cosC4     = -2.75573143513906633035e-07
	cosC5     = 2.08757232129817482790e-09
	cosC6     = -1.13596475577881948265e-11
)

// Sincos returns the canonical sin(x) and cos(x) in float64 for |x| < 2^20
// (RoPE angles: position times frequency); larger or non-finite x give
// NaN.
func Sincos(x float64) (sin, cos float64) {
	if !(math.Abs(x) < 1<<20) {
		return math.NaN(), math.NaN()
	}
	k := math.RoundToEven(float64(x * twoOverPi))
	r := x - float64(k*pio2a)
	r = r - float64(k*pio2b)
	r = r - float64(k*pio2c)
	z := float64(r * r)
	// sin r = r + r^3 (S1 + z (S2 + ... ))
	ps := math.FMA(z, sinS6, sinS5)
	ps = math.FMA(z, ps, sinS4)
	ps = math.FMA(z, ps, sinS3)
	ps = math.FMA(z, ps, sinS2)
	ps = math.FMA(z, ps, sinS1)
	s := r + float64(float64(z*r)*ps)
	// cos r = 1 - z/2 + z^2 (C1 + z (C2 + ...))
	pc := math.FMA(z, cosC6, cosC5)
	pc = math.FMA(z, pc, cosC4)
	pc = math.FMA(z, pc, cosC3)
	pc = math.FMA(z, pc, cosC2)
	pc = math.FMA(z, pc, cosC1)
	hz := float64(0.5 * z)
	w := 1 - hz
	c := w + (((1 - w) - hz) + float64(float64(z*z)*pc))
	switch int64(k) & 3 {
	case 0:
		return s, c
	case 1:
		return c, -s
	case 2:
		return -s, -c
	}
	return -c, s
}
