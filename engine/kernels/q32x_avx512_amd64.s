//go:build amd64

#include "textflag.h"

// AVX-512 VNNI kernels for repacked q4_1, q5_0, mxfp4 and iq4_xs matrices
// (repackx.go): the 16 rows of an interleaved group against 1 (P1) or 4
// (P4) activation columns, row r in lane r of a zmm, with the conventions
// of q4_0P1VNNI and q4_0P4VNNI (repack_amd64.s):
//
//	func k(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func k(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// Per block (iq4_xs: sub-block) and row the exact int32 dot product is
// formed with VPDPBUSD: unsigned weight bytes (q4_1 and q5_0 their
// values, mxfp4 and iq4_xs their table values plus a bias, 16 and 128,
// that makes them non-negative) times 4 broadcast signed activation bytes;
// the bias (q5_0 16, mxfp4 16, iq4_xs 128) times the block's activation
// sum is taken off exactly. Then the float steps of the generic kernels
// (genericx.go), each product rounded, no FMA, blocks in order: per row
// exactly their operations, so bitwise their results.
//
// In P4 column c's values are c*xqs bytes after xq, its scales and sums
// c*4*nb bytes after xd and xs (iq4_xs: scales c*4*nsb, sums c*32*nsb).

// Z10 = the 8 dot products of a block of 32 (Z1..Z4 values 4k..4k+3,
// Z5..Z8 values 16+4k..) with the 32 activations at OFF(XQ)(R9*8), in
// CHAINS independent chains from zero (CH1..CH3 the others' registers),
// added at the end: the exact int32 dot product.
#define PDOT32(OFF, XQ) \
	VPXORD        Z10, Z10, Z10 \
	VPXORD        Z11, Z11, Z11 \
	VPDPBUSD.BCST OFF+0(XQ)(R9*8), Z1, Z10 \
	VPDPBUSD.BCST OFF+16(XQ)(R9*8), Z5, Z11 \
	VPDPBUSD.BCST OFF+4(XQ)(R9*8), Z2, Z10 \
	VPDPBUSD.BCST OFF+20(XQ)(R9*8), Z6, Z11 \
	VPDPBUSD.BCST OFF+8(XQ)(R9*8), Z3, Z10 \
	VPDPBUSD.BCST OFF+24(XQ)(R9*8), Z7, Z11 \
	VPDPBUSD.BCST OFF+12(XQ)(R9*8), Z4, Z10 \
	VPDPBUSD.BCST OFF+28(XQ)(R9*8), Z8, Z11 \
	VPADDD        Z11, Z10, Z10

// Nibbles of the piece at OFF(SI): low ones into LO, high ones into HI
// (Z31 0x0f bytes).
#define PNIB(OFF, LO, HI) \
	VPANDD OFF(SI), Z31, LO \
	VPSRLW $4, OFF(SI), HI \
	VPANDD Z31, HI, HI

// The 4 pieces from OFF(SI) (64 bytes each) into Z1..Z8.
#define PNIB4(OFF) \
	PNIB(OFF, Z1, Z5) \
	PNIB(OFF+64, Z2, Z6) \
	PNIB(OFF+128, Z3, Z7) \
	PNIB(OFF+192, Z4, Z8)

// ACC += float(Z10) * (DW * dx at XD), each product rounded.
#define PFLOAT(XD, DW, ACC) \
	VCVTDQ2PS   Z10, Z10 \
	VMULPS.BCST XD, DW, Z13 \
	VMULPS      Z13, Z10, Z10 \
	VADDPS      Z10, ACC, ACC


// ---- q4_1: position of 320 bytes: d (32), m (32), 4 pieces of nibbles.
// acc += float(isum)*(d*dx), then acc += float(s)*(m*dx). Z9 d, Z15 m.

#define Q41P_UNPACK(SO, PO) \
	PNIB4(PO+32) \
	VCVTPH2PS SO(SI), Z9 \
	VCVTPH2PS PO(SI), Z15

#define Q41P_COL(OFF, XQ, XD, XS, ACC) \
	PDOT32(OFF, XQ) \
	PFLOAT(XD, Z9, ACC) \
	VMULPS.BCST    XD, Z15, Z13 \
	VCVTDQ2PS.BCST XS, Z14 \
	VMULPS         Z13, Z14, Z14 \
	VADDPS         Z14, ACC, ACC

#define Q41P_CONSTS \
	MOVL         $0x0f0f0f0f, AX \
	VPBROADCASTD AX, Z31


TEXT ·q4_1P1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	Q41P_CONSTS
	VPXORD Z0, Z0, Z0
	XORQ   R9, R9
	SHLQ   $2, CX
	MOVQ   CX, R14
	ANDQ   $-32, R14

q4_1p1_one:
	CMPQ R9, CX
	JGE  q4_1p1_done
	Q41P_UNPACK(0, 32)
	Q41P_COL(0, DI, 0(DX), 0(R8), Z0)
	ADDQ $320, SI
	ADDQ $4, DX
	ADDQ $4, R8
	ADDQ $4, R9
	JMP  q4_1p1_one

q4_1p1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

TEXT ·q4_1P4VNNI(SB), NOSPLIT, $0-64
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	Q41P_CONSTS
	MOVQ   xqs+40(FP), AX
	LEAQ   (DI)(AX*1), R10
	LEAQ   (R10)(AX*1), R11
	LEAQ   (R11)(AX*1), R12
	SHLQ   $2, CX
	LEAQ   (CX)(CX*2), AX
	LEAQ   (DX)(AX*1), R13
	LEAQ   (R8)(AX*1), BX
	MOVQ   CX, R14
	ANDQ   $-32, R14
	VPXORD Z0, Z0, Z0
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	XORQ   R9, R9

q4_1p4_one:
	CMPQ R9, CX
	JGE  q4_1p4_done
	Q41P_UNPACK(0, 32)
	Q41P_COL(0, DI, 0(DX), 0(R8), Z0)
	Q41P_COL(0, R10, 0(DX)(CX*1), 0(R8)(CX*1), Z20)
	Q41P_COL(0, R11, 0(DX)(CX*2), 0(R8)(CX*2), Z21)
	Q41P_COL(0, R12, 0(R13), 0(BX), Z22)
	ADDQ $320, SI
	ADDQ $4, DX
	ADDQ $4, R8
	ADDQ $4, R13
	ADDQ $4, BX
	ADDQ $4, R9
	JMP  q4_1p4_one

q4_1p4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z21, (AX)
	VMOVUPS Z22, (AX)(BX*1)
	VZEROUPPER
	RET


// ---- q5_0: position of 352 bytes: d (32), qh (64), 4 pieces of nibbles;
// runs of 8 (2816 bytes): the 8 d, then each position's qh and pieces.
// The high bits: a byte of each row's qh spread over the 4 bytes of its
// dword (VPSHUFB), tested against the bits of the 4 values (VPTESTMB),
// 16 added where set. isum = dot - 16*s; acc += float(isum)*(d*dx).
// Z31 0x0f, Z30 0x10 bytes; Z26..Z29 the spreading shuffles of qh bytes
// 3..0; Z25 bits 0..3, Z24 bits 4..7 of a byte, one per byte of a dword.

DATA q5pshuf<>+0(SB)/8, $0x0404040400000000
DATA q5pshuf<>+8(SB)/8, $0x0c0c0c0c08080808
GLOBL q5pshuf<>(SB), RODATA|NOPTR, $16

#define Q50P_CONSTS \
	MOVL             $0x0f0f0f0f, AX \
	VPBROADCASTD     AX, Z31 \
	MOVL             $0x10101010, AX \
	VPBROADCASTD     AX, Z30 \
	VBROADCASTI32X4  q5pshuf<>(SB), Z29 \
	MOVL             $0x01010101, AX \
	VPBROADCASTD     AX, Z24 \
	VPADDB           Z24, Z29, Z28 \
	VPADDB           Z24, Z28, Z27 \
	VPADDB           Z24, Z27, Z26 \
	MOVL             $0x08040201, AX \
	VPBROADCASTD     AX, Z25 \
	MOVL             $0x80402010, AX \
	VPBROADCASTD     AX, Z24

#define Q50P_HIGH(SHUF, A, B) \
	VPSHUFB  SHUF, Z16, Z17 \
	VPTESTMB Z25, Z17, K1 \
	VPTESTMB Z24, Z17, K2 \
	VPADDB   Z30, A, K1, A \
	VPADDB   Z30, B, K2, B

#define Q50P_UNPACK(SO, PO) \
	PNIB4(PO+64) \
	VMOVDQU32 PO(SI), Z16 \
	Q50P_HIGH(Z29, Z1, Z2) \
	Q50P_HIGH(Z28, Z3, Z4) \
	Q50P_HIGH(Z27, Z5, Z6) \
	Q50P_HIGH(Z26, Z7, Z8) \
	VCVTPH2PS SO(SI), Z9

#define Q50P_COL(OFF, XQ, XD, XS, ACC) \
	PDOT32(OFF, XQ) \
	VPSLLD.BCST $4, XS, Z12 \
	VPSUBD      Z12, Z10, Z10 \
	PFLOAT(XD, Z9, ACC)


TEXT ·q5_0P1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	Q50P_CONSTS
	VPXORD Z0, Z0, Z0
	XORQ   R9, R9
	SHLQ   $2, CX
	MOVQ   CX, R14
	ANDQ   $-32, R14

q5_0p1_run:
	CMPQ R9, R14
	JGE  q5_0p1_one
	Q50P_UNPACK(0, 256)
	Q50P_COL(0, DI, 0(DX), 0(R8), Z0)
	Q50P_UNPACK(32, 576)
	Q50P_COL(32, DI, 4(DX), 4(R8), Z0)
	Q50P_UNPACK(64, 896)
	Q50P_COL(64, DI, 8(DX), 8(R8), Z0)
	Q50P_UNPACK(96, 1216)
	Q50P_COL(96, DI, 12(DX), 12(R8), Z0)
	Q50P_UNPACK(128, 1536)
	Q50P_COL(128, DI, 16(DX), 16(R8), Z0)
	Q50P_UNPACK(160, 1856)
	Q50P_COL(160, DI, 20(DX), 20(R8), Z0)
	Q50P_UNPACK(192, 2176)
	Q50P_COL(192, DI, 24(DX), 24(R8), Z0)
	Q50P_UNPACK(224, 2496)
	Q50P_COL(224, DI, 28(DX), 28(R8), Z0)
	ADDQ $2816, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	JMP  q5_0p1_run

q5_0p1_one:
	CMPQ R9, CX
	JGE  q5_0p1_done
	Q50P_UNPACK(0, 32)
	Q50P_COL(0, DI, 0(DX), 0(R8), Z0)
	ADDQ $352, SI
	ADDQ $4, DX
	ADDQ $4, R8
	ADDQ $4, R9
	JMP  q5_0p1_one

q5_0p1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

TEXT ·q5_0P4VNNI(SB), NOSPLIT, $0-64
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	Q50P_CONSTS
	MOVQ   xqs+40(FP), AX
	LEAQ   (DI)(AX*1), R10
	LEAQ   (R10)(AX*1), R11
	LEAQ   (R11)(AX*1), R12
	SHLQ   $2, CX
	LEAQ   (CX)(CX*2), AX
	LEAQ   (DX)(AX*1), R13
	LEAQ   (R8)(AX*1), BX
	MOVQ   CX, R14
	ANDQ   $-32, R14
	VPXORD Z0, Z0, Z0
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	XORQ   R9, R9

q5_0p4_run:
	CMPQ R9, R14
	JGE  q5_0p4_one
	Q50P_UNPACK(0, 256)
	Q50P_COL(0, DI, 0(DX), 0(R8), Z0)
	Q50P_COL(0, R10, 0(DX)(CX*1), 0(R8)(CX*1), Z20)
	Q50P_COL(0, R11, 0(DX)(CX*2), 0(R8)(CX*2), Z21)
	Q50P_COL(0, R12, 0(R13), 0(BX), Z22)
	Q50P_UNPACK(32, 576)
	Q50P_COL(32, DI, 4(DX), 4(R8), Z0)
	Q50P_COL(32, R10, 4(DX)(CX*1), 4(R8)(CX*1), Z20)
	Q50P_COL(32, R11, 4(DX)(CX*2), 4(R8)(CX*2), Z21)
	Q50P_COL(32, R12, 4(R13), 4(BX), Z22)
	Q50P_UNPACK(64, 896)
	Q50P_COL(64, DI, 8(DX), 8(R8), Z0)
	Q50P_COL(64, R10, 8(DX)(CX*1), 8(R8)(CX*1), Z20)
	Q50P_COL(64, R11, 8(DX)(CX*2), 8(R8)(CX*2), Z21)
	Q50P_COL(64, R12, 8(R13), 8(BX), Z22)
	Q50P_UNPACK(96, 1216)
	Q50P_COL(96, DI, 12(DX), 12(R8), Z0)
	Q50P_COL(96, R10, 12(DX)(CX*1), 12(R8)(CX*1), Z20)
	Q50P_COL(96, R11, 12(DX)(CX*2), 12(R8)(CX*2), Z21)
	Q50P_COL(96, R12, 12(R13), 12(BX), Z22)
	Q50P_UNPACK(128, 1536)
	Q50P_COL(128, DI, 16(DX), 16(R8), Z0)
	Q50P_COL(128, R10, 16(DX)(CX*1), 16(R8)(CX*1), Z20)
	Q50P_COL(128, R11, 16(DX)(CX*2), 16(R8)(CX*2), Z21)
	Q50P_COL(128, R12, 16(R13), 16(BX), Z22)
	Q50P_UNPACK(160, 1856)
	Q50P_COL(160, DI, 20(DX), 20(R8), Z0)
	Q50P_COL(160, R10, 20(DX)(CX*1), 20(R8)(CX*1), Z20)
	Q50P_COL(160, R11, 20(DX)(CX*2), 20(R8)(CX*2), Z21)
	Q50P_COL(160, R12, 20(R13), 20(BX), Z22)
	Q50P_UNPACK(192, 2176)
	Q50P_COL(192, DI, 24(DX), 24(R8), Z0)
	Q50P_COL(192, R10, 24(DX)(CX*1), 24(R8)(CX*1), Z20)
	Q50P_COL(192, R11, 24(DX)(CX*2), 24(R8)(CX*2), Z21)
	Q50P_COL(192, R12, 24(R13), 24(BX), Z22)
	Q50P_UNPACK(224, 2496)
	Q50P_COL(224, DI, 28(DX), 28(R8), Z0)
	Q50P_COL(224, R10, 28(DX)(CX*1), 28(R8)(CX*1), Z20)
	Q50P_COL(224, R11, 28(DX)(CX*2), 28(R8)(CX*2), Z21)
	Q50P_COL(224, R12, 28(R13), 28(BX), Z22)
	ADDQ $2816, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R13
	ADDQ $32, BX
	ADDQ $32, R9
	JMP  q5_0p4_run

q5_0p4_one:
	CMPQ R9, CX
	JGE  q5_0p4_done
	Q50P_UNPACK(0, 32)
	Q50P_COL(0, DI, 0(DX), 0(R8), Z0)
	Q50P_COL(0, R10, 0(DX)(CX*1), 0(R8)(CX*1), Z20)
	Q50P_COL(0, R11, 0(DX)(CX*2), 0(R8)(CX*2), Z21)
	Q50P_COL(0, R12, 0(R13), 0(BX), Z22)
	ADDQ $352, SI
	ADDQ $4, DX
	ADDQ $4, R8
	ADDQ $4, R13
	ADDQ $4, BX
	ADDQ $4, R9
	JMP  q5_0p4_one

q5_0p4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z21, (AX)
	VMOVUPS Z22, (AX)(BX*1)
	VZEROUPPER
	RET


// ---- mxfp4: position of 272 bytes: the 16 E8M0 bytes, 4 pieces of
// nibbles; runs of 8 (2176 bytes): the 8 positions' exponents, then each
// position's pieces. Values: kvaluesMXFP4[q]+16 (4..28) by VPSHUFB; isum = dot -
// 16*s; acc += float(isum)*(2^(e-128)*dx), the scale (e-1)<<23, or
// 0x00200000<<e for e < 2. Z31 0x0f bytes, Z29 the table, Z28 dword 1,
// Z27 dword 2, Z26 dword 0x00200000.

DATA mxptab<>+0(SB)/8, $0x1c18161413121110
DATA mxptab<>+8(SB)/8, $0x04080a0c0d0e0f10
GLOBL mxptab<>(SB), RODATA|NOPTR, $16

#define MXP_CONSTS \
	MOVL            $0x0f0f0f0f, AX \
	VPBROADCASTD    AX, Z31 \
	VBROADCASTI32X4 mxptab<>(SB), Z29 \
	MOVL            $1, AX \
	VPBROADCASTD    AX, Z28 \
	MOVL            $2, AX \
	VPBROADCASTD    AX, Z27 \
	MOVL            $0x00200000, AX \
	VPBROADCASTD    AX, Z26

#define MXP_UNPACK(SO, PO) \
	PNIB4(PO) \
	VPSHUFB   Z1, Z29, Z1 \
	VPSHUFB   Z2, Z29, Z2 \
	VPSHUFB   Z3, Z29, Z3 \
	VPSHUFB   Z4, Z29, Z4 \
	VPSHUFB   Z5, Z29, Z5 \
	VPSHUFB   Z6, Z29, Z6 \
	VPSHUFB   Z7, Z29, Z7 \
	VPSHUFB   Z8, Z29, Z8 \
	VPMOVZXBD SO(SI), Z16 \
	VPSUBD    Z28, Z16, Z9 \
	VPSLLD    $23, Z9, Z9 \
	VPSLLVD   Z16, Z26, Z17 \
	VPCMPUD   $1, Z27, Z16, K1 \
	VMOVDQA32 Z17, K1, Z9

#define MXP_COL(OFF, XQ, XD, XS, ACC) \
	PDOT32(OFF, XQ) \
	VPSLLD.BCST $4, XS, Z12 \
	VPSUBD      Z12, Z10, Z10 \
	PFLOAT(XD, Z9, ACC)


TEXT ·mxfp4P1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	MXP_CONSTS
	VPXORD Z0, Z0, Z0
	XORQ   R9, R9
	SHLQ   $2, CX
	MOVQ   CX, R14
	ANDQ   $-32, R14

mxfp4p1_run:
	CMPQ R9, R14
	JGE  mxfp4p1_one
	MXP_UNPACK(0, 128)
	MXP_COL(0, DI, 0(DX), 0(R8), Z0)
	MXP_UNPACK(16, 384)
	MXP_COL(32, DI, 4(DX), 4(R8), Z0)
	MXP_UNPACK(32, 640)
	MXP_COL(64, DI, 8(DX), 8(R8), Z0)
	MXP_UNPACK(48, 896)
	MXP_COL(96, DI, 12(DX), 12(R8), Z0)
	MXP_UNPACK(64, 1152)
	MXP_COL(128, DI, 16(DX), 16(R8), Z0)
	MXP_UNPACK(80, 1408)
	MXP_COL(160, DI, 20(DX), 20(R8), Z0)
	MXP_UNPACK(96, 1664)
	MXP_COL(192, DI, 24(DX), 24(R8), Z0)
	MXP_UNPACK(112, 1920)
	MXP_COL(224, DI, 28(DX), 28(R8), Z0)
	ADDQ $2176, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	JMP  mxfp4p1_run

mxfp4p1_one:
	CMPQ R9, CX
	JGE  mxfp4p1_done
	MXP_UNPACK(0, 16)
	MXP_COL(0, DI, 0(DX), 0(R8), Z0)
	ADDQ $272, SI
	ADDQ $4, DX
	ADDQ $4, R8
	ADDQ $4, R9
	JMP  mxfp4p1_one

mxfp4p1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

TEXT ·mxfp4P4VNNI(SB), NOSPLIT, $0-64
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	MXP_CONSTS
	MOVQ   xqs+40(FP), AX
	LEAQ   (DI)(AX*1), R10
	LEAQ   (R10)(AX*1), R11
	LEAQ   (R11)(AX*1), R12
	SHLQ   $2, CX
	LEAQ   (CX)(CX*2), AX
	LEAQ   (DX)(AX*1), R13
	LEAQ   (R8)(AX*1), BX
	MOVQ   CX, R14
	ANDQ   $-32, R14
	VPXORD Z0, Z0, Z0
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	XORQ   R9, R9

mxfp4p4_run:
	CMPQ R9, R14
	JGE  mxfp4p4_one
	MXP_UNPACK(0, 128)
	MXP_COL(0, DI, 0(DX), 0(R8), Z0)
	MXP_COL(0, R10, 0(DX)(CX*1), 0(R8)(CX*1), Z20)
	MXP_COL(0, R11, 0(DX)(CX*2), 0(R8)(CX*2), Z21)
	MXP_COL(0, R12, 0(R13), 0(BX), Z22)
	MXP_UNPACK(16, 384)
	MXP_COL(32, DI, 4(DX), 4(R8), Z0)
	MXP_COL(32, R10, 4(DX)(CX*1), 4(R8)(CX*1), Z20)
	MXP_COL(32, R11, 4(DX)(CX*2), 4(R8)(CX*2), Z21)
	MXP_COL(32, R12, 4(R13), 4(BX), Z22)
	MXP_UNPACK(32, 640)
	MXP_COL(64, DI, 8(DX), 8(R8), Z0)
	MXP_COL(64, R10, 8(DX)(CX*1), 8(R8)(CX*1), Z20)
	MXP_COL(64, R11, 8(DX)(CX*2), 8(R8)(CX*2), Z21)
	MXP_COL(64, R12, 8(R13), 8(BX), Z22)
	MXP_UNPACK(48, 896)
	MXP_COL(96, DI, 12(DX), 12(R8), Z0)
	MXP_COL(96, R10, 12(DX)(CX*1), 12(R8)(CX*1), Z20)
	MXP_COL(96, R11, 12(DX)(CX*2), 12(R8)(CX*2), Z21)
	MXP_COL(96, R12, 12(R13), 12(BX), Z22)
	MXP_UNPACK(64, 1152)
	MXP_COL(128, DI, 16(DX), 16(R8), Z0)
	MXP_COL(128, R10, 16(DX)(CX*1), 16(R8)(CX*1), Z20)
	MXP_COL(128, R11, 16(DX)(CX*2), 16(R8)(CX*2), Z21)
	MXP_COL(128, R12, 16(R13), 16(BX), Z22)
	MXP_UNPACK(80, 1408)
	MXP_COL(160, DI, 20(DX), 20(R8), Z0)
	MXP_COL(160, R10, 20(DX)(CX*1), 20(R8)(CX*1), Z20)
	MXP_COL(160, R11, 20(DX)(CX*2), 20(R8)(CX*2), Z21)
	MXP_COL(160, R12, 20(R13), 20(BX), Z22)
	MXP_UNPACK(96, 1664)
	MXP_COL(192, DI, 24(DX), 24(R8), Z0)
	MXP_COL(192, R10, 24(DX)(CX*1), 24(R8)(CX*1), Z20)
	MXP_COL(192, R11, 24(DX)(CX*2), 24(R8)(CX*2), Z21)
	MXP_COL(192, R12, 24(R13), 24(BX), Z22)
	MXP_UNPACK(112, 1920)
	MXP_COL(224, DI, 28(DX), 28(R8), Z0)
	MXP_COL(224, R10, 28(DX)(CX*1), 28(R8)(CX*1), Z20)
	MXP_COL(224, R11, 28(DX)(CX*2), 28(R8)(CX*2), Z21)
	MXP_COL(224, R12, 28(R13), 28(BX), Z22)
	ADDQ $2176, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R13
	ADDQ $32, BX
	ADDQ $32, R9
	JMP  mxfp4p4_run

mxfp4p4_one:
	CMPQ R9, CX
	JGE  mxfp4p4_done
	MXP_UNPACK(0, 16)
	MXP_COL(0, DI, 0(DX), 0(R8), Z0)
	MXP_COL(0, R10, 0(DX)(CX*1), 0(R8)(CX*1), Z20)
	MXP_COL(0, R11, 0(DX)(CX*2), 0(R8)(CX*2), Z21)
	MXP_COL(0, R12, 0(R13), 0(BX), Z22)
	ADDQ $272, SI
	ADDQ $4, DX
	ADDQ $4, R8
	ADDQ $4, R13
	ADDQ $4, BX
	ADDQ $4, R9
	JMP  mxfp4p4_one

mxfp4p4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z21, (AX)
	VMOVUPS Z22, (AX)(BX*1)
	VZEROUPPER
	RET


// ---- iq4_xs: position of 2176 bytes: d (32), the high scale bits (32),
// the low scale nibbles (64), 32 pieces of nibbles (sub-block j in pieces
// 4j..4j+3). Values kvaluesIQ4NL[q]+128 (1..241) by VPSHUFB; per
// sub-block isub = dot - 128*s_j, isum += isub*(ls_j-32) (exact int32);
// per super-block acc += float(isum)*(d*dx).
//
// Z31 0x0f bytes, Z30 the table, Z19 d, Z20..Z27 the 8 scales ls-32;
// Z1..Z8 a sub-block's values; Z10..Z13 temporaries.

DATA iqptab<>+0(SB)/8, $0x766a5d4f3f2d1801
DATA iqptab<>+8(SB)/8, $0xf1d9c5b5a6998d81
GLOBL iqptab<>(SB), RODATA|NOPTR, $16

DATA iqpc<>+0(SB)/4, $0x0f
DATA iqpc<>+4(SB)/4, $0x30
DATA iqpc<>+8(SB)/4, $32
GLOBL iqpc<>(SB), RODATA|NOPTR, $12

#define IQP_CONSTS \
	MOVL            $0x0f0f0f0f, AX \
	VPBROADCASTD    AX, Z31 \
	VBROADCASTI32X4 iqptab<>(SB), Z30

// Scale J (ls-32) into DST from the low nibbles (Z17) and the high bits
// (Z18, zero-extended words): SHOP $SH moves bits 2J, 2J+1 to 4, 5.
#define IQP_SC(J, SHOP, SH, DST) \
	VPSRLD      $(4*J), Z17, DST \
	VPANDD.BCST iqpc<>+0(SB), DST, DST \
	SHOP        $SH, Z18, Z16 \
	VPANDD.BCST iqpc<>+4(SB), Z16, Z16 \
	VPORD       Z16, DST, DST \
	VPSUBD.BCST iqpc<>+8(SB), DST, DST

#define IQP_SCALES \
	VCVTPH2PS (SI), Z19 \
	VPMOVZXWD 32(SI), Z18 \
	VMOVDQU32 64(SI), Z17 \
	IQP_SC(0, VPSLLD, 4, Z20) \
	IQP_SC(1, VPSLLD, 2, Z21) \
	IQP_SC(2, VPSLLD, 0, Z22) \
	IQP_SC(3, VPSRLD, 2, Z23) \
	IQP_SC(4, VPSRLD, 4, Z24) \
	IQP_SC(5, VPSRLD, 6, Z25) \
	IQP_SC(6, VPSRLD, 8, Z26) \
	IQP_SC(7, VPSRLD, 10, Z27)

#define IQP_UNPACK(J) \
	PNIB4(128+256*J) \
	VPSHUFB Z1, Z30, Z1 \
	VPSHUFB Z2, Z30, Z2 \
	VPSHUFB Z3, Z30, Z3 \
	VPSHUFB Z4, Z30, Z4 \
	VPSHUFB Z5, Z30, Z5 \
	VPSHUFB Z6, Z30, Z6 \
	VPSHUFB Z7, Z30, Z7 \
	VPSHUFB Z8, Z30, Z8

// Sub-block J of one column: ISUM += (dot - 128*s_J) * scale.
#define IQP_SUB(J, XQ, XS, SC, ISUM) \
	PDOT32(32*J, XQ) \
	VPSLLD.BCST $7, (4*J)(XS)(R9*1), Z12 \
	VPSUBD      Z12, Z10, Z10 \
	VPMULLD     SC, Z10, Z10 \
	VPADDD      Z10, ISUM, ISUM

// ACC += float(ISUM) * (d * dx at XD).
#define IQP_END(XD, ISUM, ACC) \
	VCVTDQ2PS   ISUM, ISUM \
	VMULPS.BCST XD, Z19, Z13 \
	VMULPS      Z13, ISUM, ISUM \
	VADDPS      ISUM, ACC, ACC


TEXT ·iq4XSP1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	IQP_CONSTS
	VPXORD Z0, Z0, Z0
	XORQ   R9, R9
	SHLQ   $5, CX
	JZ     iqp1_done

iqp1_loop:
	IQP_SCALES
	VPXORD Z9, Z9, Z9
	IQP_UNPACK(0)
	IQP_SUB(0, DI, R8, Z20, Z9)
	IQP_UNPACK(1)
	IQP_SUB(1, DI, R8, Z21, Z9)
	IQP_UNPACK(2)
	IQP_SUB(2, DI, R8, Z22, Z9)
	IQP_UNPACK(3)
	IQP_SUB(3, DI, R8, Z23, Z9)
	IQP_UNPACK(4)
	IQP_SUB(4, DI, R8, Z24, Z9)
	IQP_UNPACK(5)
	IQP_SUB(5, DI, R8, Z25, Z9)
	IQP_UNPACK(6)
	IQP_SUB(6, DI, R8, Z26, Z9)
	IQP_UNPACK(7)
	IQP_SUB(7, DI, R8, Z27, Z9)
	IQP_END((DX), Z9, Z0)
	ADDQ $2176, SI
	ADDQ $4, DX
	ADDQ $32, R9
	CMPQ R9, CX
	JLT  iqp1_loop

iqp1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

// P4: column c's values at (R9*8) from DI, R10, R11, R12 (R9 = 32 per
// super-block), its sums at (R9*1) from R8, BX, AX, R14, its scale at DX
// + c*R13. Accumulators Z0, Z14, Z15, Z28; isums Z9, Z16, Z17, Z18 (set
// after the scales, which use Z16..Z18).
TEXT ·iq4XSP4VNNI(SB), NOSPLIT, $0-64
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	IQP_CONSTS
	MOVQ   xqs+40(FP), AX
	LEAQ   (DI)(AX*1), R10
	LEAQ   (R10)(AX*1), R11
	LEAQ   (R11)(AX*1), R12
	SHRQ   $3, AX
	LEAQ   (R8)(AX*1), BX
	LEAQ   (BX)(AX*1), R14
	LEAQ   (R14)(AX*1), R15
	MOVQ   R14, AX
	MOVQ   CX, R13
	SHLQ   $2, R13
	SHLQ   $5, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z28, Z28, Z28
	XORQ   R9, R9
	TESTQ  CX, CX
	JZ     iqp4_done

iqp4_loop:
	IQP_SCALES
	VPXORD Z9, Z9, Z9
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	IQP_UNPACK(0)
	IQP_SUB(0, DI, R8, Z20, Z9)
	IQP_SUB(0, R10, BX, Z20, Z16)
	IQP_SUB(0, R11, AX, Z20, Z17)
	IQP_SUB(0, R12, R15, Z20, Z18)
	IQP_UNPACK(1)
	IQP_SUB(1, DI, R8, Z21, Z9)
	IQP_SUB(1, R10, BX, Z21, Z16)
	IQP_SUB(1, R11, AX, Z21, Z17)
	IQP_SUB(1, R12, R15, Z21, Z18)
	IQP_UNPACK(2)
	IQP_SUB(2, DI, R8, Z22, Z9)
	IQP_SUB(2, R10, BX, Z22, Z16)
	IQP_SUB(2, R11, AX, Z22, Z17)
	IQP_SUB(2, R12, R15, Z22, Z18)
	IQP_UNPACK(3)
	IQP_SUB(3, DI, R8, Z23, Z9)
	IQP_SUB(3, R10, BX, Z23, Z16)
	IQP_SUB(3, R11, AX, Z23, Z17)
	IQP_SUB(3, R12, R15, Z23, Z18)
	IQP_UNPACK(4)
	IQP_SUB(4, DI, R8, Z24, Z9)
	IQP_SUB(4, R10, BX, Z24, Z16)
	IQP_SUB(4, R11, AX, Z24, Z17)
	IQP_SUB(4, R12, R15, Z24, Z18)
	IQP_UNPACK(5)
	IQP_SUB(5, DI, R8, Z25, Z9)
	IQP_SUB(5, R10, BX, Z25, Z16)
	IQP_SUB(5, R11, AX, Z25, Z17)
	IQP_SUB(5, R12, R15, Z25, Z18)
	IQP_UNPACK(6)
	IQP_SUB(6, DI, R8, Z26, Z9)
	IQP_SUB(6, R10, BX, Z26, Z16)
	IQP_SUB(6, R11, AX, Z26, Z17)
	IQP_SUB(6, R12, R15, Z26, Z18)
	IQP_UNPACK(7)
	IQP_SUB(7, DI, R8, Z27, Z9)
	IQP_SUB(7, R10, BX, Z27, Z16)
	IQP_SUB(7, R11, AX, Z27, Z17)
	IQP_SUB(7, R12, R15, Z27, Z18)
	IQP_END((DX), Z9, Z0)
	IQP_END((DX)(R13*1), Z16, Z14)
	IQP_END((DX)(R13*2), Z17, Z15)
	LEAQ   (DX)(R13*2), R14
	IQP_END((R14)(R13*1), Z18, Z28)
	ADDQ $2176, SI
	ADDQ $4, DX
	ADDQ $32, R9
	CMPQ R9, CX
	JLT  iqp4_loop

iqp4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z14, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z15, (AX)
	VMOVUPS Z28, (AX)(BX*1)
	VZEROUPPER
	RET
