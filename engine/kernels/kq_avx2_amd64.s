//go:build amd64

#include "textflag.h"

// AVX2 kernels for repacked q5_k matrices (q3_k to come) (layouts in
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

// Dword Q of pair P of the half at H: low nibbles with bit 2P (OPL $NL
// brings it to bit 4) against the values of sub-block 2P into Y2, high
// nibbles with bit 2P+1 (OPH $NH) against sub-block 2P+1 into Y3.
#define K5A_Q(P, Q, H, OPL, NL, OPH, NH) \
	VMOVDQU      768+512*P+64*Q+H(SI), Y4 \
	VMOVDQU      256+64*Q+H(SI), Y6 \
	VPAND        Y15, Y4, Y5 \
	VPSRLW       $4, Y4, Y4 \
	VPAND        Y15, Y4, Y4 \
	OPL          $NL, Y6, Y7 \
	VPAND        Y11, Y7, Y7 \
	VPOR         Y7, Y5, Y5 \
	OPH          $NH, Y6, Y6 \
	VPAND        Y11, Y6, Y6 \
	VPOR         Y6, Y4, Y4 \
	VPBROADCASTD 64*P+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y5, Y5 \
	VPADDW       Y5, Y2, Y2 \
	VPBROADCASTD 64*P+32+4*Q(DI), Y6 \
	VPMADDUBSW   Y6, Y4, Y4 \
	VPADDW       Y4, Y3, Y3

// isd += the int16 sums times the pair's scale words; the sums zeroed.
#define K5A_FOLD \
	VPMADDWD Y8, Y2, Y2 \
	VPADDD   Y2, Y14, Y14 \
	VPMADDWD Y9, Y3, Y3 \
	VPADDD   Y3, Y14, Y14 \
	VPXOR    Y2, Y2, Y2 \
	VPXOR    Y3, Y3, Y3

// Sub-blocks 2P and 2P+1 (scales: bytes KA and KB of SC) into isd.
#define K5A_PAIR(P, H, SC, KA, KB, OPL, NL, OPH, NH) \
	VPSHUFB kqpsc<>+32*KA(SB), SC, Y8 \
	VPSHUFB kqpsc<>+32*KB(SB), SC, Y9 \
	VPXOR   Y2, Y2, Y2 \
	VPXOR   Y3, Y3, Y3 \
	K5A_Q(P, 0, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 1, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 2, H, OPL, NL, OPH, NH) \
	K5A_Q(P, 3, H, OPL, NL, OPH, NH) \
	K5A_FOLD \
	K5A_Q(P, 4, H, OPL, NL, OPH, NH) \
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

// Dword Q of pair P against one column (values at XQ) into AL, AH.
#define K5B_QC(XQ, P, Q, AL, AH) \
	VPBROADCASTD 64*P+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y5, Y7 \
	VPADDW       Y7, AL, AL \
	VPBROADCASTD 64*P+32+4*Q(XQ), Y6 \
	VPMADDUBSW   Y6, Y4, Y7 \
	VPADDW       Y7, AH, AH

#define K5B_Q(P, Q, H, OPL, NL, OPH, NH) \
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
	K5B_QC(DI, P, Q, Y0, Y8) \
	K5B_QC(R10, P, Q, Y1, Y9) \
	K5B_QC(R11, P, Q, Y2, Y10) \
	K5B_QC(R12, P, Q, Y3, Y11)

// A column's sums times the scale words Y12, Y13, into its isd; the sums
// zeroed.
#define K5B_FOLD(C, AL, AH) \
	VPMADDWD Y12, AL, AL \
	VPMADDWD Y13, AH, AH \
	VPADDD   AH, AL, AL \
	VPADDD   192+32*C(R9), AL, AL \
	VMOVDQU  AL, 192+32*C(R9) \
	VPXOR    AL, AL, AL \
	VPXOR    AH, AH, AH

#define K5B_FOLD4 \
	K5B_FOLD(0, Y0, Y8) \
	K5B_FOLD(1, Y1, Y9) \
	K5B_FOLD(2, Y2, Y10) \
	K5B_FOLD(3, Y3, Y11)

// Sub-blocks 2P and 2P+1 (scales: bytes KA and KB of the stack's SCO).
#define K5B_PAIR(P, H, SCO, KA, KB, OPL, NL, OPH, NH) \
	VMOVDQU SCO(R9), Y12 \
	VPSHUFB kqpsc<>+32*KB(SB), Y12, Y13 \
	VPSHUFB kqpsc<>+32*KA(SB), Y12, Y12 \
	VPXOR   Y0, Y0, Y0 \
	VPXOR   Y1, Y1, Y1 \
	VPXOR   Y2, Y2, Y2 \
	VPXOR   Y3, Y3, Y3 \
	VPXOR   Y8, Y8, Y8 \
	VPXOR   Y9, Y9, Y9 \
	VPXOR   Y10, Y10, Y10 \
	VPXOR   Y11, Y11, Y11 \
	K5B_Q(P, 0, H, OPL, NL, OPH, NH) \
	K5B_Q(P, 1, H, OPL, NL, OPH, NH) \
	K5B_Q(P, 2, H, OPL, NL, OPH, NH) \
	K5B_Q(P, 3, H, OPL, NL, OPH, NH) \
	K5B_FOLD4 \
	K5B_Q(P, 4, H, OPL, NL, OPH, NH) \
	K5B_Q(P, 5, H, OPL, NL, OPH, NH) \
	K5B_Q(P, 6, H, OPL, NL, OPH, NH) \
	K5B_Q(P, 7, H, OPL, NL, OPH, NH) \
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
GLOBL kqc<>(SB), RODATA|NOPTR, $128
