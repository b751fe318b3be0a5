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

// func dotF16AVX2(w *byte, x *float32, n int) float32  (n % 16 == 0)
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ   $4, CX
	JZ     f16a2_done

f16a2_loop:
	VCVTPH2PS (SI), Y2
	VCVTPH2PS 16(SI), Y3
	LANES16(Y2, Y3, DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       f16a2_loop

f16a2_done:
	HSUM16
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// func dotBF16AVX2(w *byte, x *float32, n int) float32  (n % 16 == 0)
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ   $4, CX
	JZ     bf16a2_done

bf16a2_loop:
	VPMOVZXWD (SI), Y2
	VPSLLD    $16, Y2, Y2
	VPMOVZXWD 16(SI), Y3
	VPSLLD    $16, Y3, Y3
	LANES16(Y2, Y3, DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       bf16a2_loop

bf16a2_done:
	HSUM16
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

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
