package synth

import (
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/orbitswarm/orbit/engine/kernels"
)

// splitmix64 is a bijective 64-bit mixer (the SplitMix64 finalizer).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// TensorSeed is the seed of a tensor's values: a hash of the model seed
// and the tensor name.
func TensorSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return splitmix64(seed ^ splitmix64(h.Sum64()))
}

// newRowRNG returns the PCG stream of row r of the named tensor.
func newRowRNG(seed uint64, name string, r int) *rand.PCG {
	ts := TensorSeed(seed, name)
	return rand.NewPCG(ts, splitmix64(ts^splitmix64(uint64(r)+1)))
}

// chunkFloats is the approximate number of elements generated per work
// item.
const chunkFloats = 1 << 20

// Stream writes the encoded data of the tensor (Size bytes) for the model
// generated from seed. Rows are generated and encoded in parallel on up to
// GOMAXPROCS goroutines and written in order; at most a few chunks of
// about chunkFloats elements are held in memory at a time.
func (t *Tensor) Stream(out io.Writer, seed uint64) error {
	n, rows := t.RowLen(), t.Rows()
	rowBytes, err := t.Type.RowBytes(n)
	if err != nil {
		return fmt.Errorf("synth: tensor %s: %w", t.Name, err)
	}
	per := max(1, chunkFloats/n)
	chunks := (rows + per - 1) / per
	bufs := sync.Pool{New: func() any { return make([]byte, per*rowBytes) }}
	scratch := sync.Pool{New: func() any { return make([]float32, n) }}
	produce := func(c int) ([]byte, error) {
		lo, hi := c*per, min(rows, (c+1)*per)
		buf := bufs.Get().([]byte)[:(hi-lo)*rowBytes]
		src := scratch.Get().([]float32)
		defer scratch.Put(src)
		for r := lo; r < hi; r++ {
			t.Row(seed, r, src)
			if err := kernels.Quantize(buf[(r-lo)*rowBytes:], src, t.Type); err != nil {
				return nil, fmt.Errorf("synth: tensor %s row %d: %w", t.Name, r, err)
			}
		}
		return buf, nil
	}
	consume := func(b []byte) error {
		_, err := out.Write(b)
		bufs.Put(b[:cap(b)])
		return err
	}
	return ordered(chunks, runtime.GOMAXPROCS(0), produce, consume)
}

type chunkResult struct {
	buf []byte
	err error
}

// ordered runs produce(0..n-1) on up to workers goroutines and passes the
// results to consume in index order, keeping at most 2*workers results
// pending. It stops at the first error.
func ordered(n, workers int, produce func(int) ([]byte, error), consume func([]byte) error) error {
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			b, err := produce(i)
			if err == nil {
				err = consume(b)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	results := make([]chan chunkResult, n)
	for i := range results {
		results[i] = make(chan chunkResult, 1)
	}
	quit := make(chan struct{})
	tokens := make(chan struct{}, 2*workers)
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := 0; i < n; i++ {
			select {
			case tokens <- struct{}{}:
			case <-quit:
				return
			}
			select {
			case jobs <- i:
			case <-quit:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				b, err := produce(i)
				results[i] <- chunkResult{b, err}
			}
		}()
	}
	var err error
	for i := 0; i < n; i++ {
		r := <-results[i]
		if r.err == nil {
			r.err = consume(r.buf)
		}
		<-tokens
		if r.err != nil {
			err = r.err
			break
		}
	}
	close(quit)
	wg.Wait()
	return err
}
