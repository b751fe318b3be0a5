//go:build amd64

#include "textflag.h"

// Kernels for repacked q6_k matrices (repack.go, repack_q6k.go): the 16
// rows of an interleaved group against 1 or 4 activation columns, row r
// in lane r of a zmm (AVX-512 F, BW, VNNI).
//
//	func q6KP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func q6KP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// nsb super-blocks per row; xd one scale per super-block; xs the column's
// negated sums of 16 values as q6KPairSums leaves them (8 dwords per
// super-block); in P4 column c's values are xqs*c bytes after xq, its xs
// xqs/8*c bytes after xs and its scales 4*nsb*c bytes after xd. Column
// c's 16 results go to out + c*ostride (bytes).
//
// Per super-block and row, exactly in int32: the 6-bit values q (0..63)
// are rebuilt from a dword of ql and one of qh (VPTERNLOGD merges the
// nibble and the two high bits), VPDPBUSD forms each group's dot(q, x)
// (q the unsigned operand), VPMULLD by the group's scale (sign-extended)
// adds sc_g*dot_g to isum, and VPDPWSSD of the scales' word pairs with
// the -s_g pairs gives sum_g sc_g*(-s_g), times 32 (see repack_q6k.go).
// Then acc += float(isum)*(d*dx): per row the generic operations.
//
// Position layout (3360 bytes): d at 0 (32), scale dword j at 32+64j,
// then for h, k the ql dwords A, B and the qh dword Q at 288+192(8h+k),
// +64, +128.
//
// Registers: Z31 0x0f bytes, Z30 0x33 bytes, Z29 0xcc bytes, Z28 a
// temporary; Z24..Z27 the values v0..v3 of one (h, k) (groups 8h+k/4,
// +2, +4, +6), later the scales; Z8..Z23 the groups' int32 dots per
// column; Z4..Z7 isum per column; Z0..Z3 acc per column.

// v0..v3 of the dwords at OFF(SI) into Z24..Z27.
#define Q6P_UNPACK(OFF) \
	VPANDD     OFF+128(SI), Z30, Z28 \
	VPSLLD     $4, Z28, Z24 \
	VPTERNLOGD $0xB8, OFF(SI), Z31, Z24 \
	VPSRLD     $4, OFF(SI), Z26 \
	VPTERNLOGD $0xE2, Z28, Z31, Z26 \
	VPANDD     OFF+128(SI), Z29, Z28 \
	VPSLLD     $2, Z28, Z25 \
	VPTERNLOGD $0xB8, OFF+64(SI), Z31, Z25 \
	VPSRLD     $4, OFF+64(SI), Z27 \
	VPSRLD     $2, Z28, Z28 \
	VPTERNLOGD $0xE2, Z28, Z31, Z27

// The dots of v0..v3 of (H, K) with the column at XQ, into A0..A3.
#define Q6P_DOT(XQ, H, K, A0, A1, A2, A3) \
	VPDPBUSD.BCST 128*(H)+4*(K)(XQ), Z24, A0 \
	VPDPBUSD.BCST 128*(H)+32+4*(K)(XQ), Z25, A1 \
	VPDPBUSD.BCST 128*(H)+64+4*(K)(XQ), Z26, A2 \
	VPDPBUSD.BCST 128*(H)+96+4*(K)(XQ), Z27, A3

// The scales of groups 8H+KK, +2, +4, +6 (sign-extended dwords) into
// Z24..Z27: bytes KK and KK+2 of the scale dwords 2H and 2H+1.
#define Q6P_SC(H, KK) \
	VPSLLD $(24-8*KK), 32+128*H(SI), Z24 \
	VPSRAD $24, Z24, Z24 \
	VPSLLD $(8-8*KK), 32+128*H(SI), Z25 \
	VPSRAD $24, Z25, Z25 \
	VPSLLD $(24-8*KK), 96+128*H(SI), Z26 \
	VPSRAD $24, Z26, Z26 \
	VPSLLD $(8-8*KK), 96+128*H(SI), Z27 \
	VPSRAD $24, Z27, Z27

// ISUM += the 4 groups' dots A0..A3 times their scales Z24..Z27.
#define Q6P_FOLD(A0, A1, A2, A3, ISUM) \
	VPMULLD Z24, A0, A0 \
	VPADDD  A0, ISUM, ISUM \
	VPMULLD Z25, A1, A1 \
	VPADDD  A1, ISUM, ISUM \
	VPMULLD Z26, A2, A2 \
	VPADDD  A2, ISUM, ISUM \
	VPMULLD Z27, A3, A3 \
	VPADDD  A3, ISUM, ISUM

// The word pairs (sc_4J, sc_4J+2) and (sc_4J+1, sc_4J+3) into Z24, Z25.
#define Q6P_SCW(J) \
	VPSLLW $8, 32+64*J(SI), Z24 \
	VPSRAW $8, Z24, Z24 \
	VPSRAW $8, 32+64*J(SI), Z25

#define Q6P_ZERO4(A0, A1, A2, A3) \
	VPXORD A0, A0, A0 \
	VPXORD A1, A1, A1 \
	VPXORD A2, A2, A2 \
	VPXORD A3, A3, A3

#define Q6P_CONSTS \
	MOVL         $0x0f0f0f0f, AX \
	VPBROADCASTD AX, Z31 \
	MOVL         $0x33333333, AX \
	VPBROADCASTD AX, Z30 \
	MOVL         $0xcccccccc, AX \
	VPBROADCASTD AX, Z29

// One quarter (H, KK) of the super-block, one column.
#define Q6P1_QUARTER(H, KK) \
	Q6P_ZERO4(Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK)) \
	Q6P_DOT(DI, H, 4*KK, Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK+1)) \
	Q6P_DOT(DI, H, 4*KK+1, Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK+2)) \
	Q6P_DOT(DI, H, 4*KK+2, Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK+3)) \
	Q6P_DOT(DI, H, 4*KK+3, Z8, Z9, Z10, Z11) \
	Q6P_SC(H, KK) \
	Q6P_FOLD(Z8, Z9, Z10, Z11, Z4)

TEXT ·q6KP1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	Q6P_CONSTS
	VPXORD Z0, Z0, Z0
	TESTQ  CX, CX
	JZ     q6p1_done

q6p1_loop:
	VPXORD        Z4, Z4, Z4
	Q6P_SCW(0)
	VPDPWSSD.BCST 0(R8), Z24, Z4
	VPDPWSSD.BCST 4(R8), Z25, Z4
	Q6P_SCW(1)
	VPDPWSSD.BCST 8(R8), Z24, Z4
	VPDPWSSD.BCST 12(R8), Z25, Z4
	Q6P_SCW(2)
	VPDPWSSD.BCST 16(R8), Z24, Z4
	VPDPWSSD.BCST 20(R8), Z25, Z4
	Q6P_SCW(3)
	VPDPWSSD.BCST 24(R8), Z24, Z4
	VPDPWSSD.BCST 28(R8), Z25, Z4
	VPSLLD        $5, Z4, Z4
	Q6P1_QUARTER(0, 0)
	Q6P1_QUARTER(0, 1)
	Q6P1_QUARTER(1, 0)
	Q6P1_QUARTER(1, 1)
	VCVTDQ2PS     Z4, Z4
	VCVTPH2PS     (SI), Z5
	VMULPS.BCST   (DX), Z5, Z5
	VMULPS        Z5, Z4, Z4
	VADDPS        Z4, Z0, Z0
	ADDQ          $3360, SI
	ADDQ          $256, DI
	ADDQ          $32, R8
	ADDQ          $4, DX
	DECQ          CX
	JNZ           q6p1_loop

q6p1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

// ---- 4 columns ----
//
// GP registers: DI, R10, R11, R12 the columns' values; DX, R13, R14, R15
// their scales; R8 column 0's xs, R9 the xs column stride, BX 3*R9.

// One k of quarter (H, KK): unpack once, dots for the 4 columns.
#define Q6P4_K(H, K) \
	Q6P_UNPACK(288+192*(8*(H)+(K))) \
	Q6P_DOT(DI, H, K, Z8, Z9, Z10, Z11) \
	Q6P_DOT(R10, H, K, Z12, Z13, Z14, Z15) \
	Q6P_DOT(R11, H, K, Z16, Z17, Z18, Z19) \
	Q6P_DOT(R12, H, K, Z20, Z21, Z22, Z23)

#define Q6P4_QUARTER(H, KK) \
	Q6P_ZERO4(Z8, Z9, Z10, Z11) \
	Q6P_ZERO4(Z12, Z13, Z14, Z15) \
	Q6P_ZERO4(Z16, Z17, Z18, Z19) \
	Q6P_ZERO4(Z20, Z21, Z22, Z23) \
	Q6P4_K(H, 4*KK) \
	Q6P4_K(H, 4*KK+1) \
	Q6P4_K(H, 4*KK+2) \
	Q6P4_K(H, 4*KK+3) \
	Q6P_SC(H, KK) \
	Q6P_FOLD(Z8, Z9, Z10, Z11, Z4) \
	Q6P_FOLD(Z12, Z13, Z14, Z15, Z5) \
	Q6P_FOLD(Z16, Z17, Z18, Z19, Z6) \
	Q6P_FOLD(Z20, Z21, Z22, Z23, Z7)

// The 4 columns' sum_g sc_g*(-s_g) terms of scale dword J.
#define Q6P4_CORR(J) \
	Q6P_SCW(J) \
	VPDPWSSD.BCST 8*J(R8), Z24, Z4 \
	VPDPWSSD.BCST 8*J+4(R8), Z25, Z4 \
	VPDPWSSD.BCST 8*J(R8)(R9*1), Z24, Z5 \
	VPDPWSSD.BCST 8*J+4(R8)(R9*1), Z25, Z5 \
	VPDPWSSD.BCST 8*J(R8)(R9*2), Z24, Z6 \
	VPDPWSSD.BCST 8*J+4(R8)(R9*2), Z25, Z6 \
	VPDPWSSD.BCST 8*J(R8)(BX*1), Z24, Z7 \
	VPDPWSSD.BCST 8*J+4(R8)(BX*1), Z25, Z7

// Column's float step: ISUM (int32) times d (Z24) and the scale at XD.
#define Q6P4_END(XD, ISUM, ACC) \
	VCVTDQ2PS   ISUM, ISUM \
	VMULPS.BCST (XD), Z24, Z25 \
	VMULPS      Z25, ISUM, ISUM \
	VADDPS      ISUM, ACC, ACC

TEXT ·q6KP4VNNI(SB), NOSPLIT, $0-64
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	MOVQ   xqs+40(FP), R9
	LEAQ   (DI)(R9*1), R10
	LEAQ   (R10)(R9*1), R11
	LEAQ   (R11)(R9*1), R12
	SHRQ   $3, R9
	LEAQ   (R9)(R9*2), BX
	MOVQ   CX, AX
	SHLQ   $2, AX
	LEAQ   (DX)(AX*1), R13
	LEAQ   (R13)(AX*1), R14
	LEAQ   (R14)(AX*1), R15
	Q6P_CONSTS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	TESTQ  CX, CX
	JZ     q6p4_done

q6p4_loop:
	Q6P_ZERO4(Z4, Z5, Z6, Z7)
	Q6P4_CORR(0)
	Q6P4_CORR(1)
	Q6P4_CORR(2)
	Q6P4_CORR(3)
	VPSLLD    $5, Z4, Z4
	VPSLLD    $5, Z5, Z5
	VPSLLD    $5, Z6, Z6
	VPSLLD    $5, Z7, Z7
	Q6P4_QUARTER(0, 0)
	Q6P4_QUARTER(0, 1)
	Q6P4_QUARTER(1, 0)
	Q6P4_QUARTER(1, 1)
	VCVTPH2PS (SI), Z24
	Q6P4_END(DX, Z4, Z0)
	Q6P4_END(R13, Z5, Z1)
	Q6P4_END(R14, Z6, Z2)
	Q6P4_END(R15, Z7, Z3)
	ADDQ      $3360, SI
	ADDQ      $256, DI
	ADDQ      $256, R10
	ADDQ      $256, R11
	ADDQ      $256, R12
	ADDQ      $32, R8
	ADDQ      $4, DX
	ADDQ      $4, R13
	ADDQ      $4, R14
	ADDQ      $4, R15
	DECQ      CX
	JNZ       q6p4_loop

q6p4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z2, (AX)
	VMOVUPS Z3, (AX)(BX*1)
	VZEROUPPER
	RET
