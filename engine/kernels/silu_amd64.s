//go:build amd64

#include "textflag.h"

// SiLU(g)*u, AVX2, 8 elements per step:
//
//	func siluMulAVX2(x, y *float32, n int) int
//
// x[i] = SiLUMul(x[i], y[i]) for i in [0, n) (siluMul's g and u), n a
// multiple of 8, bitwise: lane by lane the float32 operations of Exp32 on
// -x (see cmath.go), then x / (1 + e) and the product with y, each one
// rounded IEEE operation in the same order as the Go code. A step with an
// argument of Exp32 outside [-87.33654, 88.37626] (which also catches NaN)
// is not done: the index of its first element is returned, so that the
// caller computes those 8 elements in Go and calls again after them. n is
// returned when all are done.

DATA silu<>+0(SB)/8, $0x8000000080000000
DATA silu<>+8(SB)/8, $0x8000000080000000
DATA silu<>+16(SB)/8, $0x8000000080000000
DATA silu<>+24(SB)/8, $0x8000000080000000
DATA silu<>+32(SB)/8, $0xc2aeac4fc2aeac4f
DATA silu<>+40(SB)/8, $0xc2aeac4fc2aeac4f
DATA silu<>+48(SB)/8, $0xc2aeac4fc2aeac4f
DATA silu<>+56(SB)/8, $0xc2aeac4fc2aeac4f
DATA silu<>+64(SB)/8, $0x42b0c0a542b0c0a5
DATA silu<>+72(SB)/8, $0x42b0c0a542b0c0a5
DATA silu<>+80(SB)/8, $0x42b0c0a542b0c0a5
DATA silu<>+88(SB)/8, $0x42b0c0a542b0c0a5
DATA silu<>+96(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA silu<>+104(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA silu<>+112(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA silu<>+120(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA silu<>+128(SB)/8, $0x4b4000004b400000
DATA silu<>+136(SB)/8, $0x4b4000004b400000
DATA silu<>+144(SB)/8, $0x4b4000004b400000
DATA silu<>+152(SB)/8, $0x4b4000004b400000
DATA silu<>+160(SB)/8, $0x3f3180003f318000
DATA silu<>+168(SB)/8, $0x3f3180003f318000
DATA silu<>+176(SB)/8, $0x3f3180003f318000
DATA silu<>+184(SB)/8, $0x3f3180003f318000
DATA silu<>+192(SB)/8, $0xb95e8083b95e8083
DATA silu<>+200(SB)/8, $0xb95e8083b95e8083
DATA silu<>+208(SB)/8, $0xb95e8083b95e8083
DATA silu<>+216(SB)/8, $0xb95e8083b95e8083
DATA silu<>+224(SB)/8, $0x3950696739506967
DATA silu<>+232(SB)/8, $0x3950696739506967
DATA silu<>+240(SB)/8, $0x3950696739506967
DATA silu<>+248(SB)/8, $0x3950696739506967
DATA silu<>+256(SB)/8, $0x3ab743ce3ab743ce
DATA silu<>+264(SB)/8, $0x3ab743ce3ab743ce
DATA silu<>+272(SB)/8, $0x3ab743ce3ab743ce
DATA silu<>+280(SB)/8, $0x3ab743ce3ab743ce
DATA silu<>+288(SB)/8, $0x3c0889083c088908
DATA silu<>+296(SB)/8, $0x3c0889083c088908
DATA silu<>+304(SB)/8, $0x3c0889083c088908
DATA silu<>+312(SB)/8, $0x3c0889083c088908
DATA silu<>+320(SB)/8, $0x3d2aa9c13d2aa9c1
DATA silu<>+328(SB)/8, $0x3d2aa9c13d2aa9c1
DATA silu<>+336(SB)/8, $0x3d2aa9c13d2aa9c1
DATA silu<>+344(SB)/8, $0x3d2aa9c13d2aa9c1
DATA silu<>+352(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA silu<>+360(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA silu<>+368(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA silu<>+376(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA silu<>+384(SB)/8, $0x3f0000003f000000
DATA silu<>+392(SB)/8, $0x3f0000003f000000
DATA silu<>+400(SB)/8, $0x3f0000003f000000
DATA silu<>+408(SB)/8, $0x3f0000003f000000
DATA silu<>+416(SB)/8, $0x3f8000003f800000
DATA silu<>+424(SB)/8, $0x3f8000003f800000
DATA silu<>+432(SB)/8, $0x3f8000003f800000
DATA silu<>+440(SB)/8, $0x3f8000003f800000
DATA silu<>+448(SB)/8, $0x0000007f0000007f
DATA silu<>+456(SB)/8, $0x0000007f0000007f
DATA silu<>+464(SB)/8, $0x0000007f0000007f
DATA silu<>+472(SB)/8, $0x0000007f0000007f
GLOBL silu<>(SB), RODATA|NOPTR, $480

// func siluMulAVX2(x, y *float32, n int) int
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ    x+0(FP), DI
	MOVQ    y+8(FP), SI
	MOVQ    n+16(FP), CX
	XORQ    DX, DX
	VMOVUPS silu<>+0(SB), Y8
	VMOVUPS silu<>+32(SB), Y9
	VMOVUPS silu<>+64(SB), Y10
	VMOVUPS silu<>+96(SB), Y11
	VMOVUPS silu<>+128(SB), Y12
	VMOVUPS silu<>+416(SB), Y13

silu_loop:
	CMPQ      DX, CX
	JGE       silu_done
	VMOVUPS   (DI)(DX*4), Y0
	VXORPS    Y8, Y0, Y1
	VCMPPS    $0x1d, Y9, Y1, Y2
	VCMPPS    $0x12, Y10, Y1, Y3
	VANDPS    Y3, Y2, Y2
	VMOVMSKPS Y2, AX
	CMPL      AX, $0xff
	JNE       silu_done
	VMULPS    Y11, Y1, Y2
	VADDPS    Y12, Y2, Y2
	VSUBPS    Y12, Y2, Y2
	VMULPS    silu<>+160(SB), Y2, Y3
	VSUBPS    Y3, Y1, Y3
	VMULPS    silu<>+192(SB), Y2, Y4
	VSUBPS    Y4, Y3, Y3
	VMULPS    silu<>+224(SB), Y3, Y4
	VADDPS    silu<>+256(SB), Y4, Y4
	VMULPS    Y3, Y4, Y4
	VADDPS    silu<>+288(SB), Y4, Y4
	VMULPS    Y3, Y4, Y4
	VADDPS    silu<>+320(SB), Y4, Y4
	VMULPS    Y3, Y4, Y4
	VADDPS    silu<>+352(SB), Y4, Y4
	VMULPS    Y3, Y4, Y4
	VADDPS    silu<>+384(SB), Y4, Y4
	VMULPS    Y3, Y3, Y5
	VMULPS    Y5, Y4, Y4
	VADDPS    Y3, Y4, Y4
	VADDPS    Y13, Y4, Y4
	VCVTPS2DQ Y2, Y5
	VPADDD    silu<>+448(SB), Y5, Y5
	VPSLLD    $23, Y5, Y5
	VMULPS    Y5, Y4, Y4
	VADDPS    Y13, Y4, Y4
	VDIVPS    Y4, Y0, Y0
	VMULPS    (SI)(DX*4), Y0, Y0
	VMOVUPS   Y0, (DI)(DX*4)
	ADDQ      $8, DX
	JMP       silu_loop

silu_done:
	VZEROUPPER
	MOVQ DX, ret+24(FP)
	RET
