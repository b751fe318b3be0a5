//go:build amd64

#include "textflag.h"

// func quantActAVX512(x *float32, nb int, q *int8, d *float32, s *int32)
//
// AVX-512 (F, BW, VL, VNNI) version of quantizeAct, bitwise identical to
// it: per block of 32, amax = max |x| (NaN ignored); if amax >= 2^-120,
// d = fp16(amax/127) and id = 127/amax, else both 0; q =
// int8(nearestInt(x*id)) with the same magic-number rounding and
// truncation, s = sum of q.
TEXT ·quantActAVX512(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         nb+8(FP), CX
	MOVQ         q+16(FP), DI
	MOVQ         d+24(FP), DX
	MOVQ         s+32(FP), R8
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL         $0x4b400000, AX // 12582912.0
	VPBROADCASTD AX, Z30
	MOVL         $0x007fffff, AX
	VPBROADCASTD AX, Z29
	MOVL         $0x00400000, AX
	VPBROADCASTD AX, Z28
	MOVL         $0x42fe0000, AX // 127.0
	VMOVD        AX, X15
	MOVL         $0x03800000, AX // 2^-120
	VMOVD        AX, X14
	MOVL         $0x01010101, AX
	VPBROADCASTD AX, Y13
	VPXORD       Z12, Z12, Z12
	TESTQ        CX, CX
	JZ           qa_done

qa_loop:
	VMOVUPS       (SI), Z0
	VMOVUPS       64(SI), Z1
	VPANDD        Z31, Z0, Z2
	VPANDD        Z31, Z1, Z3
	VMAXPS        Z12, Z2, Z2 // NaN -> 0
	VMAXPS        Z12, Z3, Z3
	VMAXPS        Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPS        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0x4e, X2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0xb1, X2, X3
	VMAXPS        X3, X2, X2
	VCMPSS        $0x1d, X14, X2, X7 // amax >= 2^-120
	VDIVSS        X15, X2, X4   // d = fp16(amax / 127)
	VCVTPS2PH     $0, X4, X4
	VCVTPH2PS     X4, X4
	VANDPS        X7, X4, X4
	VMOVSS        X4, (DX)
	VDIVSS        X2, X15, X5   // id = 127 / amax
	VANDPS        X7, X5, X5
	VBROADCASTSS  X5, Z5
	VMULPS        Z5, Z0, Z0
	VMULPS        Z5, Z1, Z1
	VADDPS        Z30, Z0, Z0
	VADDPS        Z30, Z1, Z1
	VPANDD        Z29, Z0, Z0
	VPANDD        Z29, Z1, Z1
	VPSUBD        Z28, Z0, Z0
	VPSUBD        Z28, Z1, Z1
	VPMOVDB       Z0, X0
	VPMOVDB       Z1, X1
	VMOVDQU       X0, (DI)
	VMOVDQU       X1, 16(DI)
	VINSERTI128   $1, X1, Y0, Y0
	VPXOR         Y7, Y7, Y7
	VPDPBUSD      Y0, Y13, Y7
	VEXTRACTI128  $1, Y7, X8
	VPADDD        X8, X7, X7
	VPSHUFD       $0x4e, X7, X8
	VPADDD        X8, X7, X7
	VPSHUFD       $0xb1, X7, X8
	VPADDD        X8, X7, X7
	VMOVD         X7, (R8)
	ADDQ          $128, SI
	ADDQ          $32, DI
	ADDQ          $4, DX
	ADDQ          $4, R8
	DECQ          CX
	JNZ           qa_loop

qa_done:
	VZEROUPPER
	RET
