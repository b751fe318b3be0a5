package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randBlocks returns rows x cols of type t with random bits, every fp16
// scale finite (random magnitude and sign) and, for mxfp4, every E8M0
// exponent possible: the weights no quantizer writes but a file may hold.
func randBlocks(rng *rand.Rand, t DType, rows, cols int) Mat {
	rb, _ := t.RowBytes(cols)
	data := make([]byte, rows*rb)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	f16 := func(b []byte, off int) {
		v := float32(rng.NormFloat64()) * float32(math.Ldexp(1, rng.IntN(20)-14))
		binary.LittleEndian.PutUint16(b[off:], F32ToF16(v))
	}
	bb := t.BlockBytes()
	for off := 0; off < len(data); off += bb {
		b := data[off : off+bb]
		switch t {
		case Q4_1, Q5_K:
			f16(b, 0)
			f16(b, 2)
		case Q5_0, IQ4_XS:
			f16(b, 0)
		case Q3_K:
			f16(b, 108)
		}
	}
	m, _ := NewMat(t, rows, cols, data)
	return m
}

// TestCanonicalRandomBlocks: on weights of random bits (all scale
// magnitudes, mxfp4's subnormal and largest exponents) every kernel set
// gives bitwise the generic results, and the generic results stay within
// the activation quantization error of the dequantized weights' product.
func TestCanonicalRandomBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	for _, typ := range []DType{Q4_1, Q5_0, MXFP4, Q3_K, Q5_K, IQ4_XS} {
		for _, cols := range []int{typ.BlockSize(), 4 * typ.BlockSize(), 2048} {
			for _, n := range []int{1, 5} {
				rows := 1 + rng.IntN(11)
				w := randBlocks(rng, typ, rows, cols)
				x := randVec(rng, n*cols)
				want := make([]float32, n*rows)
				if err := gen.MatMul(want, w, x, n); err != nil {
					t.Fatal(err)
				}
				for _, impl := range Available()[1:] {
					t.Run(fmt.Sprintf("%s/%s/%dx%d/n%d", impl, typ, rows, cols, n), func(t *testing.T) {
						p, _ := NewPoolImpl(2, impl)
						defer p.Close()
						got := make([]float32, n*rows)
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

// TestE8M0 checks the E8M0 half scale against its definition 2^(e-128)
// for every exponent.
func TestE8M0(t *testing.T) {
	for e := 0; e < 256; e++ {
		if got, want := e8m0Half(uint8(e)), float32(math.Ldexp(1, e-128)); got != want {
			t.Errorf("e8m0Half(%d) = %g, want %g", e, got, want)
		}
	}
}

// TestDequantizeKnownBlocksX decodes hand-built blocks of each later type
// by their documented layouts.
func TestDequantizeKnownBlocksX(t *testing.T) {
	// q5_0: d = 0.5, element j has nibble j%16, high bit set for odd j.
	q50 := make([]byte, q5_0Bytes)
	put16(q50, 0, F32ToF16(0.5))
	var qh uint32
	for j := 0; j < 32; j++ {
		if j%2 == 1 {
			qh |= 1 << j
		}
	}
	binary.LittleEndian.PutUint32(q50[2:], qh)
	for j := 0; j < 16; j++ {
		q50[6+j] = byte(j) | byte(15-j)<<4
	}
	want50 := make([]float32, 32)
	for j := 0; j < 32; j++ {
		v := j
		if j >= 16 {
			v = 15 - (j - 16)
		}
		want50[j] = 0.5 * float32(v+16*(j%2)-16)
	}
	// q4_1: d = 0.25, m = -1, nibbles as q5_0's.
	q41 := make([]byte, q4_1Bytes)
	put16(q41, 0, F32ToF16(0.25))
	put16(q41, 2, F32ToF16(-1))
	copy(q41[4:], q50[6:22])
	want41 := make([]float32, 32)
	for j := range want41 {
		v := j
		if j >= 16 {
			v = 15 - (j - 16)
		}
		want41[j] = 0.25*float32(v) - 1
	}
	// mxfp4: e = 128 (scale 1), nibble j%16 of the table.
	mx := make([]byte, mxfp4Bytes)
	mx[0] = 128
	copy(mx[1:], q50[6:22])
	wantMX := make([]float32, 32)
	tab := []float32{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}
	for j := range wantMX {
		v := j
		if j >= 16 {
			v = 15 - (j - 16)
		}
		wantMX[j] = tab[v]
	}
	// iq4_xs: d = 1, sub-block ib has ls = 33+ib (scale 1+ib), all nibbles 15
	// (113) in its low half and 0 (-127) in its high half.
	iq := make([]byte, iq4XSBytes)
	put16(iq, 0, F32ToF16(1))
	var sh uint16
	for ib := 0; ib < 8; ib++ {
		ls := 33 + ib
		iq[4+ib/2] |= byte(ls&15) << (4 * (ib % 2))
		sh |= uint16(ls>>4) << (2 * ib)
	}
	binary.LittleEndian.PutUint16(iq[2:], sh)
	for i := 8; i < iq4XSBytes; i++ {
		iq[i] = 0x0f
	}
	wantIQ := make([]float32, 256)
	for i := range wantIQ {
		v := float32(113)
		if i%32 >= 16 {
			v = -127
		}
		wantIQ[i] = float32(1+i/32) * v
	}
	for _, tc := range []struct {
		t    DType
		blk  []byte
		want []float32
	}{{Q5_0, q50, want50}, {Q4_1, q41, want41}, {MXFP4, mx, wantMX}, {IQ4_XS, iq, wantIQ}} {
		got := make([]float32, len(tc.want))
		if err := Dequantize(got, tc.blk, tc.t); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%v [%d] = %g, want %g", tc.t, i, got[i], tc.want[i])
				break
			}
		}
	}
}
