package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Dequantize converts len(dst) elements stored in src (type t) to float32.
// len(dst) must be a multiple of t's block size and src must hold at least
// t.RowBytes(len(dst)) bytes (extra bytes are ignored).
func Dequantize(dst []float32, src []byte, t DType) error {
	need, err := t.RowBytes(len(dst))
	if err != nil {
		return fmt.Errorf("kernels: dequantize: %w", err)
	}
	if len(src) < need {
		return fmt.Errorf("kernels: dequantize %d %s elements: need %d bytes, have %d: %w", len(dst), t, need, len(src), ErrShortBuffer)
	}
	src = src[:need]
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q4_0:
		for b := 0; b < len(dst)/qk; b++ {
			dequantQ4_0Block(dst[b*qk:(b+1)*qk], src[b*q4_0Bytes:(b+1)*q4_0Bytes])
		}
	case Q8_0:
		for b := 0; b < len(dst)/qk; b++ {
			dequantQ8_0Block(dst[b*qk:(b+1)*qk], src[b*q8_0Bytes:(b+1)*q8_0Bytes])
		}
	case Q4_K:
		for b := 0; b < len(dst)/qkK; b++ {
			dequantQ4KBlock(dst[b*qkK:(b+1)*qkK], src[b*q4KBytes:(b+1)*q4KBytes])
		}
	case Q6_K:
		for b := 0; b < len(dst)/qkK; b++ {
			dequantQ6KBlock(dst[b*qkK:(b+1)*qkK], src[b*q6KBytes:(b+1)*q6KBytes])
		}
	default:
		dequantExt(dst, src, t)
	}
	return nil
}

func f16At(b []byte, off int) float32 {
	return F16ToF32(binary.LittleEndian.Uint16(b[off:]))
}

func dequantQ8_0Block(y []float32, b []byte) {
	d := f16At(b, 0)
	qs := b[2 : 2+qk]
	y = y[:qk]
	for j := range y {
		y[j] = float32(int8(qs[j])) * d
	}
}

func dequantQ4_0Block(y []float32, b []byte) {
	d := f16At(b, 0)
	qs := b[2 : 2+qk/2]
	y = y[:qk]
	for j := 0; j < qk/2; j++ {
		y[j] = float32(int32(qs[j]&0x0f)-8) * d
		y[j+qk/2] = float32(int32(qs[j]>>4)-8) * d
	}
}

// scaleMinK4 unpacks the 6-bit scale and min of sub-block j from the
// 12-byte q4_k scales array.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return (q[j+4] & 0x0f) | ((q[j-4] >> 6) << 4), (q[j+4] >> 4) | ((q[j] >> 6) << 4)
}

func dequantQ4KBlock(y []float32, b []byte) {
	d := f16At(b, 0)
	dmin := f16At(b, 2)
	scales := b[4:16]
	q := b[16 : 16+qkK/2]
	y = y[:qkK]
	is := 0
	for j := 0; j < qkK; j += 64 {
		sc, m := scaleMinK4(is, scales)
		d1 := d * float32(sc)
		m1 := dmin * float32(m)
		sc, m = scaleMinK4(is+1, scales)
		d2 := d * float32(sc)
		m2 := dmin * float32(m)
		for l := 0; l < 32; l++ {
			y[j+l] = float32(d1*float32(q[l]&0x0f)) - m1
		}
		for l := 0; l < 32; l++ {
			y[j+32+l] = float32(d2*float32(q[l]>>4)) - m2
		}
		q = q[32:]
		is += 2
	}
}

func dequantQ6KBlock(y []float32, b []byte) {
	ql := b[0:128]
	qh := b[128:192]
	sc := b[192:208]
	d := f16At(b, 208)
	y = y[:qkK]
	for n := 0; n < qkK; n += 128 {
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int32((ql[l]&0x0f)|((qh[l]>>0)&3)<<4) - 32
			q2 := int32((ql[l+32]&0x0f)|((qh[l]>>2)&3)<<4) - 32
			q3 := int32((ql[l]>>4)|((qh[l]>>4)&3)<<4) - 32
			q4 := int32((ql[l+32]>>4)|((qh[l]>>6)&3)<<4) - 32
			y[n+l] = float32(d*float32(int8(sc[is+0]))) * float32(q1)
			y[n+l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
			y[n+l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
			y[n+l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
		}
		ql = ql[64:]
		qh = qh[32:]
		sc = sc[8:]
	}
}

// Quantize converts src into type t, writing t.RowBytes(len(src)) bytes to
// dst. len(src) must be a multiple of t's block size. The q4_k and q6_k
// quantizers follow ggml's reference (non-imatrix) search.
func Quantize(dst []byte, src []float32, t DType) error {
	need, err := t.RowBytes(len(src))
	if err != nil {
		return fmt.Errorf("kernels: quantize: %w", err)
	}
	if len(dst) < need {
		return fmt.Errorf("kernels: quantize %d %s elements: need %d bytes, have %d: %w", len(src), t, need, len(dst), ErrShortBuffer)
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
		}
	case Q4_0:
		for b := 0; b < len(src)/qk; b++ {
			quantQ4_0Block(dst[b*q4_0Bytes:(b+1)*q4_0Bytes], src[b*qk:(b+1)*qk])
		}
	case Q8_0:
		for b := 0; b < len(src)/qk; b++ {
			quantQ8_0Block(dst[b*q8_0Bytes:(b+1)*q8_0Bytes], src[b*qk:(b+1)*qk])
		}
	case Q4_K:
		for b := 0; b < len(src)/qkK; b++ {
			quantQ4KBlock(dst[b*q4KBytes:(b+1)*q4KBytes], src[b*qkK:(b+1)*qkK])
		}
	case Q6_K:
		for b := 0; b < len(src)/qkK; b++ {
			quantQ6KBlock(dst[b*q6KBytes:(b+1)*q6KBytes], src[b*qkK:(b+1)*qkK])
		}
	default:
		quantExt(dst, src, t)
	}
	return nil
}

// roundAway rounds half away from zero, like C's roundf.
func roundAway(v float32) int32 {
	v = float32(v) // rounded: never fused with the caller's product
	if v < 0 {
		return -int32(float32(-v) + 0.5)
	}
	return int32(v + 0.5)
}

// nearestInt rounds to nearest (ties to even) for |v| < 2^22, like ggml's
// nearest_int.
func nearestInt(v float32) int32 {
	f := float32(v) + roundMag // float32(v): never fused with the caller's product
	return int32(math.Float32bits(f)&0x7fffff) - 0x00400000
}

func abs32(v float32) float32 {
	return math.Float32frombits(math.Float32bits(v) &^ (1 << 31))
}

func quantQ8_0Block(b []byte, x []float32) {
	x = x[:qk]
	var amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(b, F32ToF16(d))
	qs := b[2 : 2+qk]
	for j, v := range x {
		qs[j] = byte(int8(roundAway(v * id)))
	}
}

func quantQ4_0Block(b []byte, x []float32) {
	x = x[:qk]
	var amax, maxv float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax = a
			maxv = v
		}
	}
	d := maxv / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(b, F32ToF16(d))
	qs := b[2 : 2+qk/2]
	q := func(v float32) byte {
		x0 := float32(v*id) + 8.5
		switch {
		case !(x0 >= 0): // also NaN
			return 0
		case x0 >= 15:
			return 15
		}
		return byte(x0)
	}
	for j := 0; j < qk/2; j++ {
		qs[j] = q(x[j]) | q(x[j+qk/2])<<4
	}
}

// packBytes is the size of one block of a packed 4-column group (a group
// of 8 takes twice as much).
const packBytes = 160

// packFlip returns the byte the int8 activations of a packed group of
// width columns are XORed with for the tile kernel of type t: 0x80 (x+128,
// unsigned) for the q8_0 4x8 kernel, else 0.
func packFlip(t DType, width int) uint32 {
	if t == Q8_0 && width == 8 {
		return 0x80808080
	}
	return 0
}

// packCol writes column c into slot of a packed group of width (4 or 8)
// columns for the tile kernels, its values XORed with flip (packFlip). Per block of 32 the group holds: for k =
// 0..7, bytes 4k..4k+3 of every column (4*width bytes each); then -sum of
// every column's block (width int32); then every column's block scale
// (width float32). dst must hold len(c.d)*width*40 bytes.
func packCol(dst []byte, width, slot int, c qcol, flip uint32) {
	nb := len(c.d)
	if nb == 0 {
		return
	}
	bb := width * 40
	dst = dst[:nb*bb]
	q := unsafe.Slice((*byte)(unsafe.Pointer(&c.q[0])), nb*qk)
	_ = c.s[nb-1]
	for b := 0; b < nb; b++ {
		o := dst[b*bb : (b+1)*bb]
		qb := q[b*qk : b*qk+qk]
		for k := 0; k < 8; k++ {
			binary.LittleEndian.PutUint32(o[4*(k*width+slot):], binary.LittleEndian.Uint32(qb[4*k:])^flip)
		}
		binary.LittleEndian.PutUint32(o[4*(8*width+slot):], uint32(-c.s[b]))
		binary.LittleEndian.PutUint32(o[4*(9*width+slot):], math.Float32bits(c.d[b]))
	}
}

// packWideBytes is the size of one block of a group of 8 columns packed
// by packColWide.
const packWideBytes = 16*32 + 8*4

// packColWide writes column c into slot (0..7) of a group of 8 columns
// packed for a tile kernel that multiplies int16 pairs (the AVX2 q8_0 one,
// kernelSet.q8_0Wide8). Per block of 32 the group holds: for j = 0..15,
// values 2j and 2j+1 of every column as int16 (4 bytes per column, 32 in
// all); then every column's block scale (8 float32). dst must hold
// len(c.d)*packWideBytes bytes.
func packColWide(dst []byte, slot int, c qcol) {
	nb := len(c.d)
	if nb == 0 {
		return
	}
	dst = dst[:nb*packWideBytes]
	q := c.q[:nb*qk]
	for b := 0; b < nb; b++ {
		o := dst[b*packWideBytes : (b+1)*packWideBytes]
		qb := q[b*qk : b*qk+qk]
		for j := 0; j < qk/2; j++ {
			binary.LittleEndian.PutUint16(o[32*j+4*slot:], uint16(int16(qb[2*j])))
			binary.LittleEndian.PutUint16(o[32*j+4*slot+2:], uint16(int16(qb[2*j+1])))
		}
		binary.LittleEndian.PutUint32(o[512+4*slot:], math.Float32bits(c.d[b]))
	}
}

// packGroup packs 4 columns into dst (width 4).
func packGroup(dst []byte, c *[4]qcol) {
	for i := range c {
		packCol(dst, 4, i, c[i], 0)
	}
}
