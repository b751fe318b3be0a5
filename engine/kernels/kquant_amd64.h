// Macros of the 4-row x 1-column k-quant kernels (kquant_avx2_amd64.s;
// the AVX-512 set uses the same kernels, so both give the canonical
// results):
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
	VXORPS Y3, Y3, Y3

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
