// Package gguf reads and writes GGUF model files (versions 2 and 3).
//
// A GGUF file is a header (magic, version, counts), a list of typed
// metadata key/value pairs, a list of tensor descriptors (name, shape,
// ggml type, offset), padding to the file's alignment, and the tensor data.
// Open maps a file read-only, so tensor data is paged in only when touched:
// a process that uses a few tensors of a large file keeps only those bytes
// resident. Parse does the same work on a byte slice and never panics on
// malformed input; every failure is an error saying what is wrong and where.
package gguf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/orbitswarm/orbit/internal/enum"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// KeyAlignment is the metadata key that sets the data alignment.
const KeyAlignment = "general.alignment"

// MaxDims is the largest number of dimensions a tensor may have.
const MaxDims = 4

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("gguf: malformed file")

// TensorType is a ggml tensor type id.
type TensorType uint32

type typeInfo struct {
	name       string
	blockSize  int // elements per block; 0 for an id with no type
	blockBytes int // bytes per block
}

// typeTable lists the block layouts of the ggml types, indexed by id, so
// that files holding types this project does not compute with can still be
// read and validated. It is the one table of ggml type sizes: the kernels
// take the block sizes of the types they compute with from it.
var typeTable = [...]typeInfo{
	0: {"f32", 1, 4}, 1: {"f16", 1, 2}, 2: {"q4_0", 32, 18}, 3: {"q4_1", 32, 20},
	6: {"q5_0", 32, 22}, 7: {"q5_1", 32, 24}, 8: {"q8_0", 32, 34}, 9: {"q8_1", 32, 36},
	10: {"q2_k", 256, 84}, 11: {"q3_k", 256, 110}, 12: {"q4_k", 256, 144}, 13: {"q5_k", 256, 176},
	14: {"q6_k", 256, 210}, 15: {"q8_k", 256, 292}, 16: {"iq2_xxs", 256, 66}, 17: {"iq2_xs", 256, 74},
	18: {"iq3_xxs", 256, 98}, 19: {"iq1_s", 256, 50}, 20: {"iq4_nl", 32, 18}, 21: {"iq3_s", 256, 110},
	22: {"iq2_s", 256, 82}, 23: {"iq4_xs", 256, 136}, 24: {"i8", 1, 1}, 25: {"i16", 1, 2},
	26: {"i32", 1, 4}, 27: {"i64", 1, 8}, 28: {"f64", 1, 8}, 29: {"iq1_m", 256, 56},
	30: {"bf16", 1, 2}, 34: {"tq1_0", 256, 54}, 35: {"tq2_0", 256, 66}, 39: {"mxfp4", 32, 17},
}

// info returns t's layout; ok is false for an id with no known type.
func (t TensorType) info() (ti typeInfo, ok bool) {
	if uint64(t) >= uint64(len(typeTable)) || typeTable[t].blockSize == 0 {
		return typeInfo{}, false
	}
	return typeTable[t], true
}

// String returns the ggml name of t ("f32", "q4_k", ...), or
// "ggml_type(N)" for an unknown id.
func (t TensorType) String() string {
	if ti, ok := t.info(); ok {
		return ti.name
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// ParseTensorType is the inverse of TensorType.String for known types: the
// ggml name, any case ("q4_k", "F16").
func ParseTensorType(s string) (TensorType, error) {
	ls := strings.ToLower(strings.TrimSpace(s))
	for id, ti := range typeTable {
		if ti.blockSize != 0 && ti.name == ls {
			return TensorType(id), nil
		}
	}
	return 0, fmt.Errorf("gguf: unknown tensor type %q", s)
}

// MarshalText writes t as String does.
func (t TensorType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads t as ParseTensorType does.
func (t *TensorType) UnmarshalText(b []byte) error { return enum.Unmarshal(t, b, ParseTensorType) }

// Known reports whether the type's block layout is known.
func (t TensorType) Known() bool { _, ok := t.info(); return ok }

// BlockSize returns the number of elements per block of t, or 0 if t is
// unknown.
func (t TensorType) BlockSize() int { ti, _ := t.info(); return ti.blockSize }

// BlockBytes returns the number of bytes per block of t, or 0 if t is
// unknown.
func (t TensorType) BlockBytes() int { ti, _ := t.info(); return ti.blockBytes }

// Size returns the number of bytes of a tensor of type t with n elements.
func (t TensorType) Size(n uint64) (uint64, error) {
	ti, ok := t.info()
	if !ok {
		return 0, fmt.Errorf("%w: unknown tensor type %d", ErrFormat, uint32(t))
	}
	if n%uint64(ti.blockSize) != 0 {
		return 0, fmt.Errorf("%w: %d elements is not a whole number of %s blocks of %d", ErrFormat, n, ti.name, ti.blockSize)
	}
	blocks := n / uint64(ti.blockSize)
	if blocks > (1<<62)/uint64(ti.blockBytes) {
		return 0, fmt.Errorf("%w: tensor of %d elements is too large", ErrFormat, n)
	}
	return blocks * uint64(ti.blockBytes), nil
}

// FileType is llama.cpp's general.file_type (llama_ftype): the tensor type
// that holds most of a file's weights.
type FileType uint32

// fileTypes is the one table of the file types Orbit writes or sizes, each
// with its main tensor type; a tensor type listed twice maps to its first
// file type.
var fileTypes = [...]struct {
	ft FileType
	t  TensorType
}{
	{0, 0},   // all f32
	{1, 1},   // mostly f16
	{2, 2},   // mostly q4_0
	{7, 8},   // mostly q8_0
	{15, 12}, // mostly q4_k (Q4_K_M)
	{17, 13}, // mostly q5_k (Q5_K_M)
	{18, 14}, // mostly q6_k
	{32, 30}, // mostly bf16
	{3, 3},   // mostly q4_1
	{8, 6},   // mostly q5_0
	{12, 11}, // mostly q3_k (Q3_K_M)
	{30, 23}, // mostly iq4_xs
	{38, 39}, // mxfp4 (MoE experts)
}

// FileTypeOf returns the file type whose weights are mostly of type t;
// ok is false for a type with none in the table.
func FileTypeOf(t TensorType) (ft FileType, ok bool) {
	for _, e := range fileTypes {
		if e.t == t {
			return e.ft, true
		}
	}
	return 0, false
}

// TensorType returns the type that holds most of the weights of a file of
// type ft; ok is false for a file type not in the table.
func (ft FileType) TensorType() (t TensorType, ok bool) {
	for _, e := range fileTypes {
		if e.ft == ft {
			return e.t, true
		}
	}
	return 0, false
}

// TensorInfo describes one tensor. Dims[0] is the contiguous dimension.
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   TensorType
	Offset uint64 // relative to the start of the data section
	Size   uint64 // bytes, derived from Dims and Type
}

// Elements is the product of the dimensions.
func (t *TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

func align(x, a uint64) uint64 {
	return (x + a - 1) / a * a
}
