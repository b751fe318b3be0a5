//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The q8_0 and q4_0 kernels of the NEON set: per 32-value block the exact
// int32 dot product isum with SDOT, then acc += float(isum)*(dw*dx) in
// float32, blocks in order, one accumulator per (row, column) in its own
// vector lane: the canonical operations of dotQ8_0Generic and
// dotQ4_0Generic (q4_0's values are the nibbles minus 8, subtracted before
// the products, which gives the same exact isum as the generic sum minus
// 8 times the activation sum).

// Rows kernels, 4 rows x 1 column:
//
//	func k(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
//
// rows w, w+stride, w+2*stride, w+3*stride (stride 0: one row four times),
// nb blocks each; out[0..3] the 4 results.
//
// Registers: R0, R6, R7, R8 the rows, R2 xq, R3 xd, R4 the block count;
// V16, V17 the block's 32 activations; V0..V7 the rows' 32 weights (q4_0:
// V0..V3 the raw bytes, V4..V7 the high nibbles; V30 0x0f bytes, V29 8s); V20 the rows' fp16
// scales (lanes 0..3); V24..V27 the rows' SDOT sums; V31 the 4
// accumulators; V21, V22, V23, V28 temporaries.

// QFLOAT4 turns the 4 rows' SDOT sums into isum (V28, lane r row r) and
// adds float(isum)*(dw*dx) to V31.
#define QFLOAT4 \
	VADDP  V25.S4, V24.S4, V28.S4 \
	VADDP  V27.S4, V26.S4, V23.S4 \
	VADDP  V23.S4, V28.S4, V28.S4 \
	SCVTF4S(28, 28)               \
	FCVTL(21, 20)                 \
	VLD1R.P 4(R3), [V22.S4]       \
	FMUL4S(21, 21, 22)            \
	FMUL4S(28, 28, 21)            \
	FADD4S(31, 31, 28)

#define QPROLOGUE \
	MOVD w+0(FP), R0          \
	MOVD stride+8(FP), R1     \
	MOVD xq+16(FP), R2        \
	MOVD xd+24(FP), R3        \
	MOVD nb+32(FP), R4        \
	ADD  R1, R0, R6           \
	ADD  R1, R6, R7           \
	ADD  R1, R7, R8           \
	VEOR V31.B16, V31.B16, V31.B16

#define QEPILOGUE \
	MOVD out+40(FP), R5 \
	VST1 [V31.S4], (R5) \
	RET

// func q8_0x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q8_0x4NEON(SB), NOSPLIT, $0-48
	QPROLOGUE

q8loop:
	VLD1.P 32(R2), [V16.B16, V17.B16]
	VLD1.P 2(R0), V20.H[0]
	VLD1.P 32(R0), [V0.B16, V1.B16]
	VLD1.P 2(R6), V20.H[1]
	VLD1.P 32(R6), [V2.B16, V3.B16]
	VLD1.P 2(R7), V20.H[2]
	VLD1.P 32(R7), [V4.B16, V5.B16]
	VLD1.P 2(R8), V20.H[3]
	VLD1.P 32(R8), [V6.B16, V7.B16]
	VEOR   V24.B16, V24.B16, V24.B16
	VEOR   V25.B16, V25.B16, V25.B16
	VEOR   V26.B16, V26.B16, V26.B16
	VEOR   V27.B16, V27.B16, V27.B16
	SDOT(24, 0, 16)
	SDOT(25, 2, 16)
	SDOT(26, 4, 16)
	SDOT(27, 6, 16)
	SDOT(24, 1, 17)
	SDOT(25, 3, 17)
	SDOT(26, 5, 17)
	SDOT(27, 7, 17)
	QFLOAT4
	SUBS   $1, R4
	BNE    q8loop

	QEPILOGUE

// func q4_0x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q4_0x4NEON(SB), NOSPLIT, $0-48
	QPROLOGUE
	VMOVI $15, V30.B16
	VMOVI $8, V29.B16

q4loop:
	VLD1.P 32(R2), [V16.B16, V17.B16]
	VLD1.P 2(R0), V20.H[0]
	VLD1.P 16(R0), [V0.B16]
	VLD1.P 2(R6), V20.H[1]
	VLD1.P 16(R6), [V1.B16]
	VLD1.P 2(R7), V20.H[2]
	VLD1.P 16(R7), [V2.B16]
	VLD1.P 2(R8), V20.H[3]
	VLD1.P 16(R8), [V3.B16]
	Q4SPLIT(V0, V4, V30, V29)
	Q4SPLIT(V1, V5, V30, V29)
	Q4SPLIT(V2, V6, V30, V29)
	Q4SPLIT(V3, V7, V30, V29)
	VEOR   V24.B16, V24.B16, V24.B16
	VEOR   V25.B16, V25.B16, V25.B16
	VEOR   V26.B16, V26.B16, V26.B16
	VEOR   V27.B16, V27.B16, V27.B16
	SDOT(24, 0, 16)
	SDOT(25, 1, 16)
	SDOT(26, 2, 16)
	SDOT(27, 3, 16)
	SDOT(24, 4, 17)
	SDOT(25, 5, 17)
	SDOT(26, 6, 17)
	SDOT(27, 7, 17)
	QFLOAT4
	SUBS   $1, R4
	BNE    q4loop

	QEPILOGUE
