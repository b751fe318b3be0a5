package node

import (
	"context"
	"fmt"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/protocol"
)

// headBatcher runs the head (final norm and output matrix) of an entry
// model for the node's concurrent generations: the rows of every request
// waiting when it is free go through one engine call, which reads the
// output matrix once for all of them (continuous batching, as servers do
// for blocks; it never waits for more). The head is batch-invariant, so a
// row's logits are bitwise those it gets alone.
type headBatcher struct {
	m       *engine.Model
	in      chan *headReq
	metrics *metrics.Metrics

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	x, logits []float32 // a batch's rows and logits, reused
}

// headReq is one generation's rows waiting for their logits.
type headReq struct {
	x      []float32 // n rows of hidden state
	n      int
	logits []float32 // n rows of logits
	done   chan error
}

func newHeadBatcher(m *engine.Model, mets *metrics.Metrics) *headBatcher {
	h := &headBatcher{m: m, in: make(chan *headReq), metrics: mets, done: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	go h.run()
	return h
}

func (h *headBatcher) stop() {
	h.cancel()
	<-h.done
}

// head writes the logits of n rows x into logits (n * VocabSize).
func (h *headBatcher) head(ctx context.Context, x []float32, n int, logits []float32) error {
	r := &headReq{x: x, n: n, logits: logits, done: make(chan error, 1)}
	select {
	case h.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-h.ctx.Done():
		return fmt.Errorf("node: model closed: %w", protocol.ErrShuttingDown)
	}
	// The batcher owns r's buffers until it answers; an answer always
	// comes.
	return <-r.done
}

func (h *headBatcher) run() {
	defer close(h.done)
	var batch []*headReq
	for {
		batch = batch[:0]
		select {
		case r := <-h.in:
			batch = append(batch, r)
		case <-h.ctx.Done():
			return
		}
	more:
		for {
			select {
			case r := <-h.in:
				batch = append(batch, r)
			default:
				break more
			}
		}
		h.runBatch(batch)
	}
}

func (h *headBatcher) runBatch(batch []*headReq) {
	if len(batch) == 1 {
		r := batch[0]
		h.metrics.ObserveHeadBatch(r.n)
		r.done <- h.m.Head(r.x, r.n, r.logits)
		return
	}
	dim, vocab := h.m.Config.Dim, h.m.Config.VocabSize
	rows := 0
	h.x = h.x[:0]
	for _, r := range batch {
		if len(r.x) != r.n*dim || len(r.logits) != r.n*vocab {
			// Let the engine say what is wrong, for this request alone.
			r.done <- h.m.Head(r.x, r.n, r.logits)
			continue
		}
		h.x = append(h.x, r.x...)
		rows += r.n
	}
	if cap(h.logits) < rows*vocab {
		h.logits = make([]float32, rows*vocab)
	}
	out := h.logits[:rows*vocab]
	h.metrics.ObserveHeadBatch(rows)
	err := h.m.Head(h.x, rows, out)
	off := 0
	for _, r := range batch {
		if len(r.x) != r.n*dim || len(r.logits) != r.n*vocab {
			continue
		}
		if err == nil {
			off += copy(r.logits, out[off:off+r.n*vocab])
		}
		r.done <- err
	}
}
