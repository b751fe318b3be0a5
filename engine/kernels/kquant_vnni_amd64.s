//go:build amd64

#include "textflag.h"

// The k-quant kernels of kquant_amd64.h with AVX-512 VNNI integer dot
// products: one VPDPBUSD (into Y16, then moved) where AVX2 needs
// VPMADDUBSW and VPMADDWD. Bitwise the AVX2 kernels' (canonical) results.

// Y31 = 0, copied into the accumulators (a move from a register that is
// never written breaks the dependency on the accumulator's last value).
#define KINIT \
	VPXORD Y31, Y31, Y31

#define KDOT(SRC, U) \
	VMOVDQA32 Y31, Y16 \
	VPDPBUSD  SRC, U, Y16 \
	VMOVDQA32 Y16, U

// The q4_k row kernel only: VNNI saves the VPMADDWD of every product.
// The batch kernel folds the scales into VPMADDWD instead, and q6_k's bias
// subtraction costs as many operations either way, so the AVX-512 set
// keeps the AVX2 ones.
#define KQ4X4 ·q4Kx4VNNI

#include "kquant_amd64.h"
