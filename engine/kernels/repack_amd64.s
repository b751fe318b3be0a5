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
// Column c's 16 results go to out + c*ostride (bytes).

// Unpack the group's block at SI: Z1..Z4 = low nibbles of pieces 0..3
// (values 4k..4k+3), Z5..Z8 = high nibbles (values 16+4k..), Z9 = dw.
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

// One column: XQ its values base (block b at (XQ)(R9*8)), XD its scales
// base (block b at (XD)(R9*1)), XS likewise for the sums; ACC += the
// block's contribution. R9 = 4*b.
#define Q4P_COL(XQ, XD, XS, ACC) \
	VPXORD        Z10, Z10, Z10 \
	VPXORD        Z11, Z11, Z11 \
	VPDPBUSD.BCST 0(XQ)(R9*8), Z1, Z10 \
	VPDPBUSD.BCST 16(XQ)(R9*8), Z5, Z11 \
	VPDPBUSD.BCST 4(XQ)(R9*8), Z2, Z10 \
	VPDPBUSD.BCST 20(XQ)(R9*8), Z6, Z11 \
	VPDPBUSD.BCST 8(XQ)(R9*8), Z3, Z10 \
	VPDPBUSD.BCST 24(XQ)(R9*8), Z7, Z11 \
	VPDPBUSD.BCST 12(XQ)(R9*8), Z4, Z10 \
	VPDPBUSD.BCST 28(XQ)(R9*8), Z8, Z11 \
	VPSLLD.BCST   $3, (XS)(R9*1), Z12 \
	VPADDD        Z11, Z10, Z10 \
	VPSUBD        Z12, Z10, Z10 \
	VCVTDQ2PS     Z10, Z10 \
	VMULPS.BCST   (XD)(R9*1), Z9, Z13 \
	VMULPS        Z13, Z10, Z10 \
	VADDPS        Z10, ACC, ACC

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
	JZ           q4p1_done

q4p1_loop:
	PREFETCHT0 1152(SI)
	PREFETCHT0 1216(SI)
	PREFETCHT0 1280(SI)
	PREFETCHT0 1344(SI)
	PREFETCHT0 1408(SI)
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
	JZ           q4p4_done

q4p4_loop:
	Q4P_UNPACK
	Q4P_COL(DI, DX, R8, Z0)
	LEAQ (R8)(CX*1), BX
	Q4P_COL(R10, R13, BX, Z20)
	LEAQ (BX)(CX*1), BX
	Q4P_COL(R11, R14, BX, Z21)
	LEAQ (BX)(CX*1), BX
	Q4P_COL(R12, R15, BX, Z22)
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
