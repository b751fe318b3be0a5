package gguf

import (
	"fmt"
	"math"

	"github.com/orbitswarm/orbit/internal/enum"
)

// ValueType is the type tag of a metadata value, as stored in the file.
type ValueType uint32

// Metadata value types defined by the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// ParseValueType is the inverse of ValueType.String: "uint8" ... "float64".
func ParseValueType(s string) (ValueType, error) {
	return enum.Parse("gguf: value type", s, TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32,
		TypeFloat32, TypeBool, TypeString, TypeArray, TypeUint64, TypeInt64, TypeFloat64)
}

// MarshalText writes t as String does.
func (t ValueType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads t as ParseValueType does.
func (t *ValueType) UnmarshalText(b []byte) error { return enum.Unmarshal(t, b, ParseValueType) }

// size is the encoded size of a scalar of type t, or 0 for strings and arrays.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. Scalars are held as the Go type of the same
// width (uint8, int8, ..., float64, bool, string). Arrays hold a typed slice
// ([]uint8 ... []float64, []bool, []string) or, for arrays of arrays, []Value.
type Value struct {
	Type      ValueType
	ArrayType ValueType // element type when Type == TypeArray
	v         any
}

// Any returns the Go value held.
func (v Value) Any() any { return v.v }

// Uint8 .. Float64 and friends construct values of each type.
func Uint8(x uint8) Value     { return Value{Type: TypeUint8, v: x} }
func Int8(x int8) Value       { return Value{Type: TypeInt8, v: x} }
func Uint16(x uint16) Value   { return Value{Type: TypeUint16, v: x} }
func Int16(x int16) Value     { return Value{Type: TypeInt16, v: x} }
func Uint32(x uint32) Value   { return Value{Type: TypeUint32, v: x} }
func Int32(x int32) Value     { return Value{Type: TypeInt32, v: x} }
func Float32(x float32) Value { return Value{Type: TypeFloat32, v: x} }
func Bool(x bool) Value       { return Value{Type: TypeBool, v: x} }
func String(x string) Value   { return Value{Type: TypeString, v: x} }
func Uint64(x uint64) Value   { return Value{Type: TypeUint64, v: x} }
func Int64(x int64) Value     { return Value{Type: TypeInt64, v: x} }
func Float64(x float64) Value { return Value{Type: TypeFloat64, v: x} }

// Array builds an array value from a typed slice ([]uint8 ... []float64,
// []bool, []string) or []Value (array of arrays, all of one type).
func Array(slice any) (Value, error) {
	var et ValueType
	switch s := slice.(type) {
	case []uint8:
		et = TypeUint8
	case []int8:
		et = TypeInt8
	case []uint16:
		et = TypeUint16
	case []int16:
		et = TypeInt16
	case []uint32:
		et = TypeUint32
	case []int32:
		et = TypeInt32
	case []float32:
		et = TypeFloat32
	case []bool:
		et = TypeBool
	case []string:
		et = TypeString
	case []uint64:
		et = TypeUint64
	case []int64:
		et = TypeInt64
	case []float64:
		et = TypeFloat64
	case []Value:
		et = TypeArray
		for i := range s {
			if s[i].Type != TypeArray || (i > 0 && s[i].ArrayType != s[0].ArrayType) {
				return Value{}, fmt.Errorf("gguf: array of arrays: element %d is not an array of the same type", i)
			}
		}
	default:
		return Value{}, fmt.Errorf("gguf: cannot make an array of %T", slice)
	}
	return Value{Type: TypeArray, ArrayType: et, v: slice}, nil
}

// MustArray is Array for slices known to be valid at compile time.
func MustArray(slice any) Value {
	v, err := Array(slice)
	if err != nil {
		panic(err)
	}
	return v
}

// Len is the number of elements of an array value (0 for scalars).
func (v Value) Len() int {
	switch s := v.v.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []Value:
		return len(s)
	}
	return 0
}

// Int converts any integer scalar (or bool) to int64.
func (v Value) Int() (int64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Float converts any numeric scalar to float64.
func (v Value) Float() (float64, bool) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := v.Int(); ok {
		return float64(i), true
	}
	return 0, false
}

// Str returns a string value.
func (v Value) Str() (string, bool) {
	s, ok := v.v.(string)
	return s, ok
}

// Strings returns an array of strings.
func (v Value) Strings() ([]string, bool) {
	s, ok := v.v.([]string)
	return s, ok
}

// Float32s returns an array of numbers as float32.
func (v Value) Float32s() ([]float32, bool) {
	switch s := v.v.(type) {
	case []float32:
		return s, true
	case []float64:
		out := make([]float32, len(s))
		for i, x := range s {
			out[i] = float32(x)
		}
		return out, true
	}
	return nil, false
}

// Int64s returns an array of integers as int64.
func (v Value) Int64s() ([]int64, bool) {
	n := v.Len()
	out := make([]int64, n)
	switch s := v.v.(type) {
	case []uint8:
		for i, x := range s {
			out[i] = int64(x)
		}
	case []int8:
		for i, x := range s {
			out[i] = int64(x)
		}
	case []uint16:
		for i, x := range s {
			out[i] = int64(x)
		}
	case []int16:
		for i, x := range s {
			out[i] = int64(x)
		}
	case []uint32:
		for i, x := range s {
			out[i] = int64(x)
		}
	case []int32:
		for i, x := range s {
			out[i] = int64(x)
		}
	case []uint64:
		for i, x := range s {
			out[i] = int64(x)
		}
	case []int64:
		copy(out, s)
	case []bool:
		for i, x := range s {
			if x {
				out[i] = 1
			}
		}
	default:
		return nil, false
	}
	return out, true
}

// KV is one metadata key/value pair.
type KV struct {
	Key   string
	Value Value
}
