//go:build amd64

#include "textflag.h"

// AVX-512 VNNI kernels for repacked q5_k and q3_k matrices (layouts in
// repack_kq.go): the 16 rows of an interleaved group against 1 or 4
// activation columns, row r in lane r of a zmm, with the arguments of the
// q4_k ones (repack_amd64.s):
//
//	func k(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func k(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// Per super-block and row the integer sums are formed exactly in int32
// lanes (VPDPBUSD of the unpacked unsigned values and 4 broadcast
// activation bytes), then each row takes the float steps of the generic
// kernels (genericx.go) in its own lane, each product rounded, super-blocks
// in order: bitwise the canonical results.

// ---- q5_k ----
//
// As q4KP1VNNI and q4KP4VNNI (repack_amd64.s), whose macros are repeated
// here, with the fifth bit of each value merged into its nibble: for
// sub-block j the bit j of the high-bit dword, shifted to bit 4 and
// masked (Z20 = 0x10 bytes, set per super-block), ORed in by VPTERNLOGD.
// isd = sum_j sc_j*isum_j (VPMULLD), ism = sum_j m_j*s_j (VPDPWSSD); acc
// += float(isd)*(d*dx), acc -= float(ism)*(dmin*dx).
//
// Registers: Z31 0x0f bytes, Z30 0xff dwords, Z29 0x3f bytes, Z28 0x30
// bytes, Z27 0x00ff words; Z16 = sc0..3 and Z18 = sc4..7 (bytes of each
// lane), Z21..Z24 the mins as word pairs; Z25, Z26 the scales of a pair;
// Z1..Z8 unpacked values; Z9..Z12 isd per column; Z0, Z13..Z15 acc per
// column; Z17, Z19 temporaries.

#define K5DECODE \
	VPANDD    64(SI), Z29, Z16 \
	VPANDD    128(SI), Z29, Z17 \
	VPSRLD    $2, 64(SI), Z18 \
	VPANDD    Z28, Z18, Z18 \
	VPANDD    192(SI), Z31, Z19 \
	VPORD     Z19, Z18, Z18 \
	VPSRLD    $2, 128(SI), Z19 \
	VPANDD    Z28, Z19, Z19 \
	VPSRLD    $4, 192(SI), Z20 \
	VPANDD    Z31, Z20, Z20 \
	VPORD     Z20, Z19, Z19 \
	VPANDD    Z27, Z17, Z21 \
	VPSRLD    $8, Z17, Z22 \
	VPANDD    Z27, Z22, Z22 \
	VPANDD    Z27, Z19, Z23 \
	VPSRLD    $8, Z19, Z24 \
	VPANDD    Z27, Z24, Z24 \
	MOVL         $0x10101010, AX \
	VPBROADCASTD AX, Z20

#define K5SC01(SRC) \
	VPANDD Z30, SRC, Z25 \
	VPSRLD $8, SRC, Z26 \
	VPANDD Z30, Z26, Z26

#define K5SC23(SRC) \
	VPSRLD $16, SRC, Z25 \
	VPANDD Z30, Z25, Z25 \
	VPSRLD $24, SRC, Z26

// Low nibbles of nibble dword Q of pair P (sub-block 2P) with bit 2P of
// high-bit dword Q (OP $N brings it to bit 4) into W.
#define K5UNL(P, Q, W, OP, N) \
	VPANDD     (768+512*P+64*Q)(SI), Z31, W \
	OP         $N, (256+64*Q)(SI), Z17 \
	VPTERNLOGD $0xF8, Z17, Z20, W

// High nibbles (sub-block 2P+1) with bit 2P+1.
#define K5UNH(P, Q, W, OP, N) \
	VPSRLW     $4, (768+512*P+64*Q)(SI), W \
	VPANDD     Z31, W, W \
	OP         $N, (256+64*Q)(SI), Z17 \
	VPTERNLOGD $0xF8, Z17, Z20, W

#define K5UNPACKLO(P, OP, N) \
	K5UNL(P, 0, Z1, OP, N) \
	K5UNL(P, 1, Z2, OP, N) \
	K5UNL(P, 2, Z5, OP, N) \
	K5UNL(P, 3, Z6, OP, N) \
	K5UNL(P, 4, Z7, OP, N) \
	K5UNL(P, 5, Z8, OP, N) \
	K5UNL(P, 6, Z3, OP, N) \
	K5UNL(P, 7, Z4, OP, N)

#define K5UNPACKHI(P, OP, N) \
	K5UNH(P, 0, Z1, OP, N) \
	K5UNH(P, 1, Z2, OP, N) \
	K5UNH(P, 2, Z5, OP, N) \
	K5UNH(P, 3, Z6, OP, N) \
	K5UNH(P, 4, Z7, OP, N) \
	K5UNH(P, 5, Z8, OP, N) \
	K5UNH(P, 6, Z3, OP, N) \
	K5UNH(P, 7, Z4, OP, N)

// One sub-block of one column: ISD += SC * (values . x at XOFF(XQ)).
#define K5HALF(XQ, XOFF, SC, ISD) \
	VPXORD        Z17, Z17, Z17 \
	VPXORD        Z19, Z19, Z19 \
	VPDPBUSD.BCST XOFF+0(XQ), Z1, Z17 \
	VPDPBUSD.BCST XOFF+4(XQ), Z2, Z19 \
	VPDPBUSD.BCST XOFF+8(XQ), Z5, Z17 \
	VPDPBUSD.BCST XOFF+12(XQ), Z6, Z19 \
	VPDPBUSD.BCST XOFF+16(XQ), Z7, Z17 \
	VPDPBUSD.BCST XOFF+20(XQ), Z8, Z19 \
	VPDPBUSD.BCST XOFF+24(XQ), Z3, Z17 \
	VPDPBUSD.BCST XOFF+28(XQ), Z4, Z19 \
	VPADDD        Z19, Z17, Z17 \
	VPMULLD       SC, Z17, Z17 \
	VPADDD        Z17, ISD, ISD

#define K5PAIRMIN(XS, A, B, M) \
	MOVL         A(XS), AX \
	MOVL         B(XS), BX \
	SHLL         $16, BX \
	MOVWLZX      AX, AX \
	ORL          BX, AX \
	VPBROADCASTD AX, Z17 \
	VPDPWSSD     Z17, M, Z20

#define K5END(XS, XD, ISD, ACC) \
	VPXORD      Z20, Z20, Z20 \
	K5PAIRMIN(XS, 0, 8, Z21) \
	K5PAIRMIN(XS, 4, 12, Z22) \
	K5PAIRMIN(XS, 16, 24, Z23) \
	K5PAIRMIN(XS, 20, 28, Z24) \
	VMULPS.BCST (XD), Z1, Z5 \
	VCVTDQ2PS   ISD, Z6 \
	VMULPS      Z5, Z6, Z6 \
	VADDPS      Z6, ACC, ACC \
	VMULPS.BCST (XD), Z2, Z5 \
	VCVTDQ2PS   Z20, Z7 \
	VMULPS      Z5, Z7, Z7 \
	VSUBPS      Z7, ACC, ACC

#define K5CONSTS \
	MOVL         $0x0f0f0f0f, AX \
	VPBROADCASTD AX, Z31 \
	MOVL         $0xff, AX \
	VPBROADCASTD AX, Z30 \
	MOVL         $0x3f3f3f3f, AX \
	VPBROADCASTD AX, Z29 \
	MOVL         $0x30303030, AX \
	VPBROADCASTD AX, Z28 \
	MOVL         $0x00ff00ff, AX \
	VPBROADCASTD AX, Z27

#define K5DV \
	VCVTPH2PS (SI), Z1 \
	VCVTPH2PS 32(SI), Z2

TEXT ·q5KP1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	K5CONSTS
	VPXORD Z0, Z0, Z0
	TESTQ  CX, CX
	JZ     q5kp1_done

q5kp1_loop:
	K5DECODE
	VPXORD    Z9, Z9, Z9
	K5SC01(Z16)
	K5UNPACKLO(0, VPSLLD, 4)
	K5HALF(DI, 0, Z25, Z9)
	K5UNPACKHI(0, VPSLLD, 3)
	K5HALF(DI, 32, Z26, Z9)
	K5SC23(Z16)
	K5UNPACKLO(1, VPSLLD, 2)
	K5HALF(DI, 64, Z25, Z9)
	K5UNPACKHI(1, VPSLLD, 1)
	K5HALF(DI, 96, Z26, Z9)
	K5SC01(Z18)
	K5UNPACKLO(2, VPSRLD, 0)
	K5HALF(DI, 128, Z25, Z9)
	K5UNPACKHI(2, VPSRLD, 1)
	K5HALF(DI, 160, Z26, Z9)
	K5SC23(Z18)
	K5UNPACKLO(3, VPSRLD, 2)
	K5HALF(DI, 192, Z25, Z9)
	K5UNPACKHI(3, VPSRLD, 3)
	K5HALF(DI, 224, Z26, Z9)
	K5DV
	K5END(R8, DX, Z9, Z0)
	ADDQ      $2816, SI
	ADDQ      $256, DI
	ADDQ      $32, R8
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q5kp1_loop

q5kp1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

#define K5PAIR4(P, OPL, NL, OPH, NH) \
	K5UNPACKLO(P, OPL, NL) \
	K5HALF(DI, 64*P, Z25, Z9) \
	K5HALF(R13, 64*P, Z25, Z10) \
	K5HALF(R14, 64*P, Z25, Z11) \
	K5HALF(R15, 64*P, Z25, Z12) \
	K5UNPACKHI(P, OPH, NH) \
	K5HALF(DI, 64*P+32, Z26, Z9) \
	K5HALF(R13, 64*P+32, Z26, Z10) \
	K5HALF(R14, 64*P+32, Z26, Z11) \
	K5HALF(R15, 64*P+32, Z26, Z12)

TEXT ·q5KP4VNNI(SB), NOSPLIT, $0-64
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	MOVQ   xqs+40(FP), R10
	LEAQ   (DI)(R10*1), R13
	LEAQ   (R13)(R10*1), R14
	LEAQ   (R14)(R10*1), R15
	MOVQ   R10, R11
	SHRQ   $3, R11
	MOVQ   CX, R12
	SHLQ   $2, R12
	K5CONSTS
	VPXORD Z0, Z0, Z0
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ  CX, CX
	JZ     q5kp4_done

q5kp4_loop:
	K5DECODE
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	K5SC01(Z16)
	K5PAIR4(0, VPSLLD, 4, VPSLLD, 3)
	K5SC23(Z16)
	K5PAIR4(1, VPSLLD, 2, VPSLLD, 1)
	K5SC01(Z18)
	K5PAIR4(2, VPSRLD, 0, VPSRLD, 1)
	K5SC23(Z18)
	K5PAIR4(3, VPSRLD, 2, VPSRLD, 3)
	K5DV
	K5END(R8, DX, Z9, Z0)
	MOVQ   R8, R9
	MOVQ   DX, R10
	ADDQ   R11, R9
	ADDQ   R12, R10
	K5END(R9, R10, Z10, Z13)
	ADDQ   R11, R9
	ADDQ   R12, R10
	K5END(R9, R10, Z11, Z14)
	ADDQ   R11, R9
	ADDQ   R12, R10
	K5END(R9, R10, Z12, Z15)
	ADDQ   $2816, SI
	ADDQ   $256, DI
	ADDQ   $256, R13
	ADDQ   $256, R14
	ADDQ   $256, R15
	ADDQ   $32, R8
	ADDQ   $4, DX
	DECQ   CX
	JNZ    q5kp4_loop

q5kp4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z13, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z14, (AX)
	VMOVUPS Z15, (AX)(BX*1)
	VZEROUPPER
	RET

// ---- q3_k ----
//
// Per 16-value group g of a super-block (sub-block s = g/2, half h = s/4,
// j = s%4, upper = g%2) the values u = q + 4*hbit (0..7) of its 4 dwords
// (2-bit dword 8h+4*upper+k shifted by 2j, high-bit dword 4*upper+k
// shifted so that bit s lands on bit 2) are formed once; per column the
// group's exact sum sum((u-4)*x) is -4*sum(x) (the column's bias, formed
// per super-block with VPDPBUSD and a transposing add) plus 4 VPDPBUSD,
// at most 16*4*127 in magnitude, so VPDPWSSD by the group's scale sc-32
// (the low word of each lane, the high word 0) adds (sc-32)*sum exactly to
// isum. Then acc += float(isum)*(d*dx): the operations of dotQ3KGeneric.
//
// Registers: Z31 0x03 bytes, Z30 0x04 bytes, Z29 0x0f bytes, Z28 0x30
// bytes, Z27 0x20 bytes, Z26 0x0000ffff dwords, Z25 zero; Z16..Z19 the
// scales sc-32 of groups 0..3, 4..7, 8..11, 12..15 (byte g%4 of each
// lane); Z1..Z4 a group's values; Z6 its scale words; Z7, Z8 temporaries;
// the columns' negated biases on the stack, 64 bytes per column (group g
// at 4*(4*(g%4)+g/4)).

#define Q3CONSTS \
	MOVL         $0x03030303, AX \
	VPBROADCASTD AX, Z31 \
	MOVL         $0x04040404, AX \
	VPBROADCASTD AX, Z30 \
	MOVL         $0x0f0f0f0f, AX \
	VPBROADCASTD AX, Z29 \
	MOVL         $0x30303030, AX \
	VPBROADCASTD AX, Z28 \
	MOVL         $0x20202020, AX \
	VPBROADCASTD AX, Z27 \
	MOVL         $0x0000ffff, AX \
	VPBROADCASTD AX, Z26 \
	VPXORD       Z25, Z25, Z25

// The negated biases -4*sum(x) of the 16 groups of the column's
// super-block at XQ to SO(SP). Clobbers Z10..Z15.
#define Q3BIAS(XQ, SO) \
	VPXORD      Z10, Z10, Z10 \
	VPXORD      Z11, Z11, Z11 \
	VPXORD      Z12, Z12, Z12 \
	VPXORD      Z13, Z13, Z13 \
	VPDPBUSD    0(XQ), Z30, Z10 \
	VPDPBUSD    64(XQ), Z30, Z11 \
	VPDPBUSD    128(XQ), Z30, Z12 \
	VPDPBUSD    192(XQ), Z30, Z13 \
	VPUNPCKLDQ  Z11, Z10, Z14 \
	VPUNPCKHDQ  Z11, Z10, Z15 \
	VPADDD      Z15, Z14, Z14 \
	VPUNPCKLDQ  Z13, Z12, Z15 \
	VPUNPCKHDQ  Z13, Z12, Z10 \
	VPADDD      Z10, Z15, Z15 \
	VPUNPCKLQDQ Z15, Z14, Z10 \
	VPUNPCKHQDQ Z15, Z14, Z11 \
	VPADDD      Z11, Z10, Z10 \
	VPSUBD      Z10, Z25, Z10 \
	VMOVDQU32   Z10, SO(SP)

// The 16 rows' scales sc-32 into Z16..Z19 (as q3KScales).
#define Q3SCALES \
	VPSLLD     $4, 1664(SI), Z7 \
	VPANDD     1536(SI), Z29, Z16 \
	VPTERNLOGD $0xF8, Z7, Z28, Z16 \
	VPSUBB     Z27, Z16, Z16 \
	VPSLLD     $2, 1664(SI), Z7 \
	VPANDD     1600(SI), Z29, Z17 \
	VPTERNLOGD $0xF8, Z7, Z28, Z17 \
	VPSUBB     Z27, Z17, Z17 \
	VPSRLD     $4, 1536(SI), Z18 \
	VPANDD     Z29, Z18, Z18 \
	VPTERNLOGD $0xF8, 1664(SI), Z28, Z18 \
	VPSUBB     Z27, Z18, Z18 \
	VPSRLD     $4, 1600(SI), Z19 \
	VPANDD     Z29, Z19, Z19 \
	VPSRLD     $2, 1664(SI), Z7 \
	VPTERNLOGD $0xF8, Z7, Z28, Z19 \
	VPSUBB     Z27, Z19, Z19

// Byte K of each lane of G, sign-extended to the low word (high word 0),
// into Z6.
#define Q3SCW(G, K) \
	VPSLLD $(24-8*K), G, Z6 \
	VPSRAD $24, Z6, Z6 \
	VPANDD Z26, Z6, Z6

// The values of 2-bit dword I (shifted by 2J) and high-bit dword Q (OP $N
// brings the group's bit to bit 2) into W.
#define Q3UNW(I, Q, J, OP, N, W) \
	VPSRLD     $(2*J), (512+64*I)(SI), W \
	VPANDD     Z31, W, W \
	OP         $N, (64*Q)(SI), Z7 \
	VPTERNLOGD $0xF8, Z7, Z30, W

// A group's 4 dwords into Z1..Z4.
#define Q3UNPACK(I0, I1, I2, I3, Q0, Q1, Q2, Q3, J, OP, N) \
	Q3UNW(I0, Q0, J, OP, N, Z1) \
	Q3UNW(I1, Q1, J, OP, N, Z2) \
	Q3UNW(I2, Q2, J, OP, N, Z3) \
	Q3UNW(I3, Q3, J, OP, N, Z4)

// One column (values at XQ, bias at BO(SP)) of a group (x at XO): its
// exact sum in A, times the scale words Z6 added to ISUM.
#define Q3DOT(XQ, XO, BO, A, ISUM) \
	VPBROADCASTD  BO(SP), A \
	VPDPBUSD.BCST XO(XQ), Z1, A \
	VPDPBUSD.BCST XO+4(XQ), Z2, A \
	VPDPBUSD.BCST XO+8(XQ), Z3, A \
	VPDPBUSD.BCST XO+12(XQ), Z4, A \
	VPDPWSSD      Z6, A, ISUM

// A column's float steps: its dx at (XD), Z8 the rows' d.
#define Q3END(XD, ISUM, ACC) \
	VMULPS.BCST (XD), Z8, Z7 \
	VCVTDQ2PS   ISUM, ISUM \
	VMULPS      Z7, ISUM, ISUM \
	VADDPS      ISUM, ACC, ACC


TEXT ·q3KP1VNNI(SB), NOSPLIT, $64-48
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	Q3CONSTS
	VPXORD Z0, Z0, Z0
	TESTQ  CX, CX
	JZ     q3kp1_done

q3kp1_loop:
	Q3BIAS(DI, 0)
	Q3SCALES
	VPXORD Z9, Z9, Z9
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 0, VPSLLD, 2)
	Q3SCW(Z16, 0)
	Q3DOT(DI, 0, 0, Z5, Z9)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 0, VPSLLD, 2)
	Q3SCW(Z16, 1)
	Q3DOT(DI, 16, 16, Z5, Z9)
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 1, VPSLLD, 1)
	Q3SCW(Z16, 2)
	Q3DOT(DI, 32, 32, Z5, Z9)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 1, VPSLLD, 1)
	Q3SCW(Z16, 3)
	Q3DOT(DI, 48, 48, Z5, Z9)
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 2, VPSRLD, 0)
	Q3SCW(Z17, 0)
	Q3DOT(DI, 64, 4, Z5, Z9)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 2, VPSRLD, 0)
	Q3SCW(Z17, 1)
	Q3DOT(DI, 80, 20, Z5, Z9)
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 3, VPSRLD, 1)
	Q3SCW(Z17, 2)
	Q3DOT(DI, 96, 36, Z5, Z9)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 3, VPSRLD, 1)
	Q3SCW(Z17, 3)
	Q3DOT(DI, 112, 52, Z5, Z9)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 0, VPSRLD, 2)
	Q3SCW(Z18, 0)
	Q3DOT(DI, 128, 8, Z5, Z9)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 0, VPSRLD, 2)
	Q3SCW(Z18, 1)
	Q3DOT(DI, 144, 24, Z5, Z9)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 1, VPSRLD, 3)
	Q3SCW(Z18, 2)
	Q3DOT(DI, 160, 40, Z5, Z9)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 1, VPSRLD, 3)
	Q3SCW(Z18, 3)
	Q3DOT(DI, 176, 56, Z5, Z9)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 2, VPSRLD, 4)
	Q3SCW(Z19, 0)
	Q3DOT(DI, 192, 12, Z5, Z9)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 2, VPSRLD, 4)
	Q3SCW(Z19, 1)
	Q3DOT(DI, 208, 28, Z5, Z9)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 3, VPSRLD, 5)
	Q3SCW(Z19, 2)
	Q3DOT(DI, 224, 44, Z5, Z9)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 3, VPSRLD, 5)
	Q3SCW(Z19, 3)
	Q3DOT(DI, 240, 60, Z5, Z9)
	VCVTPH2PS 1728(SI), Z8
	Q3END(DX, Z9, Z0)
	ADDQ      $1760, SI
	ADDQ      $256, DI
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q3kp1_loop

q3kp1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

// 4 columns: values at DI, R13, R14, R15, scales at DX + c*R12; Z9..Z12
// their isum, Z5, Z13..Z15 their group sums, Z0, Z21..Z23 their acc;
// biases at 64c(SP).
TEXT ·q3KP4VNNI(SB), NOSPLIT, $256-64
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xqs+40(FP), R10
	LEAQ   (DI)(R10*1), R13
	LEAQ   (R13)(R10*1), R14
	LEAQ   (R14)(R10*1), R15
	MOVQ   CX, R12
	SHLQ   $2, R12
	Q3CONSTS
	VPXORD Z0, Z0, Z0
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	TESTQ  CX, CX
	JZ     q3kp4_done

q3kp4_loop:
	Q3BIAS(DI, 0)
	Q3BIAS(R13, 64)
	Q3BIAS(R14, 128)
	Q3BIAS(R15, 192)
	Q3SCALES
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 0, VPSLLD, 2)
	Q3SCW(Z16, 0)
	Q3DOT(DI, 0, 0, Z5, Z9)
	Q3DOT(R13, 0, 64, Z13, Z10)
	Q3DOT(R14, 0, 128, Z14, Z11)
	Q3DOT(R15, 0, 192, Z15, Z12)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 0, VPSLLD, 2)
	Q3SCW(Z16, 1)
	Q3DOT(DI, 16, 16, Z5, Z9)
	Q3DOT(R13, 16, 80, Z13, Z10)
	Q3DOT(R14, 16, 144, Z14, Z11)
	Q3DOT(R15, 16, 208, Z15, Z12)
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 1, VPSLLD, 1)
	Q3SCW(Z16, 2)
	Q3DOT(DI, 32, 32, Z5, Z9)
	Q3DOT(R13, 32, 96, Z13, Z10)
	Q3DOT(R14, 32, 160, Z14, Z11)
	Q3DOT(R15, 32, 224, Z15, Z12)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 1, VPSLLD, 1)
	Q3SCW(Z16, 3)
	Q3DOT(DI, 48, 48, Z5, Z9)
	Q3DOT(R13, 48, 112, Z13, Z10)
	Q3DOT(R14, 48, 176, Z14, Z11)
	Q3DOT(R15, 48, 240, Z15, Z12)
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 2, VPSRLD, 0)
	Q3SCW(Z17, 0)
	Q3DOT(DI, 64, 4, Z5, Z9)
	Q3DOT(R13, 64, 68, Z13, Z10)
	Q3DOT(R14, 64, 132, Z14, Z11)
	Q3DOT(R15, 64, 196, Z15, Z12)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 2, VPSRLD, 0)
	Q3SCW(Z17, 1)
	Q3DOT(DI, 80, 20, Z5, Z9)
	Q3DOT(R13, 80, 84, Z13, Z10)
	Q3DOT(R14, 80, 148, Z14, Z11)
	Q3DOT(R15, 80, 212, Z15, Z12)
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 3, VPSRLD, 1)
	Q3SCW(Z17, 2)
	Q3DOT(DI, 96, 36, Z5, Z9)
	Q3DOT(R13, 96, 100, Z13, Z10)
	Q3DOT(R14, 96, 164, Z14, Z11)
	Q3DOT(R15, 96, 228, Z15, Z12)
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 3, VPSRLD, 1)
	Q3SCW(Z17, 3)
	Q3DOT(DI, 112, 52, Z5, Z9)
	Q3DOT(R13, 112, 116, Z13, Z10)
	Q3DOT(R14, 112, 180, Z14, Z11)
	Q3DOT(R15, 112, 244, Z15, Z12)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 0, VPSRLD, 2)
	Q3SCW(Z18, 0)
	Q3DOT(DI, 128, 8, Z5, Z9)
	Q3DOT(R13, 128, 72, Z13, Z10)
	Q3DOT(R14, 128, 136, Z14, Z11)
	Q3DOT(R15, 128, 200, Z15, Z12)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 0, VPSRLD, 2)
	Q3SCW(Z18, 1)
	Q3DOT(DI, 144, 24, Z5, Z9)
	Q3DOT(R13, 144, 88, Z13, Z10)
	Q3DOT(R14, 144, 152, Z14, Z11)
	Q3DOT(R15, 144, 216, Z15, Z12)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 1, VPSRLD, 3)
	Q3SCW(Z18, 2)
	Q3DOT(DI, 160, 40, Z5, Z9)
	Q3DOT(R13, 160, 104, Z13, Z10)
	Q3DOT(R14, 160, 168, Z14, Z11)
	Q3DOT(R15, 160, 232, Z15, Z12)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 1, VPSRLD, 3)
	Q3SCW(Z18, 3)
	Q3DOT(DI, 176, 56, Z5, Z9)
	Q3DOT(R13, 176, 120, Z13, Z10)
	Q3DOT(R14, 176, 184, Z14, Z11)
	Q3DOT(R15, 176, 248, Z15, Z12)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 2, VPSRLD, 4)
	Q3SCW(Z19, 0)
	Q3DOT(DI, 192, 12, Z5, Z9)
	Q3DOT(R13, 192, 76, Z13, Z10)
	Q3DOT(R14, 192, 140, Z14, Z11)
	Q3DOT(R15, 192, 204, Z15, Z12)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 2, VPSRLD, 4)
	Q3SCW(Z19, 1)
	Q3DOT(DI, 208, 28, Z5, Z9)
	Q3DOT(R13, 208, 92, Z13, Z10)
	Q3DOT(R14, 208, 156, Z14, Z11)
	Q3DOT(R15, 208, 220, Z15, Z12)
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 3, VPSRLD, 5)
	Q3SCW(Z19, 2)
	Q3DOT(DI, 224, 44, Z5, Z9)
	Q3DOT(R13, 224, 108, Z13, Z10)
	Q3DOT(R14, 224, 172, Z14, Z11)
	Q3DOT(R15, 224, 236, Z15, Z12)
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 3, VPSRLD, 5)
	Q3SCW(Z19, 3)
	Q3DOT(DI, 240, 60, Z5, Z9)
	Q3DOT(R13, 240, 124, Z13, Z10)
	Q3DOT(R14, 240, 188, Z14, Z11)
	Q3DOT(R15, 240, 252, Z15, Z12)
	VCVTPH2PS 1728(SI), Z8
	Q3END(DX, Z9, Z0)
	LEAQ      (DX)(R12*1), BX
	Q3END(BX, Z10, Z21)
	ADDQ      R12, BX
	Q3END(BX, Z11, Z22)
	ADDQ      R12, BX
	Q3END(BX, Z12, Z23)
	ADDQ      $1760, SI
	ADDQ      $256, DI
	ADDQ      $256, R13
	ADDQ      $256, R14
	ADDQ      $256, R15
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q3kp4_loop

q3kp4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z21, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z22, (AX)
	VMOVUPS Z23, (AX)(BX*1)
	VZEROUPPER
	RET

// ---- q5_k, 2 and 3 columns ----
//
//	func q5KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q5KP3VNNI(...): the same for 3 columns
//
// q5KP4VNNI for 2 and 3 columns (its registers, the columns past the
// last unused): each sub-block's values are unpacked once for the
// columns, so that a server's 2 or 3 batched sessions do not pay the
// unpacking per session.

#define K5PAIR2(P, OPL, NL, OPH, NH) \
	K5UNPACKLO(P, OPL, NL) \
	K5HALF(DI, 64*P, Z25, Z9) \
	K5HALF(R13, 64*P, Z25, Z10) \
	K5UNPACKHI(P, OPH, NH) \
	K5HALF(DI, 64*P+32, Z26, Z9) \
	K5HALF(R13, 64*P+32, Z26, Z10)

#define K5PAIR3(P, OPL, NL, OPH, NH) \
	K5UNPACKLO(P, OPL, NL) \
	K5HALF(DI, 64*P, Z25, Z9) \
	K5HALF(R13, 64*P, Z25, Z10) \
	K5HALF(R14, 64*P, Z25, Z11) \
	K5UNPACKHI(P, OPH, NH) \
	K5HALF(DI, 64*P+32, Z26, Z9) \
	K5HALF(R13, 64*P+32, Z26, Z10) \
	K5HALF(R14, 64*P+32, Z26, Z11)

// The super-block's 4 sub-block pairs for the columns of PAIR.
#define K5PAIRS(PAIR) \
	K5SC01(Z16) \
	PAIR(0, VPSLLD, 4, VPSLLD, 3) \
	K5SC23(Z16) \
	PAIR(1, VPSLLD, 2, VPSLLD, 1) \
	K5SC01(Z18) \
	PAIR(2, VPSRLD, 0, VPSRLD, 1) \
	K5SC23(Z18) \
	PAIR(3, VPSRLD, 2, VPSRLD, 3)

// Pointers and constants for P2/P3 (P4's registers).
#define K5P_PROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   nsb+8(FP), CX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   xs+32(FP), R8 \
	MOVQ   xqs+40(FP), R10 \
	LEAQ   (DI)(R10*1), R13 \
	LEAQ   (R13)(R10*1), R14 \
	MOVQ   R10, R11 \
	SHRQ   $3, R11 \
	MOVQ   CX, R12 \
	SHLQ   $2, R12 \
	K5CONSTS \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z14, Z14, Z14

TEXT ·q5KP2VNNI(SB), NOSPLIT, $0-64
	K5P_PROLOGUE
	TESTQ CX, CX
	JZ    q5kp2_done

q5kp2_loop:
	K5DECODE
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	K5PAIRS(K5PAIR2)
	K5DV
	K5END(R8, DX, Z9, Z0)
	MOVQ   R8, R9
	MOVQ   DX, R10
	ADDQ   R11, R9
	ADDQ   R12, R10
	K5END(R9, R10, Z10, Z13)
	ADDQ   $2816, SI
	ADDQ   $256, DI
	ADDQ   $256, R13
	ADDQ   $32, R8
	ADDQ   $4, DX
	DECQ   CX
	JNZ    q5kp2_loop

q5kp2_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z13, (AX)(BX*1)
	VZEROUPPER
	RET

TEXT ·q5KP3VNNI(SB), NOSPLIT, $0-64
	K5P_PROLOGUE
	TESTQ CX, CX
	JZ    q5kp3_done

q5kp3_loop:
	K5DECODE
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	K5PAIRS(K5PAIR3)
	K5DV
	K5END(R8, DX, Z9, Z0)
	MOVQ   R8, R9
	MOVQ   DX, R10
	ADDQ   R11, R9
	ADDQ   R12, R10
	K5END(R9, R10, Z10, Z13)
	ADDQ   R11, R9
	ADDQ   R12, R10
	K5END(R9, R10, Z11, Z14)
	ADDQ   $2816, SI
	ADDQ   $256, DI
	ADDQ   $256, R13
	ADDQ   $256, R14
	ADDQ   $32, R8
	ADDQ   $4, DX
	DECQ   CX
	JNZ    q5kp3_loop

q5kp3_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z13, (AX)(BX*1)
	VMOVUPS Z14, (AX)(BX*2)
	VZEROUPPER
	RET

// ---- q3_k, 2 and 3 columns ----
//
//	func q3KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q3KP3VNNI(...): the same for 3 columns
//
// q3KP4VNNI for 2 and 3 columns (its registers and stack layout, the
// columns past the last unused): each group's values are formed once for
// the columns.

#define Q3DOTS2(XO, BO) \
	Q3DOT(DI, XO, BO, Z5, Z9) \
	Q3DOT(R13, XO, BO+64, Z13, Z10)

#define Q3DOTS3(XO, BO) \
	Q3DOTS2(XO, BO) \
	Q3DOT(R14, XO, BO+128, Z14, Z11)

// The 16 groups of the super-block for the columns of DOTS.
#define Q3GROUPS(DOTS) \
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 0, VPSLLD, 2) \
	Q3SCW(Z16, 0) \
	DOTS(0, 0) \
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 0, VPSLLD, 2) \
	Q3SCW(Z16, 1) \
	DOTS(16, 16) \
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 1, VPSLLD, 1) \
	Q3SCW(Z16, 2) \
	DOTS(32, 32) \
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 1, VPSLLD, 1) \
	Q3SCW(Z16, 3) \
	DOTS(48, 48) \
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 2, VPSRLD, 0) \
	Q3SCW(Z17, 0) \
	DOTS(64, 4) \
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 2, VPSRLD, 0) \
	Q3SCW(Z17, 1) \
	DOTS(80, 20) \
	Q3UNPACK(0, 1, 2, 3, 0, 1, 2, 3, 3, VPSRLD, 1) \
	Q3SCW(Z17, 2) \
	DOTS(96, 36) \
	Q3UNPACK(4, 5, 6, 7, 4, 5, 6, 7, 3, VPSRLD, 1) \
	Q3SCW(Z17, 3) \
	DOTS(112, 52) \
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 0, VPSRLD, 2) \
	Q3SCW(Z18, 0) \
	DOTS(128, 8) \
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 0, VPSRLD, 2) \
	Q3SCW(Z18, 1) \
	DOTS(144, 24) \
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 1, VPSRLD, 3) \
	Q3SCW(Z18, 2) \
	DOTS(160, 40) \
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 1, VPSRLD, 3) \
	Q3SCW(Z18, 3) \
	DOTS(176, 56) \
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 2, VPSRLD, 4) \
	Q3SCW(Z19, 0) \
	DOTS(192, 12) \
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 2, VPSRLD, 4) \
	Q3SCW(Z19, 1) \
	DOTS(208, 28) \
	Q3UNPACK(8, 9, 10, 11, 0, 1, 2, 3, 3, VPSRLD, 5) \
	Q3SCW(Z19, 2) \
	DOTS(224, 44) \
	Q3UNPACK(12, 13, 14, 15, 4, 5, 6, 7, 3, VPSRLD, 5) \
	Q3SCW(Z19, 3) \
	DOTS(240, 60)

// Arguments, column pointers, constants (as q3KP4VNNI).
#define Q3P_PROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   nsb+8(FP), CX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   xqs+40(FP), R10 \
	LEAQ   (DI)(R10*1), R13 \
	LEAQ   (R13)(R10*1), R14 \
	MOVQ   CX, R12 \
	SHLQ   $2, R12 \
	Q3CONSTS \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z21, Z21, Z21 \
	VPXORD Z22, Z22, Z22

TEXT ·q3KP2VNNI(SB), NOSPLIT, $128-64
	Q3P_PROLOGUE
	TESTQ CX, CX
	JZ    q3kp2_done

q3kp2_loop:
	Q3BIAS(DI, 0)
	Q3BIAS(R13, 64)
	Q3SCALES
	VPXORD    Z9, Z9, Z9
	VPXORD    Z10, Z10, Z10
	Q3GROUPS(Q3DOTS2)
	VCVTPH2PS 1728(SI), Z8
	Q3END(DX, Z9, Z0)
	LEAQ      (DX)(R12*1), BX
	Q3END(BX, Z10, Z21)
	ADDQ      $1760, SI
	ADDQ      $256, DI
	ADDQ      $256, R13
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q3kp2_loop

q3kp2_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z21, (AX)(BX*1)
	VZEROUPPER
	RET

TEXT ·q3KP3VNNI(SB), NOSPLIT, $192-64
	Q3P_PROLOGUE
	TESTQ CX, CX
	JZ    q3kp3_done

q3kp3_loop:
	Q3BIAS(DI, 0)
	Q3BIAS(R13, 64)
	Q3BIAS(R14, 128)
	Q3SCALES
	VPXORD    Z9, Z9, Z9
	VPXORD    Z10, Z10, Z10
	VPXORD    Z11, Z11, Z11
	Q3GROUPS(Q3DOTS3)
	VCVTPH2PS 1728(SI), Z8
	Q3END(DX, Z9, Z0)
	LEAQ      (DX)(R12*1), BX
	Q3END(BX, Z10, Z21)
	ADDQ      R12, BX
	Q3END(BX, Z11, Z22)
	ADDQ      $1760, SI
	ADDQ      $256, DI
	ADDQ      $256, R13
	ADDQ      $256, R14
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q3kp3_loop

q3kp3_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z21, (AX)(BX*1)
	VMOVUPS Z22, (AX)(BX*2)
	VZEROUPPER
	RET
