//go:build amd64

#include "textflag.h"
#include "tile8_amd64.h"

// q8_0 tile kernels, AVX2, for prefill (batches of 8 columns and more):
// 4 weight rows x 8 activation columns per pass, and 2 rows x 16 columns
// (below) for pairs of groups of 8.
//
//	func q8_0x4x8AVX2(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
//
// Row r starts at w + r*stride (block layout). xp is a group of 8 columns
// packed by packColWide: per block, 544 bytes: for j = 0..15 the values
// 2j and 2j+1 of columns 0..7 as int16 pairs (32 bytes), then the 8
// columns' block scales dx at 512. Element (r, c) goes to out +
// c*ostride + 4*r.
//
// Lane c of row r's registers is element (r, c), so there are no
// horizontal sums: per block the row's 32 weights are widened to int16
// once (VPMOVSXBW, into the frame), and for each pair j VPMADDWD of the
// row's pair (broadcast to the 8 lanes) and the columns' pairs adds 2
// products into each lane's int32 (exact: |w| <= 128, |x| <= 127). After
// the 16 pairs, the exact int32 dot product of the block; then, per lane,
// acc = acc + float(isum)*(dw*dx), each product rounded: the canonical
// operations of every q8_0 kernel, blocks in order, so every element is
// bitwise the row kernels' result. One VPMADDWD per 16 products (VPSIGNB,
// VPMADDUBSW and VPMADDWD per 32 on bytes) is what sets the pace on CPUs
// with two vector multipliers.
//
// Registers: SI, R8, R10, R11 the 4 rows; BX the stride; DI the packed
// activations; CX blocks left; Y0..Y3 the rows' float accumulators;
// Y4..Y7 their int32 sums of the block; Y8..Y11 temporaries; Y12 the
// columns' dx; Y13 the columns' pair j. The frame holds two buffers of
// the 4 rows' widened weights (64 bytes each): R12 the block's, R13 the
// next block's, widened one block ahead so that the broadcasts never
// wait on a store still in flight (store-to-load forwarding from a
// 32-byte store to 4-byte loads stalls; 94 -> 117 GFLOP/s).

// Row P's weights of the block OFF bytes on into the buffer at S(R13).
#define A8WIDEN(P, OFF, S) \
	VPMOVSXBW OFF+2(P), Y8 \
	VPMOVSXBW OFF+18(P), Y9 \
	VMOVDQU   Y8, S(R13) \
	VMOVDQU   Y9, S+32(R13)

#define A8WIDEN4(OFF) \
	A8WIDEN(SI, OFF, 0) \
	A8WIDEN(R8, OFF, 64) \
	A8WIDEN(R10, OFF, 128) \
	A8WIDEN(R11, OFF, 192)

// Pair J of the row whose weights are at S(R12), into ACC.
#define A8P(S, J, T, ACC) \
	VPBROADCASTD S+4*J(R12), T \
	VPMADDWD     Y13, T, T \
	VPADDD       T, ACC, ACC

// Pair J against the 4 rows.
#define A8J(J) \
	VMOVDQU 32*J(DI), Y13 \
	A8P(0, J, Y8, Y4) \
	A8P(64, J, Y9, Y5) \
	A8P(128, J, Y10, Y6) \
	A8P(192, J, Y11, Y7)

// Row P's float step: ACC += float(IACC) * (dw*dx).
#define A8F(P, IACC, ACC) \
	VCVTDQ2PS    IACC, IACC \
	VPBROADCASTW (P), X8 \
	VCVTPH2PS    X8, Y8 \
	VMULPS       Y12, Y8, Y8 \
	VMULPS       Y8, IACC, IACC \
	VADDPS       IACC, ACC, ACC

TEXT ·q8_0x4x8AVX2(SB), NOSPLIT, $512-48
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), BX
	MOVQ   xp+16(FP), DI
	MOVQ   nb+24(FP), CX
	LEAQ   (SI)(BX*1), R8
	LEAQ   (SI)(BX*2), R10
	LEAQ   (R8)(BX*2), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     q8a8_done
	LEAQ   256(SP), R12
	LEAQ   0(SP), R13
	A8WIDEN4(0)

q8a8_loop:
	XCHGQ        R12, R13
	PREFETCHT0   (SI)(BX*4)
	PREFETCHT0   (R8)(BX*4)
	PREFETCHT0   (R10)(BX*4)
	PREFETCHT0   (R11)(BX*4)
	CMPQ         CX, $1
	JEQ          q8a8_last
	A8WIDEN4(34)

q8a8_last:
	VMOVDQU      0(DI), Y13
	VPBROADCASTD 0(R12), Y8
	VPMADDWD     Y13, Y8, Y4
	VPBROADCASTD 64(R12), Y9
	VPMADDWD     Y13, Y9, Y5
	VPBROADCASTD 128(R12), Y10
	VPMADDWD     Y13, Y10, Y6
	VPBROADCASTD 192(R12), Y11
	VPMADDWD     Y13, Y11, Y7
	A8J(1)
	A8J(2)
	A8J(3)
	A8J(4)
	A8J(5)
	A8J(6)
	A8J(7)
	A8J(8)
	A8J(9)
	A8J(10)
	A8J(11)
	A8J(12)
	A8J(13)
	A8J(14)
	A8J(15)
	VMOVUPS      512(DI), Y12
	A8F(SI, Y4, Y0)
	A8F(R8, Y5, Y1)
	A8F(R10, Y6, Y2)
	A8F(R11, Y7, Y3)
	ADDQ         $34, SI
	ADDQ         $34, R8
	ADDQ         $34, R10
	ADDQ         $34, R11
	ADDQ         $544, DI
	DECQ         CX
	JNZ          q8a8_loop

q8a8_done:
	T8EPILOGUE

// ---- 2 rows x 16 columns ----
//
//	func q8_0x2x16AVX2(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
//
// The same operations for rows w and w+stride against two adjacent groups
// of 8 columns packed by packColWide (columns 0..7 at xp, 8..15 at xp +
// nb*544): each row's broadcast pair serves 16 columns, so a block takes
// 2 loads and 4 VPMADDWD per pair where the 4x8 kernel takes 5 and 4.
// Element (r, c) goes to out + c*ostride + 4*r.
//
// Registers: SI, R8 the rows; DI, R9 the groups; CX blocks left; Y0, Y1
// row 0's float accumulators (columns 0..7, 8..15), Y2, Y3 row 1's;
// Y4..Y7 the matching int32 sums; Y8, Y9 the groups' pair j; Y10, Y11
// the rows' broadcast pair; Y12..Y15 temporaries. R12 and R13 the frame's
// two buffers of the 2 rows' widened weights (64 bytes each), as above.

#define B16WIDEN(OFF) \
	VPMOVSXBW OFF+2(SI), Y12 \
	VPMOVSXBW OFF+18(SI), Y13 \
	VPMOVSXBW OFF+2(R8), Y14 \
	VPMOVSXBW OFF+18(R8), Y15 \
	VMOVDQU   Y12, 0(R13) \
	VMOVDQU   Y13, 32(R13) \
	VMOVDQU   Y14, 64(R13) \
	VMOVDQU   Y15, 96(R13)

#define B16J(J) \
	VMOVDQU      32*J(DI), Y8 \
	VMOVDQU      32*J(R9), Y9 \
	VPBROADCASTD 4*J(R12), Y10 \
	VPMADDWD     Y8, Y10, Y12 \
	VPADDD       Y12, Y4, Y4 \
	VPMADDWD     Y9, Y10, Y13 \
	VPADDD       Y13, Y5, Y5 \
	VPBROADCASTD 64+4*J(R12), Y11 \
	VPMADDWD     Y8, Y11, Y14 \
	VPADDD       Y14, Y6, Y6 \
	VPMADDWD     Y9, Y11, Y15 \
	VPADDD       Y15, Y7, Y7

// Row P's float step for both groups: ACC0/ACC1 += float(I0/I1)*(dw*dx).
#define B16F(P, I0, I1, ACC0, ACC1) \
	VPBROADCASTW (P), X12 \
	VCVTPH2PS    X12, Y12 \
	VMULPS       512(DI), Y12, Y13 \
	VMULPS       512(R9), Y12, Y12 \
	VCVTDQ2PS    I0, I0 \
	VMULPS       Y13, I0, I0 \
	VADDPS       I0, ACC0, ACC0 \
	VCVTDQ2PS    I1, I1 \
	VMULPS       Y12, I1, I1 \
	VADDPS       I1, ACC1, ACC1

// Columns 4H..4H+3 of the group whose rows 0, 1 are in A, B (pairs in
// LO/HI after the unpacks) stored as (row 0, row 1) at out + c*ostride.
#define B16STORE4(X, XH) \
	VMOVLPS X, (AX) \
	VMOVHPS X, (AX)(BX*1) \
	VMOVLPS XH, (AX)(BX*2) \
	VMOVHPS XH, (AX)(DX*1) \
	LEAQ    (AX)(BX*4), AX

TEXT ·q8_0x2x16AVX2(SB), NOSPLIT, $256-48
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), BX
	MOVQ   xp+16(FP), DI
	MOVQ   nb+24(FP), CX
	LEAQ   (SI)(BX*1), R8
	IMUL3Q $544, CX, R9
	ADDQ   DI, R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     q8b16_done
	LEAQ   128(SP), R12
	LEAQ   0(SP), R13
	B16WIDEN(0)

q8b16_loop:
	XCHGQ        R12, R13
	CMPQ         CX, $1
	JEQ          q8b16_last
	B16WIDEN(34)

q8b16_last:
	VMOVDQU      0(DI), Y8
	VMOVDQU      0(R9), Y9
	VPBROADCASTD 0(R12), Y10
	VPMADDWD     Y8, Y10, Y4
	VPMADDWD     Y9, Y10, Y5
	VPBROADCASTD 64(R12), Y11
	VPMADDWD     Y8, Y11, Y6
	VPMADDWD     Y9, Y11, Y7
	B16J(1)
	B16J(2)
	B16J(3)
	B16J(4)
	B16J(5)
	B16J(6)
	B16J(7)
	B16J(8)
	B16J(9)
	B16J(10)
	B16J(11)
	B16J(12)
	B16J(13)
	B16J(14)
	B16J(15)
	B16F(SI, Y4, Y5, Y0, Y1)
	B16F(R8, Y6, Y7, Y2, Y3)
	ADDQ         $34, SI
	ADDQ         $34, R8
	ADDQ         $544, DI
	ADDQ         $544, R9
	DECQ         CX
	JNZ          q8b16_loop

q8b16_done:
	MOVQ         out+32(FP), AX
	MOVQ         ostride+40(FP), BX
	LEAQ         (BX)(BX*2), DX
	VUNPCKLPS    Y2, Y0, Y4
	VUNPCKHPS    Y2, Y0, Y5
	VUNPCKLPS    Y3, Y1, Y6
	VUNPCKHPS    Y3, Y1, Y7
	B16STORE4(X4, X5)
	VEXTRACTF128 $1, Y4, X4
	VEXTRACTF128 $1, Y5, X5
	B16STORE4(X4, X5)
	B16STORE4(X6, X7)
	VEXTRACTF128 $1, Y6, X6
	VEXTRACTF128 $1, Y7, X7
	B16STORE4(X6, X7)
	VZEROUPPER
	RET
