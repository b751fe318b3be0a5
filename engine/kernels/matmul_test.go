package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// randMat returns a random matrix of type t and its dequantized values.
func randMat(t testing.TB, rng *rand.Rand, typ DType, rows, cols int) (Mat, []float32) {
	t.Helper()
	vals := randVec(rng, rows*cols)
	rb, err := typ.RowBytes(cols)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, rows*rb)
	for r := 0; r < rows; r++ {
		if err := Quantize(data[r*rb:(r+1)*rb], vals[r*cols:(r+1)*cols], typ); err != nil {
			t.Fatal(err)
		}
	}
	if typ == Q8_0 && rows > 0 && cols > 0 {
		data[2] = 0x80 // an int8 -128 weight, which the quantizer never emits
	}
	m, err := NewMat(typ, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	deq := make([]float32, rows*cols)
	if err := Dequantize(deq, data, typ); err != nil {
		t.Fatal(err)
	}
	return m, deq
}

type matCase struct {
	typ              DType
	rows, cols, n    int
	wantExactFromRef bool
}

func matCases() []matCase {
	var cs []matCase
	for _, typ := range Types() {
		bs := typ.BlockSize()
		colsList := []int{bs, 3 * bs, 5 * bs}
		switch bs {
		case 1:
			colsList = []int{1, 7, 37, 100, 130, 257}
		case 32:
			colsList = append(colsList, 9*bs)
		}
		for i, cols := range colsList {
			for _, n := range []int{1, 2, 3, 7} {
				rows := []int{1, 3, 5, 13, 37}[(i+n)%5]
				cs = append(cs, matCase{typ: typ, rows: rows, cols: cols, n: n})
			}
		}
	}
	return cs
}

func TestMatMulImpls(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pools := map[Impl]*Pool{}
	for _, impl := range Available() {
		p, err := NewPoolImpl(2, impl)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools[impl] = p
	}
	for _, tc := range matCases() {
		name := fmt.Sprintf("%s/%dx%d/n%d", tc.typ, tc.rows, tc.cols, tc.n)
		w, deq := randMat(t, rng, tc.typ, tc.rows, tc.cols)
		x := randVec(rng, tc.n*tc.cols)
		// float64 reference from the dequantized weights.
		// qerr bounds the activation quantization error: |w| times half
		// an activation step of the block.
		ref := make([]float64, tc.n*tc.rows)
		mag := make([]float64, tc.n*tc.rows)
		qerr := make([]float64, tc.n*tc.rows)
		for b := 0; b < tc.n; b++ {
			for r := 0; r < tc.rows; r++ {
				var s, a, e, amax float64
				qb := 32
				if kQuant(tc.typ) {
					qb = qkK
				}
				for c := 0; c < tc.cols; c++ {
					if c%qb == 0 {
						amax = 0
						for _, v := range x[b*tc.cols+c : b*tc.cols+min(tc.cols, c+qb)] {
							amax = max(amax, math.Abs(float64(v)))
						}
					}
					wv := float64(deq[r*tc.cols+c])
					p := wv * float64(x[b*tc.cols+c])
					s += p
					a += math.Abs(p)
					e += math.Abs(wv) * amax / 254
				}
				ref[b*tc.rows+r], mag[b*tc.rows+r], qerr[b*tc.rows+r] = s, a, e
			}
		}
		results := map[Impl][]float32{}
		for _, impl := range Available() {
			dst := make([]float32, tc.n*tc.rows)
			if err := pools[impl].MatMul(dst, w, x, tc.n); err != nil {
				t.Fatalf("%s %s: %v", name, impl, err)
			}
			results[impl] = dst
		}
		// Generic against the exact reference: activation quantization
		// costs up to ~1/127 relative per block.
		for i, v := range results[Generic] {
			tol := 1e-5*mag[i] + 1e-6
			if tc.typ.Quantized() {
				tol += 1.01 * qerr[i]
			}
			if d := math.Abs(float64(v) - ref[i]); d > tol {
				t.Fatalf("%s generic[%d] = %g, reference %g (|w||x| %g)", name, i, v, ref[i], mag[i])
			}
		}
		for _, impl := range Available()[1:] {
			for i, v := range results[impl] {
				g := results[Generic][i]
				if d := math.Abs(float64(v - g)); d > 2e-6*mag[i]+1e-6 {
					t.Fatalf("%s %s[%d] = %g, generic %g (|w||x| %g)", name, impl, i, v, g, mag[i])
				}
			}
		}
	}
}

func bitsEqual(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestMatMulDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, impl := range Available() {
		p1, _ := NewPoolImpl(1, impl)
		p2, _ := NewPoolImpl(2, impl)
		p3, _ := NewPoolImpl(3, impl)
		defer p1.Close()
		defer p2.Close()
		defer p3.Close()
		for _, typ := range Types() {
			t.Run(impl.String()+"/"+typ.String(), func(t *testing.T) {
				cols := 3 * typ.BlockSize()
				if typ.BlockSize() == 1 {
					cols = 203
				}
				rows := 103
				w, _ := randMat(t, rng, typ, rows, cols)
				// 14 = a group of 8, a group of 4 and 2 single columns.
				for _, n := range []int{5, 14} {
					x := randVec(rng, n*cols)
					batched := make([]float32, n*rows)
					if err := p2.MatMul(batched, w, x, n); err != nil {
						t.Fatal(err)
					}
					single := make([]float32, n*rows)
					for b := 0; b < n; b++ {
						if err := p2.MatMul(single[b*rows:(b+1)*rows], w, x[b*cols:(b+1)*cols], 1); err != nil {
							t.Fatal(err)
						}
					}
					if i := bitsEqual(batched, single); i >= 0 {
						t.Fatalf("batch vs single differ at %d: %g vs %g", i, batched[i], single[i])
					}
					for _, p := range []*Pool{p1, p3} {
						other := make([]float32, n*rows)
						if err := p.MatMul(other, w, x, n); err != nil {
							t.Fatal(err)
						}
						if i := bitsEqual(batched, other); i >= 0 {
							t.Fatalf("Pool(%d) vs Pool(2) differ at %d", p.Workers(), i)
						}
					}
					// Row pieces: multiply sub-matrices of odd row counts.
					rb := w.RowBytes()
					pieces := make([]float32, n*rows)
					tmp := make([]float32, n*rows)
					for r0 := 0; r0 < rows; {
						r1 := min(rows, r0+1+r0%7)
						sub, err := NewMat(typ, r1-r0, cols, w.Data[r0*rb:r1*rb])
						if err != nil {
							t.Fatal(err)
						}
						if err := p3.MatMul(tmp, sub, x, n); err != nil {
							t.Fatal(err)
						}
						for b := 0; b < n; b++ {
							copy(pieces[b*rows+r0:b*rows+r1], tmp[b*(r1-r0):(b+1)*(r1-r0)])
						}
						r0 = r1
					}
					if i := bitsEqual(batched, pieces); i >= 0 {
						t.Fatalf("row pieces differ at %d", i)
					}
				}
			})
		}
	}
}

func TestMatMulConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	w, _ := randMat(t, rng, Q8_0, 64, 128)
	x := randVec(rng, 2*128)
	p := NewPool(2)
	defer p.Close()
	want := make([]float32, 128)
	if err := p.MatMul(want, w, x, 2); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, 128)
			for i := 0; i < 20; i++ {
				if err := p.MatMul(got, w, x, 2); err != nil {
					t.Error(err)
					return
				}
				if bitsEqual(got, want) >= 0 {
					t.Error("concurrent result differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMatMulAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	p := NewPool(2)
	defer p.Close()
	for _, typ := range []DType{Q8_0, Q4_0, Q4_K, F16, F32} {
		w, _ := randMat(t, rng, typ, 256, 512)
		for _, n := range []int{1, 4} {
			x := randVec(rng, n*512)
			dst := make([]float32, n*256)
			allocs := testing.AllocsPerRun(20, func() {
				if err := p.MatMul(dst, w, x, n); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s n=%d: %.1f allocations per MatMul", typ, n, allocs)
			}
		}
	}
}

func TestParallel(t *testing.T) {
	for _, workers := range []int{1, 2, 5} {
		p := NewPool(workers)
		for _, n := range []int{0, 1, 3, 100} {
			hits := make([]int32, n)
			p.Parallel(n, func(i int) { hits[i]++ })
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("workers %d n %d: index %d ran %d times", workers, n, i, h)
				}
			}
		}
		p.Close()
		p.Close()
		ran := 0
		p.Parallel(3, func(int) { ran++ })
		if ran != 3 {
			t.Fatalf("closed pool ran %d", ran)
		}
	}
}

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, impl := range Available() {
		set := setFor(impl)
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 31, 63, 64, 65, 100, 129, 1000} {
			a, b := randVec(rng, n), randVec(rng, n)
			var ref, mag float64
			for i := range a {
				ref += float64(a[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			got := set.dotF32(a, b)
			if math.Abs(float64(got)-ref) > 1e-5*mag+1e-6 {
				t.Errorf("%s dot n=%d: %g want %g", impl, n, got, ref)
			}
			if again := set.dotF32(a, b); math.Float32bits(again) != math.Float32bits(got) {
				t.Errorf("%s dot not deterministic", impl)
			}
			y := randVec(rng, n)
			want := make([]float64, n)
			for i := range y {
				want[i] = float64(y[i]) + 0.75*float64(a[i])
			}
			set.axpyF32(y, 0.75, a)
			for i := range y {
				if math.Abs(float64(y[i])-want[i]) > 1e-5*(math.Abs(want[i])+1) {
					t.Fatalf("%s axpy n=%d [%d]: %g want %g", impl, n, i, y[i], want[i])
				}
			}
		}
	}
	if got := DotF32([]float32{1, 2, 3}, []float32{4, 5}); got != 14 {
		t.Errorf("DotF32 with unequal lengths = %g", got)
	}
	y := []float32{1, 1, 1}
	AxpyF32(y, 2, []float32{1, 2})
	if y[0] != 3 || y[1] != 5 || y[2] != 1 {
		t.Errorf("AxpyF32 = %v", y)
	}
}

func TestImplNames(t *testing.T) {
	for _, impl := range Available() {
		got, err := ParseImpl(impl.String())
		if err != nil || got != impl {
			t.Errorf("ParseImpl(%q) = %v, %v", impl, got, err)
		}
	}
	t.Logf("available %v, active %v", Available(), Active())
}
