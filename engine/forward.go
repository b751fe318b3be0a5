package engine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/sharding"
)

// ErrBadInput is wrapped by errors about arguments that do not fit the model
// (token ids out of range, wrong buffer sizes, positions out of order).
var ErrBadInput = errors.New("engine: bad input")

// Row places one row of a batch: a position of a sequence whose keys and
// values live in Session.
type Row struct {
	Session *Session
	Pos     int
}

// Session is the KV cache of one sequence for the blocks of one Model.
// A Session is used by one batch at a time.
//
// A sliding-window block keeps only a ring of its session's last
// positions (Config.KVPositions): a session longer than the window plus
// RewindSlack holds, in those blocks, a bounded cache however long it
// grows. The ring still holds the positions [lo, n): truncating back
// further than RewindSlack behind the furthest position run loses keys a
// later row would attend to, and a Forward that needs them fails with
// ErrBadInput (the caller replays the sequence into a new session).
type Session struct {
	model  *Model
	maxLen int
	n      int         // positions filled
	k, v   [][]float32 // per loaded layer: KVPositions(local, maxLen) * KVDim
	// ring is the positions a sliding-window block's cache holds (maxLen
	// when it never wraps, or no such block is loaded); lo is the first
	// position the rings still hold.
	ring, lo int
}

// NewSession makes a KV cache for up to maxLen positions over the model's
// loaded blocks.
func (m *Model) NewSession(maxLen int) (*Session, error) {
	if maxLen <= 0 {
		return nil, fmt.Errorf("%w: session length %d", ErrBadInput, maxLen)
	}
	s := &Session{model: m, maxLen: maxLen, ring: maxLen}
	kv := m.Config.KVDim()
	for i := range m.layers {
		local := m.Config.Local(m.Span.Start + i)
		n := m.Config.KVPositions(local, maxLen)
		if local {
			s.ring = n
		}
		s.k = append(s.k, make([]float32, n*kv))
		if !m.Config.MLA.On { // MLA caches one latent row, no values
			s.v = append(s.v, make([]float32, n*kv))
		}
	}
	return s, nil
}

// SessionBytes is the memory a session of maxLen positions takes.
func (m *Model) SessionBytes(maxLen int) int64 {
	return m.Config.SessionBytes(m.Span, maxLen)
}

// SessionPositions is the longest session whose cache fits in bytes (see
// Config.SessionPositions).
func (m *Model) SessionPositions(bytes int64) int {
	return m.Config.SessionPositions(m.Span, bytes)
}

// Len is the number of positions the session holds.
func (s *Session) Len() int { return s.n }

// MaxLen is the session's capacity in positions.
func (s *Session) MaxLen() int { return s.maxLen }

// Truncate forgets positions from n on.
func (s *Session) Truncate(n int) {
	if n >= 0 && n < s.n {
		s.n = n
		s.lo = min(s.lo, n)
	}
}

// CanResume reports whether a row at position pos (at most Len) can run
// next: the sliding-window blocks' rings still hold the positions it
// attends to. It is false only after a Truncate further back than
// RewindSlack behind the furthest position run.
func (s *Session) CanResume(pos int) bool {
	if pos < 0 || pos > s.n {
		return false
	}
	return pos == 0 || s.lo <= max(0, pos-s.model.Config.SlidingWindow+1)
}

// scratch holds the buffers of one forward pass, grown as needed and reused.
type scratch struct {
	xb, q, k, v, att, hb, hb2 []float32
	cos, sin                  []float32
	cosLocal, sinLocal        []float32   // sliding-window blocks' RoPE
	scores                    [][]float32 // per worker
	attn                      attnJob
	moe                       moeScratch
	mla                       mlaScratch

	// The ends of the sliding-window blocks' attention runs (attnChunks)
	// and the rows of each session in the run being cut.
	chunks     []int
	chunkCount map[*Session]int
}

func grow(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n, max(n, 2*cap(*b)))
	}
	*b = (*b)[:n]
	return *b
}

// Embed writes the embeddings of tokens into out (len(tokens) * Dim).
func (m *Model) Embed(tokens []int32, out []float32) error {
	if !m.hasEmbed {
		return fmt.Errorf("engine: embedding not loaded")
	}
	dim := m.Config.Dim
	if len(out) != len(tokens)*dim {
		return fmt.Errorf("%w: embed output has %d values, want %d", ErrBadInput, len(out), len(tokens)*dim)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= m.Config.VocabSize {
			return fmt.Errorf("%w: token %d outside vocabulary of %d", ErrBadInput, t, m.Config.VocabSize)
		}
		// (Repacked if it is also the output matrix.)
		if err := m.embd.DequantizeRow(out[i*dim:(i+1)*dim], int(t)); err != nil {
			return fmt.Errorf("engine: embedding of token %d: %w", t, err)
		}
		if s := m.Config.EmbedScale; s != 0 {
			for j := range out[i*dim : (i+1)*dim] {
				out[i*dim+j] *= s
			}
		}
	}
	return nil
}

// Head applies the final norm and the output matrix to n hidden rows,
// writing n * VocabSize logits.
func (m *Model) Head(x []float32, n int, logits []float32) error {
	if !m.hasHead {
		return fmt.Errorf("engine: head not loaded")
	}
	dim, vocab := m.Config.Dim, m.Config.VocabSize
	if len(x) != n*dim || len(logits) != n*vocab {
		return fmt.Errorf("%w: head of %d rows got %d inputs and %d logits, want %d and %d", ErrBadInput, n, len(x), len(logits), n*dim, n*vocab)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	xb := grow(&m.buf.xb, n*dim)
	for r := 0; r < n; r++ {
		rmsNorm(xb[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim], m.outNorm, m.Config.Eps)
	}
	if err := m.pool.MatMul(logits, m.output, xb, n); err != nil {
		return err
	}
	if cp := m.Config.FinalSoftcap; cp != 0 {
		// cap * tanh(logit * (1/cap)), as llama.cpp scales, tanh, scales.
		inv := 1 / cp
		for i, v := range logits[:n*vocab] {
			logits[i] = kernels.Tanh32(v*inv) * cp
		}
	}
	return nil
}

// Forward runs the loaded blocks over a batch of hidden rows in place:
// x holds len(rows) rows of Dim values. Each row's keys and values are
// stored in its session at its position; a row attends to its session's
// positions up to and including its own. A session's rows must come in
// increasing position order, and a row's position may not skip past the
// session's length (a position below it rewrites the cache from there).
func (m *Model) Forward(ctx context.Context, x []float32, rows []Row) error {
	return m.ForwardSpan(ctx, x, rows, m.Span)
}

// ForwardSpan is Forward over a sub-span of the loaded blocks. A session
// must always be run over the same sub-span.
func (m *Model) ForwardSpan(ctx context.Context, x []float32, rows []Row, span sharding.Span) error {
	n, dim := len(rows), m.Config.Dim
	if span.Start < m.Span.Start || span.End > m.Span.End || span.Start > span.End {
		return fmt.Errorf("%w: span %v outside the loaded blocks %v", ErrBadInput, span, m.Span)
	}
	if len(x) != n*dim {
		return fmt.Errorf("%w: %d rows need %d values, got %d", ErrBadInput, n, n*dim, len(x))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkRows(rows); err != nil {
		return err
	}
	m.ropeTables(rows)
	m.attnChunks(rows)
	ringsWritten(rows)
	for b := span.Start; b < span.End; b++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("engine: forward cancelled at block %d: %w", b, err)
		}
		if err := m.layerForward(b-m.Span.Start, x, rows); err != nil {
			return fmt.Errorf("engine: block %d: %w", b, err)
		}
	}
	for _, r := range rows {
		r.Session.n = r.Pos + 1
	}
	return nil
}

// checkRows validates row placement; called with m.mu held.
func (m *Model) checkRows(rows []Row) error {
	for i, r := range rows {
		s := r.Session
		if s == nil || s.model != m {
			return fmt.Errorf("%w: row %d has no session of this model", ErrBadInput, i)
		}
		want, seen := s.n, false
		for j := i - 1; j >= 0; j-- {
			if rows[j].Session == s {
				want, seen = rows[j].Pos+1, true
				break
			}
		}
		if r.Pos < 0 || r.Pos >= s.maxLen || r.Pos > want || (seen && r.Pos != want) {
			return fmt.Errorf("%w: row %d at position %d: session has %d of %d positions (next expected %d)", ErrBadInput, i, r.Pos, s.n, s.maxLen, want)
		}
		if !seen && !s.CanResume(r.Pos) {
			return fmt.Errorf("%w: row %d at position %d: the sliding-window cache holds positions from %d on only (truncated back more than %d)", ErrBadInput, i, r.Pos, s.lo, RewindSlack)
		}
	}
	return nil
}

// ringsWritten records, before the rows' keys and values are stored, which
// positions the sliding-window rings will still hold: a session's rows
// p..q rewrite it from p and evict the positions before q+1-ring.
func ringsWritten(rows []Row) {
	for i, r := range rows {
		s := r.Session
		first := true
		for j := i - 1; j >= 0; j-- {
			if rows[j].Session == s {
				first = false
				break
			}
		}
		if first {
			s.lo = min(s.lo, r.Pos)
		}
		s.lo = max(s.lo, r.Pos+1-s.ring)
	}
}

// attnChunks cuts rows into runs [a, b) that the sliding-window blocks
// attend over at once: no more than ring-SlidingWindow+1 rows of a session
// whose ring wraps, so that the keys a run's first row attends to are
// still in the ring when the run's last row is stored. The ends are left
// in m.buf.chunks.
func (m *Model) attnChunks(rows []Row) []int {
	ends := m.buf.chunks[:0]
	if m.Config.SlidingWindow <= 0 {
		m.buf.chunks = append(ends, len(rows))
		return m.buf.chunks
	}
	limit := func(s *Session) int {
		if s.ring >= s.maxLen {
			return len(rows)
		}
		return s.ring - m.Config.SlidingWindow + 1
	}
	count := m.buf.chunkCount
	clear(count)
	for i, r := range rows {
		if count == nil {
			count = map[*Session]int{}
			m.buf.chunkCount = count
		}
		if count[r.Session] >= limit(r.Session) {
			ends = append(ends, i)
			clear(count)
		}
		count[r.Session]++
	}
	ends = append(ends, len(rows))
	m.buf.chunks = ends
	return ends
}

// ropeThetaScale is llama.cpp's theta_scale, base^(-2/ropeDim) in float32
// (the exponent divided in float32, as ggml does).
func ropeThetaScale(base float64, ropeDim int) float32 {
	e := float32(-2) / float32(ropeDim)
	return float32(kernels.Pow(base, float64(e)))
}

// ropeTables fills the cos and sin tables of the rows' positions. The
// angles follow ggml's recurrence in float32, theta_0 = pos and theta_j+1
// = theta_j * theta_scale, each divided by the pair's frequency factor
// when the model has them; cos and sin are the canonical float64 ones
// rounded to float32. So the tables are the same bits on every CPU and
// the same angles as llama.cpp's.
//
// A model with sliding-window blocks gets a second pair of tables for them
// (their own base, no frequency factors or scaling).
func (m *Model) ropeTables(rows []Row) {
	c := &m.Config
	m.ropeTable(rows, &m.buf.cos, &m.buf.sin, m.ropeScale, c.RopeFreqFactors, c.RopeFreqScale)
	if c.SlidingWindow > 0 && !c.LocalRopeShared {
		m.ropeTable(rows, &m.buf.cosLocal, &m.buf.sinLocal, m.ropeScaleLocal, nil, 0)
	}
}

// ropeTable fills one pair of tables: the angle of pair j is theta_j (the
// recurrence), divided by ff[j] when ff is set, then times freqScale when
// that is neither 0 nor 1; cos and sin times RopeAttnFactor when that is
// neither 0 nor 1 (ggml's rope_yarn without extrapolation mixing).
func (m *Model) ropeTable(rows []Row, cosb, sinb *[]float32, thetaScale float32, ff []float32, freqScale float32) {
	half := m.Config.RopeDim / 2
	af := m.Config.RopeAttnFactor
	cos := grow(cosb, len(rows)*half)
	sin := grow(sinb, len(rows)*half)
	yarn := m.Config.RopeYarn && freqScale != 0
	for r, row := range rows {
		theta := float32(row.Pos)
		for j := 0; j < half; j++ {
			t := theta
			if ff != nil {
				t /= ff[j]
			}
			if yarn {
				cos[r*half+j], sin[r*half+j] = m.yarnCosSin(t, j, freqScale)
				theta *= thetaScale
				continue
			}
			if freqScale != 0 && freqScale != 1 {
				t = freqScale * t
			}
			s, c := kernels.Sincos(float64(t))
			cos[r*half+j], sin[r*half+j] = float32(c), float32(s)
			if af != 0 && af != 1 {
				cos[r*half+j] *= af
				sin[r*half+j] *= af
			}
			theta *= thetaScale
		}
	}
}

// yarnCosSin is ggml's rope_yarn with ext_factor 1 for the angle
// theta_extrap of pair j, in float32: interp = freqScale*theta_extrap,
// mix = ramp(j), theta = interp*(1-mix) + theta_extrap*mix; cos and sin
// of theta (the canonical float64 ones rounded) times YarnMscale.
func (m *Model) yarnCosSin(extrap float32, j int, freqScale float32) (float32, float32) {
	c := &m.Config
	interp := freqScale * extrap
	y := (float32(j) - c.YarnLow) / max(0.001, c.YarnHigh-c.YarnLow)
	mix := 1 - min(1, max(0, y))
	theta := float32(interp*(1-mix)) + float32(extrap*mix)
	s, co := kernels.Sincos(float64(theta))
	return float32(co) * c.YarnMscale, float32(s) * c.YarnMscale
}

// rope rotates each head of vec (heads * HeadDim values) for table row r
// (of the sliding-window blocks' tables when local).
func (m *Model) rope(vec []float32, heads, r int, local bool) {
	c := &m.Config
	half := c.RopeDim / 2
	cos := m.buf.cos[r*half : (r+1)*half]
	sin := m.buf.sin[r*half : (r+1)*half]
	if local && !c.LocalRopeShared {
		cos = m.buf.cosLocal[r*half : (r+1)*half]
		sin = m.buf.sinLocal[r*half : (r+1)*half]
	}
	for h := 0; h < heads; h++ {
		v := vec[h*c.HeadDim : (h+1)*c.HeadDim]
		for j := 0; j < half; j++ {
			a, b := 2*j, 2*j+1
			if c.RopeNeox {
				a, b = j, j+half
			}
			x0, x1 := v[a], v[b]
			v[a] = float32(x0*cos[j]) - float32(x1*sin[j])
			v[b] = float32(x0*sin[j]) + float32(x1*cos[j])
		}
	}
}

func (m *Model) layerForward(li int, x []float32, rows []Row) error {
	if m.layers[li].mla != nil {
		return m.mlaLayerForward(li, x, rows)
	}
	c := &m.Config
	l := &m.layers[li]
	local := c.Local(m.Span.Start + li)
	n, dim, kvDim, qDim, hidden := len(rows), c.Dim, c.KVDim(), c.QDim(), c.Hidden
	b := &m.buf
	xb := grow(&b.xb, n*dim)
	q := grow(&b.q, n*qDim)
	k := grow(&b.k, n*kvDim)
	v := grow(&b.v, n*kvDim)
	att := grow(&b.att, n*qDim)

	for r := 0; r < n; r++ {
		rmsNorm(xb[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim], l.attnNorm, c.Eps)
	}
	// Q, K and V in one job: one quantization of xb, one dispatch.
	if err := m.pool.MatMulShared(xb, n,
		kernels.Product{Dst: q, W: l.wq},
		kernels.Product{Dst: k, W: l.wk},
		kernels.Product{Dst: v, W: l.wv}); err != nil {
		return err
	}
	for r := range rows {
		qr, kr, vr := q[r*qDim:(r+1)*qDim], k[r*kvDim:(r+1)*kvDim], v[r*kvDim:(r+1)*kvDim]
		if l.bq != nil {
			addTo(qr, l.bq)
			addTo(kr, l.bk)
			addTo(vr, l.bv)
		}
		if l.qNorm != nil {
			hd := c.HeadDim
			for h := 0; h < c.Heads; h++ {
				rmsNorm(qr[h*hd:(h+1)*hd], qr[h*hd:(h+1)*hd], l.qNorm, c.Eps)
			}
			for h := 0; h < c.KVHeads; h++ {
				rmsNorm(kr[h*hd:(h+1)*hd], kr[h*hd:(h+1)*hd], l.kNorm, c.Eps)
			}
		}
		m.rope(qr, c.Heads, r, local)
		m.rope(kr, c.KVHeads, r, local)
		if c.QueryScale != 0 {
			for i := range qr {
				qr[i] *= c.QueryScale
			}
		}
	}
	window, ends := 0, []int{n}
	if local {
		window, ends = c.SlidingWindow, b.chunks
	}
	a := 0
	for _, e := range ends {
		// Store the run's keys and values (a ring slot in a
		// sliding-window block), then attend over them.
		for r := a; r < e; r++ {
			s := rows[r].Session
			slot := rows[r].Pos % (len(s.k[li]) / kvDim)
			copy(s.k[li][slot*kvDim:(slot+1)*kvDim], k[r*kvDim:(r+1)*kvDim])
			copy(s.v[li][slot*kvDim:(slot+1)*kvDim], v[r*kvDim:(r+1)*kvDim])
		}
		m.attention(li, q[a*qDim:e*qDim], att[a*qDim:e*qDim], rows[a:e], window, l.sinks)
		a = e
	}
	if err := m.pool.MatMul(xb, l.wo, att, n); err != nil {
		return err
	}
	if l.bo != nil {
		for r := 0; r < n; r++ {
			addTo(xb[r*dim:(r+1)*dim], l.bo)
		}
	}
	m.postNorm(xb, l.attnPostNorm, n)
	addTo(x, xb)

	for r := 0; r < n; r++ {
		rmsNorm(xb[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim], l.ffnNorm, c.Eps)
	}
	if l.router.Rows > 0 {
		if err := m.moe(l, xb, n); err != nil {
			return err
		}
		addTo(x, xb)
		return nil
	}
	hb := grow(&b.hb, n*hidden)
	hb2 := grow(&b.hb2, n*hidden)
	if c.GELU {
		// hb = GELU(gate) * up.
		if err := m.pool.MatMulShared(xb, n, kernels.Product{Dst: hb, W: l.wGate}, kernels.Product{Dst: hb2, W: l.wUp}); err != nil {
			return err
		}
		kernels.GeGLU(hb, hb2)
		if err := m.pool.MatMul(xb, l.wDown, hb, n); err != nil {
			return err
		}
		m.postNorm(xb, l.ffnPostNorm, n)
		addTo(x, xb)
		return nil
	}
	// hb = SiLU(gate) * up, computed per row chunk in the products' job
	// (bitwise as the two products followed by the elementwise loop).
	if err := m.pool.MatMulGLU(hb, l.wGate, hb2, l.wUp, xb, n); err != nil {
		return err
	}
	if err := m.pool.MatMul(xb, l.wDown, hb, n); err != nil {
		return err
	}
	addTo(x, xb)
	return nil
}

// postNorm RMS-normalizes n rows of xb in place with w (nil: nothing).
func (m *Model) postNorm(xb, w []float32, n int) {
	if w == nil {
		return
	}
	dim := m.Config.Dim
	for r := 0; r < n; r++ {
		rmsNorm(xb[r*dim:(r+1)*dim], xb[r*dim:(r+1)*dim], w, m.Config.Eps)
	}
}

// scoreBuffers sizes every pool worker's attention scores for the longest
// of rows' sessions and returns the number of workers.
func (m *Model) scoreBuffers(rows []Row) int {
	workers := m.pool.Workers()
	maxPos := 0
	for _, r := range rows {
		maxPos = max(maxPos, r.Pos+1)
	}
	for len(m.buf.scores) < workers {
		m.buf.scores = append(m.buf.scores, nil)
	}
	for w := 0; w < workers; w++ {
		grow(&m.buf.scores[w], maxPos)
	}
	return workers
}

// attention computes, for every row and query head, softmax(q.K/sqrt(d)).V
// over the row's session positions [0, Pos] (the last window of them when
// window > 0), writing into out (n * QDim).
func (m *Model) attention(li int, q, out []float32, rows []Row, window int, sinks []float32) {
	c := &m.Config
	group := c.Heads / c.KVHeads
	scale := attnScale(c)
	if c.QueryScale != 0 {
		scale = 1
	}
	tasks := len(rows) * c.Heads
	workers := m.scoreBuffers(rows)
	m.buf.attn = attnJob{li: li, q: q, out: out, rows: rows, tasks: tasks, workers: workers, group: group, scale: scale, window: window, sinks: sinks}
	if sc := c.AttnSoftcap; sc != 0 {
		m.buf.attn.softcap, m.buf.attn.softInv = sc, 1/sc
	}
	m.pool.Parallel(workers, m.attnFn)
	m.buf.attn = attnJob{}
}

// attnScale is 1/sqrt(HeadDim) in float32.
func attnScale(c *Config) float32 { return float32(1 / math.Sqrt(float64(c.HeadDim))) }

// attnJob is the attention work of one layer, shared by the workers.
type attnJob struct {
	li             int
	q, out         []float32
	rows           []Row
	tasks, workers int
	group          int
	scale          float32
	window         int // attend to the last window positions (0: all)
	// sinks, when set, holds a logit per query head that joins the
	// softmax's denominator (gpt-oss).
	sinks []float32
	// softcap caps the scores (AttnSoftcap); softInv is 1/softcap.
	softcap, softInv float32
}

// attnWorker computes the (row, head) tasks w, w+workers, ... of the current
// attention job. It is bound once per model so a forward pass does not
// allocate a closure per layer.
func (m *Model) attnWorker(w int) {
	c := &m.Config
	j := &m.buf.attn
	hd, kvDim, qDim := c.HeadDim, c.KVDim(), c.QDim()
	scores := m.buf.scores[w]
	for t := w; t < j.tasks; t += j.workers {
		r, h := t/c.Heads, t%c.Heads
		row := j.rows[r]
		kc, vc := row.Session.k[j.li], row.Session.v[j.li]
		qh := j.q[r*qDim+h*hd : r*qDim+(h+1)*hd]
		start := 0
		if j.window > 0 {
			start = max(0, row.Pos-j.window+1)
		}
		// Positions start..Pos are slots from start%ring on, wrapping
		// to slot 0 after the ring's last (a sliding-window block's
		// ring); both kernels work row by row in order, so the two
		// calls give the bits of one.
		ring := len(kc) / kvDim
		headOff := (h / j.group) * hd
		s0 := start % ring
		kvOff := s0*kvDim + headOff
		sc := scores[:row.Pos+1-start]
		wrap := min(len(sc), ring-s0)
		kernels.DotRowsF32(sc[:wrap], qh, kc[kvOff:], kvDim)
		kernels.DotRowsF32(sc[wrap:], qh, kc[headOff:], kvDim)
		maxS := float32(math.Inf(-1))
		for p, s := range sc {
			s *= j.scale
			if j.softcap != 0 {
				// cap * tanh(s * (1/cap)), as llama.cpp scales, tanh, scales.
				s = kernels.Tanh32(s*j.softInv) * j.softcap
			}
			sc[p] = s
			maxS = max(maxS, s)
		}
		if j.sinks != nil {
			maxS = max(maxS, j.sinks[h])
		}
		var sum float32
		for p, s := range sc {
			e := kernels.Exp32(s - maxS)
			sc[p] = e
			sum += e
		}
		if j.sinks != nil {
			sum += kernels.Exp32(j.sinks[h] - maxS)
		}
		o := j.out[r*qDim+h*hd : r*qDim+(h+1)*hd]
		clear(o)
		inv := 1 / sum
		for p, e := range sc {
			sc[p] = e * inv
		}
		kernels.AxpyRowsF32(o, sc[:wrap], vc[kvOff:], kvDim)
		kernels.AxpyRowsF32(o, sc[wrap:], vc[headOff:], kvDim)
	}
}

func rmsNorm(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(float64(v) * float64(v)) // exact product
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		dst[i] = w[i] * (v * scale)
	}
}

func addTo(dst, src []float32) {
	for i := range dst {
		dst[i] += src[i]
	}
}
