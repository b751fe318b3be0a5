//go:build amd64

#include "textflag.h"

// SiLU(g)*u, AVX2 (with FMA), 4 elements per step:
//
//	func siluMulAVX2(x, y *float32, n int) int
//
// x[i] = x[i] / (1 + float32(math.Exp(float64(-x[i])))) * y[i] for i in
// [0, n) (siluMul's g and u), n a multiple of 4, bitwise: the exponential
// is the FMA path of Go's math.Exp on amd64 (math/exp_amd64.s, which Go
// takes on every CPU with FMA, as every CPU of the AVX2 set has), lane by
// lane with the same operations in the same order, and the float32 steps
// are the same single operations as the Go loop. A step with an argument
// outside the range where that path needs no special case (2^k a normal
// float64, which also excludes NaN, infinities and overflow) is not done:
// the index of its first element is returned, so that the caller computes
// those 4 elements with math.Exp and calls again after them. n is returned
// when all are done.

DATA silu2<>+0(SB)/8, $1.4426950408889634073599246810018920
DATA silu2<>+8(SB)/8, $1.4426950408889634073599246810018920
DATA silu2<>+16(SB)/8, $1.4426950408889634073599246810018920
DATA silu2<>+24(SB)/8, $1.4426950408889634073599246810018920
DATA silu2<>+32(SB)/8, $0.69314718055966295651160180568695068359375
DATA silu2<>+40(SB)/8, $0.69314718055966295651160180568695068359375
DATA silu2<>+48(SB)/8, $0.69314718055966295651160180568695068359375
DATA silu2<>+56(SB)/8, $0.69314718055966295651160180568695068359375
DATA silu2<>+64(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA silu2<>+72(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA silu2<>+80(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA silu2<>+88(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA silu2<>+96(SB)/8, $0.0625
DATA silu2<>+104(SB)/8, $0.0625
DATA silu2<>+112(SB)/8, $0.0625
DATA silu2<>+120(SB)/8, $0.0625
DATA silu2<>+128(SB)/8, $2.4801587301587301587e-5
DATA silu2<>+136(SB)/8, $2.4801587301587301587e-5
DATA silu2<>+144(SB)/8, $2.4801587301587301587e-5
DATA silu2<>+152(SB)/8, $2.4801587301587301587e-5
DATA silu2<>+160(SB)/8, $1.9841269841269841270e-4
DATA silu2<>+168(SB)/8, $1.9841269841269841270e-4
DATA silu2<>+176(SB)/8, $1.9841269841269841270e-4
DATA silu2<>+184(SB)/8, $1.9841269841269841270e-4
DATA silu2<>+192(SB)/8, $1.3888888888888888889e-3
DATA silu2<>+200(SB)/8, $1.3888888888888888889e-3
DATA silu2<>+208(SB)/8, $1.3888888888888888889e-3
DATA silu2<>+216(SB)/8, $1.3888888888888888889e-3
DATA silu2<>+224(SB)/8, $8.3333333333333333333e-3
DATA silu2<>+232(SB)/8, $8.3333333333333333333e-3
DATA silu2<>+240(SB)/8, $8.3333333333333333333e-3
DATA silu2<>+248(SB)/8, $8.3333333333333333333e-3
DATA silu2<>+256(SB)/8, $4.1666666666666666667e-2
DATA silu2<>+264(SB)/8, $4.1666666666666666667e-2
DATA silu2<>+272(SB)/8, $4.1666666666666666667e-2
DATA silu2<>+280(SB)/8, $4.1666666666666666667e-2
DATA silu2<>+288(SB)/8, $1.6666666666666666667e-1
DATA silu2<>+296(SB)/8, $1.6666666666666666667e-1
DATA silu2<>+304(SB)/8, $1.6666666666666666667e-1
DATA silu2<>+312(SB)/8, $1.6666666666666666667e-1
DATA silu2<>+320(SB)/8, $0.5
DATA silu2<>+328(SB)/8, $0.5
DATA silu2<>+336(SB)/8, $0.5
DATA silu2<>+344(SB)/8, $0.5
DATA silu2<>+352(SB)/8, $1.0
DATA silu2<>+360(SB)/8, $1.0
DATA silu2<>+368(SB)/8, $1.0
DATA silu2<>+376(SB)/8, $1.0
DATA silu2<>+384(SB)/8, $2.0
DATA silu2<>+392(SB)/8, $2.0
DATA silu2<>+400(SB)/8, $2.0
DATA silu2<>+408(SB)/8, $2.0
DATA silu2<>+416(SB)/8, $0x000003ff000003ff
DATA silu2<>+424(SB)/8, $0x000003ff000003ff
DATA silu2<>+432(SB)/8, $0x000003fe000003fe
DATA silu2<>+440(SB)/8, $0x000003fe000003fe
DATA silu2<>+448(SB)/8, $0x000007fd000007fd
DATA silu2<>+456(SB)/8, $0x000007fd000007fd
DATA silu2<>+464(SB)/8, $0x3f8000003f800000
DATA silu2<>+472(SB)/8, $0x3f8000003f800000
DATA silu2<>+480(SB)/8, $0x8000000080000000
DATA silu2<>+488(SB)/8, $0x8000000080000000
GLOBL silu2<>(SB), RODATA|NOPTR, $496

// func siluMulAVX2(x, y *float32, n int) int
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ    x+0(FP), SI
	MOVQ    y+8(FP), DI
	MOVQ    n+16(FP), CX
	XORQ    DX, DX
	VMOVUPD silu2<>+0(SB), Y8
	VMOVUPD silu2<>+32(SB), Y9
	VMOVUPD silu2<>+64(SB), Y10
	VMOVUPD silu2<>+96(SB), Y11
	VMOVUPD silu2<>+384(SB), Y12
	VMOVUPD silu2<>+352(SB), Y13
	VMOVUPS silu2<>+464(SB), X14
	VMOVUPS silu2<>+480(SB), X15
	CMPQ    DX, CX
	JGE     silu2_done

silu2_loop:
	VMOVUPS   (SI)(DX*4), X0
	VXORPS    X15, X0, X1
	VCVTPS2PD X1, Y1 // x = float64(-g)

	// k = int32(round(x*LOG2E)); 2^k must be a normal float64:
	// 0 <= k+1022 <= 2045 (unsigned).
	VMULPD    Y8, Y1, Y3
	VCVTPD2DQY Y3, X4
	VPADDD    silu2<>+416(SB), X4, X5
	VPADDD    silu2<>+432(SB), X4, X6
	VPMINUD   silu2<>+448(SB), X6, X2
	VPCMPEQD  X2, X6, X2
	VMOVMSKPS X2, AX
	CMPL      AX, $15
	JNE       silu2_special

	VCVTDQ2PD    X4, Y3
	VFNMADD231PD Y9, Y3, Y1
	VFNMADD231PD Y10, Y3, Y1
	VMULPD       Y11, Y1, Y1
	VMOVUPD      silu2<>+128(SB), Y7
	VFMADD213PD  silu2<>+160(SB), Y1, Y7
	VFMADD213PD  silu2<>+192(SB), Y1, Y7
	VFMADD213PD  silu2<>+224(SB), Y1, Y7
	VFMADD213PD  silu2<>+256(SB), Y1, Y7
	VFMADD213PD  silu2<>+288(SB), Y1, Y7
	VFMADD213PD  silu2<>+320(SB), Y1, Y7
	VFMADD213PD  Y13, Y1, Y7
	VMULPD       Y7, Y1, Y1
	VADDPD       Y12, Y1, Y7
	VMULPD       Y7, Y1, Y1
	VADDPD       Y12, Y1, Y7
	VMULPD       Y7, Y1, Y1
	VADDPD       Y12, Y1, Y7
	VMULPD       Y7, Y1, Y1
	VADDPD       Y12, Y1, Y7
	VFMADD213PD  Y13, Y7, Y1

	// * 2^k
	VPMOVZXDQ X5, Y6
	VPSLLQ    $52, Y6, Y6
	VMULPD    Y6, Y1, Y1

	VCVTPD2PSY Y1, X1
	VADDPS     X14, X1, X1
	VDIVPS     X1, X0, X0
	VMULPS     (DI)(DX*4), X0, X0
	VMOVUPS    X0, (SI)(DX*4)
	ADDQ       $4, DX
	CMPQ       DX, CX
	JLT        silu2_loop

silu2_done:
	MOVQ CX, ret+24(FP)
	VZEROUPPER
	RET

silu2_special:
	MOVQ DX, ret+24(FP)
	VZEROUPPER
	RET
