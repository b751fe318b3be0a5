//go:build amd64

#include "textflag.h"

// Horizontal sum of Y0 into X0 (fixed order). Clobbers X1.
#define HSUMY0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VHADDPS      X0, X0, X0 \
	VHADDPS      X0, X0, X0

// func dotF16AVX2(w *byte, x *float32, n int) float32  (n % 8 == 0)
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f16a2_loop32:
	CMPQ        CX, $32
	JLT         f16a2_loop8
	VCVTPH2PS   (SI), Y4
	VCVTPH2PS   16(SI), Y5
	VCVTPH2PS   32(SI), Y6
	VCVTPH2PS   48(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         f16a2_loop32

f16a2_loop8:
	CMPQ        CX, $8
	JLT         f16a2_done
	VCVTPH2PS   (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         f16a2_loop8

f16a2_done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUMY0
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// func dotBF16AVX2(w *byte, x *float32, n int) float32  (n % 8 == 0)
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

bf16a2_loop32:
	CMPQ        CX, $32
	JLT         bf16a2_loop8
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPMOVZXWD   32(SI), Y6
	VPMOVZXWD   48(SI), Y7
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         bf16a2_loop32

bf16a2_loop8:
	CMPQ        CX, $8
	JLT         bf16a2_done
	VPMOVZXWD   (SI), Y4
	VPSLLD      $16, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         bf16a2_loop8

bf16a2_done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUMY0
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// ---- AVX-512 float kernels ----

#define HSUMZ0 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VADDPS        Y1, Y0, Y0 \
	HSUMY0

// func dotF32AVX512(a, b *float32, n int) float32  (n % 16 == 0)
TEXT ·dotF32AVX512(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

f32a5_loop64:
	CMPQ        CX, $64
	JLT         f32a5_loop16
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         f32a5_loop64

f32a5_loop16:
	CMPQ        CX, $16
	JLT         f32a5_done
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         f32a5_loop16

f32a5_done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUMZ0
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// func dotF16AVX512(w *byte, x *float32, n int) float32  (n % 16 == 0)
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

f16a5_loop64:
	CMPQ        CX, $64
	JLT         f16a5_loop16
	VCVTPH2PS   (SI), Z4
	VCVTPH2PS   32(SI), Z5
	VCVTPH2PS   64(SI), Z6
	VCVTPH2PS   96(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $128, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         f16a5_loop64

f16a5_loop16:
	CMPQ        CX, $16
	JLT         f16a5_done
	VCVTPH2PS   (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $32, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         f16a5_loop16

f16a5_done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUMZ0
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// func dotBF16AVX512(w *byte, x *float32, n int) float32  (n % 16 == 0)
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

bf16a5_loop64:
	CMPQ        CX, $64
	JLT         bf16a5_loop16
	VPMOVZXWD   (SI), Z4
	VPMOVZXWD   32(SI), Z5
	VPMOVZXWD   64(SI), Z6
	VPMOVZXWD   96(SI), Z7
	VPSLLD      $16, Z4, Z4
	VPSLLD      $16, Z5, Z5
	VPSLLD      $16, Z6, Z6
	VPSLLD      $16, Z7, Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $128, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         bf16a5_loop64

bf16a5_loop16:
	CMPQ        CX, $16
	JLT         bf16a5_done
	VPMOVZXWD   (SI), Z4
	VPSLLD      $16, Z4, Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $32, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         bf16a5_loop16

bf16a5_done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUMZ0
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
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
	VFMADD231PS (SI), Z15, Z0
	VFMADD231PS 64(SI), Z15, Z1
	VFMADD231PS 128(SI), Z15, Z2
	VFMADD231PS 192(SI), Z15, Z3
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
	VFMADD231PS (SI), Z15, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         axa5_loop16

axa5_done:
	VZEROUPPER
	RET

// ---- AVX2 float dot and axpy, many rows per call (one row: the single
// dot and axpy of the AVX2 set, see dotF32AVX2 and axpyAVX2) ----

// func dotRowsAVX2(a, b *float32, n, stride, rows int, out *float32)
//
// out[p] = dot(a, b+p*stride) over n elements for p < rows (n % 8 == 0,
// stride in elements): per row 4 accumulators over 32-element steps, then
// 8-element steps into the first, summed in a fixed order (HSUMY0).
TEXT ·dotRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ  a+0(FP), R8
	MOVQ  b+8(FP), R9
	MOVQ  n+16(FP), R10
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
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dra2_loop32:
	CMPQ        CX, $32
	JLT         dra2_loop8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dra2_loop32

dra2_loop8:
	CMPQ        CX, $8
	JLT         dra2_sum
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dra2_loop8

dra2_sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUMY0
	VMOVSS X0, (AX)
	ADDQ   $4, AX
	ADDQ   R11, R9
	DECQ   R12
	JNZ    dra2_row

dra2_done:
	VZEROUPPER
	RET

// func axpyRowsAVX2(y, x *float32, n, stride, rows int, coef *float32)
//
// For p < rows in order: y[i] = fma(x[p*stride+i], coef[p], y[i]) for
// i < n (n % 8 == 0, stride in elements). y is kept in registers, 64, 32
// or 8 elements at a time, while the rows stream by: every element gets
// the same FMAs in the same order as with one call per row.
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
	VFMADD231PS  (SI), Y15, Y0
	VFMADD231PS  32(SI), Y15, Y1
	VFMADD231PS  64(SI), Y15, Y2
	VFMADD231PS  96(SI), Y15, Y3
	VFMADD231PS  128(SI), Y15, Y4
	VFMADD231PS  160(SI), Y15, Y5
	VFMADD231PS  192(SI), Y15, Y6
	VFMADD231PS  224(SI), Y15, Y7
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
	VFMADD231PS  (SI), Y15, Y0
	VFMADD231PS  32(SI), Y15, Y1
	VFMADD231PS  64(SI), Y15, Y2
	VFMADD231PS  96(SI), Y15, Y3
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
	VFMADD231PS  (SI), Y15, Y0
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
