//go:build amd64

#include "textflag.h"

// AVX2 kernels for repacked q5_k and q3_k matrices (layouts in
// repack_kq.go), with the arguments of the AVX-512 ones (kq_vnni_amd64.s):
//
//	func k(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func k(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// As the AVX2 q4_k and q6_k ones (repack_amd64.s, repack_q6k_amd64.s),
// rows 0..7 and 8..15 of the group are two halves (byte 0 or 32 of each
// 64-byte piece, row r in dword lane r%8 of a ymm). VPMADDUBSW of the
// unpacked values (unsigned) and 4 broadcast activations (signed) gives
// int16 sums of 2 products, added as int16 only while they cannot
// overflow, then VPMADDWD by the rows' scales in both words of each lane
// makes exact int32 sums. Per row the float steps of the generic kernels
// (genericx.go) follow in its own lane, each product rounded, super-blocks
// in order: bitwise the canonical results.

// Byte constants in kqc<>, 32 bytes each.
#define KQ0F 0
#define KQ3F 32
#define KQ30 64
#define KQ10 96
#define KQ01 128
#define KQM4 160
#define KQW 192
#define KQ20 224
#define KQ03 256
#define KQ04 288

// ---- q5_k ----
//
//	func q5KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//
// q4KP1AVX2 with the fifth bit of each value merged into its nibble: for
// sub-block j the bit j of the high-bit dword of the same positions,
// shifted to bit 4 and masked with 0x10 bytes. The values reach 31, so a
// VPMADDUBSW pair sum is at most 2*31*127 and only 4 of them (dwords
// Q0..3, then Q4..7 of a sub-block) are added as int16 before each
// VPMADDWD by the sub-block's scale adds sc_j times them to isd. ism =
// sum_j m_j*s_j as in q4KP1AVX2; then acc += float(isd)*(d*dx), acc -=
// float(ism)*(dmin*dx).
//
// Registers: Y0, Y1 acc of the halves; Y15 0x0f bytes; Y11 0x10 bytes
// (after the mins); Y10 sc0..3 and Y12 sc4..7 (bytes of each lane); Y13
// ism, Y14 isd; Y8, Y9 the scale words of a sub-block pair; Y2, Y3 the
// int16 sums of the pair; Y4..Y7 temporaries. The stack holds the sums of
// the column's super-block as word pairs: (s0,s1) at 0, (s2,s3) at 4,
// (s4,s5) at 16, (s6,s7) at 20.

// Software prefetch, 2 super-blocks (5632 bytes) ahead, of 6 of the 44
// cache lines of a super-block in each pair of sub-blocks P of the half
// at H (lines 0..23 in half 0's pairs, 24..47 in half 1's): streamed
// from memory these kernels' loads (the high-bit dwords read again for
// each pair) do not keep the hardware prefetchers ahead, and without it
// q5KP1AVX2 took 3.9 ms of CPU for an 8192x8192 matrix against 1.8 ms
// with it (2.0 ms on AVX-512). Prefetches past the matrix do not fault.
#define K5_PF(P, H) \
	PREFETCHT0 5632+64*(6*(P)+(H)*24/32+0)(SI) \
	PREFETCHT0 5632+64*(6*(P)+(H)*24/32+1)(SI) \
	PREFETCHT0 5632+64*(6*(P)+(H)*24/32+2)(SI) \
	PREFETCHT0 5632+64*(6*(P)+(H)*24/32+3)(SI) \
	PREFETCHT0 5632+64*(6*(P)+(H)*24/32+4)(SI) \
	PREFETCHT0 5632+64*(6*(P)+(H)*24/32+5)(SI)

// Dword Q of pair P of the half at H: low nibbles with bit 2P (OPL $NL
// brings it to bit 4) for sub-block 2P into Y5, high nibbles with bit
// 2P+1 (OPH $NH) for sub-block 2P+1 into Y4.
#define K5A_UNP(P, Q, H, OPL, NL, OPH, NH) \
	VMOVDQU 768+512*P+64*Q+H(SI), Y4 \
	VMOVDQU 256+64*Q+H(SI), Y6 \
	VPAND   Y15, Y4, Y5 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y15, Y4, Y4 \
	OPL     $NL, Y6, Y7 \
	VPAND   Y11, Y7, Y7 \
	VPOR    Y7, Y5, Y5 \
	OPH     $NH, Y6, Y6 \
	VPAND   Y11, Y6, Y6 \
	VPOR    Y6, Y4, Y4

// Their products with the sub-blocks' activations added to the int16
// sums Y2, Y3 (K5A_Q), or making them (K5A_Q0, the first dword of 4).
#define K5A_Q(P, Q, H, OPL, NL, OPH, NH) \
	K5A_UNP(P, Q, H, OPL, NL, OPH, NH) \
	VPBROADCASTD 64*P+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y5, Y5 \
	VPADDW       Y5, Y2, Y2 \
	VPBROADCASTD 64*P+32+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y4, Y4 \
	VPADDW       Y4, Y3, Y3

#define K5A_Q0(P, Q, H, OPL, NL, OPH, NH) \
	K5A_UNP(P, Q, H, OPL, NL, OPH, NH) \
	VPBROADCASTD 64*P+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y5, Y2 \
	VPBROADCASTD 64*P+32+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y4, Y3

// isd += the int16 sums times the pair's scale words.
#define K5A_FOLD \
	VPMADDWD Y8, Y2, Y2 \
	VPADDD   Y2, Y14, Y14 \
	VPMADDWD Y9, Y3, Y3 \
	VPADDD   Y3, Y14, Y14

// Sub-blocks 2P and 2P+1 (scales: bytes KA and KB of SC) into isd.
#define K5A_PAIR(P, H, SC, KA, KB, OPL, NL, OPH, NH) \
	K5_PF(P, H) \
	VPSHUFB kqpsc<>+32*KA(SB), SC, Y8 \
	VPSHUFB kqpsc<>+32*KB(SB), SC, Y9 \
	K5A_Q0(P, 0, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 1, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 2, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 3, H, OPL, NL, OPH, NH) \
	K5A_FOLD \
	K5A_Q0(P, 4, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 5, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 6, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 7, H, OPL, NL, OPH, NH) \
	K5A_FOLD

// Y13 += the mins' word pairs of M (selected by mask MO) times the sums'
// word pair at SO(SP).
#define K5A_MIN(M, MO, SO) \
	VPSHUFB      kqpm<>+MO(SB), M, Y7 \
	VPBROADCASTD SO(SP), Y8 \
	VPMADDWD     Y8, Y7, Y7 \
	VPADDD       Y7, Y13, Y13

// The half at H (bytes of the 64-byte pieces; its fp16 d at HD, dmin at
// 32+HD).
#define K5A_HALF(H, HD, ACC) \
	VMOVDQU      64+H(SI), Y7 \
	VMOVDQU      128+H(SI), Y8 \
	VMOVDQU      192+H(SI), Y9 \
	VPAND        kqc<>+KQ3F(SB), Y7, Y10 \
	VPAND        kqc<>+KQ3F(SB), Y8, Y11 \
	VPSRLD       $2, Y7, Y7 \
	VPAND        kqc<>+KQ30(SB), Y7, Y7 \
	VPAND        Y15, Y9, Y12 \
	VPOR         Y7, Y12, Y12 \
	VPSRLD       $2, Y8, Y8 \
	VPAND        kqc<>+KQ30(SB), Y8, Y8 \
	VPSRLD       $4, Y9, Y9 \
	VPAND        Y15, Y9, Y9 \
	VPOR         Y8, Y9, Y9 \
	VPXOR        Y13, Y13, Y13 \
	K5A_MIN(Y11, 0, 0) \
	K5A_MIN(Y11, 32, 4) \
	K5A_MIN(Y9, 0, 16) \
	K5A_MIN(Y9, 32, 20) \
	VMOVDQU      kqc<>+KQ10(SB), Y11 \
	VPXOR        Y14, Y14, Y14 \
	K5A_PAIR(0, H, Y10, 0, 1, VPSLLW, 4, VPSLLW, 3) \
	K5A_PAIR(1, H, Y10, 2, 3, VPSLLW, 2, VPSLLW, 1) \
	K5A_PAIR(2, H, Y12, 0, 1, VPSRLW, 0, VPSRLW, 1) \
	K5A_PAIR(3, H, Y12, 2, 3, VPSRLW, 2, VPSRLW, 3) \
	VBROADCASTSS (DX), Y3 \
	VCVTPH2PS    HD(SI), Y2 \
	VMULPS       Y3, Y2, Y2 \
	VCVTDQ2PS    Y14, Y4 \
	VMULPS       Y2, Y4, Y4 \
	VADDPS       Y4, ACC, ACC \
	VCVTPH2PS    32+HD(SI), Y2 \
	VMULPS       Y3, Y2, Y2 \
	VCVTDQ2PS    Y13, Y4 \
	VMULPS       Y2, Y4, Y4 \
	VSUBPS       Y4, ACC, ACC

TEXT ·q5KP1AVX2(SB), NOSPLIT, $32-48
	MOVQ         w+0(FP), SI
	MOVQ         nsb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	VMOVDQU      kqc<>+KQ0F(SB), Y15
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	TESTQ        CX, CX
	JZ           q5ka1_done

q5ka1_loop:
	VMOVDQU   (R8), Y2
	VPACKSSDW Y2, Y2, Y2
	VMOVDQU   Y2, (SP)
	K5A_HALF(0, 0, Y0)
	K5A_HALF(32, 16, Y1)
	ADDQ      $2816, SI
	ADDQ      $256, DI
	ADDQ      $32, R8
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q5ka1_loop

q5ka1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VZEROUPPER
	RET

//	func q5KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// The same per half for 4 columns (the layout of q4KP4AVX2): each dword
// of nibbles and high bits is loaded and unpacked once for the 4 columns.
// Y0..Y3 and Y8..Y11 the columns' int16 sums of the low and high
// sub-block of a pair; Y14 0x10 bytes while unpacking; the columns' isd
// (int32) on the stack (R9 = SP) at 192+32c, the scales of the half at
// 128 (sc0..3) and 160 (sc4..7), the sums' word pairs at 32c, the sums'
// column stride at 320; the float accumulators are the outputs themselves
// (zeroed first, each super-block added in order: the same operations).

// Dword Q of pair P against one column (values at XQ): added to the
// int16 sums AL, AH (K5B_QC), or making them (K5B_QC0).
#define K5B_QC(XQ, P, Q, AL, AH) \
	VPBROADCASTD 64*P+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y5, Y7 \
	VPADDW       Y7, AL, AL \
	VPBROADCASTD 64*P+32+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y4, Y7 \
	VPADDW       Y7, AH, AH

#define K5B_QC0(XQ, P, Q, AL, AH) \
	VPBROADCASTD 64*P+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y5, AL \
	VPBROADCASTD 64*P+32+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y4, AH

// Dword Q of pair P unpacked (as K5A_UNP, Y14 the 0x10 bytes) into Y5
// and Y4, then the 4 columns' sums by QC (K5B_QC or K5B_QC0).
#define K5B_Q(QC, P, Q, H, OPL, NL, OPH, NH) \
	VMOVDQU 768+512*P+64*Q+H(SI), Y4 \
	VMOVDQU 256+64*Q+H(SI), Y6 \
	VPAND   Y15, Y4, Y5 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y15, Y4, Y4 \
	OPL     $NL, Y6, Y7 \
	VPAND   Y14, Y7, Y7 \
	VPOR    Y7, Y5, Y5 \
	OPH     $NH, Y6, Y6 \
	VPAND   Y14, Y6, Y6 \
	VPOR    Y6, Y4, Y4 \
	QC(DI, P, Q, Y0, Y8) \
	QC(R10, P, Q, Y1, Y9) \
	QC(R11, P, Q, Y2, Y10) \
	QC(R12, P, Q, Y3, Y11)

// A column's sums times the scale words Y12, Y13, into its isd.
#define K5B_FOLD(C, AL, AH) \
	VPMADDWD Y12, AL, AL \
	VPMADDWD Y13, AH, AH \
	VPADDD   AH, AL, AL \
	VPADDD   192+32*C(R9), AL, AL \
	VMOVDQU  AL, 192+32*C(R9)

#define K5B_FOLD4 \
	K5B_FOLD(0, Y0, Y8) \
	K5B_FOLD(1, Y1, Y9) \
	K5B_FOLD(2, Y2, Y10) \
	K5B_FOLD(3, Y3, Y11)

// Sub-blocks 2P and 2P+1 (scales: bytes KA and KB of the stack's SCO).
#define K5B_PAIR(P, H, SCO, KA, KB, OPL, NL, OPH, NH) \
	K5_PF(P, H) \
	VMOVDQU SCO(R9), Y12 \
	VPSHUFB kqpsc<>+32*KB(SB), Y12, Y13 \
	VPSHUFB kqpsc<>+32*KA(SB), Y12, Y12 \
	K5B_Q(K5B_QC0, P, 0, H, OPL, NL, OPH, NH) \
	K5B_Q(K5B_QC, P, 1, H, OPL, NL, OPH, NH) \
	K5B_Q(K5B_QC, P, 2, H, OPL, NL, OPH, NH) \
	K5B_Q(K5B_QC, P, 3, H, OPL, NL, OPH, NH) \
	K5B_FOLD4 \
	K5B_Q(K5B_QC0, P, 4, H, OPL, NL, OPH, NH) \
	K5B_Q(K5B_QC, P, 5, H, OPL, NL, OPH, NH) \
	K5B_Q(K5B_QC, P, 6, H, OPL, NL, OPH, NH) \
	K5B_Q(K5B_QC, P, 7, H, OPL, NL, OPH, NH) \
	K5B_FOLD4

// Column C's float steps for the half at H: its dx at (BX), its outputs
// at H(AX); Y8 = d, Y9 = dmin of the half's rows, Y12, Y13, Y14, Y10 the
// mins' word pairs for the sums' pairs at 0, 4, 16, 20.
#define K5B_END(C, H) \
	VPBROADCASTD 32*C(R9), Y0 \
	VPMADDWD     Y0, Y12, Y1 \
	VPBROADCASTD 32*C+4(R9), Y0 \
	VPMADDWD     Y0, Y13, Y0 \
	VPADDD       Y0, Y1, Y1 \
	VPBROADCASTD 32*C+16(R9), Y0 \
	VPMADDWD     Y0, Y14, Y0 \
	VPADDD       Y0, Y1, Y1 \
	VPBROADCASTD 32*C+20(R9), Y0 \
	VPMADDWD     Y0, Y10, Y0 \
	VPADDD       Y0, Y1, Y1 \
	VBROADCASTSS (BX), Y2 \
	VMULPS       Y2, Y8, Y3 \
	VCVTDQ2PS    192+32*C(R9), Y4 \
	VMULPS       Y3, Y4, Y4 \
	VMOVUPS      H(AX), Y5 \
	VADDPS       Y4, Y5, Y5 \
	VMULPS       Y2, Y9, Y3 \
	VCVTDQ2PS    Y1, Y4 \
	VMULPS       Y3, Y4, Y4 \
	VSUBPS       Y4, Y5, Y5 \
	VMOVUPS      Y5, H(AX)

#define K5B_HALF(H, HD) \
	VMOVDQU   64+H(SI), Y7 \
	VPAND     kqc<>+KQ3F(SB), Y7, Y0 \
	VMOVDQU   Y0, 128(R9) \
	VPSRLD    $2, Y7, Y7 \
	VPAND     kqc<>+KQ30(SB), Y7, Y7 \
	VPAND     192+H(SI), Y15, Y0 \
	VPOR      Y7, Y0, Y0 \
	VMOVDQU   Y0, 160(R9) \
	VPXOR     Y0, Y0, Y0 \
	VMOVDQU   Y0, 192(R9) \
	VMOVDQU   Y0, 224(R9) \
	VMOVDQU   Y0, 256(R9) \
	VMOVDQU   Y0, 288(R9) \
	VMOVDQU   kqc<>+KQ10(SB), Y14 \
	K5B_PAIR(0, H, 128, 0, 1, VPSLLW, 4, VPSLLW, 3) \
	K5B_PAIR(1, H, 128, 2, 3, VPSLLW, 2, VPSLLW, 1) \
	K5B_PAIR(2, H, 160, 0, 1, VPSRLW, 0, VPSRLW, 1) \
	K5B_PAIR(3, H, 160, 2, 3, VPSRLW, 2, VPSRLW, 3) \
	VMOVDQU   128+H(SI), Y7 \
	VPAND     kqc<>+KQ3F(SB), Y7, Y10 \
	VPSRLD    $2, Y7, Y7 \
	VPAND     kqc<>+KQ30(SB), Y7, Y7 \
	VMOVDQU   192+H(SI), Y11 \
	VPSRLD    $4, Y11, Y11 \
	VPAND     Y15, Y11, Y11 \
	VPOR      Y7, Y11, Y11 \
	VPSHUFB   kqpm<>(SB), Y10, Y12 \
	VPSHUFB   kqpm<>+32(SB), Y10, Y13 \
	VPSHUFB   kqpm<>(SB), Y11, Y14 \
	VPSHUFB   kqpm<>+32(SB), Y11, Y10 \
	VCVTPH2PS HD(SI), Y8 \
	VCVTPH2PS 32+HD(SI), Y9 \
	MOVQ      DX, BX \
	MOVQ      R14, AX \
	K5B_END(0, H) \
	ADDQ      R13, BX \
	ADDQ      R15, AX \
	K5B_END(1, H) \
	ADDQ      R13, BX \
	ADDQ      R15, AX \
	K5B_END(2, H) \
	ADDQ      R13, BX \
	ADDQ      R15, AX \
	K5B_END(3, H)

TEXT ·q5KP4AVX2(SB), NOSPLIT, $328-64
	MOVQ         w+0(FP), SI
	MOVQ         nsb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	MOVQ         xqs+40(FP), R9
	MOVQ         out+48(FP), R14
	MOVQ         ostride+56(FP), R15
	LEAQ         (DI)(R9*1), R10
	LEAQ         (R10)(R9*1), R11
	LEAQ         (R11)(R9*1), R12
	SHRQ         $3, R9
	MOVQ         R9, 320(SP)
	LEAQ         0(SP), R9
	MOVQ         CX, R13
	SHLQ         $2, R13
	VMOVDQU      kqc<>+KQ0F(SB), Y15
	VXORPS       Y0, Y0, Y0
	MOVQ         R14, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	ADDQ         R15, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	ADDQ         R15, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	ADDQ         R15, AX
	VMOVUPS      Y0, (AX)
	VMOVUPS      Y0, 32(AX)
	TESTQ        CX, CX
	JZ           q5kb4_done

q5kb4_loop:
	MOVQ      R8, AX
	MOVQ      320(SP), BX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 0(SP)
	ADDQ      BX, AX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 32(SP)
	ADDQ      BX, AX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 64(SP)
	ADDQ      BX, AX
	VMOVDQU   (AX), Y0
	VPACKSSDW Y0, Y0, Y0
	VMOVDQU   Y0, 96(SP)
	K5B_HALF(0, 0)
	K5B_HALF(32, 16)
	ADDQ      $2816, SI
	ADDQ      $256, DI
	ADDQ      $256, R10
	ADDQ      $256, R11
	ADDQ      $256, R12
	ADDQ      $32, R8
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q5kb4_loop

q5kb4_done:
	VZEROUPPER
	RET

//	func q5KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q5KP3AVX2(...): the same for 3 columns
//
// q5KP4AVX2 for 2 and 3 columns (its registers and stack layout, the
// columns past the last unused): each dword of nibbles and high bits is
// unpacked once for the columns, so that a server's 2 or 3 batched
// sessions do not pay the unpacking per session.

// The columns' sums of the unpacked dword Q of pair P by QC.
#define K5N_QC2(QC, P, Q) \
	QC(DI, P, Q, Y0, Y8) \
	QC(R10, P, Q, Y1, Y9)

#define K5N_QC3(QC, P, Q) \
	K5N_QC2(QC, P, Q) \
	QC(R11, P, Q, Y2, Y10)

// K5B_Q for the columns of QCN.
#define K5N_Q(QCN, QC, P, Q, H, OPL, NL, OPH, NH) \
	VMOVDQU 768+512*P+64*Q+H(SI), Y4 \
	VMOVDQU 256+64*Q+H(SI), Y6 \
	VPAND   Y15, Y4, Y5 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y15, Y4, Y4 \
	OPL     $NL, Y6, Y7 \
	VPAND   Y14, Y7, Y7 \
	VPOR    Y7, Y5, Y5 \
	OPH     $NH, Y6, Y6 \
	VPAND   Y14, Y6, Y6 \
	VPOR    Y6, Y4, Y4 \
	QCN(QC, P, Q)

#define K5N_FOLD2 \
	K5B_FOLD(0, Y0, Y8) \
	K5B_FOLD(1, Y1, Y9)

#define K5N_FOLD3 \
	K5N_FOLD2 \
	K5B_FOLD(2, Y2, Y10)

// K5B_PAIR for the columns of QCN and FOLD.
#define K5N_PAIR(P, H, SCO, KA, KB, OPL, NL, OPH, NH, QCN, FOLD) \
	K5_PF(P, H) \
	VMOVDQU SCO(R9), Y12 \
	VPSHUFB kqpsc<>+32*KB(SB), Y12, Y13 \
	VPSHUFB kqpsc<>+32*KA(SB), Y12, Y12 \
	K5N_Q(QCN, K5B_QC0, P, 0, H, OPL, NL, OPH, NH) \
	K5N_Q(QCN, K5B_QC, P, 1, H, OPL, NL, OPH, NH) \
	K5N_Q(QCN, K5B_QC, P, 2, H, OPL, NL, OPH, NH) \
	K5N_Q(QCN, K5B_QC, P, 3, H, OPL, NL, OPH, NH) \
	FOLD \
	K5N_Q(QCN, K5B_QC0, P, 4, H, OPL, NL, OPH, NH) \
	K5N_Q(QCN, K5B_QC, P, 5, H, OPL, NL, OPH, NH) \
	K5N_Q(QCN, K5B_QC, P, 6, H, OPL, NL, OPH, NH) \
	K5N_Q(QCN, K5B_QC, P, 7, H, OPL, NL, OPH, NH) \
	FOLD

#define K5N_END2(H) \
	K5B_END(0, H) \
	ADDQ R13, BX \
	ADDQ R15, AX \
	K5B_END(1, H)

#define K5N_END3(H) \
	K5N_END2(H) \
	ADDQ R13, BX \
	ADDQ R15, AX \
	K5B_END(2, H)

// K5B_HALF for the columns of QCN, FOLD and ENDS.
#define K5N_HALF(H, HD, QCN, FOLD, ENDS) \
	VMOVDQU   64+H(SI), Y7 \
	VPAND     kqc<>+KQ3F(SB), Y7, Y0 \
	VMOVDQU   Y0, 128(R9) \
	VPSRLD    $2, Y7, Y7 \
	VPAND     kqc<>+KQ30(SB), Y7, Y7 \
	VPAND     192+H(SI), Y15, Y0 \
	VPOR      Y7, Y0, Y0 \
	VMOVDQU   Y0, 160(R9) \
	VPXOR     Y0, Y0, Y0 \
	VMOVDQU   Y0, 192(R9) \
	VMOVDQU   Y0, 224(R9) \
	VMOVDQU   Y0, 256(R9) \
	VMOVDQU   kqc<>+KQ10(SB), Y14 \
	K5N_PAIR(0, H, 128, 0, 1, VPSLLW, 4, VPSLLW, 3, QCN, FOLD) \
	K5N_PAIR(1, H, 128, 2, 3, VPSLLW, 2, VPSLLW, 1, QCN, FOLD) \
	K5N_PAIR(2, H, 160, 0, 1, VPSRLW, 0, VPSRLW, 1, QCN, FOLD) \
	K5N_PAIR(3, H, 160, 2, 3, VPSRLW, 2, VPSRLW, 3, QCN, FOLD) \
	VMOVDQU   128+H(SI), Y7 \
	VPAND     kqc<>+KQ3F(SB), Y7, Y10 \
	VPSRLD    $2, Y7, Y7 \
	VPAND     kqc<>+KQ30(SB), Y7, Y7 \
	VMOVDQU   192+H(SI), Y11 \
	VPSRLD    $4, Y11, Y11 \
	VPAND     Y15, Y11, Y11 \
	VPOR      Y7, Y11, Y11 \
	VPSHUFB   kqpm<>(SB), Y10, Y12 \
	VPSHUFB   kqpm<>+32(SB), Y10, Y13 \
	VPSHUFB   kqpm<>(SB), Y11, Y14 \
	VPSHUFB   kqpm<>+32(SB), Y11, Y10 \
	VCVTPH2PS HD(SI), Y8 \
	VCVTPH2PS 32+HD(SI), Y9 \
	MOVQ      DX, BX \
	MOVQ      R14, AX \
	ENDS(H)

// Arguments, the column pointers, the constants, the first 2 columns'
// outputs zeroed (as q5KP4AVX2).
#define K5N_PROLOGUE \
	MOVQ         w+0(FP), SI \
	MOVQ         nsb+8(FP), CX \
	MOVQ         xq+16(FP), DI \
	MOVQ         xd+24(FP), DX \
	MOVQ         xs+32(FP), R8 \
	MOVQ         xqs+40(FP), R9 \
	MOVQ         out+48(FP), R14 \
	MOVQ         ostride+56(FP), R15 \
	LEAQ         (DI)(R9*1), R10 \
	LEAQ         (R10)(R9*1), R11 \
	SHRQ         $3, R9 \
	MOVQ         R9, 320(SP) \
	LEAQ         0(SP), R9 \
	MOVQ         CX, R13 \
	SHLQ         $2, R13 \
	VMOVDQU      kqc<>+KQ0F(SB), Y15 \
	VXORPS       Y0, Y0, Y0 \
	MOVQ         R14, AX \
	VMOVUPS      Y0, (AX) \
	VMOVUPS      Y0, 32(AX) \
	ADDQ         R15, AX \
	VMOVUPS      Y0, (AX) \
	VMOVUPS      Y0, 32(AX)

// The sums of the next column's super-block (AX, advanced by BX) as word
// pairs at SO(SP).
#define K5N_SUMS(SO) \
	VMOVDQU   (AX), Y0 \
	VPACKSSDW Y0, Y0, Y0 \
	VMOVDQU   Y0, SO(SP) \
	ADDQ      BX, AX

TEXT ·q5KP2AVX2(SB), NOSPLIT, $328-64
	K5N_PROLOGUE
	TESTQ CX, CX
	JZ    q5kb2_done

q5kb2_loop:
	MOVQ R8, AX
	MOVQ 320(SP), BX
	K5N_SUMS(0)
	K5N_SUMS(32)
	K5N_HALF(0, 0, K5N_QC2, K5N_FOLD2, K5N_END2)
	K5N_HALF(32, 16, K5N_QC2, K5N_FOLD2, K5N_END2)
	ADDQ $2816, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ CX
	JNZ  q5kb2_loop

q5kb2_done:
	VZEROUPPER
	RET

TEXT ·q5KP3AVX2(SB), NOSPLIT, $328-64
	K5N_PROLOGUE
	ADDQ    R15, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	TESTQ   CX, CX
	JZ      q5kb3_done

q5kb3_loop:
	MOVQ R8, AX
	MOVQ 320(SP), BX
	K5N_SUMS(0)
	K5N_SUMS(32)
	K5N_SUMS(64)
	K5N_HALF(0, 0, K5N_QC3, K5N_FOLD3, K5N_END3)
	K5N_HALF(32, 16, K5N_QC3, K5N_FOLD3, K5N_END3)
	ADDQ $2816, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $256, R11
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ CX
	JNZ  q5kb3_loop

q5kb3_done:
	VZEROUPPER
	RET

// ---- q3_k ----
//
//	func q3KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//
// Per 16-value group g of a super-block (sub-block s = g/2 of 32, h =
// s/4, j = s%4, u = g%2) the values v = q + 4*hbit (0..7) of its 4 dwords
// k are rebuilt (2-bit dword 8h+4u+k shifted right by 2j, high-bit dword
// 4u+k shifted so that bit s lands on bit 2), and VPMADDUBSW against 4
// broadcast activations gives int16 pair sums (|s| <= 2*7*127). The 4 of
// the group are added as int16 to the column's bias b_g = -4*sum(x over
// g) (|b_g| <= 4*16*127) in the low word of each lane, so that the lane's
// two words add up to the group's exact dot(v-4, x) and no partial sum
// leaves int16. VPMADDWD by the group's scale sc-32 in both words of each
// lane adds (sc-32)*dot to isum exactly in int32. Then acc +=
// float(isum)*(d*dx): the operations of dotQ3KGeneric.
//
// Registers: Y15 0x03 bytes, Y14 0x04 bytes; Y0, Y1 acc of the halves;
// Y13 isum; Y2..Y5 the int16 sums of the 4 groups of a quarter (h, u);
// Y6, Y7 a 2-bit and a high-bit dword; Y8..Y10 temporaries. The stack
// holds the half's scales sc-32 as 4 dwords (group g: byte g%4 of the
// dword at 32*(g/4)) and the column's biases as (b_g, 0) word pairs,
// group g at SO+32*(g/8)+16*(g%2)+4*((g%8)/2) (SO = 128).

// The biases of the 8 groups of the 128 activations at XO(XQ) to SO(SP):
// pair sums of 4 times the activations (VPMADDUBSW of 0x01 bytes), times
// -4 and paired (VPMADDWD by -4 words), transposed and summed by
// VPHADDD, the low words kept. Y8 0x01 bytes, Y9 -4 words; clobbers
// Y2..Y5.
#define Q3BIAS8(XQ, XO, SO) \
	VPMADDUBSW XO(XQ), Y8, Y2 \
	VPMADDWD   Y9, Y2, Y2 \
	VPMADDUBSW XO+32(XQ), Y8, Y3 \
	VPMADDWD   Y9, Y3, Y3 \
	VPMADDUBSW XO+64(XQ), Y8, Y4 \
	VPMADDWD   Y9, Y4, Y4 \
	VPMADDUBSW XO+96(XQ), Y8, Y5 \
	VPMADDWD   Y9, Y5, Y5 \
	VPHADDD    Y3, Y2, Y2 \
	VPHADDD    Y5, Y4, Y4 \
	VPHADDD    Y4, Y2, Y2 \
	VPAND      kqc<>+KQW(SB), Y2, Y2 \
	VMOVDQU    Y2, SO(SP)

// The 16 biases of the column's super-block at XQ to SO(SP).
#define Q3BIAS(XQ, SO) \
	VMOVDQU kqc<>+KQ01(SB), Y8 \
	VMOVDQU kqc<>+KQM4(SB), Y9 \
	Q3BIAS8(XQ, 0, SO) \
	Q3BIAS8(XQ, 128, SO+32)

// The half's 16 scales sc-32 (as q3KScales) to 0..127(SP). Clobbers
// Y2..Y10.
#define Q3SCALES(HF) \
	VMOVDQU 1536+HF(SI), Y2 \
	VMOVDQU 1600+HF(SI), Y3 \
	VMOVDQU 1664+HF(SI), Y4 \
	VMOVDQU kqc<>+KQ0F(SB), Y8 \
	VMOVDQU kqc<>+KQ30(SB), Y9 \
	VMOVDQU kqc<>+KQ20(SB), Y10 \
	VPAND   Y8, Y2, Y5 \
	VPSLLD  $4, Y4, Y6 \
	VPAND   Y9, Y6, Y6 \
	VPOR    Y6, Y5, Y5 \
	VPSUBB  Y10, Y5, Y5 \
	VMOVDQU Y5, 0(SP) \
	VPAND   Y8, Y3, Y5 \
	VPSLLD  $2, Y4, Y6 \
	VPAND   Y9, Y6, Y6 \
	VPOR    Y6, Y5, Y5 \
	VPSUBB  Y10, Y5, Y5 \
	VMOVDQU Y5, 32(SP) \
	VPSRLD  $4, Y2, Y5 \
	VPAND   Y8, Y5, Y5 \
	VPAND   Y9, Y4, Y6 \
	VPOR    Y6, Y5, Y5 \
	VPSUBB  Y10, Y5, Y5 \
	VMOVDQU Y5, 64(SP) \
	VPSRLD  $4, Y3, Y5 \
	VPAND   Y8, Y5, Y5 \
	VPSRLD  $2, Y4, Y6 \
	VPAND   Y9, Y6, Y6 \
	VPOR    Y6, Y5, Y5 \
	VPSUBB  Y10, Y5, Y5 \
	VMOVDQU Y5, 96(SP)

// The scale of the group in byte B of the stack's scale dword SJ, as a
// signed word in both words of each lane, into W.
#define Q3SCW(SJ, B, W) \
	VMOVDQU 32*(SJ)(SP), W \
	VPSHUFB kqsx<>+32*(B)(SB), W, W \
	VPSRAW  $8, W, W

// Sub-block j of Y6 (2-bit values) and Y7 (high bits; OP $N brings bit s
// to bit 2) into Y8.
#define Q3A_V(J, OP, N) \
	VPSRLW $(2*(J)), Y6, Y8 \
	VPAND  Y15, Y8, Y8 \
	OP     $N, Y7, Y9 \
	VPAND  Y14, Y9, Y9 \
	VPOR   Y9, Y8, Y8

// ACC += Y8 times the 4 activations at XO(DI), as int16 pair sums.
#define Q3A_D(XO, ACC) \
	VPBROADCASTD XO(DI), Y9 \
	VPMADDUBSW   Y9, Y8, Y8 \
	VPADDW       Y8, ACC, ACC

// Dword k of quarter (H, U) for its 4 groups (j = 0..3).
#define Q3A_K(H, U, K, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3) \
	VMOVDQU 512+64*(8*(H)+4*(U)+(K))+HF(SI), Y6 \
	VMOVDQU 64*(4*(U)+(K))+HF(SI), Y7 \
	Q3A_V(0, OP0, N0) \
	Q3A_D(16*(8*(H)+(U))+4*(K), Y2) \
	Q3A_V(1, OP1, N1) \
	Q3A_D(16*(8*(H)+2+(U))+4*(K), Y3) \
	Q3A_V(2, OP2, N2) \
	Q3A_D(16*(8*(H)+4+(U))+4*(K), Y4) \
	Q3A_V(3, OP3, N3) \
	Q3A_D(16*(8*(H)+6+(U))+4*(K), Y5)

// isum += ACC (a group's int16 sums) times its scale.
#define Q3A_F(SJ, B, ACC) \
	Q3SCW(SJ, B, Y10) \
	VPMADDWD Y10, ACC, ACC \
	VPADDD   ACC, Y13, Y13

// Software prefetch, 2 super-blocks (3520 bytes) ahead, of 4 of the 32
// cache lines that a super-block can touch in each (H, U) of the half at
// HF (K5_PF for q3_k: its hmask dwords are read again for each (H, U)).
#define Q3_PF(H, U, HF) \
	PREFETCHT0 3520+64*((HF)/2+4*(2*(H)+(U))+0)(SI) \
	PREFETCHT0 3520+64*((HF)/2+4*(2*(H)+(U))+1)(SI) \
	PREFETCHT0 3520+64*((HF)/2+4*(2*(H)+(U))+2)(SI) \
	PREFETCHT0 3520+64*((HF)/2+4*(2*(H)+(U))+3)(SI)

// Quarter (H, U): groups 8H+U, +2, +4, +6 (the high bits' shifts OPj $Nj
// for sub-blocks 4H+j).
#define Q3A_Q(H, U, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3) \
	Q3_PF(H, U, HF) \
	VPBROADCASTD 128+32*(H)+16*(U)(SP), Y2 \
	VPBROADCASTD 128+32*(H)+16*(U)+4(SP), Y3 \
	VPBROADCASTD 128+32*(H)+16*(U)+8(SP), Y4 \
	VPBROADCASTD 128+32*(H)+16*(U)+12(SP), Y5 \
	Q3A_K(H, U, 0, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3) \
	Q3A_K(H, U, 1, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3) \
	Q3A_K(H, U, 2, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3) \
	Q3A_K(H, U, 3, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3) \
	Q3A_F(2*(H), U, Y2) \
	Q3A_F(2*(H), 2+(U), Y3) \
	Q3A_F(2*(H)+1, U, Y4) \
	Q3A_F(2*(H)+1, 2+(U), Y5)

// The half at HF (its fp16 d at 1728+HD) into ACC.
#define Q3A_HALF(HF, HD, ACC) \
	Q3SCALES(HF) \
	VPXOR        Y13, Y13, Y13 \
	Q3A_Q(0, 0, HF, VPSLLW, 2, VPSLLW, 1, VPSRLW, 0, VPSRLW, 1) \
	Q3A_Q(0, 1, HF, VPSLLW, 2, VPSLLW, 1, VPSRLW, 0, VPSRLW, 1) \
	Q3A_Q(1, 0, HF, VPSRLW, 2, VPSRLW, 3, VPSRLW, 4, VPSRLW, 5) \
	Q3A_Q(1, 1, HF, VPSRLW, 2, VPSRLW, 3, VPSRLW, 4, VPSRLW, 5) \
	VCVTDQ2PS    Y13, Y13 \
	VCVTPH2PS    1728+HD(SI), Y9 \
	VBROADCASTSS (DX), Y10 \
	VMULPS       Y10, Y9, Y9 \
	VMULPS       Y9, Y13, Y13 \
	VADDPS       Y13, ACC, ACC

TEXT ·q3KP1AVX2(SB), NOSPLIT, $192-48
	MOVQ    w+0(FP), SI
	MOVQ    nsb+8(FP), CX
	MOVQ    xq+16(FP), DI
	MOVQ    xd+24(FP), DX
	VMOVDQU kqc<>+KQ03(SB), Y15
	VMOVDQU kqc<>+KQ04(SB), Y14
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	TESTQ   CX, CX
	JZ      q3ka1_done

q3ka1_loop:
	Q3BIAS(DI, 128)
	Q3A_HALF(0, 0, Y0)
	Q3A_HALF(32, 16, Y1)
	ADDQ $1760, SI
	ADDQ $256, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  q3ka1_loop

q3ka1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VZEROUPPER
	RET

//	func q3KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// The same per half for 4 columns (the layout of q3KP4VNNI), one group at
// a time: each of its dwords is rebuilt once (Y6) and goes to the 4
// columns' int16 sums Y2..Y5 (started from their biases), folded by the
// group's scale (Y9) into the columns' isum Y10..Y13. The float
// accumulators are the outputs themselves (zeroed first, each
// super-block added in order: the same operations). Y7, Y8 temporaries.
// Stack: the scales at 0..127, column c's biases at 128+64c.
//
// GP registers: DI, R10, R11, R12 the columns' values; DX column 0's
// scales, R13 their column stride; R14 out, R15 ostride; CX the count;
// AX, BX temporaries.

// The columns' sums += the rebuilt values Y6 times the activations at XO.
#define Q3B_D4(XO) \
	VPBROADCASTD XO(DI), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y2, Y2 \
	VPBROADCASTD XO(R10), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y3, Y3 \
	VPBROADCASTD XO(R11), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y4, Y4 \
	VPBROADCASTD XO(R12), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y5, Y5

// Dword k of group (H, U, J) (high bits: OP $N) into Y6, then the
// columns' dots.
#define Q3B_K(H, U, J, K, HF, OP, N) \
	VMOVDQU 512+64*(8*(H)+4*(U)+(K))+HF(SI), Y6 \
	VPSRLW  $(2*(J)), Y6, Y6 \
	VPAND   Y15, Y6, Y6 \
	VMOVDQU 64*(4*(U)+(K))+HF(SI), Y7 \
	OP      $N, Y7, Y7 \
	VPAND   Y14, Y7, Y7 \
	VPOR    Y7, Y6, Y6 \
	Q3B_D4(16*(8*(H)+2*(J)+(U))+4*(K))

// Group 8H+2J+U: scale in byte B of the scale dword SJ.
#define Q3B_G(H, U, J, HF, OP, N, SJ, B) \
	VPBROADCASTD 128+32*(H)+16*(U)+4*(J)(SP), Y2 \
	VPBROADCASTD 192+32*(H)+16*(U)+4*(J)(SP), Y3 \
	VPBROADCASTD 256+32*(H)+16*(U)+4*(J)(SP), Y4 \
	VPBROADCASTD 320+32*(H)+16*(U)+4*(J)(SP), Y5 \
	Q3B_K(H, U, J, 0, HF, OP, N) \
	Q3B_K(H, U, J, 1, HF, OP, N) \
	Q3B_K(H, U, J, 2, HF, OP, N) \
	Q3B_K(H, U, J, 3, HF, OP, N) \
	Q3SCW(SJ, B, Y9) \
	VPMADDWD Y9, Y2, Y2 \
	VPADDD   Y2, Y10, Y10 \
	VPMADDWD Y9, Y3, Y3 \
	VPADDD   Y3, Y11, Y11 \
	VPMADDWD Y9, Y4, Y4 \
	VPADDD   Y4, Y12, Y12 \
	VPMADDWD Y9, Y5, Y5 \
	VPADDD   Y5, Y13, Y13

// Quarter (H, U).
#define Q3B_Q(H, U, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3) \
	Q3_PF(H, U, HF) \
	Q3B_G(H, U, 0, HF, OP0, N0, 2*(H), U) \
	Q3B_G(H, U, 1, HF, OP1, N1, 2*(H), 2+(U)) \
	Q3B_G(H, U, 2, HF, OP2, N2, 2*(H)+1, U) \
	Q3B_G(H, U, 3, HF, OP3, N3, 2*(H)+1, 2+(U))

// Column's float step for the half: ISUM times d (Y6) and the scale at
// XD, added to the output at HF(OUT).
#define Q3B_END(XD, ISUM, OUT, HF) \
	VBROADCASTSS XD, Y7 \
	VMULPS       Y7, Y6, Y7 \
	VCVTDQ2PS    ISUM, ISUM \
	VMULPS       Y7, ISUM, ISUM \
	VMOVUPS      HF(OUT), Y8 \
	VADDPS       ISUM, Y8, Y8 \
	VMOVUPS      Y8, HF(OUT)

#define Q3B_HALF(HF, HD) \
	Q3SCALES(HF) \
	VPXOR     Y10, Y10, Y10 \
	VPXOR     Y11, Y11, Y11 \
	VPXOR     Y12, Y12, Y12 \
	VPXOR     Y13, Y13, Y13 \
	Q3B_Q(0, 0, HF, VPSLLW, 2, VPSLLW, 1, VPSRLW, 0, VPSRLW, 1) \
	Q3B_Q(0, 1, HF, VPSLLW, 2, VPSLLW, 1, VPSRLW, 0, VPSRLW, 1) \
	Q3B_Q(1, 0, HF, VPSRLW, 2, VPSRLW, 3, VPSRLW, 4, VPSRLW, 5) \
	Q3B_Q(1, 1, HF, VPSRLW, 2, VPSRLW, 3, VPSRLW, 4, VPSRLW, 5) \
	VCVTPH2PS 1728+HD(SI), Y6 \
	MOVQ      R14, AX \
	Q3B_END((DX), Y10, AX, HF) \
	ADDQ      R15, AX \
	Q3B_END((DX)(R13*1), Y11, AX, HF) \
	ADDQ      R15, AX \
	Q3B_END((DX)(R13*2), Y12, AX, HF) \
	ADDQ      R15, AX \
	LEAQ      (DX)(R13*2), BX \
	Q3B_END((BX)(R13*1), Y13, AX, HF)

TEXT ·q3KP4AVX2(SB), NOSPLIT, $384-64
	MOVQ    w+0(FP), SI
	MOVQ    nsb+8(FP), CX
	MOVQ    xq+16(FP), DI
	MOVQ    xd+24(FP), DX
	MOVQ    xqs+40(FP), AX
	MOVQ    out+48(FP), R14
	MOVQ    ostride+56(FP), R15
	LEAQ    (DI)(AX*1), R10
	LEAQ    (R10)(AX*1), R11
	LEAQ    (R11)(AX*1), R12
	MOVQ    CX, R13
	SHLQ    $2, R13
	VMOVDQU kqc<>+KQ03(SB), Y15
	VMOVDQU kqc<>+KQ04(SB), Y14
	VXORPS  Y0, Y0, Y0
	MOVQ    R14, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	ADDQ    R15, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	ADDQ    R15, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	ADDQ    R15, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	TESTQ   CX, CX
	JZ      q3kb4_done

q3kb4_loop:
	Q3BIAS(DI, 128)
	Q3BIAS(R10, 192)
	Q3BIAS(R11, 256)
	Q3BIAS(R12, 320)
	Q3B_HALF(0, 0)
	Q3B_HALF(32, 16)
	ADDQ $1760, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $256, R11
	ADDQ $256, R12
	ADDQ $4, DX
	DECQ CX
	JNZ  q3kb4_loop

q3kb4_done:
	VZEROUPPER
	RET

//	func q3KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q3KP3AVX2(...): the same for 3 columns
//
// q3KP4AVX2 for 2 and 3 columns (its registers and stack layout, the
// columns past the last unused): each dword of a group is rebuilt once
// for the columns.

#define Q3N_D2(XO) \
	VPBROADCASTD XO(DI), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y2, Y2 \
	VPBROADCASTD XO(R10), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y3, Y3

#define Q3N_D3(XO) \
	Q3N_D2(XO) \
	VPBROADCASTD XO(R11), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y4, Y4

// The columns' sums of group (H, U, J) started from their biases.
#define Q3N_B2(H, U, J) \
	VPBROADCASTD 128+32*(H)+16*(U)+4*(J)(SP), Y2 \
	VPBROADCASTD 192+32*(H)+16*(U)+4*(J)(SP), Y3

#define Q3N_B3(H, U, J) \
	Q3N_B2(H, U, J) \
	VPBROADCASTD 256+32*(H)+16*(U)+4*(J)(SP), Y4

// The columns' sums times the group's scale Y9 into their isum.
#define Q3N_F2 \
	VPMADDWD Y9, Y2, Y2 \
	VPADDD   Y2, Y10, Y10 \
	VPMADDWD Y9, Y3, Y3 \
	VPADDD   Y3, Y11, Y11

#define Q3N_F3 \
	Q3N_F2 \
	VPMADDWD Y9, Y4, Y4 \
	VPADDD   Y4, Y12, Y12

// Q3B_K for the columns of D.
#define Q3N_K(H, U, J, K, HF, OP, N, D) \
	VMOVDQU 512+64*(8*(H)+4*(U)+(K))+HF(SI), Y6 \
	VPSRLW  $(2*(J)), Y6, Y6 \
	VPAND   Y15, Y6, Y6 \
	VMOVDQU 64*(4*(U)+(K))+HF(SI), Y7 \
	OP      $N, Y7, Y7 \
	VPAND   Y14, Y7, Y7 \
	VPOR    Y7, Y6, Y6 \
	D(16*(8*(H)+2*(J)+(U))+4*(K))

// Q3B_G for the columns of B, D and F.
#define Q3N_G(H, U, J, HF, OP, N, SJ, SB, B, D, F) \
	B(H, U, J) \
	Q3N_K(H, U, J, 0, HF, OP, N, D) \
	Q3N_K(H, U, J, 1, HF, OP, N, D) \
	Q3N_K(H, U, J, 2, HF, OP, N, D) \
	Q3N_K(H, U, J, 3, HF, OP, N, D) \
	Q3SCW(SJ, SB, Y9) \
	F

#define Q3N_Q(H, U, HF, OP0, N0, OP1, N1, OP2, N2, OP3, N3, B, D, F) \
	Q3_PF(H, U, HF) \
	Q3N_G(H, U, 0, HF, OP0, N0, 2*(H), U, B, D, F) \
	Q3N_G(H, U, 1, HF, OP1, N1, 2*(H), 2+(U), B, D, F) \
	Q3N_G(H, U, 2, HF, OP2, N2, 2*(H)+1, U, B, D, F) \
	Q3N_G(H, U, 3, HF, OP3, N3, 2*(H)+1, 2+(U), B, D, F)

#define Q3N_ENDS2(HF) \
	MOVQ R14, AX \
	Q3B_END((DX), Y10, AX, HF) \
	ADDQ R15, AX \
	Q3B_END((DX)(R13*1), Y11, AX, HF)

#define Q3N_ENDS3(HF) \
	Q3N_ENDS2(HF) \
	ADDQ R15, AX \
	Q3B_END((DX)(R13*2), Y12, AX, HF)

#define Q3N_HALF(HF, HD, B, D, F, ENDS) \
	Q3SCALES(HF) \
	VPXOR     Y10, Y10, Y10 \
	VPXOR     Y11, Y11, Y11 \
	VPXOR     Y12, Y12, Y12 \
	Q3N_Q(0, 0, HF, VPSLLW, 2, VPSLLW, 1, VPSRLW, 0, VPSRLW, 1, B, D, F) \
	Q3N_Q(0, 1, HF, VPSLLW, 2, VPSLLW, 1, VPSRLW, 0, VPSRLW, 1, B, D, F) \
	Q3N_Q(1, 0, HF, VPSRLW, 2, VPSRLW, 3, VPSRLW, 4, VPSRLW, 5, B, D, F) \
	Q3N_Q(1, 1, HF, VPSRLW, 2, VPSRLW, 3, VPSRLW, 4, VPSRLW, 5, B, D, F) \
	VCVTPH2PS 1728+HD(SI), Y6 \
	ENDS(HF)

// Arguments, column pointers, constants, the first 2 columns' outputs
// zeroed (as q3KP4AVX2).
#define Q3N_PROLOGUE \
	MOVQ    w+0(FP), SI \
	MOVQ    nsb+8(FP), CX \
	MOVQ    xq+16(FP), DI \
	MOVQ    xd+24(FP), DX \
	MOVQ    xqs+40(FP), AX \
	MOVQ    out+48(FP), R14 \
	MOVQ    ostride+56(FP), R15 \
	LEAQ    (DI)(AX*1), R10 \
	LEAQ    (R10)(AX*1), R11 \
	MOVQ    CX, R13 \
	SHLQ    $2, R13 \
	VMOVDQU kqc<>+KQ03(SB), Y15 \
	VMOVDQU kqc<>+KQ04(SB), Y14 \
	VXORPS  Y0, Y0, Y0 \
	MOVQ    R14, AX \
	VMOVUPS Y0, (AX) \
	VMOVUPS Y0, 32(AX) \
	ADDQ    R15, AX \
	VMOVUPS Y0, (AX) \
	VMOVUPS Y0, 32(AX)

TEXT ·q3KP2AVX2(SB), NOSPLIT, $256-64
	Q3N_PROLOGUE
	TESTQ CX, CX
	JZ    q3kb2_done

q3kb2_loop:
	Q3BIAS(DI, 128)
	Q3BIAS(R10, 192)
	Q3N_HALF(0, 0, Q3N_B2, Q3N_D2, Q3N_F2, Q3N_ENDS2)
	Q3N_HALF(32, 16, Q3N_B2, Q3N_D2, Q3N_F2, Q3N_ENDS2)
	ADDQ $1760, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $4, DX
	DECQ CX
	JNZ  q3kb2_loop

q3kb2_done:
	VZEROUPPER
	RET

TEXT ·q3KP3AVX2(SB), NOSPLIT, $320-64
	Q3N_PROLOGUE
	ADDQ    R15, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	TESTQ   CX, CX
	JZ      q3kb3_done

q3kb3_loop:
	Q3BIAS(DI, 128)
	Q3BIAS(R10, 192)
	Q3BIAS(R11, 256)
	Q3N_HALF(0, 0, Q3N_B3, Q3N_D3, Q3N_F3, Q3N_ENDS3)
	Q3N_HALF(32, 16, Q3N_B3, Q3N_D3, Q3N_F3, Q3N_ENDS3)
	ADDQ $1760, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $256, R11
	ADDQ $4, DX
	DECQ CX
	JNZ  q3kb3_loop

q3kb3_done:
	VZEROUPPER
	RET

// VPSHUFB controls: byte B of each dword (B = 0..3) into both its words,
// zero-extended.
DATA kqpsc<>+0(SB)/8, $0x8004800480008000
DATA kqpsc<>+8(SB)/8, $0x800c800c80088008
DATA kqpsc<>+16(SB)/8, $0x8004800480008000
DATA kqpsc<>+24(SB)/8, $0x800c800c80088008
DATA kqpsc<>+32(SB)/8, $0x8005800580018001
DATA kqpsc<>+40(SB)/8, $0x800d800d80098009
DATA kqpsc<>+48(SB)/8, $0x8005800580018001
DATA kqpsc<>+56(SB)/8, $0x800d800d80098009
DATA kqpsc<>+64(SB)/8, $0x8006800680028002
DATA kqpsc<>+72(SB)/8, $0x800e800e800a800a
DATA kqpsc<>+80(SB)/8, $0x8006800680028002
DATA kqpsc<>+88(SB)/8, $0x800e800e800a800a
DATA kqpsc<>+96(SB)/8, $0x8007800780038003
DATA kqpsc<>+104(SB)/8, $0x800f800f800b800b
DATA kqpsc<>+112(SB)/8, $0x8007800780038003
DATA kqpsc<>+120(SB)/8, $0x800f800f800b800b
GLOBL kqpsc<>(SB), RODATA|NOPTR, $128

// VPSHUFB controls: bytes 0, 1 (at 0) or 2, 3 (at 32) of each dword into
// its two words, zero-extended.
DATA kqpm<>+0(SB)/8, $0x8005800480018000
DATA kqpm<>+8(SB)/8, $0x800d800c80098008
DATA kqpm<>+16(SB)/8, $0x8005800480018000
DATA kqpm<>+24(SB)/8, $0x800d800c80098008
DATA kqpm<>+32(SB)/8, $0x8007800680038002
DATA kqpm<>+40(SB)/8, $0x800f800e800b800a
DATA kqpm<>+48(SB)/8, $0x8007800680038002
DATA kqpm<>+56(SB)/8, $0x800f800e800b800a
GLOBL kqpm<>(SB), RODATA|NOPTR, $64

// Byte constants (offsets KQ*).

DATA kqc<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqc<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqc<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqc<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqc<>+32(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA kqc<>+40(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA kqc<>+48(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA kqc<>+56(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA kqc<>+64(SB)/8, $0x3030303030303030
DATA kqc<>+72(SB)/8, $0x3030303030303030
DATA kqc<>+80(SB)/8, $0x3030303030303030
DATA kqc<>+88(SB)/8, $0x3030303030303030
DATA kqc<>+96(SB)/8, $0x1010101010101010
DATA kqc<>+104(SB)/8, $0x1010101010101010
DATA kqc<>+112(SB)/8, $0x1010101010101010
DATA kqc<>+120(SB)/8, $0x1010101010101010
DATA kqc<>+128(SB)/8, $0x0101010101010101
DATA kqc<>+136(SB)/8, $0x0101010101010101
DATA kqc<>+144(SB)/8, $0x0101010101010101
DATA kqc<>+152(SB)/8, $0x0101010101010101
DATA kqc<>+160(SB)/8, $0xfffcfffcfffcfffc
DATA kqc<>+168(SB)/8, $0xfffcfffcfffcfffc
DATA kqc<>+176(SB)/8, $0xfffcfffcfffcfffc
DATA kqc<>+184(SB)/8, $0xfffcfffcfffcfffc
DATA kqc<>+192(SB)/8, $0x0000ffff0000ffff
DATA kqc<>+200(SB)/8, $0x0000ffff0000ffff
DATA kqc<>+208(SB)/8, $0x0000ffff0000ffff
DATA kqc<>+216(SB)/8, $0x0000ffff0000ffff
DATA kqc<>+224(SB)/8, $0x2020202020202020
DATA kqc<>+232(SB)/8, $0x2020202020202020
DATA kqc<>+240(SB)/8, $0x2020202020202020
DATA kqc<>+248(SB)/8, $0x2020202020202020
DATA kqc<>+256(SB)/8, $0x0303030303030303
DATA kqc<>+264(SB)/8, $0x0303030303030303
DATA kqc<>+272(SB)/8, $0x0303030303030303
DATA kqc<>+280(SB)/8, $0x0303030303030303
DATA kqc<>+288(SB)/8, $0x0404040404040404
DATA kqc<>+296(SB)/8, $0x0404040404040404
DATA kqc<>+304(SB)/8, $0x0404040404040404
DATA kqc<>+312(SB)/8, $0x0404040404040404
GLOBL kqc<>(SB), RODATA|NOPTR, $320

// VPSHUFB controls: byte B of each dword (B = 0..3) into the high byte of
// both its words, the low bytes zero (VPSRAW $8 then sign-extends it).
DATA kqsx<>+0(SB)/8, $0x0480048000800080
DATA kqsx<>+8(SB)/8, $0x0c800c8008800880
DATA kqsx<>+16(SB)/8, $0x0480048000800080
DATA kqsx<>+24(SB)/8, $0x0c800c8008800880
DATA kqsx<>+32(SB)/8, $0x0580058001800180
DATA kqsx<>+40(SB)/8, $0x0d800d8009800980
DATA kqsx<>+48(SB)/8, $0x0580058001800180
DATA kqsx<>+56(SB)/8, $0x0d800d8009800980
DATA kqsx<>+64(SB)/8, $0x0680068002800280
DATA kqsx<>+72(SB)/8, $0x0e800e800a800a80
DATA kqsx<>+80(SB)/8, $0x0680068002800280
DATA kqsx<>+88(SB)/8, $0x0e800e800a800a80
DATA kqsx<>+96(SB)/8, $0x0780078003800380
DATA kqsx<>+104(SB)/8, $0x0f800f800b800b80
DATA kqsx<>+112(SB)/8, $0x0780078003800380
DATA kqsx<>+120(SB)/8, $0x0f800f800b800b80
GLOBL kqsx<>(SB), RODATA|NOPTR, $128
