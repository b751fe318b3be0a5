//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The mxfp4 row kernel of the NEON set, as the q4_0 one (qdot_arm64.s):
// per 32-value block the exact isum = sum(kvaluesMXFP4[q]*x) with SDOT
// (TBL looks the nibbles up in the table), then acc += float(isum)*
// (e8m0Half(e)*dx), blocks in order, one lane per row: dotMXFP4Generic's
// operations. e8m0Half(e) = 2^(e-128) is built exactly from its bits:
// (e-1)<<23 for e > 1, else 0x00200000<<e (subnormal).

// kvaluesMXFP4: 0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12.
DATA mxfp4tab<>+0(SB)/8, $0x0c08060403020100
DATA mxfp4tab<>+8(SB)/8, $0xf4f8fafcfdfeff00
GLOBL mxfp4tab<>(SB), RODATA|NOPTR, $16

// MXSPLIT(RAW, HI) turns a block's 16 bytes in RAW into its values:
// elements 0..15 (low nibbles) in RAW, 16..31 (high) in HI. V28 holds
// the table, V30 0x0f bytes.
#define MXSPLIT(RAW, HI) \
	VUSHR $4, RAW.B16, HI.B16        \
	VAND  V30.B16, RAW.B16, RAW.B16  \
	VTBL  RAW.B16, [V28.B16], RAW.B16 \
	VTBL  HI.B16, [V28.B16], HI.B16

// func mxfp4x4NEON(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
//
// Rows w, w+stride, w+2*stride, w+3*stride (stride 0: one row four
// times), nb blocks of 17 bytes each; out[0..3] the 4 results.
//
// Registers: R0, R6, R7, R8 the rows, R2 xq, R3 xd, R4 the block count;
// V16, V17 the block's activations; V0..V7 the rows' values; V20 the
// rows' exponents (byte 4r, the other bytes 0); V24..V27 the SDOT sums;
// V19 0x00200000 and V29 1 per lane; V31 the 4 accumulators.
TEXT ·mxfp4x4NEON(SB), NOSPLIT, $0-48
	MOVD  w+0(FP), R0
	MOVD  stride+8(FP), R1
	MOVD  xq+16(FP), R2
	MOVD  xd+24(FP), R3
	MOVD  nb+32(FP), R4
	ADD   R1, R0, R6
	ADD   R1, R6, R7
	ADD   R1, R7, R8
	MOVD  $mxfp4tab<>(SB), R9
	VLD1  (R9), [V28.B16]
	VMOVI $15, V30.B16
	MOVW  $1, R9
	VDUP  R9, V29.S4
	MOVW  $0x00200000, R9
	VDUP  R9, V19.S4
	VEOR  V20.B16, V20.B16, V20.B16
	VEOR  V31.B16, V31.B16, V31.B16

mxloop:
	VLD1.P 32(R2), [V16.B16, V17.B16]
	VLD1.P 1(R0), V20.B[0]
	VLD1.P 16(R0), [V0.B16]
	VLD1.P 1(R6), V20.B[4]
	VLD1.P 16(R6), [V1.B16]
	VLD1.P 1(R7), V20.B[8]
	VLD1.P 16(R7), [V2.B16]
	VLD1.P 1(R8), V20.B[12]
	VLD1.P 16(R8), [V3.B16]
	MXSPLIT(V0, V4)
	MXSPLIT(V1, V5)
	MXSPLIT(V2, V6)
	MXSPLIT(V3, V7)
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
	VADDP  V25.S4, V24.S4, V18.S4
	VADDP  V27.S4, V26.S4, V23.S4
	VADDP  V23.S4, V18.S4, V18.S4
	SCVTF4S(18, 18)
	VSUB   V29.S4, V20.S4, V21.S4
	VSHL   $23, V21.S4, V21.S4
	USHL4S(22, 19, 20)
	CMHI4S(23, 20, 29)
	BSL(23, 21, 22)
	VLD1R.P 4(R3), [V22.S4]
	FMUL4S(23, 23, 22)
	FMUL4S(18, 18, 23)
	FADD4S(31, 31, 18)
	SUBS   $1, R4
	BNE    mxloop

	MOVD out+40(FP), R5
	VST1 [V31.S4], (R5)
	RET

// func q4_1x4NEON(w *byte, stride int, xq *int8, xd *float32, xs *int32, nb int, out *float32)
//
// The q4_1 row kernel, 4 rows x 1 column as mxfp4x4NEON (blocks of 20
// bytes: fp16 d and m, 16 bytes of nibbles): per block the exact isum of
// the nibbles (0..15) times the activations, then acc += float(isum)*
// (d*dx) and acc += float(s)*(m*dx), s the block's activation sum:
// dotQ4_1Generic's operations. V20 holds the rows' (d, m) pairs, UZP1 and
// UZP2 part them.
TEXT ·q4_1x4NEON(SB), NOSPLIT, $0-56
	MOVD  w+0(FP), R0
	MOVD  stride+8(FP), R1
	MOVD  xq+16(FP), R2
	MOVD  xd+24(FP), R3
	MOVD  xs+32(FP), R9
	MOVD  nb+40(FP), R4
	ADD   R1, R0, R6
	ADD   R1, R6, R7
	ADD   R1, R7, R8
	VMOVI $15, V30.B16
	VEOR  V31.B16, V31.B16, V31.B16

q41loop:
	VLD1.P 32(R2), [V16.B16, V17.B16]
	VLD1.P 4(R0), V20.S[0]
	VLD1.P 16(R0), [V0.B16]
	VLD1.P 4(R6), V20.S[1]
	VLD1.P 16(R6), [V1.B16]
	VLD1.P 4(R7), V20.S[2]
	VLD1.P 16(R7), [V2.B16]
	VLD1.P 4(R8), V20.S[3]
	VLD1.P 16(R8), [V3.B16]
	VUSHR  $4, V0.B16, V4.B16
	VUSHR  $4, V1.B16, V5.B16
	VUSHR  $4, V2.B16, V6.B16
	VUSHR  $4, V3.B16, V7.B16
	VAND   V30.B16, V0.B16, V0.B16
	VAND   V30.B16, V1.B16, V1.B16
	VAND   V30.B16, V2.B16, V2.B16
	VAND   V30.B16, V3.B16, V3.B16
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
	VADDP  V25.S4, V24.S4, V18.S4
	VADDP  V27.S4, V26.S4, V23.S4
	VADDP  V23.S4, V18.S4, V18.S4
	SCVTF4S(18, 18)
	VUZP1  V20.H8, V20.H8, V21.H8
	VUZP2  V20.H8, V20.H8, V22.H8
	FCVTL(21, 21)
	FCVTL(22, 22)
	VLD1R.P 4(R3), [V23.S4]
	FMUL4S(21, 21, 23)
	FMUL4S(22, 22, 23)
	FMUL4S(18, 18, 21)
	FADD4S(31, 31, 18)
	VLD1R.P 4(R9), [V19.S4]
	SCVTF4S(19, 19)
	FMUL4S(19, 19, 22)
	FADD4S(31, 31, 19)
	SUBS   $1, R4
	BNE    q41loop

	MOVD out+48(FP), R5
	VST1 [V31.S4], (R5)
	RET
