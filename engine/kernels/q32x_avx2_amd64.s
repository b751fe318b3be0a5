//go:build amd64

#include "textflag.h"

// ---- q4_1, 2 rows x 4 activation columns (batches), AVX2 ----
//
//	func q4_1x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
//
// The layout of q5_0x2x4AVX2 (qx_avx2_amd64.s): column c's values at xq +
// c*nb*32, its scales at xd + c*nb*4; (row i, column c) stored at out +
// c*ostride + 4*i. Per block each row's nibbles are unpacked once and the
// columns' activation sums s (exact, from the values) formed once; each
// element goes through q4_1x4AVX2's operations (isum exact, acc +=
// float(isum)*(d*dx), then acc += float(s)*(m*dx), blocks in order):
// bitwise its results.
//
// Y0..Y3 a row's int32 lanes for columns 0..3; Y4..Y7, X12 temporaries
// (X7 the reduced sums); X8, X9 the rows' accumulators; Y10 0x01 bytes;
// X11 the columns' sums as floats; X13 the columns' dx; Y14, Y15 the
// rows' nibbles (then X14, X15 their d*dx).

// Y(A..D) (8 int32 lanes each) -> XR = [sum A, sum B, sum C, sum D].
#define Q41IREDUCE4(A, B, C, D, T1, T2, T3, YR, XR, XT) \
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

DATA q41x0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q41x0f<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q41x0f<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q41x0f<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q41x0f<>(SB), RODATA|NOPTR, $32

DATA q41ones16<>+0(SB)/8, $0x0001000100010001
DATA q41ones16<>+8(SB)/8, $0x0001000100010001
DATA q41ones16<>+16(SB)/8, $0x0001000100010001
DATA q41ones16<>+24(SB)/8, $0x0001000100010001
GLOBL q41ones16<>(SB), RODATA|NOPTR, $32

// The 32 nibbles of the q4_1 block at P into Y (X its low half). Clobbers
// Y12.
#define Q41T2VALS(P, Y, X) \
	VMOVDQU     4(P), X \
	VPSRLW      $4, X, X12 \
	VINSERTI128 $1, X12, Y, Y \
	VPAND       q41x0f<>(SB), Y, Y

#define Q41T2SUM(XQ, OUT) \
	VPMADDUBSW XQ, Y10, OUT \
	VPMADDWD   q41ones16<>(SB), OUT, OUT

#define Q41T2COL(V, XQ, OUT) \
	VMOVDQU    XQ, Y12 \
	VPMADDUBSW Y12, V, OUT \
	VPMADDWD   q41ones16<>(SB), OUT, OUT

// One row (nibbles V, block at P) against the 4 columns into ACC; XV (V's
// low half) then holds d*dx, later m*dx.
#define Q41T2ROW(P, V, XV, ACC) \
	Q41T2COL(V, (DI), Y0) \
	Q41T2COL(V, (DI)(R9*1), Y1) \
	Q41T2COL(V, (DI)(R9*2), Y2) \
	Q41T2COL(V, (DI)(R10*1), Y3) \
	Q41IREDUCE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, X7, X12) \
	VPBROADCASTW (P), XV \
	VCVTPH2PS    XV, XV \
	VMULPS       X13, XV, XV \
	VCVTDQ2PS    X7, X7 \
	VMULPS       XV, X7, X7 \
	VADDPS       X7, ACC, ACC \
	VPBROADCASTW 2(P), XV \
	VCVTPH2PS    XV, XV \
	VMULPS       X13, XV, XV \
	VMULPS       X11, XV, XV \
	VADDPS       XV, ACC, ACC

TEXT ·q4_1x2x4AVX2(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), BX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   nb+32(FP), CX
	LEAQ   (SI)(BX*1), R8
	MOVQ   CX, R9
	SHLQ   $5, R9
	LEAQ   (R9)(R9*2), R10
	MOVQ   CX, R11
	SHLQ   $2, R11
	LEAQ   (R11)(R11*2), R12
	VXORPS X8, X8, X8
	VXORPS X9, X9, X9
	MOVL         $0x01010101, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	TESTQ  CX, CX
	JZ     q41t2_done

q41t2_loop:
	Q41T2SUM((DI), Y0)
	Q41T2SUM((DI)(R9*1), Y1)
	Q41T2SUM((DI)(R9*2), Y2)
	Q41T2SUM((DI)(R10*1), Y3)
	Q41IREDUCE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, X7, X12)
	VCVTDQ2PS X7, X11
	Q41T2VALS(SI, Y14, X14)
	Q41T2VALS(R8, Y15, X15)
	VMOVSS    (DX), X13
	VINSERTPS $0x10, (DX)(R11*1), X13, X13
	VINSERTPS $0x20, (DX)(R11*2), X13, X13
	VINSERTPS $0x30, (DX)(R12*1), X13, X13
	Q41T2ROW(SI, Y14, X14, X8)
	Q41T2ROW(R8, Y15, X15, X9)
	ADDQ      $20, SI
	ADDQ      $20, R8
	ADDQ      $32, DI
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q41t2_loop

q41t2_done:
	MOVQ       out+40(FP), AX
	MOVQ       ostride+48(FP), BX
	LEAQ       (BX)(BX*2), CX
	VMOVSS     X8, (AX)
	VEXTRACTPS $1, X8, (AX)(BX*1)
	VEXTRACTPS $2, X8, (AX)(BX*2)
	VEXTRACTPS $3, X8, (AX)(CX*1)
	VMOVSS     X9, 4(AX)
	VEXTRACTPS $1, X9, 4(AX)(BX*1)
	VEXTRACTPS $2, X9, 4(AX)(BX*2)
	VEXTRACTPS $3, X9, 4(AX)(CX*1)
	VZEROUPPER
	RET
