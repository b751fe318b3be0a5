package gguf

import (
	"strconv"
	"strings"
	"testing"
)

func TestTypeText(t *testing.T) {
	for id := range TensorType(64) {
		b, err := id.MarshalText()
		var back TensorType
		uerr := back.UnmarshalText(b)
		if err != nil || string(b) != id.String() || (uerr == nil) != id.Known() || (id.Known() && back != id) {
			t.Errorf("type %d: MarshalText %q, %v; read back as %v, %v", uint32(id), b, err, back, uerr)
		}
	}
	if got, err := ParseTensorType(" Q4_K "); err != nil || got != 12 {
		t.Errorf("ParseTensorType(Q4_K) = %v, %v", got, err)
	}
	for v := range TypeFloat64 + 2 {
		b, _ := v.MarshalText()
		var back ValueType
		uerr := back.UnmarshalText(b)
		if known := v <= TypeFloat64; (uerr == nil) != known || (known && back != v) {
			t.Errorf("value type %d: %q read back as %v, %v", uint32(v), b, back, uerr)
		}
	}
}

func TestTypeTable(t *testing.T) {
	for _, tc := range []struct {
		t          TensorType
		name       string
		size, byts int
	}{
		{0, "f32", 1, 4},
		{2, "q4_0", 32, 18},
		{12, "q4_k", 256, 144},
		{14, "q6_k", 256, 210},
		{30, "bf16", 1, 2},
		{39, "mxfp4", 32, 17},
	} {
		if !tc.t.Known() || tc.t.String() != tc.name || tc.t.BlockSize() != tc.size || tc.t.BlockBytes() != tc.byts {
			t.Errorf("type %d: %v known %v, %d in %d bytes; want %s, %d in %d", uint32(tc.t), tc.t, tc.t.Known(), tc.t.BlockSize(), tc.t.BlockBytes(), tc.name, tc.size, tc.byts)
		}
	}
	for _, bad := range []TensorType{4, 5, 31, 40, 1 << 31} {
		if bad.Known() || bad.BlockSize() != 0 || bad.BlockBytes() != 0 || bad.String() != "ggml_type("+strconv.FormatUint(uint64(bad), 10)+")" {
			t.Errorf("type %d: %v known %v", uint32(bad), bad, bad.Known())
		}
		if _, err := bad.Size(32); err == nil {
			t.Errorf("type %d: Size gave no error", uint32(bad))
		}
	}
}

func TestFileTypes(t *testing.T) {
	for _, tc := range []struct {
		ft FileType
		t  TensorType
	}{{0, 0}, {1, 1}, {2, 2}, {7, 8}, {15, 12}, {17, 13}, {18, 14}, {32, 30}, {3, 3}, {8, 6}, {12, 11}, {30, 23}, {38, 39}} {
		if got, ok := tc.ft.TensorType(); !ok || got != tc.t {
			t.Errorf("FileType(%d).TensorType() = %v, %v; want %v", tc.ft, got, ok, tc.t)
		}
		if got, ok := FileTypeOf(tc.t); !ok || got != tc.ft {
			t.Errorf("FileTypeOf(%v) = %d, %v; want %d", tc.t, got, ok, tc.ft)
		}
	}
	if _, ok := FileType(9).TensorType(); ok {
		t.Error("file type 9 (q5_1, not written by Orbit) has a tensor type")
	}
	if _, ok := FileTypeOf(7); ok {
		t.Error("q5_1 has a file type")
	}
}

func FuzzParseTypes(f *testing.F) {
	for _, s := range []string{"q4_k", "F16", "uint8", "ggml_type(4)", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ty, err := ParseTensorType(s); err == nil && !strings.EqualFold(ty.String(), strings.TrimSpace(s)) {
			t.Errorf("ParseTensorType(%q) = %v", s, ty)
		}
		if v, err := ParseValueType(s); err == nil && v.String() != s {
			t.Errorf("ParseValueType(%q) = %v", s, v)
		}
	})
}
