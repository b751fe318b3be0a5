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
	wg      sync.WaitGroup
	closed  bool
	quit    bool          // set once by Close, before the last publish
	epoch   atomic.Uint64 // incremented to publish a job (or the close)

	// Current job, written under mu before the helpers are woken.
	kind      jobKind
	next      atomic.Int64
	nchunks   int
	fn        func(int)
	w         Mat
	rowBytes  int
	chunkRows int
	x         []float32
	dst       []float32
	batch     int

	// Scratch for quantized activations, grown as needed and reused.
	aq []int8
	ad []float32
	as []int32
	ab []int32 // tile bias lanes, 8 per block (batches only)
}

// noTiles disables the tile kernels (benchmarks compare with and without).
var noTiles bool

type jobKind uint8

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
	p := &Pool{n: n, set: set, helpers: make([]*helper, n-1)}
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
		e := p.epoch.Load()
		for i := 0; e == seen && i < spinIters; i++ {
			e = p.epoch.Load()
		}
		if e == seen {
			h.sleeping.Store(true)
			if e = p.epoch.Load(); e != seen && h.sleeping.CompareAndSwap(true, false) {
				// A job arrived before anyone saw us sleeping.
			} else {
				<-h.wake
				e = p.epoch.Load()
			}
		}
		seen = e
		if p.quit {
			return
		}
		p.drain()
		p.wg.Done()
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
	p.quit = true // never reset: later jobs run on the caller alone
	p.publish()
}

// publish starts the job described by the pool's fields on every helper.
func (p *Pool) publish() {
	p.epoch.Add(1)
	for _, h := range p.helpers {
		if h.sleeping.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
}

// run executes the job described by the pool's fields over nchunks chunks.
// p.mu must be held.
func (p *Pool) run(kind jobKind, nchunks int) {
	p.kind = kind
	p.nchunks = nchunks
	p.next.Store(0)
	if p.closed || nchunks == 1 || len(p.helpers) == 0 {
		p.drain()
		return
	}
	p.wg.Add(len(p.helpers))
	p.publish()
	p.drain()
	p.wg.Wait()
}

func (p *Pool) drain() {
	for {
		c := int(p.next.Add(1) - 1)
		if c >= p.nchunks {
			return
		}
		switch p.kind {
		case jobParallel:
			p.fn(c)
		case jobQuant:
			p.quantCol(c)
		case jobMat:
			p.matChunk(c)
		}
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
// For the integer types the activations are quantized to int8 blocks of 32
// first. Each output element is computed by one fixed-order reduction over
// its row, so results are bitwise independent of n, the number of workers
// and the row split.
func (p *Pool) MatMul(dst []float32, w Mat, x []float32, n int) error {
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
	if n == 0 || w.Rows == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("kernels: matmul: %w", ErrClosed)
	}
	p.w = w
	p.rowBytes = w.RowBytes()
	p.x = x[:n*w.Cols]
	p.dst = dst[:n*w.Rows]
	p.batch = n
	if w.Type.Quantized() && w.Cols > 0 {
		p.growScratch(n * w.Cols)
		if n == 1 {
			p.quantCol(0)
		} else {
			p.run(jobQuant, n)
		}
	}
	p.chunkRows = p.pickChunk(w.Rows, n)
	p.run(jobMat, (w.Rows+p.chunkRows-1)/p.chunkRows)
	p.x, p.dst, p.w.Data = nil, nil, nil
	return nil
}

// pickChunk returns the rows per work item: a multiple of 4, small enough
// to balance the workers and, for batches, to keep a chunk's weights in L2.
func (p *Pool) pickChunk(rows, n int) int {
	c := (rows/(p.n*8) + 3) &^ 3
	if n > 1 {
		const l2 = 256 << 10
		c = min(c, (l2/max(1, p.rowBytes))&^3)
	}
	return max(4, c)
}

func (p *Pool) growScratch(elems int) {
	if cap(p.aq) < elems {
		p.aq = make([]int8, elems)
		p.ad = make([]float32, elems/qk)
		p.as = make([]int32, elems/qk)
		p.ab = make([]int32, elems/4)
	}
}

func (p *Pool) col(b int) qcol {
	cols := p.w.Cols
	nb := cols / qk
	return qcol{
		q: p.aq[b*cols : (b+1)*cols],
		d: p.ad[b*nb : (b+1)*nb],
		s: p.as[b*nb : (b+1)*nb],
	}
}

func (p *Pool) quantCol(b int) {
	cols := p.w.Cols
	quantizeAct(p.col(b), p.x[b*cols:(b+1)*cols])
	if p.batch >= 4 && p.set.tileFor(p.w.Type) != nil {
		p.set.biasLanes(p.aq[b*cols:(b+1)*cols], p.ab[b*cols/4:(b+1)*cols/4])
	}
}

func (p *Pool) matChunk(c int) {
	rows, cols, rb := p.w.Rows, p.w.Cols, p.rowBytes
	r0 := c * p.chunkRows
	r1 := min(r0+p.chunkRows, rows)
	wd := p.w.Data[r0*rb : r1*rb]
	set := p.set
	b := 0
	if tile := set.tileFor(p.w.Type); tile != nil && p.batch >= 4 && cols > 0 && !noTiles {
		// 4x4 tiles over whole groups of 4 rows and 4 columns; the
		// remaining rows and columns go through the row kernels, which
		// give bitwise the same value per element.
		nb := cols / qk
		r4 := (r1 - r0) &^ 3
		for ; b+4 <= p.batch; b += 4 {
			if r4 > 0 {
				_ = p.aq[(b+4)*cols-1]
				_ = p.ad[(b+4)*nb-1]
				_ = p.ab[(b+4)*cols/4-1]
				_ = p.dst[(b+3)*rows+r0+r4-1]
				for r := 0; r < r4; r += 4 {
					tile(&wd[r*rb], rb, &p.aq[b*cols], &p.ad[b*nb], &p.ab[b*cols/4], nb, &p.dst[b*rows+r0+r], 4*rows)
				}
			}
			if r0+r4 < r1 {
				for k := b; k < b+4; k++ {
					p.rowsCol(k, p.dst[k*rows+r0+r4:k*rows+r1], wd[r4*rb:])
				}
			}
		}
	}
	for ; b < p.batch; b++ {
		p.rowsCol(b, p.dst[b*rows+r0:b*rows+r1], wd)
	}
}

// rowsCol computes dst (consecutive rows starting at wd) for column b with
// the row kernels.
func (p *Pool) rowsCol(b int, dst []float32, wd []byte) {
	cols, rb := p.w.Cols, p.rowBytes
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
	}
}
