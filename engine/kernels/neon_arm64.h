// Encodings of the Advanced SIMD instructions Go's arm64 assembler does
// not know, emitted with WORD. Arguments are register numbers (V0..V31);
// every operation is on whole 128-bit registers. Each encoding is the
// Arm ARM's (DDI 0487) field layout with the register fields filled in;
// the comment gives the base word, which llvm-mc
// (-triple=aarch64 -mattr=+dotprod -show-encoding) prints for the same
// instruction with all register fields 0, e.g. "sdot v0.4s, v0.16b,
// v0.16b" = [0x00,0x94,0x80,0x4e]. Rd is bits 0-4, Rn bits 5-9, Rm bits
// 16-20.

// SDOT Vd.4S, Vn.16B, Vm.16B (ARMv8.2 dot product, FEAT_DotProd): lane i
// of Vd += the sum of the 4 products of signed bytes 4i..4i+3 of Vn and
// Vm, exactly in int32. Base 0x4e809400.
#define SDOT(d, n, m) WORD $(0x4e809400 | ((m)<<16) | ((n)<<5) | (d))

// SCVTF Vd.4S, Vn.4S: int32 to float32 per lane, rounded to nearest even
// (FPCR.RMode, which Go leaves at round to nearest). Base 0x4e21d800.
#define SCVTF4S(d, n) WORD $(0x4e21d800 | ((n)<<5) | (d))

// FCVTL Vd.4S, Vn.4H: the low 4 float16 lanes of Vn to float32 (exact).
// Base 0x0e217800. FCVTL2 Vd.4S, Vn.8H: the high 4. Base 0x4e217800.
#define FCVTL(d, n) WORD $(0x0e217800 | ((n)<<5) | (d))
#define FCVTL2(d, n) WORD $(0x4e217800 | ((n)<<5) | (d))

// FMUL Vd.4S, Vn.4S, Vm.4S: Vd = Vn*Vm per lane, one rounding. Base
// 0x6e20dc00.
#define FMUL4S(d, n, m) WORD $(0x6e20dc00 | ((m)<<16) | ((n)<<5) | (d))

// FADD Vd.4S, Vn.4S, Vm.4S: Vd = Vn+Vm per lane, one rounding. Base
// 0x4e20d400.
#define FADD4S(d, n, m) WORD $(0x4e20d400 | ((m)<<16) | ((n)<<5) | (d))

// FADDP Vd.4S, Vn.4S, Vm.4S: pairwise sums, Vd = (n0+n1, n2+n3, m0+m1,
// m2+m3). Base 0x6e20d400.
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | ((m)<<16) | ((n)<<5) | (d))

// FADDP Sd, Vn.2S: Sd = n0+n1 (scalar pairwise). Base 0x7e30d800.
#define FADDPS(d, n) WORD $(0x7e30d800 | ((n)<<5) | (d))

// MUL Vd.4S, Vn.4S, Vm.4S: int32 products per lane (low 32 bits; the
// kernels' products fit). Base 0x4ea09c00. MLA: Vd += Vn*Vm. Base
// 0x4ea09400.
#define MUL4S(d, n, m) WORD $(0x4ea09c00 | ((m)<<16) | ((n)<<5) | (d))
#define MLA4S(d, n, m) WORD $(0x4ea09400 | ((m)<<16) | ((n)<<5) | (d))

// SXTL Vd.8H, Vn.8B (SSHLL #0): the low 8 signed bytes to int16. Base
// 0x0f08a400. SXTL2 Vd.8H, Vn.16B: the high 8. Base 0x4f08a400. SXTL
// Vd.4S, Vn.4H: the low 4 int16 to int32. Base 0x0f10a400. SXTL2 Vd.4S,
// Vn.8H: the high 4. Base 0x4f10a400.
#define SXTL8H(d, n) WORD $(0x0f08a400 | ((n)<<5) | (d))
#define SXTL28H(d, n) WORD $(0x4f08a400 | ((n)<<5) | (d))
#define SXTL4S(d, n) WORD $(0x0f10a400 | ((n)<<5) | (d))
#define SXTL24S(d, n) WORD $(0x4f10a400 | ((n)<<5) | (d))

// USHL Vd.4S, Vn.4S, Vm.4S: Vd = Vn shifted left by the signed low byte
// of Vm's lane (right if negative; 0 past 31). Base 0x6ea04400.
#define USHL4S(d, n, m) WORD $(0x6ea04400 | ((m)<<16) | ((n)<<5) | (d))

// CMHI Vd.4S, Vn.4S, Vm.4S: lanes of all ones where Vn > Vm unsigned,
// else 0. Base 0x6ea03400.
#define CMHI4S(d, n, m) WORD $(0x6ea03400 | ((m)<<16) | ((n)<<5) | (d))

// BSL Vd.16B, Vn.16B, Vm.16B: Vd = (Vd & Vn) | (^Vd & Vm), a bitwise
// select by the mask in Vd. Base 0x6e601c00.
#define BSL(d, n, m) WORD $(0x6e601c00 | ((m)<<16) | ((n)<<5) | (d))

// Macros shared by the q4_0 kernels.

// Q4SPLIT(RAW, HI, MASK, EIGHT) splits a q4_0 block's 16 bytes in RAW
// into its values minus 8: elements 0..15 (low nibbles) in RAW, 16..31
// (high) in HI. MASK holds 0x0f bytes, EIGHT 8s.
#define Q4SPLIT(RAW, HI, MASK, EIGHT) \
	VUSHR $4, RAW.B16, HI.B16        \
	VAND  MASK.B16, RAW.B16, RAW.B16 \
	VSUB  EIGHT.B16, HI.B16, HI.B16  \
	VSUB  EIGHT.B16, RAW.B16, RAW.B16

// No fused multiply-add is used anywhere (FMLA would skip the product's
// rounding): products are FMUL4S, sums FADD4S, as the canonical
// arithmetic asks. AArch64 Advanced SIMD float operations honour FPCR
// (round to nearest even; FZ is 0 under Go), so subnormals are kept, as
// in the scalar Go code.
