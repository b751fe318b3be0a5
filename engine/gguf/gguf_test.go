package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const sharedModels = "../../../shared/models"

func sampleWriter(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter()
	w.Set("general.architecture", String("llama"))
	w.Set("u8", Uint8(7))
	w.Set("i8", Int8(-7))
	w.Set("u16", Uint16(65535))
	w.Set("i16", Int16(-300))
	w.Set("u32", Uint32(1<<31))
	w.Set("i32", Int32(-5))
	w.Set("f32", Float32(1.5))
	w.Set("b", Bool(true))
	w.Set("u64", Uint64(1<<40))
	w.Set("i64", Int64(-1<<40))
	w.Set("f64", Float64(-2.25))
	w.Set("strs", MustArray([]string{"a", "", "▁b"}))
	w.Set("f32s", MustArray([]float32{1, -2, 3.5}))
	w.Set("i32s", MustArray([]int32{1, 2, 3}))
	w.Set("nested", MustArray([]Value{MustArray([]uint8{1, 2}), MustArray([]uint8{3})}))
	w.AddTensor("a", 0, []uint64{3, 2}, make([]byte, 24))
	data := make([]byte, 34*2)
	for i := range data {
		data[i] = byte(i)
	}
	w.AddTensor("q", 8, []uint64{64}, data)
	return w
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sampleWriter(t).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || len(f.KV) != 16 || len(f.Tensors) != 2 {
		t.Fatalf("got version %d, %d kv, %d tensors", f.Version, len(f.KV), len(f.Tensors))
	}
	tests := []struct {
		key  string
		want any
	}{
		{"general.architecture", "llama"}, {"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(65535)},
		{"i16", int16(-300)}, {"u32", uint32(1 << 31)}, {"i32", int32(-5)}, {"f32", float32(1.5)},
		{"b", true}, {"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)}, {"f64", -2.25},
		{"strs", []string{"a", "", "▁b"}}, {"f32s", []float32{1, -2, 3.5}}, {"i32s", []int32{1, 2, 3}},
	}
	for _, tc := range tests {
		v, ok := f.Get(tc.key)
		if !ok || !reflect.DeepEqual(v.Any(), tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.key, v.Any(), tc.want)
		}
	}
	nested, _ := f.Get("nested")
	if nested.ArrayType != TypeArray || nested.Len() != 2 {
		t.Errorf("nested array: %+v", nested)
	}
	q, ok := f.Tensor("q")
	if !ok || q.Offset%32 != 0 || q.Size != 68 || f.TensorData(q)[5] != 5 {
		t.Fatalf("tensor q: %+v", q)
	}
	// Writing the parsed file again gives the same bytes.
	w := NewWriter()
	w.CopyFrom(f)
	var again bytes.Buffer
	if _, err := w.WriteTo(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Fatal("rewrite differs from original")
	}
}

func TestOpenSharedModel(t *testing.T) {
	path := filepath.Join(sharedModels, "aidreams260K.gguf")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arch, err := f.String("general.architecture")
	if err != nil || arch != "llama" {
		t.Fatalf("architecture %q, %v", arch, err)
	}
	n, err := f.Int("llama.block_count")
	if err != nil || n != 4 {
		t.Fatalf("block_count %d, %v", n, err)
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || !reflect.DeepEqual(emb.Dims, []uint64{64, 512}) {
		t.Fatalf("token_embd: %+v", emb)
	}
	// The file is reproduced byte for byte by the writer.
	w := NewWriter()
	w.CopyFrom(f)
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(path)
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Fatal("rewritten aidreams260K.gguf differs from the original")
	}
}

func TestMalformed(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sampleWriter(t).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	mod := func(off int, b ...byte) []byte {
		c := append([]byte(nil), good...)
		copy(c[off:], b)
		return c
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", mod(0, 'G', 'G', 'U', 'X')},
		{"version 1", mod(4, 1, 0, 0, 0)},
		{"version 9", mod(4, 9, 0, 0, 0)},
		{"huge tensor count", mod(8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)},
		{"huge kv count", mod(16, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)},
		{"huge key length", mod(24, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0)},
		{"truncated header", good[:30]},
		{"truncated data", good[:len(good)-1]},
	}
	for i := 0; i < len(good)-1; i += 7 {
		tests = append(tests, struct {
			name string
			data []byte
		}{"prefix", good[:i]})
	}
	for _, tc := range tests {
		_, err := Parse(tc.data)
		if err == nil {
			t.Errorf("%s (%d bytes): no error", tc.name, len(tc.data))
			continue
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", tc.name, err)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	w.AddTensor("x", 8, []uint64{33}, make([]byte, 34))
	if _, err := w.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("q8_0 tensor of 33 elements accepted")
	}
	w = NewWriter()
	w.AddTensor("x", 0, []uint64{4}, make([]byte, 15))
	if _, err := w.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("wrong data size accepted")
	}
	w = NewWriter()
	w.AddTensor("x", 0, []uint64{1}, make([]byte, 4))
	w.AddTensor("x", 0, []uint64{1}, make([]byte, 4))
	if _, err := w.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("duplicate tensor accepted")
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	if _, err := sampleWriter(f).WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	if b, err := os.ReadFile(filepath.Join(sharedModels, "aidreams260K.gguf")); err == nil {
		f.Add(b[:4096])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, herr := ParseHeader(data)
		g, err := Parse(data)
		if err == nil && (herr != nil || h.DataStart != g.DataStart || len(h.Tensors) != len(g.Tensors)) {
			t.Fatalf("Parse takes what ParseHeader reads differently: %v", herr)
		}
		if err != nil {
			return
		}
		for i := range g.Tensors {
			_ = g.TensorData(&g.Tensors[i])
		}
	})
}
