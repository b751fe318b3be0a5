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
// and q4_1, q5_0, mxfp4 (blocks of 32), q3_k, q5_k and iq4_xs (256), laid
// out in quantx.go.
//
// Dequantize is bit-exact with ggml's reference dequantizers.
//
// # Canonical arithmetic
//
// Every kernel set gives bitwise the same results for the same inputs: the
// generic (pure Go) kernels are the executable definition and every
// assembly kernel performs exactly their operations. This is what lets any
// server in a swarm replay or check another's work bit for bit, whatever
// its CPU. The rules:
//
//   - Every floating-point operation is one IEEE binary32 (or, where said,
//     binary64) operation rounded to nearest even. There is no fused
//     multiply-add anywhere in float32 code: a product is rounded before it
//     is added. The Go code writes float32(x*y) for every product that
//     feeds an addition, which forbids the compiler from fusing them (it
//     does so on arm64 otherwise). Subnormals are not flushed.
//   - Activations for the integer types are quantized per block (32
//     values for q8_0 and q4_0, a 256-value super-block for q4_k and q6_k,
//     as llama.cpp's q8_K): amax = max|x|, d = amax/127, id = 1/d (0 when d
//     is 0), q = round-to-even(x*id) (the product rounded first), and per 32
//     values s = the sum of q. The weights' fp16 scales convert exactly;
//     bf16 converts by a 16-bit shift.
//   - q8_0 and q4_0: per block, the exact int32 dot product isum (q4_0: of
//     the nibbles minus 8), then acc = acc + float(isum)*(dw*dx), blocks in
//     order, one accumulator per row.
//   - q4_k: per super-block, exactly in int32, isd = sum_j sc_j*isum_j and
//     ism = sum_j min_j*s_j over its 8 sub-blocks; then acc += float(isd)*
//     (d*dx) and acc -= float(ism)*(dmin*dx). q6_k: isum = sum over the 16
//     groups of 16 of sc_g*dot_g (values q-32), acc += float(isum)*(d*dx).
//     Super-blocks in order, one accumulator per row.
//   - q5_0 and mxfp4 as q4_0: isum exact per block (q5_0: the five-bit
//     values minus 16; mxfp4: twice the e2m1 values), acc += float(isum)*
//     (dw*dx) with dw the fp16 d, or 2^(e-128) for mxfp4's E8M0 e. q4_1:
//     isum of the nibbles (0..15), acc += float(isum)*(d*dx), then acc +=
//     float(s)*(m*dx) with s the block's activation sum (llama.cpp pairs
//     q4_1 with q8_1, whose blocks carry that sum). q5_k as q4_k with
//     five-bit values. q3_k as q6_k over its 16 groups of 16 (values
//     -4..3, scales sc-32); iq4_xs likewise over its 8 sub-blocks of 32
//     (grid values, scales ls-32). The k-quants take the per-256
//     activations (q8_K), the others the per-32 ones (q8_0).
//   - f32, f16 and bf16 weights and the float dot products (DotF32,
//     DotRowsF32: attention scores): 16 lanes, element i added to lane i%16
//     as lane += w_i*x_i, then h_k = lane_k + lane_k+8 and hsum8(h).
//   - hsum8(h) = ((h0+h4) + (h1+h5)) + ((h2+h6) + (h3+h7)).
//   - AxpyF32 and AxpyRowsF32: y_i += a*x_i per element, rows in order.
//   - Exp32 (softmax, SiLU) is a fixed Cody-Waite reduction and degree-6
//     polynomial in float32 (cmath.go); SiLU(g)*u = (g/(1+Exp32(-g)))*u.
//     RoPE tables use Sincos and Pow, and sampling uses Exp: float64
//     functions with fixed operation sequences (fdlibm's algorithms), since
//     Go's math package differs between architectures in the last bit.
//   - Tanh (logit soft-capping) is float64 with a fixed sequence (a short
//     series near 0, else 1 - 2/(Exp(2|x|)+1)); Tanh32 rounds it. GeGLU
//     (Gemma's GELU-tanh gate) is ggml's: the float16 GELU of the float16
//     gate, from a table of the float32 formula 0.5*x*(1+tanh(c*x*(1+a*x*x)))
//     evaluated in a fixed order (gelu.go), times up.
//   - SwiGLU-OAI (gpt-oss's experts) is x = min(g, 7), y = clamp(u, -7, 7),
//     (x/(1+Exp32(1.702*-x)))*(y+1) in float32 (cmath.go). Attention sinks
//     add Exp32(sink-max) after the positions' terms (max taken over both).
//     YaRN RoPE mixes theta*freqScale and theta by ggml's ramp in float32,
//     magnitude from the canonical Log.
//   - RMSNorm sums squares in float64 in order (exact products), then
//     scale = float32(1/sqrt(ss/n + eps)) and w*(x*scale); sqrt and
//     division are correctly rounded everywhere.
//   - Batches, thread counts and row splits never change a row's
//     operations: every output element is one fixed-order reduction over
//     its row that depends only on the row and the activation column, so a
//     model run in pieces, batched or on any number of threads gives
//     bit-identical results to running it whole on one.
//
// TestCanonical* check every set against the generic kernels bitwise, and
// the engine's golden digests (engine/golden_test.go) check whole models of
// every weight type against digests committed from the generic kernels, so
// machines with different kernel sets (or architectures) prove they agree
// with each other.
//
// # Products
//
// Pool.MatMul multiplies a row-major weight matrix (Mat) by one or more
// activation vectors. Batches use tile kernels where the set has them, each
// element bitwise the row kernel's result: AVX-512 VNNI 4 rows x 4 or 8
// columns on packed activations; AVX2 2 rows x 16 and 4 rows x 8 columns
// of q8_0 on activations packed as int16 pairs (one column per lane, so
// no horizontal sums; VPMADDWD), 2 rows
// x 4 columns (q4_0, and the q8_0 columns after the groups of 8) and 1 row
// x 4 columns (q4_k, q6_k), sharing a row's unpacked weights and scales
// between columns.
//
// Pool.Repack stores a matrix row-interleaved for the pool's kernels
// (AVX-512 and AVX2: q8_0, q4_0, q4_k, q6_k, q5_k, q3_k, q4_1, q5_0,
// mxfp4 and iq4_xs; 16 rows' blocks side by side, see repack.go,
// repackx.go and repack_kq.go), so that one vector load gives
// 16 (AVX2: 8) rows' values and each row's arithmetic runs in its own
// lane: the canonical operations per row, unchanged. Products with a
// repacked matrix are bitwise those with the original on every pool; a
// pool without kernels for the layout reads the rows back first. A batch
// of columns goes through the repacked kernels 4, 3 or 2 columns at a
// time where the set has them (q8_0, q4_0, q4_k, q6_k, q5_k and q3_k on
// AVX-512 and AVX2; 5 columns as 3 and 2), each block unpacked once for its columns, so
// that a server's few batched sessions cost well under one product each.
// A repacked q8_0 matrix takes every batch through these kernels rather
// than the tiles (on one worker, 1.7x to 3.7x less CPU per column).
//
// Pool.MatMulShared runs up to three products of the same activations (a
// layer's Q, K and V) as one job: one quantization of the activations and
// one dispatch to the workers. Pool.MatMulGLU does the same for a feed-
// forward gate and up and applies SiLU(gate)*up per row chunk. Both give
// bitwise the results of the separate calls.
//
// # Implementations
//
// On arm64 the NEON set (Advanced SIMD with the ARMv8.2 dot-product
// extension: every Apple M-series and Neoverse core; ORBIT_KERNELS=neon)
// has q8_0 and q4_0 kernels built on SDOT (4 rows x 1 column, and 2 rows
// x 4 columns for batches), mxfp4 and q4_1 (4 rows x 1 column), q4_k,
// q5_k, q6_k and iq4_xs row kernels (1 row x 1 column; batches column by
// column) and the 16-lane float dot products and axpy (f32, f16, bf16
// weights; attention), with instructions Go's assembler lacks emitted as
// WORDs (neon_arm64.h documents each encoding); q5_0 and q3_k run the
// generic kernels, as does a CPU without SDOT.
//
// On amd64 the kernels are written in Go assembly for AVX2 (+FMA, F16C) and
// AVX-512 (F, BW, VL, VNNI); the best set supported by the CPU is selected
// once at init using golang.org/x/sys/cpu. The environment variable
// ORBIT_KERNELS=generic|avx2|avx512 (neon on arm64), read once at init, overrides the choice
// (a request the CPU cannot honour falls back to the best available one).
// The AVX-512 set differs from the AVX2 one in its q8_0, q4_0 and q4_k
// kernels and its kernels for repacked q6_k (VNNI integer dot products)
// and activation quantizer; it reuses the AVX2 float kernels, the AVX2
// q6_k kernels for matrices in block layout, and the AVX2 row kernels of q4_1, q5_0,
// mxfp4, q3_k, q5_k and iq4_xs (qx_avx2_amd64.s), with batch kernels for
// q5_k, q3_k and iq4_xs (1 row x 4 columns) and mxfp4, q5_0 and q4_1 (2
// rows x 4 columns); for repacked q4_1, q5_0, mxfp4, iq4_xs, q5_k and
// q3_k matrices it has VNNI kernels of 16 rows x 1 and x 4 columns
// (q32x_avx512_amd64.s, kq_vnni_amd64.s); the AVX2 set has kernels of
// 16 rows (two halves of 8) x 1 and x 4 columns for repacked q4_1, q5_0,
// mxfp4 and iq4_xs (q32x_p_avx2_amd64.s). Other architectures run the
// generic kernels. Whatever the set, the results are the canonical ones.
package kernels
