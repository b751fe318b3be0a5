package engine

import (
	"fmt"
	"math"

	"github.com/orbitswarm/orbit/engine/kernels"
)

// mlaLayer holds a deepseek2 block's attention matrices (beside layer's
// attnNorm, wq, wo and ffnNorm) and its shared experts and selection bias.
type mlaLayer struct {
	wqA, wqB kernels.Mat // attn_q_a and attn_q_b when QLora > 0
	qANorm   []float32   // attn_q_a_norm
	wkvA     kernels.Mat
	kvANorm  []float32
	// kB[h] is head h's K_h^T ([KVLora rows, HeadDim-RopeDim cols]),
	// vB[h] its V_h ([VHeadDim rows, KVLora cols]).
	kB, vB []kernels.Mat
	// The shared experts as one gated feed-forward (nil Data: none).
	shGate, shUp, shDown kernels.Mat
	probsB               []float32 // exp_probs_b: bias of the choice (V3)
}

// mlaScratch holds the buffers of a deepseek2 block's forward pass.
type mlaScratch struct {
	qa     []float32 // n * QLora
	qc     []float32 // n * Heads * (KVLora + RopeDim): absorbed queries
	g, t   []float32 // gathered rows of one head, and their product
	lat    []float32 // n * Heads * KVLora: attention outputs in the latent
	sh     []float32 // n * Dim: the shared experts' output
	selp   []float32 // Experts: the choice's biased probabilities
	groups []float32 // Groups: a group's score
	keep   []bool    // Groups: the groups chosen
	job    mlaJob
}

// mlaJob is the attention work of one deepseek2 layer.
type mlaJob struct {
	li             int
	q, out         []float32
	rows           []Row
	tasks, workers int
}

// loadMLALayer binds block i's tensors (prefix p) of a deepseek2 model.
func (m *Model) loadMLALayer(ld *loader, p string, i int) layer {
	c := &m.Config
	a := &c.MLA
	dim, heads, hd, rope := c.Dim, c.Heads, c.HeadDim, c.RopeDim
	nope, kvl, vh := hd-rope, a.KVLora, a.VHeadDim
	ml := &mlaLayer{}
	l := layer{
		attnNorm: ld.vec(p+"attn_norm.weight", dim),
		wo:       ld.mat(p+"attn_output.weight", dim, heads*vh),
		ffnNorm:  ld.vec(p+"ffn_norm.weight", dim),
		mla:      ml,
	}
	if a.QLora > 0 {
		ml.wqA = ld.mat(p+"attn_q_a.weight", a.QLora, dim)
		ml.qANorm = ld.vec(p+"attn_q_a_norm.weight", a.QLora)
		ml.wqB = ld.mat(p+"attn_q_b.weight", heads*hd, a.QLora)
	} else {
		l.wq = ld.mat(p+"attn_q.weight", heads*hd, dim)
	}
	ml.wkvA = ld.mat(p+"attn_kv_a_mqa.weight", kvl+rope, dim)
	ml.kvANorm = ld.vec(p+"attn_kv_a_norm.weight", kvl)
	if a.SplitKVB {
		ml.kB = ld.stacked(p+"attn_k_b.weight", kvl, nope, heads)
		ml.vB = ld.stacked(p+"attn_v_b.weight", vh, kvl, heads)
	} else {
		ml.kB, ml.vB = ld.kvB(p+"attn_kv_b.weight", nope, vh, kvl, heads)
	}
	if c.Dense(i) {
		l.wGate = ld.mat(p+"ffn_gate.weight", c.Hidden, dim)
		l.wUp = ld.mat(p+"ffn_up.weight", c.Hidden, dim)
		l.wDown = ld.mat(p+"ffn_down.weight", dim, c.Hidden)
		return l
	}
	l.router = ld.mat(p+"ffn_gate_inp.weight", c.Experts, dim)
	l.expGate = ld.experts(p+"ffn_gate_exps.weight", c.ExpertHidden, dim)
	l.expUp = ld.experts(p+"ffn_up_exps.weight", c.ExpertHidden, dim)
	l.expDown = ld.experts(p+"ffn_down_exps.weight", dim, c.ExpertHidden)
	if sw := a.SharedExperts * c.ExpertHidden; sw > 0 {
		ml.shGate = ld.mat(p+"ffn_gate_shexp.weight", sw, dim)
		ml.shUp = ld.mat(p+"ffn_up_shexp.weight", sw, dim)
		ml.shDown = ld.mat(p+"ffn_down_shexp.weight", dim, sw)
	}
	if _, ok := m.file.Tensor(p + "exp_probs_b.bias"); ok {
		ml.probsB = ld.vec(p+"exp_probs_b.bias", c.Experts)
	}
	return l
}

// stacked binds a 3-D tensor of n matrices [rows, cols] (GGUF dims cols,
// rows, n) as one Mat each.
func (ld *loader) stacked(name string, rows, cols, n int) []kernels.Mat {
	if ld.err != nil {
		return nil
	}
	ms, err := ld.m.stackedMats(name, rows, cols, n)
	ld.err = err
	return ms
}

// kvB binds an older file's attn_kv_b ([heads * (nope + vh) rows, kvl
// cols]: per head nope rows of K_h, then vh rows of V_h) as K_h^T (in f16,
// f32 when the file's matrix is f32) and V_h per head.
func (ld *loader) kvB(name string, nope, vh, kvl, heads int) (kB, vB []kernels.Mat) {
	if ld.err != nil {
		return nil, nil
	}
	w, err := ld.m.matrix(name, heads*(nope+vh), kvl)
	if err != nil {
		ld.err = err
		return nil, nil
	}
	kt := kernels.F16
	if w.Type == kernels.F32 {
		kt = kernels.F32
	}
	rb := w.RowBytes()
	row := make([]float32, kvl)
	tr := make([]float32, kvl*nope)
	for h := 0; h < heads; h++ {
		base := h * (nope + vh)
		for i := 0; i < nope; i++ {
			if err := kernels.Dequantize(row, w.Data[(base+i)*rb:(base+i+1)*rb], w.Type); err != nil {
				ld.err = fmt.Errorf("engine: tensor %s: %w", name, err)
				return nil, nil
			}
			for j, v := range row {
				tr[j*nope+i] = v
			}
		}
		krb, _ := kt.RowBytes(nope)
		data := make([]byte, krb*kvl)
		for j := 0; j < kvl; j++ {
			if err := kernels.Quantize(data[j*krb:(j+1)*krb], tr[j*nope:(j+1)*nope], kt); err != nil {
				ld.err = fmt.Errorf("engine: tensor %s: %w", name, err)
				return nil, nil
			}
		}
		k, err := kernels.NewMat(kt, kvl, nope, data)
		if err != nil {
			ld.err = fmt.Errorf("engine: tensor %s: %w", name, err)
			return nil, nil
		}
		kB = append(kB, ld.m.pool.Repack(k))
		v := kernels.Mat{Type: w.Type, Rows: vh, Cols: kvl, Data: w.Data[(base+nope)*rb : (base+nope+vh)*rb : (base+nope+vh)*rb]}
		vB = append(vB, ld.m.pool.Repack(v))
	}
	return kB, vB
}

// bytes is the size of the block's attention matrices and shared experts.
func (ml *mlaLayer) bytes() int64 {
	n := int64(len(ml.wqA.Data) + len(ml.wqB.Data) + len(ml.wkvA.Data) + len(ml.shGate.Data) + len(ml.shUp.Data) + len(ml.shDown.Data))
	for h := range ml.kB {
		n += int64(len(ml.kB[h].Data) + len(ml.vB[h].Data))
	}
	return n
}

// ropePairs rotates adjacent pairs of v (RopeDim values) for table row r.
func (m *Model) ropePairs(v []float32, r int) {
	half := m.Config.RopeDim / 2
	cos := m.buf.cos[r*half : (r+1)*half]
	sin := m.buf.sin[r*half : (r+1)*half]
	for j := 0; j < half; j++ {
		x0, x1 := v[2*j], v[2*j+1]
		v[2*j] = float32(x0*cos[j]) - float32(x1*sin[j])
		v[2*j+1] = float32(x0*sin[j]) + float32(x1*cos[j])
	}
}

// mlaLayerForward is layerForward for a deepseek2 block: multi-head latent
// attention over the cached [c, k_pe] rows, then a dense feed-forward or
// the routed experts plus the shared ones.
func (m *Model) mlaLayerForward(li int, x []float32, rows []Row) error {
	c := &m.Config
	a := &c.MLA
	l := &m.layers[li]
	ml := l.mla
	n, dim, heads, hd, rope := len(rows), c.Dim, c.Heads, c.HeadDim, c.RopeDim
	nope, kvl, vh := hd-rope, a.KVLora, a.VHeadDim
	kvw, qd := kvl+rope, heads*hd
	b := &m.buf
	mb := &b.mla
	xb := grow(&b.xb, n*dim)
	q := grow(&b.q, n*qd)
	kv := grow(&b.k, n*kvw)
	for r := 0; r < n; r++ {
		rmsNorm(xb[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim], l.attnNorm, c.Eps)
	}
	if a.QLora > 0 {
		qa := grow(&mb.qa, n*a.QLora)
		if err := m.pool.MatMulShared(xb, n, kernels.Product{Dst: qa, W: ml.wqA}, kernels.Product{Dst: kv, W: ml.wkvA}); err != nil {
			return err
		}
		for r := 0; r < n; r++ {
			rmsNorm(qa[r*a.QLora:(r+1)*a.QLora], qa[r*a.QLora:(r+1)*a.QLora], ml.qANorm, c.Eps)
		}
		if err := m.pool.MatMul(q, ml.wqB, qa, n); err != nil {
			return err
		}
	} else if err := m.pool.MatMulShared(xb, n, kernels.Product{Dst: q, W: l.wq}, kernels.Product{Dst: kv, W: ml.wkvA}); err != nil {
		return err
	}
	for r, row := range rows {
		kr := kv[r*kvw : (r+1)*kvw]
		rmsNorm(kr[:kvl], kr[:kvl], ml.kvANorm, c.Eps)
		m.ropePairs(kr[kvl:], r)
		for h := 0; h < heads; h++ {
			m.ropePairs(q[r*qd+h*hd+nope:r*qd+(h+1)*hd], r)
		}
		copy(row.Session.k[li][row.Pos*kvw:(row.Pos+1)*kvw], kr)
	}
	// The absorbed queries [K_h^T . q_nope, q_pe], head by head over the
	// batch's rows.
	qc := grow(&mb.qc, n*heads*kvw)
	g := grow(&mb.g, n*max(nope, kvl))
	t := grow(&mb.t, n*max(kvl, vh))
	for h := 0; h < heads; h++ {
		for r := 0; r < n; r++ {
			copy(g[r*nope:(r+1)*nope], q[r*qd+h*hd:r*qd+h*hd+nope])
		}
		if err := m.pool.MatMul(t[:n*kvl], ml.kB[h], g[:n*nope], n); err != nil {
			return err
		}
		for r := 0; r < n; r++ {
			dst := qc[(r*heads+h)*kvw : (r*heads+h+1)*kvw]
			copy(dst[:kvl], t[r*kvl:(r+1)*kvl])
			copy(dst[kvl:], q[r*qd+h*hd+nope:r*qd+(h+1)*hd])
		}
	}
	lat := grow(&mb.lat, n*heads*kvl)
	m.mlaAttention(li, qc, lat, rows)
	att := grow(&b.att, n*heads*vh)
	for h := 0; h < heads; h++ {
		for r := 0; r < n; r++ {
			copy(g[r*kvl:(r+1)*kvl], lat[(r*heads+h)*kvl:(r*heads+h+1)*kvl])
		}
		if err := m.pool.MatMul(t[:n*vh], ml.vB[h], g[:n*kvl], n); err != nil {
			return err
		}
		for r := 0; r < n; r++ {
			copy(att[r*heads*vh+h*vh:r*heads*vh+(h+1)*vh], t[r*vh:(r+1)*vh])
		}
	}
	if err := m.pool.MatMul(xb, l.wo, att, n); err != nil {
		return err
	}
	addTo(x, xb)

	for r := 0; r < n; r++ {
		rmsNorm(xb[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim], l.ffnNorm, c.Eps)
	}
	if l.router.Rows == 0 {
		hidden := c.Hidden
		hb, hb2 := grow(&b.hb, n*hidden), grow(&b.hb2, n*hidden)
		if err := m.pool.MatMulGLU(hb, l.wGate, hb2, l.wUp, xb, n); err != nil {
			return err
		}
		if err := m.pool.MatMul(xb, l.wDown, hb, n); err != nil {
			return err
		}
		addTo(x, xb)
		return nil
	}
	var sh []float32
	if sw := ml.shGate.Rows; sw > 0 {
		sh = grow(&mb.sh, n*dim)
		hb, hb2 := grow(&b.hb, n*sw), grow(&b.hb2, n*sw)
		if err := m.pool.MatMulGLU(hb, ml.shGate, hb2, ml.shUp, xb, n); err != nil {
			return err
		}
		if err := m.pool.MatMul(sh, ml.shDown, hb, n); err != nil {
			return err
		}
	}
	if err := m.moe(l, xb, n); err != nil {
		return err
	}
	if sh != nil {
		addTo(xb, sh) // routed experts + shared experts
	}
	addTo(x, xb)
	return nil
}

// mlaAttention computes, for every row and head, softmax(Scale * qc .
// cache) over the row's session positions [0, Pos], and the same weights'
// sum of the cached c (the first KVLora values of each cached row) into
// out (n * Heads * KVLora).
func (m *Model) mlaAttention(li int, qc, out []float32, rows []Row) {
	c := &m.Config
	workers := m.scoreBuffers(rows)
	m.buf.mla.job = mlaJob{li: li, q: qc, out: out, rows: rows, tasks: len(rows) * c.Heads, workers: workers}
	m.pool.Parallel(workers, m.mlaFn)
	m.buf.mla.job = mlaJob{}
}

// mlaWorker computes the (row, head) tasks w, w+workers, ... of the
// current deepseek2 attention job.
func (m *Model) mlaWorker(w int) {
	c := &m.Config
	j := &m.buf.mla.job
	kvl := c.MLA.KVLora
	kvw := kvl + c.RopeDim
	scale := c.MLA.Scale
	scores := m.buf.scores[w]
	for t := w; t < j.tasks; t += j.workers {
		row := j.rows[t/c.Heads]
		cache := row.Session.k[j.li]
		qh := j.q[t*kvw : (t+1)*kvw]
		sc := scores[:row.Pos+1]
		kernels.DotRowsF32(sc, qh, cache, kvw)
		maxS := float32(math.Inf(-1))
		for p, s := range sc {
			s *= scale
			sc[p] = s
			maxS = max(maxS, s)
		}
		var sum float32
		for p, s := range sc {
			e := kernels.Exp32(s - maxS)
			sc[p] = e
			sum += e
		}
		inv := 1 / sum
		for p, e := range sc {
			sc[p] = e * inv
		}
		o := j.out[t*kvl : (t+1)*kvl]
		clear(o)
		kernels.AxpyRowsF32(o, sc, cache, kvw)
	}
}

// routeMLA is route for deepseek2 (DeepSeek-V2 and V3), llama.cpp's
// build_moe_ffn with its gating: probabilities p = softmax(logits) or
// sigmoid(logits) (1 / (1 + Exp32(-x))); the choice ranks p + bias (bias:
// exp_probs_b, when set) and, with Groups, only among the GroupsUsed
// groups whose two highest ranks sum highest (of equal sums the lower
// group first); the ExpertsUsed best experts (the lower index first of
// equal ranks) weigh p, renormalized with ExpertNorm and scaled by
// ExpertScale as route does. sc's selp, groups and keep are its scratch.
func routeMLA(c *Config, logits, bias []float32, sel []int32, w []float32, sc *mlaScratch) {
	a := &c.MLA
	if a.Sigmoid {
		for i, v := range logits {
			logits[i] = 1 / (1 + kernels.Exp32(-v))
		}
	} else {
		softmax(logits)
	}
	s := grow(&sc.selp, len(logits))
	copy(s, logits)
	if bias != nil {
		addTo(s, bias)
	}
	if a.Groups > 1 {
		per := len(s) / a.Groups
		gs := grow(&sc.groups, a.Groups)
		for g := range gs {
			top1, top2 := float32(math.Inf(-1)), float32(math.Inf(-1))
			for _, v := range s[g*per : (g+1)*per] {
				if v > top1 {
					top1, top2 = v, top1
				} else if v > top2 {
					top2 = v
				}
			}
			gs[g] = top1 + top2
		}
		if cap(sc.keep) < a.Groups {
			sc.keep = make([]bool, a.Groups)
		}
		keep := sc.keep[:a.Groups]
		clear(keep)
		for range a.GroupsUsed {
			best := -1
			for g, v := range gs {
				if keep[g] || (best >= 0 && !(v > gs[best])) {
					continue
				}
				best = g
			}
			keep[best] = true
		}
		for g, k := range keep {
			if !k {
				for i := g * per; i < (g+1)*per; i++ {
					s[i] = float32(math.Inf(-1))
				}
			}
		}
	}
	for j := range sel {
		best := -1
		for e, v := range s {
			if best >= 0 && !(v > s[best]) {
				continue
			}
			if taken(sel[:j], e) {
				continue
			}
			best = e
		}
		sel[j], w[j] = int32(best), logits[best]
	}
	if c.ExpertNorm {
		var sum float64
		for _, v := range w {
			sum += float64(v)
		}
		t := max(float32(sum), minExpertWeightSum)
		for j := range w {
			w[j] /= t
		}
	}
	if f := c.ExpertScale; f != 0 && f != 1 {
		for j := range w {
			w[j] *= f
		}
	}
}
