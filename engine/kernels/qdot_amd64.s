//go:build amd64

#include "textflag.h"

// All kernels here compute 4 rows against one int8 activation column:
//
//	func k(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
//
// row i starts at w+i*stride (stride 0 computes one row four times, with
// exactly the same operations, which is how tail rows are done). Each
// row's result depends only on the row and the activations, and is
// bitwise the generic (canonical) result.

// ---- Row kernels: one int32 per block and row ----
//
// For every block the four rows' int8 dot products are reduced exactly to
// one int32 each (integer adds, any order), converted to float32 and
// accumulated as acc[r] += float(isum[r]) * (dw[r]*dx), each product
// rounded (no FMA), in the four lanes of X0: the canonical operations of
// dotQ8_0Generic and dotQ4_0Generic, and those of the tile kernels. No
// horizontal float sum is needed. The AVX2 and VNNI kernels differ only in
// how they form the integer dot products.

// Y(A..D) (8 int32 lanes each) -> XR = [sum A, sum B, sum C, sum D].
// Clobbers T1..T3 (ymm).
#define IREDUCE4(A, B, C, D, T1, T2, T3, YR, XR, XT) \
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

// X0 += float(X7 int32) * ([dw of the 4 rows' blocks at SI] * (DX))
#define SCALEADD4 \
	VCVTDQ2PS    X7, X7 \
	MOVWLZX      (SI), AX \
	VMOVD        AX, X8 \
	VPINSRW      $1, (SI)(BX*1), X8, X8 \
	VPINSRW      $2, (SI)(BX*2), X8, X8 \
	VPINSRW      $3, (SI)(R9*1), X8, X8 \
	VCVTPH2PS    X8, X8 \
	VBROADCASTSS (DX), X10 \
	VMULPS       X10, X8, X8 \
	VMULPS       X8, X7, X7 \
	VADDPS       X7, X0, X0

// Prefetch the same position of the next 4 rows (R12 = row 4): rows are
// short streams that the hardware prefetcher keeps restarting on.
#define PREFETCH4 \
	PREFETCHT0 (R12) \
	PREFETCHT0 (R12)(BX*1) \
	PREFETCHT0 (R12)(BX*2) \
	PREFETCHT0 (R12)(R9*1)

// Prefetch the next 4 rows into L2 as one linear stream: R12 starts at row
// 4 and advances by the 4 rows' bytes per block, so it sweeps the next
// group's memory (contiguous when stride is the row size) in address
// order while this group is computed. One ascending stream keeps the DRAM
// and the hardware prefetchers busier than four short interleaved ones
// (mat-vec from DRAM: ~18 -> ~26 GB/s on 2 Zen 4 cores), and L2 holds a
// group of even long rows.
// (q4_0: 72 bytes per block, two prefetches.)
#define PREFETCHLIN3 \
	PREFETCHT1 (R12) \
	PREFETCHT1 64(R12) \
	PREFETCHT1 128(R12)

#define VPROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   stride+8(FP), BX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   nb+32(FP), CX \
	LEAQ   (BX)(BX*2), R9 \
	VXORPS X0, X0, X0

#define VEPILOGUE \
	MOVQ    out+40(FP), AX \
	VMOVUPS X0, (AX) \
	VZEROUPPER \
	RET

// q8_0: (w^0x80) as unsigned times x, bias -128*sum(x) per lane.
// func q8_0x4VNNI(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q8_0x4VNNI(SB), NOSPLIT, $0-48
	VPROLOGUE
	MOVL         $0x80808080, R11
	VMOVD        R11, X14
	VPBROADCASTD X14, Y14
	VPXOR        Y12, Y12, Y12
	LEAQ         (SI)(BX*4), R12
	TESTQ        CX, CX
	JZ           q8v_done

q8v_loop:
	PREFETCHLIN3
	VMOVDQU  (DI), Y4
	VPXOR    Y13, Y13, Y13
	VPDPBUSD Y4, Y14, Y13
	VPSUBD   Y13, Y12, Y13
	VPXOR    2(SI), Y14, Y5
	VMOVDQA  Y13, Y1
	VPDPBUSD Y4, Y5, Y1
	VPXOR    2(SI)(BX*1), Y14, Y6
	VMOVDQA  Y13, Y2
	VPDPBUSD Y4, Y6, Y2
	VPXOR    2(SI)(BX*2), Y14, Y7
	VMOVDQA  Y13, Y3
	VPDPBUSD Y4, Y7, Y3
	VPXOR    2(SI)(R9*1), Y14, Y8
	VMOVDQA  Y13, Y9
	VPDPBUSD Y4, Y8, Y9
	IREDUCE4(Y1, Y2, Y3, Y9, Y5, Y6, Y8, Y7, X7, X8)
	SCALEADD4
	ADDQ     $34, SI
	ADDQ     $136, R12
	ADDQ     $32, DI
	ADDQ     $4, DX
	DECQ     CX
	JNZ      q8v_loop

q8v_done:
	VEPILOGUE

// ---- q4_0: nibbles (0..15) as unsigned times x, bias -8*sum(x) ----

// Nibbles of the row at P into Y (element j in byte j), masked by Y14.
#define VNIB(P, Y, X, T, XT) \
	VMOVDQU     2(P), X \
	VPSRLW      $4, X, XT \
	VINSERTI128 $1, XT, Y, Y \
	VPAND       Y14, Y, Y

// q4_0: nibbles (0..15) as unsigned times x, bias -8*sum(x) per lane.
// func q4_0x4VNNI(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q4_0x4VNNI(SB), NOSPLIT, $0-48
	VPROLOGUE
	LEAQ         (SI)(BX*1), R8
	LEAQ         (SI)(BX*2), R10
	LEAQ         (SI)(R9*1), R11
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x08080808, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VPXOR        Y12, Y12, Y12
	LEAQ         (SI)(BX*4), R12
	TESTQ        CX, CX
	JZ           q4v_done

q4v_loop:
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	VMOVDQU  (DI), Y4
	VPXOR    Y13, Y13, Y13
	VPDPBUSD Y4, Y15, Y13
	VPSUBD   Y13, Y12, Y13
	VNIB(SI, Y5, X5, Y11, X11)
	VMOVDQA  Y13, Y1
	VPDPBUSD Y4, Y5, Y1
	VNIB(R8, Y6, X6, Y11, X11)
	VMOVDQA  Y13, Y2
	VPDPBUSD Y4, Y6, Y2
	VNIB(R10, Y7, X7, Y11, X11)
	VMOVDQA  Y13, Y3
	VPDPBUSD Y4, Y7, Y3
	VNIB(R11, Y8, X8, Y11, X11)
	VMOVDQA  Y13, Y9
	VPDPBUSD Y4, Y8, Y9
	IREDUCE4(Y1, Y2, Y3, Y9, Y5, Y6, Y8, Y7, X7, X8)
	SCALEADD4
	ADDQ     $18, SI
	ADDQ     $18, R8
	ADDQ     $18, R10
	ADDQ     $18, R11
	ADDQ     $72, R12
	ADDQ     $32, DI
	ADDQ     $4, DX
	DECQ     CX
	JNZ      q4v_loop

q4v_done:
	VEPILOGUE

// ---- AVX2: the integer dot products with VPMADDUBSW and VPMADDWD ----

// q8_0 row at ADDR (its 32 values) against x (Y4): |w| * sign(x, w),
// pairs summed to 8 int32 lanes in OUT (Y15 = int16 ones).
#define Q8I_AVX2(ADDR, OUT) \
	VMOVDQU    ADDR, Y6 \
	VPSIGNB    Y6, Y4, Y7 \
	VPABSB     Y6, Y6 \
	VPMADDUBSW Y7, Y6, OUT \
	VPMADDWD   Y15, OUT, OUT

// func q8_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q8_0x4AVX2(SB), NOSPLIT, $0-48
	VPROLOGUE
	MOVL         $0x00010001, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	LEAQ         (SI)(BX*4), R12
	TESTQ        CX, CX
	JZ           q8a2_done

q8a2_loop:
	PREFETCHLIN3
	VMOVDQU  (DI), Y4
	Q8I_AVX2(2(SI), Y1)
	Q8I_AVX2(2(SI)(BX*1), Y2)
	Q8I_AVX2(2(SI)(BX*2), Y3)
	Q8I_AVX2(2(SI)(R9*1), Y9)
	IREDUCE4(Y1, Y2, Y3, Y9, Y5, Y6, Y8, Y7, X7, X8)
	SCALEADD4
	ADDQ     $34, SI
	ADDQ     $136, R12
	ADDQ     $32, DI
	ADDQ     $4, DX
	DECQ     CX
	JNZ      q8a2_loop

q8a2_done:
	VEPILOGUE

// q4_0 row at P against x (Y4): nibbles times x, pairs summed to 8 int32
// lanes in Y, minus the bias lanes 8*(pair sums of x) in Y13.
#define Q4I_AVX2(P, Y, X) \
	VNIB(P, Y, X, Y11, X11) \
	VPMADDUBSW Y4, Y, Y \
	VPMADDWD   Y15, Y, Y \
	VPSUBD     Y13, Y, Y

// func q4_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q4_0x4AVX2(SB), NOSPLIT, $0-48
	VPROLOGUE
	LEAQ         (SI)(BX*1), R8
	LEAQ         (SI)(BX*2), R10
	LEAQ         (SI)(R9*1), R11
	MOVL         $0x00010001, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x08080808, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	LEAQ         (SI)(BX*4), R12
	TESTQ        CX, CX
	JZ           q4a2_done

q4a2_loop:
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	VMOVDQU    (DI), Y4
	VPMADDUBSW Y4, Y12, Y13
	VPMADDWD   Y15, Y13, Y13
	Q4I_AVX2(SI, Y1, X1)
	Q4I_AVX2(R8, Y2, X2)
	Q4I_AVX2(R10, Y3, X3)
	Q4I_AVX2(R11, Y9, X9)
	IREDUCE4(Y1, Y2, Y3, Y9, Y5, Y6, Y8, Y7, X7, X8)
	SCALEADD4
	ADDQ       $18, SI
	ADDQ       $18, R8
	ADDQ       $18, R10
	ADDQ       $18, R11
	ADDQ       $72, R12
	ADDQ       $32, DI
	ADDQ       $4, DX
	DECQ       CX
	JNZ        q4a2_loop

q4a2_done:
	VEPILOGUE
