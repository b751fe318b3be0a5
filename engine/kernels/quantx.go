package kernels

import (
	"encoding/binary"
	"math"
)

// The layouts of the types added to the first set (q4_0, q8_0, q4_k,
// q6_k), as ggml lays them out (ggml-common.h), and their reference
// dequantizers, bit-exact with ggml's:
//
//	q4_1   32 elements, 20 bytes: fp16 d, fp16 m, 16 bytes of nibbles
//	       (element j<16 low nibble of qs[j], j>=16 high nibble of
//	       qs[j-16]); value q*d + m
//	q5_0   32 elements, 22 bytes: fp16 d, 32 high bits (bit j of the
//	       little-endian uint32 for element j), 16 bytes of nibbles as
//	       q4_0; value (q-16)*d
//	mxfp4  32 elements, 17 bytes: E8M0 exponent e, 16 bytes of e2m1
//	       nibbles as q4_0; value kvaluesMXFP4[q] * 2^(e-128) (the table
//	       holds twice the e2m1 values)
//	q3_k  256 elements, 110 bytes: 32 bytes of high bits (hmask), 64 bytes
//	       of 2-bit values, 12 bytes of 16 packed 6-bit scales (minus 32),
//	       fp16 d; value d*(sc-32)*(q - 4*(1-h))
//	q5_k  256 elements, 176 bytes: fp16 d, fp16 dmin, 12 bytes of q4_k's
//	       scales and mins, 32 bytes of high bits, 128 bytes of nibbles;
//	       value d*sc*q - dmin*m with 5-bit q
//	iq4_xs 256 elements, 136 bytes: fp16 d, uint16 high scale bits, 4
//	       bytes of low scale nibbles, 128 bytes of nibbles indexing
//	       kvaluesIQ4NL; value d*(ls-32)*kvaluesIQ4NL[q] per 32 elements

// kvaluesIQ4NL is ggml's non-linear 4-bit grid of iq4_nl and iq4_xs.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// kvaluesMXFP4 is twice the e2m1 values (ggml's kvalues_mxfp4); the E8M0
// scale is halved to match.
var kvaluesMXFP4 = [16]int8{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

// e8m0Half is 2^(e-128), half the E8M0 value 2^(e-127), as ggml's
// GGML_E8M0_TO_FP32_HALF (exact; subnormal for e < 2).
func e8m0Half(e uint8) float32 {
	if e < 2 {
		return math.Float32frombits(0x00200000 << e)
	}
	return math.Float32frombits(uint32(e-1) << 23)
}

// extBlockFuncs returns the block dequantizer and quantizer of a type of
// this file (nil for another type).
func extBlockFuncs(t DType) (dequant func(y []float32, b []byte), quant func(b []byte, x []float32)) {
	switch t {
	case Q4_1:
		return dequantQ4_1Block, quantQ4_1Block
	case Q5_0:
		return dequantQ5_0Block, quantQ5_0Block
	case MXFP4:
		return dequantMXFP4Block, quantMXFP4Block
	case Q3_K:
		return dequantQ3KBlock, quantQ3KBlock
	case Q5_K:
		return dequantQ5KBlock, quantQ5KBlock
	case IQ4_XS:
		return dequantIQ4XSBlock, quantIQ4XSBlock
	}
	return nil, nil
}

// dequantExt dequantizes the types of this file (sizes checked by the
// caller).
func dequantExt(dst []float32, src []byte, t DType) {
	f, _ := extBlockFuncs(t)
	if f == nil {
		return
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	for b := 0; b < len(dst)/bs; b++ {
		f(dst[b*bs:(b+1)*bs], src[b*bb:(b+1)*bb])
	}
}

// quantExt quantizes into the types of this file (sizes checked by the
// caller).
func quantExt(dst []byte, src []float32, t DType) {
	_, f := extBlockFuncs(t)
	if f == nil {
		return
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	for b := 0; b < len(src)/bs; b++ {
		f(dst[b*bb:(b+1)*bb], src[b*bs:(b+1)*bs])
	}
}

func dequantQ4_1Block(y []float32, b []byte) {
	d, m := f16At(b, 0), f16At(b, 2)
	qs := b[4 : 4+qk/2]
	y = y[:qk]
	for j := 0; j < qk/2; j++ {
		y[j] = float32(float32(qs[j]&0x0f)*d) + m
		y[j+qk/2] = float32(float32(qs[j]>>4)*d) + m
	}
}

// q5_0Vals unpacks the 32 five-bit values (0..31) of a q5_0 block.
func q5_0Vals(v *[qk]int32, b []byte) {
	qh := binary.LittleEndian.Uint32(b[2:])
	qs := b[6 : 6+qk/2]
	for j := 0; j < qk/2; j++ {
		v[j] = int32(qs[j]&0x0f) | int32((qh>>j)&1)<<4
		v[j+qk/2] = int32(qs[j]>>4) | int32((qh>>(j+16))&1)<<4
	}
}

func dequantQ5_0Block(y []float32, b []byte) {
	d := f16At(b, 0)
	var v [qk]int32
	q5_0Vals(&v, b)
	y = y[:qk]
	for j := range y {
		y[j] = float32(v[j]-16) * d
	}
}

func dequantMXFP4Block(y []float32, b []byte) {
	d := e8m0Half(b[0])
	qs := b[1 : 1+qk/2]
	y = y[:qk]
	for j := 0; j < qk/2; j++ {
		y[j] = float32(kvaluesMXFP4[qs[j]&0x0f]) * d
		y[j+qk/2] = float32(kvaluesMXFP4[qs[j]>>4]) * d
	}
}

// q3KScales unpacks the 16 six-bit scales of a q3_k block, minus 32.
func q3KScales(s []byte) (sc [16]int8) {
	a0 := binary.LittleEndian.Uint32(s[0:])
	a1 := binary.LittleEndian.Uint32(s[4:])
	tmp := binary.LittleEndian.Uint32(s[8:])
	const m1, m2 = 0x03030303, 0x0f0f0f0f
	aux := [4]uint32{
		a0&m2 | (tmp&m1)<<4,
		a1&m2 | ((tmp>>2)&m1)<<4,
		(a0>>4)&m2 | ((tmp>>4)&m1)<<4,
		(a1>>4)&m2 | ((tmp>>6)&m1)<<4,
	}
	for i := range sc {
		sc[i] = int8(aux[i/4]>>(8*(i%4))) - 32
	}
	return sc
}

// q3KVals unpacks the 256 values (-4..3) of a q3_k block.
func q3KVals(v *[qkK]int8, b []byte) {
	hm := b[0:32]
	for h := 0; h < 2; h++ {
		qs := b[32+32*h : 64+32*h]
		for j := 0; j < 4; j++ {
			for l := 0; l < 32; l++ {
				q := int8((qs[l] >> (2 * j)) & 3)
				if hm[l]>>(4*h+j)&1 == 0 {
					q -= 4
				}
				v[128*h+32*j+l] = q
			}
		}
	}
}

func dequantQ3KBlock(y []float32, b []byte) {
	d := f16At(b, 108)
	sc := q3KScales(b[96:108])
	var v [qkK]int8
	q3KVals(&v, b)
	y = y[:qkK]
	for g := 0; g < 16; g++ {
		dl := d * float32(sc[g])
		for l := 0; l < 16; l++ {
			y[16*g+l] = dl * float32(v[16*g+l])
		}
	}
}

// q5KVals unpacks the 256 five-bit values (0..31) of a q5_k block.
func q5KVals(v *[qkK]uint8, b []byte) {
	qh := b[16:48]
	ql := b[48:176]
	for c := 0; c < 4; c++ {
		q := ql[32*c : 32*c+32]
		for l := 0; l < 32; l++ {
			v[64*c+l] = q[l]&0x0f | ((qh[l]>>(2*c))&1)<<4
			v[64*c+32+l] = q[l]>>4 | ((qh[l]>>(2*c+1))&1)<<4
		}
	}
}

func dequantQ5KBlock(y []float32, b []byte) {
	d := f16At(b, 0)
	dmin := f16At(b, 2)
	scales := b[4:16]
	var v [qkK]uint8
	q5KVals(&v, b)
	y = y[:qkK]
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, scales)
		d1 := d * float32(sc)
		m1 := dmin * float32(m)
		for l := 0; l < 32; l++ {
			y[32*j+l] = float32(d1*float32(v[32*j+l])) - m1
		}
	}
}

// iq4XSScale returns sub-block ib's scale ls-32 (-32..31).
func iq4XSScale(b []byte, ib int) int32 {
	sh := binary.LittleEndian.Uint16(b[2:])
	ls := int32(b[4+ib/2]>>(4*(ib%2)))&0x0f | int32((sh>>(2*ib))&3)<<4
	return ls - 32
}

func dequantIQ4XSBlock(y []float32, b []byte) {
	d := f16At(b, 0)
	qs := b[8:136]
	y = y[:qkK]
	for ib := 0; ib < 8; ib++ {
		dl := d * float32(iq4XSScale(b, ib))
		q := qs[16*ib : 16*ib+16]
		for j := 0; j < 16; j++ {
			y[32*ib+j] = dl * float32(kvaluesIQ4NL[q[j]&0x0f])
			y[32*ib+16+j] = dl * float32(kvaluesIQ4NL[q[j]>>4])
		}
	}
}

// Quantizers. They write valid blocks of ggml's layouts; q4_1, q5_0,
// mxfp4, q3_k and q5_k follow ggml's reference quantizers, iq4_xs uses a
// plain rounding search (ggml's iq4_xs quantizer searches harder).

// truncClamp is ggml's MIN(hi, (int8_t)(v)) for the v the reference
// quantizers form (0 <= v < hi+1 for finite data): truncation clamped to
// [0, hi] (NaN gives 0).
func truncClamp(v float32, hi int32) int32 {
	switch {
	case !(v >= 0):
		return 0
	case v >= float32(hi):
		return hi
	}
	return int32(v)
}

func quantQ4_1Block(b []byte, x []float32) {
	x = x[:qk]
	minv, maxv := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range x {
		minv = min(minv, v)
		maxv = max(maxv, v)
	}
	d := (maxv - minv) / 15
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(b[0:], F32ToF16(d))
	binary.LittleEndian.PutUint16(b[2:], F32ToF16(minv))
	qs := b[4 : 4+qk/2]
	for j := 0; j < qk/2; j++ {
		x0 := truncClamp(float32((x[j]-minv)*id)+0.5, 15)
		x1 := truncClamp(float32((x[j+qk/2]-minv)*id)+0.5, 15)
		qs[j] = byte(x0) | byte(x1)<<4
	}
}

func quantQ5_0Block(b []byte, x []float32) {
	x = x[:qk]
	var amax, maxv float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, maxv = a, v
		}
	}
	d := maxv / -16
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(b[0:], F32ToF16(d))
	qs := b[6 : 6+qk/2]
	var qh uint32
	for j := 0; j < qk/2; j++ {
		x0 := truncClamp(float32(x[j]*id)+16.5, 31)
		x1 := truncClamp(float32(x[j+qk/2]*id)+16.5, 31)
		qs[j] = byte(x0&0x0f) | byte(x1&0x0f)<<4
		qh |= uint32(x0>>4) << j
		qh |= uint32(x1>>4) << (j + 16)
	}
	binary.LittleEndian.PutUint32(b[2:], qh)
}

// nearestMXFP4 is the index of the table value v*d closest to x (the
// first on a tie), as ggml's best_index_mxfp4.
func nearestMXFP4(x, d float32) byte {
	best, bestErr := 0, abs32(float32(float32(kvaluesMXFP4[0])*d)-x)
	for i := 1; i < 16; i++ {
		if e := abs32(float32(float32(kvaluesMXFP4[i])*d) - x); e < bestErr {
			best, bestErr = i, e
		}
	}
	return byte(best)
}

func quantMXFP4Block(b []byte, x []float32) {
	x = x[:qk]
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	var e uint8
	if amax > 0 && amax <= math.MaxFloat32 {
		// floor(log2(amax)) - 2 + 127, as ggml, from the exact exponent.
		_, exp := math.Frexp(float64(amax))
		e = uint8(min(254, max(0, exp-1-2+127)))
	}
	b[0] = e
	d := e8m0Half(e)
	qs := b[1 : 1+qk/2]
	for j := 0; j < qk/2; j++ {
		qs[j] = nearestMXFP4(x[j], d) | nearestMXFP4(x[j+qk/2], d)<<4
	}
}

func quantQ5KBlock(b []byte, x []float32) {
	var L [qkK]uint8
	quantScaleMinK(b, x[:qkK], &L, 31, -0.5, 0.1, 15)
	qh := b[16:48]
	ql := b[48:176]
	clear(qh)
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			l1, l2 := L[64*c+l], L[64*c+32+l]
			if l1 > 15 {
				l1 -= 16
				qh[l] |= 1 << (2 * c)
			}
			if l2 > 15 {
				l2 -= 16
				qh[l] |= 2 << (2 * c)
			}
			ql[32*c+l] = l1 | l2<<4
		}
	}
}

func quantQ3KBlock(b []byte, x []float32) {
	x = x[:qkK]
	var Ls [qkK]int8
	var scales [16]float32
	var maxScale, amax float32
	for j := 0; j < 16; j++ {
		scales[j] = makeQXQuants(x[16*j:16*j+16], Ls[16*j:16*j+16], 4)
		if a := abs32(scales[j]); a > amax {
			amax, maxScale = a, scales[j]
		}
	}
	clear(b[:q3KBytes])
	sc := b[96:108]
	if maxScale != 0 && amax == amax {
		iscale := -32 / maxScale
		for j := 0; j < 16; j++ {
			l := min(31, max(-32, nearestInt(iscale*scales[j]))) + 32
			if j < 8 {
				sc[j] = byte(l & 0x0f)
			} else {
				sc[j-8] |= byte(l&0x0f) << 4
			}
			sc[j%4+8] |= byte(l>>4) << (2 * (j / 4))
		}
		binary.LittleEndian.PutUint16(b[108:], F32ToF16(1/iscale))
	}
	dAll := f16At(b, 108)
	scs := q3KScales(sc)
	var L [qkK]uint8
	for j := 0; j < 16; j++ {
		d := dAll * float32(scs[j])
		for ii := 0; ii < 16; ii++ {
			l := int32(0)
			if d != 0 {
				l = min(3, max(-4, nearestInt(x[16*j+ii]/d)))
			}
			L[16*j+ii] = uint8(l + 4)
		}
	}
	hm := b[0:32]
	for j := range L {
		if L[j] > 3 {
			hm[j%32] |= 1 << (j / 32)
			L[j] -= 4
		}
	}
	qs := b[32:96]
	for h := 0; h < 2; h++ {
		for l := 0; l < 32; l++ {
			j := 128 * h
			qs[32*h+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// nearestIQ4NL is the index of the grid value closest to v (the lower on
// a tie), as ggml's best_index_int8.
func nearestIQ4NL(v float32) byte {
	if !(v > float32(kvaluesIQ4NL[0])) {
		return 0
	}
	if v >= float32(kvaluesIQ4NL[15]) {
		return 15
	}
	i := 0
	for i < 15 && float32(kvaluesIQ4NL[i+1]) <= v {
		i++
	}
	if v-float32(kvaluesIQ4NL[i]) <= float32(kvaluesIQ4NL[i+1])-v {
		return byte(i)
	}
	return byte(i + 1)
}

func quantIQ4XSBlock(b []byte, x []float32) {
	x = x[:qkK]
	var scales [8]float32
	var maxScale, amaxScale float32
	for ib := 0; ib < 8; ib++ {
		xb := x[32*ib : 32*ib+32]
		var amax, maxv float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax, maxv = a, v
			}
		}
		if !(amax > 0) {
			continue
		}
		// The value of largest magnitude maps onto the grid's end (-127),
		// then one least-squares refinement of the scale.
		d := -maxv / 127
		id := 1 / d
		var sumQX, sumQ2 float32
		for _, v := range xb {
			q := float32(kvaluesIQ4NL[nearestIQ4NL(float32(v*id))])
			sumQX += float32(q * v)
			sumQ2 += float32(q * q)
		}
		if sumQ2 > 0 {
			d = sumQX / sumQ2
		}
		scales[ib] = d
		if a := abs32(d); a > amaxScale {
			amaxScale, maxScale = a, d
		}
	}
	clear(b[:iq4XSBytes])
	if !(amaxScale > 0) || amaxScale > math.MaxFloat32 {
		for i := 8; i < iq4XSBytes; i++ {
			b[i] = 0x88 // grid index 8 (value 1) times a zero scale
		}
		return
	}
	d := -maxScale / 32
	binary.LittleEndian.PutUint16(b[0:], F32ToF16(d))
	dh := f16At(b, 0)
	id := 1 / d
	var sh uint16
	qs := b[8:136]
	for ib := 0; ib < 8; ib++ {
		l := min(31, max(-32, nearestInt(id*scales[ib])))
		dl := dh * float32(l)
		var idl float32
		if dl != 0 {
			idl = 1 / dl
		}
		xb := x[32*ib : 32*ib+32]
		for j := 0; j < 16; j++ {
			qs[16*ib+j] = nearestIQ4NL(float32(idl*xb[j])) | nearestIQ4NL(float32(idl*xb[j+16]))<<4
		}
		u := uint8(l + 32)
		b[4+ib/2] |= (u & 0x0f) << (4 * (ib % 2))
		sh |= uint16(u>>4) << (2 * ib)
	}
	binary.LittleEndian.PutUint16(b[2:], sh)
}
