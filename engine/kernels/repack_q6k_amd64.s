//go:build amd64

#include "textflag.h"

// Kernels for repacked q6_k matrices (repack.go, repack_q6k.go): the 16
// rows of an interleaved group against 1 or 4 activation columns, row r
// in lane r of a zmm (AVX-512 F, BW, VNNI).
//
//	func q6KP1VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func q6KP4VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// nsb super-blocks per row; xd one scale per super-block; xs the column's
// negated sums of 16 values as q6KPairSums leaves them (8 dwords per
// super-block); in P4 column c's values are xqs*c bytes after xq, its xs
// xqs/8*c bytes after xs and its scales 4*nsb*c bytes after xd. Column
// c's 16 results go to out + c*ostride (bytes).
//
// Per super-block and row, exactly in int32: the 6-bit values q (0..63)
// are rebuilt from a dword of ql and one of qh (VPTERNLOGD merges the
// nibble and the two high bits), VPDPBUSD forms each group's dot(q, x)
// (q the unsigned operand), VPMULLD by the group's scale (sign-extended)
// adds sc_g*dot_g to isum, and VPDPWSSD of the scales' word pairs with
// the -s_g pairs gives sum_g sc_g*(-s_g), times 32 (see repack_q6k.go).
// Then acc += float(isum)*(d*dx): per row the generic operations.
//
// Position layout (3360 bytes), relative to SI: scale dword j at
// 32+64j, then for h, k the ql dwords A, B and the qh dword Q at
// 288+192(8h+k), +64, +128; d (32 bytes) at its own pointer. A lone
// position has d at SI; in a run of 2 (repack.go) SI is the run's start
// +32 for position 0 (d at +0) and +3360 for position 1 (d at +32), so
// one loop body serves both (the state at the loop's end steps SI and
// the d pointer: +3328 and +32 to position 1, +3392 and +6688 to the
// next run, or to a last lone position).
//
// Registers: Z31 0x0f bytes, Z30 0x33 bytes, Z29 0xcc bytes, Z28 a
// temporary; Z24..Z27 the values v0..v3 of one (h, k) (groups 8h+k/4,
// +2, +4, +6), later the scales; Z8..Z23 the groups' int32 dots per
// column; Z4..Z7 isum per column; Z0..Z3 acc per column.

// v0..v3 of the dwords at OFF(SI) into Z24..Z27.
#define Q6P_UNPACK(OFF) \
	VPANDD     OFF+128(SI), Z30, Z28 \
	VPSLLD     $4, Z28, Z24 \
	VPTERNLOGD $0xB8, OFF(SI), Z31, Z24 \
	VPSRLD     $4, OFF(SI), Z26 \
	VPTERNLOGD $0xE2, Z28, Z31, Z26 \
	VPANDD     OFF+128(SI), Z29, Z28 \
	VPSLLD     $2, Z28, Z25 \
	VPTERNLOGD $0xB8, OFF+64(SI), Z31, Z25 \
	VPSRLD     $4, OFF+64(SI), Z27 \
	VPSRLD     $2, Z28, Z28 \
	VPTERNLOGD $0xE2, Z28, Z31, Z27

// The dots of v0..v3 of (H, K) with the column at XQ, into A0..A3.
#define Q6P_DOT(XQ, H, K, A0, A1, A2, A3) \
	VPDPBUSD.BCST 128*(H)+4*(K)(XQ), Z24, A0 \
	VPDPBUSD.BCST 128*(H)+32+4*(K)(XQ), Z25, A1 \
	VPDPBUSD.BCST 128*(H)+64+4*(K)(XQ), Z26, A2 \
	VPDPBUSD.BCST 128*(H)+96+4*(K)(XQ), Z27, A3

// The scales of groups 8H+KK, +2, +4, +6 (sign-extended dwords) into
// Z24..Z27: bytes KK and KK+2 of the scale dwords 2H and 2H+1.
#define Q6P_SC(H, KK) \
	VPSLLD $(24-8*KK), 32+128*H(SI), Z24 \
	VPSRAD $24, Z24, Z24 \
	VPSLLD $(8-8*KK), 32+128*H(SI), Z25 \
	VPSRAD $24, Z25, Z25 \
	VPSLLD $(24-8*KK), 96+128*H(SI), Z26 \
	VPSRAD $24, Z26, Z26 \
	VPSLLD $(8-8*KK), 96+128*H(SI), Z27 \
	VPSRAD $24, Z27, Z27

// ISUM += the 4 groups' dots A0..A3 times their scales Z24..Z27.
#define Q6P_FOLD(A0, A1, A2, A3, ISUM) \
	VPMULLD Z24, A0, A0 \
	VPADDD  A0, ISUM, ISUM \
	VPMULLD Z25, A1, A1 \
	VPADDD  A1, ISUM, ISUM \
	VPMULLD Z26, A2, A2 \
	VPADDD  A2, ISUM, ISUM \
	VPMULLD Z27, A3, A3 \
	VPADDD  A3, ISUM, ISUM

// The word pairs (sc_4J, sc_4J+2) and (sc_4J+1, sc_4J+3) into Z24, Z25.
#define Q6P_SCW(J) \
	VPSLLW $8, 32+64*J(SI), Z24 \
	VPSRAW $8, Z24, Z24 \
	VPSRAW $8, 32+64*J(SI), Z25

#define Q6P_ZERO4(A0, A1, A2, A3) \
	VPXORD A0, A0, A0 \
	VPXORD A1, A1, A1 \
	VPXORD A2, A2, A2 \
	VPXORD A3, A3, A3

#define Q6P_CONSTS \
	MOVL         $0x0f0f0f0f, AX \
	VPBROADCASTD AX, Z31 \
	MOVL         $0x33333333, AX \
	VPBROADCASTD AX, Z30 \
	MOVL         $0xcccccccc, AX \
	VPBROADCASTD AX, Z29

// One quarter (H, KK) of the super-block, one column.
#define Q6P1_QUARTER(H, KK) \
	Q6P_ZERO4(Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK)) \
	Q6P_DOT(DI, H, 4*KK, Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK+1)) \
	Q6P_DOT(DI, H, 4*KK+1, Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK+2)) \
	Q6P_DOT(DI, H, 4*KK+2, Z8, Z9, Z10, Z11) \
	Q6P_UNPACK(288+192*(8*H+4*KK+3)) \
	Q6P_DOT(DI, H, 4*KK+3, Z8, Z9, Z10, Z11) \
	Q6P_SC(H, KK) \
	Q6P_FOLD(Z8, Z9, Z10, Z11, Z4)

TEXT ·q6KP1VNNI(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	Q6P_CONSTS
	VPXORD Z0, Z0, Z0
	TESTQ  CX, CX
	JZ     q6p1_done
	MOVQ   SI, R9
	MOVQ   $0, R10
	CMPQ   CX, $2
	JLT    q6p1_loop
	ADDQ   $32, SI

q6p1_loop:
	VPXORD        Z4, Z4, Z4
	Q6P_SCW(0)
	VPDPWSSD.BCST 0(R8), Z24, Z4
	VPDPWSSD.BCST 4(R8), Z25, Z4
	Q6P_SCW(1)
	VPDPWSSD.BCST 8(R8), Z24, Z4
	VPDPWSSD.BCST 12(R8), Z25, Z4
	Q6P_SCW(2)
	VPDPWSSD.BCST 16(R8), Z24, Z4
	VPDPWSSD.BCST 20(R8), Z25, Z4
	Q6P_SCW(3)
	VPDPWSSD.BCST 24(R8), Z24, Z4
	VPDPWSSD.BCST 28(R8), Z25, Z4
	VPSLLD        $5, Z4, Z4
	Q6P1_QUARTER(0, 0)
	Q6P1_QUARTER(0, 1)
	Q6P1_QUARTER(1, 0)
	Q6P1_QUARTER(1, 1)
	VCVTDQ2PS     Z4, Z4
	VCVTPH2PS     (R9), Z5
	VMULPS.BCST   (DX), Z5, Z5
	VMULPS        Z5, Z4, Z4
	VADDPS        Z4, Z0, Z0
	ADDQ          $256, DI
	ADDQ          $32, R8
	ADDQ          $4, DX
	DECQ          CX
	JZ            q6p1_done
	CMPQ R10, $0
	JNE  q6p1_n1
	ADDQ $3328, SI
	ADDQ $32, R9
	MOVQ $1, R10
	JMP  q6p1_loop

q6p1_n1:
	ADDQ $3392, SI
	ADDQ $6688, R9
	MOVQ $0, R10
	CMPQ CX, $1
	JNE  q6p1_loop
	SUBQ $32, SI
	JMP  q6p1_loop

q6p1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Z0, (AX)
	VZEROUPPER
	RET

// ---- 4 columns ----
//
// GP registers: DI, R10, R11, R12 the columns' values; DX, R13, R14, R15
// their scales; R8 column 0's xs, R9 the xs column stride, BX 3*R9.

// One k of quarter (H, KK): unpack once, dots for the 4 columns.
#define Q6P4_K(H, K) \
	Q6P_UNPACK(288+192*(8*(H)+(K))) \
	Q6P_DOT(DI, H, K, Z8, Z9, Z10, Z11) \
	Q6P_DOT(R10, H, K, Z12, Z13, Z14, Z15) \
	Q6P_DOT(R11, H, K, Z16, Z17, Z18, Z19) \
	Q6P_DOT(R12, H, K, Z20, Z21, Z22, Z23)

#define Q6P4_QUARTER(H, KK) \
	Q6P_ZERO4(Z8, Z9, Z10, Z11) \
	Q6P_ZERO4(Z12, Z13, Z14, Z15) \
	Q6P_ZERO4(Z16, Z17, Z18, Z19) \
	Q6P_ZERO4(Z20, Z21, Z22, Z23) \
	Q6P4_K(H, 4*KK) \
	Q6P4_K(H, 4*KK+1) \
	Q6P4_K(H, 4*KK+2) \
	Q6P4_K(H, 4*KK+3) \
	Q6P_SC(H, KK) \
	Q6P_FOLD(Z8, Z9, Z10, Z11, Z4) \
	Q6P_FOLD(Z12, Z13, Z14, Z15, Z5) \
	Q6P_FOLD(Z16, Z17, Z18, Z19, Z6) \
	Q6P_FOLD(Z20, Z21, Z22, Z23, Z7)

// The 4 columns' sum_g sc_g*(-s_g) terms of scale dword J.
#define Q6P4_CORR(J) \
	Q6P_SCW(J) \
	VPDPWSSD.BCST 8*J(R8), Z24, Z4 \
	VPDPWSSD.BCST 8*J+4(R8), Z25, Z4 \
	VPDPWSSD.BCST 8*J(R8)(R9*1), Z24, Z5 \
	VPDPWSSD.BCST 8*J+4(R8)(R9*1), Z25, Z5 \
	VPDPWSSD.BCST 8*J(R8)(R9*2), Z24, Z6 \
	VPDPWSSD.BCST 8*J+4(R8)(R9*2), Z25, Z6 \
	VPDPWSSD.BCST 8*J(R8)(BX*1), Z24, Z7 \
	VPDPWSSD.BCST 8*J+4(R8)(BX*1), Z25, Z7

// Column's float step: ISUM (int32) times d (Z24) and the scale at XD.
#define Q6P4_END(XD, ISUM, ACC) \
	VCVTDQ2PS   ISUM, ISUM \
	VMULPS.BCST (XD), Z24, Z25 \
	VMULPS      Z25, ISUM, ISUM \
	VADDPS      ISUM, ACC, ACC

TEXT ·q6KP4VNNI(SB), NOSPLIT, $8-64
	MOVQ   w+0(FP), SI
	MOVQ   nsb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	MOVQ   xqs+40(FP), R9
	LEAQ   (DI)(R9*1), R10
	LEAQ   (R10)(R9*1), R11
	LEAQ   (R11)(R9*1), R12
	SHRQ   $3, R9
	LEAQ   (R9)(R9*2), BX
	MOVQ   CX, AX
	SHLQ   $2, AX
	LEAQ   (DX)(AX*1), R13
	LEAQ   (R13)(AX*1), R14
	LEAQ   (R14)(AX*1), R15
	Q6P_CONSTS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	TESTQ  CX, CX
	JZ     q6p4_done
	MOVQ   SI, AX
	MOVQ   $0, 0(SP)
	CMPQ   CX, $2
	JLT    q6p4_loop
	ADDQ   $32, SI

q6p4_loop:
	Q6P_ZERO4(Z4, Z5, Z6, Z7)
	Q6P4_CORR(0)
	Q6P4_CORR(1)
	Q6P4_CORR(2)
	Q6P4_CORR(3)
	VPSLLD    $5, Z4, Z4
	VPSLLD    $5, Z5, Z5
	VPSLLD    $5, Z6, Z6
	VPSLLD    $5, Z7, Z7
	Q6P4_QUARTER(0, 0)
	Q6P4_QUARTER(0, 1)
	Q6P4_QUARTER(1, 0)
	Q6P4_QUARTER(1, 1)
	VCVTPH2PS (AX), Z24
	Q6P4_END(DX, Z4, Z0)
	Q6P4_END(R13, Z5, Z1)
	Q6P4_END(R14, Z6, Z2)
	Q6P4_END(R15, Z7, Z3)
	ADDQ      $256, DI
	ADDQ      $256, R10
	ADDQ      $256, R11
	ADDQ      $256, R12
	ADDQ      $32, R8
	ADDQ      $4, DX
	ADDQ      $4, R13
	ADDQ      $4, R14
	ADDQ      $4, R15
	DECQ      CX
	JZ        q6p4_done
	CMPQ 0(SP), $0
	JNE  q6p4_n1
	ADDQ $3328, SI
	ADDQ $32, AX
	MOVQ $1, 0(SP)
	JMP  q6p4_loop

q6p4_n1:
	ADDQ $3392, SI
	ADDQ $6688, AX
	MOVQ $0, 0(SP)
	CMPQ CX, $1
	JNE  q6p4_loop
	SUBQ $32, SI
	JMP  q6p4_loop

q6p4_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, (AX)(BX*1)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Z2, (AX)
	VMOVUPS Z3, (AX)(BX*1)
	VZEROUPPER
	RET

// ---- AVX2: rows 0..7 and 8..15 of the group as two halves ----
//
//	func q6KP1AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, out *float32)
//
// Per half (byte HF = 0 or 32 of each 64-byte piece, 16 of d's), the
// values v0..v3 of each (h, k) are rebuilt as in the AVX-512 kernels
// (AND, shifts and OR). VPMADDUBSW of the values (unsigned, <= 63) and 4
// broadcast activations (signed) gives int16 pairs (|s| <= 2*63*127);
// the two of a group's k-pair added as int16 stay below 2^15, and
// VPMADDWD by the group's scale in both words of a lane adds sc_g times
// them to isum exactly in int32. The -s_g term as in the AVX-512
// kernels (VPMADDWD of the scales' word pairs with the broadcast pairs
// of xs), then the same float steps.
//
// Registers: Y15 0x0f bytes, Y14 0x30 bytes, Y0, Y1 acc of the halves,
// Y13 isum, Y2..Y5 the int16 sums of groups 8h+kk, +2, +4, +6; Y6, Y7, Y8
// the dwords A, B, Q; Y9..Y12 temporaries. The stack holds the half's 16
// scales as (sc, sc) word pairs, group g at 32g.

// One k of (H, K) for the half at HF, into Y2..Y5.
#define Q6A_K(H, K, HF) \
	VMOVDQU      288+192*(8*(H)+(K))+HF(SI), Y6 \
	VMOVDQU      288+192*(8*(H)+(K))+64+HF(SI), Y7 \
	VMOVDQU      288+192*(8*(H)+(K))+128+HF(SI), Y8 \
	VPAND        Y15, Y6, Y9 \
	VPSLLW       $4, Y8, Y10 \
	VPAND        Y14, Y10, Y10 \
	VPOR         Y10, Y9, Y9 \
	VPBROADCASTD 128*(H)+4*(K)(DI), Y10 \
	VPMADDUBSW   Y10, Y9, Y9 \
	VPADDW       Y9, Y2, Y2 \
	VPAND        Y15, Y7, Y11 \
	VPSLLW       $2, Y8, Y12 \
	VPAND        Y14, Y12, Y12 \
	VPOR         Y12, Y11, Y11 \
	VPBROADCASTD 128*(H)+32+4*(K)(DI), Y12 \
	VPMADDUBSW   Y12, Y11, Y11 \
	VPADDW       Y11, Y3, Y3 \
	VPSRLW       $4, Y6, Y9 \
	VPAND        Y15, Y9, Y9 \
	VPAND        Y14, Y8, Y10 \
	VPOR         Y10, Y9, Y9 \
	VPBROADCASTD 128*(H)+64+4*(K)(DI), Y10 \
	VPMADDUBSW   Y10, Y9, Y9 \
	VPADDW       Y9, Y4, Y4 \
	VPSRLW       $4, Y7, Y11 \
	VPAND        Y15, Y11, Y11 \
	VPSRLW       $2, Y8, Y12 \
	VPAND        Y14, Y12, Y12 \
	VPOR         Y12, Y11, Y11 \
	VPBROADCASTD 128*(H)+96+4*(K)(DI), Y12 \
	VPMADDUBSW   Y12, Y11, Y11 \
	VPADDW       Y11, Y5, Y5

// isum += the int16 sums Y2..Y5 of groups 8H+KK, +2, +4, +6 times their
// scales.
#define Q6A_FOLD(H, KK) \
	VPMADDWD 32*(8*(H)+(KK))(SP), Y2, Y2 \
	VPADDD   Y2, Y13, Y13 \
	VPMADDWD 32*(8*(H)+(KK)+2)(SP), Y3, Y3 \
	VPADDD   Y3, Y13, Y13 \
	VPMADDWD 32*(8*(H)+(KK)+4)(SP), Y4, Y4 \
	VPADDD   Y4, Y13, Y13 \
	VPMADDWD 32*(8*(H)+(KK)+6)(SP), Y5, Y5 \
	VPADDD   Y5, Y13, Y13

#define Q6A_ZERO \
	VPXOR Y2, Y2, Y2 \
	VPXOR Y3, Y3, Y3 \
	VPXOR Y4, Y4, Y4 \
	VPXOR Y5, Y5, Y5

// A k-pair (K, K+1) of quarter (H, KK).
#define Q6A_PAIR(H, KK, K, HF) \
	Q6A_ZERO \
	Q6A_K(H, K, HF) \
	Q6A_K(H, (K)+1, HF) \
	Q6A_FOLD(H, KK)

// Scale dword J of the half: its 4 scales as word pairs to the stack
// (groups 4J..4J+3), and isum += its word pairs (sc_4J, sc_4J+2) and
// (sc_4J+1, sc_4J+3) times the pairs of xs (at R8).
#define Q6A_SCJ(J, HF) \
	VMOVDQU      32+64*(J)+HF(SI), Y6 \
	VPSHUFB      q6psc<>+0(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)(SP) \
	VPSHUFB      q6psc<>+32(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+32(SP) \
	VPSHUFB      q6psc<>+64(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+64(SP) \
	VPSHUFB      q6psc<>+96(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+96(SP) \
	VPSLLW       $8, Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VPBROADCASTD 8*(J)(R8), Y10 \
	VPMADDWD     Y10, Y9, Y9 \
	VPADDD       Y9, Y13, Y13 \
	VPSRAW       $8, Y6, Y9 \
	VPBROADCASTD 8*(J)+4(R8), Y10 \
	VPMADDWD     Y10, Y9, Y9 \
	VPADDD       Y9, Y13, Y13

// One half of the super-block into ACC (its d at HD(R9)).
#define Q6A_HALF(HF, HD, ACC) \
	VPXOR        Y13, Y13, Y13 \
	Q6A_SCJ(0, HF) \
	Q6A_SCJ(1, HF) \
	Q6A_SCJ(2, HF) \
	Q6A_SCJ(3, HF) \
	VPSLLD       $5, Y13, Y13 \
	Q6A_PAIR(0, 0, 0, HF) \
	Q6A_PAIR(0, 0, 2, HF) \
	Q6A_PAIR(0, 1, 4, HF) \
	Q6A_PAIR(0, 1, 6, HF) \
	Q6A_PAIR(1, 0, 0, HF) \
	Q6A_PAIR(1, 0, 2, HF) \
	Q6A_PAIR(1, 1, 4, HF) \
	Q6A_PAIR(1, 1, 6, HF) \
	VCVTDQ2PS    Y13, Y13 \
	VCVTPH2PS    HD(R9), Y9 \
	VBROADCASTSS (DX), Y10 \
	VMULPS       Y10, Y9, Y9 \
	VMULPS       Y9, Y13, Y13 \
	VADDPS       Y13, ACC, ACC

TEXT ·q6KP1AVX2(SB), NOSPLIT, $512-48
	MOVQ         w+0(FP), SI
	MOVQ         nsb+8(FP), CX
	MOVQ         xq+16(FP), DI
	MOVQ         xd+24(FP), DX
	MOVQ         xs+32(FP), R8
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x30303030, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	TESTQ        CX, CX
	JZ           q6a1_done
	MOVQ   SI, R9
	MOVQ   $0, R10
	CMPQ   CX, $2
	JLT    q6a1_loop
	ADDQ   $32, SI

q6a1_loop:
	Q6A_HALF(0, 0, Y0)
	Q6A_HALF(32, 16, Y1)
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ CX
	JZ   q6a1_done
	CMPQ R10, $0
	JNE  q6a1_n1
	ADDQ $3328, SI
	ADDQ $32, R9
	MOVQ $1, R10
	JMP  q6a1_loop

q6a1_n1:
	ADDQ $3392, SI
	ADDQ $6688, R9
	MOVQ $0, R10
	CMPQ CX, $1
	JNE  q6a1_loop
	SUBQ $32, SI
	JMP  q6a1_loop

q6a1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VZEROUPPER
	RET

// VPSHUFB controls: byte B of each dword into the high byte of both its
// words (low bytes zero), B = 0..3.
DATA q6psc<>+0(SB)/8, $0x0480048000800080
DATA q6psc<>+8(SB)/8, $0x0c800c8008800880
DATA q6psc<>+16(SB)/8, $0x0480048000800080
DATA q6psc<>+24(SB)/8, $0x0c800c8008800880
DATA q6psc<>+32(SB)/8, $0x0580058001800180
DATA q6psc<>+40(SB)/8, $0x0d800d8009800980
DATA q6psc<>+48(SB)/8, $0x0580058001800180
DATA q6psc<>+56(SB)/8, $0x0d800d8009800980
DATA q6psc<>+64(SB)/8, $0x0680068002800280
DATA q6psc<>+72(SB)/8, $0x0e800e800a800a80
DATA q6psc<>+80(SB)/8, $0x0680068002800280
DATA q6psc<>+88(SB)/8, $0x0e800e800a800a80
DATA q6psc<>+96(SB)/8, $0x0780078003800380
DATA q6psc<>+104(SB)/8, $0x0f800f800b800b80
DATA q6psc<>+112(SB)/8, $0x0780078003800380
DATA q6psc<>+120(SB)/8, $0x0f800f800b800b80
GLOBL q6psc<>(SB), RODATA|NOPTR, $128

//	func q6KP4AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// The same per half for 4 columns (the layout of q6KP4VNNI), one group
// at a time: its values of a k-pair are rebuilt once and go to the 4
// columns' int16 sums Y2..Y5, folded by the group's scale into the
// columns' isum Y10..Y13. The float accumulators are the outputs
// themselves (zeroed first, each super-block added in order: the same
// operations). Y6 the values, Y7..Y9 temporaries.
//
// GP registers: DI, R10, R11, R12 the columns' values; DX column 0's
// scales, R13 their column stride; R8 column 0's xs, R9 its column
// stride, BX 3*R9; R14 out, R15 ostride.

#define Q6B_OFF(H, K) (288+192*(8*(H)+(K)))

// The values v0..v3 of (H, K) for the half at HF into Y6.
#define Q6B_V0(H, K, HF) \
	VMOVDQU Q6B_OFF(H, K)+128+HF(SI), Y8 \
	VPSLLW  $4, Y8, Y8 \
	VPAND   Y14, Y8, Y8 \
	VPAND   Q6B_OFF(H, K)+HF(SI), Y15, Y6 \
	VPOR    Y8, Y6, Y6

#define Q6B_V1(H, K, HF) \
	VMOVDQU Q6B_OFF(H, K)+128+HF(SI), Y8 \
	VPSLLW  $2, Y8, Y8 \
	VPAND   Y14, Y8, Y8 \
	VPAND   Q6B_OFF(H, K)+64+HF(SI), Y15, Y6 \
	VPOR    Y8, Y6, Y6

#define Q6B_V2(H, K, HF) \
	VMOVDQU Q6B_OFF(H, K)+HF(SI), Y8 \
	VPSRLW  $4, Y8, Y8 \
	VPAND   Y15, Y8, Y8 \
	VPAND   Q6B_OFF(H, K)+128+HF(SI), Y14, Y6 \
	VPOR    Y8, Y6, Y6

#define Q6B_V3(H, K, HF) \
	VMOVDQU Q6B_OFF(H, K)+64+HF(SI), Y8 \
	VPSRLW  $4, Y8, Y8 \
	VPAND   Y15, Y8, Y8 \
	VMOVDQU Q6B_OFF(H, K)+128+HF(SI), Y9 \
	VPSRLW  $2, Y9, Y9 \
	VPAND   Y14, Y9, Y9 \
	VPOR    Y9, Y8, Y6

// The 4 columns' dots of Y6 with the activations at XOFF.
#define Q6B_D4(XOFF) \
	VPBROADCASTD XOFF(DI), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y2, Y2 \
	VPBROADCASTD XOFF(R10), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y3, Y3 \
	VPBROADCASTD XOFF(R11), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y4, Y4 \
	VPBROADCASTD XOFF(R12), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y5, Y5

// The columns' int16 sums times the scale of group G into isum.
#define Q6B_FOLD(G) \
	VPMADDWD 32*(G)(SP), Y2, Y2 \
	VPADDD   Y2, Y10, Y10 \
	VPMADDWD 32*(G)(SP), Y3, Y3 \
	VPADDD   Y3, Y11, Y11 \
	VPMADDWD 32*(G)(SP), Y4, Y4 \
	VPADDD   Y4, Y12, Y12 \
	VPMADDWD 32*(G)(SP), Y5, Y5 \
	VPADDD   Y5, Y13, Y13

// Group 8H+KK+2I (values vI) over the k-pair (K, K+1).
#define Q6B_G0(H, KK, K, HF) \
	Q6A_ZERO \
	Q6B_V0(H, K, HF) \
	Q6B_D4(128*(H)+4*(K)) \
	Q6B_V0(H, (K)+1, HF) \
	Q6B_D4(128*(H)+4*(K)+4) \
	Q6B_FOLD(8*(H)+(KK))

#define Q6B_G1(H, KK, K, HF) \
	Q6A_ZERO \
	Q6B_V1(H, K, HF) \
	Q6B_D4(128*(H)+32+4*(K)) \
	Q6B_V1(H, (K)+1, HF) \
	Q6B_D4(128*(H)+32+4*(K)+4) \
	Q6B_FOLD(8*(H)+(KK)+2)

#define Q6B_G2(H, KK, K, HF) \
	Q6A_ZERO \
	Q6B_V2(H, K, HF) \
	Q6B_D4(128*(H)+64+4*(K)) \
	Q6B_V2(H, (K)+1, HF) \
	Q6B_D4(128*(H)+64+4*(K)+4) \
	Q6B_FOLD(8*(H)+(KK)+4)

#define Q6B_G3(H, KK, K, HF) \
	Q6A_ZERO \
	Q6B_V3(H, K, HF) \
	Q6B_D4(128*(H)+96+4*(K)) \
	Q6B_V3(H, (K)+1, HF) \
	Q6B_D4(128*(H)+96+4*(K)+4) \
	Q6B_FOLD(8*(H)+(KK)+6)

#define Q6B_PAIR(H, KK, K, HF) \
	Q6B_G0(H, KK, K, HF) \
	Q6B_G1(H, KK, K, HF) \
	Q6B_G2(H, KK, K, HF) \
	Q6B_G3(H, KK, K, HF)

// Scale dword J of the half: the word pairs to the stack as in Q6A_SCJ,
// and each column's isum += the scales' pairs times its xs pairs.
#define Q6B_SCJ(J, HF) \
	VMOVDQU      32+64*(J)+HF(SI), Y6 \
	VPSHUFB      q6psc<>+0(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)(SP) \
	VPSHUFB      q6psc<>+32(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+32(SP) \
	VPSHUFB      q6psc<>+64(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+64(SP) \
	VPSHUFB      q6psc<>+96(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+96(SP) \
	VPSLLW       $8, Y6, Y8 \
	VPSRAW       $8, Y8, Y8 \
	VPSRAW       $8, Y6, Y6 \
	Q6B_CORR(8*(J)(R8), 8*(J)+4(R8), Y10) \
	Q6B_CORR(8*(J)(R8)(R9*1), 8*(J)+4(R8)(R9*1), Y11) \
	Q6B_CORR(8*(J)(R8)(R9*2), 8*(J)+4(R8)(R9*2), Y12) \
	Q6B_CORR(8*(J)(R8)(BX*1), 8*(J)+4(R8)(BX*1), Y13)

#define Q6B_CORR(E, O, ISUM) \
	VPBROADCASTD E, Y7 \
	VPMADDWD     Y7, Y8, Y7 \
	VPADDD       Y7, ISUM, ISUM \
	VPBROADCASTD O, Y7 \
	VPMADDWD     Y7, Y6, Y7 \
	VPADDD       Y7, ISUM, ISUM

// Column's float step for the half: ISUM times d (Y6) and the scale at
// XD, added to the output at HF(OUT).
#define Q6B_END(XD, ISUM, OUT, HF) \
	VBROADCASTSS XD, Y7 \
	VMULPS       Y7, Y6, Y7 \
	VCVTDQ2PS    ISUM, ISUM \
	VMULPS       Y7, ISUM, ISUM \
	VMOVUPS      HF(OUT), Y8 \
	VADDPS       ISUM, Y8, Y8 \
	VMOVUPS      Y8, HF(OUT)

// One half of the super-block (its d at HD(CX)).
#define Q6B_HALF(HF, HD) \
	VPXOR     Y10, Y10, Y10 \
	VPXOR     Y11, Y11, Y11 \
	VPXOR     Y12, Y12, Y12 \
	VPXOR     Y13, Y13, Y13 \
	Q6B_SCJ(0, HF) \
	Q6B_SCJ(1, HF) \
	Q6B_SCJ(2, HF) \
	Q6B_SCJ(3, HF) \
	VPSLLD    $5, Y10, Y10 \
	VPSLLD    $5, Y11, Y11 \
	VPSLLD    $5, Y12, Y12 \
	VPSLLD    $5, Y13, Y13 \
	Q6B_PAIR(0, 0, 0, HF) \
	Q6B_PAIR(0, 0, 2, HF) \
	Q6B_PAIR(0, 1, 4, HF) \
	Q6B_PAIR(0, 1, 6, HF) \
	Q6B_PAIR(1, 0, 0, HF) \
	Q6B_PAIR(1, 0, 2, HF) \
	Q6B_PAIR(1, 1, 4, HF) \
	Q6B_PAIR(1, 1, 6, HF) \
	VCVTPH2PS HD(CX), Y6 \
	MOVQ      R14, AX \
	Q6B_END((DX), Y10, AX, HF) \
	ADDQ      R15, AX \
	Q6B_END((DX)(R13*1), Y11, AX, HF) \
	ADDQ      R15, AX \
	Q6B_END((DX)(R13*2), Y12, AX, HF) \
	ADDQ      R15, AX \
	LEAQ      (DX)(R13*2), CX \
	Q6B_END((CX)(R13*1), Y13, AX, HF)

TEXT ·q6KP4AVX2(SB), NOSPLIT, $536-64
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
	LEAQ         (R9)(R9*2), BX
	MOVQ         CX, R13
	SHLQ         $2, R13
	MOVQ         CX, 512(SP)
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0x30303030, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
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
	JZ           q6b4_done
	MOVQ   SI, 520(SP)
	MOVQ   $0, 528(SP)
	CMPQ   CX, $2
	JLT    q6b4_loop
	ADDQ   $32, SI

q6b4_loop:
	MOVQ 520(SP), CX
	Q6B_HALF(0, 0)
	MOVQ 520(SP), CX
	Q6B_HALF(32, 16)
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $256, R11
	ADDQ $256, R12
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ 512(SP)
	JZ   q6b4_done
	CMPQ 528(SP), $0
	JNE  q6b4_n1
	ADDQ $3328, SI
	ADDQ $32, 520(SP)
	MOVQ $1, 528(SP)
	JMP  q6b4_loop

q6b4_n1:
	ADDQ $3392, SI
	ADDQ $6688, 520(SP)
	MOVQ $0, 528(SP)
	CMPQ 512(SP), $1
	JNE  q6b4_loop
	SUBQ $32, SI
	JMP  q6b4_loop

q6b4_done:
	VZEROUPPER
	RET

// ---- 2 and 3 columns ----
//
//	func q6KP2VNNI(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q6KP3VNNI(...): the same for 3 columns
//
// q6KP4VNNI for 2 and 3 columns (its layout and registers, the columns
// past the last unused; R12 the run state): each (h, k) is unpacked once
// for the columns, so that a server's 2 or 3 batched sessions do not pay
// the unpacking per session.

#define Q6P2_ZERO \
	Q6P_ZERO4(Z8, Z9, Z10, Z11) \
	Q6P_ZERO4(Z12, Z13, Z14, Z15)

#define Q6P3_ZERO \
	Q6P2_ZERO \
	Q6P_ZERO4(Z16, Z17, Z18, Z19)

#define Q6P2_DOTS(H, K) \
	Q6P_DOT(DI, H, K, Z8, Z9, Z10, Z11) \
	Q6P_DOT(R10, H, K, Z12, Z13, Z14, Z15)

#define Q6P3_DOTS(H, K) \
	Q6P2_DOTS(H, K) \
	Q6P_DOT(R11, H, K, Z16, Z17, Z18, Z19)

#define Q6P2_FOLD \
	Q6P_FOLD(Z8, Z9, Z10, Z11, Z4) \
	Q6P_FOLD(Z12, Z13, Z14, Z15, Z5)

#define Q6P3_FOLD \
	Q6P2_FOLD \
	Q6P_FOLD(Z16, Z17, Z18, Z19, Z6)

// One quarter (H, KK) for the columns of ZERO, DOTS and FOLD.
#define Q6PN_QUARTER(H, KK, ZERO, DOTS, FOLD) \
	ZERO \
	Q6P_UNPACK(288+192*(8*(H)+4*(KK))) \
	DOTS(H, 4*(KK)) \
	Q6P_UNPACK(288+192*(8*(H)+4*(KK)+1)) \
	DOTS(H, 4*(KK)+1) \
	Q6P_UNPACK(288+192*(8*(H)+4*(KK)+2)) \
	DOTS(H, 4*(KK)+2) \
	Q6P_UNPACK(288+192*(8*(H)+4*(KK)+3)) \
	DOTS(H, 4*(KK)+3) \
	Q6P_SC(H, KK) \
	FOLD

#define Q6P2_CORR(J) \
	Q6P_SCW(J) \
	VPDPWSSD.BCST 8*J(R8), Z24, Z4 \
	VPDPWSSD.BCST 8*J+4(R8), Z25, Z4 \
	VPDPWSSD.BCST 8*J(R8)(R9*1), Z24, Z5 \
	VPDPWSSD.BCST 8*J+4(R8)(R9*1), Z25, Z5

#define Q6P3_CORR(J) \
	Q6P2_CORR(J) \
	VPDPWSSD.BCST 8*J(R8)(R9*2), Z24, Z6 \
	VPDPWSSD.BCST 8*J+4(R8)(R9*2), Z25, Z6

// Arguments, column pointers, constants, accumulators zeroed, R12 = 0
// and SI, AX at the first position (as q6KP4VNNI); CX == 0 jumps to
// DONE.
#define Q6PN_PROLOGUE(DONE) \
	MOVQ   w+0(FP), SI \
	MOVQ   nsb+8(FP), CX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   xs+32(FP), R8 \
	MOVQ   xqs+40(FP), R9 \
	LEAQ   (DI)(R9*1), R10 \
	LEAQ   (R10)(R9*1), R11 \
	SHRQ   $3, R9 \
	MOVQ   CX, AX \
	SHLQ   $2, AX \
	LEAQ   (DX)(AX*1), R13 \
	LEAQ   (R13)(AX*1), R14 \
	Q6P_CONSTS \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	MOVQ   SI, AX \
	MOVQ   $0, R12 \
	TESTQ  CX, CX \
	JZ     DONE \
	CMPQ   CX, $2 \
	JLT    2(PC) \
	ADDQ   $32, SI

TEXT ·q6KP2VNNI(SB), NOSPLIT, $0-64
	Q6PN_PROLOGUE(q6p2_done)

q6p2_loop:
	VPXORD       Z4, Z4, Z4
	VPXORD       Z5, Z5, Z5
	Q6P2_CORR(0)
	Q6P2_CORR(1)
	Q6P2_CORR(2)
	Q6P2_CORR(3)
	VPSLLD       $5, Z4, Z4
	VPSLLD       $5, Z5, Z5
	Q6PN_QUARTER(0, 0, Q6P2_ZERO, Q6P2_DOTS, Q6P2_FOLD)
	Q6PN_QUARTER(0, 1, Q6P2_ZERO, Q6P2_DOTS, Q6P2_FOLD)
	Q6PN_QUARTER(1, 0, Q6P2_ZERO, Q6P2_DOTS, Q6P2_FOLD)
	Q6PN_QUARTER(1, 1, Q6P2_ZERO, Q6P2_DOTS, Q6P2_FOLD)
	VCVTPH2PS    (AX), Z24
	Q6P4_END(DX, Z4, Z0)
	Q6P4_END(R13, Z5, Z1)
	ADDQ         $256, DI
	ADDQ         $256, R10
	ADDQ         $32, R8
	ADDQ         $4, DX
	ADDQ         $4, R13
	DECQ         CX
	JZ           q6p2_done
	CMPQ         R12, $0
	JNE          q6p2_n1
	ADDQ         $3328, SI
	ADDQ         $32, AX
	MOVQ         $1, R12
	JMP          q6p2_loop

q6p2_n1:
	ADDQ $3392, SI
	ADDQ $6688, AX
	MOVQ $0, R12
	CMPQ CX, $1
	JNE  q6p2_loop
	SUBQ $32, SI
	JMP  q6p2_loop

q6p2_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, (AX)(BX*1)
	VZEROUPPER
	RET

TEXT ·q6KP3VNNI(SB), NOSPLIT, $0-64
	Q6PN_PROLOGUE(q6p3_done)

q6p3_loop:
	VPXORD       Z4, Z4, Z4
	VPXORD       Z5, Z5, Z5
	VPXORD       Z6, Z6, Z6
	Q6P3_CORR(0)
	Q6P3_CORR(1)
	Q6P3_CORR(2)
	Q6P3_CORR(3)
	VPSLLD       $5, Z4, Z4
	VPSLLD       $5, Z5, Z5
	VPSLLD       $5, Z6, Z6
	Q6PN_QUARTER(0, 0, Q6P3_ZERO, Q6P3_DOTS, Q6P3_FOLD)
	Q6PN_QUARTER(0, 1, Q6P3_ZERO, Q6P3_DOTS, Q6P3_FOLD)
	Q6PN_QUARTER(1, 0, Q6P3_ZERO, Q6P3_DOTS, Q6P3_FOLD)
	Q6PN_QUARTER(1, 1, Q6P3_ZERO, Q6P3_DOTS, Q6P3_FOLD)
	VCVTPH2PS    (AX), Z24
	Q6P4_END(DX, Z4, Z0)
	Q6P4_END(R13, Z5, Z1)
	Q6P4_END(R14, Z6, Z2)
	ADDQ         $256, DI
	ADDQ         $256, R10
	ADDQ         $256, R11
	ADDQ         $32, R8
	ADDQ         $4, DX
	ADDQ         $4, R13
	ADDQ         $4, R14
	DECQ         CX
	JZ           q6p3_done
	CMPQ         R12, $0
	JNE          q6p3_n1
	ADDQ         $3328, SI
	ADDQ         $32, AX
	MOVQ         $1, R12
	JMP          q6p3_loop

q6p3_n1:
	ADDQ $3392, SI
	ADDQ $6688, AX
	MOVQ $0, R12
	CMPQ CX, $1
	JNE  q6p3_loop
	SUBQ $32, SI
	JMP  q6p3_loop

q6p3_done:
	MOVQ    out+48(FP), AX
	MOVQ    ostride+56(FP), BX
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, (AX)(BX*1)
	VMOVUPS Z2, (AX)(BX*2)
	VZEROUPPER
	RET

//	func q6KP2AVX2(w *byte, nsb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//	func q6KP3AVX2(...): the same for 3 columns
//
// q6KP4AVX2 for 2 and 3 columns (its layout, registers and stack, the
// columns past the last unused; BX the d pointer, R12 the run state):
// each group's values of a k-pair are rebuilt once for the columns.

#define Q6B_Z2 \
	VPXOR Y2, Y2, Y2 \
	VPXOR Y3, Y3, Y3

#define Q6B_Z3 \
	Q6B_Z2 \
	VPXOR Y4, Y4, Y4

#define Q6B_D2(XOFF) \
	VPBROADCASTD XOFF(DI), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y2, Y2 \
	VPBROADCASTD XOFF(R10), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y3, Y3

#define Q6B_D3(XOFF) \
	Q6B_D2(XOFF) \
	VPBROADCASTD XOFF(R11), Y7 \
	VPMADDUBSW   Y7, Y6, Y7 \
	VPADDW       Y7, Y4, Y4

#define Q6B_FOLD2(G) \
	VPMADDWD 32*(G)(SP), Y2, Y2 \
	VPADDD   Y2, Y10, Y10 \
	VPMADDWD 32*(G)(SP), Y3, Y3 \
	VPADDD   Y3, Y11, Y11

#define Q6B_FOLD3(G) \
	Q6B_FOLD2(G) \
	VPMADDWD 32*(G)(SP), Y4, Y4 \
	VPADDD   Y4, Y12, Y12

// Group 8H+KK+GO (values V, activations XO bytes into the sub-block
// row) over the k-pair (K, K+1), for the columns of ZERO, D and FOLD.
#define Q6B_GN(V, XO, GO, H, KK, K, HF, ZERO, D, FOLD) \
	ZERO \
	V(H, K, HF) \
	D(128*(H)+(XO)+4*(K)) \
	V(H, (K)+1, HF) \
	D(128*(H)+(XO)+4*(K)+4) \
	FOLD(8*(H)+(KK)+(GO))

#define Q6B_PAIRN(H, KK, K, HF, ZERO, D, FOLD) \
	Q6B_GN(Q6B_V0, 0, 0, H, KK, K, HF, ZERO, D, FOLD) \
	Q6B_GN(Q6B_V1, 32, 2, H, KK, K, HF, ZERO, D, FOLD) \
	Q6B_GN(Q6B_V2, 64, 4, H, KK, K, HF, ZERO, D, FOLD) \
	Q6B_GN(Q6B_V3, 96, 6, H, KK, K, HF, ZERO, D, FOLD)

#define Q6B_CORRS2(J) \
	Q6B_CORR(8*(J)(R8), 8*(J)+4(R8), Y10) \
	Q6B_CORR(8*(J)(R8)(R9*1), 8*(J)+4(R8)(R9*1), Y11)

#define Q6B_CORRS3(J) \
	Q6B_CORRS2(J) \
	Q6B_CORR(8*(J)(R8)(R9*2), 8*(J)+4(R8)(R9*2), Y12)

// Scale dword J of the half as in Q6B_SCJ, for the columns of CORRS.
#define Q6B_SCJN(J, HF, CORRS) \
	VMOVDQU      32+64*(J)+HF(SI), Y6 \
	VPSHUFB      q6psc<>+0(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)(SP) \
	VPSHUFB      q6psc<>+32(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+32(SP) \
	VPSHUFB      q6psc<>+64(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+64(SP) \
	VPSHUFB      q6psc<>+96(SB), Y6, Y9 \
	VPSRAW       $8, Y9, Y9 \
	VMOVDQU      Y9, 128*(J)+96(SP) \
	VPSLLW       $8, Y6, Y8 \
	VPSRAW       $8, Y8, Y8 \
	VPSRAW       $8, Y6, Y6 \
	CORRS(J)

// The ends of one half: each column's isum times d (Y6) and its scale,
// added to its outputs.
#define Q6B_ENDS2(HF) \
	MOVQ    R14, AX \
	Q6B_END((DX), Y10, AX, HF) \
	ADDQ    R15, AX \
	Q6B_END((DX)(R13*1), Y11, AX, HF)

#define Q6B_ENDS3(HF) \
	Q6B_ENDS2(HF) \
	ADDQ    R15, AX \
	Q6B_END((DX)(R13*2), Y12, AX, HF)

// One half of the super-block (its d at HD(BX)) for the columns of the
// other arguments.
#define Q6B_HALFN(HF, HD, ZERO, D, FOLD, CORRS, ENDS) \
	VPXOR     Y10, Y10, Y10 \
	VPXOR     Y11, Y11, Y11 \
	VPXOR     Y12, Y12, Y12 \
	Q6B_SCJN(0, HF, CORRS) \
	Q6B_SCJN(1, HF, CORRS) \
	Q6B_SCJN(2, HF, CORRS) \
	Q6B_SCJN(3, HF, CORRS) \
	VPSLLD    $5, Y10, Y10 \
	VPSLLD    $5, Y11, Y11 \
	VPSLLD    $5, Y12, Y12 \
	Q6B_PAIRN(0, 0, 0, HF, ZERO, D, FOLD) \
	Q6B_PAIRN(0, 0, 2, HF, ZERO, D, FOLD) \
	Q6B_PAIRN(0, 1, 4, HF, ZERO, D, FOLD) \
	Q6B_PAIRN(0, 1, 6, HF, ZERO, D, FOLD) \
	Q6B_PAIRN(1, 0, 0, HF, ZERO, D, FOLD) \
	Q6B_PAIRN(1, 0, 2, HF, ZERO, D, FOLD) \
	Q6B_PAIRN(1, 1, 4, HF, ZERO, D, FOLD) \
	Q6B_PAIRN(1, 1, 6, HF, ZERO, D, FOLD) \
	VCVTPH2PS HD(BX), Y6 \
	ENDS(HF)

// Arguments, column pointers, constants, the first 2 columns' outputs
// zeroed, BX and SI at the first position, R12 = 0 (as q6KP4AVX2).
#define Q6BN_PROLOGUE \
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
	MOVQ         CX, R13 \
	SHLQ         $2, R13 \
	MOVL         $0x0f0f0f0f, AX \
	VMOVD        AX, X15 \
	VPBROADCASTD X15, Y15 \
	MOVL         $0x30303030, AX \
	VMOVD        AX, X14 \
	VPBROADCASTD X14, Y14 \
	VXORPS       Y0, Y0, Y0 \
	MOVQ         R14, AX \
	VMOVUPS      Y0, (AX) \
	VMOVUPS      Y0, 32(AX) \
	ADDQ         R15, AX \
	VMOVUPS      Y0, (AX) \
	VMOVUPS      Y0, 32(AX) \
	MOVQ         SI, BX \
	MOVQ         $0, R12 \
	CMPQ         CX, $2 \
	JLT          2(PC) \
	ADDQ         $32, SI

TEXT ·q6KP2AVX2(SB), NOSPLIT, $512-64
	Q6BN_PROLOGUE
	TESTQ CX, CX
	JZ    q6b2_done

q6b2_loop:
	Q6B_HALFN(0, 0, Q6B_Z2, Q6B_D2, Q6B_FOLD2, Q6B_CORRS2, Q6B_ENDS2)
	Q6B_HALFN(32, 16, Q6B_Z2, Q6B_D2, Q6B_FOLD2, Q6B_CORRS2, Q6B_ENDS2)
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ CX
	JZ   q6b2_done
	CMPQ R12, $0
	JNE  q6b2_n1
	ADDQ $3328, SI
	ADDQ $32, BX
	MOVQ $1, R12
	JMP  q6b2_loop

q6b2_n1:
	ADDQ $3392, SI
	ADDQ $6688, BX
	MOVQ $0, R12
	CMPQ CX, $1
	JNE  q6b2_loop
	SUBQ $32, SI
	JMP  q6b2_loop

q6b2_done:
	VZEROUPPER
	RET

TEXT ·q6KP3AVX2(SB), NOSPLIT, $512-64
	Q6BN_PROLOGUE
	ADDQ    R15, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y0, 32(AX)
	TESTQ   CX, CX
	JZ      q6b3_done

q6b3_loop:
	Q6B_HALFN(0, 0, Q6B_Z3, Q6B_D3, Q6B_FOLD3, Q6B_CORRS3, Q6B_ENDS3)
	Q6B_HALFN(32, 16, Q6B_Z3, Q6B_D3, Q6B_FOLD3, Q6B_CORRS3, Q6B_ENDS3)
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $256, R11
	ADDQ $32, R8
	ADDQ $4, DX
	DECQ CX
	JZ   q6b3_done
	CMPQ R12, $0
	JNE  q6b3_n1
	ADDQ $3328, SI
	ADDQ $32, BX
	MOVQ $1, R12
	JMP  q6b3_loop

q6b3_n1:
	ADDQ $3392, SI
	ADDQ $6688, BX
	MOVQ $0, R12
	CMPQ CX, $1
	JNE  q6b3_loop
	SUBQ $32, SI
	JMP  q6b3_loop

q6b3_done:
	VZEROUPPER
	RET
