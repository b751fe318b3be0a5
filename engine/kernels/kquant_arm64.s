//go:build arm64

#include "textflag.h"
#include "neon_arm64.h"

// The q4_k, q5_k, q6_k and iq4_xs row kernels of the NEON set. q4_k (q5_k the
// same with five-bit values): per super-block of 256, exactly in
// int32, the 8 sub-blocks' isum_j (SDOT), isd = sum_j sc_j*isum_j and
// ism = sum_j m_j*s_j (MUL, MLA and pairwise adds: integer, so their order
// does not matter); then acc += float(isd)*(d*dx) and acc -= float(ism)*
// (dmin*dx) in float32, super-blocks in order: dotQ4KGeneric's
// operations.
//
// The 6-bit scales and mins unpack 4 at a time as 32-bit words (u0, u1,
// u2 the 12 bytes): sc0..3 = u0 & 0x3f3f3f3f, m0..3 = u1 & 0x3f3f3f3f,
// sc4..7 = (u2 & 0x0f0f0f0f) | ((u0>>6) & 0x03030303)<<4, m4..7 =
// ((u2>>4) & 0x0f0f0f0f) | ((u1>>6) & 0x03030303)<<4, byte k of each the
// value of sub-block k: scaleMinK4's formulas, byte-parallel.

// KPAIR(A, B) adds sub-blocks A (even: low nibbles) and B = A+1 (high
// nibbles of the same 32 bytes) to the SDOT sums VA and VB.
#define KPAIR(A, B) \
	VLD1.P 32(R13), [V18.B16, V19.B16]                   \
	VLD1.P 64(R9), [V12.B16, V13.B16, V14.B16, V15.B16] \
	VAND   V30.B16, V18.B16, V10.B16                     \
	VAND   V30.B16, V19.B16, V11.B16                     \
	VUSHR  $4, V18.B16, V18.B16                          \
	VUSHR  $4, V19.B16, V19.B16                          \
	SDOT(A, 10, 12)                                      \
	SDOT(A, 11, 13)                                      \
	SDOT(B, 18, 14)                                      \
	SDOT(B, 19, 15)

// KHEAD(QOFF) starts a q4_k or q5_k super-block at R8: V21 = (d*dx,
// dmin*dx), V24, V25 = sc0..3, sc4..7 and V27, V28 = m0..3, m4..7 as
// int32, V26 = the lanes of ism, R13 = R8+QOFF (the nibbles) and the SDOT
// sums V0..V7 zeroed.
#define KHEAD(QOFF) \
	VLD1    (R8), V20.S[0]            \
	FCVTL(21, 20)                     \
	VLD1R.P 4(R10), [V22.S4]          \
	FMUL4S(21, 21, 22)                \
	MOVWU   4(R8), R13                \
	MOVWU   8(R8), R14                \
	MOVWU   12(R8), R15               \
	ANDW    $0x3f3f3f3f, R13, R16     \
	ANDW    $0x3f3f3f3f, R14, R17     \
	LSRW    $6, R13, R19              \
	ANDW    $0x03030303, R19, R19     \
	ANDW    $0x0f0f0f0f, R15, R20     \
	ORRW    R19<<4, R20, R20          \
	LSRW    $6, R14, R19              \
	ANDW    $0x03030303, R19, R19     \
	LSRW    $4, R15, R21              \
	ANDW    $0x0f0f0f0f, R21, R21     \
	ORRW    R19<<4, R21, R21          \
	VMOV    R16, V23.S[0]             \
	VMOV    R20, V23.S[1]             \
	VMOV    R17, V26.S[0]             \
	VMOV    R21, V26.S[1]             \
	VUXTL   V23.B8, V23.H8            \
	VUXTL   V26.B8, V26.H8            \
	VUXTL   V23.H4, V24.S4            \
	VUXTL2  V23.H8, V25.S4            \
	VUXTL   V26.H4, V27.S4            \
	VUXTL2  V26.H8, V28.S4            \
	VLD1.P  32(R11), [V16.S4, V17.S4] \
	MUL4S(26, 27, 16)                 \
	MLA4S(26, 28, 17)                 \
	ADD     $QOFF, R8, R13            \
	VEOR    V0.B16, V0.B16, V0.B16    \
	VEOR    V1.B16, V1.B16, V1.B16    \
	VEOR    V2.B16, V2.B16, V2.B16    \
	VEOR    V3.B16, V3.B16, V3.B16    \
	VEOR    V4.B16, V4.B16, V4.B16    \
	VEOR    V5.B16, V5.B16, V5.B16    \
	VEOR    V6.B16, V6.B16, V6.B16    \
	VEOR    V7.B16, V7.B16, V7.B16

// KTAIL ends a super-block: isum_j from the SDOT sums, isd = sum_j
// sc_j*isum_j, then acc += float(isd)*(d*dx) and acc -= float(ism)*
// (dmin*dx) in V31's lane 0.
#define KTAIL \
	VADDP  V1.S4, V0.S4, V8.S4    \
	VADDP  V3.S4, V2.S4, V9.S4    \
	VADDP  V9.S4, V8.S4, V8.S4    \
	VADDP  V5.S4, V4.S4, V10.S4   \
	VADDP  V7.S4, V6.S4, V11.S4   \
	VADDP  V11.S4, V10.S4, V10.S4 \
	MUL4S(8, 8, 24)               \
	MLA4S(8, 10, 25)              \
	VADDP  V26.S4, V8.S4, V8.S4   \
	VADDP  V8.S4, V8.S4, V8.S4    \
	SCVTF4S(8, 8)                 \
	FMUL4S(8, 8, 21)              \
	VDUP   V8.S[1], V9            \
	FADDS  F8, F31, F31           \
	FSUBS  F9, F31, F31

// KROWS(NAME, SIZE, QOFF, PAIR) is the row loop of a kernel
//
//	func k(w *byte, stride, rows int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
//
// out[r] = the canonical dot of row r (at w + r*stride, nsb super-blocks
// of SIZE bytes, nibbles at QOFF) with the activations (xq, one scale xd
// per super-block, the sums xs per 32), for r < rows (rows > 0, nsb > 0).
// PAIR(A, B) adds sub-blocks A and B=A+1 to the SDOT sums VA, VB.
//
// Registers: R0 the row, R8 its super-block, R13 its nibbles; R9, R10,
// R11 the activations, scales and sums; V0..V7 the sub-blocks' SDOT sums;
// V30 0x0f bytes, V29 0x10 bytes; V31 (lane 0) the row's accumulator.

// func q4KRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q4KRowsNEON(SB), NOSPLIT, $0-64
	MOVD  w+0(FP), R0
	MOVD  stride+8(FP), R1
	MOVD  rows+16(FP), R2
	MOVD  out+56(FP), R7
	VMOVI $15, V30.B16

krow:
	MOVD xq+24(FP), R9
	MOVD xd+32(FP), R10
	MOVD xs+40(FP), R11
	MOVD nsb+48(FP), R12
	MOVD R0, R8
	VEOR V31.B16, V31.B16, V31.B16

kblock:
	KHEAD(16)
	KPAIR(0, 1)
	KPAIR(2, 3)
	KPAIR(4, 5)
	KPAIR(6, 7)
	KTAIL
	ADD  $144, R8
	SUBS $1, R12
	BNE  kblock

	FMOVS F31, (R7)
	ADD   $4, R7
	ADD   R1, R0
	SUBS  $1, R2
	BNE   krow
	RET

// q5_k: the q4_k kernel with a fifth bit per value: qh (32 bytes at 16,
// in V16, V17) holds bit 2c of byte l for value l of sub-block 2c and bit
// 2c+1 for value l of sub-block 2c+1 (q5KVals); each pair takes bits 0
// and 1 to bit 4 and shifts qh right by 2.
#define KPAIR5(A, B) \
	VLD1.P 32(R13), [V18.B16, V19.B16]                   \
	VLD1.P 64(R9), [V12.B16, V13.B16, V14.B16, V15.B16] \
	VAND   V30.B16, V18.B16, V10.B16                     \
	VAND   V30.B16, V19.B16, V11.B16                     \
	VUSHR  $4, V18.B16, V18.B16                          \
	VUSHR  $4, V19.B16, V19.B16                          \
	VSHL   $4, V16.B16, V8.B16                           \
	VSHL   $4, V17.B16, V9.B16                           \
	VAND   V29.B16, V8.B16, V8.B16                       \
	VAND   V29.B16, V9.B16, V9.B16                       \
	VORR   V8.B16, V10.B16, V10.B16                      \
	VORR   V9.B16, V11.B16, V11.B16                      \
	VSHL   $3, V16.B16, V8.B16                           \
	VSHL   $3, V17.B16, V9.B16                           \
	VAND   V29.B16, V8.B16, V8.B16                       \
	VAND   V29.B16, V9.B16, V9.B16                       \
	VORR   V8.B16, V18.B16, V18.B16                      \
	VORR   V9.B16, V19.B16, V19.B16                      \
	VUSHR  $2, V16.B16, V16.B16                          \
	VUSHR  $2, V17.B16, V17.B16                          \
	SDOT(A, 10, 12)                                      \
	SDOT(A, 11, 13)                                      \
	SDOT(B, 18, 14)                                      \
	SDOT(B, 19, 15)

// func q5KRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, xs *int32, nsb int, out *float32)
TEXT ·q5KRowsNEON(SB), NOSPLIT, $0-64
	MOVD  w+0(FP), R0
	MOVD  stride+8(FP), R1
	MOVD  rows+16(FP), R2
	MOVD  out+56(FP), R7
	VMOVI $15, V30.B16
	VMOVI $16, V29.B16

k5row:
	MOVD xq+24(FP), R9
	MOVD xd+32(FP), R10
	MOVD xs+40(FP), R11
	MOVD nsb+48(FP), R12
	MOVD R0, R8
	VEOR V31.B16, V31.B16, V31.B16

k5block:
	KHEAD(48)
	ADD    $16, R8, R14
	VLD1   (R14), [V16.B16, V17.B16]
	KPAIR5(0, 1)
	KPAIR5(2, 3)
	KPAIR5(4, 5)
	KPAIR5(6, 7)
	KTAIL
	ADD  $176, R8
	SUBS $1, R12
	BNE  k5block

	FMOVS F31, (R7)
	ADD   $4, R7
	ADD   R1, R0
	SUBS  $1, R2
	BNE   k5row
	RET

// The q6_k row kernel: per super-block isum = sum over the 16 groups of
// 16 of sc_g*dot_g exactly in int32 (values q-32; SDOT per group, the
// groups' sums reduced pairwise and multiplied by the scales with MLA),
// then acc += float(isum)*(d*dx), super-blocks in order: dotQ6KGeneric's
// operations.
//
// A half of 128 values: 64 bytes ql (V16..V19), 32 bytes qh (V20, V21);
// values 32k..32k+31 (groups 2k, 2k+1) are, per byte l of the 32:
// k=0 ql[l]&15 | (qh[l]&3)<<4, k=1 ql[l+32]&15 | (qh[l]>>2&3)<<4, k=2
// ql[l]>>4 | (qh[l]>>4&3)<<4, k=3 ql[l+32]>>4 | (qh[l]>>6&3)<<4, minus
// 32. Q6SEQ leaves them in V0, V1 (before the -32) and Q6DOT adds their
// products with the next 32 activations to the SDOT sums VA, VB.
//
// Registers: R0 the row, R8 its super-block, R13 ql, R14 qh; R9, R10 the
// activations and their scales; V8..V15 the half's group sums; V22..V25
// the 16 scales as int32; V26 the super-block's int32 sum; V28 (lane 0)
// the row's accumulator; V29 32s, V30 0x0f bytes, V31 0x30 bytes.

#define Q6DOT(A, B) \
	VLD1.P 32(R9), [V4.B16, V5.B16] \
	VSUB   V29.B16, V0.B16, V0.B16  \
	VSUB   V29.B16, V1.B16, V1.B16  \
	SDOT(A, 0, 4)                   \
	SDOT(B, 1, 5)

// Q6LOW(QA, QB, SH): low nibbles of QA, QB with qh shifted left by SH.
#define Q6LOW(QA, QB, SH) \
	VAND V30.B16, QA.B16, V0.B16 \
	VAND V30.B16, QB.B16, V1.B16 \
	VSHL $SH, V20.B16, V2.B16    \
	VSHL $SH, V21.B16, V3.B16    \
	VAND V31.B16, V2.B16, V2.B16 \
	VAND V31.B16, V3.B16, V3.B16 \
	VORR V2.B16, V0.B16, V0.B16  \
	VORR V3.B16, V1.B16, V1.B16

// Q6HIGH(QA, QB): high nibbles of QA, QB with qh bits 4,5 (k=2).
#define Q6HIGH(QA, QB) \
	VUSHR $4, QA.B16, V0.B16     \
	VUSHR $4, QB.B16, V1.B16     \
	VAND  V31.B16, V20.B16, V2.B16 \
	VAND  V31.B16, V21.B16, V3.B16 \
	VORR  V2.B16, V0.B16, V0.B16  \
	VORR  V3.B16, V1.B16, V1.B16

// Q6TOP(QA, QB): high nibbles of QA, QB with qh bits 6,7 (k=3).
#define Q6TOP(QA, QB) \
	VUSHR $4, QA.B16, V0.B16     \
	VUSHR $4, QB.B16, V1.B16     \
	VUSHR $2, V20.B16, V2.B16    \
	VUSHR $2, V21.B16, V3.B16    \
	VAND  V31.B16, V2.B16, V2.B16 \
	VAND  V31.B16, V3.B16, V3.B16 \
	VORR  V2.B16, V0.B16, V0.B16  \
	VORR  V3.B16, V1.B16, V1.B16

// Q6HALF(SA, SB) adds a half's sc_g*dot_g to V26, SA and SB its groups'
// scales.
#define Q6HALF(SA, SB) \
	VLD1.P 64(R13), [V16.B16, V17.B16, V18.B16, V19.B16] \
	VLD1.P 32(R14), [V20.B16, V21.B16]                   \
	VEOR   V8.B16, V8.B16, V8.B16                        \
	VEOR   V9.B16, V9.B16, V9.B16                        \
	VEOR   V10.B16, V10.B16, V10.B16                     \
	VEOR   V11.B16, V11.B16, V11.B16                     \
	VEOR   V12.B16, V12.B16, V12.B16                     \
	VEOR   V13.B16, V13.B16, V13.B16                     \
	VEOR   V14.B16, V14.B16, V14.B16                     \
	VEOR   V15.B16, V15.B16, V15.B16                     \
	Q6LOW(V16, V17, 4)                                   \
	Q6DOT(8, 9)                                          \
	Q6LOW(V18, V19, 2)                                   \
	Q6DOT(10, 11)                                        \
	Q6HIGH(V16, V17)                                     \
	Q6DOT(12, 13)                                        \
	Q6TOP(V18, V19)                                      \
	Q6DOT(14, 15)                                        \
	VADDP  V9.S4, V8.S4, V6.S4                           \
	VADDP  V11.S4, V10.S4, V7.S4                         \
	VADDP  V7.S4, V6.S4, V6.S4                           \
	VADDP  V13.S4, V12.S4, V7.S4                         \
	VADDP  V15.S4, V14.S4, V2.S4                         \
	VADDP  V2.S4, V7.S4, V7.S4                           \
	MLA4S(26, 6, SA)                                     \
	MLA4S(26, 7, SB)

// func q6KRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, nsb int, out *float32)
//
// out[r] = the canonical dot of q6_k row r (at w + r*stride, nsb
// super-blocks) with the activations (xq, one scale xd per super-block),
// for r < rows (rows > 0, nsb > 0).
TEXT ·q6KRowsNEON(SB), NOSPLIT, $0-56
	MOVD  w+0(FP), R0
	MOVD  stride+8(FP), R1
	MOVD  rows+16(FP), R2
	MOVD  out+48(FP), R7
	VMOVI $32, V29.B16
	VMOVI $15, V30.B16
	VMOVI $48, V31.B16

q6row:
	MOVD xq+24(FP), R9
	MOVD xd+32(FP), R10
	MOVD nsb+40(FP), R12
	MOVD R0, R8
	VEOR V28.B16, V28.B16, V28.B16

q6block:
	ADD    $192, R8, R13
	VLD1   (R13), [V6.B16]
	SXTL8H(7, 6)
	SXTL28H(6, 6)
	SXTL4S(22, 7)
	SXTL24S(23, 7)
	SXTL4S(24, 6)
	SXTL24S(25, 6)
	ADD    $208, R8, R13
	VLD1   (R13), V27.H[0]
	FCVTL(27, 27)
	FMOVS  (R10), F7
	ADD    $4, R10
	FMULS  F7, F27, F27
	VEOR   V26.B16, V26.B16, V26.B16
	MOVD   R8, R13
	ADD    $128, R8, R14
	Q6HALF(22, 23)
	Q6HALF(24, 25)
	VADDV  V26.S4, V26
	SCVTF4S(26, 26)
	FMULS  F27, F26, F26
	FADDS  F26, F28, F28
	ADD    $210, R8
	SUBS   $1, R12
	BNE    q6block

	FMOVS F28, (R7)
	ADD   $4, R7
	ADD   R1, R0
	SUBS  $1, R2
	BNE   q6row
	RET

// The iq4_xs row kernel: per super-block isum = sum over the 8 sub-blocks
// of (ls_j-32)*dot_j exactly in int32 (values kvaluesIQ4NL[q], looked up
// with TBL; SDOT per sub-block), then acc += float(isum)*(d*dx),
// super-blocks in order: dotIQ4XSGeneric's operations.
//
// Sub-block j's 16 bytes (at 8+16j) hold its values 0..15 in the low
// nibbles and 16..31 in the high ones. ls_j = (sl>>4j)&15 | ((sh>>2j)&3)<<4
// with sl the 32 bits at 4 and sh the 16 at 2; computed byte-parallel in
// two words, the even j (bytes k = j/2) and the odd j, with sh's nibbles
// spread one a byte (nibble k: bits 2j, 2j+1 for j = 2k, 2k+1). The SDOT
// sums are paired to match: (dot0, dot2, dot4, dot6) and (dot1, dot3,
// dot5, dot7).

// kvaluesIQ4NL: -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38,
// 53, 69, 89, 113.
DATA iq4nltab<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA iq4nltab<>+8(SB)/8, $0x7159453526190d01
GLOBL iq4nltab<>(SB), RODATA|NOPTR, $16

// IQSUB(A) adds sub-block A's products to the SDOT sum VA.
#define IQSUB(A) \
	VLD1.P 16(R13), [V18.B16]          \
	VLD1.P 32(R9), [V12.B16, V13.B16]  \
	VUSHR  $4, V18.B16, V19.B16        \
	VAND   V30.B16, V18.B16, V18.B16   \
	VTBL   V18.B16, [V28.B16], V18.B16 \
	VTBL   V19.B16, [V28.B16], V19.B16 \
	SDOT(A, 18, 12)                    \
	SDOT(A, 19, 13)

// func iq4XSRowsNEON(w *byte, stride, rows int, xq *int8, xd *float32, nsb int, out *float32)
//
// out[r] = the canonical dot of iq4_xs row r (at w + r*stride, nsb
// super-blocks) with the activations (xq, one scale xd per super-block),
// for r < rows (rows > 0, nsb > 0).
//
// Registers: R0 the row, R8 its super-block, R13 its nibbles; R9, R10 the
// activations and their scales; V0..V7 the sub-blocks' SDOT sums; V28 the
// table, V29 32 per lane, V30 0x0f bytes; V31 (lane 0) the accumulator.
TEXT ·iq4XSRowsNEON(SB), NOSPLIT, $0-56
	MOVD  w+0(FP), R0
	MOVD  stride+8(FP), R1
	MOVD  rows+16(FP), R2
	MOVD  out+48(FP), R7
	MOVD  $iq4nltab<>(SB), R13
	VLD1  (R13), [V28.B16]
	VMOVI $15, V30.B16
	MOVW  $32, R13
	VDUP  R13, V29.S4

iqrow:
	MOVD xq+24(FP), R9
	MOVD xd+32(FP), R10
	MOVD nsb+40(FP), R12
	MOVD R0, R8
	VEOR V31.B16, V31.B16, V31.B16

iqblock:
	MOVHU   2(R8), R14
	MOVWU   4(R8), R15
	ANDW    $0x0f, R14, R16
	ANDW    $0xf0, R14, R17
	ORRW    R17<<4, R16, R16
	ANDW    $0xf00, R14, R17
	ORRW    R17<<8, R16, R16
	ANDW    $0xf000, R14, R17
	ORRW    R17<<12, R16, R16
	ANDW    $0x03030303, R16, R17
	LSRW    $2, R16, R19
	ANDW    $0x03030303, R19, R19
	ANDW    $0x0f0f0f0f, R15, R20
	ORRW    R17<<4, R20, R20
	LSRW    $4, R15, R21
	ANDW    $0x0f0f0f0f, R21, R21
	ORRW    R19<<4, R21, R21
	VMOV    R20, V23.S[0]
	VMOV    R21, V23.S[1]
	VUXTL   V23.B8, V23.H8
	VUXTL   V23.H4, V24.S4
	VUXTL2  V23.H8, V25.S4
	VSUB    V29.S4, V24.S4, V24.S4
	VSUB    V29.S4, V25.S4, V25.S4
	VLD1    (R8), V20.H[0]
	FCVTL(20, 20)
	FMOVS   (R10), F21
	ADD     $4, R10
	FMULS   F21, F20, F20
	ADD     $8, R8, R13
	VEOR    V0.B16, V0.B16, V0.B16
	VEOR    V1.B16, V1.B16, V1.B16
	VEOR    V2.B16, V2.B16, V2.B16
	VEOR    V3.B16, V3.B16, V3.B16
	VEOR    V4.B16, V4.B16, V4.B16
	VEOR    V5.B16, V5.B16, V5.B16
	VEOR    V6.B16, V6.B16, V6.B16
	VEOR    V7.B16, V7.B16, V7.B16
	IQSUB(0)
	IQSUB(1)
	IQSUB(2)
	IQSUB(3)
	IQSUB(4)
	IQSUB(5)
	IQSUB(6)
	IQSUB(7)
	VADDP   V2.S4, V0.S4, V8.S4
	VADDP   V6.S4, V4.S4, V9.S4
	VADDP   V9.S4, V8.S4, V8.S4
	VADDP   V3.S4, V1.S4, V10.S4
	VADDP   V7.S4, V5.S4, V11.S4
	VADDP   V11.S4, V10.S4, V10.S4
	MUL4S(8, 8, 24)
	MLA4S(8, 10, 25)
	VADDV   V8.S4, V8
	SCVTF4S(8, 8)
	FMULS   F20, F8, F8
	FADDS   F8, F31, F31
	ADD     $136, R8
	SUBS    $1, R12
	BNE     iqblock

	FMOVS F31, (R7)
	ADD   $4, R7
	ADD   R1, R0
	SUBS  $1, R2
	BNE   iqrow
	RET
