package protocol

import (
	"errors"
	"fmt"
	"math"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/internal/enum"
)

// Encoding is how hidden states travel between hops.
type Encoding int

// Hidden-state encodings. F16 is the default: half the bytes of F32, and
// its rounding (to nearest, ties to even) is deterministic, so a replay
// after a failover produces exactly the same bits. Q8_0 quarters the bytes
// and needs a dimension that is a multiple of 32.
const (
	EncodingF32 Encoding = iota + 1
	EncodingF16
	EncodingQ8_0
)

// DefaultEncoding is the encoding offered first.
const DefaultEncoding = EncodingF16

// ErrBadHidden is wrapped by errors about hidden states that cannot be
// encoded or decoded (wrong shape, wrong size, non-finite values).
var ErrBadHidden = errors.New("protocol: bad hidden states")

func (e Encoding) String() string {
	switch e {
	case EncodingF32:
		return "f32"
	case EncodingF16:
		return "f16"
	case EncodingQ8_0:
		return "q8_0"
	}
	return fmt.Sprintf("encoding(%d)", int(e))
}

// ParseEncoding parses "f32", "f16" or "q8_0".
func ParseEncoding(s string) (Encoding, error) {
	for _, e := range []Encoding{EncodingF32, EncodingF16, EncodingQ8_0} {
		if e.String() == s {
			return e, nil
		}
	}
	return 0, fmt.Errorf("protocol: unknown hidden-state encoding %q (want f32, f16 or q8_0)", s)
}

// MarshalText writes e as String does.
func (e Encoding) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText reads e as ParseEncoding does.
func (e *Encoding) UnmarshalText(b []byte) error { return enum.Unmarshal(e, b, ParseEncoding) }

// Valid reports whether e is a known encoding.
func (e Encoding) Valid() bool { return e >= EncodingF32 && e <= EncodingQ8_0 }

// Supports reports whether e can carry rows of dim values.
func (e Encoding) Supports(dim int) bool {
	return e.Valid() && dim > 0 && (e != EncodingQ8_0 || dim%32 == 0)
}

func (e Encoding) dtype() kernels.DType {
	switch e {
	case EncodingF32:
		return kernels.F32
	case EncodingF16:
		return kernels.F16
	}
	return kernels.Q8_0
}

// EncodedSize is the number of bytes rows rows of dim values take in e.
func (e Encoding) EncodedSize(rows, dim int) (int, error) {
	if !e.Supports(dim) {
		return 0, fmt.Errorf("%w: encoding %v cannot carry rows of %d values", ErrBadHidden, e, dim)
	}
	if rows <= 0 {
		return 0, fmt.Errorf("%w: %d rows", ErrBadHidden, rows)
	}
	n, err := e.dtype().RowBytes(dim)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadHidden, err)
	}
	if rows > math.MaxInt32/n {
		return 0, fmt.Errorf("%w: %d rows of %d bytes overflow", ErrBadHidden, rows, n)
	}
	return rows * n, nil
}

// EncodeHidden appends the encoding of x (rows of dim values) to dst.
// Non-finite values and values beyond the f16 range are refused, since the
// receiver would refuse them anyway.
func EncodeHidden(dst []byte, e Encoding, x []float32, dim int) ([]byte, error) {
	if dim <= 0 || len(x)%dim != 0 {
		return dst, fmt.Errorf("%w: %d values are not rows of %d", ErrBadHidden, len(x), dim)
	}
	size, err := e.EncodedSize(len(x)/dim, dim)
	if err != nil {
		return dst, err
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || (e != EncodingF32 && math.Abs(float64(v)) > 65504) {
			return dst, fmt.Errorf("%w: value %d is %v, outside what %v carries", ErrBadHidden, i, v, e)
		}
	}
	off := len(dst)
	dst = append(dst, make([]byte, size)...)
	out := dst[off:]
	row := size / (len(x) / dim)
	for r := 0; r < len(x)/dim; r++ {
		if err := kernels.Quantize(out[r*row:(r+1)*row], x[r*dim:(r+1)*dim], e.dtype()); err != nil {
			return dst[:off], fmt.Errorf("%w: %v", ErrBadHidden, err)
		}
	}
	return dst, nil
}

// DecodeHidden decodes rows rows of dim values from data into dst (grown as
// needed) and returns it. It checks the size exactly and refuses
// non-finite values, so a garbled or malicious payload is an error, never
// a crash or a poisoned computation.
func DecodeHidden(dst []float32, e Encoding, data []byte, rows, dim int) ([]float32, error) {
	size, err := e.EncodedSize(rows, dim)
	if err != nil {
		return dst, err
	}
	if len(data) != size {
		return dst, fmt.Errorf("%w: %d rows of %d in %v need %d bytes, got %d", ErrBadHidden, rows, dim, e, size, len(data))
	}
	n := rows * dim
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	row := size / rows
	for r := 0; r < rows; r++ {
		if err := kernels.Dequantize(dst[r*dim:(r+1)*dim], data[r*row:(r+1)*row], e.dtype()); err != nil {
			return dst, fmt.Errorf("%w: %v", ErrBadHidden, err)
		}
	}
	for i, v := range dst {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return dst, fmt.Errorf("%w: value %d (row %d) is %v", ErrBadHidden, i, i/dim, v)
		}
	}
	return dst, nil
}

// RoundTrip replaces x by what it becomes after encoding and decoding in e,
// which is what a receiver sees.
func RoundTrip(e Encoding, x []float32, dim int) error {
	b, err := EncodeHidden(nil, e, x, dim)
	if err != nil {
		return err
	}
	_, err = DecodeHidden(x, e, b, len(x)/dim, dim)
	return err
}
