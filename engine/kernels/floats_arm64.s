//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The float kernels of the NEON set: the canonical 16-lane dot product
// (element i added to lane i%16 as lane += w_i*x_i, a rounded product then
// a rounded sum, then h_k = lane_k + lane_k+8 and hsum8(h)) and axpy
// (y_i += a*x_i, rounded product then sum), bitwise the generic kernels.
// Lengths are whole multiples of 16; the Go wrappers (arch_arm64.go) give
// other lengths to the generic kernels.
//
// The 16 lanes are V0 (lanes 0..3), V1 (4..7), V2 (8..11) and V3
// (12..15); one 16-element step is 4 FMUL4S and 4 FADD4S.

// FSTEP adds the products of V4..V7 (the first factors: a, or the
// weights, as in the generic code) and V16..V19 to the lanes.
#define FSTEP \
	FMUL4S(4, 4, 16) \
	FMUL4S(5, 5, 17) \
	FMUL4S(6, 6, 18) \
	FMUL4S(7, 7, 19) \
	FADD4S(0, 0, 4)  \
	FADD4S(1, 1, 5)  \
	FADD4S(2, 2, 6)  \
	FADD4S(3, 3, 7)

// FZERO clears the lanes.
#define FZERO \
	VEOR V0.B16, V0.B16, V0.B16 \
	VEOR V1.B16, V1.B16, V1.B16 \
	VEOR V2.B16, V2.B16, V2.B16 \
	VEOR V3.B16, V3.B16, V3.B16

// HSUM16 leaves the canonical sum of the 16 lanes in lane 0 of V0 (F0):
// h = (V0+V2, V1+V3) (lanes k and k+8), g_j = h_j + h_j+4, then
// (g0+g1) + (g2+g3), which is hsum8's ((h0+h4) + (h1+h5)) + ((h2+h6) +
// (h3+h7)).
#define HSUM16 \
	FADD4S(0, 0, 2)  \
	FADD4S(1, 1, 3)  \
	FADD4S(0, 0, 1)  \
	FADDP4S(0, 0, 0) \
	FADDPS(0, 0)

// func dotRowsNEON(a, b *float32, n, stride, rows int, out *float32)
//
// out[p] = the canonical dot of a[0:n] and b[p*stride:p*stride+n] for
// p < rows (n > 0, n%16 == 0, rows > 0).
TEXT ·dotRowsNEON(SB), NOSPLIT, $0-48
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	MOVD stride+24(FP), R3
	MOVD rows+32(FP), R4
	MOVD out+40(FP), R5
	LSL  $2, R3, R3

drow:
	MOVD R0, R6
	MOVD R1, R7
	MOVD R2, R8
	FZERO

dloop:
	VLD1.P 64(R6), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R7), [V16.S4, V17.S4, V18.S4, V19.S4]
	FSTEP
	SUBS   $16, R8
	BNE    dloop
	HSUM16
	VST1.P V0.S[0], 4(R5)
	ADD    R3, R1
	SUBS   $1, R4
	BNE    drow
	RET

// func dotF16NEON(w *byte, x *float32, n int) float32
//
// The canonical dot of n float16 weights at w and x (n > 0, n%16 == 0):
// FCVTL/FCVTL2 widen the weights exactly.
TEXT ·dotF16NEON(SB), NOSPLIT, $0-28
	MOVD w+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	FZERO

hloop:
	VLD1.P 32(R0), [V20.H8, V21.H8]
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	FCVTL(4, 20)
	FCVTL2(5, 20)
	FCVTL(6, 21)
	FCVTL2(7, 21)
	FSTEP
	SUBS   $16, R2
	BNE    hloop
	HSUM16
	FMOVS  F0, ret+24(FP)
	RET

// func dotBF16NEON(w *byte, x *float32, n int) float32
//
// dotF16NEON for bfloat16 weights: ZIP1/ZIP2 with zeros put each 16-bit
// value in the high half of a 32-bit lane (the shift by 16).
TEXT ·dotBF16NEON(SB), NOSPLIT, $0-28
	MOVD w+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	FZERO
	VEOR V31.B16, V31.B16, V31.B16

bloop:
	VLD1.P 32(R0), [V20.H8, V21.H8]
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VZIP1  V20.H8, V31.H8, V4.H8
	VZIP2  V20.H8, V31.H8, V5.H8
	VZIP1  V21.H8, V31.H8, V6.H8
	VZIP2  V21.H8, V31.H8, V7.H8
	FSTEP
	SUBS   $16, R2
	BNE    bloop
	HSUM16
	FMOVS  F0, ret+24(FP)
	RET

// func axpyRowsNEON(y, x *float32, n, stride, rows int, coef *float32)
//
// y[i] += coef[p]*x[p*stride+i] for p = 0, 1, ..., rows-1 in that order
// (n > 0, n%16 == 0, rows > 0), 16 elements of y at a time kept in V0..V3.
TEXT ·axpyRowsNEON(SB), NOSPLIT, $0-48
	MOVD y+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	MOVD stride+24(FP), R3
	MOVD rows+32(FP), R4
	MOVD coef+40(FP), R5
	LSL  $2, R3, R3

achunk:
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	MOVD R1, R6
	MOVD R5, R7
	MOVD R4, R8

arow:
	VLD1R.P 4(R7), [V16.S4]
	VLD1.P  (R6)(R3), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMUL4S(4, 16, 4)
	FMUL4S(5, 16, 5)
	FMUL4S(6, 16, 6)
	FMUL4S(7, 16, 7)
	FADD4S(0, 0, 4)
	FADD4S(1, 1, 5)
	FADD4S(2, 2, 6)
	FADD4S(3, 3, 7)
	SUBS    $1, R8
	BNE     arow
	VST1.P  [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	ADD     $64, R1
	SUBS    $16, R2
	BNE     achunk
	RET
