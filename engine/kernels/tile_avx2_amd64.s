//go:build amd64

#include "textflag.h"

// Mat-mat kernels, AVX2: 2 weight rows x 4 activation columns per pass.
//
//	func k(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
//
// Row i (0, 1) starts at w + i*stride. Column c's int8 values start at
// xq + c*nb*32 and its block scales at xd + c*nb*4 (the Pool's quantized
// activations, one column after the other). The result for (row i,
// column c) is stored at out + c*ostride + 4*i (ostride in bytes).
//
// Every element goes through the canonical operations of the row kernels
// in qdot_amd64.s: per block the exact int32 dot product, converted to
// float32, times (dw*dx), added to the element's accumulator, blocks in
// order. A row's 4 columns share one xmm accumulator (lane c), so the
// float step is done for 4 elements at once; the results are bitwise
// those of q8_0x4AVX2 and q4_0x4AVX2 on each column alone. What the tile
// saves is the work shared between elements: a row's weights are loaded,
// made absolute (q8_0) or unpacked (q4_0) and their scale converted once
// for 4 columns.
//
// Registers: Y0..Y3 a row's int32 lanes for columns 0..3; Y4..Y7 and X12
// the reduction's temporaries (X7 its result); Y8, Y9 the two rows' |w|
// (q8_0) or nibbles (q4_0); X10 dw*dx; X11 the q4_0 bias sums; Y12 a
// column's values; X13 the 4 columns' dx; X14, X15 the two rows'
// accumulators.

// 16 x int16 1: VPMADDWD by it sums pairs to int32.
DATA t2ones<>+0(SB)/8, $0x0001000100010001
DATA t2ones<>+8(SB)/8, $0x0001000100010001
DATA t2ones<>+16(SB)/8, $0x0001000100010001
DATA t2ones<>+24(SB)/8, $0x0001000100010001
GLOBL t2ones<>(SB), RODATA|NOPTR, $32

// 32 x byte 8: VPMADDUBSW by it gives 8*(pair sums) of the activations.
DATA t2eights<>+0(SB)/8, $0x0808080808080808
DATA t2eights<>+8(SB)/8, $0x0808080808080808
DATA t2eights<>+16(SB)/8, $0x0808080808080808
DATA t2eights<>+24(SB)/8, $0x0808080808080808
GLOBL t2eights<>(SB), RODATA|NOPTR, $32

// 32 x byte 0x0f: the nibble mask.
DATA t2nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA t2nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA t2nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA t2nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL t2nib<>(SB), RODATA|NOPTR, $32


// SI row 0, R8 row 1, BX stride; DI column 0's values, R9 = nb*32 (column
// stride), R10 = 3*R9; DX column 0's scales, R11 = nb*4, R12 = 3*R11; CX
// block count.
#define T2PROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   stride+8(FP), BX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   nb+32(FP), CX \
	LEAQ   (SI)(BX*1), R8 \
	MOVQ   CX, R9 \
	SHLQ   $5, R9 \
	LEAQ   (R9)(R9*2), R10 \
	MOVQ   CX, R11 \
	SHLQ   $2, R11 \
	LEAQ   (R11)(R11*2), R12 \
	VXORPS X14, X14, X14 \
	VXORPS X15, X15, X15

// Y(A..D) (8 int32 lanes each) -> X7 = [sum A, sum B, sum C, sum D]
// (IREDUCE4 of qdot_amd64.s). Clobbers Y4..Y6, X12.
#define T2REDUCE(A, B, C, D) \
	VPUNPCKLDQ   B, A, Y4 \
	VPUNPCKHDQ   B, A, Y5 \
	VPADDD       Y5, Y4, Y4 \
	VPUNPCKLDQ   D, C, Y5 \
	VPUNPCKHDQ   D, C, Y6 \
	VPADDD       Y6, Y5, Y5 \
	VPUNPCKLQDQ  Y5, Y4, Y6 \
	VPUNPCKHQDQ  Y5, Y4, Y7 \
	VPADDD       Y6, Y7, Y7 \
	VEXTRACTI128 $1, Y7, X12 \
	VPADDD       X12, X7, X7

// X13 = the 4 columns' block scales dx.
#define T2DX \
	VMOVSS    (DX), X13 \
	VINSERTPS $0x10, (DX)(R11*1), X13, X13 \
	VINSERTPS $0x20, (DX)(R11*2), X13, X13 \
	VINSERTPS $0x30, (DX)(R12*1), X13, X13

// ACC += float(X7) * (dw of the row at P * dx).
#define T2FLOAT(P, ACC) \
	VPBROADCASTW (P), X10 \
	VCVTPH2PS    X10, X10 \
	VMULPS       X13, X10, X10 \
	VCVTDQ2PS    X7, X7 \
	VMULPS       X10, X7, X7 \
	VADDPS       X7, ACC, ACC

// Stores lane c of the rows' accumulators at out + c*ostride (+4 for row 1).
#define T2EPILOGUE \
	MOVQ       out+40(FP), AX \
	MOVQ       ostride+48(FP), BX \
	LEAQ       (BX)(BX*2), CX \
	VMOVSS     X14, (AX) \
	VEXTRACTPS $1, X14, (AX)(BX*1) \
	VEXTRACTPS $2, X14, (AX)(BX*2) \
	VEXTRACTPS $3, X14, (AX)(CX*1) \
	VMOVSS     X15, 4(AX) \
	VEXTRACTPS $1, X15, 4(AX)(BX*1) \
	VEXTRACTPS $2, X15, 4(AX)(BX*2) \
	VEXTRACTPS $3, X15, 4(AX)(CX*1) \
	VZEROUPPER \
	RET

// q8_0: the column at XQ against the row at P (|w| in ABS): |w| * sign(x,
// w) summed to 8 int32 lanes in OUT.
#define T2Q8(P, ABS, XQ, OUT) \
	VMOVDQU    XQ, Y12 \
	VPSIGNB    2(P), Y12, Y12 \
	VPMADDUBSW Y12, ABS, OUT \
	VPMADDWD   t2ones<>(SB), OUT, OUT

// One q8_0 row against the 4 columns into ACC.
#define T2Q8ROW(P, ABS, ACC) \
	T2Q8(P, ABS, (DI), Y0) \
	T2Q8(P, ABS, (DI)(R9*1), Y1) \
	T2Q8(P, ABS, (DI)(R9*2), Y2) \
	T2Q8(P, ABS, (DI)(R10*1), Y3) \
	T2REDUCE(Y0, Y1, Y2, Y3) \
	T2FLOAT(P, ACC)

// func q8_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
TEXT ·q8_0x2x4AVX2(SB), NOSPLIT, $0-56
	T2PROLOGUE
	TESTQ CX, CX
	JZ    q8t2_done

q8t2_loop:
	VMOVDQU 2(SI), Y8
	VPABSB  Y8, Y8
	VMOVDQU 2(R8), Y9
	VPABSB  Y9, Y9
	T2DX
	T2Q8ROW(SI, Y8, X14)
	T2Q8ROW(R8, Y9, X15)
	ADDQ    $34, SI
	ADDQ    $34, R8
	ADDQ    $32, DI
	ADDQ    $4, DX
	DECQ    CX
	JNZ     q8t2_loop

q8t2_done:
	T2EPILOGUE

// q4_0: the nibbles of the row at P (element j in byte j) into Y, with X13
// as a temporary.
#define T2NIBBLES(P, Y, X) \
	VMOVDQU     2(P), X \
	VPSRLW      $4, X, X13 \
	VINSERTI128 $1, X13, Y, Y \
	VPAND       t2nib<>(SB), Y, Y

// q4_0 bias lanes of the column at XQ: 8 * pair sums of its values.
#define T2BIAS(XQ, OUT) \
	VMOVDQU    t2eights<>(SB), OUT \
	VPMADDUBSW XQ, OUT, OUT \
	VPMADDWD   t2ones<>(SB), OUT, OUT

// q4_0: nibbles (unsigned) times the column at XQ summed to int32 lanes.
#define T2Q4(NIB, XQ, OUT) \
	VMOVDQU    XQ, Y12 \
	VPMADDUBSW Y12, NIB, OUT \
	VPMADDWD   t2ones<>(SB), OUT, OUT

// One q4_0 row (nibbles NIB, scale at P) against the 4 columns into ACC:
// the int32 dots minus the columns' bias sums (X11).
#define T2Q4ROW(P, NIB, ACC) \
	T2Q4(NIB, (DI), Y0) \
	T2Q4(NIB, (DI)(R9*1), Y1) \
	T2Q4(NIB, (DI)(R9*2), Y2) \
	T2Q4(NIB, (DI)(R10*1), Y3) \
	T2REDUCE(Y0, Y1, Y2, Y3) \
	VPSUBD X11, X7, X7 \
	T2FLOAT(P, ACC)

// func q4_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
TEXT ·q4_0x2x4AVX2(SB), NOSPLIT, $0-56
	T2PROLOGUE
	TESTQ CX, CX
	JZ    q4t2_done

q4t2_loop:
	T2NIBBLES(SI, Y8, X8)
	T2NIBBLES(R8, Y9, X9)
	T2BIAS((DI), Y0)
	T2BIAS((DI)(R9*1), Y1)
	T2BIAS((DI)(R9*2), Y2)
	T2BIAS((DI)(R10*1), Y3)
	T2REDUCE(Y0, Y1, Y2, Y3)
	VMOVDQA X7, X11
	T2DX
	T2Q4ROW(SI, Y8, X14)
	T2Q4ROW(R8, Y9, X15)
	ADDQ    $18, SI
	ADDQ    $18, R8
	ADDQ    $32, DI
	ADDQ    $4, DX
	DECQ    CX
	JNZ     q4t2_loop

q4t2_done:
	T2EPILOGUE
