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
// Every element goes through the operations of the 4-row AVX2 kernels in
// qdot_amd64.s: per block the 8 int32 lanes of the integer dot product are
// converted to float32 and accumulated as acc = fma(lanes, dw*dx, acc) in
// one ymm accumulator per element, blocks in order, followed by the same
// horizontal sum. The results are bitwise those of q8_0x4AVX2 and
// q4_0x4AVX2 on each column alone; what the tile saves is the work shared
// between elements: a row's weights are loaded, made absolute (q8_0) or
// unpacked (q4_0) and their scale converted once for 4 columns, a
// column's values loaded once for 2 rows.
//
// Registers: Y0..Y3 row 0 x columns 0..3, Y4..Y7 row 1; Y8, Y9 the two
// rows' |w| (q8_0) or nibbles (q4_0); Y10, Y11 their scales; Y12 the
// column's values; Y13 a temporary; Y14 dw*dx; Y15 the q4_0 bias.

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

// 8 x int32 -1: VPSIGND by it negates.
DATA t2neg<>+0(SB)/8, $0xffffffffffffffff
DATA t2neg<>+8(SB)/8, $0xffffffffffffffff
DATA t2neg<>+16(SB)/8, $0xffffffffffffffff
DATA t2neg<>+24(SB)/8, $0xffffffffffffffff
GLOBL t2neg<>(SB), RODATA|NOPTR, $32

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
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7

// Both rows' block scales as float32 in Y10, Y11.
#define T2SCALES \
	VPBROADCASTW (SI), X10 \
	VCVTPH2PS    X10, Y10 \
	VPBROADCASTW (R8), X11 \
	VCVTPH2PS    X11, Y11

// Y14 = dx of the column at XD times the row scale DW.
#define T2PROD(XD, DW) \
	VBROADCASTSS XD, Y14 \
	VMULPS       DW, Y14, Y14

// q8_0: Y13 = |w| * sign(x, w) summed to int32 lanes, then the float step.
#define T2Q8(P, ABS, DW, ACC) \
	VPSIGNB     2(P), Y12, Y13 \
	VPMADDUBSW  Y13, ABS, Y13 \
	VPMADDWD    t2ones<>(SB), Y13, Y13 \
	VCVTDQ2PS   Y13, Y13 \
	VFMADD231PS Y14, Y13, ACC

// One column (values at XQ, scale at XD) against both q8_0 rows.
#define T2Q8COL(XQ, XD, ACC0, ACC1) \
	VMOVDQU XQ, Y12 \
	T2PROD(XD, Y10) \
	T2Q8(SI, Y8, Y10, ACC0) \
	T2PROD(XD, Y11) \
	T2Q8(R8, Y9, Y11, ACC1)

// Stores the horizontal sum of ACC (as HSUM in qdot_amd64.s) at DST.
#define T2STORE(ACC, XACC, DST) \
	VEXTRACTF128 $1, ACC, X13 \
	VADDPS       X13, XACC, XACC \
	VHADDPS      XACC, XACC, XACC \
	VHADDPS      XACC, XACC, XACC \
	VMOVSS       XACC, DST

#define T2EPILOGUE \
	MOVQ out+40(FP), AX \
	MOVQ ostride+48(FP), BX \
	LEAQ (BX)(BX*2), CX \
	T2STORE(Y0, X0, 0(AX)) \
	T2STORE(Y1, X1, 0(AX)(BX*1)) \
	T2STORE(Y2, X2, 0(AX)(BX*2)) \
	T2STORE(Y3, X3, 0(AX)(CX*1)) \
	T2STORE(Y4, X4, 4(AX)) \
	T2STORE(Y5, X5, 4(AX)(BX*1)) \
	T2STORE(Y6, X6, 4(AX)(BX*2)) \
	T2STORE(Y7, X7, 4(AX)(CX*1)) \
	VZEROUPPER \
	RET

// func q8_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
TEXT ·q8_0x2x4AVX2(SB), NOSPLIT, $0-56
	T2PROLOGUE
	TESTQ CX, CX
	JZ    q8t2_done

q8t2_loop:
	PREFETCHT0 (SI)(BX*2)
	PREFETCHT0 (R8)(BX*2)
	VMOVDQU    2(SI), Y8
	VPABSB     Y8, Y8
	VMOVDQU    2(R8), Y9
	VPABSB     Y9, Y9
	T2SCALES
	T2Q8COL((DI), (DX), Y0, Y4)
	T2Q8COL((DI)(R9*1), (DX)(R11*1), Y1, Y5)
	T2Q8COL((DI)(R9*2), (DX)(R11*2), Y2, Y6)
	T2Q8COL((DI)(R10*1), (DX)(R12*1), Y3, Y7)
	ADDQ       $34, SI
	ADDQ       $34, R8
	ADDQ       $32, DI
	ADDQ       $4, DX
	DECQ       CX
	JNZ        q8t2_loop

q8t2_done:
	T2EPILOGUE

// q4_0: the nibbles of the row at P (element j in byte j) into Y, with X13
// as a temporary.
#define T2NIBBLES(P, Y, X) \
	VMOVDQU     2(P), X \
	VPSRLW      $4, X, X13 \
	VINSERTI128 $1, X13, Y, Y \
	VPAND       t2nib<>(SB), Y, Y

// q4_0: nibbles (unsigned) times x summed to int32 lanes, plus the bias
// -8*sum(x) of the column (Y15), then the float step.
#define T2Q4(NIB, ACC) \
	VPMADDUBSW  Y12, NIB, Y13 \
	VPMADDWD    t2ones<>(SB), Y13, Y13 \
	VPADDD      Y15, Y13, Y13 \
	VCVTDQ2PS   Y13, Y13 \
	VFMADD231PS Y14, Y13, ACC

// One column (values at XQ, scale at XD) against both q4_0 rows.
#define T2Q4COL(XQ, XD, ACC0, ACC1) \
	VMOVDQU    XQ, Y12 \
	VMOVDQU    t2eights<>(SB), Y15 \
	VPMADDUBSW Y12, Y15, Y15 \
	VPMADDWD   t2ones<>(SB), Y15, Y15 \
	VPSIGND    t2neg<>(SB), Y15, Y15 \
	T2PROD(XD, Y10) \
	T2Q4(Y8, ACC0) \
	T2PROD(XD, Y11) \
	T2Q4(Y9, ACC1)

// func q4_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
TEXT ·q4_0x2x4AVX2(SB), NOSPLIT, $0-56
	T2PROLOGUE
	TESTQ CX, CX
	JZ    q4t2_done

q4t2_loop:
	PREFETCHT0 (SI)(BX*2)
	PREFETCHT0 (R8)(BX*2)
	T2NIBBLES(SI, Y8, X8)
	T2NIBBLES(R8, Y9, X9)
	T2SCALES
	T2Q4COL((DI), (DX), Y0, Y4)
	T2Q4COL((DI)(R9*1), (DX)(R11*1), Y1, Y5)
	T2Q4COL((DI)(R9*2), (DX)(R11*2), Y2, Y6)
	T2Q4COL((DI)(R10*1), (DX)(R12*1), Y3, Y7)
	ADDQ       $18, SI
	ADDQ       $18, R8
	ADDQ       $32, DI
	ADDQ       $4, DX
	DECQ       CX
	JNZ        q4t2_loop

q4t2_done:
	T2EPILOGUE
