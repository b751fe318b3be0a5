//go:build amd64

#include "textflag.h"

// Mat-mat tile kernels, AVX-512 (F, BW, VL, VNNI): 4 weight rows x 4
// activation columns per pass, so every weight block and every activation
// block is loaded once per tile.
//
//	func k(w *byte, stride int, xq *int8, xd *float32, xb *int32, nb int, out *float32, ostride int)
//
// Row i starts at w + i*stride; column c's int8 values start at xq + c*nb*32
// its block scales at xd + c*nb*4 and its bias lanes (see biasLanesVNNI) at
// xb + c*nb*32; the result for (row i, column c) is
// stored at out + c*ostride + 4*i (ostride in bytes).
//
// Per output element the arithmetic is exactly that of the 4x1 kernels in
// qdot_amd64.s: per block, 8 int32 lanes (lane k = the exact dot product of
// bytes 4k..4k+3 plus the same per-lane bias), converted to float32 and
// accumulated as acc = fma(float(lanes), dw*dx, acc) into 8 float lanes,
// followed by the same horizontal sum. Two elements (rows r and r+1 of one
// column) share a zmm register, one per 256-bit half, which does not change
// any lane's operations. So the tile results are bitwise identical to the
// single-column results.
//
// Registers: Z0..Z7 accumulators (column c: Z(2c) rows 0,1; Z(2c+1) rows
// 2,3), Z8/Z9 weight pairs, Z10/Z11 dw pairs, Z12 bias constant (0x80 or
// 0x08 bytes), Z13 zero, Z14/Z15 permute indices, Z16.. temporaries.

DATA tileidx<>+0(SB)/8, $0x0000000000000000
DATA tileidx<>+8(SB)/8, $0x0000000000000000
DATA tileidx<>+16(SB)/8, $0x0000000000000000
DATA tileidx<>+24(SB)/8, $0x0000000000000000
DATA tileidx<>+32(SB)/8, $0x0000000100000001
DATA tileidx<>+40(SB)/8, $0x0000000100000001
DATA tileidx<>+48(SB)/8, $0x0000000100000001
DATA tileidx<>+56(SB)/8, $0x0000000100000001
DATA tileidx<>+64(SB)/8, $0x0000000200000002
DATA tileidx<>+72(SB)/8, $0x0000000200000002
DATA tileidx<>+80(SB)/8, $0x0000000200000002
DATA tileidx<>+88(SB)/8, $0x0000000200000002
DATA tileidx<>+96(SB)/8, $0x0000000300000003
DATA tileidx<>+104(SB)/8, $0x0000000300000003
DATA tileidx<>+112(SB)/8, $0x0000000300000003
DATA tileidx<>+120(SB)/8, $0x0000000300000003
GLOBL tileidx<>(SB), RODATA|NOPTR, $128

// SI rows base, BX row stride, R9 3*stride; DI columns base, R11 column
// stride (nb*32), R12 3*R11; DX scales base, R13 scale stride (nb*4),
// R14 3*R13; CX block count.
#define TPROLOGUE(BIAS) \
	MOVQ         w+0(FP), SI \
	MOVQ         stride+8(FP), BX \
	MOVQ         xq+16(FP), DI \
	MOVQ         xd+24(FP), DX \
	MOVQ         xb+32(FP), R10 \
	MOVQ         nb+40(FP), CX \
	LEAQ         (BX)(BX*2), R9 \
	MOVQ         CX, R11 \
	SHLQ         $5, R11 \
	LEAQ         (R11)(R11*2), R12 \
	MOVQ         CX, R13 \
	SHLQ         $2, R13 \
	LEAQ         (R13)(R13*2), R14 \
	MOVL         $BIAS, AX \
	VPBROADCASTD AX, Z12 \
	VPXORD       Z13, Z13, Z13 \
	VMOVDQU32    tileidx<>+0(SB), Z14 \
	VMOVDQU32    tileidx<>+64(SB), Z15 \
	VPXORD       Z0, Z0, Z0 \
	VPXORD       Z1, Z1, Z1 \
	VPXORD       Z2, Z2, Z2 \
	VPXORD       Z3, Z3, Z3 \
	VPXORD       Z4, Z4, Z4 \
	VPXORD       Z5, Z5, Z5 \
	VPXORD       Z6, Z6, Z6 \
	VPXORD       Z7, Z7, Z7

// Z10 = [dw0 x8 | dw1 x8], Z11 = [dw2 x8 | dw3 x8] from the fp16 scales at
// offset 0 of the four rows' current blocks.
#define TSCALES \
	MOVWLZX   (SI)(BX*2), R8 \
	MOVWLZX   (SI)(R9*1), AX \
	SHLL      $16, AX \
	ORL       R8, AX \
	SHLQ      $32, AX \
	MOVWLZX   (SI)(BX*1), R8 \
	SHLL      $16, R8 \
	ORQ       R8, AX \
	MOVWLZX   (SI), R8 \
	ORQ       R8, AX \
	VMOVQ     AX, X16 \
	VCVTPH2PS X16, X16 \
	VPERMPS   Z16, Z14, Z10 \
	VPERMPS   Z16, Z15, Z11

// One column: XADDR/DADDR address its current int8 block and scale.
// ACCA/ACCB take rows 0,1 and 2,3.
#define TCOL(XADDR, BADDR, DADDR, ACCA, ACCB) \
	VBROADCASTI64X4 XADDR, Z17 \
	VBROADCASTI64X4 BADDR, Z18 \
	BIASFIX \
	VMULPS.BCST     DADDR, Z10, Z20 \
	VMULPS.BCST     DADDR, Z11, Z21 \
	VMOVDQA32       Z18, Z22 \
	VPDPBUSD        Z17, Z8, Z22 \
	VCVTDQ2PS       Z22, Z22 \
	VFMADD231PS     Z20, Z22, ACCA \
	VMOVDQA32       Z18, Z23 \
	VPDPBUSD        Z17, Z9, Z23 \
	VCVTDQ2PS       Z23, Z23 \
	VFMADD231PS     Z21, Z23, ACCB

#define TCOLS \
	TCOL((DI), (R10), (DX), Z0, Z1) \
	TCOL((DI)(R11*1), (R10)(R11*1), (DX)(R13*1), Z2, Z3) \
	TCOL((DI)(R11*2), (R10)(R11*2), (DX)(R13*2), Z4, Z5) \
	TCOL((DI)(R12*1), (R10)(R12*1), (DX)(R14*1), Z6, Z7)

// Horizontal sums, exactly as HSUM in qdot_amd64.s, of both halves of Z(I)
// into the floats at OFF(AX) (rows r) and OFF+4(AX) (row r+1).
#define TSTORE2(Z, Y, X, OFF) \
	VEXTRACTF64X4 $1, Z, Y8 \
	VEXTRACTF128  $1, Y8, X9 \
	VADDPS        X9, X8, X8 \
	VHADDPS       X8, X8, X8 \
	VHADDPS       X8, X8, X8 \
	VEXTRACTF128  $1, Y, X9 \
	VADDPS        X9, X, X \
	VHADDPS       X, X, X \
	VHADDPS       X, X, X \
	VMOVSS        X, OFF(AX) \
	VMOVSS        X8, OFF+4(AX)

#define TEPILOGUE \
	MOVQ  out+48(FP), AX \
	MOVQ  ostride+56(FP), BX \
	TSTORE2(Z0, Y0, X0, 0) \
	TSTORE2(Z1, Y1, X1, 8) \
	ADDQ  BX, AX \
	TSTORE2(Z2, Y2, X2, 0) \
	TSTORE2(Z3, Y3, X3, 8) \
	ADDQ  BX, AX \
	TSTORE2(Z4, Y4, X4, 0) \
	TSTORE2(Z5, Y5, X5, 8) \
	ADDQ  BX, AX \
	TSTORE2(Z6, Y6, X6, 0) \
	TSTORE2(Z7, Y7, X7, 8) \
	VZEROUPPER \
	RET

// func q8_0x4x4VNNI(w *byte, stride int, xq *int8, xd *float32, xb *int32, nb int, out *float32, ostride int)
TEXT ·q8_0x4x4VNNI(SB), NOSPLIT, $0-64
	TPROLOGUE(0x80808080)
	TESTQ CX, CX
	JZ    q8t_done

q8t_loop:
	TSCALES
	VMOVDQU         2(SI), Y8
	VINSERTI64X4    $1, 2(SI)(BX*1), Z8, Z8
	VPXORD          Z12, Z8, Z8
	VMOVDQU         2(SI)(BX*2), Y9
	VINSERTI64X4    $1, 2(SI)(R9*1), Z9, Z9
	VPXORD          Z12, Z9, Z9
#define BIASFIX VPSLLD $4, Z18, Z18
	TCOLS
#undef BIASFIX
	ADDQ            $34, SI
	ADDQ            $32, DI
	ADDQ            $32, R10
	ADDQ            $4, DX
	DECQ            CX
	JNZ             q8t_loop

q8t_done:
	TEPILOGUE

// Nibbles of rows (A, B) at 2(P), 2(P)(S*1) into Z: [lo A | hi A | lo B | hi B]
// masked to 0..15 (element j of each row in byte j of its 256-bit half).
#define TNIB(A, B, Z, Y, X) \
	VMOVDQU      A, X \
	VINSERTI32X4 $1, B, Y, Y \
	VPSRLW       $4, Y, Y24 \
	VINSERTI64X4 $1, Y24, Z, Z \
	VSHUFI64X2   $0xd8, Z, Z, Z \
	VPANDD       Z25, Z, Z

// func q4_0x4x4VNNI(w *byte, stride int, xq *int8, xd *float32, xb *int32, nb int, out *float32, ostride int)
TEXT ·q4_0x4x4VNNI(SB), NOSPLIT, $0-64
	TPROLOGUE(0x08080808)
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z25
	TESTQ        CX, CX
	JZ           q4t_done

q4t_loop:
	TSCALES
	TNIB(2(SI), 2(SI)(BX*1), Z8, Y8, X8)
	TNIB(2(SI)(BX*2), 2(SI)(R9*1), Z9, Y9, X9)
#define BIASFIX
	TCOLS
#undef BIASFIX
	ADDQ $18, SI
	ADDQ $32, DI
	ADDQ $32, R10
	ADDQ $4, DX
	DECQ CX
	JNZ  q4t_loop

q4t_done:
	TEPILOGUE

// func biasLanesVNNI(xq *int8, nb int, out *int32)
//
// For every 32-value block of xq, out gets 8 int32 lanes: lane k is
// -8 * (xq[4k] + ... + xq[4k+3]), the q4_0 bias of the row kernels; the
// q8_0 bias (-128 * the same sum) is that shifted left by 4.
TEXT ·biasLanesVNNI(SB), NOSPLIT, $0-24
	MOVQ         xq+0(FP), SI
	MOVQ         nb+8(FP), CX
	MOVQ         out+16(FP), DI
	MOVL         $0x08080808, AX
	VPBROADCASTD AX, Y2
	VPXOR        Y3, Y3, Y3
	TESTQ        CX, CX
	JZ           bl_done

bl_loop:
	VPXOR    Y0, Y0, Y0
	VPDPBUSD (SI), Y2, Y0
	VPSUBD   Y0, Y3, Y0
	VMOVDQU  Y0, (DI)
	ADDQ     $32, SI
	ADDQ     $32, DI
	DECQ     CX
	JNZ      bl_loop

bl_done:
	VZEROUPPER
	RET
