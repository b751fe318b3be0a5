package kernels

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDTypeTable(t *testing.T) {
	tests := []struct {
		t          DType
		name       string
		bs, bbytes int
	}{
		{F32, "f32", 1, 4},
		{F16, "f16", 1, 2},
		{Q4_0, "q4_0", 32, 18},
		{Q8_0, "q8_0", 32, 34},
		{Q4_K, "q4_k", 256, 144},
		{Q6_K, "q6_k", 256, 210},
		{BF16, "bf16", 1, 2},
		{Q4_1, "q4_1", 32, 20},
		{Q5_0, "q5_0", 32, 22},
		{MXFP4, "mxfp4", 32, 17},
		{Q3_K, "q3_k", 256, 110},
		{Q5_K, "q5_k", 256, 176},
		{IQ4_XS, "iq4_xs", 256, 136},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.String(); got != tc.name {
				t.Errorf("String = %q", got)
			}
			if !tc.t.Valid() {
				t.Error("not valid")
			}
			for _, s := range []string{tc.name, strings.ToUpper(tc.name)} {
				if p, err := ParseDType(s); err != nil || p != tc.t {
					t.Errorf("ParseDType(%q) = %v, %v", s, p, err)
				}
			}
			if tc.t.BlockSize() != tc.bs || tc.t.BlockBytes() != tc.bbytes {
				t.Errorf("block %d/%d", tc.t.BlockSize(), tc.t.BlockBytes())
			}
			if n, err := tc.t.RowBytes(3 * tc.bs); err != nil || n != 3*tc.bbytes {
				t.Errorf("RowBytes = %d, %v", n, err)
			}
			if tc.bs > 1 {
				if _, err := tc.t.RowBytes(tc.bs + 1); err == nil {
					t.Error("RowBytes accepted a partial block")
				}
			}
			if _, err := tc.t.RowBytes(-tc.bs); err == nil {
				t.Error("RowBytes accepted a negative count")
			}
		})
	}
	for _, bad := range []DType{4, 7, 10, 29, 31, 1000} {
		if bad.Valid() || bad.BlockSize() != 0 || bad.BlockBytes() != 0 {
			t.Errorf("%v considered valid", bad)
		}
		if _, err := bad.RowBytes(32); err == nil {
			t.Errorf("%v: RowBytes gave no error", bad)
		}
	}
	if _, err := ParseDType("q2_k"); err == nil {
		t.Error("ParseDType accepted q2_k")
	}
}

func TestF16(t *testing.T) {
	tests := []struct {
		f float32
		h uint16
	}{
		{0, 0},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},
		{65519.99, 0x7bff},
		{65520, 0x7c00}, // rounds to even -> overflow
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{0x1p-24, 0x0001},
		{0x1p-25, 0x0000},        // tie -> even (0)
		{0x1.8p-24, 0x0002},      // 1.5 ulp -> even (2)
		{0x1.000002p-25, 0x0001}, // just above the tie
		{0x1p-14, 0x0400},
		{0x1.ffcp-15, 0x03ff + 1}, // rounds up to the smallest normal
		{1 + 0x1p-11, 0x3c00},     // tie -> even
		{1 + 0x1.8p-10, 0x3c02},   // tie -> even (up)
		{1 + 0x1p-10, 0x3c01},
	}
	for _, tc := range tests {
		if got := F32ToF16(tc.f); got != tc.h {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", tc.f, got, tc.h)
		}
	}
	if h := F32ToF16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f {
			continue
		}
		if back := F32ToF16(f); back != uint16(h) {
			t.Fatalf("round trip %#04x -> %g -> %#04x", h, f, back)
		}
	}
	// Random values: result must be the nearest half (ties to even).
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		f := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-25)))
		h := F32ToF16(f)
		g := float64(F16ToF32(h))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7c00 == 0x7c00 {
				continue
			}
			o := float64(F16ToF32(nb))
			if math.Abs(o-float64(f)) < math.Abs(g-float64(f)) {
				t.Fatalf("F32ToF16(%g) = %g but %g is nearer", f, g, o)
			}
		}
	}
}

func TestBF16(t *testing.T) {
	tests := []struct {
		f float32
		h uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie -> even
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie -> even (up)
		{math.Float32frombits(0x3f808001), 0x3f81},
		{float32(math.Inf(1)), 0x7f80},
	}
	for _, tc := range tests {
		if got := F32ToBF16(tc.f); got != tc.h {
			t.Errorf("F32ToBF16(%g) = %#04x, want %#04x", tc.f, got, tc.h)
		}
		if tc.f == BF16ToF32(tc.h) && BF16ToF32(tc.h) != tc.f {
			t.Errorf("BF16ToF32")
		}
	}
	if h := F32ToBF16(float32(math.NaN())); BF16ToF32(h) == BF16ToF32(h) {
		t.Errorf("NaN -> %#04x", h)
	}
}

func TestDequantizeKnownBlocks(t *testing.T) {
	// q8_0: d = 0.5, qs = 1..32 -> 0.5 .. 16.
	q8 := make([]byte, 34)
	q8[0], q8[1] = byte(F32ToF16(0.5)), byte(F32ToF16(0.5)>>8)
	for i := 0; i < 32; i++ {
		q8[2+i] = byte(i + 1)
	}
	// q4_0: d = 2, qs[j] = j | (15-j)<<4: element j<16 is j-8, element
	// 16+j is (15-j)-8.
	q4 := make([]byte, 18)
	q4[0], q4[1] = byte(F32ToF16(2)), byte(F32ToF16(2)>>8)
	for j := 0; j < 16; j++ {
		q4[2+j] = byte(j) | byte(15-j)<<4
	}
	want4 := make([]float32, 32)
	for j := 0; j < 16; j++ {
		want4[j] = float32(j-8) * 2
		want4[16+j] = float32(15-j-8) * 2
	}
	want8 := make([]float32, 32)
	for i := range want8 {
		want8[i] = 0.5 * float32(i+1)
	}
	tests := []struct {
		name string
		t    DType
		src  []byte
		want []float32
	}{
		{"q8_0", Q8_0, q8, want8},
		{"q4_0", Q4_0, q4, want4},
		{"f16", F16, []byte{0x00, 0x3c, 0x00, 0xc0}, []float32{1, -2}},
		{"bf16", BF16, []byte{0x80, 0x3f, 0x00, 0xc0}, []float32{1, -2}},
		{"f32", F32, []byte{0, 0, 0x80, 0x3f}, []float32{1}},
		{"q4_k", Q4_K, q4KTestBlock(), q4KTestWant()},
		{"q6_k", Q6_K, q6KTestBlock(), q6KTestWant()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]float32, len(tc.want))
			if err := Dequantize(got, tc.src, tc.t); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("element %d = %g, want %g", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// q4KTestBlock builds a q4_k block with d=1, dmin=0.5, scales sc[j]=j+1+8*(j&1)
// (exercising the high bits for j>=4: values up to 63), mins m[j]=2*j+40,
// and nibble value for element i = i%16.
func q4KTestBlock() []byte {
	b := make([]byte, 144)
	put16(b, 0, F32ToF16(1))
	put16(b, 2, F32ToF16(0.5))
	sc := b[4:16]
	for j := 0; j < 8; j++ {
		ls, lm := q4kScale(j), q4kMin(j)
		if j < 4 {
			sc[j] = ls
			sc[j+4] = lm
		} else {
			sc[j+4] = ls&15 | (lm&15)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	q := b[16:]
	for i := 0; i < 256; i++ {
		chunk, within := i/64, i%64
		if within < 32 {
			q[chunk*32+within] |= byte(i % 16)
		} else {
			q[chunk*32+within-32] |= byte(i%16) << 4
		}
	}
	return b
}

func q4kScale(j int) uint8 { return uint8(j*7 + 14) } // 14..63
func q4kMin(j int) uint8   { return uint8(63 - 5*j) }

func q4KTestWant() []float32 {
	out := make([]float32, 256)
	for i := range out {
		j := i / 32
		out[i] = float32(q4kScale(j))*float32(i%16) - 0.5*float32(q4kMin(j))
	}
	return out
}

// q6KTestBlock: d=0.25, scales sc[k]=k-8, 6-bit value of element i = (i*5)%64.
func q6KTestBlock() []byte {
	b := make([]byte, 210)
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	for k := 0; k < 16; k++ {
		sc[k] = byte(int8(k - 8))
	}
	put16(b, 208, F32ToF16(0.25))
	for i := 0; i < 256; i++ {
		v := byte((i * 5) % 64)
		half, r := i/128, i%128
		l, quarter := r%32, r/32
		lo, hi := v&15, v>>4
		switch quarter {
		case 0:
			ql[half*64+l] |= lo
		case 1:
			ql[half*64+l+32] |= lo
		case 2:
			ql[half*64+l] |= lo << 4
		case 3:
			ql[half*64+l+32] |= lo << 4
		}
		qh[half*32+l] |= hi << (2 * quarter)
	}
	return b
}

func q6KTestWant() []float32 {
	out := make([]float32, 256)
	for i := range out {
		out[i] = 0.25 * float32(i/16-8) * float32((i*5)%64-32)
	}
	return out
}

func put16(b []byte, off int, v uint16) { b[off], b[off+1] = byte(v), byte(v>>8) }

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		if rng.IntN(64) == 0 {
			v[i] *= 8 // outliers
		}
	}
	return v
}

func TestQuantizeRoundTrip(t *testing.T) {
	// Bound on the rms error relative to the rms of the data.
	tests := []struct {
		t      DType
		relRMS float64
	}{
		{F32, 0},
		{F16, 5e-4},
		{BF16, 4e-3},
		{Q8_0, 0.01},
		{Q6_K, 0.04},
		{Q4_0, 0.15},
		{Q4_K, 0.12},
		{Q4_1, 0.15},
		{Q5_0, 0.08},
		{MXFP4, 0.25},
		{Q3_K, 0.25},
		{Q5_K, 0.06},
		{IQ4_XS, 0.12},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range tests {
		t.Run(tc.t.String(), func(t *testing.T) {
			n := 4 * 256
			src := randVec(rng, n)
			src[5] = 0
			for i := 256; i < 512; i++ { // a block of zeros and a constant block
				src[i] = 0
			}
			for i := 512; i < 768; i++ {
				src[i] = 3
			}
			nbytes, _ := tc.t.RowBytes(n)
			buf := make([]byte, nbytes)
			if err := Quantize(buf, src, tc.t); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, n)
			if err := Dequantize(got, buf, tc.t); err != nil {
				t.Fatal(err)
			}
			var se, ss float64
			for i := range src {
				d := float64(got[i] - src[i])
				se += d * d
				ss += float64(src[i]) * float64(src[i])
			}
			rel := math.Sqrt(se / ss)
			t.Logf("relative rms error %.5f", rel)
			if rel > tc.relRMS {
				t.Errorf("relative rms error %.5f > %.5f", rel, tc.relRMS)
			}
			for i := 256; i < 512; i++ {
				if got[i] != 0 {
					t.Fatalf("zero block element %d = %g", i, got[i])
				}
			}
			for i := 512; i < 768; i++ {
				if math.Abs(float64(got[i])-3) > 0.1 {
					t.Fatalf("constant block element %d = %g", i, got[i])
				}
			}
		})
	}
}

func TestBadSizes(t *testing.T) {
	f := make([]float32, 64)
	b := make([]byte, 1024)
	tests := []struct {
		name string
		fn   func() error
	}{
		{"dequant partial block", func() error { return Dequantize(f[:33], b, Q8_0) }},
		{"dequant short src", func() error { return Dequantize(f[:64], b[:67], Q8_0) }},
		{"dequant bad type", func() error { return Dequantize(f, b, 5) }},
		{"dequant k partial", func() error { return Dequantize(f, b, Q4_K) }},
		{"dequant q5_k partial", func() error { return Dequantize(f, b, Q5_K) }},
		{"dequant q5_0 short src", func() error { return Dequantize(f[:64], b[:43], Q5_0) }},
		{"dequant q3_k short src", func() error { return Dequantize(make([]float32, 256), b[:109], Q3_K) }},
		{"dequant iq4_xs short src", func() error { return Dequantize(make([]float32, 256), b[:135], IQ4_XS) }},
		{"dequant mxfp4 short src", func() error { return Dequantize(f[:32], b[:16], MXFP4) }},
		{"quant q4_1 short dst", func() error { return Quantize(b[:39], f, Q4_1) }},
		{"newmat q5_k short", func() error { _, err := NewMat(Q5_K, 2, 256, b[:351]); return err }},
		{"quant partial block", func() error { return Quantize(b, f[:31], Q4_0) }},
		{"quant short dst", func() error { return Quantize(b[:35], f, Q8_0) }},
		{"quant bad type", func() error { return Quantize(b, f, 99) }},
		{"newmat short", func() error { _, err := NewMat(Q8_0, 2, 64, b[:135]); return err }},
		{"newmat partial", func() error { _, err := NewMat(Q6_K, 1, 100, b); return err }},
		{"newmat negative", func() error { _, err := NewMat(F32, -1, 4, b); return err }},
		{"newmat huge", func() error { _, err := NewMat(F32, 1<<40, 1<<40, b); return err }},
		{"newmat bad type", func() error { _, err := NewMat(77, 1, 1, b); return err }},
	}
	p := NewPool(2)
	defer p.Close()
	w, err := NewMat(F32, 4, 8, make([]byte, 128))
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests,
		struct {
			name string
			fn   func() error
		}{"matmul short x", func() error { return p.MatMul(make([]float32, 8), w, make([]float32, 15), 2) }},
		struct {
			name string
			fn   func() error
		}{"matmul short dst", func() error { return p.MatMul(make([]float32, 7), w, make([]float32, 16), 2) }},
		struct {
			name string
			fn   func() error
		}{"matmul negative n", func() error { return p.MatMul(nil, w, nil, -1) }},
		struct {
			name string
			fn   func() error
		}{"matmul short weights", func() error {
			return p.MatMul(make([]float32, 8), Mat{Type: Q8_0, Rows: 4, Cols: 32, Data: make([]byte, 100)}, make([]float32, 64), 2)
		}},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if err := Dequantize(f[:32], b, Q8_0); err != nil {
		t.Errorf("valid dequantize: %v", err)
	}
	p.Close()
	if err := p.MatMul(make([]float32, 4), w, make([]float32, 8), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("closed pool: %v", err)
	}
}

func FuzzDequantize(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint32(8), 32)
	f.Add(make([]byte, 210), uint32(14), 256)
	f.Add(make([]byte, 144), uint32(12), 256)
	for _, t := range []DType{Q4_1, Q5_0, MXFP4, Q3_K, Q5_K, IQ4_XS} {
		b := make([]byte, t.BlockBytes())
		for i := range b {
			b[i] = byte(i * 37)
		}
		f.Add(b, uint32(t), t.BlockSize())
		f.Add(b[:len(b)-1], uint32(t), t.BlockSize())
	}
	f.Fuzz(func(t *testing.T, data []byte, typ uint32, n int) {
		if n < 0 || n > 1<<16 {
			n &= 0xffff
		}
		dst := make([]float32, n)
		if err := Dequantize(dst, data, DType(typ)); err == nil {
			buf := make([]byte, len(data))
			_ = Quantize(buf, dst, DType(typ))
		}
		_, _ = NewMat(DType(typ), n, n, data)
	})
}
