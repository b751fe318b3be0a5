package kernels

import (
	"encoding/binary"
	"math"
)

// qcol is one activation column quantized to int8 in blocks of 32: q holds
// the values, d the float32 scale of each block and s the sum of each
// block's values.
type qcol struct {
	q []int8
	d []float32
	s []int32
}

// quantizeAct quantizes x (len multiple of 32) into c (same geometry).
func quantizeAct(c qcol, x []float32) {
	for b := range c.d {
		xs := x[b*qk : b*qk+qk]
		var amax float32
		for _, v := range xs {
			if a := abs32(v); a > amax {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		c.d[b] = d
		q := c.q[b*qk : b*qk+qk]
		var s int32
		for j, v := range xs {
			iv := int8(nearestInt(float32(v * id))) // no fused multiply-add
			q[j] = iv
			s += int32(iv)
		}
		c.s[b] = s
	}
}

// Generic (pure Go) kernels. Each reduction has one fixed order.

func dotF32Generic(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyF32Generic(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

func dotF16Generic(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += F16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * x[i]
		s1 += F16ToF32(binary.LittleEndian.Uint16(w[2*i+2:])) * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += F16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * x[i]
	}
	return s0 + s1
}

func dotBF16Generic(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += math.Float32frombits(uint32(binary.LittleEndian.Uint16(w[2*i:]))<<16) * x[i]
		s1 += math.Float32frombits(uint32(binary.LittleEndian.Uint16(w[2*i+2:]))<<16) * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += math.Float32frombits(uint32(binary.LittleEndian.Uint16(w[2*i:]))<<16) * x[i]
	}
	return s0 + s1
}

func dotF32Bytes(w []byte, x []float32) float32 {
	w = w[:4*len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * x[i]
		s1 += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i+4:])) * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * x[i]
	}
	return s0 + s1
}

func dotQ8_0Generic(w []byte, a qcol) float32 {
	var sum float32
	for b := range a.d {
		blk := w[b*q8_0Bytes : (b+1)*q8_0Bytes]
		d := f16At(blk, 0)
		qs := blk[2 : 2+qk]
		xq := a.q[b*qk : b*qk+qk]
		var isum int32
		for j := range qs {
			isum += int32(int8(qs[j])) * int32(xq[j])
		}
		sum = fma32(float32(isum), d*a.d[b], sum)
	}
	return sum
}

// fma32 approximates a float32 fused multiply-add (the product of two
// float32 is exact in float64; the sum is rounded twice, which can differ
// from a single rounding in rare halfway cases).
func fma32(x, y, z float32) float32 {
	return float32(math.FMA(float64(x), float64(y), float64(z)))
}

func dotQ4_0Generic(w []byte, a qcol) float32 {
	var sum float32
	for b := range a.d {
		blk := w[b*q4_0Bytes : (b+1)*q4_0Bytes]
		d := f16At(blk, 0)
		qs := blk[2 : 2+qk/2]
		xq := a.q[b*qk : b*qk+qk]
		var isum int32
		for j := range qs {
			isum += int32(qs[j]&0x0f)*int32(xq[j]) + int32(qs[j]>>4)*int32(xq[j+qk/2])
		}
		isum -= 8 * a.s[b]
		sum = fma32(float32(isum), d*a.d[b], sum)
	}
	return sum
}

func dotQ4KGeneric(w []byte, a qcol) float32 {
	var sum float32
	nb := len(a.d) / 8
	for b := 0; b < nb; b++ {
		blk := w[b*q4KBytes : (b+1)*q4KBytes]
		d := f16At(blk, 0)
		dmin := f16At(blk, 2)
		scales := blk[4:16]
		qs := blk[16:]
		var sumd, summ float32
		for j := 0; j < 8; j++ {
			sc, m := scaleMinK4(j, scales)
			q := qs[(j/2)*32 : (j/2)*32+32]
			xq := a.q[(b*8+j)*qk : (b*8+j)*qk+qk]
			var isum int32
			if j&1 == 0 {
				for l := range q {
					isum += int32(q[l]&0x0f) * int32(xq[l])
				}
			} else {
				for l := range q {
					isum += int32(q[l]>>4) * int32(xq[l])
				}
			}
			dx := a.d[b*8+j]
			sumd += dx * float32(isum*int32(sc))
			summ += dx * float32(a.s[b*8+j]*int32(m))
		}
		sum += d*sumd - dmin*summ
	}
	return sum
}

func dotQ6KGeneric(w []byte, a qcol) float32 {
	var sum float32
	nb := len(a.d) / 8
	var qv [qkK]int8
	for b := 0; b < nb; b++ {
		blk := w[b*q6KBytes : (b+1)*q6KBytes]
		ql := blk[0:128]
		qh := blk[128:192]
		sc := blk[192:208]
		d := f16At(blk, 208)
		for n := 0; n < qkK; n += 128 {
			for l := 0; l < 32; l++ {
				qv[n+l] = int8((ql[l]&0x0f)|(qh[l]&3)<<4) - 32
				qv[n+l+32] = int8((ql[l+32]&0x0f)|((qh[l]>>2)&3)<<4) - 32
				qv[n+l+64] = int8((ql[l]>>4)|((qh[l]>>4)&3)<<4) - 32
				qv[n+l+96] = int8((ql[l+32]>>4)|((qh[l]>>6)&3)<<4) - 32
			}
			ql = ql[64:]
			qh = qh[32:]
		}
		var bsum float32
		for j := 0; j < 8; j++ {
			xq := a.q[(b*8+j)*qk : (b*8+j)*qk+qk]
			var i0, i1 int32
			for l := 0; l < 16; l++ {
				i0 += int32(qv[32*j+l]) * int32(xq[l])
				i1 += int32(qv[32*j+16+l]) * int32(xq[16+l])
			}
			isum := i0*int32(int8(sc[2*j])) + i1*int32(int8(sc[2*j+1]))
			bsum += a.d[b*8+j] * float32(isum)
		}
		sum += d * bsum
	}
	return sum
}

// rowsLoop adapts a one-row dot to a qRowsFn.
func rowsLoop(dot func(w []byte, a qcol) float32) qRowsFn {
	return func(dst []float32, w []byte, rowBytes int, a qcol) {
		for i := range dst {
			dst[i] = dot(w[i*rowBytes:(i+1)*rowBytes], a)
		}
	}
}

func fRowsLoop(dot func(w []byte, x []float32) float32) fRowsFn {
	return func(dst []float32, w []byte, rowBytes int, x []float32) {
		for i := range dst {
			dst[i] = dot(w[i*rowBytes:(i+1)*rowBytes], x)
		}
	}
}

var genericSet = kernelSet{
	impl:     Generic,
	quantAct: quantizeAct,
	dotF32:   dotF32Generic,
	axpyF32:  axpyF32Generic,
	siluMul:  siluMul,
	dotRows:  rowsOf(dotF32Generic),
	axpyRows: axpyRowsOf(axpyF32Generic),
	f32Rows:  fRowsLoop(dotF32Bytes),
	f16Rows:  fRowsLoop(dotF16Generic),
	bf16Rows: fRowsLoop(dotBF16Generic),
	q8_0Rows: rowsLoop(dotQ8_0Generic),
	q4_0Rows: rowsLoop(dotQ4_0Generic),
	q4KRows:  rowsLoop(dotQ4KGeneric),
	q6KRows:  rowsLoop(dotQ6KGeneric),
}
