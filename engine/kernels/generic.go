package kernels

import (
	"encoding/binary"
	"math"
)

// qcol is one activation column quantized to int8: q holds the values, d
// the float32 scale of each quantization block (32 values for q8_0 and
// q4_0, a 256-value super-block for the k-quants) and s the sum of each
// 32-value block's values.
type qcol struct {
	q []int8
	d []float32
	s []int32
}

// actTiny is the smallest block maximum that is quantized: a block whose
// largest |x| is below it (or NaN) quantizes to zeros, so that 127/amax
// never overflows.
const actTiny = 0x1p-120

// quantizeAct quantizes x (len multiple of 32) into c with one scale per
// 32 values, as llama.cpp quantizes activations for q8_0 and q4_0 on x86:
// amax = max|x|, d = the fp16 rounding of amax/127, id = 127/amax, q =
// round-to-even(x*id) (the product rounded first); s = sum of q.
func quantizeAct(c qcol, x []float32) {
	for b := range c.d {
		xs := x[b*qk : b*qk+qk]
		var amax float32
		for _, v := range xs {
			if a := abs32(v); a > amax {
				amax = a
			}
		}
		var d, id float32
		if amax >= actTiny {
			d = F16ToF32(F32ToF16(amax / 127))
			id = 127 / amax
		}
		c.d[b] = d
		q := c.q[b*qk : b*qk+qk]
		var s int32
		for j, v := range xs {
			iv := int8(nearestInt(float32(v * id)))
			q[j] = iv
			s += int32(iv)
		}
		c.s[b] = s
	}
}

// quantizeActK quantizes x (len multiple of 256) into c with one scale per
// 256 values, as llama.cpp's q8_K: max = the first x of largest |x|,
// iscale = -127/max, q = min(127, round-to-even(x*iscale)), d = 1/iscale;
// s = the sum of each 32 values of q.
func quantizeActK(c qcol, x []float32) {
	for b := range c.d {
		xs := x[b*qkK : b*qkK+qkK]
		var amax, maxv float32
		for _, v := range xs {
			if a := abs32(v); a > amax {
				amax, maxv = a, v
			}
		}
		q := c.q[b*qkK : b*qkK+qkK]
		if !(amax >= actTiny) {
			c.d[b] = 0
			clear(q)
			continue
		}
		iscale := -127 / maxv
		for j, v := range xs {
			q[j] = int8(min(127, nearestInt(float32(v*iscale))))
		}
		c.d[b] = 1 / iscale
	}
	for k := range c.s {
		var s int32
		for _, v := range c.q[k*qk : k*qk+qk] {
			s += int32(v)
		}
		c.s[k] = s
	}
}

// Generic (pure Go) kernels: the executable definition of the canonical
// arithmetic (see the package documentation). Every product that feeds an
// addition is rounded explicitly, float32(x*y), so no compiler may fuse
// them.

// fLanes is the number of partial sums of a float dot product: element i
// goes to lane i%fLanes.
const fLanes = 16

// hsum8 is the canonical sum of 8 lanes.
func hsum8(h *[8]float32) float32 {
	return ((h[0] + h[4]) + (h[1] + h[5])) + ((h[2] + h[6]) + (h[3] + h[7]))
}

// hsum16 is the canonical sum of 16 lanes: lane k plus lane k+8, then
// hsum8.
func hsum16(l *[fLanes]float32) float32 {
	var h [8]float32
	for k := range h {
		h[k] = l[k] + l[k+8]
	}
	return hsum8(&h)
}

func dotF32Generic(a, b []float32) float32 {
	b = b[:len(a)]
	var l [fLanes]float32
	i := 0
	for ; i+fLanes <= len(a); i += fLanes {
		for k := range l {
			l[k] += float32(a[i+k] * b[i+k])
		}
	}
	for k := 0; i+k < len(a); k++ {
		l[k] += float32(a[i+k] * b[i+k])
	}
	return hsum16(&l)
}

func axpyF32Generic(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += float32(a * x[i])
	}
}

func dotF16Generic(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var l [fLanes]float32
	for i, v := range x {
		l[i%fLanes] += float32(F16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * v)
	}
	return hsum16(&l)
}

func dotBF16Generic(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var l [fLanes]float32
	for i, v := range x {
		l[i%fLanes] += float32(math.Float32frombits(uint32(binary.LittleEndian.Uint16(w[2*i:]))<<16) * v)
	}
	return hsum16(&l)
}

func dotF32Bytes(w []byte, x []float32) float32 {
	w = w[:4*len(x)]
	var l [fLanes]float32
	for i, v := range x {
		l[i%fLanes] += float32(math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * v)
	}
	return hsum16(&l)
}

// dotQ8_0Generic: per block b in order, acc += float(isum_b) * (dw_b*dx_b).
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
		sum += float32(float32(isum) * float32(d*a.d[b]))
	}
	return sum
}

// dotQ4_0Generic is dotQ8_0Generic with isum_b = sum((q-8)*x).
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
		sum += float32(float32(isum) * float32(d*a.d[b]))
	}
	return sum
}

// dotQ4KGeneric: activations with one scale dx per super-block. Per
// super-block, exactly in int32, isd = sum_j sc_j*isum_j and ism = sum_j
// m_j*xs_j (xs_j the sum of sub-block j's activations); then acc +=
// float(isd)*(d*dx) and acc -= float(ism)*(dmin*dx), super-blocks in order.
func dotQ4KGeneric(w []byte, a qcol) float32 {
	var acc float32
	for b := range a.d {
		blk := w[b*q4KBytes : (b+1)*q4KBytes]
		d := f16At(blk, 0)
		dmin := f16At(blk, 2)
		scales := blk[4:16]
		qs := blk[16:]
		var isd, ism int32
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
			isd += isum * int32(sc)
			ism += a.s[b*8+j] * int32(m)
		}
		dx := a.d[b]
		acc += float32(float32(isd) * float32(d*dx))
		acc -= float32(float32(ism) * float32(dmin*dx))
	}
	return acc
}

// dotQ6KGeneric: activations with one scale dx per super-block. Per
// super-block isum = sum over the 16 groups of 16 of sc_g*dot_g exactly in
// int32 (values q-32), then acc += float(isum)*(d*dx), super-blocks in
// order.
func dotQ6KGeneric(w []byte, a qcol) float32 {
	var acc float32
	var qv [qkK]int8
	for b := range a.d {
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
		xq := a.q[b*qkK : (b+1)*qkK]
		var isum int32
		for g := 0; g < 16; g++ {
			var i0 int32
			for l := 0; l < 16; l++ {
				i0 += int32(qv[16*g+l]) * int32(xq[16*g+l])
			}
			isum += i0 * int32(int8(sc[g]))
		}
		acc += float32(float32(isum) * float32(d*a.d[b]))
	}
	return acc
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
	ext:      genericExt,
}
