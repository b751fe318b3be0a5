//go:build amd64

#include "textflag.h"

// Kernels for repacked matrices (repack.go), AVX-512 (F, BW, VNNI): the 16
// rows of an interleaved group against 1 or 4 activation columns, row r in
// lane r of a zmm. Per block and row the exact int32 dot product is formed
// with VPDPBUSD (the group's nibbles as the unsigned operand, 4 activation
// bytes broadcast as the signed one), then acc += float(isum)*(dw*dx) with
// each product rounded (no FMA): per row, exactly the operations of the
// generic kernels, blocks in order.

// ---- q4_0 ----
//
//	func q4_0P1VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func q4_0P4VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// xq, xd and xs are column 0's values, block scales and block sums; in
// P4 column c's are xqs*c bytes further for xq and 4*nb*c for xd and xs.
// Column c's 16 results go to out + c*ostride (bytes). Blocks come in runs
// of 8 (repack.go), each unrolled with constant offsets so that every load
// instruction steps 2304 bytes, then the last nb%8 one by one.

// Unpack block J of a run of 8 at SI: Z1..Z4 = low nibbles of pieces
// 0..3 (values 4k..4k+3), Z5..Z8 = high nibbles (values 16+4k..), Z9 = dw.
#define Q4R_UNPACK(J) \
	VPANDD    256+256*J(SI), Z31, Z1 \
	VPSRLW    $4, 256+256*J(SI), Z5 \
	VPANDD    Z31, Z5, Z5 \
	VPANDD    320+256*J(SI), Z31, Z2 \
	VPSRLW    $4, 320+256*J(SI), Z6 \
	VPANDD    Z31, Z6, Z6 \
	VPANDD    384+256*J(SI), Z31, Z3 \
	VPSRLW    $4, 384+256*J(SI), Z7 \
	VPANDD    Z31, Z7, Z7 \
	VPANDD    448+256*J(SI), Z31, Z4 \
	VPSRLW    $4, 448+256*J(SI), Z8 \
	VPANDD    Z31, Z8, Z8 \
	VCVTPH2PS 32*J(SI), Z9

// The same for a lone block (288 bytes) at SI.
#define Q4P_UNPACK \
	VPANDD    32(SI), Z31, Z1 \
	VPSRLW    $4, 32(SI), Z5 \
	VPANDD    Z31, Z5, Z5 \
	VPANDD    96(SI), Z31, Z2 \
	VPSRLW    $4, 96(SI), Z6 \
	VPANDD    Z31, Z6, Z6 \
	VPANDD    160(SI), Z31, Z3 \
	VPSRLW    $4, 160(SI), Z7 \
	VPANDD    Z31, Z7, Z7 \
	VPANDD    224(SI), Z31, Z4 \
	VPSRLW    $4, 224(SI), Z8 \
	VPANDD    Z31, Z8, Z8 \
	VCVTPH2PS (SI), Z9

// One column: XQ its values base (block b+J at 32*J(XQ)(R9*8)), XD its
// scales base (block b+J at 4*J(XD)(R9*1)), XS likewise for the sums;
// ACC += the block's contribution. R9 = 4*b.
#define Q4P_COLJ(J, XQ, XD, XS, ACC) \
	VPXORD        Z10, Z10, Z10 \
	VPXORD        Z11, Z11, Z11 \
	VPDPBUSD.BCST 32*J+0(XQ)(R9*8), Z1, Z10 \
	VPDPBUSD.BCST 32*J+16(XQ)(R9*8), Z5, Z11 \
	VPDPBUSD.BCST 32*J+4(XQ)(R9*8), Z2, Z10 \
	VPDPBUSD.BCST 32*J+20(XQ)(R9*8), Z6, Z11 \
	VPDPBUSD.BCST 32*J+8(XQ)(R9*8), Z3, Z10 \
	VPDPBUSD.BCST 32*J+24(XQ)(R9*8), Z7, Z11 \
	VPDPBUSD.BCST 32*J+12(XQ)(R9*8), Z4, Z10 \
	VPDPBUSD.BCST 32*J+28(XQ)(R9*8), Z8, Z11 \
	VPSLLD.BCST   $3, 4*J(XS)(R9*1), Z12 \
	VPADDD        Z11, Z10, Z10 \
	VPSUBD        Z12, Z10, Z10 \
	VCVTDQ2PS     Z10, Z10 \
	VMULPS.BCST   4*J(XD)(R9*1), Z9, Z13 \
	VMULPS        Z13, Z10, Z10 \
	VADDPS        Z10, ACC, ACC

#define Q4P_COL(XQ, XD, XS, ACC) Q4P_COLJ(0, XQ, XD, XS, ACC)

#define Q4R1(J) \
	Q4R_UNPACK(J) \
	Q4P_COLJ(J, DI, DX, R8, Z0)

TEXT ·q4_0P1VNNI(SB), NOSPLIT, $0-48
	MOVQ         w+0(FP), SI
	MOVQ         nb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	VPXORD       Z0, Z0, Z0
	XORQ         R9, R9
	SHLQ         $2, CX
	MOVQ         CX, BX
	ANDQ         $-32, BX
	JZ           q4p1_tail

q4p1_run:
	Q4R1(0)
	Q4R1(1)
	Q4R1(2)
	Q4R1(3)
	Q4R1(4)
	Q4R1(5)
	Q4R1(6)
	Q4R1(7)
	ADDQ $2304, SI
	ADDQ $32, R9
	CMPQ R9, BX
	JLT  q4p1_run

q4p1_tail:
	CMPQ R9, CX
	JGE  q4p1_done

q4p1_loop:
	Q4P_UNPACK
	Q4P_COL(DI, DX, R8, Z0)
	ADDQ $288, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q4p1_loop

q4p1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

// The 4 columns' steps for block J (the sums' base of column c in BX
// after LEAs from R8 by CX = 4*nb).
#define Q4P_COLS4(J) \
	Q4P_COLJ(J, DI, DX, R8, Z0) \
	LEAQ (R8)(CX*1), BX \
	Q4P_COLJ(J, R10, R13, BX, Z20) \
	LEAQ (BX)(CX*1), BX \
	Q4P_COLJ(J, R11, R14, BX, Z21) \
	LEAQ (BX)(CX*1), BX \
	Q4P_COLJ(J, R12, R15, BX, Z22)

#define Q4R4(J) \
	Q4R_UNPACK(J) \
	Q4P_COLS4(J)

TEXT ·q4_0P4VNNI(SB), NOSPLIT, $0-64
	MOVQ         w+0(FP), SI
	MOVQ         nb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	MOVQ         xqs+40(FP), AX
	LEAQ         (DI)(AX*1), R10
	LEAQ         (R10)(AX*1), R11
	LEAQ         (R11)(AX*1), R12
	MOVQ         CX, AX
	SHLQ         $2, AX
	LEAQ         (DX)(AX*1), R13
	LEAQ         (R13)(AX*1), R14
	LEAQ         (R14)(AX*1), R15
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z31
	VPXORD       Z0, Z0, Z0
	VPXORD       Z20, Z20, Z20
	VPXORD       Z21, Z21, Z21
	VPXORD       Z22, Z22, Z22
	XORQ         R9, R9
	SHLQ         $2, CX
	MOVQ         CX, AX
	ANDQ         $-32, AX
	JZ           q4p4_tail

q4p4_run:
	Q4R4(0)
	Q4R4(1)
	Q4R4(2)
	Q4R4(3)
	Q4R4(4)
	Q4R4(5)
	Q4R4(6)
	Q4R4(7)
	ADDQ $2304, SI
	ADDQ $32, R9
	CMPQ R9, AX
	JLT  q4p4_run

q4p4_tail:
	CMPQ R9, CX
	JGE  q4p4_done

q4p4_loop:
	Q4P_UNPACK
	Q4P_COLS4(0)
	ADDQ $288, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q4p4_loop

q4p4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z21, (AX)
	VMOVUPS Z22, (AX)(BX*1)
	VZEROUPPER
	RET

// P2 and P3: the same for 2 and 3 columns (the layout of P4).
//
//	func q4_0P2VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q4_0P3VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

#define Q4P_COLS2(J) \
	Q4P_COLJ(J, DI, DX, R8, Z0) \
	LEAQ (R8)(CX*1), BX \
	Q4P_COLJ(J, R10, R13, BX, Z20)

#define Q4P_COLS3(J) \
	Q4P_COLS2(J) \
	LEAQ (BX)(CX*1), BX \
	Q4P_COLJ(J, R11, R14, BX, Z21)

#define Q4R2(J) \
	Q4R_UNPACK(J) \
	Q4P_COLS2(J)

#define Q4R3(J) \
	Q4R_UNPACK(J) \
	Q4P_COLS3(J)

// Column pointers for P2/P3 (as P4's), accumulators zeroed, CX = 4*nb,
// AX = 4*(nb&^7), R9 = 0.
#define Q4P_PROLOGUE \
	MOVQ         w+0(FP), SI \
	MOVQ         nb+8(FP), CX \
	MOVQ         xq+16(FP), DI \
	MOVQ         xd+24(FP), DX \
	MOVQ         xs+32(FP), R8 \
	MOVQ         xqs+40(FP), AX \
	LEAQ         (DI)(AX*1), R10 \
	LEAQ         (R10)(AX*1), R11 \
	MOVQ         CX, AX \
	SHLQ         $2, AX \
	LEAQ         (DX)(AX*1), R13 \
	LEAQ         (R13)(AX*1), R14 \
	MOVL         $0x0f0f0f0f, AX \
	VPBROADCASTD AX, Z31 \
	VPXORD       Z0, Z0, Z0 \
	VPXORD       Z20, Z20, Z20 \
	VPXORD       Z21, Z21, Z21 \
	XORQ         R9, R9 \
	SHLQ         $2, CX \
	MOVQ         CX, AX \
	ANDQ         $-32, AX

TEXT ·q4_0P2VNNI(SB), NOSPLIT, $0-64
	Q4P_PROLOGUE
	JZ q4p2_tail

q4p2_run:
	Q4R2(0)
	Q4R2(1)
	Q4R2(2)
	Q4R2(3)
	Q4R2(4)
	Q4R2(5)
	Q4R2(6)
	Q4R2(7)
	ADDQ $2304, SI
	ADDQ $32, R9
	CMPQ R9, AX
	JLT  q4p2_run

q4p2_tail:
	CMPQ R9, CX
	JGE  q4p2_done

q4p2_loop:
	Q4P_UNPACK
	Q4P_COLS2(0)
	ADDQ $288, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q4p2_loop

q4p2_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	VZEROUPPER
	RET

TEXT ·q4_0P3VNNI(SB), NOSPLIT, $0-64
	Q4P_PROLOGUE
	JZ q4p3_tail

q4p3_run:
	Q4R3(0)
	Q4R3(1)
	Q4R3(2)
	Q4R3(3)
	Q4R3(4)
	Q4R3(5)
	Q4R3(6)
	Q4R3(7)
	ADDQ $2304, SI
	ADDQ $32, R9
	CMPQ R9, AX
	JLT  q4p3_run

q4p3_tail:
	CMPQ R9, CX
	JGE  q4p3_done

q4p3_loop:
	Q4P_UNPACK
	Q4P_COLS3(0)
	ADDQ $288, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q4p3_loop

q4p3_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	VMOVUPS Z21, (AX)(BX*2)
	VZEROUPPER
	RET

// ---- q4_k ----
//
//	func q4KP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func q4KP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// nsb super-blocks per row; xd one scale per super-block, xs the sums of
// 32 values; in P4 column c's values are xqs*c bytes after xq, its sums
// xqs/8*c bytes after xs and its scales 4*nsb*c bytes after xd.
//
// Per super-block and row, exactly in int32: isd = sum_j sc_j*isum_j
// (isum_j: VPDPBUSD of sub-block j's nibbles and values, times sc_j with
// VPMULLD) and ism = sum_j m_j*s_j (VPDPWSSD of the mins as words and the
// sums as words); then acc += float(isd)*(d*dx), acc -= float(ism)*(dmin*dx).
//
// Registers: Z31 0x0f bytes, Z30 0xff dwords, Z29 0x3f bytes, Z28 0x30
// bytes, Z27 0x00ff words; per super-block Z16 = sc0..3 and Z18 = sc4..7
// (bytes of each lane), Z21..Z24 the mins as word pairs (m0,m2), (m1,m3),
// (m4,m6), (m5,m7); Z25, Z26 the two scales of a sub-block pair; Z1..Z8
// unpacked nibbles; Z9..Z12 isd per column; Z0, Z13..Z15 acc per column.

#define KDECODE \
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
	VPANDD    Z27, Z24, Z24

// Scales of sub-blocks 4h, 4h+1 (bytes 0, 1 of SRC) or 4h+2, 4h+3 (2, 3).
#define KSC01(SRC) \
	VPANDD Z30, SRC, Z25 \
	VPSRLD $8, SRC, Z26 \
	VPANDD Z30, Z26, Z26

#define KSC23(SRC) \
	VPSRLD $16, SRC, Z25 \
	VPANDD Z30, Z25, Z25 \
	VPSRLD $24, SRC, Z26

#define KUNL(P, Q, W) \
	VPANDD 256+512*P+64*Q(SI), Z31, W

#define KUNH(P, Q, W) \
	VPSRLW $4, 256+512*P+64*Q(SI), W \
	VPANDD Z31, W, W

#define KUNPACKLO(P) \
	KUNL(P, 0, Z1) \
	KUNL(P, 1, Z2) \
	KUNL(P, 2, Z5) \
	KUNL(P, 3, Z6) \
	KUNL(P, 4, Z7) \
	KUNL(P, 5, Z8) \
	KUNL(P, 6, Z3) \
	KUNL(P, 7, Z4)

#define KUNPACKHI(P) \
	KUNH(P, 0, Z1) \
	KUNH(P, 1, Z2) \
	KUNH(P, 2, Z5) \
	KUNH(P, 3, Z6) \
	KUNH(P, 4, Z7) \
	KUNH(P, 5, Z8) \
	KUNH(P, 6, Z3) \
	KUNH(P, 7, Z4)

// One sub-block of one column: ISD += SC * (nibbles . values at XOFF(XQ)).
#define KHALF(XQ, XOFF, SC, ISD) \
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

// Z20 += min word pair (M) times the sums at A and B of XS, as words.
#define KPAIR(XS, A, B, M) \
	MOVL         A(XS), AX \
	MOVL         B(XS), BX \
	SHLL         $16, BX \
	MOVWLZX      AX, AX \
	ORL          BX, AX \
	VPBROADCASTD AX, Z17 \
	VPDPWSSD     Z17, M, Z20

// A column's min sum and float steps (KDV first): its scale at (XD), its
// sums at XS.
#define KEND(XS, XD, ISD, ACC) \
	VPXORD      Z20, Z20, Z20 \
	KPAIR(XS, 0, 8, Z21) \
	KPAIR(XS, 4, 12, Z22) \
	KPAIR(XS, 16, 24, Z23) \
	KPAIR(XS, 20, 28, Z24) \
	VMULPS.BCST (XD), Z1, Z5 \
	VCVTDQ2PS   ISD, Z6 \
	VMULPS      Z5, Z6, Z6 \
	VADDPS      Z6, ACC, ACC \
	VMULPS.BCST (XD), Z2, Z5 \
	VCVTDQ2PS   Z20, Z7 \
	VMULPS      Z5, Z7, Z7 \
	VSUBPS      Z7, ACC, ACC

#define KCONSTS \
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

// The 16 rows' d and dmin into Z1, Z2.
#define KDV \
	VCVTPH2PS (SI), Z1 \
	VCVTPH2PS 32(SI), Z2

TEXT ·q4KP1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	KCONSTS
	VPXORD Z0, Z0, Z0
	TESTQ  CX, CX
	JZ     q4kp1_done

q4kp1_loop:
	KDECODE
	VPXORD    Z9, Z9, Z9
	KSC01(Z16)
	KUNPACKLO(0)
	KHALF(DI, 0, Z25, Z9)
	KUNPACKHI(0)
	KHALF(DI, 32, Z26, Z9)
	KSC23(Z16)
	KUNPACKLO(1)
	KHALF(DI, 64, Z25, Z9)
	KUNPACKHI(1)
	KHALF(DI, 96, Z26, Z9)
	KSC01(Z18)
	KUNPACKLO(2)
	KHALF(DI, 128, Z25, Z9)
	KUNPACKHI(2)
	KHALF(DI, 160, Z26, Z9)
	KSC23(Z18)
	KUNPACKLO(3)
	KHALF(DI, 192, Z25, Z9)
	KUNPACKHI(3)
	KHALF(DI, 224, Z26, Z9)
	KDV
	KEND(R8, DX, Z9, Z0)
	ADDQ      $2304, SI
	ADDQ      $256, DI
	ADDQ      $32, R8
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q4kp1_loop

q4kp1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

// Both sub-blocks of pair P for the 4 columns.
#define KPAIR4(P, SC) \
	KUNPACKLO(P) \
	KHALF(DI, 64*P, Z25, Z9) \
	KHALF(R13, 64*P, Z25, Z10) \
	KHALF(R14, 64*P, Z25, Z11) \
	KHALF(R15, 64*P, Z25, Z12) \
	KUNPACKHI(P) \
	KHALF(DI, 64*P+32, Z26, Z9) \
	KHALF(R13, 64*P+32, Z26, Z10) \
	KHALF(R14, 64*P+32, Z26, Z11) \
	KHALF(R15, 64*P+32, Z26, Z12)

TEXT ·q4KP4VNNI(SB), NOSPLIT, $0-64
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
	KCONSTS
	VPXORD Z0, Z0, Z0
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ  CX, CX
	JZ     q4kp4_done

q4kp4_loop:
	KDECODE
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	KSC01(Z16)
	KPAIR4(0, Z16)
	KSC23(Z16)
	KPAIR4(1, Z16)
	KSC01(Z18)
	KPAIR4(2, Z18)
	KSC23(Z18)
	KPAIR4(3, Z18)
	KDV
	KEND(R8, DX, Z9, Z0)
	MOVQ   R8, R9
	MOVQ   DX, R10
	ADDQ   R11, R9
	ADDQ   R12, R10
	KEND(R9, R10, Z10, Z13)
	ADDQ   R11, R9
	ADDQ   R12, R10
	KEND(R9, R10, Z11, Z14)
	ADDQ   R11, R9
	ADDQ   R12, R10
	KEND(R9, R10, Z12, Z15)
	ADDQ   $2304, SI
	ADDQ   $256, DI
	ADDQ   $256, R13
	ADDQ   $256, R14
	ADDQ   $256, R15
	ADDQ   $32, R8
	ADDQ   $4, DX
	DECQ   CX
	JNZ    q4kp4_loop

q4kp4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z13, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z14, (AX)
	VMOVUPS Z15, (AX)(BX*1)
	VZEROUPPER
	RET

// P2 and P3: q4KP4VNNI for 2 and 3 columns.
//
//	func q4KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q4KP3VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)

#define KPAIR2(P) \
	KUNPACKLO(P) \
	KHALF(DI, 64*P, Z25, Z9) \
	KHALF(R13, 64*P, Z25, Z10) \
	KUNPACKHI(P) \
	KHALF(DI, 64*P+32, Z26, Z9) \
	KHALF(R13, 64*P+32, Z26, Z10)

#define KPAIR3(P) \
	KUNPACKLO(P) \
	KHALF(DI, 64*P, Z25, Z9) \
	KHALF(R13, 64*P, Z25, Z10) \
	KHALF(R14, 64*P, Z25, Z11) \
	KUNPACKHI(P) \
	KHALF(DI, 64*P+32, Z26, Z9) \
	KHALF(R13, 64*P+32, Z26, Z10) \
	KHALF(R14, 64*P+32, Z26, Z11)

// Pointers and constants for P2/P3 (P4's registers).
#define KP_PROLOGUE \
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
	KCONSTS \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z14, Z14, Z14

TEXT ·q4KP2VNNI(SB), NOSPLIT, $0-64
	KP_PROLOGUE
	TESTQ CX, CX
	JZ    q4kp2_done

q4kp2_loop:
	KDECODE
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	KSC01(Z16)
	KPAIR2(0)
	KSC23(Z16)
	KPAIR2(1)
	KSC01(Z18)
	KPAIR2(2)
	KSC23(Z18)
	KPAIR2(3)
	KDV
	KEND(R8, DX, Z9, Z0)
	MOVQ   R8, R9
	MOVQ   DX, R10
	ADDQ   R11, R9
	ADDQ   R12, R10
	KEND(R9, R10, Z10, Z13)
	ADDQ   $2304, SI
	ADDQ   $256, DI
	ADDQ   $256, R13
	ADDQ   $32, R8
	ADDQ   $4, DX
	DECQ   CX
	JNZ    q4kp2_loop

q4kp2_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z13, (AX)(BX*1)
	VZEROUPPER
	RET

TEXT ·q4KP3VNNI(SB), NOSPLIT, $0-64
	KP_PROLOGUE
	TESTQ CX, CX
	JZ    q4kp3_done

q4kp3_loop:
	KDECODE
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	KSC01(Z16)
	KPAIR3(0)
	KSC23(Z16)
	KPAIR3(1)
	KSC01(Z18)
	KPAIR3(2)
	KSC23(Z18)
	KPAIR3(3)
	KDV
	KEND(R8, DX, Z9, Z0)
	MOVQ   R8, R9
	MOVQ   DX, R10
	ADDQ   R11, R9
	ADDQ   R12, R10
	KEND(R9, R10, Z10, Z13)
	ADDQ   R11, R9
	ADDQ   R12, R10
	KEND(R9, R10, Z11, Z14)
	ADDQ   $2304, SI
	ADDQ   $256, DI
	ADDQ   $256, R13
	ADDQ   $256, R14
	ADDQ   $32, R8
	ADDQ   $4, DX
	DECQ   CX
	JNZ    q4kp3_loop

q4kp3_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z13, (AX)(BX*1)
	VMOVUPS Z14, (AX)(BX*2)
	VZEROUPPER
	RET

// ---- q4_0, AVX2: rows 0..7 and 8..15 of the group as two halves ----
//
//	func q4_0P1AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)
//
// Per half, VPMADDUBSW of the nibbles (unsigned) and 4 broadcast values
// (signed) gives 2-product int16 sums (|s| <= 2*15*127); 8 of them added
// as int16 stay below 2^15, and VPMADDWD with ones makes the row's exact
// int32 dot product. Then the same float steps as every other kernel.

// Half at byte H of each piece (rows H/4..H/4+7) of the block whose
// pieces are at P0, P0+PS, P0+2*PS, P0+3*PS and whose scales are at DOFF
// (bytes from SI); its values at XO(DI), its scale at XO/8(DX) and its sum
// at XO/8(R8).
#define Q4A_HALFX(P0, PS, DOFF, XO, H, ACC) \
	VPAND        P0+H(SI), Y15, Y0 \
	VPAND        P0+PS+H(SI), Y15, Y1 \
	VPAND        P0+2*PS+H(SI), Y15, Y2 \
	VPAND        P0+3*PS+H(SI), Y15, Y3 \
	VMOVDQU      P0+H(SI), Y4 \
	VPSRLW       $4, Y4, Y4 \
	VPAND        Y15, Y4, Y4 \
	VMOVDQU      P0+PS+H(SI), Y5 \
	VPSRLW       $4, Y5, Y5 \
	VPAND        Y15, Y5, Y5 \
	VMOVDQU      P0+2*PS+H(SI), Y6 \
	VPSRLW       $4, Y6, Y6 \
	VPAND        Y15, Y6, Y6 \
	VMOVDQU      P0+3*PS+H(SI), Y7 \
	VPSRLW       $4, Y7, Y7 \
	VPAND        Y15, Y7, Y7 \
	VPBROADCASTD XO+0(DI), Y10 \
	VPMADDUBSW   Y10, Y0, Y8 \
	VPBROADCASTD XO+4(DI), Y10 \
	VPMADDUBSW   Y10, Y1, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+8(DI), Y10 \
	VPMADDUBSW   Y10, Y2, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+12(DI), Y10 \
	VPMADDUBSW   Y10, Y3, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+16(DI), Y10 \
	VPMADDUBSW   Y10, Y4, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+20(DI), Y10 \
	VPMADDUBSW   Y10, Y5, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+24(DI), Y10 \
	VPMADDUBSW   Y10, Y6, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+28(DI), Y10 \
	VPMADDUBSW   Y10, Y7, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPMADDWD     Y11, Y8, Y8 \
	VPBROADCASTD XO/8(R8), Y9 \
	VPSLLD       $3, Y9, Y9 \
	VPSUBD       Y9, Y8, Y8 \
	VCVTDQ2PS    Y8, Y8 \
	VCVTPH2PS    DOFF(SI), Y12 \
	VBROADCASTSS XO/8(DX), Y9 \
	VMULPS       Y9, Y12, Y12 \
	VMULPS       Y12, Y8, Y8 \
	VADDPS       Y8, ACC, ACC

// A lone block (288 bytes at SI), both halves.
#define Q4A_BLOCK \
	Q4A_HALFX(32, 64, 0, 0, 0, Y14) \
	Q4A_HALFX(32, 64, 16, 0, 32, Y13)

// Block J of a run of 8 at SI, both halves.
#define Q4A_RUN(J) \
	Q4A_HALFX(256+256*J, 64, 32*J, 32*J, 0, Y14) \
	Q4A_HALFX(256+256*J, 64, 32*J+16, 32*J, 32, Y13)

TEXT ·q4_0P1AVX2(SB), NOSPLIT, $0-48
	MOVQ         w+0(FP), SI
	MOVQ         nb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x00010001, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	VXORPS       Y14, Y14, Y14
	VXORPS       Y13, Y13, Y13
	MOVQ         CX, BX
	SHRQ         $3, BX
	ANDQ         $7, CX
	TESTQ        BX, BX
	JZ           q4a1_tail

q4a1_run:
	Q4A_RUN(0)
	Q4A_RUN(1)
	Q4A_RUN(2)
	Q4A_RUN(3)
	Q4A_RUN(4)
	Q4A_RUN(5)
	Q4A_RUN(6)
	Q4A_RUN(7)
	ADDQ $2304, SI
	ADDQ $256, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ BX
	JNZ  q4a1_run

q4a1_tail:
	TESTQ CX, CX
	JZ    q4a1_done

q4a1_loop:
	Q4A_BLOCK
	ADDQ $288, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ  q4a1_loop

q4a1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y14, (AX)
	VMOVUPS Y13, 32(AX)
	VZEROUPPER
	RET

//	func q4_0P2AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q4_0P3AVX2(...), q4_0P4AVX2(...): the same for 3 and 4 columns
//
// The columns of q4_0P4VNNI's layout against one group: each half's
// nibbles are unpacked once (Y0..Y7) for every column, then per column
// the same operations as q4_0P1AVX2, the float accumulators being the
// outputs themselves (zeroed first, each block added in order: the same
// operations). Registers: column c's values at XQc (DI, R10, R11, R12),
// its scales and sums at (DX)/(R8) plus c*BX (BX = 4*nb; column 3's at
// R13, R14), its outputs at AX plus c*R15 (column 3's at R9).

// Unpack the half at H of the block whose pieces are at P0+k*PS (bytes
// from SI) into Y0..Y7 and its scales (at DOFF) into Y12.
#define Q4C_UNPACK(P0, PS, DOFF, H) \
	VPAND     P0+H(SI), Y15, Y0 \
	VPAND     P0+PS+H(SI), Y15, Y1 \
	VPAND     P0+2*PS+H(SI), Y15, Y2 \
	VPAND     P0+3*PS+H(SI), Y15, Y3 \
	VMOVDQU   P0+H(SI), Y4 \
	VPSRLW    $4, Y4, Y4 \
	VPAND     Y15, Y4, Y4 \
	VMOVDQU   P0+PS+H(SI), Y5 \
	VPSRLW    $4, Y5, Y5 \
	VPAND     Y15, Y5, Y5 \
	VMOVDQU   P0+2*PS+H(SI), Y6 \
	VPSRLW    $4, Y6, Y6 \
	VPAND     Y15, Y6, Y6 \
	VMOVDQU   P0+3*PS+H(SI), Y7 \
	VPSRLW    $4, Y7, Y7 \
	VPAND     Y15, Y7, Y7 \
	VCVTPH2PS DOFF(SI), Y12

// One column: values at XO(XQ), scale at XD, sum at XS (memory operands),
// outputs at OUT.
#define Q4C_COL(XQ, XO, XD, XS, OUT) \
	VPBROADCASTD XO+0(XQ), Y10 \
	VPMADDUBSW   Y10, Y0, Y8 \
	VPBROADCASTD XO+4(XQ), Y10 \
	VPMADDUBSW   Y10, Y1, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+8(XQ), Y10 \
	VPMADDUBSW   Y10, Y2, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+12(XQ), Y10 \
	VPMADDUBSW   Y10, Y3, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+16(XQ), Y10 \
	VPMADDUBSW   Y10, Y4, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+20(XQ), Y10 \
	VPMADDUBSW   Y10, Y5, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+24(XQ), Y10 \
	VPMADDUBSW   Y10, Y6, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPBROADCASTD XO+28(XQ), Y10 \
	VPMADDUBSW   Y10, Y7, Y9 \
	VPADDW       Y9, Y8, Y8 \
	VPMADDWD     Y11, Y8, Y8 \
	VPBROADCASTD XS, Y9 \
	VPSLLD       $3, Y9, Y9 \
	VPSUBD       Y9, Y8, Y8 \
	VCVTDQ2PS    Y8, Y8 \
	VBROADCASTSS XD, Y9 \
	VMULPS       Y9, Y12, Y9 \
	VMULPS       Y9, Y8, Y8 \
	VADDPS       OUT, Y8, Y8 \
	VMOVUPS      Y8, OUT

// Columns 0..3 of the half at H of a block (x offsets XO, XO/8).
#define Q4C_C0(XO, H) Q4C_COL(DI, XO, XO/8(DX), XO/8(R8), H(AX))
#define Q4C_C1(XO, H) Q4C_COL(R10, XO, XO/8(DX)(BX*1), XO/8(R8)(BX*1), H(AX)(R15*1))
#define Q4C_C2(XO, H) Q4C_COL(R11, XO, XO/8(DX)(BX*2), XO/8(R8)(BX*2), H(AX)(R15*2))
#define Q4C_C3(XO, H) Q4C_COL(R12, XO, XO/8(R13), XO/8(R14), H(R9))

#define Q4C_HALF2(P0, PS, DOFF, XO, H) \
	Q4C_UNPACK(P0, PS, DOFF, H) \
	Q4C_C0(XO, H) \
	Q4C_C1(XO, H)

#define Q4C_HALF3(P0, PS, DOFF, XO, H) \
	Q4C_HALF2(P0, PS, DOFF, XO, H) \
	Q4C_C2(XO, H)

#define Q4C_HALF4(P0, PS, DOFF, XO, H) \
	Q4C_HALF3(P0, PS, DOFF, XO, H) \
	Q4C_C3(XO, H)

// Block J of a run, and a lone block, for NC columns.
#define Q4C_RUN(HALF, J) \
	HALF(256+256*J, 64, 32*J, 32*J, 0) \
	HALF(256+256*J, 64, 32*J+16, 32*J, 32)

#define Q4C_LONE(HALF) \
	HALF(32, 64, 0, 0, 0) \
	HALF(32, 64, 16, 0, 32)

// With the arguments loaded (SI w, CX nb, DI xq, DX xd, R8 xs, AX xqs,
// R9 out, R15 ostride): the other columns' pointers, the constants, the
// columns' outputs zeroed (ZERO); BX = 4*nb.
#define Q4C_SETUP(ZERO) \
	LEAQ         (DI)(AX*1), R10 \
	LEAQ         (R10)(AX*1), R11 \
	LEAQ         (R11)(AX*1), R12 \
	LEAQ         (CX*4), BX \
	LEAQ         (BX)(BX*2), AX \
	LEAQ         (DX)(AX*1), R13 \
	LEAQ         (R8)(AX*1), R14 \
	MOVL         $0x0f0f0f0f, AX \
	VMOVD        AX, X15 \
	VPBROADCASTD X15, Y15 \
	MOVL         $0x00010001, AX \
	VMOVD        AX, X11 \
	VPBROADCASTD X11, Y11 \
	MOVQ         R9, AX \
	LEAQ         (R15)(R15*2), R9 \
	ADDQ         AX, R9 \
	VXORPS       Y0, Y0, Y0 \
	ZERO

#define Q4C_ZERO2 \
	VMOVUPS Y0, (AX) \
	VMOVUPS Y0, 32(AX) \
	VMOVUPS Y0, (AX)(R15*1) \
	VMOVUPS Y0, 32(AX)(R15*1)

#define Q4C_ZERO3 \
	Q4C_ZERO2 \
	VMOVUPS Y0, (AX)(R15*2) \
	VMOVUPS Y0, 32(AX)(R15*2)

#define Q4C_ZERO4 \
	Q4C_ZERO3 \
	VMOVUPS Y0, (R9) \
	VMOVUPS Y0, 32(R9)

// Advance the x pointers by N blocks.
#define Q4C_NEXT(N) \
	ADDQ $32*N, DI \
	ADDQ $32*N, R10 \
	ADDQ $32*N, R11 \
	ADDQ $32*N, R12 \
	ADDQ $4*N, DX \
	ADDQ $4*N, R8 \
	ADDQ $4*N, R13 \
	ADDQ $4*N, R14

// Run loop (count at 0(SP)) and lone blocks for the columns of HALF.
#define Q4C_RUNS(HALF) \
	Q4C_RUN(HALF, 0) \
	Q4C_RUN(HALF, 1) \
	Q4C_RUN(HALF, 2) \
	Q4C_RUN(HALF, 3) \
	Q4C_RUN(HALF, 4) \
	Q4C_RUN(HALF, 5) \
	Q4C_RUN(HALF, 6) \
	Q4C_RUN(HALF, 7) \
	ADDQ $2304, SI \
	Q4C_NEXT(8)

TEXT ·q4_0P2AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xs+32(FP), R8
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	Q4C_SETUP(Q4C_ZERO2)
	MOVQ CX, 0(SP)
	ANDQ $7, CX
	SHRQ $3, 0(SP)
	JZ   q4c2_tail

q4c2_run:
	Q4C_RUNS(Q4C_HALF2)
	DECQ 0(SP)
	JNZ  q4c2_run

q4c2_tail:
	TESTQ CX, CX
	JZ    q4c2_done

q4c2_loop:
	Q4C_LONE(Q4C_HALF2)
	ADDQ $288, SI
	Q4C_NEXT(1)
	DECQ CX
	JNZ  q4c2_loop

q4c2_done:
	VZEROUPPER
	RET

TEXT ·q4_0P3AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xs+32(FP), R8
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	Q4C_SETUP(Q4C_ZERO3)
	MOVQ CX, 0(SP)
	ANDQ $7, CX
	SHRQ $3, 0(SP)
	JZ   q4c3_tail

q4c3_run:
	Q4C_RUNS(Q4C_HALF3)
	DECQ 0(SP)
	JNZ  q4c3_run

q4c3_tail:
	TESTQ CX, CX
	JZ    q4c3_done

q4c3_loop:
	Q4C_LONE(Q4C_HALF3)
	ADDQ $288, SI
	Q4C_NEXT(1)
	DECQ CX
	JNZ  q4c3_loop

q4c3_done:
	VZEROUPPER
	RET

TEXT ·q4_0P4AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xs+32(FP), R8
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	Q4C_SETUP(Q4C_ZERO4)
	MOVQ CX, 0(SP)
	ANDQ $7, CX
	SHRQ $3, 0(SP)
	JZ   q4c4_tail

q4c4_run:
	Q4C_RUNS(Q4C_HALF4)
	DECQ 0(SP)
	JNZ  q4c4_run

q4c4_tail:
	TESTQ CX, CX
	JZ    q4c4_done

q4c4_loop:
	Q4C_LONE(Q4C_HALF4)
	ADDQ $288, SI
	Q4C_NEXT(1)
	DECQ CX
	JNZ  q4c4_loop

q4c4_done:
	VZEROUPPER
	RET

// ---- q4_k, AVX2: rows 0..7 and 8..15 of the group as two halves ----
//
//	func q4KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//
// Per half and sub-block pair, VPMADDUBSW of the nibbles (unsigned) and 4
// broadcast values (signed) gives 2-product int16 sums (|s| <= 2*15*127);
// the 8 of a sub-block added as int16 stay below 2^15. VPMADDWD with the
// sub-block's scale in both words of a lane makes sc_j*isum_j exactly in
// int32, summed into isd; ism = sum_j m_j*s_j by VPMADDWD of the mins as
// word pairs (m_j, m_j+1) and the sums as word pairs (s_j, s_j+1) (|s_j|
// <= 32*127). Then, per lane, acc += float(isd)*(d*dx), acc -= float(ism)*
// (dmin*dx): the generic operations.
//
// Registers: Y0, Y1 acc of the halves; Y15 0x0f bytes; Y10 sc0..3 and
// Y12 sc4..7 (bytes of each lane); Y13 ism, Y14 isd; Y2, Y3 the int16
// sums of a sub-block pair; the stack holds the sums of the column's
// super-block as word pairs: (s0,s1) at 0, (s2,s3) at 4, (s4,s5) at 16,
// (s6,s7) at 20.

// Dword Q of the pair P of the half at H: low nibbles (sub-block 2P,
// values 4Q..4Q+3) into Y2, high ones (sub-block 2P+1) into Y3.
#define K4A_Q(P, Q, H) \
	VMOVDQU      256+512*P+64*Q+H(SI), Y4 \
	VPAND        Y15, Y4, Y5 \
	VPSRLW       $4, Y4, Y4 \
	VPAND        Y15, Y4, Y4 \
	VPBROADCASTD 64*P+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y5, Y5 \
	VPADDW       Y5, Y2, Y2 \
	VPBROADCASTD 64*P+32+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y4, Y4 \
	VPADDW       Y4, Y3, Y3

// Sub-blocks 2P and 2P+1 (scales: bytes KA and KB of SC) into isd.
#define K4A_PAIR(P, H, SC, KA, KB) \
	VPXOR    Y2, Y2, Y2 \
	VPXOR    Y3, Y3, Y3 \
	K4A_Q(P, 0, H) \
	K4A_Q(P, 1, H) \
	K4A_Q(P, 2, H) \
	K4A_Q(P, 3, H) \
	K4A_Q(P, 4, H) \
	K4A_Q(P, 5, H) \
	K4A_Q(P, 6, H) \
	K4A_Q(P, 7, H) \
	VPSHUFB  k4psc<>+32*KA(SB), SC, Y4 \
	VPMADDWD Y4, Y2, Y2 \
	VPADDD   Y2, Y14, Y14 \
	VPSHUFB  k4psc<>+32*KB(SB), SC, Y4 \
	VPMADDWD Y4, Y3, Y3 \
	VPADDD   Y3, Y14, Y14

// Y13 += the mins' word pairs of M (selected by mask MO) times the sums'
// word pair at SO(SP).
#define K4A_MIN(M, MO, SO) \
	VPSHUFB      k4pm<>+MO(SB), M, Y7 \
	VPBROADCASTD SO(SP), Y8 \
	VPMADDWD     Y8, Y7, Y7 \
	VPADDD       Y7, Y13, Y13

// The half at H (bytes of the 32-byte pieces; its fp16 scales at HD).
#define K4A_HALF(H, HD, ACC) \
	VMOVDQU   64+H(SI), Y7 \
	VMOVDQU   128+H(SI), Y8 \
	VMOVDQU   192+H(SI), Y9 \
	VPAND     k4pc<>(SB), Y7, Y10 \
	VPAND     k4pc<>(SB), Y8, Y11 \
	VPSRLD    $2, Y7, Y7 \
	VPAND     k4pc<>+32(SB), Y7, Y7 \
	VPAND     Y15, Y9, Y12 \
	VPOR      Y7, Y12, Y12 \
	VPSRLD    $2, Y8, Y8 \
	VPAND     k4pc<>+32(SB), Y8, Y8 \
	VPSRLD    $4, Y9, Y9 \
	VPAND     Y15, Y9, Y9 \
	VPOR      Y8, Y9, Y9 \
	VPXOR     Y13, Y13, Y13 \
	K4A_MIN(Y11, 0, 0) \
	K4A_MIN(Y11, 32, 4) \
	K4A_MIN(Y9, 0, 16) \
	K4A_MIN(Y9, 32, 20) \
	VPXOR     Y14, Y14, Y14 \
	K4A_PAIR(0, H, Y10, 0, 1) \
	K4A_PAIR(1, H, Y10, 2, 3) \
	K4A_PAIR(2, H, Y12, 0, 1) \
	K4A_PAIR(3, H, Y12, 2, 3) \
	VBROADCASTSS (DX), Y3 \
	VCVTPH2PS HD(SI), Y2 \
	VMULPS    Y3, Y2, Y2 \
	VCVTDQ2PS Y14, Y4 \
	VMULPS    Y2, Y4, Y4 \
	VADDPS    Y4, ACC, ACC \
	VCVTPH2PS 32+HD(SI), Y2 \
	VMULPS    Y3, Y2, Y2 \
	VCVTDQ2PS Y13, Y4 \
	VMULPS    Y2, Y4, Y4 \
	VSUBPS    Y4, ACC, ACC

TEXT ·q4KP1AVX2(SB), NOSPLIT, $32-48
	MOVQ         w+0(FP), SI
	MOVQ         nsb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	TESTQ        CX, CX
	JZ           q4ka1_done

q4ka1_loop:
	VMOVDQU   (R8), Y2
	VPACKSSDW Y2, Y2, Y2
	VMOVDQU   Y2, (SP)
	K4A_HALF(0, 0, Y0)
	K4A_HALF(32, 16, Y1)
	ADDQ      $2304, SI
	ADDQ      $256, DI
	ADDQ      $32, R8
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q4ka1_loop

q4ka1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VZEROUPPER
	RET

//	func q4KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// The same per half for 4 columns (the layout of q4KP4VNNI): each dword
// of nibbles is loaded and unpacked once for the 4 columns. Y0..Y3 and
// Y8..Y11 the columns' int16 sums of the low and high sub-block of a pair;
// the columns' isd (int32) on the stack (R9 = SP) at 192+32c, the scales
// of the half at 128 (sc0..3) and 160 (sc4..7), the sums' word pairs at
// 32c, the sums' column stride at 320; the float
// accumulators are the outputs themselves (zeroed first, each super-block
// added in order: the same operations).

// Dword Q of pair P against one column (values at XQ) into AL, AH.
#define K4B_QC(XQ, P, Q, AL, AH) \
	VPBROADCASTD 64*P+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y5, Y7 \
	VPADDW       Y7, AL, AL \
	VPBROADCASTD 64*P+32+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y4, Y7 \
	VPADDW       Y7, AH, AH

#define K4B_Q(P, Q, H) \
	VMOVDQU 256+512*P+64*Q+H(SI), Y4 \
	VPAND   Y15, Y4, Y5 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y15, Y4, Y4 \
	K4B_QC(DI, P, Q, Y0, Y8) \
	K4B_QC(R10, P, Q, Y1, Y9) \
	K4B_QC(R11, P, Q, Y2, Y10) \
	K4B_QC(R12, P, Q, Y3, Y11)

// A column's sums of a pair times the scale words Y12, Y13, into its isd.
#define K4B_FOLD(C, AL, AH) \
	VPMADDWD Y12, AL, AL \
	VPMADDWD Y13, AH, AH \
	VPADDD   AH, AL, AL \
	VPADDD   192+32*C(R9), AL, AL \
	VMOVDQU  AL, 192+32*C(R9)

// Sub-blocks 2P and 2P+1 (scales: bytes KA and KB of the stack's SCO).
#define K4B_PAIR(P, H, SCO, KA, KB) \
	VPXOR   Y0, Y0, Y0 \
	VPXOR   Y1, Y1, Y1 \
	VPXOR   Y2, Y2, Y2 \
	VPXOR   Y3, Y3, Y3 \
	VPXOR   Y8, Y8, Y8 \
	VPXOR   Y9, Y9, Y9 \
	VPXOR   Y10, Y10, Y10 \
	VPXOR   Y11, Y11, Y11 \
	K4B_Q(P, 0, H) \
	K4B_Q(P, 1, H) \
	K4B_Q(P, 2, H) \
	K4B_Q(P, 3, H) \
	K4B_Q(P, 4, H) \
	K4B_Q(P, 5, H) \
	K4B_Q(P, 6, H) \
	K4B_Q(P, 7, H) \
	VMOVDQU SCO(R9), Y14 \
	VPSHUFB k4psc<>+32*KA(SB), Y14, Y12 \
	VPSHUFB k4psc<>+32*KB(SB), Y14, Y13 \
	K4B_FOLD(0, Y0, Y8) \
	K4B_FOLD(1, Y1, Y9) \
	K4B_FOLD(2, Y2, Y10) \
	K4B_FOLD(3, Y3, Y11)

// Column C's float steps for the half at H: its dx at (BX), its outputs
// at H(AX); Y8 = d, Y9 = dmin of the half's rows, Y12, Y13, Y14, Y10 the
// mins' word pairs for the sums' pairs at 0, 4, 16, 20.
#define K4B_END(C, H) \
	VPBROADCASTD 32*C(R9), Y0 \
	VPMADDWD     Y0, Y12, Y1 \
	VPBROADCASTD 32*C+4(R9), Y0 \
	VPMADDWD     Y0, Y13, Y0 \
	VPADDD       Y0, Y1, Y1 \
	VPBROADCASTD 32*C+16(R9), Y0 \
	VPMADDWD     Y0, Y14, Y0 \
	VPADDD       Y0, Y1, Y1 \
	VPBROADCASTD 32*C+20(R9), Y0 \
	VPMADDWD     Y0, Y10, Y0 \
	VPADDD       Y0, Y1, Y1 \
	VBROADCASTSS (BX), Y2 \
	VMULPS       Y2, Y8, Y3 \
	VCVTDQ2PS    192+32*C(R9), Y4 \
	VMULPS       Y3, Y4, Y4 \
	VMOVUPS      H(AX), Y5 \
	VADDPS       Y4, Y5, Y5 \
	VMULPS       Y2, Y9, Y3 \
	VCVTDQ2PS    Y1, Y4 \
	VMULPS       Y3, Y4, Y4 \
	VSUBPS       Y4, Y5, Y5 \
	VMOVUPS      Y5, H(AX)

#define K4B_HALF(H, HD) \
	VMOVDQU   64+H(SI), Y7 \
	VPAND     k4pc<>(SB), Y7, Y0 \
	VMOVDQU   Y0, 128(R9) \
	VPSRLD    $2, Y7, Y7 \
	VPAND     k4pc<>+32(SB), Y7, Y7 \
	VPAND     192+H(SI), Y15, Y0 \
	VPOR      Y7, Y0, Y0 \
	VMOVDQU   Y0, 160(R9) \
	VPXOR     Y0, Y0, Y0 \
	VMOVDQU   Y0, 192(R9) \
	VMOVDQU   Y0, 224(R9) \
	VMOVDQU   Y0, 256(R9) \
	VMOVDQU   Y0, 288(R9) \
	K4B_PAIR(0, H, 128, 0, 1) \
	K4B_PAIR(1, H, 128, 2, 3) \
	K4B_PAIR(2, H, 160, 0, 1) \
	K4B_PAIR(3, H, 160, 2, 3) \
	VMOVDQU   128+H(SI), Y7 \
	VPAND     k4pc<>(SB), Y7, Y10 \
	VPSRLD    $2, Y7, Y7 \
	VPAND     k4pc<>+32(SB), Y7, Y7 \
	VMOVDQU   192+H(SI), Y11 \
	VPSRLD    $4, Y11, Y11 \
	VPAND     Y15, Y11, Y11 \
	VPOR      Y7, Y11, Y11 \
	VPSHUFB   k4pm<>(SB), Y10, Y12 \
	VPSHUFB   k4pm<>+32(SB), Y10, Y13 \
	VPSHUFB   k4pm<>(SB), Y11, Y14 \
	VPSHUFB   k4pm<>+32(SB), Y11, Y10 \
	VCVTPH2PS HD(SI), Y8 \
	VCVTPH2PS 32+HD(SI), Y9 \
	MOVQ      DX, BX \
	MOVQ      R14, AX \
	K4B_END(0, H) \
	ADDQ      R13, BX \
	ADDQ      R15, AX \
	K4B_END(1, H) \
	ADDQ      R13, BX \
	ADDQ      R15, AX \
	K4B_END(2, H) \
	ADDQ      R13, BX \
	ADDQ      R15, AX \
	K4B_END(3, H)

TEXT ·q4KP4AVX2(SB), NOSPLIT, $328-64
	MOVQ         w+0(FP), SI
	MOVQ         nsb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	MOVQ         xqs+40(FP), R9
	MOVQ         out+48(FP), R14
	MOVQ         ostride+56(FP), R15
	LEAQ         (DI)(R9*1), R10
	LEAQ         (R10)(R9*1), R11
	LEAQ         (R11)(R9*1), R12
	SHRQ         $3, R9
	MOVQ         R9, 320(SP)
	LEAQ         0(SP), R9
	MOVQ         CX, R13
	SHLQ         $2, R13
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VXORPS       Y0, Y0, Y0
	MOVQ         R14, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	ADDQ         R15, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	ADDQ         R15, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	ADDQ         R15, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	TESTQ        CX, CX
	JZ           q4ka4_done

q4ka4_loop:
	MOVQ      R8, AX
	MOVQ      320(SP), BX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 0(SP)
	ADDQ      BX, AX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 32(SP)
	ADDQ      BX, AX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 64(SP)
	ADDQ      BX, AX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 96(SP)
	K4B_HALF(0, 0)
	K4B_HALF(32, 16)
	ADDQ      $2304, SI
	ADDQ      $256, DI
	ADDQ      $256, R10
	ADDQ      $256, R11
	ADDQ      $256, R12
	ADDQ      $32, R8
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q4ka4_loop

q4ka4_done:
	VZEROUPPER
	RET

//	func q4KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q4KP3AVX2(...): the same for 3 columns
//
// q4KP4AVX2 for 2 and 3 columns (its registers and stack layout, the
// columns past the last unused): each dword of nibbles is unpacked once
// for the columns, so that a server's 2 or 3 batched sessions do not pay
// the unpacking per session.

// Dword Q of pair P of the half at H against the columns of QC.
#define K4N_Q(P, Q, H, QC) \
	VMOVDQU 256+512*P+64*Q+H(SI), Y4 \
	VPAND   Y15, Y4, Y5 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y15, Y4, Y4 \
	QC(P, Q)

#define K4N_QC2(P, Q) \
	K4B_QC(DI, P, Q, Y0, Y8) \
	K4B_QC(R10, P, Q, Y1, Y9)

#define K4N_QC3(P, Q) \
	K4N_QC2(P, Q) \
	K4B_QC(R11, P, Q, Y2, Y10)

#define K4N_ZERO2 \
	VPXOR Y0, Y0, Y0 \
	VPXOR Y1, Y1, Y1 \
	VPXOR Y8, Y8, Y8 \
	VPXOR Y9, Y9, Y9

#define K4N_ZERO3 \
	K4N_ZERO2 \
	VPXOR Y2, Y2, Y2 \
	VPXOR Y10, Y10, Y10

#define K4N_FOLD2 \
	K4B_FOLD(0, Y0, Y8) \
	K4B_FOLD(1, Y1, Y9)

#define K4N_FOLD3 \
	K4N_FOLD2 \
	K4B_FOLD(2, Y2, Y10)

#define K4N_END2(H) \
	K4B_END(0, H) \
	ADDQ R13, BX \
	ADDQ R15, AX \
	K4B_END(1, H)

#define K4N_END3(H) \
	K4N_END2(H) \
	ADDQ R13, BX \
	ADDQ R15, AX \
	K4B_END(2, H)

// Sub-blocks 2P and 2P+1 (scales: bytes KA and KB of the stack's SCO)
// for the columns of ZERO, QC and FOLD.
#define K4N_PAIR(P, H, SCO, KA, KB, ZERO, QC, FOLD) \
	ZERO \
	K4N_Q(P, 0, H, QC) \
	K4N_Q(P, 1, H, QC) \
	K4N_Q(P, 2, H, QC) \
	K4N_Q(P, 3, H, QC) \
	K4N_Q(P, 4, H, QC) \
	K4N_Q(P, 5, H, QC) \
	K4N_Q(P, 6, H, QC) \
	K4N_Q(P, 7, H, QC) \
	VMOVDQU SCO(R9), Y14 \
	VPSHUFB k4psc<>+32*KA(SB), Y14, Y12 \
	VPSHUFB k4psc<>+32*KB(SB), Y14, Y13 \
	FOLD

// K4B_HALF for the columns of ZERO, QC, FOLD and ENDS.
#define K4N_HALF(H, HD, ZERO, QC, FOLD, ENDS) \
	VMOVDQU   64+H(SI), Y7 \
	VPAND     k4pc<>(SB), Y7, Y0 \
	VMOVDQU   Y0, 128(R9) \
	VPSRLD    $2, Y7, Y7 \
	VPAND     k4pc<>+32(SB), Y7, Y7 \
	VPAND     192+H(SI), Y15, Y0 \
	VPOR      Y7, Y0, Y0 \
	VMOVDQU   Y0, 160(R9) \
	VPXOR     Y0, Y0, Y0 \
	VMOVDQU   Y0, 192(R9) \
	VMOVDQU   Y0, 224(R9) \
	VMOVDQU   Y0, 256(R9) \
	K4N_PAIR(0, H, 128, 0, 1, ZERO, QC, FOLD) \
	K4N_PAIR(1, H, 128, 2, 3, ZERO, QC, FOLD) \
	K4N_PAIR(2, H, 160, 0, 1, ZERO, QC, FOLD) \
	K4N_PAIR(3, H, 160, 2, 3, ZERO, QC, FOLD) \
	VMOVDQU   128+H(SI), Y7 \
	VPAND     k4pc<>(SB), Y7, Y10 \
	VPSRLD    $2, Y7, Y7 \
	VPAND     k4pc<>+32(SB), Y7, Y7 \
	VMOVDQU   192+H(SI), Y11 \
	VPSRLD    $4, Y11, Y11 \
	VPAND     Y15, Y11, Y11 \
	VPOR      Y7, Y11, Y11 \
	VPSHUFB   k4pm<>(SB), Y10, Y12 \
	VPSHUFB   k4pm<>+32(SB), Y10, Y13 \
	VPSHUFB   k4pm<>(SB), Y11, Y14 \
	VPSHUFB   k4pm<>+32(SB), Y11, Y10 \
	VCVTPH2PS HD(SI), Y8 \
	VCVTPH2PS 32+HD(SI), Y9 \
	MOVQ      DX, BX \
	MOVQ      R14, AX \
	ENDS(H)

// Arguments, the column pointers, the constants (as q4KP4AVX2).
#define K4N_PROLOGUE \
	MOVQ         w+0(FP), SI \
	MOVQ         nsb+8(FP), CX \
	MOVQ         xq+16(FP), DI \
	MOVQ         xd+24(FP), DX \
	MOVQ         xs+32(FP), R8 \
	MOVQ         xqs+40(FP), R9 \
	MOVQ         out+48(FP), R14 \
	MOVQ         ostride+56(FP), R15 \
	LEAQ         (DI)(R9*1), R10 \
	LEAQ         (R10)(R9*1), R11 \
	SHRQ         $3, R9 \
	MOVQ         R9, 320(SP) \
	LEAQ         0(SP), R9 \
	MOVQ         CX, R13 \
	SHLQ         $2, R13 \
	MOVL         $0x0f0f0f0f, AX \
	VMOVD        AX, X15 \
	VPBROADCASTD X15, Y15 \
	VXORPS       Y0, Y0, Y0 \
	MOVQ         R14, AX \
	VMOVUPS      Y0, (AX) \
	VMOVUPS      Y0, 32(AX) \
	ADDQ         R15, AX \
	VMOVUPS      Y0, (AX) \
	VMOVUPS      Y0, 32(AX)

// The sums of the next column's super-block (AX, advanced by BX) as word
// pairs at SO(SP).
#define K4N_SUMS(SO) \
	VMOVDQU   (AX), Y0 \
	VPACKSSDW Y0, Y0, Y0 \
	VMOVDQU   Y0, SO(SP) \
	ADDQ      BX, AX

TEXT ·q4KP2AVX2(SB), NOSPLIT, $328-64
	K4N_PROLOGUE
	TESTQ CX, CX
	JZ    q4ka2_done

q4ka2_loop:
	MOVQ R8, AX
	MOVQ 320(SP), BX
	K4N_SUMS(0)
	K4N_SUMS(32)
	K4N_HALF(0, 0, K4N_ZERO2, K4N_QC2, K4N_FOLD2, K4N_END2)
	K4N_HALF(32, 16, K4N_ZERO2, K4N_QC2, K4N_FOLD2, K4N_END2)
	ADDQ $2304, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ CX
	JNZ  q4ka2_loop

q4ka2_done:
	VZEROUPPER
	RET

TEXT ·q4KP3AVX2(SB), NOSPLIT, $328-64
	K4N_PROLOGUE
	ADDQ    R15, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	TESTQ   CX, CX
	JZ      q4ka3_done

q4ka3_loop:
	MOVQ R8, AX
	MOVQ 320(SP), BX
	K4N_SUMS(0)
	K4N_SUMS(32)
	K4N_SUMS(64)
	K4N_HALF(0, 0, K4N_ZERO3, K4N_QC3, K4N_FOLD3, K4N_END3)
	K4N_HALF(32, 16, K4N_ZERO3, K4N_QC3, K4N_FOLD3, K4N_END3)
	ADDQ $2304, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $256, R11
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ CX
	JNZ  q4ka3_loop

q4ka3_done:
	VZEROUPPER
	RET

DATA k4psc<>+0(SB)/8, $0x8004800480008000
DATA k4psc<>+8(SB)/8, $0x800c800c80088008
DATA k4psc<>+16(SB)/8, $0x8004800480008000
DATA k4psc<>+24(SB)/8, $0x800c800c80088008
DATA k4psc<>+32(SB)/8, $0x8005800580018001
DATA k4psc<>+40(SB)/8, $0x800d800d80098009
DATA k4psc<>+48(SB)/8, $0x8005800580018001
DATA k4psc<>+56(SB)/8, $0x800d800d80098009
DATA k4psc<>+64(SB)/8, $0x8006800680028002
DATA k4psc<>+72(SB)/8, $0x800e800e800a800a
DATA k4psc<>+80(SB)/8, $0x8006800680028002
DATA k4psc<>+88(SB)/8, $0x800e800e800a800a
DATA k4psc<>+96(SB)/8, $0x8007800780038003
DATA k4psc<>+104(SB)/8, $0x800f800f800b800b
DATA k4psc<>+112(SB)/8, $0x8007800780038003
DATA k4psc<>+120(SB)/8, $0x800f800f800b800b
GLOBL k4psc<>(SB), RODATA|NOPTR, $128

DATA k4pm<>+0(SB)/8, $0x8005800480018000
DATA k4pm<>+8(SB)/8, $0x800d800c80098008
DATA k4pm<>+16(SB)/8, $0x8005800480018000
DATA k4pm<>+24(SB)/8, $0x800d800c80098008
DATA k4pm<>+32(SB)/8, $0x8007800680038002
DATA k4pm<>+40(SB)/8, $0x800f800e800b800a
DATA k4pm<>+48(SB)/8, $0x8007800680038002
DATA k4pm<>+56(SB)/8, $0x800f800e800b800a
GLOBL k4pm<>(SB), RODATA|NOPTR, $64

DATA k4pc<>+0(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA k4pc<>+8(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA k4pc<>+16(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA k4pc<>+24(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA k4pc<>+32(SB)/8, $0x3030303030303030
DATA k4pc<>+40(SB)/8, $0x3030303030303030
DATA k4pc<>+48(SB)/8, $0x3030303030303030
DATA k4pc<>+56(SB)/8, $0x3030303030303030
GLOBL k4pc<>(SB), RODATA|NOPTR, $64
