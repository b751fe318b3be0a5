package kernels

import (
	"encoding/binary"
	"math"
)

// makeQKX2Quants finds, for n values x with importance weights w, a scale
// and a (non-positive) minimum such that x ≈ scale*L + min with L in
// [0, nmax], searching nstep candidate scales around the min/max one
// (ggml's make_qkx2_quants without MAD). It returns scale and -min.
func makeQKX2Quants(x, w []float32, L, laux []uint8, nmax int32, rmin, rdelta float32, nstep int) (scale, negMin float32) {
	n := len(x)
	minv, maxv := x[0], x[0]
	sumW := w[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < minv {
			minv = x[i]
		}
		if x[i] > maxv {
			maxv = x[i]
		}
		sumW += w[i]
		sumX += float32(w[i] * x[i])
	}
	if minv > 0 {
		minv = 0
	}
	if maxv == minv {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0, -minv
	}
	clamp := func(l int32) uint8 {
		if l < 0 {
			l = 0
		}
		if l > nmax {
			l = nmax
		}
		return uint8(l)
	}
	iscale := float32(nmax) / (maxv - minv)
	scale = 1 / iscale
	var bestErr float32
	for i := 0; i < n; i++ {
		l := clamp(nearestInt(iscale * (x[i] - minv)))
		L[i] = l
		diff := float32(scale*float32(l)) + minv - x[i]
		bestErr += float32(w[i] * diff * diff)
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (maxv - minv)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := clamp(nearestInt(iscale * (x[i] - minv)))
			laux[i] = l
			fl := float32(l)
			sumL += float32(w[i] * fl)
			sumL2 += float32(w[i] * fl * fl)
			sumXL += float32(w[i] * fl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curErr float32
			for i := 0; i < n; i++ {
				diff := float32(thisScale*float32(laux[i])) + thisMin - x[i]
				curErr += float32(w[i] * diff * diff)
			}
			if curErr < bestErr {
				copy(L[:n], laux[:n])
				bestErr = curErr
				scale = thisScale
				minv = thisMin
			}
		}
	}
	return scale, -minv
}

func quantQ4KBlock(b []byte, x []float32) {
	var L [qkK]uint8
	quantScaleMinK(b, x[:qkK], &L, 15, -1, 0.1, 20)
	q := b[16 : 16+qkK/2]
	for j := 0; j < qkK; j += 64 {
		for l := 0; l < 32; l++ {
			q[l] = L[j+l] | L[j+l+32]<<4
		}
		q = q[32:]
	}
}

// quantScaleMinK is the part ggml's Q4_K and Q5_K quantizers share: it
// fits a scale and a min to each 32 values of the super-block x (levels
// 0..nmax, makeQKX2Quants with rmin, rdelta and nstep), writes the two
// fp16 super-block scales and the twelve bytes of packed 6-bit sub-block
// scales and mins to b[0:16], and sets L to each value's level under the
// scales as stored.
func quantScaleMinK(b []byte, x []float32, L *[qkK]uint8, nmax int32, rmin, rdelta float32, nstep int) {
	var laux [qkK]uint8
	var weights [32]float32
	var scales, mins [qkK / 32]float32
	var sumX2 float32
	for _, v := range x {
		sumX2 += float32(v * v)
	}
	avX := float32(math.Sqrt(float64(sumX2 / qkK)))
	var maxScale, maxMin float32
	for j := 0; j < qkK/32; j++ {
		xs := x[32*j : 32*j+32]
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(xs, weights[:], L[32*j:32*j+32], laux[:32], nmax, rmin, rdelta, nstep)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := b[4:16]
	clear(sc)
	for j := 0; j < qkK/32; j++ {
		ls := uint8(min(63, max(0, nearestInt(invScale*scales[j]))))
		lm := uint8(min(63, max(0, nearestInt(invMin*mins[j]))))
		if j < 4 {
			sc[j] = ls
			sc[j+4] = lm
		} else {
			sc[j+4] = (ls & 0x0f) | (lm&0x0f)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	binary.LittleEndian.PutUint16(b[0:], F32ToF16(maxScale/63))
	binary.LittleEndian.PutUint16(b[2:], F32ToF16(maxMin/63))
	dAll := f16At(b, 0)
	dminAll := f16At(b, 2)
	for j := 0; j < qkK/32; j++ {
		s, m := scaleMinK4(j, sc)
		d := dAll * float32(s)
		if d == 0 {
			continue
		}
		dm := dminAll * float32(m)
		for ii := 0; ii < 32; ii++ {
			l := nearestInt((x[32*j+ii] + dm) / d)
			L[32*j+ii] = uint8(min(nmax, max(0, l)))
		}
	}
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no importance
// weights: symmetric quantization of x to L in [0, 2*nmax) (value L-nmax)
// with a refined scale.
func makeQXQuants(x []float32, L []int8, nmax int32) float32 {
	var maxv, amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax = a
			maxv = v
		}
	}
	if amax < 1e-15 || amax != amax {
		for i := range L[:len(x)] {
			L[i] = 0
		}
		return 0
	}
	clamp := func(l int32) int32 { return min(nmax-1, max(-nmax, l)) }
	iscale := -float32(nmax) / maxv
	var sumLX, sumL2 float32
	for i, v := range x {
		l := clamp(nearestInt(iscale * v))
		L[i] = int8(l)
		w := v * v
		sumLX += float32(w * v * float32(l))
		sumL2 += float32(w * float32(l) * float32(l))
	}
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / maxv
		sumLX, sumL2 = 0, 0
		for _, v := range x {
			l := clamp(nearestInt(iscale * v))
			w := v * v
			sumLX += float32(w * v * float32(l))
			sumL2 += float32(w * float32(l) * float32(l))
		}
		if sumL2 > 0 && sumLX*sumLX > best*sumL2 {
			for i, v := range x {
				L[i] = int8(clamp(nearestInt(iscale * v)))
			}
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

func quantQ6KBlock(b []byte, x []float32) {
	x = x[:qkK]
	var Ls [qkK]int8
	var scales [qkK / 16]float32
	var maxScale, maxAbsScale float32
	for ib := 0; ib < qkK/16; ib++ {
		s := makeQXQuants(x[16*ib:16*ib+16], Ls[16*ib:16*ib+16], 32)
		scales[ib] = s
		if a := abs32(s); a > maxAbsScale {
			maxAbsScale = a
			maxScale = s
		}
	}
	for i := range b[:q6KBytes] {
		b[i] = 0
	}
	if maxAbsScale < 1e-15 || maxAbsScale != maxAbsScale {
		return
	}
	iscale := -128 / maxScale
	binary.LittleEndian.PutUint16(b[208:], F32ToF16(1/iscale))
	sc := b[192:208]
	for ib := range scales {
		sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
	}
	dAll := f16At(b, 208)
	var L [qkK]uint8
	for j := 0; j < qkK/16; j++ {
		d := dAll * float32(int8(sc[j]))
		if d == 0 {
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = 32
			}
			continue
		}
		for ii := 0; ii < 16; ii++ {
			l := min(31, max(-32, nearestInt(x[16*j+ii]/d)))
			L[16*j+ii] = uint8(l + 32)
		}
	}
	ql := b[0:128]
	qh := b[128:192]
	for j := 0; j < qkK; j += 128 {
		for l := 0; l < 32; l++ {
			q1 := L[j+l] & 0x0f
			q2 := L[j+l+32] & 0x0f
			q3 := L[j+l+64] & 0x0f
			q4 := L[j+l+96] & 0x0f
			ql[l] = q1 | q3<<4
			ql[l+32] = q2 | q4<<4
			qh[l] = L[j+l]>>4 | (L[j+l+32]>>4)<<2 | (L[j+l+64]>>4)<<4 | (L[j+l+96]>>4)<<6
		}
		ql = ql[64:]
		qh = qh[32:]
	}
}
