// The epilogue shared by the 4-row x 8-column tile kernels of
// tile_amd64.s (AVX-512 VNNI) and tile8_avx2_amd64.s (AVX2):
//
//	func k(w *byte, stride int, xp *byte, nb int, out *float32, ostride int)
//
// Y0..Y3 hold rows 0..3, lane c column c; element (r, c) goes to
// out + c*ostride + 4*r.

// 4x8 transpose of Y0..Y3 and stores.
#define T8EPILOGUE \
	MOVQ          out+32(FP), AX \
	MOVQ          ostride+40(FP), BX \
	LEAQ          (BX)(BX*2), R9 \
	VUNPCKLPS     Y1, Y0, Y4 \
	VUNPCKHPS     Y1, Y0, Y5 \
	VUNPCKLPS     Y3, Y2, Y6 \
	VUNPCKHPS     Y3, Y2, Y7 \
	VUNPCKLPD     Y6, Y4, Y8 \
	VUNPCKHPD     Y6, Y4, Y9 \
	VUNPCKLPD     Y7, Y5, Y10 \
	VUNPCKHPD     Y7, Y5, Y11 \
	VMOVUPS       X8, (AX) \
	VMOVUPS       X9, (AX)(BX*1) \
	VMOVUPS       X10, (AX)(BX*2) \
	VMOVUPS       X11, (AX)(R9*1) \
	LEAQ          (AX)(BX*4), AX \
	VEXTRACTF128  $1, Y8, X8 \
	VEXTRACTF128  $1, Y9, X9 \
	VEXTRACTF128  $1, Y10, X10 \
	VEXTRACTF128  $1, Y11, X11 \
	VMOVUPS       X8, (AX) \
	VMOVUPS       X9, (AX)(BX*1) \
	VMOVUPS       X10, (AX)(BX*2) \
	VMOVUPS       X11, (AX)(R9*1) \
	VZEROUPPER \
	RET
