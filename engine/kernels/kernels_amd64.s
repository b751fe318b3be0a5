//go:build amd64

#include "textflag.h"

// Float kernels. The dot products follow the canonical definition of
// dotF32Generic: 16 lanes (Y0: lanes 0..7, Y1: lanes 8..15), element i
// added to lane i%16 as lane += w[i]*x[i] with the product rounded (no
// FMA), then lane k + lane k+8 (HSUM16) and the canonical 8-lane tree
// ((h0+h4)+(h1+h5)) + ((h2+h6)+(h3+h7)), which is what VEXTRACTF128,
// VADDPS and two VHADDPS compute. n must be a multiple of 16.

// X0 = hsum16 of Y0 (lanes 0..7) and Y1 (lanes 8..15). Clobbers X1.
#define HSUM16 \
	VADDPS       Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VHADDPS      X0, X0, X0 \
	VHADDPS      X0, X0, X0

// Lanes += (W0, W1) * the 16 floats at (R) (W0, W1 hold the weights as
// float32).
#define LANES16(W0, W1, R) \
	VMULPS (R), W0, W0 \
	VMULPS 32(R), W1, W1 \
	VADDPS W0, Y0, Y0 \
	VADDPS W1, Y1, Y1

// ---- 4 rows at a time: the f16, bf16 and f32 weight rows of mat-vec ----
//
//	func k(w *byte, stride int, x *float32, n int, out *float32)
//
// out[r] = the canonical 16-lane dot of row r (at w + r*stride) with x,
// for r < 4 (n % 16 == 0): each row has its own two accumulators (Y0/Y1,
// Y2/Y3, Y4/Y5, Y6/Y7), so the four rows' additions run in parallel; the
// operations per row are those of the one-row kernels.

// Row at P (elements i..i+15 converted by CONV into W0, W1) into A0, A1.
#define ROW4STEP(CONV, P, A0, A1) \
	CONV(P, Y12, Y13) \
	VMULPS Y10, Y12, Y12 \
	VMULPS Y11, Y13, Y13 \
	VADDPS Y12, A0, A0 \
	VADDPS Y13, A1, A1

// The hsum16 of (A0, A1) stored at DST. Clobbers X14.
#define ROW4SUM(A0, A1, XA0, DST) \
	VADDPS       A1, A0, A0 \
	VEXTRACTF128 $1, A0, X14 \
	VADDPS       X14, XA0, XA0 \
	VHADDPS      XA0, XA0, XA0 \
	VHADDPS      XA0, XA0, XA0 \
	VMOVSS       XA0, DST

#define CONVF16(P, W0, W1) \
	VCVTPH2PS (P), W0 \
	VCVTPH2PS 16(P), W1

#define CONVBF16(P, W0, W1) \
	VPMOVZXWD (P), W0 \
	VPSLLD    $16, W0, W0 \
	VPMOVZXWD 16(P), W1 \
	VPSLLD    $16, W1, W1

#define CONVF32(P, W0, W1) \
	VMOVUPS (P), W0 \
	VMOVUPS 32(P), W1

// SI row 0, R8..R10 rows 1..3, DI x, CX chunks of 16; accumulators zeroed.
#define ROW4PROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   stride+8(FP), BX \
	MOVQ   x+16(FP), DI \
	MOVQ   n+24(FP), CX \
	SHRQ   $4, CX \
	LEAQ   (SI)(BX*1), R8 \
	LEAQ   (SI)(BX*2), R9 \
	LEAQ   (R8)(BX*2), R10 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7

// One chunk of 16 elements of the 4 rows (CHUNK bytes of each).
#define ROW4BODY(CONV, CHUNK) \
	VMOVUPS (DI), Y10 \
	VMOVUPS 32(DI), Y11 \
	ROW4STEP(CONV, SI, Y0, Y1) \
	ROW4STEP(CONV, R8, Y2, Y3) \
	ROW4STEP(CONV, R9, Y4, Y5) \
	ROW4STEP(CONV, R10, Y6, Y7) \
	ADDQ    $CHUNK, SI \
	ADDQ    $CHUNK, R8 \
	ADDQ    $CHUNK, R9 \
	ADDQ    $CHUNK, R10 \
	ADDQ    $64, DI

#define ROW4EPILOGUE \
	MOVQ    out+32(FP), AX \
	ROW4SUM(Y0, Y1, X0, 0(AX)) \
	ROW4SUM(Y2, Y3, X2, 4(AX)) \
	ROW4SUM(Y4, Y5, X4, 8(AX)) \
	ROW4SUM(Y6, Y7, X6, 12(AX)) \
	VZEROUPPER \
	RET

// func dotF16x4AVX2(w *byte, stride int, x *float32, n int, out *float32)
TEXT ·dotF16x4AVX2(SB), NOSPLIT, $0-40
	ROW4PROLOGUE
	TESTQ CX, CX
	JZ    f16x4_sum

f16x4_loop:
	ROW4BODY(CONVF16, 32)
	DECQ CX
	JNZ  f16x4_loop

f16x4_sum:
	ROW4EPILOGUE

// func dotBF16x4AVX2(w *byte, stride int, x *float32, n int, out *float32)
TEXT ·dotBF16x4AVX2(SB), NOSPLIT, $0-40
	ROW4PROLOGUE
	TESTQ CX, CX
	JZ    bf16x4_sum

bf16x4_loop:
	ROW4BODY(CONVBF16, 32)
	DECQ CX
	JNZ  bf16x4_loop

bf16x4_sum:
	ROW4EPILOGUE

// func dotF32x4AVX2(w *byte, stride int, x *float32, n int, out *float32)
TEXT ·dotF32x4AVX2(SB), NOSPLIT, $0-40
	ROW4PROLOGUE
	TESTQ CX, CX
	JZ    f32x4_sum

f32x4_loop:
	ROW4BODY(CONVF32, 64)
	DECQ CX
	JNZ  f32x4_loop

f32x4_sum:
	ROW4EPILOGUE

// The same 4-row dots with AVX-512: one zmm is the 16 canonical lanes of a
// row (Z0..Z3), and lane k + lane k+8 is the sum of its two halves, so the
// results are bitwise those of the AVX2 kernels.

#define Z4STEP(CONV, P, ACC) \
	CONV(P, Z12) \
	VMULPS Z10, Z12, Z12 \
	VADDPS Z12, ACC, ACC

#define Z4SUM(ZA, YA, XA, DST) \
	VEXTRACTF64X4 $1, ZA, Y14 \
	VADDPS        Y14, YA, YA \
	VEXTRACTF128  $1, YA, X14 \
	VADDPS        X14, XA, XA \
	VHADDPS       XA, XA, XA \
	VHADDPS       XA, XA, XA \
	VMOVSS        XA, DST

#define ZCONVF16(P, W) \
	VCVTPH2PS (P), W

#define ZCONVBF16(P, W) \
	VPMOVZXWD (P), W \
	VPSLLD    $16, W, W

#define ZCONVF32(P, W) \
	VMOVUPS (P), W

#define Z4PROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   stride+8(FP), BX \
	MOVQ   x+16(FP), DI \
	MOVQ   n+24(FP), CX \
	SHRQ   $4, CX \
	LEAQ   (SI)(BX*1), R8 \
	LEAQ   (SI)(BX*2), R9 \
	LEAQ   (R8)(BX*2), R10 \
	VXORPS Z0, Z0, Z0 \
	VXORPS Z1, Z1, Z1 \
	VXORPS Z2, Z2, Z2 \
	VXORPS Z3, Z3, Z3

#define Z4BODY(CONV, CHUNK) \
	VMOVUPS (DI), Z10 \
	Z4STEP(CONV, SI, Z0) \
	Z4STEP(CONV, R8, Z1) \
	Z4STEP(CONV, R9, Z2) \
	Z4STEP(CONV, R10, Z3) \
	ADDQ    $CHUNK, SI \
	ADDQ    $CHUNK, R8 \
	ADDQ    $CHUNK, R9 \
	ADDQ    $CHUNK, R10 \
	ADDQ    $64, DI

#define Z4EPILOGUE \
	MOVQ out+32(FP), AX \
	Z4SUM(Z0, Y0, X0, 0(AX)) \
	Z4SUM(Z1, Y1, X1, 4(AX)) \
	Z4SUM(Z2, Y2, X2, 8(AX)) \
	Z4SUM(Z3, Y3, X3, 12(AX)) \
	VZEROUPPER \
	RET

// func dotF16x4AVX512(w *byte, stride int, x *float32, n int, out *float32)
TEXT ·dotF16x4AVX512(SB), NOSPLIT, $0-40
	Z4PROLOGUE
	TESTQ CX, CX
	JZ    f16z4_sum

f16z4_loop:
	Z4BODY(ZCONVF16, 32)
	DECQ CX
	JNZ  f16z4_loop

f16z4_sum:
	Z4EPILOGUE

// func dotBF16x4AVX512(w *byte, stride int, x *float32, n int, out *float32)
TEXT ·dotBF16x4AVX512(SB), NOSPLIT, $0-40
	Z4PROLOGUE
	TESTQ CX, CX
	JZ    bf16z4_sum

bf16z4_loop:
	Z4BODY(ZCONVBF16, 32)
	DECQ CX
	JNZ  bf16z4_loop

bf16z4_sum:
	Z4EPILOGUE

// func dotF32x4AVX512(w *byte, stride int, x *float32, n int, out *float32)
TEXT ·dotF32x4AVX512(SB), NOSPLIT, $0-40
	Z4PROLOGUE
	TESTQ CX, CX
	JZ    f32z4_sum

f32z4_loop:
	Z4BODY(ZCONVF32, 64)
	DECQ CX
	JNZ  f32z4_loop

f32z4_sum:
	Z4EPILOGUE

// func dotRowsAVX2(a, b *float32, n, stride, rows int, out *float32)
//
// out[p] = dot(a, b+p*stride) over n elements for p < rows (n % 16 == 0,
// stride in elements), each the canonical 16-lane dot.
TEXT ·dotRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ  a+0(FP), R8
	MOVQ  b+8(FP), R9
	MOVQ  n+16(FP), R10
	SHRQ  $4, R10
	MOVQ  stride+24(FP), R11
	SHLQ  $2, R11
	MOVQ  rows+32(FP), R12
	MOVQ  out+40(FP), AX
	TESTQ R12, R12
	JZ    dra2_done

dra2_row:
	MOVQ   R8, SI
	MOVQ   R9, DI
	MOVQ   R10, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ  CX, CX
	JZ     dra2_sum

dra2_loop:
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	LANES16(Y2, Y3, DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     dra2_loop

dra2_sum:
	HSUM16
	VMOVSS X0, (AX)
	ADDQ   $4, AX
	ADDQ   R11, R9
	DECQ   R12
	JNZ    dra2_row

dra2_done:
	VZEROUPPER
	RET

// func axpyAVX512(y, x *float32, n int, a float32)  (n % 16 == 0)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-28
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Z15

axa5_loop64:
	CMPQ        CX, $64
	JLT         axa5_loop16
	VMOVUPS     (DI), Z0
	VMOVUPS     64(DI), Z1
	VMOVUPS     128(DI), Z2
	VMOVUPS     192(DI), Z3
	VMULPS      (SI), Z15, Z4
	VADDPS      Z4, Z0, Z0
	VMULPS      64(SI), Z15, Z5
	VADDPS      Z5, Z1, Z1
	VMULPS      128(SI), Z15, Z6
	VADDPS      Z6, Z2, Z2
	VMULPS      192(SI), Z15, Z7
	VADDPS      Z7, Z3, Z3
	VMOVUPS     Z0, (DI)
	VMOVUPS     Z1, 64(DI)
	VMOVUPS     Z2, 128(DI)
	VMOVUPS     Z3, 192(DI)
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         axa5_loop64

axa5_loop16:
	CMPQ        CX, $16
	JLT         axa5_done
	VMOVUPS     (DI), Z0
	VMULPS      (SI), Z15, Z4
	VADDPS      Z4, Z0, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         axa5_loop16

axa5_done:
	VZEROUPPER
	RET

// func axpyRowsAVX2(y, x *float32, n, stride, rows int, coef *float32)
//
// For p < rows in order: y[i] += x[p*stride+i] * coef[p] (the product
// rounded, no FMA: axpyF32Generic) for i < n (n % 8 == 0, stride in
// elements). y is kept in registers, 64, 32 or 8 elements at a time, while
// the rows stream by: every element gets the same operations in the same
// order as with one call per row.
TEXT ·axpyRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ  y+0(FP), DI
	MOVQ  x+8(FP), R9
	MOVQ  n+16(FP), R10
	MOVQ  stride+24(FP), R11
	SHLQ  $2, R11
	MOVQ  rows+32(FP), R12
	MOVQ  coef+40(FP), R13
	TESTQ R12, R12
	JZ    ara2_done

ara2_chunk64:
	CMPQ    R10, $64
	JLT     ara2_chunk32
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y4
	VMOVUPS 160(DI), Y5
	VMOVUPS 192(DI), Y6
	VMOVUPS 224(DI), Y7
	MOVQ    R9, SI
	MOVQ    R13, DX
	MOVQ    R12, CX

ara2_rows64:
	VBROADCASTSS (DX), Y15
	VMULPS       (SI), Y15, Y8
	VADDPS       Y8, Y0, Y0
	VMULPS       32(SI), Y15, Y9
	VADDPS       Y9, Y1, Y1
	VMULPS       64(SI), Y15, Y10
	VADDPS       Y10, Y2, Y2
	VMULPS       96(SI), Y15, Y11
	VADDPS       Y11, Y3, Y3
	VMULPS       128(SI), Y15, Y12
	VADDPS       Y12, Y4, Y4
	VMULPS       160(SI), Y15, Y13
	VADDPS       Y13, Y5, Y5
	VMULPS       192(SI), Y15, Y14
	VADDPS       Y14, Y6, Y6
	VMULPS       224(SI), Y15, Y8
	VADDPS       Y8, Y7, Y7
	ADDQ         R11, SI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          ara2_rows64
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	VMOVUPS      Y4, 128(DI)
	VMOVUPS      Y5, 160(DI)
	VMOVUPS      Y6, 192(DI)
	VMOVUPS      Y7, 224(DI)
	ADDQ         $256, DI
	ADDQ         $256, R9
	SUBQ         $64, R10
	JMP          ara2_chunk64

ara2_chunk32:
	CMPQ    R10, $32
	JLT     ara2_chunk8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ    R9, SI
	MOVQ    R13, DX
	MOVQ    R12, CX

ara2_rows32:
	VBROADCASTSS (DX), Y15
	VMULPS       (SI), Y15, Y8
	VADDPS       Y8, Y0, Y0
	VMULPS       32(SI), Y15, Y9
	VADDPS       Y9, Y1, Y1
	VMULPS       64(SI), Y15, Y10
	VADDPS       Y10, Y2, Y2
	VMULPS       96(SI), Y15, Y11
	VADDPS       Y11, Y3, Y3
	ADDQ         R11, SI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          ara2_rows32
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	ADDQ         $128, DI
	ADDQ         $128, R9
	SUBQ         $32, R10
	JMP          ara2_chunk32

ara2_chunk8:
	CMPQ    R10, $8
	JLT     ara2_done
	VMOVUPS (DI), Y0
	MOVQ    R9, SI
	MOVQ    R13, DX
	MOVQ    R12, CX

ara2_rows8:
	VBROADCASTSS (DX), Y15
	VMULPS       (SI), Y15, Y8
	VADDPS       Y8, Y0, Y0
	ADDQ         R11, SI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          ara2_rows8
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, R9
	SUBQ         $8, R10
	JMP          ara2_chunk8

ara2_done:
	VZEROUPPER
	RET

