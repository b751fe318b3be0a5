//go:build amd64

#include "textflag.h"

// K-quant kernels, AVX-512 (F, BW, VL, VNNI), 4 rows x 1 activation column:
//
//	func k(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
//
// Rows start at w + i*stride (stride 0 repeats one row, with identical
// operations). nsb is the number of 256-element super-blocks per row.
// Every 32-element sub-block contributes float(isum) * scale to one ymm
// accumulator per row, in a fixed order.

#include "kquant_amd64.h"

// ---- q4_k ----
// Y4 = dx[0..7], Y5 = dx*xs, Y15 = 0x0f bytes, Y16..Y23 = lane index j.

// Two sub-blocks (2k, 2k+1) from 32 nibble bytes at QOFF.
#define Q4K_PAIR(P, QOFF, XOFF0, XOFF1, IDX0, IDX1, ACC) \
	VMOVDQU     QOFF(P), Y10 \
	VPANDD      Y15, Y10, Y11 \
	VPSRLW      $4, Y10, Y12 \
	VPANDD      Y15, Y12, Y12 \
	VPXOR       Y13, Y13, Y13 \
	VPDPBUSD    XOFF0(DI), Y11, Y13 \
	VPXOR       Y14, Y14, Y14 \
	VPDPBUSD    XOFF1(DI), Y12, Y14 \
	VCVTDQ2PS   Y13, Y13 \
	VPERMPS     Y8, IDX0, Y24 \
	VFMADD231PS Y24, Y13, ACC \
	VCVTDQ2PS   Y14, Y14 \
	VPERMPS     Y8, IDX1, Y25 \
	VFMADD231PS Y25, Y14, ACC

#define Q4K_ROW(P, ACC) \
	VPBROADCASTW 0(P), X6 \
	VCVTPH2PS    X6, Y6 \
	VPBROADCASTW 2(P), X7 \
	VCVTPH2PS    X7, Y7 \
	MOVL         4(P), AX \
	MOVL         12(P), R11 \
	MOVL         AX, R12 \
	SHRL         $6, R12 \
	ANDL         $0x03030303, R12 \
	SHLL         $4, R12 \
	MOVL         R11, BX \
	ANDL         $0x0f0f0f0f, BX \
	ORL          BX, R12 \
	ANDL         $0x3f3f3f3f, AX \
	SHLQ         $32, R12 \
	ORQ          R12, AX \
	VMOVQ        AX, X8 \
	MOVL         8(P), AX \
	MOVL         AX, R12 \
	SHRL         $6, R12 \
	ANDL         $0x03030303, R12 \
	SHLL         $4, R12 \
	SHRL         $4, R11 \
	ANDL         $0x0f0f0f0f, R11 \
	ORL          R11, R12 \
	ANDL         $0x3f3f3f3f, AX \
	SHLQ         $32, R12 \
	ORQ          R12, AX \
	VMOVQ        AX, X9 \
	VPMOVZXBD    X8, Y8 \
	VCVTDQ2PS    Y8, Y8 \
	VMULPS       Y4, Y8, Y8 \
	VMULPS       Y6, Y8, Y8 \
	VPMOVZXBD    X9, Y9 \
	VCVTDQ2PS    Y9, Y9 \
	VMULPS       Y7, Y9, Y9 \
	VFNMADD231PS Y5, Y9, ACC \
	Q4K_PAIR(P, 16, 0, 32, Y16, Y17, ACC) \
	Q4K_PAIR(P, 48, 64, 96, Y18, Y19, ACC) \
	Q4K_PAIR(P, 80, 128, 160, Y20, Y21, ACC) \
	Q4K_PAIR(P, 112, 192, 224, Y22, Y23, ACC)

// func q4Kx4VNNI(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q4Kx4VNNI(SB), NOSPLIT, $0-56
	KPROLOGUE
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y15
	MOVL         $0, AX
	VPBROADCASTD AX, Y16
	MOVL         $1, AX
	VPBROADCASTD AX, Y17
	MOVL         $2, AX
	VPBROADCASTD AX, Y18
	MOVL         $3, AX
	VPBROADCASTD AX, Y19
	MOVL         $4, AX
	VPBROADCASTD AX, Y20
	MOVL         $5, AX
	VPBROADCASTD AX, Y21
	MOVL         $6, AX
	VPBROADCASTD AX, Y22
	MOVL         $7, AX
	VPBROADCASTD AX, Y23
	TESTQ        CX, CX
	JZ           q4k_done

q4k_loop:
	KPREFETCH4
	VMOVUPS   (DX), Y4
	VCVTDQ2PS (R13), Y5
	VMULPS    Y4, Y5, Y5
	Q4K_ROW(SI, Y0)
	Q4K_ROW(R8, Y1)
	Q4K_ROW(R9, Y2)
	Q4K_ROW(R10, Y3)
	ADDQ      $144, SI
	ADDQ      $144, R8
	ADDQ      $144, R9
	ADDQ      $144, R10
	ADDQ      $256, DI
	ADDQ      $32, DX
	ADDQ      $32, R13
	DECQ      CX
	JNZ       q4k_loop

q4k_done:
	KEPILOGUE

// ---- q6_k ----
// Y16 = 0x0f bytes, Y17 = 0x30 bytes, Y18..Y21 = scale lane indices for
// sub-block k of a half: [2k x4, 2k+1 x4]. Stack 0..255: per sub-block
// bias -32*sum(x) by lane.

DATA q6idx<>+0(SB)/8, $0x0000000000000000
DATA q6idx<>+8(SB)/8, $0x0000000000000000
DATA q6idx<>+16(SB)/8, $0x0000000100000001
DATA q6idx<>+24(SB)/8, $0x0000000100000001
DATA q6idx<>+32(SB)/8, $0x0000000200000002
DATA q6idx<>+40(SB)/8, $0x0000000200000002
DATA q6idx<>+48(SB)/8, $0x0000000300000003
DATA q6idx<>+56(SB)/8, $0x0000000300000003
DATA q6idx<>+64(SB)/8, $0x0000000400000004
DATA q6idx<>+72(SB)/8, $0x0000000400000004
DATA q6idx<>+80(SB)/8, $0x0000000500000005
DATA q6idx<>+88(SB)/8, $0x0000000500000005
DATA q6idx<>+96(SB)/8, $0x0000000600000006
DATA q6idx<>+104(SB)/8, $0x0000000600000006
DATA q6idx<>+112(SB)/8, $0x0000000700000007
DATA q6idx<>+120(SB)/8, $0x0000000700000007
GLOBL q6idx<>(SB), RODATA|NOPTR, $128

// One sub-block: Q = 6-bit values, bias at BO(SP), x at XO(DI), dx at DO(DX).
#define Q6K_SUB(Q, XO, BO, DO, SC, IDX, ACC) \
	VMOVDQU      BO(SP), Y14 \
	VPDPBUSD     XO(DI), Q, Y14 \
	VCVTDQ2PS    Y14, Y14 \
	VBROADCASTSS DO(DX), Y15 \
	VMULPS       Y15, Y14, Y14 \
	VPERMPS      SC, IDX, Y15 \
	VFMADD231PS  Y15, Y14, ACC

#define Q6K_HALF(P, QL0, QL1, QH, SC, X0, X1, X2, X3, B0, B1, B2, B3, D0, D1, D2, D3, ACC) \
	VMOVDQU    QL0(P), Y9 \
	VMOVDQU    QL1(P), Y10 \
	VMOVDQU    QH(P), Y11 \
	VPANDD     Y16, Y9, Y12 \
	VPSLLW     $4, Y11, Y13 \
	VPTERNLOGD $0xf8, Y17, Y13, Y12 \
	Q6K_SUB(Y12, X0, B0, D0, SC, Y18, ACC) \
	VPANDD     Y16, Y10, Y12 \
	VPSLLW     $2, Y11, Y13 \
	VPTERNLOGD $0xf8, Y17, Y13, Y12 \
	Q6K_SUB(Y12, X1, B1, D1, SC, Y19, ACC) \
	VPSRLW     $4, Y9, Y12 \
	VPANDD     Y16, Y12, Y12 \
	VPTERNLOGD $0xf8, Y17, Y11, Y12 \
	Q6K_SUB(Y12, X2, B2, D2, SC, Y20, ACC) \
	VPSRLW     $4, Y10, Y12 \
	VPANDD     Y16, Y12, Y12 \
	VPSRLW     $2, Y11, Y13 \
	VPTERNLOGD $0xf8, Y17, Y13, Y12 \
	Q6K_SUB(Y12, X3, B3, D3, SC, Y21, ACC)

#define Q6K_ROW(P, ACC) \
	VPBROADCASTW 208(P), X6 \
	VCVTPH2PS    X6, Y6 \
	VPMOVSXBD    192(P), Y7 \
	VCVTDQ2PS    Y7, Y7 \
	VMULPS       Y6, Y7, Y7 \
	VPMOVSXBD    200(P), Y8 \
	VCVTDQ2PS    Y8, Y8 \
	VMULPS       Y6, Y8, Y8 \
	Q6K_HALF(P, 0, 32, 128, Y7, 0, 32, 64, 96, 0, 32, 64, 96, 0, 4, 8, 12, ACC) \
	Q6K_HALF(P, 64, 96, 160, Y8, 128, 160, 192, 224, 128, 160, 192, 224, 16, 20, 24, 28, ACC)

#define Q6K_BIAS(XO) \
	VPXOR    Y13, Y13, Y13 \
	VPDPBUSD XO(DI), Y22, Y13 \
	VPSUBD   Y13, Y23, Y13 \
	VMOVDQU  Y13, XO(SP)

// func q6Kx4VNNI(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q6Kx4VNNI(SB), NOSPLIT, $256-56
	KPROLOGUE
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y16
	MOVL         $0x30303030, AX
	VPBROADCASTD AX, Y17
	MOVL         $0x20202020, AX
	VPBROADCASTD AX, Y22
	VPXORD       Y23, Y23, Y23
	VMOVDQU32    q6idx<>+0(SB), Y18
	VMOVDQU32    q6idx<>+32(SB), Y19
	VMOVDQU32    q6idx<>+64(SB), Y20
	VMOVDQU32    q6idx<>+96(SB), Y21
	TESTQ        CX, CX
	JZ           q6k_done

q6k_loop:
	KPREFETCH6
	Q6K_BIAS(0)
	Q6K_BIAS(32)
	Q6K_BIAS(64)
	Q6K_BIAS(96)
	Q6K_BIAS(128)
	Q6K_BIAS(160)
	Q6K_BIAS(192)
	Q6K_BIAS(224)
	Q6K_ROW(SI, Y0)
	Q6K_ROW(R8, Y1)
	Q6K_ROW(R9, Y2)
	Q6K_ROW(R10, Y3)
	ADDQ $210, SI
	ADDQ $210, R8
	ADDQ $210, R9
	ADDQ $210, R10
	ADDQ $256, DI
	ADDQ $32, DX
	DECQ CX
	JNZ  q6k_loop

q6k_done:
	KEPILOGUE
