package weights

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
)

func TestMetadataRoundTrip(t *testing.T) {
	inner := gguf.MustArray([]int16{-1, 2})
	tests := []struct {
		name string
		v    gguf.Value
	}{
		{"uint8", gguf.Uint8(200)},
		{"int8", gguf.Int8(-100)},
		{"uint16", gguf.Uint16(60000)},
		{"int16", gguf.Int16(-30000)},
		{"uint32", gguf.Uint32(4e9)},
		{"int32", gguf.Int32(-2e9)},
		{"float32 nan payload", gguf.Float32(math.Float32frombits(0x7fa00001))},
		{"bool", gguf.Bool(true)},
		{"string", gguf.String("héllo\x00\xff")},
		{"uint64", gguf.Uint64(math.MaxUint64)},
		{"int64", gguf.Int64(math.MinInt64)},
		{"float64", gguf.Float64(-0.0)},
		{"bytes", gguf.MustArray([]uint8{0, 1, 255})},
		{"int8s", gguf.MustArray([]int8{-1, 1})},
		{"uint16s", gguf.MustArray([]uint16{1, 65535})},
		{"int16s", gguf.MustArray([]int16{-2})},
		{"uint32s", gguf.MustArray([]uint32{7})},
		{"int32s", gguf.MustArray([]int32{-7, 3})},
		{"float32s", gguf.MustArray([]float32{1.5, -2})},
		{"bools", gguf.MustArray([]bool{true, false})},
		{"strings", gguf.MustArray([]string{"a", "", "\xfe"})},
		{"uint64s", gguf.MustArray([]uint64{1 << 63})},
		{"int64s", gguf.MustArray([]int64{-1})},
		{"float64s", gguf.MustArray([]float64{math.Inf(1)})},
		{"empty", gguf.MustArray([]string{})},
		{"nested", gguf.MustArray([]gguf.Value{inner, inner})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kvs := []gguf.KV{{Key: "k." + tc.name, Value: tc.v}}
			b, err := encodeMetadata(kvs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeMetadata(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Key != kvs[0].Key || got[0].Value.Type != tc.v.Type || got[0].Value.ArrayType != tc.v.ArrayType {
				t.Fatalf("got %+v, want %+v", got, kvs)
			}
			// Compare through the GGUF encoding, which is what export writes.
			if !reflect.DeepEqual(ggufBytes(t, got), ggufBytes(t, kvs)) {
				t.Fatalf("value %v came back as %v", tc.v.Any(), got[0].Value.Any())
			}
		})
	}
}

func ggufBytes(t *testing.T, kvs []gguf.KV) []byte {
	w := gguf.NewWriter()
	for _, kv := range kvs {
		w.Set(kv.Key, kv.Value)
	}
	var out bytesBuffer
	if _, err := w.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	return out.b
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// seedBlocks imports the shared model and returns its root manifest, a
// layer manifest and the metadata encoding, as fuzz seeds.
func seedBlocks(f *testing.F) (root, layer, meta []byte) {
	s, err := Open(f.TempDir(), quiet)
	if err != nil {
		f.Fatal(err)
	}
	g, err := gguf.Open(modelPath)
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	rc, err := s.Import(ctx, g, ImportOptions{})
	if err != nil {
		f.Fatal(err)
	}
	root, _ = s.GetBlock(ctx, rc)
	m, err := DecodeManifest(root)
	if err != nil {
		f.Fatal(err)
	}
	layer, _ = s.GetBlock(ctx, m.Layers[0].CID)
	meta, _ = encodeMetadata(g.KV)
	return root, layer, meta
}

func FuzzDecodeManifest(f *testing.F) {
	root, layer, _ := seedBlocks(f)
	f.Add(root)
	f.Add(layer)
	f.Add([]byte{0x08, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		// What decodes must encode and decode to the same thing.
		enc, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeManifest(enc); err != nil {
			t.Fatalf("re-decoding a decoded manifest: %v", err)
		}
		for i := range m.Tensors {
			if uint64(len(m.Tensors[i].Chunks)) != ceilDiv(m.Tensors[i].Size, uint64(m.ChunkSize)) {
				t.Fatal("chunk count does not match the size")
			}
		}
	})
}

func FuzzDecodeLayer(f *testing.F) {
	_, layer, _ := seedBlocks(f)
	f.Add(layer)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLayer(b)
		if err != nil {
			return
		}
		if _, err := l.Encode(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeMetadata(f *testing.F) {
	_, _, meta := seedBlocks(f)
	f.Add(meta)
	small, _ := encodeMetadata([]gguf.KV{{Key: "a", Value: gguf.MustArray([]gguf.Value{gguf.MustArray([]bool{true})})}})
	f.Add(small)
	f.Fuzz(func(t *testing.T, b []byte) {
		kvs, err := DecodeMetadata(b)
		if err != nil {
			return
		}
		// Whatever decodes can be written as GGUF metadata.
		if _, err := encodeMetadata(kvs); err != nil {
			t.Fatal(err)
		}
		w := gguf.NewWriter()
		for _, kv := range kvs {
			if kv.Key == gguf.KeyAlignment {
				continue
			}
			w.Set(kv.Key, kv.Value)
		}
		if _, err := w.WriteTo(&bytesBuffer{}); err != nil {
			t.Fatal(err)
		}
	})
}
