//go:build amd64

#include "textflag.h"

// AVX2 row kernels of q5_0, q4_1, mxfp4, q5_k, q3_k and iq4_xs: 4 rows
// against one int8 activation column, row i at w+i*stride (stride 0
// repeats one row with identical operations, for tail rows). Per block
// (super-block for the k-quants) each row's integer dot products are
// formed exactly (VPMADDUBSW with unsigned weights times signed
// activations, VPMADDWD, integer adds in any order), then scaled and
// accumulated exactly as the generic kernels (genericx.go) do, each
// product rounded, blocks in order: bitwise the canonical results.

// ---- Blocks of 32: func k(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
// (q4_1 has xs *int32 after xd; its other arguments move by 8 bytes).

// Y(A..D) (8 int32 lanes each) -> XR = [sum A, sum B, sum C, sum D].
#define XIREDUCE4(A, B, C, D, T1, T2, T3, YR, XR, XT) \
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

// X8 = the fp16 at offset OFF of the 4 rows' blocks (SI, BX stride, R9
// 3*stride), as float32.
#define XHALF4(OFF, X) \
	MOVWLZX   OFF(SI), AX \
	VMOVD     AX, X \
	VPINSRW   $1, OFF(SI)(BX*1), X, X \
	VPINSRW   $2, OFF(SI)(BX*2), X, X \
	VPINSRW   $3, OFF(SI)(R9*1), X, X \
	VCVTPH2PS X, X

// X0 += float(X7) * (X8 * dx), lane per row.
#define XSCALEADD \
	VCVTDQ2PS    X7, X7 \
	VBROADCASTSS (DX), X10 \
	VMULPS       X10, X8, X8 \
	VMULPS       X8, X7, X7 \
	VADDPS       X7, X0, X0

// The 16 bytes at QO(P) as 32 nibbles (element j<16 the low nibble of
// byte j, element 16+j its high nibble) into Y, masked by Y14.
#define XNIB(P, QO, Y, X) \
	VMOVDQU     QO(P), X \
	VPSRLW      $4, X, X11 \
	VINSERTI128 $1, X11, Y, Y \
	VPAND       Y14, Y, Y

#define XPROLOGUE(NBOFF) \
	MOVQ   w+0(FP), SI \
	MOVQ   stride+8(FP), BX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   NBOFF(FP), CX \
	LEAQ   (BX)(BX*2), R9 \
	LEAQ   (SI)(BX*1), R8 \
	LEAQ   (SI)(BX*2), R10 \
	LEAQ   (SI)(R9*1), R11 \
	LEAQ   (SI)(BX*4), R12 \
	VXORPS X0, X0, X0 \
	MOVL         $0x00010001, AX \
	VMOVD        AX, X15 \
	VPBROADCASTD X15, Y15 \
	MOVL         $0x0f0f0f0f, AX \
	VMOVD        AX, X14 \
	VPBROADCASTD X14, Y14

#define XEPILOGUE(OUTOFF) \
	MOVQ    OUTOFF(FP), AX \
	VMOVUPS X0, (AX) \
	VZEROUPPER \
	RET

#define KXPROLOGUE \
	MOVQ   w+0(FP), SI \
	MOVQ   stride+8(FP), BX \
	MOVQ   xq+16(FP), DI \
	MOVQ   xd+24(FP), DX \
	MOVQ   xs+32(FP), R13 \
	MOVQ   nsb+40(FP), CX \
	LEAQ   (SI)(BX*1), R8 \
	LEAQ   (SI)(BX*2), R9 \
	LEAQ   (R8)(BX*2), R10 \
	LEAQ   (SI)(BX*4), R14 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	MOVL         $0x00010001, AX \
	VMOVD        AX, X13 \
	VPBROADCASTD X13, Y13 \
	MOVL         $0x0f0f0f0f, AX \
	VMOVD        AX, X14 \
	VPBROADCASTD X14, Y14

#define KXEPILOGUE \
	MOVQ   out+48(FP), AX \
	VMOVSS X0, 0(AX) \
	VMOVSS X1, 4(AX) \
	VMOVSS X2, 8(AX) \
	VMOVSS X3, 12(AX) \
	VZEROUPPER \
	RET

#define XADVANCE(BB) \
	ADDQ $BB, SI \
	ADDQ $BB, R8 \
	ADDQ $BB, R10 \
	ADDQ $BB, R11 \
	ADDQ $(4*BB), R12 \
	ADDQ $32, DI \
	ADDQ $4, DX

// Byte j of each 128-bit lane: the byte of the q5_0 high-bit word that
// holds bit j (j/8 in lane 0, 2+j/8 in lane 1), and the bit's mask.
DATA x5shuf<>+0(SB)/8, $0x0000000000000000
DATA x5shuf<>+8(SB)/8, $0x0101010101010101
DATA x5shuf<>+16(SB)/8, $0x0202020202020202
DATA x5shuf<>+24(SB)/8, $0x0303030303030303
GLOBL x5shuf<>(SB), RODATA|NOPTR, $32

DATA x5bits<>+0(SB)/8, $0x8040201008040201
DATA x5bits<>+8(SB)/8, $0x8040201008040201
DATA x5bits<>+16(SB)/8, $0x8040201008040201
DATA x5bits<>+24(SB)/8, $0x8040201008040201
GLOBL x5bits<>(SB), RODATA|NOPTR, $32

// q5_0 row at P against x (Y4): five-bit values (nibbles at 6(P), bit j
// of the word at 2(P) as 16) times x, pairs summed to 8 int32 lanes in Y,
// minus the bias lanes 16*(pair sums of x) in Y13 (Y12 = 0x10 bytes).
#define Q5_0I(P, Y, X) \
	XNIB(P, 6, Y, X) \
	VPBROADCASTD 2(P), Y11 \
	VPSHUFB      x5shuf<>(SB), Y11, Y11 \
	VPAND        x5bits<>(SB), Y11, Y11 \
	VPCMPEQB     x5bits<>(SB), Y11, Y11 \
	VPAND        Y12, Y11, Y11 \
	VPOR         Y11, Y, Y \
	VPMADDUBSW   Y4, Y, Y \
	VPMADDWD     Y15, Y, Y \
	VPSUBD       Y13, Y, Y

// func q5_0x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·q5_0x4AVX2(SB), NOSPLIT, $0-48
	XPROLOGUE(nb+32)
	MOVL         $0x10101010, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	TESTQ        CX, CX
	JZ           q50_done

q50_loop:
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	VMOVDQU    (DI), Y4
	VPMADDUBSW Y4, Y12, Y13
	VPMADDWD   Y15, Y13, Y13
	Q5_0I(SI, Y1, X1)
	Q5_0I(R8, Y2, X2)
	Q5_0I(R10, Y3, X3)
	Q5_0I(R11, Y9, X9)
	XIREDUCE4(Y1, Y2, Y3, Y9, Y5, Y6, Y8, Y7, X7, X8)
	XHALF4(0, X8)
	XSCALEADD
	XADVANCE(22)
	DECQ       CX
	JNZ        q50_loop

q50_done:
	XEPILOGUE(out+40)

// q4_1 row at P against x (Y4): nibbles (0..15) times x, pairs summed to
// 8 int32 lanes in Y.
#define Q4_1I(P, Y, X) \
	XNIB(P, 4, Y, X) \
	VPMADDUBSW Y4, Y, Y \
	VPMADDWD   Y15, Y, Y

// func q4_1x4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nb int, out *float32)
TEXT ·q4_1x4AVX2(SB), NOSPLIT, $0-56
	XPROLOGUE(nb+40)
	MOVQ       xs+32(FP), R13
	TESTQ      CX, CX
	JZ         q41_done

q41_loop:
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	VMOVDQU    (DI), Y4
	Q4_1I(SI, Y1, X1)
	Q4_1I(R8, Y2, X2)
	Q4_1I(R10, Y3, X3)
	Q4_1I(R11, Y9, X9)
	XIREDUCE4(Y1, Y2, Y3, Y9, Y5, Y6, Y8, Y7, X7, X8)
	// acc += float(isum)*(d*dx), then acc += float(xs)*(m*dx).
	XHALF4(0, X8)
	XHALF4(2, X12)
	XSCALEADD
	VMULPS       X10, X12, X12
	VPBROADCASTD (R13), X7
	VCVTDQ2PS    X7, X7
	VMULPS       X12, X7, X7
	VADDPS       X7, X0, X0
	XADVANCE(20)
	ADDQ       $4, R13
	DECQ       CX
	JNZ        q41_loop

q41_done:
	XEPILOGUE(out+48)

// Twice the e2m1 values (kvaluesMXFP4), and iq4_nl's grid (kvaluesIQ4NL),
// in both 128-bit lanes for VPSHUFB.
DATA xmxv<>+0(SB)/8, $0x0c08060403020100
DATA xmxv<>+8(SB)/8, $0xf4f8fafcfdfeff00
DATA xmxv<>+16(SB)/8, $0x0c08060403020100
DATA xmxv<>+24(SB)/8, $0xf4f8fafcfdfeff00
GLOBL xmxv<>(SB), RODATA|NOPTR, $32

DATA xiq4v<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA xiq4v<>+8(SB)/8, $0x7159453526190d01
DATA xiq4v<>+16(SB)/8, $0xf6eaddcfbfad9881
DATA xiq4v<>+24(SB)/8, $0x7159453526190d01
GLOBL xiq4v<>(SB), RODATA|NOPTR, $32

// Signed table values (nibbles of Y looked up in TAB) times the int8 x
// in XV: |w| * sign(x, w), pairs summed to 8 int32 lanes in Y (Y15 int16
// ones). Clobbers Y11.
#define XLUTDOT(TAB, XV, Y) \
	VPSHUFB    Y, TAB, Y \
	VPSIGNB    Y, XV, Y11 \
	VPABSB     Y, Y \
	VPMADDUBSW Y11, Y, Y \
	VPMADDWD   Y15, Y, Y

#define MXI(P, Y, X) \
	XNIB(P, 1, Y, X) \
	XLUTDOT(Y12, Y4, Y)

// X8 = 2^(e-128) of the 4 rows' E8M0 bytes at 0(row): (e-1)<<23, or
// 0x00200000<<e for e < 2 (ggml's GGML_E8M0_TO_FP32_HALF).
DATA xe8c<>+0(SB)/4, $1
DATA xe8c<>+4(SB)/4, $0x00200000
GLOBL xe8c<>(SB), RODATA|NOPTR, $8

#define XE8M0X4 \
	MOVBLZX      (SI), AX \
	VMOVD        AX, X8 \
	MOVBLZX      (SI)(BX*1), AX \
	VPINSRD      $1, AX, X8, X8 \
	MOVBLZX      (SI)(BX*2), AX \
	VPINSRD      $2, AX, X8, X8 \
	MOVBLZX      (SI)(R9*1), AX \
	VPINSRD      $3, AX, X8, X8 \
	VPBROADCASTD xe8c<>+0(SB), X5 \
	VPSUBD       X5, X8, X6 \
	VPSLLD       $23, X6, X6 \
	VPBROADCASTD xe8c<>+4(SB), X10 \
	VPSLLVD      X8, X10, X10 \
	VPCMPGTD     X5, X8, X5 \
	VBLENDVPS    X5, X6, X10, X8

// func mxfp4x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32)
TEXT ·mxfp4x4AVX2(SB), NOSPLIT, $0-48
	XPROLOGUE(nb+32)
	VMOVDQU    xmxv<>(SB), Y12
	TESTQ      CX, CX
	JZ         mx_done

mx_loop:
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	VMOVDQU    (DI), Y4
	MXI(SI, Y1, X1)
	MXI(R8, Y2, X2)
	MXI(R10, Y3, X3)
	MXI(R11, Y9, X9)
	XIREDUCE4(Y1, Y2, Y3, Y9, Y5, Y6, Y8, Y7, X7, X8)
	XE8M0X4
	XSCALEADD
	XADVANCE(17)
	DECQ       CX
	JNZ        mx_loop

mx_done:
	XEPILOGUE(out+40)

// ---- Super-blocks of 256: func k(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
//
// SI, R8, R9, R10 the 4 rows, DI x, DX its scales, R13 its sums per 32,
// CX the count, R14 the prefetch pointer (row 4, advanced linearly);
// X0..X3 the rows' accumulators (lane 0), X4 the super-block's dx; Y13
// int16 ones, Y14 0x0f bytes.

#define KXADVANCE(BB) \
	ADDQ $BB, SI \
	ADDQ $BB, R8 \
	ADDQ $BB, R9 \
	ADDQ $BB, R10 \
	ADDQ $256, DI \
	ADDQ $4, DX \
	ADDQ $32, R13

#define KXDOT(SRC, U) \
	VPMADDUBSW SRC, U, U \
	VPMADDWD   Y13, U, U

// A..D (8 int32 lanes each) -> A: lane t of the low half is the sum of the
// low 4 lanes of input t, lane 4+t the sum of its high 4 lanes.
#define KXHADD4(A, B, C, D) \
	VPHADDD B, A, A \
	VPHADDD D, C, C \
	VPHADDD C, A, A

// Y8 (8 int32 lanes) -> X8 lane 0 = float(the exact sum of the lanes).
// Clobbers X10.
#define KXFOLD8 \
	VEXTRACTI128 $1, Y8, X10 \
	VPADDD       X10, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VCVTDQ2PS    X8, X8

// ACC += X8 * (fp16 at OFF(P) * dx), each product rounded. Clobbers X10.
#define KXACC(P, OFF, ACC) \
	VPBROADCASTW OFF(P), X10 \
	VCVTPH2PS    X10, X10 \
	VMULSS       X4, X10, X10 \
	VMULSS       X10, X8, X8 \
	VADDSS       X8, ACC, ACC

// ---- q5_k: as q4_k (kquant_amd64.h) with a fifth bit from qh (Y12,
// 16(P)), 0x10 bytes in Y15.

// Sub-blocks 2c (low nibbles, bit 2c of qh) and 2c+1 (high, bit 2c+1) of
// the 32 bytes at QO(P) against x at XO(DI) and XO+32(DI): 8 int32 lanes
// into LO and HI. OPL/NL and OPH/NH shift the qh bit to bit 4.
#define Q5K_PAIR(P, QO, XO, LO, HI, OPL, NL, OPH, NH) \
	VMOVDQU QO(P), Y5 \
	VPAND   Y14, Y5, LO \
	VPSRLW  $4, Y5, HI \
	VPAND   Y14, HI, HI \
	OPL     $NL, Y12, Y5 \
	VPAND   Y15, Y5, Y5 \
	VPOR    Y5, LO, LO \
	OPH     $NH, Y12, Y5 \
	VPAND   Y15, Y5, Y5 \
	VPOR    Y5, HI, HI \
	KXDOT(XO(DI), LO) \
	KXDOT(XO+32(DI), HI)

// The 6-bit scales (X9) and mins (X10) of the row at P, 8 bytes each, as
// in scaleMinK4. Clobbers AX, BX, R11, R12.
#define KXSCALES(P) \
	MOVL  4(P), AX \
	MOVL  12(P), R11 \
	MOVL  AX, R12 \
	SHRL  $6, R12 \
	ANDL  $0x03030303, R12 \
	SHLL  $4, R12 \
	MOVL  R11, BX \
	ANDL  $0x0f0f0f0f, BX \
	ORL   BX, R12 \
	ANDL  $0x3f3f3f3f, AX \
	SHLQ  $32, R12 \
	ORQ   R12, AX \
	VMOVQ AX, X9 \
	MOVL  8(P), AX \
	MOVL  AX, R12 \
	SHRL  $6, R12 \
	ANDL  $0x03030303, R12 \
	SHLL  $4, R12 \
	SHRL  $4, R11 \
	ANDL  $0x0f0f0f0f, R11 \
	ORL   R11, R12 \
	ANDL  $0x3f3f3f3f, AX \
	SHLQ  $32, R12 \
	ORQ   R12, AX \
	VMOVQ AX, X10

#define Q5K_ROW(P, ACC) \
	VMOVDQU      16(P), Y12 \
	Q5K_PAIR(P, 48, 0, Y6, Y7, VPSLLW, 4, VPSLLW, 3) \
	Q5K_PAIR(P, 80, 64, Y8, Y9, VPSLLW, 2, VPSLLW, 1) \
	KXHADD4(Y6, Y7, Y8, Y9) \
	Q5K_PAIR(P, 112, 128, Y7, Y8, VPSRLW, 0, VPSRLW, 1) \
	Q5K_PAIR(P, 144, 192, Y9, Y10, VPSRLW, 2, VPSRLW, 3) \
	KXHADD4(Y7, Y8, Y9, Y10) \
	VPERM2I128   $0x20, Y7, Y6, Y8 \
	VPERM2I128   $0x31, Y7, Y6, Y9 \
	VPADDD       Y9, Y8, Y8 \
	KXSCALES(P) \
	VPMOVZXBD    X9, Y9 \
	VPMULLD      Y9, Y8, Y8 \
	VPMOVZXBD    X10, Y10 \
	VPMULLD      (R13), Y10, Y10 \
	VPHADDD      Y10, Y8, Y8 \
	VEXTRACTI128 $1, Y8, X10 \
	VPADDD       X10, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VCVTDQ2PS    X8, X8 \
	VMOVD        0(P), X11 \
	VCVTPH2PS    X11, X11 \
	VMULPS       X4, X11, X11 \
	VMULPS       X11, X8, X8 \
	VADDSS       X8, ACC, ACC \
	VMOVSHDUP    X8, X8 \
	VSUBSS       X8, ACC, ACC

// func q5Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q5Kx4AVX2(SB), NOSPLIT, $0-56
	KXPROLOGUE
	MOVL         $0x10101010, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	TESTQ        CX, CX
	JZ           q5k_done

q5k_loop:
	PREFETCHT1   (R14)
	PREFETCHT1   64(R14)
	PREFETCHT1   128(R14)
	PREFETCHT1   192(R14)
	PREFETCHT1   256(R14)
	PREFETCHT1   320(R14)
	PREFETCHT1   384(R14)
	PREFETCHT1   448(R14)
	PREFETCHT1   512(R14)
	PREFETCHT1   576(R14)
	PREFETCHT1   640(R14)
	ADDQ         $704, R14
	VBROADCASTSS (DX), X4
	Q5K_ROW(SI, X0)
	Q5K_ROW(R8, X1)
	Q5K_ROW(R9, X2)
	Q5K_ROW(R10, X3)
	KXADVANCE(176)
	DECQ         CX
	JNZ          q5k_loop

q5k_done:
	KXEPILOGUE

// ---- iq4_xs: per sub-block of 32, grid values (Y12 the table) times x;
// the 8 sub-blocks' lanes times ls-32, summed exactly, then acc +=
// float(isum)*(d*dx). Y15 int16 ones (XLUTDOT).

// Sub-block IB of the row at P: 8 int32 lanes into Y (X its low half).
// Clobbers Y5, Y11.
#define IQ4_SUB(P, IB, Y, X) \
	XNIB(P, (8+16*IB), Y, X) \
	VMOVDQU (32*IB)(DI), Y5 \
	XLUTDOT(Y12, Y5, Y)

DATA xiq4sh<>+0(SB)/4, $0
DATA xiq4sh<>+4(SB)/4, $4
DATA xiq4sh<>+8(SB)/4, $8
DATA xiq4sh<>+12(SB)/4, $12
DATA xiq4sh<>+16(SB)/4, $16
DATA xiq4sh<>+20(SB)/4, $20
DATA xiq4sh<>+24(SB)/4, $24
DATA xiq4sh<>+28(SB)/4, $28
DATA xiq4sh<>+32(SB)/4, $0
DATA xiq4sh<>+36(SB)/4, $2
DATA xiq4sh<>+40(SB)/4, $4
DATA xiq4sh<>+44(SB)/4, $6
DATA xiq4sh<>+48(SB)/4, $8
DATA xiq4sh<>+52(SB)/4, $10
DATA xiq4sh<>+56(SB)/4, $12
DATA xiq4sh<>+60(SB)/4, $14
DATA xiq4sh<>+64(SB)/4, $0x0f
DATA xiq4sh<>+68(SB)/4, $3
DATA xiq4sh<>+72(SB)/4, $32
GLOBL xiq4sh<>(SB), RODATA|NOPTR, $76

// The 8 scales ls-32 of the row at P as int32 lanes into Y9. Clobbers Y10.
#define IQ4_SCALES(P) \
	VPBROADCASTD 4(P), Y9 \
	VPSRLVD      xiq4sh<>+0(SB), Y9, Y9 \
	VPBROADCASTD xiq4sh<>+64(SB), Y10 \
	VPAND        Y10, Y9, Y9 \
	VPBROADCASTW 2(P), Y10 \
	VPSRLVD      xiq4sh<>+32(SB), Y10, Y10 \
	VPAND        xiq4sh3<>(SB), Y10, Y10 \
	VPSLLD       $4, Y10, Y10 \
	VPOR         Y10, Y9, Y9 \
	VPBROADCASTD xiq4sh<>+72(SB), Y10 \
	VPSUBD       Y10, Y9, Y9

// 8 x int32 3 (the high scale bits' mask); the word broadcast by
// VPBROADCASTW holds the 16 bits twice per lane, so bits above 15 are
// masked off too.
DATA xiq4sh3<>+0(SB)/8, $0x0000000300000003
DATA xiq4sh3<>+8(SB)/8, $0x0000000300000003
DATA xiq4sh3<>+16(SB)/8, $0x0000000300000003
DATA xiq4sh3<>+24(SB)/8, $0x0000000300000003
GLOBL xiq4sh3<>(SB), RODATA|NOPTR, $32

#define IQ4_ROW(P, ACC) \
	IQ4_SUB(P, 0, Y6, X6) \
	IQ4_SUB(P, 1, Y7, X7) \
	IQ4_SUB(P, 2, Y8, X8) \
	IQ4_SUB(P, 3, Y9, X9) \
	KXHADD4(Y6, Y7, Y8, Y9) \
	IQ4_SUB(P, 4, Y7, X7) \
	IQ4_SUB(P, 5, Y8, X8) \
	IQ4_SUB(P, 6, Y9, X9) \
	IQ4_SUB(P, 7, Y10, X10) \
	KXHADD4(Y7, Y8, Y9, Y10) \
	VPERM2I128   $0x20, Y7, Y6, Y8 \
	VPERM2I128   $0x31, Y7, Y6, Y9 \
	VPADDD       Y9, Y8, Y8 \
	IQ4_SCALES(P) \
	VPMULLD      Y9, Y8, Y8 \
	KXFOLD8 \
	KXACC(P, 0, ACC)

// func iq4XSx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·iq4XSx4AVX2(SB), NOSPLIT, $0-56
	KXPROLOGUE
	VMOVDQU      xiq4v<>(SB), Y12
	MOVL         $0x00010001, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	TESTQ        CX, CX
	JZ           iq4_done

iq4_loop:
	PREFETCHT1   (R14)
	PREFETCHT1   64(R14)
	PREFETCHT1   128(R14)
	PREFETCHT1   192(R14)
	PREFETCHT1   256(R14)
	PREFETCHT1   320(R14)
	PREFETCHT1   384(R14)
	PREFETCHT1   448(R14)
	PREFETCHT1   512(R14)
	ADDQ         $544, R14
	VBROADCASTSS (DX), X4
	IQ4_ROW(SI, X0)
	IQ4_ROW(R8, X1)
	IQ4_ROW(R9, X2)
	IQ4_ROW(R10, X3)
	KXADVANCE(136)
	DECQ         CX
	JNZ          iq4_loop

iq4_done:
	KXEPILOGUE

// ---- q3_k: values u = q + 4*h (0..7) times x minus the int16 pair biases
// 4*(x[2i]+x[2i+1]) on the stack (0..255, per super-block), so that they
// count as u-4; groups of 16 times sc-32, summed exactly, then acc +=
// float(isum)*(d*dx). Y14 0x03 bytes, Y15 0x01 bytes.

// Sub-block J (32 elements) of half H: 2-bit values of Y5 (qs) shifted by
// 2J, the high bit 4H+J of Y7 (hmask) as 4: 8 int32 lanes into R.
// Clobbers Y6.
#define Q3K_SUB(H, J, R) \
	VPSRLW     $(2*J), Y5, R \
	VPAND      Y14, R, R \
	VPSRLW     $(4*H+J), Y7, Y6 \
	VPAND      Y15, Y6, Y6 \
	VPSLLW     $2, Y6, Y6 \
	VPOR       Y6, R, R \
	VPMADDUBSW (128*H+32*J)(DI), R, R \
	VPSUBW     (128*H+32*J)(SP), R, R \
	VPMADDWD   Y13, R, R

// Half H of the row at P into R0 (lanes t and 4+t: sub-block t's two
// groups of 16).
#define Q3K_HALF(P, H, R0, R1, R2, R3) \
	VMOVDQU (32+32*H)(P), Y5 \
	VMOVDQU 0(P), Y7 \
	Q3K_SUB(H, 0, R0) \
	Q3K_SUB(H, 1, R1) \
	Q3K_SUB(H, 2, R2) \
	Q3K_SUB(H, 3, R3) \
	KXHADD4(R0, R1, R2, R3)

DATA xq3c<>+0(SB)/4, $0
DATA xq3c<>+4(SB)/4, $0
DATA xq3c<>+8(SB)/4, $4
DATA xq3c<>+12(SB)/4, $4
DATA xq3c<>+16(SB)/4, $0
DATA xq3c<>+20(SB)/4, $2
DATA xq3c<>+24(SB)/4, $4
DATA xq3c<>+28(SB)/4, $6
DATA xq3c<>+32(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA xq3c<>+40(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA xq3c<>+48(SB)/8, $0x0303030303030303
DATA xq3c<>+56(SB)/8, $0x0303030303030303
DATA xq3c<>+64(SB)/8, $0x2020202020202020
DATA xq3c<>+72(SB)/8, $0x2020202020202020
// groups 2t, 2t+1 of a half into bytes t and 4+t: even bytes first, then
// odd ones, per 8 bytes.
DATA xq3c<>+80(SB)/8, $0x0705030106040200
DATA xq3c<>+88(SB)/8, $0x0f0d0b090e0c0a08
GLOBL xq3c<>(SB), RODATA|NOPTR, $96

// The 16 scales sc-32 of the row at P (12 bytes at 96(P)) in the order of
// the halves' lanes into X10 (bytes 0..7 the first half's). Clobbers X11.
#define Q3K_SCALES(P) \
	VMOVQ        96(P), X10 \
	VPUNPCKLQDQ  X10, X10, X10 \
	VPSRLVD      xq3c<>+0(SB), X10, X10 \
	VPAND        xq3c<>+32(SB), X10, X10 \
	VPBROADCASTD 104(P), X11 \
	VPSRLVD      xq3c<>+16(SB), X11, X11 \
	VPAND        xq3c<>+48(SB), X11, X11 \
	VPSLLD       $4, X11, X11 \
	VPOR         X11, X10, X10 \
	VPSUBB       xq3c<>+64(SB), X10, X10 \
	VPSHUFB      xq3c<>+80(SB), X10, X10

#define Q3K_ROW(P, ACC) \
	Q3K_HALF(P, 0, Y8, Y9, Y10, Y11) \
	Q3K_HALF(P, 1, Y9, Y10, Y11, Y12) \
	Q3K_SCALES(P) \
	VPMOVSXBD    X10, Y11 \
	VPMULLD      Y11, Y8, Y8 \
	VPSRLDQ      $8, X10, X10 \
	VPMOVSXBD    X10, Y11 \
	VPMULLD      Y11, Y9, Y9 \
	VPADDD       Y9, Y8, Y8 \
	KXFOLD8 \
	KXACC(P, 108, ACC)

// The stack's bias for the sub-block at XO(DI) (Y5 = 0x04 bytes).
#define Q3K_BIAS(XO) \
	VPMADDUBSW XO(DI), Y5, Y6 \
	VMOVDQU    Y6, XO(SP)

// func q3Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q3Kx4AVX2(SB), NOSPLIT, $256-56
	KXPROLOGUE
	MOVL         $0x03030303, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x01010101, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	TESTQ        CX, CX
	JZ           q3k_done

q3k_loop:
	PREFETCHT1   (R14)
	PREFETCHT1   64(R14)
	PREFETCHT1   128(R14)
	PREFETCHT1   192(R14)
	PREFETCHT1   256(R14)
	PREFETCHT1   320(R14)
	PREFETCHT1   384(R14)
	ADDQ         $440, R14
	MOVL         $0x04040404, AX
	VMOVD        AX, X5
	VPBROADCASTD X5, Y5
	Q3K_BIAS(0)
	Q3K_BIAS(32)
	Q3K_BIAS(64)
	Q3K_BIAS(96)
	Q3K_BIAS(128)
	Q3K_BIAS(160)
	Q3K_BIAS(192)
	Q3K_BIAS(224)
	VBROADCASTSS (DX), X4
	Q3K_ROW(SI, X0)
	Q3K_ROW(R8, X1)
	Q3K_ROW(R9, X2)
	Q3K_ROW(R10, X3)
	KXADVANCE(110)
	DECQ         CX
	JNZ          q3k_loop

q3k_done:
	KXEPILOGUE

// ---- q5_k, 1 row x 4 activation columns (batches) ----
//
//	func q5Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)
//
// The layout and method of q4Kx1x4AVX2 (kquant_avx2_amd64.s): per
// super-block the row's five-bit values are unpacked once (to the stack)
// and its scales, mins, d and dmin converted once; each column's int16
// pairs value*x (at most 31*127*2) are multiplied by the sub-block scales
// in VPMADDWD into one int32 accumulator, so isd and ism are exact, then
// acc += float(isd)*(d*dx) and acc -= float(ism)*(dmin*dx) as q5Kx4AVX2
// does: bitwise that kernel's results.
//
// X0..X3 the 4 columns' accumulators (lane 0); X4 the column's dx; X12 =
// [d, dmin]; Y14 0x0f bytes, Y15 0x10 bytes, Y12 qh while unpacking; the
// values at 0..255(SP), the mins (int32) at 256(SP), the scale vectors at
// 288..543(SP).

#define Q5K14_SUB(SO, XQ, ACC) \
	VMOVDQU    SO(SP), Y6 \
	VPMADDUBSW SO(XQ), Y6, Y6 \
	VPMADDWD   288+SO(SP), Y6, Y6 \
	VPADDD     Y6, ACC, ACC

#define Q5K14_COL(XQ, XD, XS, ACC) \
	VBROADCASTSS XD, X4 \
	VPXOR        Y8, Y8, Y8 \
	Q5K14_SUB(0, XQ, Y8) \
	Q5K14_SUB(32, XQ, Y8) \
	Q5K14_SUB(64, XQ, Y8) \
	Q5K14_SUB(96, XQ, Y8) \
	Q5K14_SUB(128, XQ, Y8) \
	Q5K14_SUB(160, XQ, Y8) \
	Q5K14_SUB(192, XQ, Y8) \
	Q5K14_SUB(224, XQ, Y8) \
	VMOVDQU      256(SP), Y10 \
	VPMULLD      (XS), Y10, Y10 \
	VPHADDD      Y10, Y8, Y8 \
	VEXTRACTI128 $1, Y8, X10 \
	VPADDD       X10, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VCVTDQ2PS    X8, X8 \
	VMULPS       X4, X12, X11 \
	VMULPS       X11, X8, X8 \
	VADDSS       X8, ACC, ACC \
	VMOVSHDUP    X8, X8 \
	VSUBSS       X8, ACC, ACC

// The scale of sub-block J (int16 lane J of X15) broadcast to 288+32J(SP).
#define Q5K14_SCALE(J) \
	VPSRLDQ      $(2*J), X15, X13 \
	VPBROADCASTW X13, Y13 \
	VMOVDQU      Y13, 288+32*J(SP)

// Pair c: the 32 bytes at QO(SI) with qh bits (OPL/NL, OPH/NH as in
// Q5K_PAIR) into the stack at SO (sub-block 2c) and SO+32 (2c+1).
#define Q5K14_UNPACK(QO, SO, OPL, NL, OPH, NH) \
	VMOVDQU QO(SI), Y5 \
	VPAND   Y14, Y5, Y6 \
	VPSRLW  $4, Y5, Y7 \
	VPAND   Y14, Y7, Y7 \
	OPL     $NL, Y12, Y5 \
	VPAND   Y15, Y5, Y5 \
	VPOR    Y5, Y6, Y6 \
	OPH     $NH, Y12, Y5 \
	VPAND   Y15, Y5, Y5 \
	VPOR    Y5, Y7, Y7 \
	VMOVDQU Y6, SO(SP) \
	VMOVDQU Y7, SO+32(SP)

TEXT ·q5Kx1x4AVX2(SB), NOSPLIT, $544-56
	MOVQ   w+0(FP), SI
	MOVQ   xq+8(FP), DI
	MOVQ   xd+16(FP), DX
	MOVQ   xs+24(FP), R13
	MOVQ   nsb+32(FP), CX
	MOVQ   CX, R9
	SHLQ   $8, R9
	MOVQ   CX, R10
	SHLQ   $5, R10
	LEAQ   (DI)(R9*2), R14
	MOVQ   CX, R15
	SHLQ   $2, R15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x10101010, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	TESTQ        CX, CX
	JZ           q5k14_done

q5k14_loop:
	PREFETCHT0   176(SI)
	PREFETCHT0   240(SI)
	PREFETCHT0   304(SI)
	VMOVDQU      16(SI), Y12
	Q5K14_UNPACK(48, 0, VPSLLW, 4, VPSLLW, 3)
	Q5K14_UNPACK(80, 64, VPSLLW, 2, VPSLLW, 1)
	Q5K14_UNPACK(112, 128, VPSRLW, 0, VPSRLW, 1)
	Q5K14_UNPACK(144, 192, VPSRLW, 2, VPSRLW, 3)
	MOVQ         SI, R8
	KXSCALES(R8)
	VPMOVZXBW    X9, X15
	Q5K14_SCALE(0)
	Q5K14_SCALE(1)
	Q5K14_SCALE(2)
	Q5K14_SCALE(3)
	Q5K14_SCALE(4)
	Q5K14_SCALE(5)
	Q5K14_SCALE(6)
	Q5K14_SCALE(7)
	MOVL         $0x10101010, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VPMOVZXBD    X10, Y10
	VMOVDQU      Y10, 256(SP)
	VMOVD        0(SI), X12
	VCVTPH2PS    X12, X12
	Q5K14_COL(DI, (DX), R13, X0)
	LEAQ         (DI)(R9*1), R11
	LEAQ         (R13)(R10*1), BX
	Q5K14_COL(R11, (DX)(R15*1), BX, X1)
	LEAQ         (R13)(R10*2), BX
	Q5K14_COL(R14, (DX)(R15*2), BX, X2)
	LEAQ         (R14)(R9*1), R11
	LEAQ         (BX)(R10*1), BX
	LEAQ         (DX)(R15*2), R12
	Q5K14_COL(R11, (R12)(R15*1), BX, X3)
	ADDQ         $176, SI
	ADDQ         $256, DI
	ADDQ         $256, R14
	ADDQ         $4, DX
	ADDQ         $32, R13
	DECQ         CX
	JNZ          q5k14_loop

q5k14_done:
	MOVQ    out+40(FP), AX
	MOVQ    ostride+48(FP), BX
	LEAQ    (BX)(BX*2), CX
	VMOVSS  X0, (AX)
	VMOVSS  X1, (AX)(BX*1)
	VMOVSS  X2, (AX)(BX*2)
	VMOVSS  X3, (AX)(CX*1)
	VZEROUPPER
	RET

// ---- iq4_xs, 1 row x 4 activation columns (batches) ----
//
//	func iq4XSx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)
//
// The layout of q5Kx1x4AVX2 (xs is not used). Per super-block the row's
// grid values are looked up once (to the stack at 0..255) and its scales
// ls-32 broadcast as int16 per sub-block (256..511); each column's pairs |w|*(x*sign(w)) (at most
// 127*127*2) are multiplied by the scales in VPMADDWD into one int32
// accumulator, so isum is exact, then acc += float(isum)*(d*dx) as
// iq4XSx4AVX2 does: bitwise that kernel's results.
//
// X0..X3 the 4 columns' accumulators (lane 0); X4 the column's dx; X12 d;
// Y14 0x0f bytes; Y12 the grid while unpacking.

#define IQ414_SUB(SO, XQ, ACC) \
	VMOVDQU    SO(XQ), Y6 \
	VPSIGNB    SO(SP), Y6, Y6 \
	VPABSB     SO(SP), Y7 \
	VPMADDUBSW Y6, Y7, Y7 \
	VPMADDWD   256+SO(SP), Y7, Y7 \
	VPADDD     Y7, ACC, ACC

#define IQ414_COL(XQ, XD, ACC) \
	VBROADCASTSS XD, X4 \
	VPXOR        Y8, Y8, Y8 \
	IQ414_SUB(0, XQ, Y8) \
	IQ414_SUB(32, XQ, Y8) \
	IQ414_SUB(64, XQ, Y8) \
	IQ414_SUB(96, XQ, Y8) \
	IQ414_SUB(128, XQ, Y8) \
	IQ414_SUB(160, XQ, Y8) \
	IQ414_SUB(192, XQ, Y8) \
	IQ414_SUB(224, XQ, Y8) \
	KXFOLD8 \
	VMULSS       X4, X12, X10 \
	VMULSS       X10, X8, X8 \
	VADDSS       X8, ACC, ACC

// Sub-block IB's grid values to the stack.
#define IQ414_UNPACK(IB) \
	XNIB(SI, (8+16*IB), Y6, X6) \
	VPSHUFB Y6, Y12, Y6 \
	VMOVDQU Y6, (32*IB)(SP)

#define IQ414_SCALE(J) \
	VPSRLDQ      $(2*J), X15, X13 \
	VPBROADCASTW X13, Y13 \
	VMOVDQU      Y13, (256+32*J)(SP)

TEXT ·iq4XSx1x4AVX2(SB), NOSPLIT, $512-56
	MOVQ   w+0(FP), SI
	MOVQ   xq+8(FP), DI
	MOVQ   xd+16(FP), DX
	MOVQ   nsb+32(FP), CX
	MOVQ   CX, R9
	SHLQ   $8, R9
	LEAQ   (DI)(R9*2), R14
	MOVQ   CX, R15
	SHLQ   $2, R15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	TESTQ        CX, CX
	JZ           iq414_done

iq414_loop:
	PREFETCHT0   136(SI)
	PREFETCHT0   200(SI)
	PREFETCHT0   264(SI)
	VMOVDQU      xiq4v<>(SB), Y12
	IQ414_UNPACK(0)
	IQ414_UNPACK(1)
	IQ414_UNPACK(2)
	IQ414_UNPACK(3)
	IQ414_UNPACK(4)
	IQ414_UNPACK(5)
	IQ414_UNPACK(6)
	IQ414_UNPACK(7)
	IQ4_SCALES(SI)
	VEXTRACTI128 $1, Y9, X10
	VPACKSSDW    X10, X9, X15
	IQ414_SCALE(0)
	IQ414_SCALE(1)
	IQ414_SCALE(2)
	IQ414_SCALE(3)
	IQ414_SCALE(4)
	IQ414_SCALE(5)
	IQ414_SCALE(6)
	IQ414_SCALE(7)
	VPBROADCASTW 0(SI), X12
	VCVTPH2PS    X12, X12
	IQ414_COL(DI, (DX), X0)
	LEAQ         (DI)(R9*1), R11
	IQ414_COL(R11, (DX)(R15*1), X1)
	IQ414_COL(R14, (DX)(R15*2), X2)
	LEAQ         (R14)(R9*1), R11
	LEAQ         (DX)(R15*2), R12
	IQ414_COL(R11, (R12)(R15*1), X3)
	ADDQ         $136, SI
	ADDQ         $256, DI
	ADDQ         $256, R14
	ADDQ         $4, DX
	DECQ         CX
	JNZ          iq414_loop

iq414_done:
	MOVQ    out+40(FP), AX
	MOVQ    ostride+48(FP), BX
	LEAQ    (BX)(BX*2), CX
	VMOVSS  X0, (AX)
	VMOVSS  X1, (AX)(BX*1)
	VMOVSS  X2, (AX)(BX*2)
	VMOVSS  X3, (AX)(CX*1)
	VZEROUPPER
	RET

// ---- mxfp4, 2 rows x 4 activation columns (batches) ----
//
//	func mxfp4x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
//
// The layout of q4_0x2x4AVX2 (tile_avx2_amd64.s): column c's values at
// xq + c*nb*32, its scales at xd + c*nb*4; (row i, column c) stored at out
// + c*ostride + 4*i. Per block each row's e2m1 values are looked up once
// and its E8M0 scale converted once for the 4 columns; each element goes
// through mxfp4x4AVX2's operations (exact int32 dot, float(isum)*(dw*dx)
// added to its accumulator, blocks in order): bitwise its results.
//
// Y0..Y3 a row's int32 lanes for columns 0..3; Y4..Y7, X12 temporaries
// (X7 the reduced sums); Y8, Y9 the rows' signed values; Y11 a row's |w|;
// X10 dw*dx; X13 the columns' dx; X14, X15 the rows' accumulators.

// The signed values of the mxfp4 block at P into Y (X its low half).
#define MXT2VALS(P, Y, X) \
	VMOVDQU     1(P), X \
	VPSRLW      $4, X, X12 \
	VINSERTI128 $1, X12, Y, Y \
	VPAND       Y11, Y, Y \
	VMOVDQU     xmxv<>(SB), Y12 \
	VPSHUFB     Y, Y12, Y

// Signed values W (|W| in Y11) times the column at XQ: int32 lanes in OUT.
#define MXT2COL(W, XQ, OUT) \
	VMOVDQU    XQ, Y12 \
	VPSIGNB    W, Y12, Y12 \
	VPMADDUBSW Y12, Y11, OUT \
	VPMADDWD   xones16<>(SB), OUT, OUT

// X10 = 2^(e-128) for the E8M0 byte at P, broadcast, times the columns'
// dx (X13). Clobbers AX, BX, R13.
#define MXT2SCALE(P) \
	MOVBLZX      (P), AX \
	LEAL         1(AX), R13 \
	SHLL         $21, R13 \
	LEAL         -1(AX), BX \
	SHLL         $23, BX \
	CMPL         AX, $2 \
	CMOVLCS      R13, BX \
	VMOVD        BX, X10 \
	VPBROADCASTD X10, X10 \
	VMULPS       X13, X10, X10

#define MXT2ROW(P, W, ACC) \
	VPABSB       W, Y11 \
	MXT2COL(W, (DI), Y0) \
	MXT2COL(W, (DI)(R9*1), Y1) \
	MXT2COL(W, (DI)(R9*2), Y2) \
	MXT2COL(W, (DI)(R10*1), Y3) \
	XIREDUCE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, X7, X12) \
	MXT2SCALE(P) \
	VCVTDQ2PS    X7, X7 \
	VMULPS       X10, X7, X7 \
	VADDPS       X7, ACC, ACC

DATA xones16<>+0(SB)/8, $0x0001000100010001
DATA xones16<>+8(SB)/8, $0x0001000100010001
DATA xones16<>+16(SB)/8, $0x0001000100010001
DATA xones16<>+24(SB)/8, $0x0001000100010001
GLOBL xones16<>(SB), RODATA|NOPTR, $32

TEXT ·mxfp4x2x4AVX2(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), BX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   nb+32(FP), CX
	LEAQ   (SI)(BX*1), R8
	MOVQ   CX, R9
	SHLQ   $5, R9
	LEAQ   (R9)(R9*2), R10
	MOVQ   CX, R11
	SHLQ   $2, R11
	LEAQ   (R11)(R11*2), R12
	VXORPS X14, X14, X14
	VXORPS X15, X15, X15
	TESTQ  CX, CX
	JZ     mxt2_done

mxt2_loop:
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	MXT2VALS(SI, Y8, X8)
	MXT2VALS(R8, Y9, X9)
	VMOVSS       (DX), X13
	VINSERTPS    $0x10, (DX)(R11*1), X13, X13
	VINSERTPS    $0x20, (DX)(R11*2), X13, X13
	VINSERTPS    $0x30, (DX)(R12*1), X13, X13
	MXT2ROW(SI, Y8, X14)
	MXT2ROW(R8, Y9, X15)
	ADDQ         $17, SI
	ADDQ         $17, R8
	ADDQ         $32, DI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          mxt2_loop

mxt2_done:
	MOVQ       out+40(FP), AX
	MOVQ       ostride+48(FP), BX
	LEAQ       (BX)(BX*2), CX
	VMOVSS     X14, (AX)
	VEXTRACTPS $1, X14, (AX)(BX*1)
	VEXTRACTPS $2, X14, (AX)(BX*2)
	VEXTRACTPS $3, X14, (AX)(CX*1)
	VMOVSS     X15, 4(AX)
	VEXTRACTPS $1, X15, 4(AX)(BX*1)
	VEXTRACTPS $2, X15, 4(AX)(BX*2)
	VEXTRACTPS $3, X15, 4(AX)(CX*1)
	VZEROUPPER
	RET

// ---- q3_k, 1 row x 4 activation columns (batches) ----
//
//	func q3Kx1x4AVX2(w *byte, xq *int8, xd *float32, xs *int32, nsb int, out *float32, ostride int)
//
// The layout of q5Kx1x4AVX2 (xs is not used). Per super-block the row's
// values u = q + 4*h (0..7) are unpacked once (to the stack at 0..255, in
// element order) and its 16 scales sc-32 set out once as int16 vectors
// (256+32k(SP): sub-block k's two groups of 16, the first group's scale in
// words 0..7, the second's in 8..15). Per column and sub-block the int16
// pairs u*x minus the bias 4*(x[2i]+x[2i+1]) are multiplied by the scales
// in VPMADDWD into one int32 accumulator, so isum is exact, then acc +=
// float(isum)*(d*dx) as q3Kx4AVX2 does: bitwise that kernel's results.

#define Q3K14_SUB(SO, XQ, ACC) \
	VMOVDQU    SO(SP), Y6 \
	VPMADDUBSW SO(XQ), Y6, Y6 \
	VPMADDUBSW SO(XQ), Y15, Y7 \
	VPSUBW     Y7, Y6, Y6 \
	VPMADDWD   256+SO(SP), Y6, Y6 \
	VPADDD     Y6, ACC, ACC

#define Q3K14_COL(XQ, XD, ACC) \
	VBROADCASTSS XD, X4 \
	VPXOR        Y8, Y8, Y8 \
	Q3K14_SUB(0, XQ, Y8) \
	Q3K14_SUB(32, XQ, Y8) \
	Q3K14_SUB(64, XQ, Y8) \
	Q3K14_SUB(96, XQ, Y8) \
	Q3K14_SUB(128, XQ, Y8) \
	Q3K14_SUB(160, XQ, Y8) \
	Q3K14_SUB(192, XQ, Y8) \
	Q3K14_SUB(224, XQ, Y8) \
	KXFOLD8 \
	VMULSS       X4, X12, X10 \
	VMULSS       X10, X8, X8 \
	VADDSS       X8, ACC, ACC

// Sub-block J of half H (Y5 qs, Y7 hmask) to the stack at 128H+32J.
#define Q3K14_UNPACK(H, J) \
	VPSRLW  $(2*J), Y5, Y6 \
	VPAND   Y14, Y6, Y6 \
	VPSRLW  $(4*H+J), Y7, Y8 \
	VPAND   Y15, Y8, Y8 \
	VPSLLW  $2, Y8, Y8 \
	VPOR    Y8, Y6, Y6 \
	VMOVDQU Y6, (128*H+32*J)(SP)

// Sub-block K's scale vector from the scale bytes at 512(SP).
#define Q3K14_SCALE(K) \
	MOVBLSX      (512+2*K)(SP), AX \
	VMOVD        AX, X12 \
	VPBROADCASTW X12, X12 \
	MOVBLSX      (513+2*K)(SP), AX \
	VMOVD        AX, X13 \
	VPBROADCASTW X13, X13 \
	VINSERTI128  $1, X13, Y12, Y12 \
	VMOVDQU      Y12, (256+32*K)(SP)

TEXT ·q3Kx1x4AVX2(SB), NOSPLIT, $528-56
	MOVQ   w+0(FP), SI
	MOVQ   xq+8(FP), DI
	MOVQ   xd+16(FP), DX
	MOVQ   nsb+32(FP), CX
	MOVQ   CX, R9
	SHLQ   $8, R9
	LEAQ   (DI)(R9*2), R14
	MOVQ   CX, R15
	SHLQ   $2, R15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVL         $0x03030303, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	TESTQ        CX, CX
	JZ           q3k14_done

q3k14_loop:
	PREFETCHT0   110(SI)
	PREFETCHT0   174(SI)
	MOVL         $0x01010101, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VMOVDQU      32(SI), Y5
	VMOVDQU      0(SI), Y7
	Q3K14_UNPACK(0, 0)
	Q3K14_UNPACK(0, 1)
	Q3K14_UNPACK(0, 2)
	Q3K14_UNPACK(0, 3)
	VMOVDQU      64(SI), Y5
	Q3K14_UNPACK(1, 0)
	Q3K14_UNPACK(1, 1)
	Q3K14_UNPACK(1, 2)
	Q3K14_UNPACK(1, 3)
	VMOVQ        96(SI), X10
	VPUNPCKLQDQ  X10, X10, X10
	VPSRLVD      xq3c<>+0(SB), X10, X10
	VPAND        xq3c<>+32(SB), X10, X10
	VPBROADCASTD 104(SI), X11
	VPSRLVD      xq3c<>+16(SB), X11, X11
	VPAND        xq3c<>+48(SB), X11, X11
	VPSLLD       $4, X11, X11
	VPOR         X11, X10, X10
	VPSUBB       xq3c<>+64(SB), X10, X10
	VMOVDQU      X10, 512(SP)
	Q3K14_SCALE(0)
	Q3K14_SCALE(1)
	Q3K14_SCALE(2)
	Q3K14_SCALE(3)
	Q3K14_SCALE(4)
	Q3K14_SCALE(5)
	Q3K14_SCALE(6)
	Q3K14_SCALE(7)
	MOVL         $0x04040404, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VPBROADCASTW 108(SI), X12
	VCVTPH2PS    X12, X12
	Q3K14_COL(DI, (DX), X0)
	LEAQ         (DI)(R9*1), R11
	Q3K14_COL(R11, (DX)(R15*1), X1)
	Q3K14_COL(R14, (DX)(R15*2), X2)
	LEAQ         (R14)(R9*1), R11
	LEAQ         (DX)(R15*2), R12
	Q3K14_COL(R11, (R12)(R15*1), X3)
	ADDQ         $110, SI
	ADDQ         $256, DI
	ADDQ         $256, R14
	ADDQ         $4, DX
	DECQ         CX
	JNZ          q3k14_loop

q3k14_done:
	MOVQ    out+40(FP), AX
	MOVQ    ostride+48(FP), BX
	LEAQ    (BX)(BX*2), CX
	VMOVSS  X0, (AX)
	VMOVSS  X1, (AX)(BX*1)
	VMOVSS  X2, (AX)(BX*2)
	VMOVSS  X3, (AX)(CX*1)
	VZEROUPPER
	RET

// ---- q5_0, 2 rows x 4 activation columns (batches) ----
//
//	func q5_0x2x4AVX2(w *byte, stride int, xq *int8, xd *float32, nb int, out *float32, ostride int)
//
// The layout of mxfp4x2x4AVX2. Per block each row's five-bit values are
// unpacked once and the columns' bias sums 16*sum(x) formed once (X11);
// each element goes through q5_0x4AVX2's operations (exact int32 dot minus
// the bias, float(isum)*(d*dx) added to its accumulator, blocks in order):
// bitwise its results.
//
// Y0..Y3 a row's int32 lanes for columns 0..3; Y4..Y7, X12 temporaries
// (X7 the reduced sums); X8, X9 the rows' accumulators; Y10 0x10 bytes;
// X11 the columns' bias sums; X13 the columns' dx; Y14, Y15 the rows'
// values (then X14, X15 their dw*dx).

DATA x0f32<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x0f32<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x0f32<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x0f32<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL x0f32<>(SB), RODATA|NOPTR, $32

// The five-bit values of the q5_0 block at P into Y (X its low half).
// Clobbers Y12.
#define Q5T2VALS(P, Y, X) \
	VMOVDQU      6(P), X \
	VPSRLW       $4, X, X12 \
	VINSERTI128  $1, X12, Y, Y \
	VPAND        x0f32<>(SB), Y, Y \
	VPBROADCASTD 2(P), Y12 \
	VPSHUFB      x5shuf<>(SB), Y12, Y12 \
	VPAND        x5bits<>(SB), Y12, Y12 \
	VPCMPEQB     x5bits<>(SB), Y12, Y12 \
	VPAND        Y10, Y12, Y12 \
	VPOR         Y12, Y, Y

#define Q5T2BIAS(XQ, OUT) \
	VPMADDUBSW XQ, Y10, OUT \
	VPMADDWD   xones16<>(SB), OUT, OUT

#define Q5T2COL(V, XQ, OUT) \
	VMOVDQU    XQ, Y12 \
	VPMADDUBSW Y12, V, OUT \
	VPMADDWD   xones16<>(SB), OUT, OUT

// One row (values V, block at P) against the 4 columns into ACC; XV (V's
// low half) then holds dw*dx.
#define Q5T2ROW(P, V, XV, ACC) \
	Q5T2COL(V, (DI), Y0) \
	Q5T2COL(V, (DI)(R9*1), Y1) \
	Q5T2COL(V, (DI)(R9*2), Y2) \
	Q5T2COL(V, (DI)(R10*1), Y3) \
	XIREDUCE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, X7, X12) \
	VPSUBD       X11, X7, X7 \
	VPBROADCASTW (P), XV \
	VCVTPH2PS    XV, XV \
	VMULPS       X13, XV, XV \
	VCVTDQ2PS    X7, X7 \
	VMULPS       XV, X7, X7 \
	VADDPS       X7, ACC, ACC

TEXT ·q5_0x2x4AVX2(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   stride+8(FP), BX
	MOVQ   xq+16(FP), DI
	MOVQ   xd+24(FP), DX
	MOVQ   nb+32(FP), CX
	LEAQ   (SI)(BX*1), R8
	MOVQ   CX, R9
	SHLQ   $5, R9
	LEAQ   (R9)(R9*2), R10
	MOVQ   CX, R11
	SHLQ   $2, R11
	LEAQ   (R11)(R11*2), R12
	VXORPS X8, X8, X8
	VXORPS X9, X9, X9
	MOVL         $0x10101010, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	TESTQ  CX, CX
	JZ     q5t2_done

q5t2_loop:
	Q5T2BIAS((DI), Y0)
	Q5T2BIAS((DI)(R9*1), Y1)
	Q5T2BIAS((DI)(R9*2), Y2)
	Q5T2BIAS((DI)(R10*1), Y3)
	XIREDUCE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, X7, X12)
	VMOVDQA   X7, X11
	Q5T2VALS(SI, Y14, X14)
	Q5T2VALS(R8, Y15, X15)
	VMOVSS    (DX), X13
	VINSERTPS $0x10, (DX)(R11*1), X13, X13
	VINSERTPS $0x20, (DX)(R11*2), X13, X13
	VINSERTPS $0x30, (DX)(R12*1), X13, X13
	Q5T2ROW(SI, Y14, X14, X8)
	Q5T2ROW(R8, Y15, X15, X9)
	ADDQ      $22, SI
	ADDQ      $22, R8
	ADDQ      $32, DI
	ADDQ      $4, DX
	DECQ      CX
	JNZ       q5t2_loop

q5t2_done:
	MOVQ       out+40(FP), AX
	MOVQ       ostride+48(FP), BX
	LEAQ       (BX)(BX*2), CX
	VMOVSS     X8, (AX)
	VEXTRACTPS $1, X8, (AX)(BX*1)
	VEXTRACTPS $2, X8, (AX)(BX*2)
	VEXTRACTPS $3, X8, (AX)(CX*1)
	VMOVSS     X9, 4(AX)
	VEXTRACTPS $1, X9, 4(AX)(BX*1)
	VEXTRACTPS $2, X9, 4(AX)(BX*2)
	VEXTRACTPS $3, X9, 4(AX)(CX*1)
	VZEROUPPER
	RET
