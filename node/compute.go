package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/orbitswarm/orbit/clock"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// served is one model span this node computes.
type served struct {
	id         string
	src        ModelSource
	blocks     int // of the whole model
	file       *gguf.File
	model      *engine.Model // the span's blocks; nil if only the entry parts
	entry      *engine.Model // embedding and head; nil if not an entry
	heads      *headBatcher  // runs entry's head; nil if not an entry
	throughput float64       // tokens/s through one block
	sched      *scheduler

	pools []*kernels.Pool // of model and entry, when Threads set them

	mu       sync.Mutex
	sessions int
	gens     int // generations using entry
}

// newPool returns a kernel pool of threads threads that s owns, or nil
// (the model makes its own over GOMAXPROCS) when threads is 0.
func (s *served) newPool(threads int) *kernels.Pool {
	if threads <= 0 {
		return nil
	}
	p := kernels.NewPool(threads)
	s.pools = append(s.pools, p)
	return p
}

// hold counts one more generation (gen) or session using s. The caller
// holds the serving component's lock and found s among its models under
// it (see serveComponent.acquire).
func (s *served) hold(gen bool) {
	s.mu.Lock()
	if gen {
		s.gens++
	} else {
		s.sessions++
	}
	s.mu.Unlock()
}

// release undoes acquire.
func (s *served) release(gen bool) {
	s.mu.Lock()
	if gen {
		s.gens--
	} else {
		s.sessions--
	}
	s.mu.Unlock()
}

// busy counts the sessions and generations using s.
func (s *served) busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions + s.gens
}

// name is the model's general.name, or "".
func (s *served) name() string {
	if s.file == nil {
		return ""
	}
	v, _ := s.file.String("general.name")
	return v
}

func (s *served) span() sharding.Span {
	if s.model == nil {
		return sharding.Span{}
	}
	return s.model.Span
}

func (s *served) close() {
	if s.sched != nil {
		s.sched.stop()
	}
	if s.heads != nil {
		s.heads.stop()
	}
	if s.model != nil {
		s.model.Close()
	}
	if s.entry != nil {
		s.entry.Close()
	}
	if s.file != nil {
		s.file.Close()
	}
	for _, p := range s.pools {
		p.Close()
	}
}

// budget is the node's KV-cache memory budget, shared by its models.
type budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

func (b *budget) reserve(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return fmt.Errorf("%w: session needs %d bytes, %d of %d free", protocol.ErrCacheFull, n, b.limit-b.used, b.limit)
	}
	b.used += n
	return nil
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

func (b *budget) free() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit - b.used
}

// job is one session's step waiting for the scheduler.
type job struct {
	x    []float32
	rows []engine.Row
	span sharding.Span
	done chan error

	queued time.Time // when submitted
	timing protocol.StepTiming
}

// scheduler runs a model's pending steps in batches: one engine call over
// the rows of every session that has a step ready (continuous batching).
// It waits up to window for more steps only while fewer jobs are pending
// than sessions are open, so a lone generation pays no wait.
type scheduler struct {
	clock   clock.Clock
	m       *engine.Model
	in      chan *job
	window  time.Duration
	maxRows int
	active  func() int
	slow    float64     // ComputeSlowdown
	cost    ComputeCost // emulated compute, if set
	metrics *metrics.Metrics
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// stats counts engine calls, rows and sessions, for tests and stats.
	mu    sync.Mutex
	stats ComputeStats
}

// ComputeStats is what a server's batch schedulers did: engine calls,
// the rows and sessions' steps they ran, and the time they took.
type ComputeStats struct {
	Calls    int64         // engine calls
	Rows     int64         // rows computed
	Steps    int64         // sessions' steps computed (a call batches one or more)
	MaxRows  int           // the largest call
	Busy     time.Duration // engine time, stretched by the slow-down or emulation
	Queue    time.Duration // steps' waits before their engine call, summed
	Sessions int           // sessions open now
}

// Add sums two stats (MaxRows: the larger).
func (a ComputeStats) Add(b ComputeStats) ComputeStats {
	return ComputeStats{Calls: a.Calls + b.Calls, Rows: a.Rows + b.Rows, Steps: a.Steps + b.Steps, MaxRows: max(a.MaxRows, b.MaxRows),
		Busy: a.Busy + b.Busy, Queue: a.Queue + b.Queue, Sessions: a.Sessions + b.Sessions}
}

// ComputeCost emulates a server's compute for benchmarks on small
// machines: an engine call over b blocks with r rows takes at least
// b*(Block + r*Row); the scheduler waits out what the real call did not
// take. Block is a block's cost per call (reading its weights, which a
// call does once for all its rows), Row its cost per row.
type ComputeCost struct {
	Block, Row time.Duration
}

func (c ComputeCost) of(blocks, rows int) time.Duration {
	return time.Duration(blocks) * (c.Block + time.Duration(rows)*c.Row)
}

func newScheduler(m *engine.Model, window time.Duration, maxRows int, active func() int, slowdown float64, cost ComputeCost,
	mets *metrics.Metrics, log *slog.Logger, clk clock.Clock) *scheduler {
	s := &scheduler{clock: clock.Or(clk), m: m, in: make(chan *job), window: window, maxRows: maxRows, active: active, slow: slowdown, cost: cost,
		metrics: mets, log: log, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s
}

// Stats returns what the scheduler did so far.
func (s *scheduler) Stats() ComputeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *scheduler) stop() {
	s.cancel()
	<-s.done
}

// submit queues a step and waits for it to be computed.
func (s *scheduler) submit(ctx context.Context, j *job) error {
	j.done = make(chan error, 1)
	j.queued = s.clock.Now()
	select {
	case s.in <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return fmt.Errorf("node: model closed: %w", protocol.ErrShuttingDown)
	}
	// The scheduler owns j.x until it answers; an answer always comes.
	return <-j.done
}

func (s *scheduler) run() {
	defer close(s.done)
	var batch []*job
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch = batch[:0]
		select {
		case j := <-s.in:
			batch = append(batch, j)
		case <-s.ctx.Done():
			return
		}
		rows := len(batch[0].rows)
		waiting := false
	collect:
		for rows < s.maxRows {
			if len(batch) >= s.active() {
				// Take what is already queued, without waiting.
				select {
				case j := <-s.in:
					batch = append(batch, j)
					rows += len(j.rows)
					continue
				default:
					break collect
				}
			}
			if !waiting {
				timer.Reset(s.window)
				waiting = true
			}
			select {
			case j := <-s.in:
				batch = append(batch, j)
				rows += len(j.rows)
			case <-timer.C:
				waiting = false
				break collect
			case <-s.ctx.Done():
				break collect
			}
		}
		if waiting {
			timer.Stop() // Go 1.23+ timers: no stale tick after Stop
		}
		s.runBatch(batch)
	}
}

// runBatch runs the jobs, one engine call per distinct sub-span.
func (s *scheduler) runBatch(batch []*job) {
	for len(batch) > 0 {
		span := batch[0].span
		var group, rest []*job
		for _, j := range batch {
			if j.span == span {
				group = append(group, j)
			} else {
				rest = append(rest, j)
			}
		}
		s.runGroup(span, group)
		batch = rest
	}
}

// forward is one engine call, stretched by the slow-down factor or the
// emulated cost. It records each job's queue and compute time.
func (s *scheduler) forward(x []float32, rows []engine.Row, span sharding.Span, jobs ...*job) error {
	start := s.clock.Now()
	err := s.m.ForwardSpan(s.ctx, x, rows, span)
	if err == nil {
		el := s.clock.Since(start)
		want := el
		if s.slow > 1 {
			want = time.Duration(float64(el) * s.slow)
		}
		want = max(want, s.cost.of(span.Len(), len(rows)))
		if want > el {
			t := time.NewTimer(want - el)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
			}
		}
	}
	compute := s.clock.Since(start)
	var queued time.Duration
	for _, j := range jobs {
		j.timing = protocol.StepTiming{Compute: compute, Queue: max(0, start.Sub(j.queued))}
		queued += j.timing.Queue
		s.metrics.ObserveStepQueue(j.timing.Queue)
	}
	s.metrics.ObserveBatch(len(jobs), len(rows), compute)
	s.mu.Lock()
	s.stats.Calls++
	s.stats.Rows += int64(len(rows))
	s.stats.Steps += int64(len(jobs))
	s.stats.MaxRows = max(s.stats.MaxRows, len(rows))
	s.stats.Busy += compute
	s.stats.Queue += queued
	s.mu.Unlock()
	return err
}

func (s *scheduler) runGroup(span sharding.Span, group []*job) {
	if len(group) == 1 {
		j := group[0]
		j.done <- s.forward(j.x, j.rows, span, j)
		return
	}
	var x []float32
	var rows []engine.Row
	for _, j := range group {
		x = append(x, j.x...)
		rows = append(rows, j.rows...)
	}
	err := s.forward(x, rows, span, group...)
	if err != nil {
		// One bad row fails the whole call: run each job alone so the
		// others are not punished.
		s.log.Debug("batched forward failed, running jobs one by one", "err", err)
		for _, j := range group {
			j.done <- s.forward(j.x, j.rows, span, j)
		}
		return
	}
	off := 0
	for _, j := range group {
		off += copy(j.x, x[off:off+len(j.x)])
		j.done <- nil
	}
}

// computeSession is a protocol.ComputeSession over a served span.
type computeSession struct {
	srv     *served
	sess    *engine.Session
	span    sharding.Span
	bytes   int64
	bud     *budget
	metrics *metrics.Metrics
	once    sync.Once
	rows    []engine.Row
	last    protocol.StepTiming
	lie     func(pos int, in, out []float32) // ServeConfig.Lie
}

// LastTiming implements protocol.TimedSession.
func (c *computeSession) LastTiming() protocol.StepTiming { return c.last }

func (c *computeSession) Dim() int { return c.srv.model.Config.Dim }

func (c *computeSession) Forward(ctx context.Context, x []float32, pos int) error {
	dim := c.Dim()
	n := len(x) / dim
	if n == 0 || len(x)%dim != 0 {
		return fmt.Errorf("%w: %d values are not rows of %d", engine.ErrBadInput, len(x), dim)
	}
	// Checked here so that a bad step never fails a batch of others.
	if pos < 0 || pos > c.sess.Len() || pos+n > c.sess.MaxLen() {
		return fmt.Errorf("%w: %d rows at position %d: session holds %d of %d positions", engine.ErrBadInput, n, pos, c.sess.Len(), c.sess.MaxLen())
	}
	if !c.sess.CanResume(pos) {
		return fmt.Errorf("%w: %d rows at position %d: the sliding-window cache no longer holds the positions before it (truncated back more than %d)", engine.ErrBadInput, n, pos, engine.RewindSlack)
	}
	c.rows = c.rows[:0]
	for i := range n {
		c.rows = append(c.rows, engine.Row{Session: c.sess, Pos: pos + i})
	}
	var in []float32
	if c.lie != nil {
		in = slices.Clone(x)
	}
	j := &job{x: x, rows: c.rows, span: c.span}
	err := c.srv.sched.submit(ctx, j)
	if err == nil {
		c.last = j.timing
	}
	if err == nil && c.lie != nil {
		for i := range n {
			c.lie(pos+i, in[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim])
		}
	}
	return err
}

// Truncate implements protocol.Truncater: the KV cache forgets positions
// from n on. The server calls it between the session's steps, so no batch
// holds the session.
func (c *computeSession) Truncate(n int) { c.sess.Truncate(n) }

func (c *computeSession) Close() {
	c.once.Do(func() {
		c.bud.release(c.bytes)
		c.metrics.SessionClosed(c.bytes)
		c.srv.release(false)
	})
}

// backend implements protocol.InferBackend over the node's served models.
type backend struct{ n *Node }

// OpenSession opens a session on the node's serving component.
func (b backend) OpenSession(ctx context.Context, model string, span sharding.Span, maxLen int) (protocol.ComputeSession, error) {
	return b.n.openSession(model, span, maxLen)
}

// openSession opens a session on span of model, if the component serves
// it and the KV-cache budget has room.
func (s *serveComponent) openSession(model string, span sharding.Span, maxLen int) (protocol.ComputeSession, error) {
	if s.draining.Load() {
		return nil, fmt.Errorf("%w: node is leaving the swarm", protocol.ErrShuttingDown)
	}
	srv := s.acquire(model, false)
	if srv == nil {
		return nil, fmt.Errorf("%w: %s", protocol.ErrUnknownModel, model)
	}
	opened := false
	defer func() {
		if !opened {
			srv.release(false)
		}
	}()
	if srv.model == nil {
		return nil, fmt.Errorf("%w: %s", protocol.ErrUnknownModel, model)
	}
	have := srv.model.Span
	if span.Start < have.Start || span.End > have.End || span.Start >= span.End {
		return nil, fmt.Errorf("%w: span %v of %s, this node serves %v", protocol.ErrUnknownModel, span, model, have)
	}
	if maxLen > srv.model.Config.Context {
		return nil, fmt.Errorf("%w: max length %d exceeds the model's context of %d", protocol.ErrBadRequest, maxLen, srv.model.Config.Context)
	}
	bytes := srv.model.SessionBytes(maxLen)
	if err := s.budget.reserve(bytes); err != nil {
		return nil, err
	}
	sess, err := srv.model.NewSession(maxLen)
	if err != nil {
		s.budget.release(bytes)
		return nil, fmt.Errorf("%w: %w", protocol.ErrBadRequest, err)
	}
	opened = true
	s.cfg.Metrics.SessionOpened(bytes)
	return &computeSession{srv: srv, sess: sess, span: span, bytes: bytes, bud: &s.budget, metrics: s.cfg.Metrics, lie: s.cfg.Lie}, nil
}

// benchmark measures tokens/s through one block of m: a few single-row
// forward passes over its span, as decoding does.
func benchmark(ctx context.Context, m *engine.Model, clk clock.Clock) (float64, error) {
	if m.Span.Len() == 0 {
		return 0, nil
	}
	const steps = 8
	sess, err := m.NewSession(steps)
	if err != nil {
		return 0, err
	}
	dim := m.Config.Dim
	x := make([]float32, dim)
	start := clk.Now()
	for i := range steps {
		for j := range x {
			x[j] = float32((i+j)%7) * 0.01
		}
		if err := m.Forward(ctx, x, []engine.Row{{Session: sess, Pos: i}}); err != nil {
			return 0, fmt.Errorf("node: benchmark: %w", err)
		}
	}
	el := clk.Since(start).Seconds()
	if el <= 0 {
		el = 1e-9
	}
	return float64(steps*m.Span.Len()) / el, nil
}
