//go:build amd64

#include "textflag.h"

// All kernels here compute 4 rows against one int8 activation column:
//
//	func k(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
//
// row i starts at w+i*stride (stride 0 computes one row four times, with
// exactly the same operations, which is how tail rows are done). For every
// block the integer dot product is formed exactly, converted to float32,
// and accumulated as acc += float(isum) * (dw*dx) in one ymm accumulator per
// row, so each row's result depends only on the row and the activations.

#define HSUM(Y, X, T) \
	VEXTRACTF128 $1, Y, T \
	VADDPS       T, X, X \
	VHADDPS      X, X, X \
	VHADDPS      X, X, X

#define PROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   stride+8(FP), BX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   nb+32(FP), CX \
	LEAQ   (SI)(BX*1), R8 \
	LEAQ   (SI)(BX*2), R9 \
	LEAQ   (R8)(BX*2), R10 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3

#define EPILOGUE \
	MOVQ  out+40(FP), AX \
	HSUM(Y0, X0, X4) \
	HSUM(Y1, X1, X4) \
	HSUM(Y2, X2, X4) \
	HSUM(Y3, X3, X4) \
	VMOVSS X0, 0(AX) \
	VMOVSS X1, 4(AX) \
	VMOVSS X2, 8(AX) \
	VMOVSS X3, 12(AX) \
	VZEROUPPER \
	RET

// acc += float(Y6 int32) * (fp16 at (P)) * Y5
#define SCALEACC(P, I, ACC) \
	VCVTDQ2PS    I, I \
	VPBROADCASTW (P), X8 \
	VCVTPH2PS    X8, Y8 \
	VMULPS       Y5, Y8, Y8 \
	VFMADD231PS  Y8, I, ACC

// ---- q8_0, AVX2: |w| * sign(x, w) with VPMADDUBSW, VPMADDWD by ones ----

#define Q8ROW_AVX2(P, ACC) \
	VMOVDQU    2(P), Y6 \
	VPSIGNB    Y6, Y4, Y7 \
	VPABSB     Y6, Y6 \
	VPMADDUBSW Y7, Y6, Y6 \
	VPMADDWD   Y15, Y6, Y6 \
	SCALEACC(P, Y6, ACC)

// func q8_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q8_0x4AVX2(SB), NOSPLIT, $0-48
	PROLOGUE
	MOVL         $0x00010001, R11
	VMOVD        R11, X15
	VPBROADCASTD X15, Y15
	TESTQ        CX, CX
	JZ           q8a2_done

q8a2_loop:
	VMOVDQU      (DI), Y4
	VBROADCASTSS (DX), Y5
	Q8ROW_AVX2(SI, Y0)
	Q8ROW_AVX2(R8, Y1)
	Q8ROW_AVX2(R9, Y2)
	Q8ROW_AVX2(R10, Y3)
	ADDQ         $34, SI
	ADDQ         $34, R8
	ADDQ         $34, R9
	ADDQ         $34, R10
	ADDQ         $32, DI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          q8a2_loop

q8a2_done:
	EPILOGUE

// ---- q8_0, AVX-512 VNNI: (w^0x80) as unsigned, VPDPBUSD, bias -128*sum(x) ----

#define Q8ROW_VNNI(P, ACC) \
	VPXOR    2(P), Y14, Y6 \
	VMOVDQA  Y13, Y7 \
	VPDPBUSD Y4, Y6, Y7 \
	SCALEACC(P, Y7, ACC)

// func q8_0x4VNNI(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q8_0x4VNNI(SB), NOSPLIT, $0-48
	PROLOGUE
	MOVL         $0x80808080, R11
	VMOVD        R11, X14
	VPBROADCASTD X14, Y14
	VPXOR        Y12, Y12, Y12
	TESTQ        CX, CX
	JZ           q8v_done

q8v_loop:
	VMOVDQU      (DI), Y4
	VBROADCASTSS (DX), Y5
	VPXOR        Y13, Y13, Y13
	VPDPBUSD     Y4, Y14, Y13
	VPSUBD       Y13, Y12, Y13
	Q8ROW_VNNI(SI, Y0)
	Q8ROW_VNNI(R8, Y1)
	Q8ROW_VNNI(R9, Y2)
	Q8ROW_VNNI(R10, Y3)
	ADDQ         $34, SI
	ADDQ         $34, R8
	ADDQ         $34, R9
	ADDQ         $34, R10
	ADDQ         $32, DI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          q8v_loop

q8v_done:
	EPILOGUE

// ---- q4_0: nibbles (0..15) as unsigned times x, bias -8*sum(x) ----

#define NIBBLES(P) \
	VMOVDQU     2(P), X6 \
	VPSRLW      $4, X6, X7 \
	VINSERTI128 $1, X7, Y6, Y6 \
	VPAND       Y14, Y6, Y6

#define Q4ROW_AVX2(P, ACC) \
	NIBBLES(P) \
	VPMADDUBSW Y4, Y6, Y6 \
	VPMADDWD   Y15, Y6, Y6 \
	VPADDD     Y13, Y6, Y6 \
	SCALEACC(P, Y6, ACC)

// func q4_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q4_0x4AVX2(SB), NOSPLIT, $0-48
	PROLOGUE
	MOVL         $0x00010001, R11
	VMOVD        R11, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x0f0f0f0f, R11
	VMOVD        R11, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x08080808, R11
	VMOVD        R11, X12
	VPBROADCASTD X12, Y12
	VPXOR        Y11, Y11, Y11
	TESTQ        CX, CX
	JZ           q4a2_done

q4a2_loop:
	VMOVDQU      (DI), Y4
	VBROADCASTSS (DX), Y5
	VPMADDUBSW   Y4, Y12, Y13
	VPMADDWD     Y15, Y13, Y13
	VPSUBD       Y13, Y11, Y13
	Q4ROW_AVX2(SI, Y0)
	Q4ROW_AVX2(R8, Y1)
	Q4ROW_AVX2(R9, Y2)
	Q4ROW_AVX2(R10, Y3)
	ADDQ         $18, SI
	ADDQ         $18, R8
	ADDQ         $18, R9
	ADDQ         $18, R10
	ADDQ         $32, DI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          q4a2_loop

q4a2_done:
	EPILOGUE

#define Q4ROW_VNNI(P, ACC) \
	NIBBLES(P) \
	VMOVDQA  Y13, Y7 \
	VPDPBUSD Y4, Y6, Y7 \
	SCALEACC(P, Y7, ACC)

// func q4_0x4VNNI(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q4_0x4VNNI(SB), NOSPLIT, $0-48
	PROLOGUE
	MOVL         $0x0f0f0f0f, R11
	VMOVD        R11, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x08080808, R11
	VMOVD        R11, X12
	VPBROADCASTD X12, Y12
	VPXOR        Y11, Y11, Y11
	TESTQ        CX, CX
	JZ           q4v_done

q4v_loop:
	VMOVDQU      (DI), Y4
	VBROADCASTSS (DX), Y5
	VPXOR        Y13, Y13, Y13
	VPDPBUSD     Y4, Y12, Y13
	VPSUBD       Y13, Y11, Y13
	Q4ROW_VNNI(SI, Y0)
	Q4ROW_VNNI(R8, Y1)
	Q4ROW_VNNI(R9, Y2)
	Q4ROW_VNNI(R10, Y3)
	ADDQ         $18, SI
	ADDQ         $18, R8
	ADDQ         $18, R9
	ADDQ         $18, R10
	ADDQ         $32, DI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          q4v_loop

q4v_done:
	EPILOGUE
