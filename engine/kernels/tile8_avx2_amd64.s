//go:build amd64

#include "textflag.h"
#include "tile8_amd64.h"

// q8_0 tile kernel, AVX2: 4 weight rows x 8 activation columns per pass,
// for prefill (batches of 8 columns and more).
//
//	func q8_0x4x8AVX2(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
//
// Row r starts at w + r*stride (block layout). xp is a packed group of 8
// columns (packCol with width 8, as for the AVX-512 4x8 kernel): per
// block, 320 bytes: for k = 0..7 dword k (values 4k..4k+3) of columns
// 0..7, stored XOR 0x80 (packFlip); then -sum (unused here) and the 8
// columns' block scales dx at 288. Element (r, c) goes to out +
// c*ostride + 4*r.
//
// Lane c of row r's registers is element (r, c), so no horizontal sums:
// per block and dword k the row's 4 weights are broadcast to the 8 lanes,
// VPSIGNB moves the weights' signs onto the activations (which are never
// -128), VPMADDUBSW multiplies them by |w| (as unsigned bytes, 128 for a
// -128 weight) into int16 pair sums (|s| <= 2*128*127, no saturation),
// and VPMADDWD by ones adds each pair into the lane's int32: after the 8
// dwords, the exact int32 dot product of the block. Then, per lane, acc =
// acc + float(isum)*(dw*dx), each product rounded: the canonical
// operations of every q8_0 kernel, blocks in order, so every element is
// bitwise the row kernels' result. A row's |w| is formed once per block
// (VPABSB into the frame) and broadcast from there; an activation dword
// is loaded and un-flipped once for the 4 rows.
//
// Registers: SI, R8, R10, R11 the 4 rows; BX the stride; DI the packed
// activations; CX blocks left; Y0..Y3 the rows' float accumulators;
// Y4..Y7 their int32 sums of the block; Y8..Y11 temporaries; Y12 the
// columns' dx; Y13 activation dword k (signed); Y14 16 x int16 1; Y15
// 32 x 0x80. The frame holds the 4 rows' |w| of the block (32 bytes
// each).

// Row P (|w| at S(SP)), dword K, into ACC (FIRST: set, else add).
#define A8W(P, S, K, TA, TB, ACC) \
	VPBROADCASTD 2+4*K(P), TA \
	VPSIGNB      TA, Y13, TA \
	VPBROADCASTD S+4*K(SP), TB \
	VPMADDUBSW   TA, TB, TB \
	VPMADDWD     Y14, TB, TB \
	VPADDD       TB, ACC, ACC

#define A8W0(P, S, TA, TB, ACC) \
	VPBROADCASTD 2(P), TA \
	VPSIGNB      TA, Y13, TA \
	VPBROADCASTD S(SP), TB \
	VPMADDUBSW   TA, TB, TB \
	VPMADDWD     Y14, TB, ACC

// Activation dword K against the 4 rows.
#define A8K(K) \
	VPXOR 32*K(DI), Y15, Y13 \
	A8W(SI, 0, K, Y8, Y9, Y4) \
	A8W(R8, 32, K, Y10, Y11, Y5) \
	A8W(R10, 64, K, Y8, Y9, Y6) \
	A8W(R11, 96, K, Y10, Y11, Y7)

// Row P's float step: ACC += float(IACC) * (dw*dx).
#define A8F(P, IACC, ACC) \
	VCVTDQ2PS    IACC, IACC \
	VPBROADCASTW (P), X8 \
	VCVTPH2PS    X8, Y8 \
	VMULPS       Y12, Y8, Y8 \
	VMULPS       Y8, IACC, IACC \
	VADDPS       IACC, ACC, ACC

TEXT ·q8_0x4x8AVX2(SB), NOSPLIT, $128-48
	MOVQ         w+0(FP), SI
	MOVQ         stride+8(FP), BX
	MOVQ         xp+16(FP), DI
	MOVQ         nb+24(FP), CX
	LEAQ         (SI)(BX*1), R8
	LEAQ         (SI)(BX*2), R10
	LEAQ         (R8)(BX*2), R11
	MOVL         $0x00010001, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x80808080, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3
	TESTQ        CX, CX
	JZ           q8a8_done

q8a8_loop:
	PREFETCHT0 (SI)(BX*4)
	PREFETCHT0 (R8)(BX*4)
	PREFETCHT0 (R10)(BX*4)
	PREFETCHT0 (R11)(BX*4)
	VPABSB     2(SI), Y8
	VMOVDQU    Y8, 0(SP)
	VPABSB     2(R8), Y9
	VMOVDQU    Y9, 32(SP)
	VPABSB     2(R10), Y10
	VMOVDQU    Y10, 64(SP)
	VPABSB     2(R11), Y11
	VMOVDQU    Y11, 96(SP)
	VPXOR      0(DI), Y15, Y13
	A8W0(SI, 0, Y8, Y9, Y4)
	A8W0(R8, 32, Y10, Y11, Y5)
	A8W0(R10, 64, Y8, Y9, Y6)
	A8W0(R11, 96, Y10, Y11, Y7)
	A8K(1)
	A8K(2)
	A8K(3)
	A8K(4)
	A8K(5)
	A8K(6)
	A8K(7)
	VMOVUPS    288(DI), Y12
	A8F(SI, Y4, Y0)
	A8F(R8, Y5, Y1)
	A8F(R10, Y6, Y2)
	A8F(R11, Y7, Y3)
	ADDQ       $34, SI
	ADDQ       $34, R8
	ADDQ       $34, R10
	ADDQ       $34, R11
	ADDQ       $320, DI
	DECQ       CX
	JNZ        q8a8_loop

q8a8_done:
	T8EPILOGUE
