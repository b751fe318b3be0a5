//go:build amd64

#include "textflag.h"
#include "tile8_amd64.h"

// Mat-mat tile kernels, AVX-512 (F, BW, VL, VNNI): 4 weight rows x 4
// activation columns per pass.
//
//	func k(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
//
// Row i starts at w + i*stride. xp is the packed activation group of 4
// columns written by packGroup: per block, 160 bytes:
//
//	  0..127  for k = 0..7: dword k (int8 values 4k..4k+3) of columns 0..3
//	128..143  -sum(block values) of columns 0..3 (int32)
//	144..159  block scale dx of columns 0..3 (float32)
//
// The result for (row i, column c) is stored at out + c*ostride + 4*i
// (ostride in bytes).
//
// Lane 4r+c of a zmm holds element (row r, column c). Per block, the exact
// int32 dot product of every element is formed with 8 VPDPBUSD (weights
// dword k broadcast within each 128-bit lane by VPSHUFD, activations dword
// k of the 4 columns broadcast to the 4 lanes) plus the bias, converted to
// float32 and accumulated as acc += float(isum)*(dw*dx), the product
// rounded before the addition (no FMA): exactly
// the per-element operations of the VNNI row kernels in qdot_amd64.s, so
// tile results are bitwise identical to the single-column results.

// lane 4r+c <- dw[r]
DATA tilescidx<>+0(SB)/8, $0x0000000000000000
DATA tilescidx<>+8(SB)/8, $0x0000000000000000
DATA tilescidx<>+16(SB)/8, $0x0000000100000001
DATA tilescidx<>+24(SB)/8, $0x0000000100000001
DATA tilescidx<>+32(SB)/8, $0x0000000200000002
DATA tilescidx<>+40(SB)/8, $0x0000000200000002
DATA tilescidx<>+48(SB)/8, $0x0000000300000003
DATA tilescidx<>+56(SB)/8, $0x0000000300000003
GLOBL tilescidx<>(SB), RODATA|NOPTR, $64

// lane 4c+r <- lane 4r+c (4x4 transpose)
DATA tiletrans<>+0(SB)/8, $0x0000000400000000
DATA tiletrans<>+8(SB)/8, $0x0000000c00000008
DATA tiletrans<>+16(SB)/8, $0x0000000500000001
DATA tiletrans<>+24(SB)/8, $0x0000000d00000009
DATA tiletrans<>+32(SB)/8, $0x0000000600000002
DATA tiletrans<>+40(SB)/8, $0x0000000e0000000a
DATA tiletrans<>+48(SB)/8, $0x0000000700000003
DATA tiletrans<>+56(SB)/8, $0x0000000f0000000b
GLOBL tiletrans<>(SB), RODATA|NOPTR, $64

// SI rows base, BX row stride, R9 3*stride; DI packed activations; CX
// block count; Z0 accumulators; Z30 scale index; Z31 byte constant.
#define TPROLOGUE(CONST) \
	MOVQ         w+0(FP), SI \
	MOVQ         stride+8(FP), BX \
	MOVQ         xp+16(FP), DI \
	MOVQ         nb+24(FP), CX \
	LEAQ         (BX)(BX*2), R9 \
	MOVL         $CONST, AX \
	VPBROADCASTD AX, Z31 \
	VMOVDQU32    tilescidx<>(SB), Z30 \
	VPXORD       Z0, Z0, Z0

// Z1 = 16 bytes at OFF of each row's block, row r in 128-bit lane r.
#define TLOAD(OFF, Z, X) \
	VMOVDQU      OFF(SI), X \
	VINSERTI32X4 $1, OFF(SI)(BX*1), Z, Z \
	VINSERTI32X4 $2, OFF(SI)(BX*2), Z, Z \
	VINSERTI32X4 $3, OFF(SI)(R9*1), Z, Z

// Dwords 4h..4h+3 (weights in W) against the packed activations.
#define TDOTS(W, XOFF) \
	VPSHUFD         $0x00, W, Z5 \
	VBROADCASTI32X4 XOFF+0(DI), Z6 \
	VPDPBUSD        Z6, Z5, Z3 \
	VPSHUFD         $0x55, W, Z7 \
	VBROADCASTI32X4 XOFF+16(DI), Z8 \
	VPDPBUSD        Z8, Z7, Z4 \
	VPSHUFD         $0xaa, W, Z9 \
	VBROADCASTI32X4 XOFF+32(DI), Z10 \
	VPDPBUSD        Z10, Z9, Z3 \
	VPSHUFD         $0xff, W, Z11 \
	VBROADCASTI32X4 XOFF+48(DI), Z12 \
	VPDPBUSD        Z12, Z11, Z4

// Bias (shifted -sum) into Z3, both halves of the weights, then the
// float step.
#define TBLOCK(SHIFT) \
	VBROADCASTI32X4 128(DI), Z3 \
	VPSLLD          $SHIFT, Z3, Z3 \
	VPXORD          Z4, Z4, Z4 \
	TDOTS(Z1, 0) \
	TDOTS(Z2, 64) \
	VPADDD          Z4, Z3, Z3 \
	VCVTDQ2PS       Z3, Z3 \
	MOVWLZX         (SI), AX \
	VMOVD           AX, X14 \
	VPINSRW         $1, (SI)(BX*1), X14, X14 \
	VPINSRW         $2, (SI)(BX*2), X14, X14 \
	VPINSRW         $3, (SI)(R9*1), X14, X14 \
	VCVTPH2PS       X14, X14 \
	VPERMPS         Z14, Z30, Z14 \
	VBROADCASTF32X4 144(DI), Z15 \
	VMULPS          Z15, Z14, Z14 \
	VMULPS          Z14, Z3, Z3 \
	VADDPS          Z3, Z0, Z0

#define TEPILOGUE \
	VMOVDQU32     tiletrans<>(SB), Z1 \
	VPERMPS       Z0, Z1, Z0 \
	MOVQ          out+32(FP), AX \
	MOVQ          ostride+40(FP), BX \
	VMOVUPS       X0, (AX) \
	VEXTRACTF32X4 $1, Z0, X1 \
	VMOVUPS       X1, (AX)(BX*1) \
	LEAQ          (AX)(BX*2), AX \
	VEXTRACTF32X4 $2, Z0, X1 \
	VMOVUPS       X1, (AX) \
	VEXTRACTF32X4 $3, Z0, X1 \
	VMOVUPS       X1, (AX)(BX*1) \
	VZEROUPPER \
	RET

// func q8_0x4x4VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
TEXT ·q8_0x4x4VNNI(SB), NOSPLIT, $0-48
	TPROLOGUE(0x80808080)
	TESTQ CX, CX
	JZ    q8t_done

q8t_loop:
	TLOAD(2, Z1, X1)
	VPXORD Z31, Z1, Z1
	TLOAD(18, Z2, X2)
	VPXORD Z31, Z2, Z2
	TBLOCK(7)
	ADDQ   $34, SI
	ADDQ   $160, DI
	DECQ   CX
	JNZ    q8t_loop

q8t_done:
	TEPILOGUE

// func q4_0x4x4VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
TEXT ·q4_0x4x4VNNI(SB), NOSPLIT, $0-48
	TPROLOGUE(0x0f0f0f0f)
	TESTQ CX, CX
	JZ    q4t_done

q4t_loop:
	TLOAD(2, Z1, X1)
	VPSRLW $4, Z1, Z2
	VPANDD Z31, Z1, Z1
	VPANDD Z31, Z2, Z2
	TBLOCK(3)
	ADDQ   $18, SI
	ADDQ   $160, DI
	DECQ   CX
	JNZ    q4t_loop

q4t_done:
	TEPILOGUE

// ---- 4 rows x 8 columns, ymm ----
//
//	func k(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
//
// xp is a packed group of 8 columns (packCol with width 8): per block, 320
// bytes: for k = 0..7 dword k of columns 0..7 (256 bytes), -sum of each
// column's block (8 int32), the block scales (8 float32). Lane c of row
// r's accumulator is element (r, c). Weight dword k of a row is broadcast
// to all lanes, so every lane's int32 is the exact dot product of its row
// and column (plus the bias); the float step is the same
// acc = fma(float(isum), dw*dx, acc) as everywhere else. Results go to
// out + c*ostride + 4*r.
//
// Registers: SI, R8, R10, R11 row pointers; DI packed activations; CX
// blocks; Y0..Y3 row accumulators; Y16..Y23 activation dwords k = 0..7;
// Y24 bias; Y25 dx; Y31 byte constant; Y4..Y15 temporaries.

#define T8PROLOGUE(CONST) \
	MOVQ         w+0(FP), SI \
	MOVQ         stride+8(FP), BX \
	MOVQ         xp+16(FP), DI \
	MOVQ         nb+24(FP), CX \
	LEAQ         (SI)(BX*1), R8 \
	LEAQ         (SI)(BX*2), R10 \
	LEAQ         (R8)(BX*2), R11 \
	MOVL         $CONST, AX \
	VPBROADCASTD AX, Y31 \
	VXORPS       Y0, Y0, Y0 \
	VXORPS       Y1, Y1, Y1 \
	VXORPS       Y2, Y2, Y2 \
	VXORPS       Y3, Y3, Y3

#define T8LOADX(SHIFT) \
	VMOVDQU32       0(DI), Y16 \
	VMOVDQU32       32(DI), Y17 \
	VMOVDQU32       64(DI), Y18 \
	VMOVDQU32       96(DI), Y19 \
	VMOVDQU32       128(DI), Y20 \
	VMOVDQU32       160(DI), Y21 \
	VMOVDQU32       192(DI), Y22 \
	VMOVDQU32       224(DI), Y23 \
	VMOVDQU32       256(DI), Y24 \
	VPSLLD          $SHIFT, Y24, Y24 \
	VMOVUPS         288(DI), Y25

// Float step for row P: Y12 + Y13 ints -> ACC.
#define T8FLOAT(P, ACC) \
	VPADDD       Y13, Y12, Y12 \
	VCVTDQ2PS    Y12, Y12 \
	VPBROADCASTW (P), X14 \
	VCVTPH2PS    X14, Y14 \
	VMULPS       Y25, Y14, Y14 \
	VMULPS       Y14, Y12, Y12 \
	VADDPS       Y12, ACC, ACC

// q8_0 weight dword K of row P against activation dwords XK into A.
#define Q8W(P, K, T, XK, A) \
	VPBROADCASTD 2+4*K(P), T \
	VPXORD       Y31, T, T \
	VPDPBUSD     XK, T, A

#define Q8ROW8(P, ACC) \
	VMOVDQA32 Y24, Y12 \
	VPXORD    Y13, Y13, Y13 \
	Q8W(P, 0, Y4, Y16, Y12) \
	Q8W(P, 1, Y5, Y17, Y13) \
	Q8W(P, 2, Y6, Y18, Y12) \
	Q8W(P, 3, Y7, Y19, Y13) \
	Q8W(P, 4, Y8, Y20, Y12) \
	Q8W(P, 5, Y9, Y21, Y13) \
	Q8W(P, 6, Y10, Y22, Y12) \
	Q8W(P, 7, Y11, Y23, Y13) \
	T8FLOAT(P, ACC)

// q4_0 nibble dword M of row P: low nibbles are element dword M, high
// nibbles dword M+4.
#define Q4W(P, M, T, U, XLO, XHI) \
	VPBROADCASTD 2+4*M(P), T \
	VPSRLW       $4, T, U \
	VPANDD       Y31, T, T \
	VPANDD       Y31, U, U \
	VPDPBUSD     XLO, T, Y12 \
	VPDPBUSD     XHI, U, Y13

#define Q4ROW8(P, ACC) \
	VMOVDQA32 Y24, Y12 \
	VPXORD    Y13, Y13, Y13 \
	Q4W(P, 0, Y4, Y5, Y16, Y20) \
	Q4W(P, 1, Y6, Y7, Y17, Y21) \
	Q4W(P, 2, Y8, Y9, Y18, Y22) \
	Q4W(P, 3, Y10, Y11, Y19, Y23) \
	T8FLOAT(P, ACC)

// q8_0, 4x8: here the packed activations are stored as x^0x80 (x+128,
// unsigned; see packFlip) and the signed weights are the broadcast
// operand, straight from memory. The bias -128*sum(w) of each row's block
// is formed exactly by one more VPDPBUSD per row and an integer reduction.
// The int32 per element is the same exact dot product as everywhere else.

#define T8IREDUCE4(A, B, C, D, T1, T2, T3, YR, XR, XT) \
	VPUNPCKLDQ   B, A, T1 \
	VPUNPCKHDQ   B, A, T2 \
	VPADDD       T2, T1, T1 \
	VPUNPCKLDQ   D, C, T2 \
	VPUNPCKHDQ   D, C, T3 \
	VPADDD       T3, T2, T2 \
	VPUNPCKLQDQ  T2, T1, T3 \
	VPUNPCKHQDQ  T2, T1, YR \
	VPADDD       T3, YR, YR \
	VEXTRACTI128 $1, YR, XT \
	VPADDD       XT, XR, XR

#define Q8B(P, K, XK, A) \
	VPDPBUSD.BCST 2+4*K(P), XK, A

// Row P: Y12 = its bias (already broadcast), ACC += ...
#define Q8ROW8B(P, ACC) \
	VPXORD Y13, Y13, Y13 \
	Q8B(P, 0, Y16, Y12) \
	Q8B(P, 1, Y17, Y13) \
	Q8B(P, 2, Y18, Y12) \
	Q8B(P, 3, Y19, Y13) \
	Q8B(P, 4, Y20, Y12) \
	Q8B(P, 5, Y21, Y13) \
	Q8B(P, 6, Y22, Y12) \
	Q8B(P, 7, Y23, Y13) \
	T8FLOAT(P, ACC)

// func q8_0x4x8VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
TEXT ·q8_0x4x8VNNI(SB), NOSPLIT, $0-48
	T8PROLOGUE(0x80808080)
	MOVL         $1, AX
	VPBROADCASTD AX, Y26
	MOVL         $2, AX
	VPBROADCASTD AX, Y27
	MOVL         $3, AX
	VPBROADCASTD AX, Y28
	VPXORD       Y29, Y29, Y29
	TESTQ        CX, CX
	JZ           q8t8_done

q8t8_loop:
	PREFETCHT0 (SI)(BX*4)
	PREFETCHT0 (R8)(BX*4)
	PREFETCHT0 (R10)(BX*4)
	PREFETCHT0 (R11)(BX*4)
	VMOVDQU32  0(DI), Y16
	VMOVDQU32  32(DI), Y17
	VMOVDQU32  64(DI), Y18
	VMOVDQU32  96(DI), Y19
	VMOVDQU32  128(DI), Y20
	VMOVDQU32  160(DI), Y21
	VMOVDQU32  192(DI), Y22
	VMOVDQU32  224(DI), Y23
	VMOVUPS    288(DI), Y25
	VPXOR      Y4, Y4, Y4
	VPDPBUSD   2(SI), Y31, Y4
	VPXOR      Y5, Y5, Y5
	VPDPBUSD   2(R8), Y31, Y5
	VPXOR      Y6, Y6, Y6
	VPDPBUSD   2(R10), Y31, Y6
	VPXOR      Y7, Y7, Y7
	VPDPBUSD   2(R11), Y31, Y7
	T8IREDUCE4(Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, X11, X8)
	VPSUBD     Y11, Y29, Y11
	VPBROADCASTD X11, Y12
	Q8ROW8B(SI, Y0)
	VPERMD     Y11, Y26, Y12
	Q8ROW8B(R8, Y1)
	VPERMD     Y11, Y27, Y12
	Q8ROW8B(R10, Y2)
	VPERMD     Y11, Y28, Y12
	Q8ROW8B(R11, Y3)
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $320, DI
	DECQ CX
	JNZ  q8t8_loop

q8t8_done:
	T8EPILOGUE

// func q4_0x4x8VNNI(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
TEXT ·q4_0x4x8VNNI(SB), NOSPLIT, $0-48
	T8PROLOGUE(0x0f0f0f0f)
	TESTQ CX, CX
	JZ    q4t8_done

q4t8_loop:
	PREFETCHT0 (SI)(BX*4)
	PREFETCHT0 (R8)(BX*4)
	PREFETCHT0 (R10)(BX*4)
	PREFETCHT0 (R11)(BX*4)
	T8LOADX(3)
	Q4ROW8(SI, Y0)
	Q4ROW8(R8, Y1)
	Q4ROW8(R10, Y2)
	Q4ROW8(R11, Y3)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $320, DI
	DECQ CX
	JNZ  q4t8_loop

q4t8_done:
	T8EPILOGUE
