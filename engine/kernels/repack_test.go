package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// packForTest repacks w whatever the kernel sets support (Pool.Repack
// only repacks for a set with kernels for the layout).
func packForTest(w Mat) Mat {
	rb := w.RowBytes()
	out := w
	out.Data = make([]byte, len(w.Data))
	out.packed = true
	g16 := w.Rows &^ (packRows - 1)
	packData(out.Data[:g16*rb], w.Data[:g16*rb], w.Type, rb)
	copy(out.Data[g16*rb:], w.Data[g16*rb:])
	return out
}

// TestRepackLayout checks that a repacked matrix keeps its size and gives
// back every row, and that unpacking a group inverts packing.
func TestRepackLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q6_K, Q4_1, Q5_0, MXFP4, IQ4_XS} {
		for _, sz := range [][2]int{{16, 2}, {21, 2}, {48, 2}, {16, 8}, {32, 19}} {
			rows := sz[0]
			w, _ := randMat(t, rng, typ, rows, sz[1]*typ.BlockSize())
			pw := packForTest(w)
			if len(pw.Data) != len(w.Data) || !pw.Repacked() || w.Repacked() {
				t.Fatalf("%s: %d bytes repacked, %d before", typ, len(pw.Data), len(w.Data))
			}
			want, got := make([]float32, w.Cols), make([]float32, w.Cols)
			for r := 0; r < rows; r++ {
				if !bytes.Equal(pw.Row(r), w.Row(r)) {
					t.Fatalf("%s %d rows: row %d differs", typ, rows, r)
				}
				if err := Dequantize(want, w.Row(r), typ); err != nil {
					t.Fatal(err)
				}
				if err := pw.DequantizeRow(got, r); err != nil {
					t.Fatal(err)
				}
				if i := bitsEqual(got, want); i >= 0 {
					t.Fatalf("%s %d rows: DequantizeRow(%d)[%d] = %g, want %g", typ, rows, r, i, got[i], want[i])
				}
			}
			if typ == Q8_0 || typ == Q4_0 || typ == Q4_K || typ == Q6_K {
				if a := testing.AllocsPerRun(10, func() { _ = pw.DequantizeRow(got, 0) }); a > 0 {
					t.Errorf("%s: DequantizeRow of a repacked row allocates %v times", typ, a)
				}
			}
			rb := w.RowBytes()
			buf := make([]byte, packRows*rb)
			unpackGroup(buf, pw.Data[:packRows*rb], typ, rb)
			if !bytes.Equal(buf, w.Data[:packRows*rb]) {
				t.Fatalf("%s: unpackGroup is not the inverse of packData", typ)
			}
		}
	}
}

// TestCanonicalRepacked checks products with repacked matrices bitwise
// against the generic kernels on the original ones, for every
// implementation (those without kernels for the layout unpack it), batch
// and a last partial group.
func TestCanonicalRepacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	for _, impl := range Available() {
		p, _ := NewPoolImpl(2, impl)
		defer p.Close()
		for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q6_K, Q4_1, Q5_0, MXFP4, IQ4_XS} {
			if r := p.Repack(Mat{Type: typ, Rows: 16, Cols: typ.BlockSize(), Data: make([]byte, 16*typ.BlockBytes())}); r.Repacked() != p.set.packedFor(typ) {
				t.Errorf("%s %s: Repack gave repacked=%v", impl, typ, r.Repacked())
			}
			if typ == Q6_K {
				requirePackedSmall(t, impl, typ) // n = 2, 3, 5, 7 go through them
			}
			bs := typ.BlockSize()
			for _, cols := range []int{bs, 3 * bs, 8 * bs, 19 * bs} {
				for _, rows := range []int{16, 37, 64} {
					for n := 1; n <= 9; n++ {
						t.Run(fmt.Sprintf("%s/%s/%dx%d/n%d", impl, typ, rows, cols, n), func(t *testing.T) {
							w, _ := randMat(t, rng, typ, rows, cols)
							if typ == Q4_0 {
								clear(w.Data[2:q4_0Bytes]) // a zero block
							}
							pw := p.Repack(w)
							if !pw.Repacked() {
								pw = packForTest(w)
							}
							x := randVec(rng, n*cols)
							want := make([]float32, n*rows)
							got := make([]float32, n*rows)
							if err := gen.MatMul(want, w, x, n); err != nil {
								t.Fatal(err)
							}
							if err := p.MatMul(got, pw, x, n); err != nil {
								t.Fatal(err)
							}
							if i := bitsEqual(got, want); i >= 0 {
								t.Fatalf("[%d] = %g, generic %g", i, got[i], want[i])
							}
							// Gate and up, one repacked and one not.
							hb, up := make([]float32, n*rows), make([]float32, n*rows)
							wantUp := make([]float32, n*rows)
							if err := gen.MatMul(wantUp, w, x, n); err != nil {
								t.Fatal(err)
							}
							siluMul(want, wantUp)
							if err := p.MatMulGLU(hb, pw, up, w, x, n); err != nil {
								t.Fatal(err)
							}
							if i := bitsEqual(hb, want); i >= 0 {
								t.Fatalf("glu [%d] = %g, generic %g", i, hb[i], want[i])
							}
						})
					}
				}
			}
		}
	}
}

// TestCanonicalRepackedExtremes checks the repacked kernels bitwise
// against the generic ones on raw weight bytes (every scale and min bit
// pattern, all-15 nibbles, all-0x80 bytes) and activations at the int8
// limits (every sub-block's int16 partial sums at their largest), where
// an exact sum that overflowed a narrow lane would show.
func TestCanonicalRepackedExtremes(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	half := func() uint16 { return uint16(0x1000+rng.IntN(0x3000)) | uint16(rng.IntN(2))<<15 }
	for _, impl := range Available() {
		p, _ := NewPoolImpl(2, impl)
		defer p.Close()
		for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q6_K, Q4_1, Q5_0, MXFP4, IQ4_XS} {
			const rows = 32
			cols := 2 * max(typ.BlockSize(), 256)
			rb := typ.BlockBytes() * cols / typ.BlockSize()
			for _, wmode := range []string{"random", "ones", "min"} {
				data := make([]byte, rows*rb)
				for i := range data {
					data[i] = byte(rng.Uint32())
					switch wmode {
					case "ones":
						data[i] = 0xff
					case "min": // q8_0's -128: |w|*|x| pairs at their largest
						data[i] = 0x80
					}
				}
				halves := []int{0} // offsets of the fp16 scales in a block
				switch typ {
				case Q4_K, Q4_1:
					halves = []int{0, 2}
				case MXFP4:
					halves = nil // every E8M0 exponent is a valid scale
				case Q6_K:
					halves = []int{208}
				}
				for off := 0; off < len(data); off += typ.BlockBytes() {
					for _, h := range halves {
						binary.LittleEndian.PutUint16(data[off+h:], half())
					}
					if typ == Q6_K && wmode == "ones" {
						for g := 0; g < 16; g++ { // the int8 scales' extremes
							data[off+192+g] = byte(0x7f + g%2)
						}
					}
				}
				w, err := NewMat(typ, rows, cols, data)
				if err != nil {
					t.Fatal(err)
				}
				pw := p.Repack(w)
				if !pw.Repacked() {
					pw = packForTest(w)
				}
				for _, xmode := range []string{"plus", "minus", "alternate", "random"} {
					for _, n := range []int{2, 3, 5, 7} { // every column kernel and tail
						x := make([]float32, n*cols)
						for i := range x {
							switch xmode {
							case "plus":
								x[i] = 3
							case "minus":
								x[i] = -3
							case "alternate":
								x[i] = float32(1 - 2*(i/32%2))
							default:
								x[i] = float32(rng.NormFloat64())
							}
						}
						want := make([]float32, n*rows)
						got := make([]float32, n*rows)
						if err := gen.MatMul(want, w, x, n); err != nil {
							t.Fatal(err)
						}
						if err := p.MatMul(got, pw, x, n); err != nil {
							t.Fatal(err)
						}
						if i := bitsEqual(got, want); i >= 0 {
							t.Errorf("%s %s %s/%s n%d: [%d] = %g, generic %g", impl, typ, wmode, xmode, n, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
