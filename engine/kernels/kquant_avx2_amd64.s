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

#include "kquant_amd64.h"

// The 1x4 kernels' start: SI the row, DI column 0's values, DX its
// scales, CX nsb; R9 and R10 the column strides of the values (nsb*256)
// and of the sums (nsb*32), XDS that of the scales (nsb*4); R14 column
// 2's values; the accumulators Y0..Y3 zeroed.
#define K14PROLOGUE(XDS) \
	MOVQ   w+0(FP), SI \
	MOVQ   xq+8(FP), DI \
	MOVQ   xd+16(FP), DX \
	MOVQ   nsb+32(FP), CX \
	MOVQ   CX, R9 \
	SHLQ   $8, R9 \
	MOVQ   CX, R10 \
	SHLQ   $5, R10 \
	LEAQ   (DI)(R9*2), R14 \
	MOVQ   CX, XDS \
	SHLQ   $2, XDS \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3

// The 1x4 kernels' end: the 4 columns' sums (lane 0 of X0..X3) at out +
// c*ostride.
#define K2COLSEPILOGUE \
	MOVQ    out+40(FP), AX \
	MOVQ    ostride+48(FP), BX \
	LEAQ    (BX)(BX*2), CX \
	VMOVSS  X0, (AX) \
	VMOVSS  X1, (AX)(BX*1) \
	VMOVSS  X2, (AX)(BX*2) \
	VMOVSS  X3, (AX)(CX*1) \
	VZEROUPPER \
	RET

// A..D (8 int32 lanes each) -> A: lane t of the low half is the sum of the
// low 4 lanes of input t, lane 4+t the sum of its high 4 lanes.
#define K2HADD4(A, B, C, D) \
	VPHADDD B, A, A \
	VPHADDD D, C, C \
	VPHADDD C, A, A

// 16 x int16 1.
DATA k2ones<>+0(SB)/8, $0x0001000100010001
DATA k2ones<>+8(SB)/8, $0x0001000100010001
DATA k2ones<>+16(SB)/8, $0x0001000100010001
DATA k2ones<>+24(SB)/8, $0x0001000100010001
GLOBL k2ones<>(SB), RODATA|NOPTR, $32

// q6_k scales of a half, sub-block t's two 16-element groups (2t, 2t+1)
// into bytes t and 4+t: even bytes first, then odd ones, per 8 bytes.
DATA k2q6sc<>+0(SB)/8, $0x0705030106040200
DATA k2q6sc<>+8(SB)/8, $0x0f0d0b090e0c0a08
GLOBL k2q6sc<>(SB), RODATA|NOPTR, $16

// ---- q4_k: Y4 = dx[0..7], Y13 = int16 ones, Y14 = 0x0f bytes ----

// Sub-blocks 2c (low nibbles) and 2c+1 (high) from the 32 bytes at QO(P)
// against x at XO(DI) and XO+32(DI): 8 int32 lanes into LO and HI.
#define Q4K2_PAIR(P, QO, XO, LO, HI) \
	VMOVDQU    QO(P), Y5 \
	VPAND      Y14, Y5, LO \
	VPSRLW     $4, Y5, HI \
	VPAND      Y14, HI, HI \
	VPMADDUBSW XO(DI), LO, LO \
	VPMADDWD   Y13, LO, LO \
	VPMADDUBSW XO+32(DI), HI, HI \
	VPMADDWD   Y13, HI, HI

// The 6-bit scales (X9) and mins (X10) of the row at P, 8 bytes each, as
// in scaleMinK4.
#define Q4K2_SCALES(P) \
	MOVL  4(P), AX \
	MOVL  12(P), R11 \
	MOVL  AX, R12 \
	SHRL  $6, R12 \
	ANDL  $0x03030303, R12 \
	SHLL  $4, R12 \
	MOVL  R11, BX \
	ANDL  $0x0f0f0f0f, BX \
	ORL   BX, R12 \
	ANDL  $0x3f3f3f3f, AX \
	SHLQ  $32, R12 \
	ORQ   R12, AX \
	VMOVQ AX, X9 \
	MOVL  8(P), AX \
	MOVL  AX, R12 \
	SHRL  $6, R12 \
	ANDL  $0x03030303, R12 \
	SHLL  $4, R12 \
	SHRL  $4, R11 \
	ANDL  $0x0f0f0f0f, R11 \
	ORL   R11, R12 \
	ANDL  $0x3f3f3f3f, AX \
	SHLQ  $32, R12 \
	ORQ   R12, AX \
	VMOVQ AX, X10

// Y8 (8 int32 lanes D) and Y10 (8 lanes M) -> X8 = [float(sum D),
// float(sum M), ...] (exact int32 sums). Clobbers X10.
#define K2SUMDM \
	VPHADDD      Y10, Y8, Y8 \
	VEXTRACTI128 $1, Y8, X10 \
	VPADDD       X10, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VCVTDQ2PS    X8, X8

// ACC (lane 0) += X8[0]*X11[0]; ACC -= X8[1]*X11[1] (X11 = [d*dx,
// dmin*dx]), each product rounded. Clobbers X8.
#define K2ACCDM(ACC) \
	VMULPS    X11, X8, X8 \
	VADDSS    X8, ACC, ACC \
	VMOVSHDUP X8, X8 \
	VSUBSS    X8, ACC, ACC

#define Q4K2_ROW(P, ACC) \
	Q4K2_PAIR(P, 16, 0, Y6, Y7) \
	Q4K2_PAIR(P, 48, 64, Y8, Y9) \
	K2HADD4(Y6, Y7, Y8, Y9) \
	Q4K2_PAIR(P, 80, 128, Y7, Y8) \
	Q4K2_PAIR(P, 112, 192, Y9, Y10) \
	K2HADD4(Y7, Y8, Y9, Y10) \
	VPERM2I128   $0x20, Y7, Y6, Y8 \
	VPERM2I128   $0x31, Y7, Y6, Y9 \
	VPADDD       Y9, Y8, Y8 \
	Q4K2_SCALES(P) \
	VPMOVZXBD    X9, Y9 \
	VPMULLD      Y9, Y8, Y8 \
	VPMOVZXBD    X10, Y10 \
	VPMULLD      (R13), Y10, Y10 \
	K2SUMDM \
	VMOVD        0(P), X11 \
	VCVTPH2PS    X11, X11 \
	VMULPS       X4, X11, X11 \
	K2ACCDM(ACC)

// func q4Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q4Kx4AVX2(SB), NOSPLIT, $0-56
	KPROLOGUE
	VMOVDQU k2ones<>(SB), Y13
	MOVL    $0x0f0f0f0f, AX
	VMOVD   AX, X14
	VPBROADCASTD X14, Y14
	TESTQ   CX, CX
	JZ      q4k2_done

q4k2_loop:
	KPREFETCH4
	VBROADCASTSS (DX), X4
	Q4K2_ROW(SI, X0)
	Q4K2_ROW(R8, X1)
	Q4K2_ROW(R9, X2)
	Q4K2_ROW(R10, X3)
	ADDQ    $144, SI
	ADDQ    $144, R8
	ADDQ    $144, R9
	ADDQ    $144, R10
	ADDQ    $256, DI
	ADDQ    $4, DX
	ADDQ    $32, R13
	DECQ    CX
	JNZ     q4k2_loop

q4k2_done:
	KEPILOGUE

// ---- q6_k: Y4 = dx[0..7], Y13 = int16 ones, Y14 = 0x0f bytes, Y12 = 0x30
// bytes; stack 0..255: per sub-block (32 x values) the int16 pair sums
// 32*(x[2i]+x[2i+1]), subtracted so that the 6-bit values count as q-32.

// One sub-block: Q (6-bit values) against x at XO(DI): 8 int32 lanes.
#define Q6K2_SUB(Q, XO) \
	VPMADDUBSW XO(DI), Q, Q \
	VPSUBW     XO(SP), Q, Q \
	VPMADDWD   Y13, Q, Q

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
	VPMADDUBSW XO(DI), Y15, Y5 \
	VMOVDQU    Y5, XO(SP)

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
// X0..X3 the 4 columns' accumulators (lane 0); X4 the column's dx; X12 =
// [d, dmin]; Y13 int16 ones; Y14 0x0f bytes; Y15 the row's scales
// (int32), and the mins (int32) at 256(SP).

// Sub-block pair (2c, 2c+1) of the column at XQ: nibbles from the stack.
#define Q4K14_PAIR(SO, XQ, XO, LO, HI) \
	VMOVDQU    SO(SP), LO \
	VMOVDQU    SO+32(SP), HI \
	VPMADDUBSW XO(XQ), LO, LO \
	VPMADDWD   Y13, LO, LO \
	VPMADDUBSW XO+32(XQ), HI, HI \
	VPMADDWD   Y13, HI, HI

// One column: values at XQ, scale at XD (memory), sums at XS, into ACC.
#define Q4K14_COL(XQ, XD, XS, ACC) \
	VBROADCASTSS XD, X4 \
	Q4K14_PAIR(0, XQ, 0, Y6, Y7) \
	Q4K14_PAIR(64, XQ, 64, Y8, Y9) \
	K2HADD4(Y6, Y7, Y8, Y9) \
	Q4K14_PAIR(128, XQ, 128, Y7, Y8) \
	Q4K14_PAIR(192, XQ, 192, Y9, Y10) \
	K2HADD4(Y7, Y8, Y9, Y10) \
	VPERM2I128   $0x20, Y7, Y6, Y8 \
	VPERM2I128   $0x31, Y7, Y6, Y9 \
	VPADDD       Y9, Y8, Y8 \
	VPMULLD      Y15, Y8, Y8 \
	VMOVDQU      256(SP), Y10 \
	VPMULLD      (XS), Y10, Y10 \
	K2SUMDM \
	VMULPS       X4, X12, X11 \
	K2ACCDM(ACC)

// The nibbles of the 32 bytes at QO(SI) into the stack at SO (low
// nibbles) and SO+32 (high).
#define Q4K14_UNPACK(QO, SO) \
	VMOVDQU QO(SI), Y5 \
	VPAND   Y14, Y5, Y6 \
	VPSRLW  $4, Y5, Y7 \
	VPAND   Y14, Y7, Y7 \
	VMOVDQU Y6, SO(SP) \
	VMOVDQU Y7, SO+32(SP)

TEXT ·q4Kx1x4AVX2(SB), NOSPLIT, $288-56
	VMOVDQU k2ones<>(SB), Y13 // before R15 is set: no global access after
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
	VPMOVZXBD    X9, Y15
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
	VPMADDUBSW XO(XQ), Q, Q \
	VPMADDUBSW XO(XQ), Y15, Y14 \
	VPSUBW     Y14, Q, Q \
	VPMADDWD   Y13, Q, Q

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
