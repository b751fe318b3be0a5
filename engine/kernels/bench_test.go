package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// benchWeights returns a rows x cols matrix of random, valid blocks (fast to
// build, unlike running the quantizers on large matrices).
func benchWeights(b *testing.B, typ DType, rows, cols int) Mat {
	b.Helper()
	rb, err := typ.RowBytes(cols)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(typ), uint64(rows)))
	data := make([]byte, rows*rb)
	for i := 0; i+8 <= len(data); i += 8 {
		v := rng.Uint64()
		for k := 0; k < 8; k++ {
			data[i+k] = byte(v >> (8 * k))
		}
	}
	scale := func(off int) { put16(data, off, F32ToF16(float32(rng.Float64()*0.01))) }
	switch typ {
	case F32:
		for i := 0; i < len(data); i += 4 {
			v := F32ToBF16(float32(rng.NormFloat64()))
			data[i], data[i+1], data[i+2], data[i+3] = 0, 0, byte(v), byte(v>>8)
		}
	case F16:
		for i := 0; i < len(data); i += 2 {
			put16(data, i, F32ToF16(float32(rng.NormFloat64())))
		}
	case BF16:
		for i := 0; i < len(data); i += 2 {
			put16(data, i, F32ToBF16(float32(rng.NormFloat64())))
		}
	case Q4_0, Q8_0, Q4_K:
		for off := 0; off < len(data); off += typ.BlockBytes() {
			scale(off)
			if typ == Q4_K {
				scale(off + 2)
			}
		}
	case Q6_K:
		for off := 0; off < len(data); off += typ.BlockBytes() {
			scale(off + 208)
		}
	case Q4_1, Q5_0, Q5_K, IQ4_XS, Q3_K:
		for off := 0; off < len(data); off += typ.BlockBytes() {
			switch typ {
			case Q3_K:
				scale(off + 108)
			case Q4_1, Q5_K:
				scale(off)
				scale(off + 2)
			default:
				scale(off)
			}
		}
	case MXFP4:
		for off := 0; off < len(data); off += typ.BlockBytes() {
			data[off] = byte(118 + rng.IntN(8))
		}
	}
	m, err := NewMat(typ, rows, cols, data)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

var benchTypes = []DType{Q8_0, Q4_0, Q4_K, Q6_K, F32, F16, BF16, Q4_1, Q5_0, MXFP4, Q3_K, Q5_K, IQ4_XS}

// BenchmarkMatVec reports the weight bytes streamed per second (MB/s) of a
// batch-1 product with a pool of GOMAXPROCS workers.
func BenchmarkMatVec(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	for _, typ := range benchTypes {
		for _, sz := range [][2]int{{2048, 2048}, {8192, 2048}} {
			rows, cols := sz[0], sz[1]
			for _, packed := range packModes(p, typ) {
				b.Run(fmt.Sprintf("%s%s/%dx%d", typ, packed, rows, cols), func(b *testing.B) {
					w := benchWeights(b, typ, rows, cols)
					if packed != "" {
						w = p.Repack(w)
					}
					x := randVec(rand.New(rand.NewPCG(1, 1)), cols)
					dst := make([]float32, rows)
					b.SetBytes(int64(len(w.Data)))
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := p.MatMul(dst, w, x, 1); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// packModes returns the benchmark name suffixes for typ: "" (block
// layout) and, where the pool repacks typ, "+packed" (Pool.Repack).
func packModes(p *Pool, typ DType) []string {
	if p.set.packedFor(typ) {
		return []string{"", "+packed"}
	}
	return []string{""}
}

// BenchmarkMatMul reports GFLOP/s (2*rows*cols*batch per product).
func BenchmarkMatMul(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	const rows, cols = 2048, 2048
	for _, typ := range benchTypes {
		for _, n := range []int{16, 64} {
			for _, packed := range packModes(p, typ) {
				b.Run(fmt.Sprintf("%s%s/%dx%d/b%d", typ, packed, rows, cols, n), func(b *testing.B) {
					w := benchWeights(b, typ, rows, cols)
					if packed != "" {
						w = p.Repack(w)
					}
					x := randVec(rand.New(rand.NewPCG(1, 1)), n*cols)
					dst := make([]float32, n*rows)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := p.MatMul(dst, w, x, n); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(2*rows*cols*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkMemcpy copies a 256 MiB buffer with 1 and 2 goroutines; MB/s is
// bytes copied per second (each byte is read once and written once). This
// is the bandwidth bound mat-vec is compared against.
func BenchmarkMemcpy(b *testing.B) {
	const size = 256 << 20
	src := make([]byte, size)
	dst := make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src)
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("g%d", g), func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				part := size / g
				for k := 0; k < g; k++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						copy(dst[k*part:(k+1)*part], src[k*part:(k+1)*part])
					}()
				}
				wg.Wait()
			}
		})
	}
}

// BenchmarkMemRead streams 256 MiB of f32 through DotF32 on 2 goroutines:
// the read-only bandwidth, which mat-vec is closest to.
func BenchmarkMemRead(b *testing.B) {
	const n = 64 << 20
	a := make([]float32, n)
	for i := range a {
		a[i] = 1
	}
	x := make([]float32, 1<<16)
	b.SetBytes(4 * n)
	p := NewPool(2)
	defer p.Close()
	for i := 0; i < b.N; i++ {
		p.Parallel(n/len(x), func(k int) { DotF32(a[k*len(x):(k+1)*len(x)], x) })
	}
}

// BenchmarkRowKernel measures one worker's integer row kernels on a
// cache-resident 16-row matrix, for every implementation (ns per row-block
// of 32 elements).
func BenchmarkRowKernel(b *testing.B) {
	for _, impl := range Available() {
		set := setFor(impl)
		for _, typ := range []DType{Q8_0, Q4_0, Q4_K, Q6_K, Q4_1, Q5_0, MXFP4, Q3_K, Q5_K, IQ4_XS} {
			b.Run(impl.String()+"/"+typ.String(), func(b *testing.B) {
				const rows, cols = 16, 2048
				w := benchWeights(b, typ, rows, cols)
				x := randVec(rand.New(rand.NewPCG(1, 1)), cols)
				c := qcol{q: make([]int8, cols), d: make([]float32, cols/32), s: make([]int32, cols/32)}
				if kQuant(typ) {
					c.d = c.d[:cols/qkK]
					quantizeActK(c, x)
				} else {
					quantizeAct(c, x)
				}
				dst := make([]float32, rows)
				fn := map[DType]qRowsFn{Q8_0: set.q8_0Rows, Q4_0: set.q4_0Rows, Q4_K: set.q4KRows, Q6_K: set.q6KRows}[typ]
				if fn == nil {
					fn = set.ext.rows(typ)
				}
				b.SetBytes(int64(len(w.Data)))
				for i := 0; i < b.N; i++ {
					fn(dst, w.Data, w.RowBytes(), c)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols/32), "ns/rowblock")
			})
			if p1, _ := set.packedKernels(typ); p1 != nil {
				b.Run(impl.String()+"/"+typ.String()+"+packed", func(b *testing.B) {
					const rows, cols = 16, 2048
					w := packForTest(benchWeights(b, typ, rows, cols))
					x := randVec(rand.New(rand.NewPCG(1, 1)), cols)
					c := qcol{q: make([]int8, cols), d: make([]float32, cols/32), s: make([]int32, cols/32)}
					nd := cols / qk
					if kQuant(typ) {
						nd = cols / qkK
						c.d = c.d[:nd]
						quantizeActK(c, x)
					} else {
						quantizeAct(c, x)
					}
					dst := make([]float32, rows)
					b.SetBytes(int64(len(w.Data)))
					for i := 0; i < b.N; i++ {
						p1(&w.Data[0], nd, &c.q[0], &c.d[0], &c.s[0], &dst[0])
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols/32), "ns/rowblock")
				})
			}
		}
	}
}

// BenchmarkTileKernel compares, on one worker and cache-resident data, 4
// columns through the row kernel against the 4x4 tile kernel (GMAC/s).
func BenchmarkTileKernel(b *testing.B) {
	for _, impl := range Available() {
		set := setFor(impl)
		for _, typ := range []DType{Q8_0, Q4_0} {
			const rows, cols, n = 32, 2048, 4
			nb := cols / qk
			for _, mode := range []string{"rows", "tile", "tile8"} {
				tile := set.tileFor(typ)
				if mode == "tile8" {
					tile = set.tile8For(typ)
				}
				if mode != "rows" && tile == nil {
					continue
				}
				b.Run(impl.String()+"/"+typ.String()+"/"+mode, func(b *testing.B) {
					w := benchWeights(b, typ, rows, cols)
					rb := w.RowBytes()
					x := randVec(rand.New(rand.NewPCG(1, 1)), n*cols)
					c := qcol{q: make([]int8, n*cols), d: make([]float32, n*nb), s: make([]int32, n*nb)}
					cb := func(k int) qcol {
						return qcol{q: c.q[k*cols : (k+1)*cols], d: c.d[k*nb : (k+1)*nb], s: c.s[k*nb : (k+1)*nb]}
					}
					for k := 0; k < n; k++ {
						quantizeAct(cb(k), x[k*cols:(k+1)*cols])
					}
					dst := make([]float32, n*rows)
					dst8 := make([]float32, 2*n*rows)
					xp := make([]byte, nb*packBytes)
					g := [4]qcol{cb(0), cb(1), cb(2), cb(3)}
					packGroup(xp, &g)
					xp8 := make([]byte, nb*max(2*packBytes, packWideBytes)) // columns 0..3 twice
					for k := 0; k < 8; k++ {
						if set.wide8(typ) {
							packColWide(xp8, k, cb(k%4))
						} else {
							packCol(xp8, 8, k, cb(k%4), packFlip(typ, 8))
						}
					}
					fn := map[DType]qRowsFn{Q8_0: set.q8_0Rows, Q4_0: set.q4_0Rows}[typ]
					for i := 0; i < b.N; i++ {
						if mode == "tile8" { // 8 columns (0..3 twice)
							for r := 0; r < rows; r += 4 {
								tile(&w.Data[r*rb], rb, &xp8[0], nb, &dst8[r], 4*rows)
							}
						} else if mode == "tile" {
							for r := 0; r < rows; r += 4 {
								tile(&w.Data[r*rb], rb, &xp[0], nb, &dst[r], 4*rows)
							}
						} else {
							for k := 0; k < n; k++ {
								fn(dst[k*rows:(k+1)*rows], w.Data, rb, cb(k))
							}
						}
					}
					macs := float64(rows * cols * n)
					if mode == "tile8" {
						macs *= 2
					}
					b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
				})
			}
		}
	}
}

// BenchmarkMatMulTiles compares batched products with and without the tile
// kernels, interleaved (GFLOP/s).
func BenchmarkMatMulTiles(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	const rows, cols, n = 2048, 2048, 64
	for _, typ := range []DType{Q8_0, Q4_0} {
		w := benchWeights(b, typ, rows, cols)
		x := randVec(rand.New(rand.NewPCG(1, 1)), n*cols)
		dst := make([]float32, n*rows)
		for _, off := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/tiles=%v", typ, !off), func(b *testing.B) {
				noTiles = off
				defer func() { noTiles = false }()
				for i := 0; i < b.N; i++ {
					if err := p.MatMul(dst, w, x, n); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*rows*cols*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkMatVecDRAM streams about 128 MiB of weights (4x the L3)
// through batch-1 products with 1 and 2 workers, cycling over 8 matrices
// so that nothing stays cached: each type repacked where the pool
// repacks it. MB/s is weight bytes per second, to compare with
// BenchmarkMemRead.
func BenchmarkMatVecDRAM(b *testing.B) {
	const mats = 8
	for _, tc := range []struct {
		typ        DType
		rows, cols int
	}{{Q8_0, 7680, 2048}, {Q4_0, 14336, 2048}, {Q4_K, 14336, 2048}, {Q5_0, 14336, 2048}, {MXFP4, 14336, 2048}} {
		x := randVec(rand.New(rand.NewPCG(1, 1)), tc.cols)
		dst := make([]float32, tc.rows)
		var ws []Mat // built once per type, on first use
		for _, workers := range []int{1, 2} {
			p := NewPool(workers)
			for _, packed := range packModes(p, tc.typ) {
				if packed == "" && p.set.packedFor(tc.typ) {
					continue
				}
				b.Run(fmt.Sprintf("%s%s/w%d", tc.typ, packed, workers), func(b *testing.B) {
					if ws == nil {
						for range mats {
							ws = append(ws, p.Repack(benchWeights(b, tc.typ, tc.rows, tc.cols)))
						}
					}
					b.SetBytes(int64(len(ws[0].Data)))
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := p.MatMul(dst, ws[i%mats], x, 1); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			p.Close()
		}
	}
}

// BenchmarkMatMulRows measures products of a 2048x8192 matrix (a
// llama-1b feed-forward projection, cache-resident) with 1 to 8 columns on
// one worker, as a server batching a few sessions' decode steps runs them:
// ns/row is the time per column, which reusing each unpacked weight block
// for every column brings well below the one-column figure.
func BenchmarkMatMulRows(b *testing.B) {
	p := NewPool(1)
	defer p.Close()
	const rows, cols = 2048, 8192
	for _, typ := range []DType{Q4_0, Q4_K, Q8_0} {
		w := p.Repack(benchWeights(b, typ, rows, cols))
		x := randVec(rand.New(rand.NewPCG(1, 1)), 8*cols)
		dst := make([]float32, 8*rows)
		for _, n := range []int{1, 2, 3, 4, 5, 8} {
			b.Run(fmt.Sprintf("%s/n%d", typ, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := p.MatMul(dst, w, x, n); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/row")
			})
		}
	}
}

// BenchmarkRepack measures Pool.Repack of an 8192x2048 matrix (MB/s of
// weights repacked: the cost it adds to loading a model).
func BenchmarkRepack(b *testing.B) {
	p := NewPool(1)
	defer p.Close()
	for _, typ := range []DType{Q8_0, Q4_0, Q4_K} {
		if !p.set.packedFor(typ) {
			continue
		}
		b.Run(typ.String(), func(b *testing.B) {
			w := benchWeights(b, typ, 8192, 2048)
			b.SetBytes(int64(len(w.Data)))
			for i := 0; i < b.N; i++ {
				p.Repack(w)
			}
		})
	}
}
