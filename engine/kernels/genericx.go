package kernels

// extKernels holds the row kernels of q4_1, q5_0, mxfp4 (activations
// quantized per 32 values, as for q8_0) and q3_k, q5_k, iq4_xs (per
// 256-value super-block, as llama.cpp's q8_K).
type extKernels struct {
	q4_1Rows, q5_0Rows, mxfp4Rows qRowsFn
	q3KRows, q5KRows, iq4XSRows   qRowsFn

	// Optional 1-row x 4-column q5_k, iq4_xs and q3_k kernels for batches
	// (nil: the row kernels), bitwise the row kernels' results.
	q5KCols, iq4XSCols, q3KCols kColsFn
	// Optional 2-row x 4-column mxfp4 and q5_0 kernels for batches (nil:
	// the row kernels), bitwise the row kernels' results.
	mxfp4Cols, q5_0Cols qColsFn
	// Optional 2-row x 4-column q4_1 kernel for batches (nil: the row
	// kernel); it forms the columns' block sums (the m term) itself.
	q4_1Cols qColsFn

	// Optional kernels for repacked q4_1, q5_0, mxfp4 and iq4_xs
	// matrices (repackx.go; nil: the set does not repack that type).
	packed extPacked
}

// rows returns the row kernel of t, or nil for a type of the first set.
func (e *extKernels) rows(t DType) qRowsFn {
	switch t {
	case Q4_1:
		return e.q4_1Rows
	case Q5_0:
		return e.q5_0Rows
	case MXFP4:
		return e.mxfp4Rows
	case Q3_K:
		return e.q3KRows
	case Q5_K:
		return e.q5KRows
	case IQ4_XS:
		return e.iq4XSRows
	}
	return nil
}

var genericExt = extKernels{
	q4_1Rows:  rowsLoop(dotQ4_1Generic),
	q5_0Rows:  rowsLoop(dotQ5_0Generic),
	mxfp4Rows: rowsLoop(dotMXFP4Generic),
	q3KRows:   rowsLoop(dotQ3KGeneric),
	q5KRows:   rowsLoop(dotQ5KGeneric),
	iq4XSRows: rowsLoop(dotIQ4XSGeneric),
}

// dotQ4_1Generic: per block, isum = sum(q*x) exactly (q the nibbles 0..15)
// and xs the block's activation sum; then acc += float(isum)*(d*dx) and
// acc += float(xs)*(m*dx), blocks in order (llama.cpp's q4_1 x q8_1 dot:
// d*dx*isum + m*(dx*xs)).
func dotQ4_1Generic(w []byte, a qcol) float32 {
	var sum float32
	for b := range a.d {
		blk := w[b*q4_1Bytes : (b+1)*q4_1Bytes]
		d, m := f16At(blk, 0), f16At(blk, 2)
		qs := blk[4 : 4+qk/2]
		xq := a.q[b*qk : b*qk+qk]
		var isum int32
		for j := range qs {
			isum += int32(qs[j]&0x0f)*int32(xq[j]) + int32(qs[j]>>4)*int32(xq[j+qk/2])
		}
		dx := a.d[b]
		sum += float32(float32(isum) * float32(d*dx))
		sum += float32(float32(a.s[b]) * float32(m*dx))
	}
	return sum
}

// dotQ5_0Generic is dotQ4_0Generic with five-bit values:
// isum = sum((q-16)*x) exactly, acc += float(isum)*(d*dx).
func dotQ5_0Generic(w []byte, a qcol) float32 {
	var sum float32
	var v [qk]int32
	for b := range a.d {
		blk := w[b*q5_0Bytes : (b+1)*q5_0Bytes]
		q5_0Vals(&v, blk)
		xq := a.q[b*qk : b*qk+qk]
		var isum int32
		for j, q := range v {
			isum += q * int32(xq[j])
		}
		isum -= 16 * a.s[b]
		sum += float32(float32(isum) * float32(f16At(blk, 0)*a.d[b]))
	}
	return sum
}

// dotMXFP4Generic: per block, isum = sum(kvaluesMXFP4[q]*x) exactly, then
// acc += float(isum)*(e8m0Half(e)*dx), blocks in order.
func dotMXFP4Generic(w []byte, a qcol) float32 {
	var sum float32
	for b := range a.d {
		blk := w[b*mxfp4Bytes : (b+1)*mxfp4Bytes]
		qs := blk[1 : 1+qk/2]
		xq := a.q[b*qk : b*qk+qk]
		var isum int32
		for j := range qs {
			isum += int32(kvaluesMXFP4[qs[j]&0x0f])*int32(xq[j]) + int32(kvaluesMXFP4[qs[j]>>4])*int32(xq[j+qk/2])
		}
		sum += float32(float32(isum) * float32(e8m0Half(blk[0])*a.d[b]))
	}
	return sum
}

// dotQ3KGeneric: as dotQ6KGeneric, per super-block isum = sum over the 16
// groups of 16 of (sc_g-32)*dot_g exactly in int32 (values -4..3), then
// acc += float(isum)*(d*dx), super-blocks in order.
func dotQ3KGeneric(w []byte, a qcol) float32 {
	var acc float32
	var v [qkK]int8
	for b := range a.d {
		blk := w[b*q3KBytes : (b+1)*q3KBytes]
		q3KVals(&v, blk)
		sc := q3KScales(blk[96:108])
		xq := a.q[b*qkK : (b+1)*qkK]
		var isum int32
		for g := 0; g < 16; g++ {
			var i0 int32
			for l := 16 * g; l < 16*g+16; l++ {
				i0 += int32(v[l]) * int32(xq[l])
			}
			isum += i0 * int32(sc[g])
		}
		acc += float32(float32(isum) * float32(f16At(blk, 108)*a.d[b]))
	}
	return acc
}

// dotQ5KGeneric is dotQ4KGeneric with five-bit values: per super-block,
// exactly in int32, isd = sum_j sc_j*isum_j and ism = sum_j m_j*xs_j;
// then acc += float(isd)*(d*dx) and acc -= float(ism)*(dmin*dx).
func dotQ5KGeneric(w []byte, a qcol) float32 {
	var acc float32
	var v [qkK]uint8
	for b := range a.d {
		blk := w[b*q5KBytes : (b+1)*q5KBytes]
		q5KVals(&v, blk)
		var isd, ism int32
		for j := 0; j < 8; j++ {
			sc, m := scaleMinK4(j, blk[4:16])
			xq := a.q[(b*8+j)*qk : (b*8+j)*qk+qk]
			var isum int32
			for l, x := range xq {
				isum += int32(v[32*j+l]) * int32(x)
			}
			isd += isum * int32(sc)
			ism += a.s[b*8+j] * int32(m)
		}
		dx := a.d[b]
		acc += float32(float32(isd) * float32(f16At(blk, 0)*dx))
		acc -= float32(float32(ism) * float32(f16At(blk, 2)*dx))
	}
	return acc
}

// dotIQ4XSGeneric: per super-block isum = sum over the 8 sub-blocks of
// (ls-32)*dot_j exactly in int32 (values kvaluesIQ4NL[q]), then acc +=
// float(isum)*(d*dx), super-blocks in order.
func dotIQ4XSGeneric(w []byte, a qcol) float32 {
	var acc float32
	for b := range a.d {
		blk := w[b*iq4XSBytes : (b+1)*iq4XSBytes]
		qs := blk[8:136]
		var isum int32
		for ib := 0; ib < 8; ib++ {
			q := qs[16*ib : 16*ib+16]
			xq := a.q[(b*8+ib)*qk : (b*8+ib)*qk+qk]
			var i0 int32
			for j := range q {
				i0 += int32(kvaluesIQ4NL[q[j]&0x0f])*int32(xq[j]) + int32(kvaluesIQ4NL[q[j]>>4])*int32(xq[j+16])
			}
			isum += i0 * iq4XSScale(blk, ib)
		}
		acc += float32(float32(isum) * float32(f16At(blk, 0)*a.d[b]))
	}
	return acc
}
