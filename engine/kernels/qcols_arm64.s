//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The q8_0 and q4_0 batch kernels of the NEON set; see qdot_arm64.s for
// the canonical operations they perform.

// Batch kernels, 2 rows x 4 columns:
//
//	func k(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
//
// rows w and w+stride; column c's activations at xq+c*nb*32, its scales at
// xd+c*nb*4; (row i, column c) stored at out + c*ostride + 4*i. Each
// element is the row kernels' (canonical) result: one lane per (row,
// column), the same operations in the same order.
//
// Registers: R0, R1 the rows, R2..R5 the columns' activations, R6..R9
// their scales, R10 the block count; V0, V1 and V2, V3 the rows' 32
// values, V4/V5, V6/V7, V16/V17, V18/V19 the columns'; V8..V11 (row 0)
// and V12..V15 (row 1) the SDOT sums; V20 the rows' fp16 scales, V22 the
// columns' scales; V30 and V31 the rows' accumulators, lane c column c.

#define CPROLOGUE \
	MOVD w+0(FP), R0          \
	MOVD stride+8(FP), R1     \
	ADD  R0, R1, R1           \
	MOVD xq+16(FP), R2        \
	MOVD xd+24(FP), R6        \
	MOVD nb+32(FP), R10       \
	LSL  $5, R10, R11         \
	ADD  R11, R2, R3          \
	ADD  R11, R3, R4          \
	ADD  R11, R4, R5          \
	LSL  $2, R10, R11         \
	ADD  R11, R6, R7          \
	ADD  R11, R7, R8          \
	ADD  R11, R8, R9          \
	VEOR V30.B16, V30.B16, V30.B16 \
	VEOR V31.B16, V31.B16, V31.B16

// CBLOCK does one block: the columns' loads, the 16 SDOTs into zeroed
// sums, the sums' reduction to isum (V24 row 0, V25 row 1, lane c column
// c) and acc += float(isum)*(dw*dx).
#define CBLOCK \
	VLD1.P 32(R2), [V4.B16, V5.B16]   \
	VLD1.P 32(R3), [V6.B16, V7.B16]   \
	VLD1.P 32(R4), [V16.B16, V17.B16] \
	VLD1.P 32(R5), [V18.B16, V19.B16] \
	VLD1.P 4(R6), V22.S[0]            \
	VLD1.P 4(R7), V22.S[1]            \
	VLD1.P 4(R8), V22.S[2]            \
	VLD1.P 4(R9), V22.S[3]            \
	VEOR   V8.B16, V8.B16, V8.B16     \
	VEOR   V9.B16, V9.B16, V9.B16     \
	VEOR   V10.B16, V10.B16, V10.B16  \
	VEOR   V11.B16, V11.B16, V11.B16  \
	VEOR   V12.B16, V12.B16, V12.B16  \
	VEOR   V13.B16, V13.B16, V13.B16  \
	VEOR   V14.B16, V14.B16, V14.B16  \
	VEOR   V15.B16, V15.B16, V15.B16  \
	SDOT(8, 0, 4)                     \
	SDOT(9, 0, 6)                     \
	SDOT(10, 0, 16)                   \
	SDOT(11, 0, 18)                   \
	SDOT(12, 2, 4)                    \
	SDOT(13, 2, 6)                    \
	SDOT(14, 2, 16)                   \
	SDOT(15, 2, 18)                   \
	SDOT(8, 1, 5)                     \
	SDOT(9, 1, 7)                     \
	SDOT(10, 1, 17)                   \
	SDOT(11, 1, 19)                   \
	SDOT(12, 3, 5)                    \
	SDOT(13, 3, 7)                    \
	SDOT(14, 3, 17)                   \
	SDOT(15, 3, 19)                   \
	VADDP  V9.S4, V8.S4, V24.S4       \
	VADDP  V11.S4, V10.S4, V25.S4     \
	VADDP  V25.S4, V24.S4, V24.S4     \
	VADDP  V13.S4, V12.S4, V25.S4     \
	VADDP  V15.S4, V14.S4, V26.S4     \
	VADDP  V26.S4, V25.S4, V25.S4     \
	SCVTF4S(24, 24)                   \
	SCVTF4S(25, 25)                   \
	FCVTL(21, 20)                     \
	VDUP   V21.S[0], V26.S4           \
	VDUP   V21.S[1], V27.S4           \
	FMUL4S(26, 26, 22)                \
	FMUL4S(27, 27, 22)                \
	FMUL4S(24, 24, 26)                \
	FMUL4S(25, 25, 27)                \
	FADD4S(30, 30, 24)                \
	FADD4S(31, 31, 25)

#define CEPILOGUE \
	MOVD out+40(FP), R11          \
	MOVD ostride+48(FP), R12      \
	ADD  $4, R11, R13             \
	VST1.P V30.S[0], (R11)(R12)   \
	VST1.P V31.S[0], (R13)(R12)   \
	VST1.P V30.S[1], (R11)(R12)   \
	VST1.P V31.S[1], (R13)(R12)   \
	VST1.P V30.S[2], (R11)(R12)   \
	VST1.P V31.S[2], (R13)(R12)   \
	VST1   V30.S[3], (R11)        \
	VST1   V31.S[3], (R13)        \
	RET

// func q8_0x2x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
TEXT ·q8_0x2x4NEON(SB), NOSPLIT, $0-56
	CPROLOGUE

c8loop:
	VLD1.P 2(R0), V20.H[0]
	VLD1.P 32(R0), [V0.B16, V1.B16]
	VLD1.P 2(R1), V20.H[1]
	VLD1.P 32(R1), [V2.B16, V3.B16]
	CBLOCK
	SUBS   $1, R10
	BNE    c8loop

	CEPILOGUE

// func q4_0x2x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
TEXT ·q4_0x2x4NEON(SB), NOSPLIT, $0-56
	CPROLOGUE
	VMOVI $15, V28.B16
	VMOVI $8, V29.B16

c4loop:
	VLD1.P 2(R0), V20.H[0]
	VLD1.P 16(R0), [V0.B16]
	VLD1.P 2(R1), V20.H[1]
	VLD1.P 16(R1), [V2.B16]
	Q4SPLIT(V0, V1, V28, V29)
	Q4SPLIT(V2, V3, V28, V29)
	CBLOCK
	SUBS   $1, R10
	BNE    c4loop

	CEPILOGUE
