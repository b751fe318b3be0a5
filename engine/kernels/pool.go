package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a persistent set of worker goroutines used for the heavy
// operations. The goroutine calling MatMul or Parallel takes part as one of
// the workers. Jobs on one Pool are serialized by a mutex, so concurrent
// calls are safe (but fn passed to Parallel must not call back into the same
// Pool). Close releases the goroutines.
type Pool struct {
	mu      sync.Mutex // serializes jobs and Close
	n       int
	set     *kernelSet
	helpers []*helper // n-1 helper goroutines
	closed  bool
	quit    atomic.Bool // set once by Close, before the last publish

	// claim is gen<<32 | index of the next unclaimed chunk. A job is
	// published by storing a new gen with index 0, and retired, once all
	// its chunks are done, by storing another new gen with index
	// idleIndex, so a chunk can only be claimed (CAS) while its job is
	// live and its fields are stable. The caller waits for the chunks to
	// be done, never for helpers that did not claim any.
	claim   atomic.Uint64
	gen     uint64       // last gen used (under mu)
	nchunks atomic.Int64 // chunks of the current job
	done    atomic.Int64 // chunks of the current job finished
	waiting atomic.Bool  // the caller sleeps on doneCh
	doneCh  chan struct{}

	// Current job, written under mu before it is published. A product
	// job computes nprod products sharing x (same type and columns; w is
	// the first one's matrix, for the type and the columns). With glu the
	// two products are gate and up of the same shape, and each chunk
	// covers the same rows of both and finishes them with SiLU(gate)*up.
	kind  jobKind
	fn    func(int)
	w     Mat
	prods [maxProds]prod
	nprod int
	glu   bool
	x     []float32
	batch int

	// Scratch for quantized activations, grown as needed and reused.
	aq []int8
	ad []float32
	as []int32
	xp []byte // packed column groups for the tile kernels (batches only)
	// Tile plan of the current job: columns [0, 8*g8) in groups of 8 (4x8
	// tiles), then g4 (0 or 1) group of 4 (4x4 tiles); tiles reports
	// whether any tile kernel is used.
	tiles  bool
	g8, g4 int
}

// noTiles disables the tile kernels (benchmarks compare with and without).
var noTiles bool

// noTiles8 disables only the 4x8 tile kernels (tests and benchmarks).
var noTiles8 bool

type jobKind uint8

// maxProds is the most products one MatMulShared job computes.
const maxProds = 3

// prod is one product of a job: dst (batch x w.Rows) = w . x.
type prod struct {
	dst       []float32
	w         Mat
	rb        int // bytes per row
	chunkRows int
	first     int // index of its first chunk
}

// Product names one product for MatMulShared: Dst = W . x.
type Product struct {
	Dst []float32
	W   Mat
}

const (
	jobParallel jobKind = iota
	jobQuant
	jobMat
)

// NewPool starts a pool of n workers (n <= 0: GOMAXPROCS) using the
// implementation selected at init.
func NewPool(n int) *Pool {
	return newPool(n, active)
}

// NewPoolImpl is NewPool with an explicit kernel implementation, for tests
// and benchmarks. It fails if the CPU does not support impl.
func NewPoolImpl(n int, impl Impl) (*Pool, error) {
	set := setFor(impl)
	if set == nil {
		return nil, fmt.Errorf("kernels: implementation %s not supported on this CPU", impl)
	}
	return newPool(n, set), nil
}

func newPool(n int, set *kernelSet) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{n: n, set: set, helpers: make([]*helper, n-1), doneCh: make(chan struct{}, 1)}
	for i := range p.helpers {
		h := &helper{wake: make(chan struct{}, 1)}
		p.helpers[i] = h
		go p.helperLoop(h)
	}
	return p
}

// helper is one helper goroutine's wake-up state. A helper spins for a
// short while after each job (decode issues products back to back, and
// waking a parked thread costs tens of microseconds), then parks on wake.
type helper struct {
	sleeping atomic.Bool
	wake     chan struct{}
}

// spinIters bounds the busy-wait of an idle helper (roughly 50-100 µs).
const spinIters = 1 << 16

func (p *Pool) helperLoop(h *helper) {
	var seen uint64
	for {
		e := p.claim.Load() >> 32
		for i := 0; e == seen && i < spinIters; i++ {
			e = p.claim.Load() >> 32
		}
		if e == seen {
			h.sleeping.Store(true)
			if e = p.claim.Load() >> 32; e != seen && h.sleeping.CompareAndSwap(true, false) {
				// A job arrived before anyone saw us sleeping.
			} else {
				<-h.wake
				e = p.claim.Load() >> 32
			}
		}
		seen = e
		if p.quit.Load() {
			return
		}
		p.work(e)
	}
}

// Workers returns the number of workers (including the calling goroutine).
func (p *Pool) Workers() int { return p.n }

// Impl returns the kernel implementation the pool uses.
func (p *Pool) Impl() Impl { return p.set.impl }

// Close stops the helper goroutines. It waits for a running job. After
// Close, MatMul returns ErrClosed and Parallel runs on the caller alone.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.quit.Store(true) // never reset: later jobs run on the caller alone
	p.publish(idleIndex, true)
}

// idleIndex is the claim index of a retired job (above any chunk count).
const idleIndex = 1 << 31

// publish stores a new generation with chunk index idx and wakes the
// sleeping helpers if wake is set. p.mu must be held.
func (p *Pool) publish(idx uint64, wake bool) uint64 {
	p.gen++
	p.claim.Store(p.gen<<32 | idx)
	if wake {
		for _, h := range p.helpers {
			if h.sleeping.CompareAndSwap(true, false) {
				h.wake <- struct{}{}
			}
		}
	}
	return p.gen
}

// run executes the job described by the pool's fields over nchunks chunks.
// p.mu must be held.
func (p *Pool) run(kind jobKind, nchunks int) {
	p.kind = kind
	if p.closed || nchunks == 1 || len(p.helpers) == 0 || nchunks >= idleIndex {
		for c := 0; c < nchunks; c++ {
			p.chunk(c)
		}
		return
	}
	p.nchunks.Store(int64(nchunks))
	p.done.Store(0)
	g := p.publish(0, true)
	p.work(g)
	if p.done.Load() != int64(nchunks) {
		p.wait(int64(nchunks))
	}
	p.publish(idleIndex, false) // retire: stale claims now fail
}

// work claims and runs chunks of job generation g until none is left.
func (p *Pool) work(g uint64) {
	for {
		v := p.claim.Load()
		if v>>32 != g {
			return
		}
		n := p.nchunks.Load() // only trusted once the CAS succeeds
		c := int64(v & (1<<32 - 1))
		if c >= n {
			return
		}
		if !p.claim.CompareAndSwap(v, v+1) {
			continue
		}
		// Job g is live until this chunk is done: n and the job
		// fields are its own.
		p.chunk(int(c))
		if p.done.Add(1) == n && p.waiting.CompareAndSwap(true, false) {
			p.doneCh <- struct{}{}
		}
	}
}

// wait returns when n chunks are done: it spins for a while (the helpers
// are running their last chunks), then sleeps.
func (p *Pool) wait(n int64) {
	for i := 0; i < spinIters; i++ {
		if p.done.Load() == n {
			return
		}
	}
	p.waiting.Store(true)
	if p.done.Load() == n && p.waiting.CompareAndSwap(true, false) {
		return
	}
	<-p.doneCh
}

func (p *Pool) chunk(c int) {
	switch p.kind {
	case jobParallel:
		p.fn(c)
	case jobQuant:
		p.quantCol(c)
	case jobMat:
		p.matChunk(c)
	}
}

// Parallel runs fn(i) for every i in [0, n) across the pool's workers and
// returns when all calls have returned. fn must not use the same Pool.
func (p *Pool) Parallel(n int, fn func(i int)) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn = fn
	p.run(jobParallel, n)
	p.fn = nil
}

// MatMul computes, for b in [0, n) and r in [0, w.Rows),
//
//	dst[b*w.Rows + r] = dot(row r of w, x[b*w.Cols : (b+1)*w.Cols])
//
// For the integer types the activations are quantized to int8 first (one
// scale per 32 values, per 256 for the k-quants). Each output element is computed by one fixed-order reduction over
// its row, so results are bitwise independent of n, the number of workers
// and the row split.
func (p *Pool) MatMul(dst []float32, w Mat, x []float32, n int) error {
	if err := checkProduct(dst, w, x, n); err != nil {
		return err
	}
	if n == 0 || w.Rows == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("kernels: matmul: %w", ErrClosed)
	}
	p.prods[0] = prod{dst: dst, w: w}
	p.runProducts(x, n, 1, false)
	return nil
}

func checkProduct(dst []float32, w Mat, x []float32, n int) error {
	if _, err := w.size(); err != nil {
		return fmt.Errorf("kernels: matmul: %w", err)
	}
	if n < 0 {
		return fmt.Errorf("kernels: matmul: negative batch %d: %w", n, ErrShape)
	}
	if n > 0 && (w.Cols > len(x)/n || w.Rows > len(dst)/n) {
		return fmt.Errorf("kernels: matmul %dx%d by batch %d: x has %d, dst %d elements: %w",
			w.Rows, w.Cols, n, len(x), len(dst), ErrShortBuffer)
	}
	return nil
}

// MatMulShared computes several products of the same activations x
// (n columns), each as MatMul(pr.Dst, pr.W, x, n) would, bitwise. Products
// of one type and column count share one quantization of x and one
// dispatch to the workers. At most 3 products.
func (p *Pool) MatMulShared(x []float32, n int, prods ...Product) error {
	if len(prods) > maxProds {
		return fmt.Errorf("kernels: matmul: %d products, at most %d: %w", len(prods), maxProds, ErrShape)
	}
	for _, pr := range prods {
		if err := checkProduct(pr.Dst, pr.W, x, n); err != nil {
			return err
		}
	}
	if n == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("kernels: matmul: %w", ErrClosed)
	}
	k := 0
	for _, pr := range prods {
		if pr.W.Rows == 0 {
			continue
		}
		if k > 0 && (pr.W.Type != p.prods[0].w.Type || pr.W.Cols != p.prods[0].w.Cols) {
			// Different quantization: run the group so far, start anew.
			p.runProducts(x, n, k, false)
			k = 0
		}
		p.prods[k] = prod{dst: pr.Dst, w: pr.W}
		k++
	}
	if k > 0 {
		p.runProducts(x, n, k, false)
	}
	return nil
}

// MatMulGLU computes hb = SiLU(wGate . x) * (wUp . x) for n columns of x,
// bitwise as two MatMul calls followed by
//
//	hb[i] = SiLUMul(g[i], u[i])
//
// up receives wUp . x. wGate and wUp must have the same shape; if their
// types differ the two products run as separate jobs.
func (p *Pool) MatMulGLU(hb []float32, wGate Mat, up []float32, wUp Mat, x []float32, n int) error {
	if err := checkProduct(hb, wGate, x, n); err != nil {
		return err
	}
	if err := checkProduct(up, wUp, x, n); err != nil {
		return err
	}
	if wGate.Rows != wUp.Rows || wGate.Cols != wUp.Cols {
		return fmt.Errorf("kernels: glu: gate %dx%d and up %dx%d differ: %w",
			wGate.Rows, wGate.Cols, wUp.Rows, wUp.Cols, ErrShape)
	}
	if n == 0 || wGate.Rows == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("kernels: matmul: %w", ErrClosed)
	}
	if wGate.Type != wUp.Type {
		p.prods[0] = prod{dst: hb, w: wGate}
		p.runProducts(x, n, 1, false)
		p.prods[0] = prod{dst: up, w: wUp}
		p.runProducts(x, n, 1, false)
		m := n * wGate.Rows
		p.set.siluMul(hb[:m], up[:m])
		return nil
	}
	p.prods[0] = prod{dst: hb, w: wGate}
	p.prods[1] = prod{dst: up, w: wUp}
	p.runProducts(x, n, 2, true)
	return nil
}

// runProducts runs p.prods[:k] (dst and w set; same type and columns,
// rows > 0) over x. p.mu must be held.
func (p *Pool) runProducts(x []float32, n, k int, glu bool) {
	w := p.prods[0].w
	p.w = w
	p.x = x[:n*w.Cols]
	p.batch = n
	p.nprod, p.glu = k, glu
	p.planTiles()
	if w.Type.Quantized() && w.Cols > 0 {
		p.growScratch(n * w.Cols)
		if n == 1 {
			p.quantCol(0)
		} else {
			p.run(jobQuant, n)
		}
	}
	chunks := 0
	for i := 0; i < k; i++ {
		pr := &p.prods[i]
		pr.dst = pr.dst[:n*pr.w.Rows]
		pr.rb = pr.w.RowBytes()
		pr.chunkRows = p.pickChunk(pr.w.Rows, n, pr.rb)
		if pr.w.packed {
			pr.chunkRows = (pr.chunkRows + packRows - 1) &^ (packRows - 1)
		}
		pr.first = chunks
		if !glu || i == 0 {
			chunks += (pr.w.Rows + pr.chunkRows - 1) / pr.chunkRows
		}
	}
	p.run(jobMat, chunks)
	p.x, p.w.Data = nil, nil
	for i := range p.prods[:k] {
		p.prods[i] = prod{}
	}
	p.nprod, p.glu = 0, false
}

// pickChunk returns the rows per work item: a multiple of 4, small enough
// to balance the workers (chunks are claimed dynamically, so the last one
// bounds the idle tail) and, for batches, to keep a chunk's weights in L2.
func (p *Pool) pickChunk(rows, n, rowBytes int) int {
	c := (rows/(p.n*chunksPerWorker) + 3) &^ 3
	if n > 1 {
		c = (rows/(p.n*8) + 3) &^ 3
		const l2 = 256 << 10
		c = min(c, (l2/max(1, rowBytes))&^3)
	}
	return max(4, c)
}

// chunksPerWorker is the number of chunks per worker of a mat-vec.
const chunksPerWorker = 16

func (p *Pool) growScratch(elems int) {
	if cap(p.aq) < elems {
		p.aq = make([]int8, elems)
		p.ad = make([]float32, elems/qk)
		p.as = make([]int32, elems/qk)
		per := packBytes / 4 // per column and block
		if p.set.q8_0Wide8 {
			per = max(per, packWideBytes/8)
		}
		p.xp = make([]byte, elems/qk*per)
	}
}

// planTiles sets p.tiles, p.g8 and p.g4 for the current job.
func (p *Pool) planTiles() {
	p.tiles, p.g8, p.g4 = false, 0, 0
	if p.batch < 4 || p.w.Cols == 0 || noTiles || p.w.packed {
		return
	}
	if !noTiles8 && p.set.tile8For(p.w.Type) != nil {
		p.g8 = p.batch / 8
	}
	if p.batch-8*p.g8 >= 4 && p.set.tileFor(p.w.Type) != nil {
		p.g4 = 1
	}
	p.tiles = p.g8+p.g4 > 0
}

// packed returns the packed group holding column b, its width and b's
// slot in it (width 0: b is not in a tile group).
func (p *Pool) packed(b int) (grp []byte, width, slot int) {
	blk := p.w.Cols / qk * packBytes // one group of 4
	blk8 := 2 * blk                  // one group of 8
	if p.set.wide8(p.w.Type) {
		blk8 = p.w.Cols / qk * packWideBytes
	}
	switch {
	case b < 8*p.g8:
		g := b / 8
		return p.xp[g*blk8 : (g+1)*blk8], 8, b % 8
	case b < 8*p.g8+4*p.g4:
		return p.xp[p.g8*blk8 : p.g8*blk8+blk], 4, b - 8*p.g8
	}
	return nil, 0, 0
}

// kQuant reports whether t's activations are quantized per super-block
// of 256 (quantizeActK) rather than per block of 32.
func kQuant(t DType) bool {
	switch t {
	case Q4_K, Q6_K, Q3_K, Q5_K, IQ4_XS:
		return true
	}
	return false
}

func (p *Pool) col(b int) qcol {
	cols := p.w.Cols
	nb := cols / qk
	nd := nb
	if kQuant(p.w.Type) {
		nd = cols / qkK
	}
	return qcol{
		q: p.aq[b*cols : (b+1)*cols],
		d: p.ad[b*nd : (b+1)*nd],
		s: p.as[b*nb : (b+1)*nb],
	}
}

// quantCol quantizes column b and, if it belongs to a tile group, packs
// it into its slot (columns of one group write disjoint bytes).
func (p *Pool) quantCol(b int) {
	cols := p.w.Cols
	c := p.col(b)
	if kQuant(p.w.Type) {
		quantizeActK(c, p.x[b*cols:(b+1)*cols]) // no assembly: once per column, cheap beside the product
		if p.w.Type == Q6_K {
			q6KPairSums(c) // no q6_k kernel reads the sums of 32
		}
		return
	}
	p.set.quantAct(c, p.x[b*cols:(b+1)*cols])
	if p.tiles {
		if grp, width, slot := p.packed(b); width == 8 && p.set.wide8(p.w.Type) {
			packColWide(grp, slot, c)
		} else if width > 0 {
			packCol(grp, width, slot, c, packFlip(p.w.Type, width))
		}
	}
}

func (p *Pool) matChunk(c int) {
	i := 0
	for i+1 < p.nprod && c >= p.prods[i+1].first && !p.glu {
		i++
	}
	pr := &p.prods[i]
	r0 := (c - pr.first) * pr.chunkRows
	r1 := min(r0+pr.chunkRows, pr.w.Rows)
	p.matRows(pr, r0, r1)
	if p.glu {
		up := &p.prods[1]
		p.matRows(up, r0, r1)
		rows := pr.w.Rows
		for b := 0; b < p.batch; b++ {
			p.set.siluMul(pr.dst[b*rows+r0:b*rows+r1], up.dst[b*rows+r0:b*rows+r1])
		}
	}
}

// matRows computes rows [r0, r1) of product pr for every column.
func (p *Pool) matRows(pr *prod, r0, r1 int) {
	if pr.w.packed {
		p.matRowsPacked(pr, r0, r1)
		return
	}
	p.matRowsFlat(pr, r0, r1)
}

// matRowsPacked is matRows for a repacked matrix; r0 is a multiple of 16.
// Whole groups go through the set's kernels for the layout (or, in a set
// without them, are unpacked first); the last Rows%16 rows are in block
// layout.
func (p *Pool) matRowsPacked(pr *prod, r0, r1 int) {
	rows, cols, rb := pr.w.Rows, pr.w.Cols, pr.rb
	g16 := rows &^ (packRows - 1)
	dst := pr.dst
	p1, p4 := p.set.packedKernels(pr.w.Type)
	p2, p3 := p.set.packedSmall(pr.w.Type)
	nb := cols / qk // blocks of 32: the sums
	nd := nb        // scales
	if kQuant(pr.w.Type) {
		nd = cols / qkK
	}
	var buf []byte
	for r := r0; r < min(r1, g16); r += packRows {
		grp := pr.w.Data[r*rb : (r+packRows)*rb]
		if p1 == nil {
			if buf == nil {
				buf = make([]byte, len(grp))
			}
			unpackGroup(buf, grp, pr.w.Type, rb)
			for b := 0; b < p.batch; b++ {
				p.rowsCol(b, dst[b*rows+r:b*rows+r+packRows], buf, rb)
			}
			continue
		}
		// Columns 4, 3 or 2 at a time where the set has those kernels
		// (each block unpacked once for them), else one at a time; 5
		// left go as 3 and 2, not 4 and a lone column.
		for b := 0; b < p.batch; {
			k, pk := min(4, p.batch-b), p4
			switch {
			case p.batch-b == 5 && p2 != nil && p3 != nil:
				k, pk = 3, p3
			case k == 4 && p4 != nil:
			case k >= 3 && p3 != nil:
				k, pk = 3, p3
			case k >= 2 && p2 != nil:
				k, pk = 2, p2
			default:
				k = 1
			}
			_ = p.aq[(b+k)*cols-1]
			_ = p.ad[(b+k)*nd-1]
			_ = p.as[(b+k)*nb-1]
			_ = dst[(b+k-1)*rows+r+packRows-1]
			if k == 1 {
				p1(&grp[0], nd, &p.aq[b*cols], &p.ad[b*nd], &p.as[b*nb], &dst[b*rows+r])
			} else {
				pk(&grp[0], nd, &p.aq[b*cols], &p.ad[b*nd], &p.as[b*nb], cols, &dst[b*rows+r], 4*rows)
			}
			b += k
		}
	}
	if r1 > g16 {
		p.matRowsFlat(pr, max(r0, g16), r1)
	}
}

// matRowsFlat is matRows for rows in block layout.
func (p *Pool) matRowsFlat(pr *prod, r0, r1 int) {
	rows, cols, rb := pr.w.Rows, pr.w.Cols, pr.rb
	wd := pr.w.Data[r0*rb : r1*rb]
	dst := pr.dst
	set := p.set
	b := 0
	if p.tiles && p.w.Type.Quantized() {
		// 2x16 (pairs of groups of 8), 4x8 and 4x4 tiles over whole
		// groups of rows and columns; the remaining rows and columns go
		// through the row kernels, which give bitwise the same value per
		// element.
		nb := cols / qk
		r4 := (r1 - r0) &^ 3
		for b < 8*p.g8+4*p.g4 {
			xp, width, _ := p.packed(b)
			if t16 := set.tile16For(p.w.Type); t16 != nil && b+16 <= 8*p.g8 {
				// Two adjacent groups of 8 (xp and the next) through the
				// 2x16 kernel; an odd last row through the row kernels.
				r2 := (r1 - r0) &^ 1
				if r2 > 0 {
					next, _, _ := p.packed(b + 8)
					_ = next[len(next)-1]
					_ = dst[(b+15)*rows+r0+r2-1]
					for r := 0; r < r2; r += 2 {
						t16(&wd[r*rb], rb, &xp[0], nb, &dst[b*rows+r0+r], 4*rows)
					}
				}
				if r0+r2 < r1 {
					for k := b; k < b+16; k++ {
						p.rowsCol(k, dst[k*rows+r0+r2:k*rows+r1], wd[r2*rb:], rb)
					}
				}
				b += 16
				continue
			}
			tile := set.tileFor(p.w.Type)
			if width == 8 {
				tile = set.tile8For(p.w.Type)
			}
			if r4 > 0 {
				_ = xp[len(xp)-1] // the group's nb blocks (packed)
				_ = dst[(b+width-1)*rows+r0+r4-1]
				for r := 0; r < r4; r += 4 {
					tile(&wd[r*rb], rb, &xp[0], nb, &dst[b*rows+r0+r], 4*rows)
				}
			}
			if r0+r4 < r1 {
				for k := b; k < b+width; k++ {
					p.rowsCol(k, dst[k*rows+r0+r4:k*rows+r1], wd[r4*rb:], rb)
				}
			}
			b += width
		}
	}
	if k := set.colsFor(pr.w.Type); k != nil && !noTiles && cols >= qk {
		// 2x4 kernels over pairs of rows and groups of 4 columns (those
		// after the tiles' groups: the AVX2 set has only 4x8 tiles); an
		// odd last row and the remaining columns go through the row
		// kernels (bitwise the same value per element).
		nb := cols / qk
		r2 := (r1 - r0) &^ 1
		for ; b+4 <= p.batch; b += 4 {
			if r2 > 0 {
				_ = p.aq[(b+4)*cols-1]
				_ = p.ad[(b+4)*nb-1]
				_ = dst[(b+3)*rows+r0+r2-1]
				for r := 0; r < r2; r += 2 {
					k(&wd[r*rb], rb, &p.aq[b*cols], &p.ad[b*nb], nb, &dst[b*rows+r0+r], 4*rows)
				}
			}
			if r0+r2 < r1 {
				for c := b; c < b+4; c++ {
					p.rowsCol(c, dst[c*rows+r0+r2:c*rows+r1], wd[r2*rb:], rb)
				}
			}
		}
	}
	if k := set.kColsFor(pr.w.Type); k != nil && !noTiles && cols >= qkK {
		// 1x4 kernels: each row's super-blocks unpacked once for 4
		// columns; the remaining columns go through the row kernel
		// (bitwise the same value per element).
		nb, nsb := cols/qk, cols/qkK
		for ; b+4 <= p.batch; b += 4 {
			_ = p.aq[(b+4)*cols-1]
			_ = p.ad[(b+4)*nsb-1]
			_ = p.as[(b+4)*nb-1]
			_ = dst[(b+3)*rows+r1-1]
			for r := 0; r < r1-r0; r++ {
				k(&wd[r*rb], &p.aq[b*cols], &p.ad[b*nsb], &p.as[b*nb], nsb, &dst[b*rows+r0+r], 4*rows)
			}
		}
	}
	for ; b < p.batch; b++ {
		p.rowsCol(b, dst[b*rows+r0:b*rows+r1], wd, rb)
	}
}

// rowsCol computes dst (consecutive rows starting at wd, rb bytes apart)
// for column b with the row kernels.
func (p *Pool) rowsCol(b int, dst []float32, wd []byte, rb int) {
	cols := p.w.Cols
	set := p.set
	switch p.w.Type {
	case F32:
		set.f32Rows(dst, wd, rb, p.x[b*cols:(b+1)*cols])
	case F16:
		set.f16Rows(dst, wd, rb, p.x[b*cols:(b+1)*cols])
	case BF16:
		set.bf16Rows(dst, wd, rb, p.x[b*cols:(b+1)*cols])
	case Q8_0:
		set.q8_0Rows(dst, wd, rb, p.col(b))
	case Q4_0:
		set.q4_0Rows(dst, wd, rb, p.col(b))
	case Q4_K:
		set.q4KRows(dst, wd, rb, p.col(b))
	case Q6_K:
		set.q6KRows(dst, wd, rb, p.col(b))
	default:
		set.ext.rows(p.w.Type)(dst, wd, rb, p.col(b))
	}
}
