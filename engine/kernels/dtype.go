package kernels

import (
	"fmt"
	"strings"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/internal/enum"
)

// DType is a weight element type, numbered like GGUF's ggml_type.
type DType uint32

// Supported element types (GGUF ggml_type ids).
const (
	F32    DType = 0
	F16    DType = 1
	Q4_0   DType = 2
	Q4_1   DType = 3
	Q5_0   DType = 6
	Q8_0   DType = 8
	Q3_K   DType = 11
	Q4_K   DType = 12
	Q5_K   DType = 13
	Q6_K   DType = 14
	IQ4_XS DType = 23
	BF16   DType = 30
	MXFP4  DType = 39
)

// Block sizes (elements per block) of the quantized types, for the
// kernels' arithmetic; TestLayoutMatchesGGUF holds them to GGUF's table.
const (
	qk  = 32  // q4_0, q4_1, q5_0, q8_0, mxfp4 and activation blocks
	qkK = 256 // k-quant super-blocks
)

// DTypes lists every supported type, in id order.
var allTypes = [...]DType{F32, F16, Q4_0, Q4_1, Q5_0, Q8_0, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, BF16, MXFP4}

// Types returns the supported types in id order.
func Types() []DType {
	out := make([]DType, len(allTypes))
	copy(out, allTypes[:])
	return out
}

// String returns the lower-case name of t ("f32", "q4_k", ...), GGUF's
// name for the type, or "dtype(N)" for unsupported ids.
func (t DType) String() string {
	if !t.Valid() {
		return fmt.Sprintf("dtype(%d)", uint32(t))
	}
	return gguf.TensorType(t).String()
}

// ParseDType is the case-insensitive inverse of DType.String.
func ParseDType(s string) (DType, error) {
	ls := strings.ToLower(strings.TrimSpace(s))
	for _, t := range allTypes {
		if t.String() == ls {
			return t, nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown dtype %q", s)
}

// MarshalText writes t as String does.
func (t DType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads t as ParseDType does.
func (t *DType) UnmarshalText(b []byte) error { return enum.Unmarshal(t, b, ParseDType) }

// Valid reports whether t is one of the supported types.
func (t DType) Valid() bool {
	switch t {
	case F32, F16, BF16:
		return true
	}
	return t.Quantized()
}

// Quantized reports whether t is an integer block type (every supported
// type but f32, f16 and bf16), whose products use int8-quantized
// activations.
func (t DType) Quantized() bool {
	switch t {
	case Q4_0, Q4_1, Q5_0, Q8_0, MXFP4, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS:
		return true
	}
	return false
}

// BlockSize returns the number of elements per block (from GGUF's type
// table), or 0 if t is invalid.
func (t DType) BlockSize() int {
	if !t.Valid() {
		return 0
	}
	return gguf.TensorType(t).BlockSize()
}

// Block sizes in bytes, for the kernels' arithmetic on block layouts;
// TestLayoutMatchesGGUF holds them to GGUF's type table.
const (
	q4_0Bytes = 2 + qk/2                   // 18
	q8_0Bytes = 2 + qk                     // 34
	q4KBytes  = 2 + 2 + 12 + qkK/2         // 144
	q6KBytes  = qkK/2 + qkK/4 + qkK/16 + 2 // 210

	q4_1Bytes  = 2 + 2 + qk/2               // 20
	q5_0Bytes  = 2 + 4 + qk/2               // 22
	mxfp4Bytes = 1 + qk/2                   // 17
	q3KBytes   = qkK/8 + qkK/4 + 12 + 2     // 110
	q5KBytes   = 2 + 2 + 12 + qkK/8 + qkK/2 // 176
	iq4XSBytes = 2 + 2 + qkK/64 + qkK/2     // 136
)

// BlockBytes returns the number of bytes per block (from GGUF's type
// table), or 0 if t is invalid.
func (t DType) BlockBytes() int {
	if !t.Valid() {
		return 0
	}
	return gguf.TensorType(t).BlockBytes()
}

// RowBytes returns the number of bytes needed to store n elements of type t.
// It fails if t is invalid, n is negative or n is not a multiple of the
// block size.
func (t DType) RowBytes(n int) (int, error) {
	if !t.Valid() {
		return 0, fmt.Errorf("kernels: invalid dtype %d", uint32(t))
	}
	if n < 0 {
		return 0, fmt.Errorf("kernels: negative element count %d", n)
	}
	bs := t.BlockSize()
	if n%bs != 0 {
		return 0, fmt.Errorf("kernels: %d elements is not a multiple of the %s block size %d", n, t, bs)
	}
	nb := n / bs
	bb := t.BlockBytes()
	if nb > (1<<62)/bb {
		return 0, fmt.Errorf("kernels: %d elements of %s overflow", n, t)
	}
	return nb * bb, nil
}
