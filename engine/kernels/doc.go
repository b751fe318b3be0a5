// Package kernels is the compute core of the orbit CPU inference engine.
//
// It defines the weight element types used by GGUF files (DType) together
// with their block layouts, converts between float32 and those layouts
// (Quantize, Dequantize, the fp16/bf16 helpers), and provides the heavy
// linear-algebra primitives the engine is built on: matrix-vector and
// matrix-matrix products (Pool.MatMul), dot products (DotF32) and axpy
// (AxpyF32).
//
// # Layouts
//
// Every type stores a row as a sequence of blocks, exactly as ggml does:
//
//	f32   1 element,   4 bytes: IEEE binary32
//	f16   1 element,   2 bytes: IEEE binary16
//	bf16  1 element,   2 bytes: upper half of a binary32
//	q4_0  32 elements, 18 bytes: fp16 d, 16 bytes of nibbles; element j<16 is
//	      (qs[j]&15)-8, element j>=16 is (qs[j-16]>>4)-8, times d
//	q8_0  32 elements, 34 bytes: fp16 d, 32 int8; element j is qs[j]*d
//	q4_k 256 elements, 144 bytes: fp16 d, fp16 dmin, 12 bytes of packed 6-bit
//	      scales and mins for 8 sub-blocks of 32, 128 bytes of nibbles
//	q6_k 256 elements, 210 bytes: 128 bytes low nibbles, 64 bytes of 2-bit
//	      high parts, 16 int8 sub-block scales (sub-blocks of 16), fp16 d
//
// Dequantize is bit-exact with ggml's reference dequantizers.
//
// # Products
//
// Pool.MatMul multiplies a row-major weight matrix (Mat) by one or more
// activation vectors. For the integer types (q8_0, q4_0, q4_k, q6_k) the
// activations are first quantized to int8 in blocks of 32 with a float32
// scale per block (and per-block sums), and the weight/activation products
// are done in integer arithmetic (with AVX-512 VNNI, each block's product
// is one exact int32, accumulated as acc = fma(float(isum), dw*dx, acc)).
// For f32, f16 and bf16 weights the
// activations stay float32 and weights are widened on the fly.
//
// Batches use tile kernels where the set has them, each element bitwise
// the row kernel's result: AVX-512 VNNI 4 rows x 4 or 8 columns on
// packed activations; AVX2 2 rows x 4 columns (q8_0, q4_0), sharing a
// row's unpacked weights and scales between columns. The k-quant row
// kernels (both sets) form the 8 sub-block dot products of a super-block
// exactly in int32, apply the sub-block scales and mins, and accumulate
// in float32 per row.
//
// SiLU(gate)*up, applied by MatMulGLU, is assembly too (AVX2, 4 lanes, the
// operations of Go's math.Exp on amd64): bitwise the scalar loop.
//
// Pool.MatMulShared runs up to three products of the same activations (a
// layer's Q, K and V) as one job: one quantization of the activations and
// one dispatch to the workers. Pool.MatMulGLU does the same for a feed-
// forward gate and up and applies SiLU(gate)*up per row chunk. Both give
// bitwise the results of the separate calls.
//
// Determinism: every output element is produced by one fixed-order reduction
// over its row that depends only on the row, the activation column and the
// implementation in use, never on the batch size, the number of workers or
// how rows are split among them. Running a model in pieces or batched gives
// bit-identical results to running it whole.
//
// # Implementations
//
// On amd64 the kernels are written in Go assembly for AVX2 (+FMA, F16C) and
// AVX-512 (F, BW, VL, VNNI); the best set supported by the CPU is selected
// once at init using golang.org/x/sys/cpu. The environment variable
// ORBIT_KERNELS=generic|avx2|avx512, read once at init, overrides the choice
// (a request the CPU cannot honour falls back to the best available one).
// A portable pure-Go implementation (Generic) is always available; tests
// compare the assembly against it. Results of different implementations may
// differ in the last bits because of float summation order; each one alone
// is deterministic.
package kernels
