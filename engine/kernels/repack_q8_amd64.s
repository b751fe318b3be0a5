//go:build amd64

#include "textflag.h"

// Kernels for repacked q8_0 matrices (repack.go), AVX-512 VNNI: the 16
// rows of an interleaved group against 1, 2, 3 or 4 activation columns,
// row r in lane r of a zmm, the argument layout of the q4_0 ones
// (repack_amd64.s).
//
//	func q8_0P1VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func q8_0P2VNNI(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q8_0P3VNNI(...), q8_0P4VNNI(...): 3 and 4 columns
//
// Per block and row the exact int32 dot product is formed with VPDPBUSD:
// the weights flipped to unsigned (w^0x80 = w+128) times 4 broadcast
// activation bytes, minus 128 times the block's activation sum (its xs),
// |sum| <= 32*255*127 far inside int32; then acc += float(isum)*(dw*dx),
// each product rounded (no FMA): per row the operations of
// dotQ8_0Generic, blocks in order. Blocks come in runs of 4 (2176 bytes:
// the 4 positions' d, then each position's 8 pieces of 64 bytes, every
// load aligned), then the last nb%4 one by one (544 bytes each).

// Block J of a run of 4 at SI: Z1..Z8 = pieces 0..7 (values 4k..4k+3 of
// each row) flipped to unsigned, Z9 = dw.
#define Q8R_UNPACK(J) \
	VPXORD    128+512*J(SI), Z31, Z1 \
	VPXORD    192+512*J(SI), Z31, Z2 \
	VPXORD    256+512*J(SI), Z31, Z3 \
	VPXORD    320+512*J(SI), Z31, Z4 \
	VPXORD    384+512*J(SI), Z31, Z5 \
	VPXORD    448+512*J(SI), Z31, Z6 \
	VPXORD    512+512*J(SI), Z31, Z7 \
	VPXORD    576+512*J(SI), Z31, Z8 \
	VCVTPH2PS 32*J(SI), Z9

// The same for a lone block (544 bytes) at SI.
#define Q8P_UNPACK \
	VPXORD    32(SI), Z31, Z1 \
	VPXORD    96(SI), Z31, Z2 \
	VPXORD    160(SI), Z31, Z3 \
	VPXORD    224(SI), Z31, Z4 \
	VPXORD    288(SI), Z31, Z5 \
	VPXORD    352(SI), Z31, Z6 \
	VPXORD    416(SI), Z31, Z7 \
	VPXORD    480(SI), Z31, Z8 \
	VCVTPH2PS (SI), Z9

// One column: XQ its values base (block b+J at 32*J(XQ)(R9*8)), XD its
// scales base (block b+J at 4*J(XD)(R9*1)), XS likewise for the sums;
// ACC += the block's contribution. R9 = 4*b.
#define Q8P_COLJ(J, XQ, XD, XS, ACC) \
	VPXORD        Z10, Z10, Z10 \
	VPXORD        Z11, Z11, Z11 \
	VPDPBUSD.BCST 32*J+0(XQ)(R9*8), Z1, Z10 \
	VPDPBUSD.BCST 32*J+4(XQ)(R9*8), Z2, Z11 \
	VPDPBUSD.BCST 32*J+8(XQ)(R9*8), Z3, Z10 \
	VPDPBUSD.BCST 32*J+12(XQ)(R9*8), Z4, Z11 \
	VPDPBUSD.BCST 32*J+16(XQ)(R9*8), Z5, Z10 \
	VPDPBUSD.BCST 32*J+20(XQ)(R9*8), Z6, Z11 \
	VPDPBUSD.BCST 32*J+24(XQ)(R9*8), Z7, Z10 \
	VPDPBUSD.BCST 32*J+28(XQ)(R9*8), Z8, Z11 \
	VPSLLD.BCST   $7, 4*J(XS)(R9*1), Z12 \
	VPADDD        Z11, Z10, Z10 \
	VPSUBD        Z12, Z10, Z10 \
	VCVTDQ2PS     Z10, Z10 \
	VMULPS.BCST   4*J(XD)(R9*1), Z9, Z13 \
	VMULPS        Z13, Z10, Z10 \
	VADDPS        Z10, ACC, ACC

// Columns 0..N-1 of block J: column c's values at DI, R10, R11, R12, its
// scales at DX, R13, R14, R15, its sums at R8 + c*CX (CX = 4*nb; BX
// walks them), its accumulator Z0, Z20, Z21, Z22.
#define Q8P_COLS1(J) \
	Q8P_COLJ(J, DI, DX, R8, Z0)

#define Q8P_COLS2(J) \
	Q8P_COLS1(J) \
	LEAQ (R8)(CX*1), BX \
	Q8P_COLJ(J, R10, R13, BX, Z20)

#define Q8P_COLS3(J) \
	Q8P_COLS2(J) \
	LEAQ (BX)(CX*1), BX \
	Q8P_COLJ(J, R11, R14, BX, Z21)

#define Q8P_COLS4(J) \
	Q8P_COLS3(J) \
	LEAQ (BX)(CX*1), BX \
	Q8P_COLJ(J, R12, R15, BX, Z22)

// A run of 4 blocks for the columns of COLS.
#define Q8P_RUN(COLS) \
	Q8R_UNPACK(0) \
	COLS(0) \
	Q8R_UNPACK(1) \
	COLS(1) \
	Q8R_UNPACK(2) \
	COLS(2) \
	Q8R_UNPACK(3) \
	COLS(3)

// Arguments and column pointers (the columns' values xqs bytes apart,
// their scales 4*nb); the accumulators zeroed; CX = 4*nb, AX = 4*(nb&^3),
// R9 = 0. xqs and ostride are only read by the column kernels.
#define Q8P_PROLOGUE(NCOLS) \
	MOVQ         w+0(FP), SI \
	MOVQ         nb+8(FP), CX \
	MOVQ         xq+16(FP), DI \
	MOVQ         xd+24(FP), DX \
	MOVQ         xs+32(FP), R8 \
	NCOLS \
	MOVL         $0x80808080, AX \
	VPBROADCASTD AX, Z31 \
	VPXORD       Z0, Z0, Z0 \
	VPXORD       Z20, Z20, Z20 \
	VPXORD       Z21, Z21, Z21 \
	VPXORD       Z22, Z22, Z22 \
	XORQ         R9, R9 \
	SHLQ         $2, CX \
	MOVQ         CX, AX \
	ANDQ         $-16, AX

#define Q8P_PTRS \
	MOVQ xqs+40(FP), AX \
	LEAQ (DI)(AX*1), R10 \
	LEAQ (R10)(AX*1), R11 \
	LEAQ (R11)(AX*1), R12 \
	MOVQ CX, AX \
	SHLQ $2, AX \
	LEAQ (DX)(AX*1), R13 \
	LEAQ (R13)(AX*1), R14 \
	LEAQ (R14)(AX*1), R15

#define Q8P_NOPTRS

TEXT ·q8_0P1VNNI(SB), NOSPLIT, $0-48
	Q8P_PROLOGUE(Q8P_NOPTRS)
	JZ q8p1_tail

q8p1_run:
	Q8P_RUN(Q8P_COLS1)
	ADDQ $2176, SI
	ADDQ $16, R9
	CMPQ R9, AX
	JLT  q8p1_run

q8p1_tail:
	CMPQ R9, CX
	JGE  q8p1_done

q8p1_loop:
	Q8P_UNPACK
	Q8P_COLS1(0)
	ADDQ $544, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q8p1_loop

q8p1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

TEXT ·q8_0P2VNNI(SB), NOSPLIT, $0-64
	Q8P_PROLOGUE(Q8P_PTRS)
	JZ q8p2_tail

q8p2_run:
	Q8P_RUN(Q8P_COLS2)
	ADDQ $2176, SI
	ADDQ $16, R9
	CMPQ R9, AX
	JLT  q8p2_run

q8p2_tail:
	CMPQ R9, CX
	JGE  q8p2_done

q8p2_loop:
	Q8P_UNPACK
	Q8P_COLS2(0)
	ADDQ $544, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q8p2_loop

q8p2_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	VZEROUPPER
	RET

TEXT ·q8_0P3VNNI(SB), NOSPLIT, $0-64
	Q8P_PROLOGUE(Q8P_PTRS)
	JZ q8p3_tail

q8p3_run:
	Q8P_RUN(Q8P_COLS3)
	ADDQ $2176, SI
	ADDQ $16, R9
	CMPQ R9, AX
	JLT  q8p3_run

q8p3_tail:
	CMPQ R9, CX
	JGE  q8p3_done

q8p3_loop:
	Q8P_UNPACK
	Q8P_COLS3(0)
	ADDQ $544, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q8p3_loop

q8p3_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	VMOVUPS Z21, (AX)(BX*2)
	VZEROUPPER
	RET

TEXT ·q8_0P4VNNI(SB), NOSPLIT, $0-64
	Q8P_PROLOGUE(Q8P_PTRS)
	JZ q8p4_tail

q8p4_run:
	Q8P_RUN(Q8P_COLS4)
	ADDQ $2176, SI
	ADDQ $16, R9
	CMPQ R9, AX
	JLT  q8p4_run

q8p4_tail:
	CMPQ R9, CX
	JGE  q8p4_done

q8p4_loop:
	Q8P_UNPACK
	Q8P_COLS4(0)
	ADDQ $544, SI
	ADDQ $4, R9
	CMPQ R9, CX
	JLT  q8p4_loop

q8p4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z20, (AX)(BX*1)
	VMOVUPS Z21, (AX)(BX*2)
	LEAQ    (BX)(BX*2), BX
	VMOVUPS Z22, (AX)(BX*1)
	VZEROUPPER
	RET

// ---- AVX2: rows 0..7 and 8..15 of the group as two halves ----
//
//	func q8_0P1AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func q8_0P2AVX2(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q8_0P3AVX2(...), q8_0P4AVX2(...): 3 and 4 columns
//
// Per half and piece, VPMADDUBSW of |w| (unsigned) and 4 broadcast
// activation bytes given w's signs by VPSIGNB gives the 2-product int16
// sums w*x exactly (|s| <= 2*128*127), VPMADDWD with ones widens them
// to int32, summed into the column's isum (the block sums xs are not
// needed). Then per lane the generic float steps, the outputs being the
// float accumulators (zeroed first, each block added in order: the same
// operations). Each piece is loaded and made absolute once for all the
// columns. Registers: column c's values at DI, R10, R11, R12, its scales
// at DX plus c*BX (BX = 4*nb; column 3's at R13), its outputs at AX plus
// c*R15 (column 3's at R9); Y0..Y3 the columns' isum; Y8 a piece, Y9 its
// |w|; Y14 the half's dw; Y15 int16 ones; Y10..Y13 temporaries.

// Column with values at XQ: piece (Y8, Y9) against its dword at XO.
#define Q8A_C(XQ, XO, ACC, T) \
	VPBROADCASTD XO(XQ), T \
	VPSIGNB      Y8, T, T \
	VPMADDUBSW   T, Y9, T \
	VPMADDWD     Y15, T, T \
	VPADDD       T, ACC, ACC

#define Q8A_C1(XO) \
	Q8A_C(DI, XO, Y0, Y10)

#define Q8A_C2(XO) \
	Q8A_C1(XO) \
	Q8A_C(R10, XO, Y1, Y11)

#define Q8A_C3(XO) \
	Q8A_C2(XO) \
	Q8A_C(R11, XO, Y2, Y12)

#define Q8A_C4(XO) \
	Q8A_C3(XO) \
	Q8A_C(R12, XO, Y3, Y13)

// The column's float step for the half: OUT += float(isum)*(dw*dx);
// isum zeroed for the next.
#define Q8A_F(ACC, XD, OUT, T) \
	VCVTDQ2PS    ACC, ACC \
	VBROADCASTSS XD, T \
	VMULPS       T, Y14, T \
	VMULPS       T, ACC, ACC \
	VADDPS       OUT, ACC, ACC \
	VMOVUPS      ACC, OUT \
	VPXOR        ACC, ACC, ACC

#define Q8A_F1(XO, H) \
	Q8A_F(Y0, XO/8(DX), H(AX), Y10)

#define Q8A_F2(XO, H) \
	Q8A_F1(XO, H) \
	Q8A_F(Y1, XO/8(DX)(BX*1), H(AX)(R15*1), Y11)

#define Q8A_F3(XO, H) \
	Q8A_F2(XO, H) \
	Q8A_F(Y2, XO/8(DX)(BX*2), H(AX)(R15*2), Y12)

#define Q8A_F4(XO, H) \
	Q8A_F3(XO, H) \
	Q8A_F(Y3, XO/8(R13), H(R9), Y13)

// Piece at P (bytes from SI) against the columns' dword at XO.
#define Q8A_PIECE(P, XO, COLS) \
	VMOVDQU P(SI), Y8 \
	VPABSB  Y8, Y9 \
	COLS(XO)

// The half at H of the block whose pieces start at P0 (64 bytes apart)
// and whose scales are at DOFF; its values at XO of each column.
#define Q8A_HALF(P0, DOFF, XO, H, COLS, FLTS) \
	VCVTPH2PS DOFF(SI), Y14 \
	Q8A_PIECE(P0+H, XO, COLS) \
	Q8A_PIECE(P0+64+H, XO+4, COLS) \
	Q8A_PIECE(P0+128+H, XO+8, COLS) \
	Q8A_PIECE(P0+192+H, XO+12, COLS) \
	Q8A_PIECE(P0+256+H, XO+16, COLS) \
	Q8A_PIECE(P0+320+H, XO+20, COLS) \
	Q8A_PIECE(P0+384+H, XO+24, COLS) \
	Q8A_PIECE(P0+448+H, XO+28, COLS) \
	FLTS(XO, H)

// Block J of a run of 4, and a lone block.
#define Q8A_RUN(J, COLS, FLTS) \
	Q8A_HALF(128+512*J, 32*J, 32*J, 0, COLS, FLTS) \
	Q8A_HALF(128+512*J, 32*J+16, 32*J, 32, COLS, FLTS)

#define Q8A_LONE(COLS, FLTS) \
	Q8A_HALF(32, 0, 0, 0, COLS, FLTS) \
	Q8A_HALF(32, 16, 0, 32, COLS, FLTS)

// Advance the columns' pointers by N blocks.
#define Q8A_NEXT(N) \
	ADDQ $32*N, DI \
	ADDQ $32*N, R10 \
	ADDQ $32*N, R11 \
	ADDQ $32*N, R12 \
	ADDQ $4*N, DX \
	ADDQ $4*N, R13

// Constants and zeroed isums; CX = nb.
#define Q8A_CONSTS \
	MOVL         $0x00010001, R14 \
	VMOVD        R14, X15 \
	VPBROADCASTD X15, Y15 \
	VPXOR        Y0, Y0, Y0 \
	VPXOR        Y1, Y1, Y1 \
	VPXOR        Y2, Y2, Y2 \
	VPXOR        Y3, Y3, Y3

// With AX = xqs, R9 = out, R15 = ostride: the other columns' pointers.
#define Q8A_PTRS \
	LEAQ (DI)(AX*1), R10 \
	LEAQ (R10)(AX*1), R11 \
	LEAQ (R11)(AX*1), R12 \
	LEAQ (CX*4), BX \
	LEAQ (BX)(BX*2), AX \
	LEAQ (DX)(AX*1), R13 \
	MOVQ R9, AX \
	LEAQ (R15)(R15*2), R9 \
	ADDQ AX, R9

TEXT ·q8_0P1AVX2(SB), NOSPLIT, $8-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ out+40(FP), AX
	Q8A_CONSTS
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	MOVQ CX, 0(SP)
	ANDQ $3, CX
	SHRQ $2, 0(SP)
	JZ   q8a1_tail

q8a1_run:
	Q8A_RUN(0, Q8A_C1, Q8A_F1)
	Q8A_RUN(1, Q8A_C1, Q8A_F1)
	Q8A_RUN(2, Q8A_C1, Q8A_F1)
	Q8A_RUN(3, Q8A_C1, Q8A_F1)
	ADDQ $2176, SI
	Q8A_NEXT(4)
	DECQ 0(SP)
	JNZ  q8a1_run

q8a1_tail:
	TESTQ CX, CX
	JZ    q8a1_done

q8a1_loop:
	Q8A_LONE(Q8A_C1, Q8A_F1)
	ADDQ $544, SI
	Q8A_NEXT(1)
	DECQ CX
	JNZ  q8a1_loop

q8a1_done:
	VZEROUPPER
	RET

TEXT ·q8_0P2AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	Q8A_PTRS
	Q8A_CONSTS
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	VMOVUPS Y0, (AX)(R15*1)
	VMOVUPS Y0, 32(AX)(R15*1)
	MOVQ CX, 0(SP)
	ANDQ $3, CX
	SHRQ $2, 0(SP)
	JZ   q8a2_tail

q8a2_run:
	Q8A_RUN(0, Q8A_C2, Q8A_F2)
	Q8A_RUN(1, Q8A_C2, Q8A_F2)
	Q8A_RUN(2, Q8A_C2, Q8A_F2)
	Q8A_RUN(3, Q8A_C2, Q8A_F2)
	ADDQ $2176, SI
	Q8A_NEXT(4)
	DECQ 0(SP)
	JNZ  q8a2_run

q8a2_tail:
	TESTQ CX, CX
	JZ    q8a2_done

q8a2_loop:
	Q8A_LONE(Q8A_C2, Q8A_F2)
	ADDQ $544, SI
	Q8A_NEXT(1)
	DECQ CX
	JNZ  q8a2_loop

q8a2_done:
	VZEROUPPER
	RET

TEXT ·q8_0P3AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	Q8A_PTRS
	Q8A_CONSTS
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	VMOVUPS Y0, (AX)(R15*1)
	VMOVUPS Y0, 32(AX)(R15*1)
	VMOVUPS Y0, (AX)(R15*2)
	VMOVUPS Y0, 32(AX)(R15*2)
	MOVQ CX, 0(SP)
	ANDQ $3, CX
	SHRQ $2, 0(SP)
	JZ   q8a3_tail

q8a3_run:
	Q8A_RUN(0, Q8A_C3, Q8A_F3)
	Q8A_RUN(1, Q8A_C3, Q8A_F3)
	Q8A_RUN(2, Q8A_C3, Q8A_F3)
	Q8A_RUN(3, Q8A_C3, Q8A_F3)
	ADDQ $2176, SI
	Q8A_NEXT(4)
	DECQ 0(SP)
	JNZ  q8a3_run

q8a3_tail:
	TESTQ CX, CX
	JZ    q8a3_done

q8a3_loop:
	Q8A_LONE(Q8A_C3, Q8A_F3)
	ADDQ $544, SI
	Q8A_NEXT(1)
	DECQ CX
	JNZ  q8a3_loop

q8a3_done:
	VZEROUPPER
	RET

TEXT ·q8_0P4AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	Q8A_PTRS
	Q8A_CONSTS
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	VMOVUPS Y0, (AX)(R15*1)
	VMOVUPS Y0, 32(AX)(R15*1)
	VMOVUPS Y0, (AX)(R15*2)
	VMOVUPS Y0, 32(AX)(R15*2)
	VMOVUPS Y0, (R9)
	VMOVUPS Y0, 32(R9)
	MOVQ CX, 0(SP)
	ANDQ $3, CX
	SHRQ $2, 0(SP)
	JZ   q8a4_tail

q8a4_run:
	Q8A_RUN(0, Q8A_C4, Q8A_F4)
	Q8A_RUN(1, Q8A_C4, Q8A_F4)
	Q8A_RUN(2, Q8A_C4, Q8A_F4)
	Q8A_RUN(3, Q8A_C4, Q8A_F4)
	ADDQ $2176, SI
	Q8A_NEXT(4)
	DECQ 0(SP)
	JNZ  q8a4_run

q8a4_tail:
	TESTQ CX, CX
	JZ    q8a4_done

q8a4_loop:
	Q8A_LONE(Q8A_C4, Q8A_F4)
	ADDQ $544, SI
	Q8A_NEXT(1)
	DECQ CX
	JNZ  q8a4_loop

q8a4_done:
	VZEROUPPER
	RET
