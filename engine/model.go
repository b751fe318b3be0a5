package engine

import (
	"fmt"
	"sync"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/sharding"
)

// Options says which parts of a model to load.
type Options struct {
	// Blocks is the span of transformer blocks to load. The zero value
	// loads every block; use an empty span such as {0,0} with NoBlocks.
	Blocks   sharding.Span
	NoBlocks bool
	Embed    bool // load token_embd for Embed
	Head     bool // load output_norm and the output matrix for Head
	// Pool runs the kernels; nil makes a pool over GOMAXPROCS that the
	// model owns and Close releases.
	Pool *kernels.Pool
}

// Full loads the whole model: embedding, every block and the head.
func Full() Options { return Options{Embed: true, Head: true} }

type layer struct {
	attnNorm          []float32
	wq, wk, wv, wo    kernels.Mat
	bq, bk, bv        []float32
	qNorm, kNorm      []float32 // per-head RMSNorm weights (qwen3)
	ffnNorm           []float32
	wGate, wUp, wDown kernels.Mat
	// RMSNorms of the attention and feed-forward outputs (gemma3).
	attnPostNorm, ffnPostNorm []float32
	// Mixture of experts: the router ([Experts rows, Dim cols]) and each
	// expert's gate, up and down matrices (nil in a dense block).
	router                  kernels.Mat
	expGate, expUp, expDown []kernels.Mat
	// gpt-oss: the attention output's bias, the sinks (a logit per query
	// head), the router's bias and the experts' biases (expert e's at
	// [e*width, (e+1)*width)).
	bo, sinks                  []float32
	routerB                    []float32
	expGateB, expUpB, expDownB []float32
	// deepseek2: multi-head latent attention, shared experts (nil for
	// the other architectures).
	mla *mlaLayer
}

// Model is a loaded model (or a part of one). Its methods may be called from
// several goroutines; calls that compute are serialized.
type Model struct {
	Config Config
	Span   sharding.Span // blocks loaded

	file      *gguf.File
	ownFile   bool
	pool      *kernels.Pool
	ownPool   bool
	embd      kernels.Mat // [vocab rows, dim cols]
	outNorm   []float32
	output    kernels.Mat
	layers    []layer // index i is block Span.Start+i
	hasEmbed  bool
	hasHead   bool
	ropeScale float32 // theta_scale of the RoPE angle recurrence
	// theta_scale of the sliding-window blocks (their own base)
	ropeScaleLocal float32

	mu     sync.Mutex
	buf    scratch
	attnFn func(worker int) // m.attnWorker, bound once
	mlaFn  func(worker int) // m.mlaWorker, bound once
}

// Open maps a GGUF file and loads the parts of the model opt asks for. The
// model owns the file and unmaps it on Close.
func Open(path string, opt Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := Load(f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	m.ownFile = true
	return m, nil
}

// Load builds a model over an already parsed GGUF file, which must stay
// open while the model is used. Only the tensors of the requested parts
// are validated and touched.
func Load(f *gguf.File, opt Options) (_ *Model, err error) {
	cfg, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, file: f}
	if opt.NoBlocks {
		m.Span = sharding.Span{Start: opt.Blocks.Start, End: opt.Blocks.Start}
	} else if opt.Blocks == (sharding.Span{}) {
		m.Span = sharding.Span{Start: 0, End: cfg.Layers}
	} else {
		m.Span = opt.Blocks
	}
	if m.Span.Start < 0 || m.Span.End > cfg.Layers || m.Span.Start > m.Span.End {
		return nil, fmt.Errorf("engine: block span %v outside the model's %d blocks", m.Span, cfg.Layers)
	}
	factors := "rope_freqs.weight"
	if _, ok := f.Tensor("rope_factors_long.weight"); ok {
		// LongRoPE (phi3): the long factors when the model's context
		// exceeds the original one, as llama.cpp picks them for a context
		// that long.
		factors = "rope_factors_short.weight"
		if cfg.Context > cfg.RopeOrigContext {
			factors = "rope_factors_long.weight"
		}
	}
	if rf, ok := f.Tensor(factors); ok {
		v, err := m.vector(rf.Name, cfg.RopeDim/2)
		if err != nil {
			return nil, err
		}
		m.Config.RopeFreqFactors = v
	}
	m.ropeScale = ropeThetaScale(m.Config.RopeBase, m.Config.RopeDim)
	if cfg.SlidingWindow > 0 && !cfg.LocalRopeShared {
		m.ropeScaleLocal = ropeThetaScale(cfg.RopeBaseLocal, cfg.RopeDim)
	}
	if opt.Pool != nil {
		m.pool = opt.Pool
	} else {
		m.pool = kernels.NewPool(0)
		m.ownPool = true
		defer func() {
			if err != nil {
				m.pool.Close()
			}
		}()
	}
	if opt.Embed || (opt.Head && cfg.TiedOutput) {
		get := m.matrix
		if opt.Head && cfg.TiedOutput {
			get = m.packedMatrix // also the output matrix
		}
		if m.embd, err = get("token_embd.weight", cfg.VocabSize, cfg.Dim); err != nil {
			return nil, err
		}
		m.hasEmbed = opt.Embed
	}
	if opt.Head {
		if m.outNorm, err = m.vector("output_norm.weight", cfg.Dim); err != nil {
			return nil, err
		}
		if cfg.TiedOutput {
			m.output = m.embd
		} else if m.output, err = m.packedMatrix("output.weight", cfg.VocabSize, cfg.Dim); err != nil {
			return nil, err
		}
		m.hasHead = true
	}
	kv, qd := cfg.KVDim(), cfg.QDim()
	ld := loader{m: m}
	for i := m.Span.Start; i < m.Span.End; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		if cfg.MLA.On {
			l := m.loadMLALayer(&ld, p, i)
			if ld.err != nil {
				err = ld.err
				return nil, err
			}
			m.layers = append(m.layers, l)
			continue
		}
		ffnNorm := p + "ffn_norm.weight"
		if cfg.Arch == "gpt-oss" {
			ffnNorm = p + "post_attention_norm.weight" // before the experts
		}
		l := layer{
			attnNorm: ld.vec(p+"attn_norm.weight", cfg.Dim),
			wo:       ld.mat(p+"attn_output.weight", cfg.Dim, qd),
			ffnNorm:  ld.vec(ffnNorm, cfg.Dim),
		}
		if _, fused := f.Tensor(p + "attn_qkv.weight"); fused {
			// Fused (phi3): the rows of Q, then K, then V.
			qkv := ld.split(p+"attn_qkv.weight", cfg.Dim, qd, kv, kv)
			l.wq, l.wk, l.wv = qkv[0], qkv[1], qkv[2]
		} else {
			l.wq = ld.mat(p+"attn_q.weight", qd, cfg.Dim)
			l.wk = ld.mat(p+"attn_k.weight", kv, cfg.Dim)
			l.wv = ld.mat(p+"attn_v.weight", kv, cfg.Dim)
		}
		_, hasGate := f.Tensor(p + "ffn_gate.weight")
		switch {
		case cfg.MoE():
			l.router = ld.mat(p+"ffn_gate_inp.weight", cfg.Experts, cfg.Dim)
			if _, merged := f.Tensor(p + "ffn_gate_exps.weight"); !merged && splitExperts(f, p) {
				// Older Mixtral files: a tensor per expert.
				l.expGate = ld.expertList(p+"ffn_gate.%d.weight", cfg.Experts, cfg.ExpertHidden, cfg.Dim)
				l.expUp = ld.expertList(p+"ffn_up.%d.weight", cfg.Experts, cfg.ExpertHidden, cfg.Dim)
				l.expDown = ld.expertList(p+"ffn_down.%d.weight", cfg.Experts, cfg.Dim, cfg.ExpertHidden)
				break
			}
			l.expGate = ld.experts(p+"ffn_gate_exps.weight", cfg.ExpertHidden, cfg.Dim)
			l.expUp = ld.experts(p+"ffn_up_exps.weight", cfg.ExpertHidden, cfg.Dim)
			l.expDown = ld.experts(p+"ffn_down_exps.weight", cfg.Dim, cfg.ExpertHidden)
		case !hasGate && cfg.Arch == "phi3":
			// ffn_up holds the gate's rows, then the up rows.
			up := ld.split(p+"ffn_up.weight", cfg.Dim, cfg.Hidden, cfg.Hidden)
			l.wGate, l.wUp = up[0], up[1]
			l.wDown = ld.mat(p+"ffn_down.weight", cfg.Dim, cfg.Hidden)
		default:
			l.wGate = ld.mat(p+"ffn_gate.weight", cfg.Hidden, cfg.Dim)
			l.wUp = ld.mat(p+"ffn_up.weight", cfg.Hidden, cfg.Dim)
			l.wDown = ld.mat(p+"ffn_down.weight", cfg.Dim, cfg.Hidden)
		}
		if cfg.QKVBias {
			l.bq = ld.vec(p+"attn_q.bias", qd)
			l.bk = ld.vec(p+"attn_k.bias", kv)
			l.bv = ld.vec(p+"attn_v.bias", kv)
		}
		if cfg.OutBias {
			l.bo = ld.vec(p+"attn_output.bias", cfg.Dim)
		}
		if cfg.AttnSinks {
			l.sinks = ld.vec(p+"attn_sinks.weight", cfg.Heads)
		}
		if cfg.ExpertBias {
			l.routerB = ld.vec(p+"ffn_gate_inp.bias", cfg.Experts)
			l.expGateB = ld.vecs(p+"ffn_gate_exps.bias", cfg.ExpertHidden, cfg.Experts)
			l.expUpB = ld.vecs(p+"ffn_up_exps.bias", cfg.ExpertHidden, cfg.Experts)
			l.expDownB = ld.vecs(p+"ffn_down_exps.bias", cfg.Dim, cfg.Experts)
		}
		if cfg.PostNorms {
			l.attnPostNorm = ld.vec(p+"post_attention_norm.weight", cfg.Dim)
			l.ffnPostNorm = ld.vec(p+"post_ffw_norm.weight", cfg.Dim)
		}
		if cfg.QKNorm {
			l.qNorm = ld.vec(p+"attn_q_norm.weight", cfg.HeadDim)
			l.kNorm = ld.vec(p+"attn_k_norm.weight", cfg.HeadDim)
		}
		if ld.err != nil {
			err = ld.err
			return nil, err
		}
		m.layers = append(m.layers, l)
	}
	m.attnFn = m.attnWorker
	m.mlaFn = m.mlaWorker
	return m, nil
}

// loader binds tensors by name, keeping the first error.
type loader struct {
	m   *Model
	err error
}

func (ld *loader) mat(name string, rows, cols int) kernels.Mat {
	if ld.err != nil {
		return kernels.Mat{}
	}
	w, err := ld.m.packedMatrix(name, rows, cols)
	ld.err = err
	return w
}

// split binds a tensor holding several matrices one after the other
// (parts[i] rows each, cols columns) as one Mat per part, each in the
// layout the pool reads fastest (a repacked matrix cannot be cut by rows,
// so the parts are cut first and repacked each).
func (ld *loader) split(name string, cols int, parts ...int) []kernels.Mat {
	out := make([]kernels.Mat, len(parts))
	if ld.err != nil {
		return out
	}
	rows := 0
	for _, n := range parts {
		rows += n
	}
	w, err := ld.m.matrix(name, rows, cols)
	if err != nil {
		ld.err = err
		return out
	}
	rb, a, packed := w.RowBytes(), 0, false
	for i, n := range parts {
		part := kernels.Mat{Type: w.Type, Rows: n, Cols: w.Cols, Data: w.Data[a*rb : (a+n)*rb : (a+n)*rb]}
		out[i] = ld.m.pool.Repack(part)
		packed = packed || out[i].Repacked()
		a += n
	}
	if packed {
		t, _ := ld.m.file.Tensor(name)
		ld.m.file.DropTensor(t)
	}
	return out
}

// experts binds a 3-D tensor of Experts matrices [rows, cols] (GGUF dims
// cols, rows, experts) as one Mat per expert.
func (ld *loader) experts(name string, rows, cols int) []kernels.Mat {
	if ld.err != nil {
		return nil
	}
	ms, err := ld.m.expertMats(name, rows, cols)
	ld.err = err
	return ms
}

// splitExperts reports whether block prefix p stores its experts as a
// tensor per expert (blk.N.ffn_gate.E.weight, ffn_up.E, ffn_down.E), as
// GGUFs of Mixtral converted before the merged ffn_*_exps tensors did.
func splitExperts(f *gguf.File, p string) bool {
	_, ok := f.Tensor(p + "ffn_gate.0.weight")
	return ok
}

// expertList binds n 2-D tensors named by format (with the expert's
// index) as one Mat per expert, each as a merged tensor's expert is bound.
func (ld *loader) expertList(format string, n, rows, cols int) []kernels.Mat {
	ms := make([]kernels.Mat, n)
	for e := range ms {
		ms[e] = ld.mat(fmt.Sprintf(format, e), rows, cols)
	}
	if ld.err != nil {
		return nil
	}
	return ms
}

func (m *Model) expertMats(name string, rows, cols int) ([]kernels.Mat, error) {
	return m.stackedMats(name, rows, cols, m.Config.Experts)
}

// stackedMats binds a 3-D tensor of n matrices [rows, cols] (GGUF dims
// cols, rows, n) as one Mat each.
func (m *Model) stackedMats(name string, rows, cols, n int) ([]kernels.Mat, error) {
	t, ok := m.file.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("engine: missing tensor %s", name)
	}
	if len(t.Dims) != 3 || t.Dims[0] != uint64(cols) || t.Dims[1] != uint64(rows) || t.Dims[2] != uint64(n) {
		return nil, fmt.Errorf("engine: tensor %s has shape %v, want [%d %d %d]", name, t.Dims, cols, rows, n)
	}
	dt := kernels.DType(t.Type)
	if !dt.Valid() {
		return nil, fmt.Errorf("%w: tensor %s has type %s", ErrUnsupported, name, t.Type)
	}
	rb, err := dt.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("engine: tensor %s: %w", name, err)
	}
	data, size := m.file.TensorData(t), rb*rows
	if len(data) != size*n {
		return nil, fmt.Errorf("engine: tensor %s holds %d bytes, want %d", name, len(data), size*n)
	}
	ms := make([]kernels.Mat, n)
	packed := false
	for e := range ms {
		if ms[e], err = kernels.NewMat(dt, rows, cols, data[e*size:(e+1)*size]); err != nil {
			return nil, fmt.Errorf("engine: tensor %s expert %d: %w", name, e, err)
		}
		ms[e] = m.pool.Repack(ms[e])
		packed = packed || ms[e].Repacked()
	}
	if packed {
		m.file.DropTensor(t)
	}
	return ms, nil
}

func (ld *loader) vec(name string, n int) []float32 {
	if ld.err != nil {
		return nil
	}
	v, err := ld.m.vector(name, n)
	ld.err = err
	return v
}

// vecs loads a 2-D float tensor of rows vectors of n (the experts'
// biases) as one slice.
func (ld *loader) vecs(name string, n, rows int) []float32 {
	if ld.err != nil {
		return nil
	}
	t, err := ld.m.tensor(name, rows, n)
	if err != nil {
		ld.err = err
		return nil
	}
	out := make([]float32, n*rows)
	if err := kernels.Dequantize(out, ld.m.file.TensorData(t), kernels.DType(t.Type)); err != nil {
		ld.err = fmt.Errorf("engine: tensor %s: %w", name, err)
		return nil
	}
	return out
}

// Close releases the model's pool and file if it owns them.
func (m *Model) Close() error {
	if m.ownPool {
		m.pool.Close()
	}
	if m.ownFile {
		return m.file.Close()
	}
	return nil
}

// HasEmbed and HasHead report which stages are loaded.
func (m *Model) HasEmbed() bool { return m.hasEmbed }
func (m *Model) HasHead() bool  { return m.hasHead }

// WeightBytes is the number of bytes of weights the loaded parts read per
// token: of a mixture of experts, the router and ExpertsUsed experts' share
// of the experts.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, l := range m.layers {
		for _, w := range []kernels.Mat{l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown, l.router} {
			n += int64(len(w.Data))
		}
		var exp int64
		for e := range l.expGate {
			exp += int64(len(l.expGate[e].Data) + len(l.expUp[e].Data) + len(l.expDown[e].Data))
		}
		if len(l.expGate) > 0 {
			n += exp * int64(m.Config.ExpertsUsed) / int64(len(l.expGate))
		}
		if l.mla != nil {
			n += l.mla.bytes()
		}
	}
	if m.hasHead {
		n += int64(len(m.output.Data))
	}
	return n
}

func (m *Model) tensor(name string, rows, cols int) (*gguf.TensorInfo, error) {
	t, ok := m.file.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("engine: missing tensor %s", name)
	}
	want := []uint64{uint64(cols)}
	if rows > 1 || len(t.Dims) == 2 {
		want = append(want, uint64(rows))
	}
	if len(t.Dims) != len(want) || t.Dims[0] != want[0] || (len(want) == 2 && t.Dims[1] != want[1]) {
		return nil, fmt.Errorf("engine: tensor %s has shape %v, want %v", name, t.Dims, want)
	}
	return t, nil
}

func (m *Model) matrix(name string, rows, cols int) (kernels.Mat, error) {
	t, err := m.tensor(name, rows, cols)
	if err != nil {
		return kernels.Mat{}, err
	}
	dt := kernels.DType(t.Type)
	if !dt.Valid() {
		return kernels.Mat{}, fmt.Errorf("%w: tensor %s has type %s", ErrUnsupported, name, t.Type)
	}
	mat, err := kernels.NewMat(dt, rows, cols, m.file.TensorData(t))
	if err != nil {
		return kernels.Mat{}, fmt.Errorf("engine: tensor %s: %w", name, err)
	}
	return mat, nil
}

// packedMatrix is matrix in the layout the model's pool reads fastest
// (kernels.Pool.Repack): a repacked copy, the file's pages of the
// original dropped from memory, or the file's data as it is.
func (m *Model) packedMatrix(name string, rows, cols int) (kernels.Mat, error) {
	w, err := m.matrix(name, rows, cols)
	if err != nil {
		return w, err
	}
	if p := m.pool.Repack(w); p.Repacked() {
		t, _ := m.file.Tensor(name)
		m.file.DropTensor(t)
		return p, nil
	}
	return w, nil
}

// vector loads a 1-D tensor (norm weights, biases) as float32.
func (m *Model) vector(name string, n int) ([]float32, error) {
	t, err := m.tensor(name, 1, n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	if err := kernels.Dequantize(out, m.file.TensorData(t), kernels.DType(t.Type)); err != nil {
		return nil, fmt.Errorf("engine: tensor %s: %w", name, err)
	}
	return out, nil
}
