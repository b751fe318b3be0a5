// The q4_k row kernel and the macros shared by the k-quant kernels,
// included by kquant_avx2_amd64.s (AVX2, which also has the batch and
// q6_k kernels) and kquant_vnni_amd64.s (AVX-512 VNNI), which define the
// TEXT name (KQ4X4) and the integer dot product:
//
//	KDOT(SRC, U)       U = 8 int32 lanes, lane i the sum of 4 products of
//	                   unsigned bytes of U and signed bytes of SRC
//	KINIT              the prologues' set-up of its constants
//
// The integer results are exact, so both files give bitwise the canonical
// results; they differ in speed only.
//
// Macros of the 4-row x 1-column kernels:
//
//	func k(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
//
// KPROLOGUE loads the arguments (SI, R8, R9, R10 the 4 rows, BX the
// stride, DI xq, DX xd, R13 xs, CX nsb, R14 the linear prefetch pointer at
// row 4) and zeroes the accumulators (lane 0 of X0..X3); KEPILOGUE stores
// them at out and returns.

#define KPROLOGUE \
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
	KINIT

#define KEPILOGUE \
	MOVQ   out+48(FP), AX \
	VMOVSS X0, 0(AX) \
	VMOVSS X1, 4(AX) \
	VMOVSS X2, 8(AX) \
	VMOVSS X3, 12(AX) \
	VZEROUPPER \
	RET

// Prefetch the next 4 rows into L2 as one linear stream (R14, set at row 4
// by KPROLOGUE; the 4 rows are contiguous): 4 rows' super-blocks per step,
// 4 x 144 bytes of q4_k (KPREFETCH4) or 4 x 210 of q6_k (KPREFETCH6).
#define KPREFETCH4 \
	PREFETCHT1 (R14) \
	PREFETCHT1 64(R14) \
	PREFETCHT1 128(R14) \
	PREFETCHT1 192(R14) \
	PREFETCHT1 256(R14) \
	PREFETCHT1 320(R14) \
	PREFETCHT1 384(R14) \
	PREFETCHT1 448(R14) \
	PREFETCHT1 512(R14) \
	ADDQ       $576, R14

#define KPREFETCH6 \
	PREFETCHT1 0(R14) \
	PREFETCHT1 64(R14) \
	PREFETCHT1 128(R14) \
	PREFETCHT1 192(R14) \
	PREFETCHT1 256(R14) \
	PREFETCHT1 320(R14) \
	PREFETCHT1 384(R14) \
	PREFETCHT1 448(R14) \
	PREFETCHT1 512(R14) \
	PREFETCHT1 576(R14) \
	PREFETCHT1 640(R14) \
	PREFETCHT1 704(R14) \
	PREFETCHT1 768(R14) \
	PREFETCHT1 832(R14) \
	ADDQ       $840, R14


// The 1x4 kernels' start: SI the row, DI column 0's values, DX its
// scales, CX nsb; R9 and R10 the column strides of the values (nsb*256)
// and of the sums (nsb*32), XDS that of the scales (nsb*4); R14 column
// 2's values; the accumulators Y0..Y3 zeroed.
#define K14PROLOGUE(XDS) \
	MOVQ   w+0(FP), SI \
	MOVQ   xq+8(FP), DI \
	MOVQ   xd+16(FP), DX \
	MOVQ   nsb+32(FP), CX \
	MOVQ   CX, R9 \
	SHLQ   $8, R9 \
	MOVQ   CX, R10 \
	SHLQ   $5, R10 \
	LEAQ   (DI)(R9*2), R14 \
	MOVQ   CX, XDS \
	SHLQ   $2, XDS \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	KINIT

// The 1x4 kernels' end: the 4 columns' sums (lane 0 of X0..X3) at out +
// c*ostride.
#define K2COLSEPILOGUE \
	MOVQ    out+40(FP), AX \
	MOVQ    ostride+48(FP), BX \
	LEAQ    (BX)(BX*2), CX \
	VMOVSS  X0, (AX) \
	VMOVSS  X1, (AX)(BX*1) \
	VMOVSS  X2, (AX)(BX*2) \
	VMOVSS  X3, (AX)(CX*1) \
	VZEROUPPER \
	RET

// A..D (8 int32 lanes each) -> A: lane t of the low half is the sum of the
// low 4 lanes of input t, lane 4+t the sum of its high 4 lanes.
#define K2HADD4(A, B, C, D) \
	VPHADDD B, A, A \
	VPHADDD D, C, C \
	VPHADDD C, A, A

// 16 x int16 1.
DATA k2ones<>+0(SB)/8, $0x0001000100010001
DATA k2ones<>+8(SB)/8, $0x0001000100010001
DATA k2ones<>+16(SB)/8, $0x0001000100010001
DATA k2ones<>+24(SB)/8, $0x0001000100010001
GLOBL k2ones<>(SB), RODATA|NOPTR, $32

// q6_k scales of a half, sub-block t's two 16-element groups (2t, 2t+1)
// into bytes t and 4+t: even bytes first, then odd ones, per 8 bytes.
DATA k2q6sc<>+0(SB)/8, $0x0705030106040200
DATA k2q6sc<>+8(SB)/8, $0x0f0d0b090e0c0a08
GLOBL k2q6sc<>(SB), RODATA|NOPTR, $16

// ---- q4_k: Y4 = dx[0..7], Y13 = int16 ones, Y14 = 0x0f bytes ----

// Sub-blocks 2c (low nibbles) and 2c+1 (high) from the 32 bytes at QO(P)
// against x at XO(DI) and XO+32(DI): 8 int32 lanes into LO and HI.
#define Q4K2_PAIR(P, QO, XO, LO, HI) \
	VMOVDQU    QO(P), Y5 \
	VPAND      Y14, Y5, LO \
	VPSRLW     $4, Y5, HI \
	VPAND      Y14, HI, HI \
	KDOT(XO(DI), LO) \
	KDOT(XO+32(DI), HI)

// The 6-bit scales (X9) and mins (X10) of the row at P, 8 bytes each, as
// in scaleMinK4.
#define Q4K2_SCALES(P) \
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

// Y8 (8 int32 lanes D) and Y10 (8 lanes M) -> X8 = [float(sum D),
// float(sum M), ...] (exact int32 sums). Clobbers X10.
#define K2SUMDM \
	VPHADDD      Y10, Y8, Y8 \
	VEXTRACTI128 $1, Y8, X10 \
	VPADDD       X10, X8, X8 \
	VPHADDD      X8, X8, X8 \
	VCVTDQ2PS    X8, X8

// ACC (lane 0) += X8[0]*X11[0]; ACC -= X8[1]*X11[1] (X11 = [d*dx,
// dmin*dx]), each product rounded. Clobbers X8.
#define K2ACCDM(ACC) \
	VMULPS    X11, X8, X8 \
	VADDSS    X8, ACC, ACC \
	VMOVSHDUP X8, X8 \
	VSUBSS    X8, ACC, ACC

#define Q4K2_ROW(P, ACC) \
	Q4K2_PAIR(P, 16, 0, Y6, Y7) \
	Q4K2_PAIR(P, 48, 64, Y8, Y9) \
	K2HADD4(Y6, Y7, Y8, Y9) \
	Q4K2_PAIR(P, 80, 128, Y7, Y8) \
	Q4K2_PAIR(P, 112, 192, Y9, Y10) \
	K2HADD4(Y7, Y8, Y9, Y10) \
	VPERM2I128   $0x20, Y7, Y6, Y8 \
	VPERM2I128   $0x31, Y7, Y6, Y9 \
	VPADDD       Y9, Y8, Y8 \
	Q4K2_SCALES(P) \
	VPMOVZXBD    X9, Y9 \
	VPMULLD      Y9, Y8, Y8 \
	VPMOVZXBD    X10, Y10 \
	VPMULLD      (R13), Y10, Y10 \
	K2SUMDM \
	VMOVD        0(P), X11 \
	VCVTPH2PS    X11, X11 \
	VMULPS       X4, X11, X11 \
	K2ACCDM(ACC)

// func q4Kx4AVX2(w *byte, stride int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT KQ4X4(SB), NOSPLIT, $0-56
	KPROLOGUE
	VMOVDQU k2ones<>(SB), Y13
	MOVL    $0x0f0f0f0f, AX
	VMOVD   AX, X14
	VPBROADCASTD X14, Y14
	TESTQ   CX, CX
	JZ      q4k2_done

q4k2_loop:
	KPREFETCH4
	VBROADCASTSS (DX), X4
	Q4K2_ROW(SI, X0)
	Q4K2_ROW(R8, X1)
	Q4K2_ROW(R9, X2)
	Q4K2_ROW(R10, X3)
	ADDQ    $144, SI
	ADDQ    $144, R8
	ADDQ    $144, R9
	ADDQ    $144, R10
	ADDQ    $256, DI
	ADDQ    $4, DX
	ADDQ    $32, R13
	DECQ    CX
	JNZ     q4k2_loop

q4k2_done:
	KEPILOGUE
