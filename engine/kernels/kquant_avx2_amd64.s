//go:build amd64

#include "textflag.h"

// K-quant row kernels, AVX2 (with FMA and F16C), 4 rows x 1 activation
// column, with the arguments and row layout of the VNNI kernels in
// kquant_amd64.s:
//
//	func k(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
//
// Per 256-element super-block and row, the exact int32 dot products of the
// 8 sub-blocks (VPMADDUBSW, VPMADDWD, VPHADDD) land in the 8 lanes of one
// ymm, lane j for sub-block j; they are multiplied by the sub-block scales
// as integers, converted to float32 and scaled by the activation scales
// dx[j] (the operations of the generic kernels up to this point); then
// acc += that*d (and for q4_k acc -= (dx*(xs*m))*dmin), each product
// rounded, with one ymm accumulator per row, super-blocks in order, and the
// 8 lanes summed at the end by the canonical tree (hsum8): the operations
// of dotQ4KGeneric and dotQ6KGeneric. Each row's result
// depends only on the row and the activations (stride 0 repeats one row
// with identical operations).

// The integer dot products with VPMADDUBSW and VPMADDWD (Y13 = int16
// ones); see kquant_amd64.h.
#define KINIT

#define KDOT(SRC, U) \
	VPMADDUBSW SRC, U, U \
	VPMADDWD   Y13, U, U

#define KDOTB(SRC, U, B) \
	VPMADDUBSW SRC, U, U \
	VPSUBW     B, U, U \
	VPMADDWD   Y13, U, U

// KDOTB(SRC, U, B): KDOT minus the int16 pair biases at B (KBIAS);
// KBIAS(SRC, DST): 32*(pair sums of SRC) (Y15 = 0x20 bytes) to DST;
// KDOTB32(SRC, U): KDOT minus 32*(sums of SRC).
#define KBIAS(SRC, DST) \
	VPMADDUBSW SRC, Y15, Y5 \
	VMOVDQU    Y5, DST

#define KDOTB32(SRC, U) \
	VPMADDUBSW SRC, U, U \
	VPMADDUBSW SRC, Y15, Y14 \
	VPSUBW     Y14, U, U \
	VPMADDWD   Y13, U, U

#define KQ4X4 ·q4Kx4AVX2

#include "kquant_amd64.h"

// ---- q6_k: Y4 = dx[0..7], Y13 = int16 ones, Y14 = 0x0f bytes, Y12 = 0x30
// bytes; stack 0..255: per sub-block (32 x values) the int16 pair sums
// 32*(x[2i]+x[2i+1]), subtracted so that the 6-bit values count as q-32.

// One sub-block: Q (6-bit values) against x at XO(DI): 8 int32 lanes.
#define Q6K2_SUB(Q, XO) \
	KDOTB(XO(DI), Q, XO(SP))

// Half h of the row at P (ql at QL0, QL0+32, qh at QH; x at X0) into R0
// (lanes t and 4+t: sub-block t's two 16-element groups). Y5..Y7 and
// TMP are clobbered; R0..R3 must be distinct from them.
#define Q6K2_HALF(P, QL0, QH, X0, R0, R1, R2, R3) \
	VMOVDQU QL0(P), Y5 \
	VMOVDQU QL0+32(P), Y6 \
	VMOVDQU QH(P), Y7 \
	VPAND   Y14, Y5, R0 \
	VPSLLW  $4, Y7, R3 \
	VPAND   Y12, R3, R3 \
	VPOR    R3, R0, R0 \
	Q6K2_SUB(R0, X0) \
	VPAND   Y14, Y6, R1 \
	VPSLLW  $2, Y7, R3 \
	VPAND   Y12, R3, R3 \
	VPOR    R3, R1, R1 \
	Q6K2_SUB(R1, X0+32) \
	VPSRLW  $4, Y5, R2 \
	VPAND   Y14, R2, R2 \
	VPAND   Y12, Y7, R3 \
	VPOR    R3, R2, R2 \
	Q6K2_SUB(R2, X0+64) \
	VPSRLW  $4, Y6, Y5 \
	VPAND   Y14, Y5, Y5 \
	VPSRLW  $2, Y7, R3 \
	VPAND   Y12, R3, R3 \
	VPOR    R3, Y5, Y5 \
	Q6K2_SUB(Y5, X0+96) \
	K2HADD4(R0, R1, R2, Y5)

// Y8 and Y9 (the two halves' scaled group sums) -> X8 lane 0 =
// float(isum), the exact int32 sum of all their lanes. Clobbers X10.
#define Q6K2_FOLD \
	VPADDD       Y9, Y8, Y8 \
	VEXTRACTI128 $1, Y8, X10 \
	VPADDD       X10, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VCVTDQ2PS    X8, X8

#define Q6K2_ROW(P, ACC) \
	Q6K2_HALF(P, 0, 128, 0, Y8, Y9, Y10, Y11) \
	Q6K2_HALF(P, 64, 160, 128, Y9, Y10, Y11, Y15) \
	VMOVDQU      192(P), X10 \
	VPSHUFB      k2q6sc<>(SB), X10, X10 \
	VPMOVSXBD    X10, Y11 \
	VPMULLD      Y11, Y8, Y8 \
	VPSRLDQ      $8, X10, X10 \
	VPMOVSXBD    X10, Y11 \
	VPMULLD      Y11, Y9, Y9 \
	Q6K2_FOLD \
	VPBROADCASTW 208(P), X10 \
	VCVTPH2PS    X10, X10 \
	VMULSS       X4, X10, X10 \
	VMULSS       X10, X8, X8 \
	VADDSS       X8, ACC, ACC

// The stack's bias for the sub-block at XO(DI), with Y15 = 0x20 bytes.
#define Q6K2_BIAS(XO) \
	KBIAS(XO(DI), XO(SP))

// func q6Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q6Kx4AVX2(SB), NOSPLIT, $256-56
	KPROLOGUE
	VMOVDQU k2ones<>(SB), Y13
	MOVL    $0x0f0f0f0f, AX
	VMOVD   AX, X14
	VPBROADCASTD X14, Y14
	MOVL    $0x30303030, AX
	VMOVD   AX, X12
	VPBROADCASTD X12, Y12
	TESTQ   CX, CX
	JZ      q6k2_done

q6k2_loop:
	KPREFETCH6
	MOVL       $0x20202020, AX
	VMOVD      AX, X15
	VPBROADCASTD X15, Y15
	Q6K2_BIAS(0)
	Q6K2_BIAS(32)
	Q6K2_BIAS(64)
	Q6K2_BIAS(96)
	Q6K2_BIAS(128)
	Q6K2_BIAS(160)
	Q6K2_BIAS(192)
	Q6K2_BIAS(224)
	VBROADCASTSS (DX), X4
	Q6K2_ROW(SI, X0)
	Q6K2_ROW(R8, X1)
	Q6K2_ROW(R9, X2)
	Q6K2_ROW(R10, X3)
	ADDQ       $210, SI
	ADDQ       $210, R8
	ADDQ       $210, R9
	ADDQ       $210, R10
	ADDQ       $256, DI
	ADDQ       $4, DX
	DECQ       CX
	JNZ        q6k2_loop

q6k2_done:
	KEPILOGUE

// ---- q6_k, 1 row x 4 activation columns (batches) ----
//
//	func q6Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)
//
// The layout of q4Kx1x4AVX2 (xs is not used). Per super-block the row's
// 6-bit values are unpacked once (to the stack, sub-block j at 32j) and
// its scales and d converted once, then each column goes through exactly
// the operations of q6Kx4AVX2 (Q6K2_ROW, with the column's bias
// 32*(x[2i]+x[2i+1]) formed as that kernel forms it), so the results are
// bitwise that kernel's.
//
// X0..X3 the 4 columns' accumulators (lane 0); X4 the column's dx; Y5,
// Y6 the row's sub-block scales of each half (as Q6K2_ROW orders them); X7
// d; Y13 int16 ones; Y15 0x20 bytes.

DATA k2q6m<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k2q6m<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k2q6m<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k2q6m<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k2q6m<>+32(SB)/8, $0x3030303030303030
DATA k2q6m<>+40(SB)/8, $0x3030303030303030
DATA k2q6m<>+48(SB)/8, $0x3030303030303030
DATA k2q6m<>+56(SB)/8, $0x3030303030303030
GLOBL k2q6m<>(SB), RODATA|NOPTR, $64

// Half h of the row at SI (ql at QL0 and QL0+32, qh at QH) into the stack
// at SO (sub-blocks 4h..4h+3).
#define Q6K14_UNPACK(QL0, QH, SO) \
	VMOVDQU QL0(SI), Y8 \
	VMOVDQU QL0+32(SI), Y9 \
	VMOVDQU QH(SI), Y10 \
	VPAND   k2q6m<>+0(SB), Y8, Y11 \
	VPSLLW  $4, Y10, Y12 \
	VPAND   k2q6m<>+32(SB), Y12, Y12 \
	VPOR    Y12, Y11, Y11 \
	VMOVDQU Y11, SO(SP) \
	VPAND   k2q6m<>+0(SB), Y9, Y11 \
	VPSLLW  $2, Y10, Y12 \
	VPAND   k2q6m<>+32(SB), Y12, Y12 \
	VPOR    Y12, Y11, Y11 \
	VMOVDQU Y11, SO+32(SP) \
	VPSRLW  $4, Y8, Y11 \
	VPAND   k2q6m<>+0(SB), Y11, Y11 \
	VPAND   k2q6m<>+32(SB), Y10, Y12 \
	VPOR    Y12, Y11, Y11 \
	VMOVDQU Y11, SO+64(SP) \
	VPSRLW  $4, Y9, Y11 \
	VPAND   k2q6m<>+0(SB), Y11, Y11 \
	VPSRLW  $2, Y10, Y12 \
	VPAND   k2q6m<>+32(SB), Y12, Y12 \
	VPOR    Y12, Y11, Y11 \
	VMOVDQU Y11, SO+96(SP)

// One sub-block of the column at XQ (x at XO) with the values at SO(SP):
// 8 int32 lanes into Q, as Q6K2_SUB after Q6K2_BIAS.
#define Q6K14_SUB(SO, XQ, XO, Q) \
	VMOVDQU    SO(SP), Q \
	KDOTB32(XO(XQ), Q)

// One column: values at XQ, scale at XD (memory), into ACC.
#define Q6K14_COL(XQ, XD, ACC) \
	Q6K14_SUB(0, XQ, 0, Y8) \
	Q6K14_SUB(32, XQ, 32, Y9) \
	Q6K14_SUB(64, XQ, 64, Y10) \
	Q6K14_SUB(96, XQ, 96, Y11) \
	K2HADD4(Y8, Y9, Y10, Y11) \
	Q6K14_SUB(128, XQ, 128, Y9) \
	Q6K14_SUB(160, XQ, 160, Y10) \
	Q6K14_SUB(192, XQ, 192, Y11) \
	Q6K14_SUB(224, XQ, 224, Y12) \
	K2HADD4(Y9, Y10, Y11, Y12) \
	VPMULLD      Y5, Y8, Y8 \
	VPMULLD      Y6, Y9, Y9 \
	Q6K2_FOLD \
	VBROADCASTSS XD, X4 \
	VMULSS       X4, X7, X10 \
	VMULSS       X10, X8, X8 \
	VADDSS       X8, ACC, ACC

TEXT ·q6Kx1x4AVX2(SB), NOSPLIT, $256-56
	K14PROLOGUE(R8)
	VMOVDQU k2ones<>(SB), Y13
	MOVL    $0x20202020, AX
	VMOVD   AX, X15
	VPBROADCASTD X15, Y15
	TESTQ   CX, CX
	JZ      q6k14_done

q6k14_loop:
	PREFETCHT0   210(SI)
	PREFETCHT0   274(SI)
	PREFETCHT0   338(SI)
	PREFETCHT0   402(SI)
	Q6K14_UNPACK(0, 128, 0)
	Q6K14_UNPACK(64, 160, 128)
	VMOVDQU      192(SI), X10
	VPSHUFB      k2q6sc<>(SB), X10, X10
	VPMOVSXBD    X10, Y5
	VPSRLDQ      $8, X10, X10
	VPMOVSXBD    X10, Y6
	VPBROADCASTW 208(SI), X7
	VCVTPH2PS    X7, X7
	Q6K14_COL(DI, (DX), X0)
	LEAQ         (DI)(R9*1), R11
	Q6K14_COL(R11, (DX)(R8*1), X1)
	Q6K14_COL(R14, (DX)(R8*2), X2)
	LEAQ         (R14)(R9*1), R11
	LEAQ         (DX)(R8*2), R12
	Q6K14_COL(R11, (R12)(R8*1), X3)
	ADDQ         $210, SI
	ADDQ         $256, DI
	ADDQ         $256, R14
	ADDQ         $4, DX
	DECQ         CX
	JNZ          q6k14_loop

q6k14_done:
	K2COLSEPILOGUE

// ---- q4_k, 1 row x 4 activation columns (batches) ----
//
//	func q4Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)
//
// Column c's values start at xq + c*nsb*256, its scales at xd + c*nsb*4
// (one per super-block) and its sums at xs + c*nsb*32 (the Pool's layout);
// the result for column c is stored at out + c*ostride. Per super-block
// the row's nibbles are unpacked once (to the stack) and its scales, mins,
// d and dmin converted once, then each column goes through exactly the
// operations of q4Kx4AVX2 (Q4K2_ROW), so the results are bitwise that
// kernel's.
//
// The sub-block scales are folded into the integer sums: VPMADDUBSW forms
// int16 pairs of nibble*x and VPMADDWD multiplies them by the sub-block's
// scale (int16, broadcast per sub-block at 288+32j(SP)), so one int32
// accumulator per column sums sc_j*isum_j over the super-block without
// horizontal adds (the value of isd is exact either way: the same bits as
// the row kernel). The AVX-512 set uses this kernel too: VNNI's VPDPBUSD
// cannot fold the scales.
//
// X0..X3 the 4 columns' accumulators (lane 0); X4 the column's dx; X12 =
// [d, dmin]; Y14 0x0f bytes; the nibbles at 0..255(SP), the mins (int32)
// at 256(SP), the scale vectors at 288..543(SP).

// Sub-block j (nibbles at SO(SP) = 32j) of the column at XQ, times its
// scale, added to the int32 lanes of ACC.
#define Q4K14_SUB(SO, XQ, ACC) \
	VMOVDQU    SO(SP), Y6 \
	VPMADDUBSW SO(XQ), Y6, Y6 \
	VPMADDWD   288+SO(SP), Y6, Y6 \
	VPADDD     Y6, ACC, ACC

// One column: values at XQ, scale at XD (memory), sums at XS, into ACC.
#define Q4K14_COL(XQ, XD, XS, ACC) \
	VBROADCASTSS XD, X4 \
	VPXOR        Y8, Y8, Y8 \
	Q4K14_SUB(0, XQ, Y8) \
	Q4K14_SUB(32, XQ, Y8) \
	Q4K14_SUB(64, XQ, Y8) \
	Q4K14_SUB(96, XQ, Y8) \
	Q4K14_SUB(128, XQ, Y8) \
	Q4K14_SUB(160, XQ, Y8) \
	Q4K14_SUB(192, XQ, Y8) \
	Q4K14_SUB(224, XQ, Y8) \
	VMOVDQU      256(SP), Y10 \
	VPMULLD      (XS), Y10, Y10 \
	K2SUMDM \
	VMULPS       X4, X12, X11 \
	K2ACCDM(ACC)

// The scale of sub-block J (int16 lane J of X15) broadcast to 288+32J(SP).
#define Q4K14_SCALE(J) \
	VPSRLDQ      $(2*J), X15, X13 \
	VPBROADCASTW X13, Y13 \
	VMOVDQU      Y13, 288+32*J(SP)

// The nibbles of the 32 bytes at QO(SI) into the stack at SO (low
// nibbles) and SO+32 (high).
#define Q4K14_UNPACK(QO, SO) \
	VMOVDQU QO(SI), Y5 \
	VPAND   Y14, Y5, Y6 \
	VPSRLW  $4, Y5, Y7 \
	VPAND   Y14, Y7, Y7 \
	VMOVDQU Y6, SO(SP) \
	VMOVDQU Y7, SO+32(SP)

TEXT ·q4Kx1x4AVX2(SB), NOSPLIT, $544-56
	K14PROLOGUE(R15)
	MOVQ    xs+24(FP), R13
	MOVL    $0x0f0f0f0f, AX
	VMOVD   AX, X14
	VPBROADCASTD X14, Y14
	TESTQ   CX, CX
	JZ      q4k14_done

q4k14_loop:
	PREFETCHT0 144(SI)
	PREFETCHT0 208(SI)
	PREFETCHT0 272(SI)
	Q4K14_UNPACK(16, 0)
	Q4K14_UNPACK(48, 64)
	Q4K14_UNPACK(80, 128)
	Q4K14_UNPACK(112, 192)
	MOVQ         SI, R8
	Q4K2_SCALES(R8)
	VPMOVZXBW    X9, X15
	Q4K14_SCALE(0)
	Q4K14_SCALE(1)
	Q4K14_SCALE(2)
	Q4K14_SCALE(3)
	Q4K14_SCALE(4)
	Q4K14_SCALE(5)
	Q4K14_SCALE(6)
	Q4K14_SCALE(7)
	VPMOVZXBD    X10, Y10
	VMOVDQU      Y10, 256(SP)
	VMOVD        0(SI), X12
	VCVTPH2PS    X12, X12
	Q4K14_COL(DI, (DX), R13, X0)
	LEAQ         (DI)(R9*1), R11
	LEAQ         (R13)(R10*1), BX
	Q4K14_COL(R11, (DX)(R15*1), BX, X1)
	LEAQ         (R13)(R10*2), BX
	Q4K14_COL(R14, (DX)(R15*2), BX, X2)
	LEAQ         (R14)(R9*1), R11
	LEAQ         (BX)(R10*1), BX
	LEAQ         (DX)(R15*2), R12
	Q4K14_COL(R11, (R12)(R15*1), BX, X3)
	ADDQ         $144, SI
	ADDQ         $256, DI
	ADDQ         $256, R14
	ADDQ         $4, DX
	ADDQ         $32, R13
	DECQ         CX
	JNZ          q4k14_loop

q4k14_done:
	K2COLSEPILOGUE

