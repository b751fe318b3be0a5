package kernels

import (
	"math/rand/v2"
	"testing"
)

// smallBatchKernels lists, per implementation, the types whose repacked
// matrices must have 2- and 3-column kernels (packedSmall): a server
// batching 2 or 3 sessions' decode steps would otherwise unpack every
// block once per session.
var smallBatchKernels = map[Impl][]DType{
	AVX2:   {Q4_0, Q4_K, Q8_0},
	AVX512: {Q4_0, Q4_K, Q8_0},
}

// randBitsMat returns a rows x cols matrix of t whose blocks are random
// bits except for the fp16 scales, which are random finite values (normal,
// subnormal or zero), so that no NaN's payload depends on operand order.
func randBitsMat(rng *rand.Rand, t DType, rows, cols int) Mat {
	rb, err := t.RowBytes(cols)
	if err != nil {
		panic(err)
	}
	data := make([]byte, rows*rb)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var scales []int // offsets of the fp16 scales in a block
	switch t {
	case Q4_0, Q8_0:
		scales = []int{0}
	case Q4_K, Q5_K:
		scales = []int{0, 2}
	case Q6_K:
		scales = []int{208}
	case Q3_K:
		scales = []int{108}
	}
	for off := 0; off < len(data); off += t.BlockBytes() {
		for _, s := range scales {
			var h uint16
			switch k := rng.IntN(16); {
			case k == 0:
				h = 0
			case k == 1:
				h = uint16(1 + rng.IntN(0x3ff)) // subnormal
			default:
				h = uint16(0x0400 + rng.IntN(0x4000)) // normal, up to 2^-15..2^1
			}
			put16(data, off+s, h|uint16(rng.IntN(2))<<15)
		}
	}
	m, err := NewMat(t, rows, cols, data)
	if err != nil {
		panic(err)
	}
	return m
}

// TestCanonicalSmallBatches checks products of 1 to 9 columns, on
// matrices of random-bit blocks in block layout and repacked (whole groups
// of 16 rows and a tail), bitwise against the generic kernels for every
// implementation, and that the sets have the small-batch kernels they
// should (a missing one fails rather than falling back unseen).
func TestCanonicalSmallBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	gen, _ := NewPoolImpl(1, Generic)
	defer gen.Close()
	for _, impl := range Available() {
		set := setFor(impl)
		for _, typ := range smallBatchKernels[impl] {
			if !set.packedFor(typ) {
				t.Errorf("%s: no kernels for repacked %s", impl, typ)
			}
			if p2, p3 := set.packedSmall(typ); p2 == nil || p3 == nil {
				t.Errorf("%s: no 2- or 3-column kernels for repacked %s", impl, typ)
			}
		}
		p, _ := NewPoolImpl(2, impl)
		defer p.Close()
		for _, typ := range []DType{Q4_0, Q4_K, Q8_0} {
			bs := typ.BlockSize()
			for _, cols := range []int{bs, 3 * bs, 8 * bs, 19 * bs} {
				for _, rows := range []int{16, 37, 63} {
					w := randBitsMat(rng, typ, rows, cols)
					pw := p.Repack(w)
					if !pw.Repacked() && packPieces(typ) != nil {
						pw = packForTest(w)
					}
					for n := 1; n <= 9; n++ {
						x := randVec(rng, n*cols)
						want := make([]float32, n*rows)
						if err := gen.MatMul(want, w, x, n); err != nil {
							t.Fatal(err)
						}
						for _, m := range []Mat{w, pw} {
							got := make([]float32, n*rows)
							if err := p.MatMul(got, m, x, n); err != nil {
								t.Fatal(err)
							}
							if i := bitsEqual(got, want); i >= 0 {
								t.Errorf("%s %s %dx%d n%d repacked=%v: [%d] = %g, generic %g",
									impl, typ, rows, cols, n, m.Repacked(), i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestPackedSmallKernels calls every 2- and 3-column kernel of repacked
// matrices directly, with an output stride unlike the pool's, bitwise
// against the 1-column kernel column by column.
func TestPackedSmallKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, impl := range Available() {
		set := setFor(impl)
		for _, typ := range []DType{Q4_0, Q4_K, Q8_0, Q6_K, Q5_K, Q3_K} {
			p1, _ := set.packedKernels(typ)
			p2, p3 := set.packedSmall(typ)
			if p1 == nil {
				continue
			}
			bs := typ.BlockSize()
			for _, nbk := range []int{1, 7, 8, 19} {
				cols := nbk * bs
				w := packForTest(randBitsMat(rng, typ, packRows, cols))
				nb, nd := cols/qk, cols/qk
				if kQuant(typ) {
					nd = cols / qkK
				}
				const ncol = 3
				c := qcol{q: make([]int8, ncol*cols), d: make([]float32, ncol*nd), s: make([]int32, ncol*nb)}
				x := randVec(rng, ncol*cols)
				for b := 0; b < ncol; b++ {
					cb := qcol{q: c.q[b*cols : (b+1)*cols], d: c.d[b*nd : (b+1)*nd], s: c.s[b*nb : (b+1)*nb]}
					if kQuant(typ) {
						quantizeActK(cb, x[b*cols:(b+1)*cols])
						if typ == Q6_K {
							q6KPairSums(cb)
						}
					} else {
						quantizeAct(cb, x[b*cols:(b+1)*cols])
					}
				}
				want := make([]float32, ncol*packRows)
				for b := 0; b < ncol; b++ {
					p1(&w.Data[0], nd, &c.q[b*cols], &c.d[b*nd], &c.s[b*nb], &want[b*packRows])
				}
				for k, pk := range map[int]pColsFn{2: p2, 3: p3} {
					if pk == nil {
						continue
					}
					const ostride = 24 // floats between the columns' outputs
					got := make([]float32, ncol*ostride)
					for i := range got {
						got[i] = float32(i) // overwritten, not added to
					}
					pk(&w.Data[0], nd, &c.q[0], &c.d[0], &c.s[0], cols, &got[0], 4*ostride)
					for b := 0; b < k; b++ {
						if i := bitsEqual(got[b*ostride:b*ostride+packRows], want[b*packRows:(b+1)*packRows]); i >= 0 {
							t.Errorf("%s %s %d blocks, %d columns: column %d row %d = %g, 1-column kernel %g",
								impl, typ, nbk, k, b, i, got[b*ostride+i], want[b*packRows+i])
						}
					}
					for i := range got {
						if i%ostride >= packRows || i/ostride >= k {
							if got[i] != float32(i) {
								t.Errorf("%s %s %d columns: wrote [%d], outside the columns' results", impl, typ, k, i)
								break
							}
						}
					}
				}
			}
		}
	}
}
