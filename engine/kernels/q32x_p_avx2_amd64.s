//go:build amd64

#include "textflag.h"

// AVX2 kernels for repacked q4_1, q5_0, mxfp4 and iq4_xs matrices
// (repackx.go): the 16 rows of an interleaved group against 1 (P1) or 4
// (P4) activation columns, with the conventions of the AVX-512 ones
// (q32x_avx512_amd64.s):
//
//	func k(w *byte, nb int, xq *int8, xd *float32, xs *int32, out *float32)
//	func k(w *byte, nb int, xq *int8, xd *float32, xs *int32, xqs int, out *float32, ostride int)
//
// As q4_0P1AVX2 and q4_0P4AVX2 (repack_amd64.s), rows 0..7 and 8..15 of
// the group are two halves, row r in lane r%8 of a ymm: one load of a
// piece's half gives 8 rows' 4 bytes. Per block (iq4_xs: super-block)
// and row the exact int32 dot product is formed with VPMADDUBSW and
// VPMADDWD, every int16 sum bounded below 2^15 (no saturation):
//
//   - q4_1: the nibbles (0..15) times the activations, 8 pairs (at most
//     2*15*127 each) added as int16, then VPMADDWD with ones.
//   - q5_0 and mxfp4: unsigned values up to 31 (q5_0's five-bit values;
//     mxfp4's table values plus 16, 4..28), pairs of at most 2*31*127
//     added 4 to an int16 (two sums of 4 per block), less the bias 16
//     times the block's activation sum.
//   - iq4_xs: the signed grid values w as |w| times the activations with
//     w's sign (VPSIGNB; pairs at most 2*127*127), each pair sum times
//     the sub-block's scale ls-32 in VPMADDWD (the scales as both words
//     of the row's dword, kept on the stack per half), summed in int32:
//     isum = sum_j (ls_j-32)*dot_j exactly (|isum| < 2^28).
//
// Then the float steps of the generic kernels (genericx.go), each product
// rounded, no FMA, blocks in order: per row exactly their operations, so
// bitwise their results. P1 keeps the halves' accumulators in Y14 and
// Y13 (iq4_xs: Y12, Y13); P4 adds each block to the outputs themselves
// (zeroed first; the same operations in the same order), and its column c
// has its values c*xqs bytes after xq, its scales and sums c*4*nb bytes
// after xd and xs (iq4_xs: scales c*4*nsb; it does not read the sums).
//
// P4 registers: SI w; column c's values at DI, R10, R11, R12; its scales
// and sums at (DX)/(R8) plus c*BX (BX = 4*nb; column 3's at R13, R14);
// its outputs at AX plus c*R15 (column 3's at R9). Y15 0x0f bytes, Y11
// int16 ones; a half's values Y0..Y7 (Y0..Y3 values 4k..4k+3 of pieces
// k = 0..3, Y4..Y7 values 16+4k..), its scale Y12; Y8..Y10 temporaries.

// +0: q5_0: byte 0 of each dword (a row's qh) in all its bytes
DATA pa2c<>+0(SB)/8, $0x0404040400000000
DATA pa2c<>+8(SB)/8, $0x0c0c0c0c08080808
DATA pa2c<>+16(SB)/8, $0x0404040400000000
DATA pa2c<>+24(SB)/8, $0x0c0c0c0c08080808
// +32: q5_0: byte 1 of each dword (a row's qh) in all its bytes
DATA pa2c<>+32(SB)/8, $0x0505050501010101
DATA pa2c<>+40(SB)/8, $0x0d0d0d0d09090909
DATA pa2c<>+48(SB)/8, $0x0505050501010101
DATA pa2c<>+56(SB)/8, $0x0d0d0d0d09090909
// +64: q5_0: byte 2 of each dword (a row's qh) in all its bytes
DATA pa2c<>+64(SB)/8, $0x0606060602020202
DATA pa2c<>+72(SB)/8, $0x0e0e0e0e0a0a0a0a
DATA pa2c<>+80(SB)/8, $0x0606060602020202
DATA pa2c<>+88(SB)/8, $0x0e0e0e0e0a0a0a0a
// +96: q5_0: byte 3 of each dword (a row's qh) in all its bytes
DATA pa2c<>+96(SB)/8, $0x0707070703030303
DATA pa2c<>+104(SB)/8, $0x0f0f0f0f0b0b0b0b
DATA pa2c<>+112(SB)/8, $0x0707070703030303
DATA pa2c<>+120(SB)/8, $0x0f0f0f0f0b0b0b0b
// +128: q5_0: bit j of byte j (values 4k..4k+3, k even)
DATA pa2c<>+128(SB)/8, $0x0804020108040201
DATA pa2c<>+136(SB)/8, $0x0804020108040201
DATA pa2c<>+144(SB)/8, $0x0804020108040201
DATA pa2c<>+152(SB)/8, $0x0804020108040201
// +160: q5_0: bit 4+j of byte j (k odd)
DATA pa2c<>+160(SB)/8, $0x8040201080402010
DATA pa2c<>+168(SB)/8, $0x8040201080402010
DATA pa2c<>+176(SB)/8, $0x8040201080402010
DATA pa2c<>+184(SB)/8, $0x8040201080402010
// +192: 0x10 bytes
DATA pa2c<>+192(SB)/8, $0x1010101010101010
DATA pa2c<>+200(SB)/8, $0x1010101010101010
DATA pa2c<>+208(SB)/8, $0x1010101010101010
DATA pa2c<>+216(SB)/8, $0x1010101010101010
// +224: mxfp4: kvaluesMXFP4+16 per 128-bit lane
DATA pa2c<>+224(SB)/8, $0x1c18161413121110
DATA pa2c<>+232(SB)/8, $0x04080a0c0d0e0f10
DATA pa2c<>+240(SB)/8, $0x1c18161413121110
DATA pa2c<>+248(SB)/8, $0x04080a0c0d0e0f10
// +256: dwords 1
DATA pa2c<>+256(SB)/8, $0x0000000100000001
DATA pa2c<>+264(SB)/8, $0x0000000100000001
DATA pa2c<>+272(SB)/8, $0x0000000100000001
DATA pa2c<>+280(SB)/8, $0x0000000100000001
// +288: dwords 0x00200000
DATA pa2c<>+288(SB)/8, $0x0020000000200000
DATA pa2c<>+296(SB)/8, $0x0020000000200000
DATA pa2c<>+304(SB)/8, $0x0020000000200000
DATA pa2c<>+312(SB)/8, $0x0020000000200000
// +320: iq4_xs: kvaluesIQ4NL per 128-bit lane
DATA pa2c<>+320(SB)/8, $0xf6eaddcfbfad9881
DATA pa2c<>+328(SB)/8, $0x7159453526190d01
DATA pa2c<>+336(SB)/8, $0xf6eaddcfbfad9881
DATA pa2c<>+344(SB)/8, $0x7159453526190d01
// +352: dwords 0x0f
DATA pa2c<>+352(SB)/8, $0x0000000f0000000f
DATA pa2c<>+360(SB)/8, $0x0000000f0000000f
DATA pa2c<>+368(SB)/8, $0x0000000f0000000f
DATA pa2c<>+376(SB)/8, $0x0000000f0000000f
// +384: dwords 0x30
DATA pa2c<>+384(SB)/8, $0x0000003000000030
DATA pa2c<>+392(SB)/8, $0x0000003000000030
DATA pa2c<>+400(SB)/8, $0x0000003000000030
DATA pa2c<>+408(SB)/8, $0x0000003000000030
// +416: dwords 32
DATA pa2c<>+416(SB)/8, $0x0000002000000020
DATA pa2c<>+424(SB)/8, $0x0000002000000020
DATA pa2c<>+432(SB)/8, $0x0000002000000020
DATA pa2c<>+440(SB)/8, $0x0000002000000020
// +448: word 0 of each dword into both words
DATA pa2c<>+448(SB)/8, $0x0504050401000100
DATA pa2c<>+456(SB)/8, $0x0d0c0d0c09080908
DATA pa2c<>+464(SB)/8, $0x0504050401000100
DATA pa2c<>+472(SB)/8, $0x0d0c0d0c09080908
// +480: q5_0: 0x10 for byte values 1..15, 0 for 0 (VPSHUFB table)
DATA pa2c<>+480(SB)/8, $0x1010101010101000
DATA pa2c<>+488(SB)/8, $0x1010101010101010
DATA pa2c<>+496(SB)/8, $0x1010101010101000
DATA pa2c<>+504(SB)/8, $0x1010101010101010
// +512: int16 ones
DATA pa2c<>+512(SB)/8, $0x0001000100010001
DATA pa2c<>+520(SB)/8, $0x0001000100010001
DATA pa2c<>+528(SB)/8, $0x0001000100010001
DATA pa2c<>+536(SB)/8, $0x0001000100010001
GLOBL pa2c<>(SB), RODATA|NOPTR, $544

#define PA_CONSTS \
	MOVL         $0x0f0f0f0f, AX \
	VMOVD        AX, X15 \
	VPBROADCASTD X15, Y15 \
	MOVL         $0x00010001, AX \
	VMOVD        AX, X11 \
	VPBROADCASTD X11, Y11

// Nibbles of the half at H of the 4 pieces at P0+64k (bytes from SI):
// low ones into Y0..Y3, high ones into Y4..Y7.
#define PA_NIB(P0, H) \
	VPAND   P0+H(SI), Y15, Y0 \
	VPAND   P0+64+H(SI), Y15, Y1 \
	VPAND   P0+128+H(SI), Y15, Y2 \
	VPAND   P0+192+H(SI), Y15, Y3 \
	VMOVDQU P0+H(SI), Y4 \
	VPSRLW  $4, Y4, Y4 \
	VPAND   Y15, Y4, Y4 \
	VMOVDQU P0+64+H(SI), Y5 \
	VPSRLW  $4, Y5, Y5 \
	VPAND   Y15, Y5, Y5 \
	VMOVDQU P0+128+H(SI), Y6 \
	VPSRLW  $4, Y6, Y6 \
	VPAND   Y15, Y6, Y6 \
	VMOVDQU P0+192+H(SI), Y7 \
	VPSRLW  $4, Y7, Y7 \
	VPAND   Y15, Y7, Y7

// Y8 = the 8 rows' exact dot products of values Y0..Y7 (at most 15) with
// the 32 activations at XO(XQ): 16 products per int16 (at most 30480).
// Clobbers Y10.
#define PA_DOT15(XQ, XO) \
	VPBROADCASTD XO+0(XQ), Y10 \
	VPMADDUBSW   Y10, Y0, Y8 \
	VPBROADCASTD XO+4(XQ), Y10 \
	VPMADDUBSW   Y10, Y1, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+8(XQ), Y10 \
	VPMADDUBSW   Y10, Y2, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+12(XQ), Y10 \
	VPMADDUBSW   Y10, Y3, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+16(XQ), Y10 \
	VPMADDUBSW   Y10, Y4, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+20(XQ), Y10 \
	VPMADDUBSW   Y10, Y5, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+24(XQ), Y10 \
	VPMADDUBSW   Y10, Y6, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+28(XQ), Y10 \
	VPMADDUBSW   Y10, Y7, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPMADDWD     Y11, Y8, Y8

// The same for values up to 31: 8 products per int16 (at most 31496),
// two such sums made int32 and added. Clobbers Y9, Y10.
#define PA_DOT31(XQ, XO) \
	VPBROADCASTD XO+0(XQ), Y10 \
	VPMADDUBSW   Y10, Y0, Y8 \
	VPBROADCASTD XO+16(XQ), Y10 \
	VPMADDUBSW   Y10, Y4, Y9 \
	VPBROADCASTD XO+4(XQ), Y10 \
	VPMADDUBSW   Y10, Y1, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+20(XQ), Y10 \
	VPMADDUBSW   Y10, Y5, Y10 \
	VPADDW       Y10, Y9, Y9 \
	VPBROADCASTD XO+8(XQ), Y10 \
	VPMADDUBSW   Y10, Y2, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+24(XQ), Y10 \
	VPMADDUBSW   Y10, Y6, Y10 \
	VPADDW       Y10, Y9, Y9 \
	VPBROADCASTD XO+12(XQ), Y10 \
	VPMADDUBSW   Y10, Y3, Y10 \
	VPADDW       Y10, Y8, Y8 \
	VPBROADCASTD XO+28(XQ), Y10 \
	VPMADDUBSW   Y10, Y7, Y10 \
	VPADDW       Y10, Y9, Y9 \
	VPMADDWD     Y11, Y8, Y8 \
	VPMADDWD     Y11, Y9, Y9 \
	VPADDD       Y9, Y8, Y8

// Y8 added to a register accumulator (P1) or to the outputs (P4).
#define PA_ACCR(ACC) \
	VADDPS Y8, ACC, ACC

#define PA_ACCM(OUT) \
	VADDPS  OUT, Y8, Y8 \
	VMOVUPS Y8, OUT

// P4 after the arguments are loaded (SI w, CX nb, DI xq, DX xd, R8 xs,
// AX xqs, R9 out, R15 ostride): the other columns' pointers, BX = 4*nb,
// the constants, the outputs zeroed.
#define PA_SETUP4 \
	LEAQ    (DI)(AX*1), R10 \
	LEAQ    (R10)(AX*1), R11 \
	LEAQ    (R11)(AX*1), R12 \
	LEAQ    (CX*4), BX \
	LEAQ    (BX)(BX*2), AX \
	LEAQ    (DX)(AX*1), R13 \
	LEAQ    (R8)(AX*1), R14 \
	PA_CONSTS \
	MOVQ    R9, AX \
	LEAQ    (R15)(R15*2), R9 \
	ADDQ    AX, R9 \
	VXORPS  Y0, Y0, Y0 \
	VMOVUPS Y0, (AX) \
	VMOVUPS Y0, 32(AX) \
	VMOVUPS Y0, (AX)(R15*1) \
	VMOVUPS Y0, 32(AX)(R15*1) \
	VMOVUPS Y0, (AX)(R15*2) \
	VMOVUPS Y0, 32(AX)(R15*2) \
	VMOVUPS Y0, (R9) \
	VMOVUPS Y0, 32(R9)

// COL for columns 0..3 of the half at H, block x offset XO.
#define PA_COLS4(COL, XO, H) \
	COL(DI, XO, XO/8(DX), XO/8(R8), PA_ACCM, H(AX)) \
	COL(R10, XO, XO/8(DX)(BX*1), XO/8(R8)(BX*1), PA_ACCM, H(AX)(R15*1)) \
	COL(R11, XO, XO/8(DX)(BX*2), XO/8(R8)(BX*2), PA_ACCM, H(AX)(R15*2)) \
	COL(R12, XO, XO/8(R13), XO/8(R14), PA_ACCM, H(R9))

// Advance the P4 column pointers by N blocks.
#define PA_NEXT(N) \
	ADDQ $32*N, DI \
	ADDQ $32*N, R10 \
	ADDQ $32*N, R11 \
	ADDQ $32*N, R12 \
	ADDQ $4*N, DX \
	ADDQ $4*N, R8 \
	ADDQ $4*N, R13 \
	ADDQ $4*N, R14


// ---- q4_1: position of 320 bytes: d (32), m (32), 4 pieces of nibbles.
// acc += float(isum)*(d*dx), then acc += float(s)*(m*dx). Y12 d, Y9 m.

#define Q41A_UNPACK(H) \
	PA_NIB(64, H) \
	VCVTPH2PS H/2(SI), Y12 \
	VCVTPH2PS 32+H/2(SI), Y9

#define Q41A_COL(XQ, XO, XD, XS, ACCOP, ACC) \
	PA_DOT15(XQ, XO) \
	VCVTDQ2PS    Y8, Y8 \
	VBROADCASTSS XD, Y10 \
	VMULPS       Y10, Y12, Y10 \
	VMULPS       Y10, Y8, Y8 \
	ACCOP(ACC) \
	VBROADCASTSS XD, Y10 \
	VMULPS       Y10, Y9, Y10 \
	VPBROADCASTD XS, Y8 \
	VCVTDQ2PS    Y8, Y8 \
	VMULPS       Y10, Y8, Y8 \
	ACCOP(ACC)

// P4: both terms added to the outputs with one load and store (Y13 the
// second term): (out + float(isum)*(d*dx)) + float(s)*(m*dx).
#define Q41A_COL4(XQ, XO, XD, XS, ACCOP, OUT) \
	PA_DOT15(XQ, XO) \
	VCVTDQ2PS    Y8, Y8 \
	VBROADCASTSS XD, Y10 \
	VMULPS       Y10, Y12, Y13 \
	VMULPS       Y13, Y8, Y8 \
	VMULPS       Y10, Y9, Y10 \
	VPBROADCASTD XS, Y13 \
	VCVTDQ2PS    Y13, Y13 \
	VMULPS       Y10, Y13, Y13 \
	VADDPS       OUT, Y8, Y8 \
	VADDPS       Y13, Y8, Y8 \
	VMOVUPS      Y8, OUT

TEXT ·q4_1P1AVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	PA_CONSTS
	VXORPS Y14, Y14, Y14
	VXORPS Y13, Y13, Y13
	TESTQ  CX, CX
	JZ     q41a1_done

q41a1_loop:
	Q41A_UNPACK(0)
	Q41A_COL(DI, 0, (DX), (R8), PA_ACCR, Y14)
	Q41A_UNPACK(32)
	Q41A_COL(DI, 0, (DX), (R8), PA_ACCR, Y13)
	ADDQ $320, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ  q41a1_loop

q41a1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y14, (AX)
	VMOVUPS Y13, 32(AX)
	VZEROUPPER
	RET

TEXT ·q4_1P4AVX2(SB), NOSPLIT, $0-64
	MOVQ  w+0(FP), SI
	MOVQ  nb+8(FP), CX
	MOVQ  xq+16(FP), DI
	MOVQ  xd+24(FP), DX
	MOVQ  xs+32(FP), R8
	MOVQ  xqs+40(FP), AX
	MOVQ  out+48(FP), R9
	MOVQ  ostride+56(FP), R15
	PA_SETUP4
	TESTQ CX, CX
	JZ    q41a4_done

q41a4_loop:
	Q41A_UNPACK(0)
	PA_COLS4(Q41A_COL4, 0, 0)
	Q41A_UNPACK(32)
	PA_COLS4(Q41A_COL4, 0, 32)
	ADDQ $320, SI
	PA_NEXT(1)
	DECQ CX
	JNZ  q41a4_loop

q41a4_done:
	VZEROUPPER
	RET


// ---- q5_0 and mxfp4: isum = dot - 16*s, acc += float(isum)*(dw*dx)
// with dw in Y12 (the fp16 d, or mxfp4's 2^(e-128)).
#define B16_COL(XQ, XO, XD, XS, ACCOP, ACC) \
	PA_DOT31(XQ, XO) \
	VPBROADCASTD XS, Y9 \
	VPSLLD       $4, Y9, Y9 \
	VPSUBD       Y9, Y8, Y8 \
	VCVTDQ2PS    Y8, Y8 \
	VBROADCASTSS XD, Y9 \
	VMULPS       Y9, Y12, Y9 \
	VMULPS       Y9, Y8, Y8 \
	ACCOP(ACC)

// Both halves of a block for one column (P1) or four (P4): UNPACK(SO,
// PO, H) the half at H of the block whose first piece is at SO and the
// others from PO; x offset XO.
#define B16_P1(UNPACK, SO, PO, XO) \
	UNPACK(SO, PO, 0) \
	B16_COL(DI, XO, XO/8(DX), XO/8(R8), PA_ACCR, Y14) \
	UNPACK(SO, PO, 32) \
	B16_COL(DI, XO, XO/8(DX), XO/8(R8), PA_ACCR, Y13)

#define B16_P4(UNPACK, SO, PO, XO) \
	UNPACK(SO, PO, 0) \
	PA_COLS4(B16_COL, XO, 0) \
	UNPACK(SO, PO, 32) \
	PA_COLS4(B16_COL, XO, 32)


// ---- q5_0: position of 352 bytes: d (32), qh (64), 4 pieces of nibbles;
// runs of 8 (2816 bytes): the 8 d, then each position's qh and pieces.
// The high bits: byte b of each row's qh spread over its dword's 4 bytes
// (VPSHUFB); byte i of a piece's low nibbles takes bit i of it (VPAND
// gives 0 or 1<<i, a VPSHUFB table 0 or 0x10), of its high nibbles bit
// 4+i (VPAND gives 0 or 16<<i, VPMINUB with 0x10 0 or 0x10), or'ed in.

// Y8 the half's qh, Y11 the table, Y12 0x10 bytes: byte S/32 of qh into
// values A (its bits 0..3) and B (bits 4..7).
#define Q5A_HI(S, A, B) \
	VPSHUFB pa2c<>+S(SB), Y8, Y9 \
	VPAND   pa2c<>+128(SB), Y9, Y10 \
	VPSHUFB Y10, Y11, Y10 \
	VPOR    Y10, A, A \
	VPAND   pa2c<>+160(SB), Y9, Y9 \
	VPMINUB Y12, Y9, Y9 \
	VPOR    Y9, B, B

// The table lives in Y11 while unpacking; the int16 ones go back after.
#define Q5A_UNPACK(SO, PO, H) \
	PA_NIB(PO+64, H) \
	VMOVDQU   PO+H(SI), Y8 \
	VMOVDQU   pa2c<>+480(SB), Y11 \
	VMOVDQU   pa2c<>+192(SB), Y12 \
	Q5A_HI(0, Y0, Y1) \
	Q5A_HI(32, Y2, Y3) \
	Q5A_HI(64, Y4, Y5) \
	Q5A_HI(96, Y6, Y7) \
	VMOVDQU   pa2c<>+512(SB), Y11 \
	VCVTPH2PS SO+H/2(SI), Y12

#define Q5A_R1(J) B16_P1(Q5A_UNPACK, 32*J, 256+320*J, 32*J)
#define Q5A_R4(J) B16_P4(Q5A_UNPACK, 32*J, 256+320*J, 32*J)

TEXT ·q5_0P1AVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	PA_CONSTS
	VXORPS Y14, Y14, Y14
	VXORPS Y13, Y13, Y13
	MOVQ   CX, BX
	SHRQ   $3, BX
	ANDQ   $7, CX
	TESTQ  BX, BX
	JZ     q5a1_tail

q5a1_run:
	Q5A_R1(0)
	Q5A_R1(1)
	Q5A_R1(2)
	Q5A_R1(3)
	Q5A_R1(4)
	Q5A_R1(5)
	Q5A_R1(6)
	Q5A_R1(7)
	ADDQ $2816, SI
	ADDQ $256, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ BX
	JNZ  q5a1_run

q5a1_tail:
	TESTQ CX, CX
	JZ    q5a1_done

q5a1_loop:
	B16_P1(Q5A_UNPACK, 0, 32, 0)
	ADDQ $352, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ  q5a1_loop

q5a1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y14, (AX)
	VMOVUPS Y13, 32(AX)
	VZEROUPPER
	RET

TEXT ·q5_0P4AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xs+32(FP), R8
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	PA_SETUP4
	MOVQ CX, 0(SP)
	ANDQ $7, CX
	SHRQ $3, 0(SP)
	JZ   q5a4_tail

q5a4_run:
	Q5A_R4(0)
	Q5A_R4(1)
	Q5A_R4(2)
	Q5A_R4(3)
	Q5A_R4(4)
	Q5A_R4(5)
	Q5A_R4(6)
	Q5A_R4(7)
	ADDQ $2816, SI
	PA_NEXT(8)
	DECQ 0(SP)
	JNZ  q5a4_run

q5a4_tail:
	TESTQ CX, CX
	JZ    q5a4_done

q5a4_loop:
	B16_P4(Q5A_UNPACK, 0, 32, 0)
	ADDQ $352, SI
	PA_NEXT(1)
	DECQ CX
	JNZ  q5a4_loop

q5a4_done:
	VZEROUPPER
	RET


// ---- mxfp4: position of 272 bytes: the 16 E8M0 bytes, 4 pieces of
// nibbles; runs of 8 (2176 bytes): the 8 positions' exponents, then each
// position's pieces. Values kvaluesMXFP4[q]+16 (4..28) by VPSHUFB; the
// scale 2^(e-128) as (e-1)<<23, or 0x00200000<<e for e < 2.

#define MXA_UNPACK(SO, PO, H) \
	PA_NIB(PO, H) \
	VMOVDQU   pa2c<>+224(SB), Y12 \
	VPSHUFB   Y0, Y12, Y0 \
	VPSHUFB   Y1, Y12, Y1 \
	VPSHUFB   Y2, Y12, Y2 \
	VPSHUFB   Y3, Y12, Y3 \
	VPSHUFB   Y4, Y12, Y4 \
	VPSHUFB   Y5, Y12, Y5 \
	VPSHUFB   Y6, Y12, Y6 \
	VPSHUFB   Y7, Y12, Y7 \
	VPMOVZXBD SO+H/4(SI), Y8 \
	VPSUBD    pa2c<>+256(SB), Y8, Y9 \
	VPSLLD    $23, Y9, Y9 \
	VMOVDQU   pa2c<>+288(SB), Y10 \
	VPSLLVD   Y8, Y10, Y10 \
	VPCMPGTD  pa2c<>+256(SB), Y8, Y8 \
	VBLENDVPS Y8, Y9, Y10, Y12

#define MXA_R1(J) B16_P1(MXA_UNPACK, 16*J, 128+256*J, 32*J)
#define MXA_R4(J) B16_P4(MXA_UNPACK, 16*J, 128+256*J, 32*J)

TEXT ·mxfp4P1AVX2(SB), NOSPLIT, $0-48
	MOVQ   w+0(FP), SI
	MOVQ   nb+8(FP), CX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   xs+32(FP), R8
	PA_CONSTS
	VXORPS Y14, Y14, Y14
	VXORPS Y13, Y13, Y13
	MOVQ   CX, BX
	SHRQ   $3, BX
	ANDQ   $7, CX
	TESTQ  BX, BX
	JZ     mxa1_tail

mxa1_run:
	MXA_R1(0)
	MXA_R1(1)
	MXA_R1(2)
	MXA_R1(3)
	MXA_R1(4)
	MXA_R1(5)
	MXA_R1(6)
	MXA_R1(7)
	ADDQ $2176, SI
	ADDQ $256, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ BX
	JNZ  mxa1_run

mxa1_tail:
	TESTQ CX, CX
	JZ    mxa1_done

mxa1_loop:
	B16_P1(MXA_UNPACK, 0, 16, 0)
	ADDQ $272, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ  mxa1_loop

mxa1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y14, (AX)
	VMOVUPS Y13, 32(AX)
	VZEROUPPER
	RET

TEXT ·mxfp4P4AVX2(SB), NOSPLIT, $8-64
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ xs+32(FP), R8
	MOVQ xqs+40(FP), AX
	MOVQ out+48(FP), R9
	MOVQ ostride+56(FP), R15
	PA_SETUP4
	MOVQ CX, 0(SP)
	ANDQ $7, CX
	SHRQ $3, 0(SP)
	JZ   mxa4_tail

mxa4_run:
	MXA_R4(0)
	MXA_R4(1)
	MXA_R4(2)
	MXA_R4(3)
	MXA_R4(4)
	MXA_R4(5)
	MXA_R4(6)
	MXA_R4(7)
	ADDQ $2176, SI
	PA_NEXT(8)
	DECQ 0(SP)
	JNZ  mxa4_run

mxa4_tail:
	TESTQ CX, CX
	JZ    mxa4_done

mxa4_loop:
	B16_P4(MXA_UNPACK, 0, 16, 0)
	ADDQ $272, SI
	PA_NEXT(1)
	DECQ CX
	JNZ  mxa4_loop

mxa4_done:
	VZEROUPPER
	RET


// ---- iq4_xs: position of 2176 bytes: d (32), the high scale bits (32),
// the low scale nibbles (64), 32 pieces of nibbles (sub-block j in pieces
// 4j..4j+3). Per half: the 8 scales ls-32 as word pairs at 0..255(SP);
// per sub-block the grid values w (Y14 the table) as |w| times the
// activations with w's sign, pair sums times the scale (VPMADDWD) added
// to the row's isum; then acc += float(isum)*(d*dx). Y15 0x0f bytes.

// Scale J of the half: ((lo >> 4J) & 0x0f | ((hi >> 2J) & 3) << 4) - 32
// from the low nibbles (Y9) and high bits (Y8, zero-extended words);
// SHOP $SH moves bits 2J, 2J+1 of hi to 4, 5. Clobbers Y10, Y11.
#define IQA_SC(J, SHOP, SH) \
	VPSRLD  $(4*J), Y9, Y10 \
	VPAND   pa2c<>+352(SB), Y10, Y10 \
	SHOP    $SH, Y8, Y11 \
	VPAND   pa2c<>+384(SB), Y11, Y11 \
	VPOR    Y11, Y10, Y10 \
	VPSUBD  pa2c<>+416(SB), Y10, Y10 \
	VPSHUFB pa2c<>+448(SB), Y10, Y10 \
	VMOVDQU Y10, (32*J)(SP)

#define IQA_SCALES(H) \
	VPMOVZXWD 32+H/2(SI), Y8 \
	VMOVDQU   64+H(SI), Y9 \
	IQA_SC(0, VPSLLD, 4) \
	IQA_SC(1, VPSLLD, 2) \
	IQA_SC(2, VPSLLD, 0) \
	IQA_SC(3, VPSRLD, 2) \
	IQA_SC(4, VPSRLD, 4) \
	IQA_SC(5, VPSRLD, 6) \
	IQA_SC(6, VPSRLD, 8) \
	IQA_SC(7, VPSRLD, 10)

// P1: nibbles V (values XO.. of sub-block J) into ISUM.
#define IQA_V1(V, XO, J, ISUM) \
	VPSHUFB      V, Y14, V \
	VPBROADCASTD XO(DI), Y8 \
	VPSIGNB      V, Y8, Y8 \
	VPABSB       V, V \
	VPMADDUBSW   Y8, V, V \
	VPMADDWD     Y9, V, V \
	VPADDD       V, ISUM, ISUM

#define IQA_SUB1(J, H) \
	PA_NIB(128+256*J, H) \
	VMOVDQU (32*J)(SP), Y9 \
	IQA_V1(Y0, 32*J, J, Y10) \
	IQA_V1(Y4, 32*J+16, J, Y11) \
	IQA_V1(Y1, 32*J+4, J, Y10) \
	IQA_V1(Y5, 32*J+20, J, Y11) \
	IQA_V1(Y2, 32*J+8, J, Y10) \
	IQA_V1(Y6, 32*J+24, J, Y11) \
	IQA_V1(Y3, 32*J+12, J, Y10) \
	IQA_V1(Y7, 32*J+28, J, Y11)

#define IQA_HALF1(H, ACC) \
	IQA_SCALES(H) \
	VPXOR        Y10, Y10, Y10 \
	VPXOR        Y11, Y11, Y11 \
	IQA_SUB1(0, H) \
	IQA_SUB1(1, H) \
	IQA_SUB1(2, H) \
	IQA_SUB1(3, H) \
	IQA_SUB1(4, H) \
	IQA_SUB1(5, H) \
	IQA_SUB1(6, H) \
	IQA_SUB1(7, H) \
	VPADDD       Y11, Y10, Y10 \
	VCVTDQ2PS    Y10, Y10 \
	VCVTPH2PS    H/2(SI), Y8 \
	VBROADCASTSS (DX), Y9 \
	VMULPS       Y9, Y8, Y8 \
	VMULPS       Y8, Y10, Y10 \
	VADDPS       Y10, ACC, ACC

TEXT ·iq4XSP1AVX2(SB), NOSPLIT, $256-48
	MOVQ    w+0(FP), SI
	MOVQ    nsb+8(FP), CX
	MOVQ    xq+16(FP), DI
	MOVQ    xd+24(FP), DX
	PA_CONSTS
	VMOVDQU pa2c<>+320(SB), Y14
	VXORPS  Y12, Y12, Y12
	VXORPS  Y13, Y13, Y13
	TESTQ   CX, CX
	JZ      iqa1_done

iqa1_loop:
	IQA_HALF1(0, Y12)
	IQA_HALF1(32, Y13)
	ADDQ $2176, SI
	ADDQ $256, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  iqa1_loop

iqa1_done:
	MOVQ    out+40(FP), AX
	VMOVUPS Y12, (AX)
	VMOVUPS Y13, 32(AX)
	VZEROUPPER
	RET

// P4: the half's signed values w of a sub-block at 256..511(SP), |w| in
// Y0..Y7, each column's isum in Y10..Y13.
#define IQA_W4(V, VI) \
	VPSHUFB V, Y14, V \
	VMOVDQU V, (256+32*VI)(SP) \
	VPABSB  V, V

#define IQA_V4(V, VI, XQ, XO, J, ISUM) \
	VPBROADCASTD XO(XQ), Y8 \
	VPSIGNB      (256+32*VI)(SP), Y8, Y8 \
	VPMADDUBSW   Y8, V, Y8 \
	VPMADDWD     Y9, Y8, Y8 \
	VPADDD       Y8, ISUM, ISUM

#define IQA_COL4(XQ, J, ISUM) \
	IQA_V4(Y0, 0, XQ, 32*J, J, ISUM) \
	IQA_V4(Y4, 4, XQ, 32*J+16, J, ISUM) \
	IQA_V4(Y1, 1, XQ, 32*J+4, J, ISUM) \
	IQA_V4(Y5, 5, XQ, 32*J+20, J, ISUM) \
	IQA_V4(Y2, 2, XQ, 32*J+8, J, ISUM) \
	IQA_V4(Y6, 6, XQ, 32*J+24, J, ISUM) \
	IQA_V4(Y3, 3, XQ, 32*J+12, J, ISUM) \
	IQA_V4(Y7, 7, XQ, 32*J+28, J, ISUM)

#define IQA_SUB4(J, H) \
	PA_NIB(128+256*J, H) \
	IQA_W4(Y0, 0) \
	IQA_W4(Y1, 1) \
	IQA_W4(Y2, 2) \
	IQA_W4(Y3, 3) \
	IQA_W4(Y4, 4) \
	IQA_W4(Y5, 5) \
	IQA_W4(Y6, 6) \
	IQA_W4(Y7, 7) \
	VMOVDQU (32*J)(SP), Y9 \
	IQA_COL4(DI, J, Y10) \
	IQA_COL4(R10, J, Y11) \
	IQA_COL4(R11, J, Y12) \
	IQA_COL4(R12, J, Y13)

// A column's float steps (Y8 the half's d): OUT += float(ISUM)*(d*dx).
#define IQA_END4(XD, ISUM, OUT) \
	VCVTDQ2PS    ISUM, ISUM \
	VBROADCASTSS XD, Y9 \
	VMULPS       Y9, Y8, Y9 \
	VMULPS       Y9, ISUM, ISUM \
	VADDPS       OUT, ISUM, ISUM \
	VMOVUPS      ISUM, OUT

#define IQA_HALF4(H) \
	IQA_SCALES(H) \
	VPXOR     Y10, Y10, Y10 \
	VPXOR     Y11, Y11, Y11 \
	VPXOR     Y12, Y12, Y12 \
	VPXOR     Y13, Y13, Y13 \
	IQA_SUB4(0, H) \
	IQA_SUB4(1, H) \
	IQA_SUB4(2, H) \
	IQA_SUB4(3, H) \
	IQA_SUB4(4, H) \
	IQA_SUB4(5, H) \
	IQA_SUB4(6, H) \
	IQA_SUB4(7, H) \
	VCVTPH2PS H/2(SI), Y8 \
	IQA_END4((DX), Y10, H(AX)) \
	IQA_END4((DX)(BX*1), Y11, H(AX)(R15*1)) \
	IQA_END4((DX)(BX*2), Y12, H(AX)(R15*2)) \
	IQA_END4((R13), Y13, H(R9))

// The sums are not read: R8 and R14 (from PA_SETUP4) go unused.
TEXT ·iq4XSP4AVX2(SB), NOSPLIT, $512-64
	MOVQ    w+0(FP), SI
	MOVQ    nsb+8(FP), CX
	MOVQ    xq+16(FP), DI
	MOVQ    xd+24(FP), DX
	MOVQ    xs+32(FP), R8
	MOVQ    xqs+40(FP), AX
	MOVQ    out+48(FP), R9
	MOVQ    ostride+56(FP), R15
	PA_SETUP4
	VMOVDQU pa2c<>+320(SB), Y14
	TESTQ   CX, CX
	JZ      iqa4_done

iqa4_loop:
	IQA_HALF4(0)
	IQA_HALF4(32)
	ADDQ $2176, SI
	ADDQ $256, DI
	ADDQ $256, R10
	ADDQ $256, R11
	ADDQ $256, R12
	ADDQ $4, DX
	ADDQ $4, R13
	DECQ CX
	JNZ  iqa4_loop

iqa4_done:
	VZEROUPPER
	RET
