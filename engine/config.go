// Package engine runs transformer language models (the llama, qwen2, qwen3,
// qwen3moe, phi3, gemma2, gemma3, gpt-oss and deepseek2 architectures, dense
// or mixtures of experts) on the CPU, split into three separable stages so that a node can
// run any part of a model:
//
//	Embed(tokens)                 -> hidden states
//	Blocks[a,b)(hidden, sessions) -> hidden states
//	Head(hidden)                  -> logits
//
// A Model is loaded from a GGUF file for a span of transformer blocks and,
// optionally, the embedding and the output head; only the tensors of what is
// loaded are touched, so a node serving blocks [a,b) of a large model keeps
// little more than those blocks resident. Every stage takes a batch of rows:
// several positions of one sequence (prefill) and rows of several sequences
// (decode), each sequence with its own KV cache (a Session).
//
// Results are bitwise reproducible: a row's output does not depend on which
// other rows share its batch, on the thread count, or on how the blocks are
// split across calls. Running [0,2) then [2,4) equals running [0,4).
package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
)

// ErrUnsupported is wrapped by errors about models this engine cannot run.
var ErrUnsupported = errors.New("engine: unsupported model")

// Config holds a model's hyper-parameters.
type Config struct {
	Arch       string // "llama", "qwen2", "qwen3", "qwen3moe", "phi3", "gemma2", "gemma3", "gpt-oss" or "deepseek2"
	Dim        int    // embedding length
	Hidden     int    // feed-forward length
	Layers     int    // transformer blocks
	Heads      int    // query heads
	KVHeads    int    // key/value heads (grouped-query attention)
	HeadDim    int    // key_length, else Dim / Heads
	QKNorm     bool   // per-head RMSNorm of queries and keys (qwen3)
	VocabSize  int
	Context    int     // training context length
	RopeBase   float64 // rope theta
	RopeDim    int     // dimensions rotated per head
	RopeNeox   bool    // rotate split halves (qwen2) instead of adjacent pairs (llama)
	Eps        float32 // RMSNorm epsilon
	QKVBias    bool
	TiedOutput bool // the head reuses token_embd
	// RopeFreqFactors divides each rope frequency (Llama 3.1 style scaling);
	// nil when the model has none.
	RopeFreqFactors []float32

	// RopeAttnFactor multiplies RoPE's cos and sin (LongRoPE's
	// rope.scaling.attn_factor); 0 or 1 for none.
	RopeAttnFactor float32
	// RopeOrigContext is rope.scaling.original_context_length: a phi3
	// model whose Context exceeds it rotates with rope_factors_long, else
	// with rope_factors_short.
	RopeOrigContext int
	// QueryScale, when not 0, multiplies the queries after RoPE and the
	// scores are not scaled (phi3: 1/sqrt(HeadDim); gemma3: the same, or
	// 1/sqrt(Dim/Heads) for its 27B, as llama.cpp computes them).
	QueryScale float32

	// Gemma 3: EmbedScale multiplies the embeddings (sqrt(Dim)); PostNorms:
	// RMSNorms of the attention and feed-forward outputs before their
	// residual adds; GELU: the gated feed-forward is GELU(gate)*up.
	EmbedScale float32
	PostNorms  bool
	GELU       bool
	// SlidingWindow > 0: the blocks Local reports attend only to the last
	// SlidingWindow positions and rotate with RopeBaseLocal, unscaled.
	SlidingWindow  int
	SlidingPattern int // every SlidingPattern-th block is global (0: all local)
	RopeBaseLocal  float64
	// RopeFreqScale multiplies the global blocks' rope angles (linear
	// scaling, 1/rope.scaling.factor; with RopeYarn, YaRN's); 0 or 1 for
	// none.
	RopeFreqScale float32
	// FinalSoftcap, when not 0, caps the logits: cap*tanh(logit/cap).
	FinalSoftcap float32
	// AttnSoftcap, when not 0, caps the attention scores the same way
	// before the softmax (gemma2).
	AttnSoftcap float32

	// Mixture of experts (Mixtral in llama files, qwen3moe): every block's
	// feed-forward is Experts gated feed-forwards of ExpertHidden, of which
	// a router picks ExpertsUsed per row. Experts is 0 in a dense model.
	Experts      int
	ExpertsUsed  int
	ExpertHidden int
	// ExpertNorm divides the chosen experts' router probabilities by their
	// sum (Mixtral, Qwen3-MoE's norm_topk_prob).
	ExpertNorm bool
	// ExpertScale multiplies the chosen experts' weights when it is
	// neither 0 nor 1 (expert_weights_scale).
	ExpertScale float32

	// gpt-oss: AttnSinks: a learned logit per query head joins every
	// softmax of attention (attn_sinks); OutBias: attn_output has a bias;
	// ExpertBias: the router and the experts' matrices have biases;
	// WeightSoftmax: the router picks the top ExpertsUsed logits and its
	// weights are the softmax over those alone; SwiGLUOAI: the experts'
	// activation is kernels.SwiGLUOAI; LocalRopeShared: sliding-window
	// blocks rotate as the global ones (same base, same scaling).
	AttnSinks, OutBias, ExpertBias bool
	WeightSoftmax, SwiGLUOAI       bool
	LocalRopeShared                bool
	// YaRN RoPE scaling (rope.scaling.type yarn), as ggml's rope_yarn with
	// ext_factor 1: pair j's angle mixes theta*RopeFreqScale and theta by
	// ramp(j) = 1 - clamp((j - YarnLow) / max(0.001, YarnHigh - YarnLow), 0, 1),
	// cos and sin times YarnMscale.
	RopeYarn          bool
	YarnLow, YarnHigh float32
	YarnMscale        float32

	// DeepSeek-V2/V3 (deepseek2): multi-head latent attention and shared
	// experts; see MLA.
	MLA MLA
}

// Local reports whether block i uses sliding-window attention.
func (c *Config) Local(i int) bool {
	if c.SlidingWindow <= 0 {
		return false
	}
	return c.SlidingPattern == 0 || i%c.SlidingPattern < c.SlidingPattern-1
}

// MoE reports whether the blocks' feed-forwards are mixtures of experts.
func (c *Config) MoE() bool { return c.Experts > 0 }

// BlockParams is the number of weights of one transformer block (norms and
// biases left out): attention, and the feed-forward or all of its experts
// and the router.
func (c *Config) BlockParams() int64 {
	if c.MLA.On {
		return c.mlaBlockParams(false)
	}
	qd, kv, dim := int64(c.QDim()), int64(c.KVDim()), int64(c.Dim)
	n := 2*dim*qd + 2*dim*kv
	if c.MoE() {
		return n + int64(c.Experts)*(dim+3*dim*int64(c.ExpertHidden))
	}
	return n + 3*dim*int64(c.Hidden)
}

// ActiveBlockParams is the number of weights one token reads in one block:
// BlockParams with only the ExpertsUsed experts a row is routed to.
func (c *Config) ActiveBlockParams() int64 {
	if !c.MoE() {
		return c.BlockParams()
	}
	if c.MLA.On {
		return c.mlaBlockParams(true)
	}
	qd, kv, dim := int64(c.QDim()), int64(c.KVDim()), int64(c.Dim)
	return 2*dim*qd + 2*dim*kv + int64(c.Experts)*dim + int64(c.ExpertsUsed)*3*dim*int64(c.ExpertHidden)
}

// KVDim is the width of the keys and values of one position in one layer
// (of multi-head latent attention: the compressed keys and values and the
// rotated key part that its KV cache holds).
func (c *Config) KVDim() int {
	if c.MLA.On {
		return c.MLA.KVLora + c.RopeDim
	}
	return c.KVHeads * c.HeadDim
}

// QDim is the width of the queries and of the attention output of one
// position (Dim unless the heads are sized apart, as in qwen3).
func (c *Config) QDim() int { return c.Heads * c.HeadDim }

// invSqrt32 is 1/sqrt(n) computed in float32, as llama.cpp writes
// 1.0f/sqrtf(float(n)).
func invSqrt32(n int) float32 {
	return 1 / float32(math.Sqrt(float64(float32(n))))
}

// readGemma3 reads Gemma 3's settings as llama.cpp does: embeddings times
// sqrt(Dim), post-norms, GELU, queries scaled by 1/sqrt(HeadDim) (the
// 62-block 27B: 1/sqrt(Dim/Heads)); with attention.sliding_window, blocks
// local but every sliding_window_pattern-th (default 6), local blocks
// rotating with rope.freq_base_swa (default 10000); linear rope scaling
// (rope.scaling.factor) of the global blocks; final_logit_softcapping.
// The norm weights are used as stored: llama.cpp's converter already
// added Gemma's +1.
func (c *Config) readGemma3(f *gguf.File) error {
	a := c.Arch
	c.EmbedScale = float32(math.Sqrt(float64(float32(c.Dim))))
	c.PostNorms, c.GELU = true, true
	c.QueryScale = invSqrt32(c.HeadDim)
	if c.Layers == 62 {
		c.QueryScale = invSqrt32(c.Dim / c.Heads)
	}
	if w, err := f.Int(a + ".attention.sliding_window"); err == nil && w > 0 {
		if w > 1<<24 {
			return fmt.Errorf("engine: %s.attention.sliding_window = %d out of range", a, w)
		}
		c.SlidingWindow, c.SlidingPattern = int(w), 6
		if v, ok := f.Get(a + ".attention.sliding_window_pattern"); ok {
			p, ok := v.Int()
			if !ok || p < 0 || p > 1<<16 {
				return fmt.Errorf("%w: %s.attention.sliding_window_pattern %v", ErrUnsupported, a, v.Any())
			}
			c.SlidingPattern = int(p)
		}
		c.RopeBaseLocal = 10000
		if v, e := f.Float(a + ".rope.freq_base_swa"); e == nil {
			c.RopeBaseLocal = v
		}
		if !(c.RopeBaseLocal > 1) || math.IsInf(c.RopeBaseLocal, 0) {
			return fmt.Errorf("engine: local rope base %v invalid", c.RopeBaseLocal)
		}
	}
	if v, e := f.Float(a + ".rope.scaling.factor"); e == nil && v != 0 && v != 1 {
		if t, e := f.String(a + ".rope.scaling.type"); e == nil && t != "linear" {
			return fmt.Errorf("%w: %s rope scaling %q", ErrUnsupported, a, t)
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("engine: %s.rope.scaling.factor = %v out of range", a, v)
		}
		c.RopeFreqScale = 1 / float32(v)
	}
	if v, e := f.Float(a + ".final_logit_softcapping"); e == nil && v != 0 {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("engine: %s.final_logit_softcapping = %v out of range", a, v)
		}
		c.FinalSoftcap = float32(v)
	}
	return nil
}

// readGemma2 reads Gemma 2's settings as llama.cpp does: gemma3's
// embedding scale, post-norms, GELU and query scale (the 46-block 27B:
// 1/sqrt(Dim/Heads)), every other block (the even ones) local with
// attention.sliding_window (default 4096) rotating with rope.freq_base_swa
// (default the global base), attention scores capped at
// attn_logit_softcapping (default 50) and logits at
// final_logit_softcapping (default 30). The head is always token_embd.
func (c *Config) readGemma2(f *gguf.File) error {
	a := c.Arch
	c.EmbedScale = float32(math.Sqrt(float64(float32(c.Dim))))
	c.PostNorms, c.GELU = true, true
	c.QueryScale = invSqrt32(c.HeadDim)
	if c.Layers == 46 {
		c.QueryScale = invSqrt32(c.Dim / c.Heads)
	}
	c.SlidingWindow, c.SlidingPattern, c.RopeBaseLocal = 4096, 2, c.RopeBase
	if w, err := f.Int(a + ".attention.sliding_window"); err == nil {
		if w <= 0 || w > 1<<24 {
			return fmt.Errorf("engine: %s.attention.sliding_window = %d out of range", a, w)
		}
		c.SlidingWindow = int(w)
	}
	if v, ok := f.Get(a + ".attention.sliding_window_pattern"); ok {
		p, ok := v.Int()
		if !ok || p < 0 || p > 1<<16 {
			return fmt.Errorf("%w: %s.attention.sliding_window_pattern %v", ErrUnsupported, a, v.Any())
		}
		c.SlidingPattern = int(p)
	}
	if v, e := f.Float(a + ".rope.freq_base_swa"); e == nil {
		if !(v > 1) || math.IsInf(v, 0) {
			return fmt.Errorf("engine: local rope base %v invalid", v)
		}
		c.RopeBaseLocal = v
	}
	c.AttnSoftcap, c.FinalSoftcap = 50, 30
	for _, k := range []struct {
		key string
		dst *float32
	}{{"attn_logit_softcapping", &c.AttnSoftcap}, {"final_logit_softcapping", &c.FinalSoftcap}} {
		if v, e := f.Float(a + "." + k.key); e == nil {
			if !(v > 0) || math.IsInf(v, 0) {
				return fmt.Errorf("engine: %s.%s = %v out of range", a, k.key, v)
			}
			*k.dst = float32(v)
		}
	}
	return nil
}

// readGPTOSS reads gpt-oss's settings as llama.cpp does: every block a
// mixture of expert_feed_forward_length experts with biases, routed by a
// softmax over the top expert_used_count biased logits (no
// renormalization), SwiGLU-OAI activations; attention sinks and biases on
// q, k, v and the output; the even blocks sliding-window
// (attention.sliding_window, required) rotating as the odd ones; YaRN
// (rope.scaling.type yarn, readRopeScaling) with rope.scaling.factor,
// original_context_length and attn_factor, beta_fast 32, beta_slow 1.
func (c *Config) readGPTOSS(f *gguf.File) error {
	a := c.Arch
	if !c.MoE() {
		return fmt.Errorf("engine: gpt-oss without %s.expert_count", a)
	}
	h, err := f.Int(a + ".expert_feed_forward_length")
	if err != nil || h <= 0 || h > 1<<24 {
		return fmt.Errorf("engine: gpt-oss %s.expert_feed_forward_length missing or out of range", a)
	}
	c.ExpertHidden = int(h)
	if c.Hidden == 0 {
		c.Hidden = c.ExpertHidden
	}
	c.ExpertNorm = false
	c.AttnSinks, c.OutBias, c.ExpertBias = true, true, true
	c.WeightSoftmax, c.SwiGLUOAI, c.LocalRopeShared = true, true, true
	w, err := f.Int(a + ".attention.sliding_window")
	if err != nil || w <= 0 || w > 1<<24 {
		return fmt.Errorf("engine: gpt-oss %s.attention.sliding_window missing or out of range", a)
	}
	c.SlidingWindow, c.SlidingPattern, c.RopeBaseLocal = int(w), 2, c.RopeBase
	if v, ok := f.Get(a + ".attention.sliding_window_pattern"); ok {
		p, ok := v.Int()
		if !ok || p < 0 || p > 1<<16 {
			return fmt.Errorf("%w: %s.attention.sliding_window_pattern %v", ErrUnsupported, a, v.Any())
		}
		c.SlidingPattern = int(p)
	}
	if v, e := f.Float(a + ".rope.freq_base_swa"); e == nil && float32(v) != float32(c.RopeBase) {
		return fmt.Errorf("%w: gpt-oss with a sliding-window rope base %v apart from %v", ErrUnsupported, v, c.RopeBase)
	}
	return c.readRopeScaling(f)
}

// readRopeScaling reads RoPE scaling as llama.cpp does for every block of
// the llama, qwen2, qwen3, qwen3moe and gpt-oss architectures:
// rope.scaling.type (default linear; none turns scaling off) and
// rope.scaling.factor (else the older rope.scale_linear); linear scaling
// multiplies the angles by 1/factor, yarn mixes them (setYarn) with
// rope.scaling.original_context_length and rope.scaling.attn_factor
// (RopeOrigContext and RopeAttnFactor, read before). llama.cpp reads
// rope.scaling.yarn_ext_factor, yarn_attn_factor, yarn_beta_fast,
// yarn_beta_slow and yarn_log_multiplier for other architectures only
// (grok, mistral3, deepseek2), so for these they are ignored as there:
// extrapolation mix 1, betas 32 and 1.
func (c *Config) readRopeScaling(f *gguf.File) error {
	a := c.Arch
	typ := "linear"
	if t, e := f.String(a + ".rope.scaling.type"); e == nil {
		typ = t
	}
	v, e := f.Float(a + ".rope.scaling.factor")
	if e != nil {
		v, e = f.Float(a + ".rope.scale_linear")
	}
	if e != nil || v == 0 || v == 1 || typ == "none" {
		return nil
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("engine: %s.rope.scaling.factor = %v out of range", a, v)
	}
	fs := 1 / float32(v)
	switch typ {
	case "linear":
		c.RopeFreqScale = fs
		return nil
	case "yarn":
	default:
		return fmt.Errorf("%w: %s rope scaling %q", ErrUnsupported, a, typ)
	}
	if c.RopeOrigContext <= 0 {
		return fmt.Errorf("engine: %s yarn scaling without an original context length", a)
	}
	c.RopeFreqScale = fs
	c.setYarn(fs)
	return nil
}

// logf is the canonical natural logarithm rounded to float32.
func logf(x float32) float32 { return float32(kernels.Log(float64(x))) }

// setYarn computes YaRN's correction range and magnitude for frequency
// scale fs as llama.cpp does in float32: factor = 1/fs; attn = (0.1*ln
// factor + 1) * (1/(1 + 0.1*ln factor)) * rope.scaling.attn_factor (the
// context's factor, cancelled against ggml's); mscale = attn * (1 + 0.1 *
// ln(1/fs)); low = max(0, floor(d(32))), high = min(RopeDim-1, ceil(d(1)))
// with d(beta) = RopeDim * ln(orig / (beta*2*pi)) / (2 * ln base).
func (c *Config) setYarn(fs float32) {
	c.RopeYarn = true
	factor := 1 / fs
	attn := float32(1)
	if factor > 1 {
		attn = float32(0.1)*logf(factor) + 1
	}
	if c.MLA.On && c.MLA.YarnLogMul != 0 {
		attn = c.MLA.yarnMscaleRatio(factor)
	}
	attn *= 1 / (1 + float32(0.1)*logf(factor))
	if c.RopeAttnFactor != 0 {
		attn *= c.RopeAttnFactor
	}
	c.YarnMscale = attn * (1 + float32(0.1)*logf(1/fs))
	base := float32(c.RopeBase)
	corr := func(beta float32) float32 {
		return float32(c.RopeDim) * logf(float32(c.RopeOrigContext)/(beta*2*float32(math.Pi))) / (2 * logf(base))
	}
	c.YarnLow = max(0, float32(math.Floor(float64(corr(32)))))
	c.YarnHigh = min(float32(c.RopeDim-1), float32(math.Ceil(float64(corr(1)))))
}

// readExperts reads the mixture-of-experts keys: expert_count and
// expert_used_count (both or neither), the experts' width (llama, as
// llama.cpp reads Mixtral: feed_forward_length; qwen3moe:
// expert_feed_forward_length, else feed_forward_length / expert_used_count), expert_weights_norm (default
// true: Mixtral and Qwen3-MoE renormalize) and expert_weights_scale.
func (c *Config) readExperts(f *gguf.File) error {
	a := c.Arch
	ne, e1 := f.Int(a + ".expert_count")
	nu, e2 := f.Int(a + ".expert_used_count")
	if e1 != nil || ne == 0 {
		if c.Arch == "qwen3moe" {
			return fmt.Errorf("engine: qwen3moe without %s.expert_count", a)
		}
		return nil
	}
	if e2 != nil || ne < 0 || ne > 1<<12 || nu <= 0 || nu > ne {
		return fmt.Errorf("engine: %d experts with %d used per token out of range", ne, nu)
	}
	c.Experts, c.ExpertsUsed = int(ne), int(nu)
	c.ExpertHidden = c.Hidden
	if c.Arch == "deepseek2" {
		c.ExpertHidden = 0 // readDeepseek2: expert_feed_forward_length
	}
	if c.Arch == "qwen3moe" {
		c.ExpertHidden = c.Hidden / c.ExpertsUsed
		if h, err := f.Int(a + ".expert_feed_forward_length"); err == nil {
			if h <= 0 || h > 1<<24 {
				return fmt.Errorf("engine: %s.expert_feed_forward_length = %d out of range", a, h)
			}
			c.ExpertHidden = int(h)
		}
	}
	if c.ExpertHidden <= 0 && c.Arch != "gpt-oss" && c.Arch != "deepseek2" { // readGPTOSS, readDeepseek2
		return fmt.Errorf("engine: expert feed-forward length %d out of range", c.ExpertHidden)
	}
	c.ExpertNorm = c.Arch != "deepseek2" // llama.cpp's default for deepseek2: off
	if v, ok := f.Get(a + ".expert_weights_norm"); ok {
		b, ok := v.Any().(bool)
		if !ok {
			return fmt.Errorf("engine: %s.expert_weights_norm is %s, want a bool", a, v.Type)
		}
		c.ExpertNorm = b
	}
	if v, err := f.Float(a + ".expert_weights_scale"); err == nil {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("engine: %s.expert_weights_scale = %v out of range", a, v)
		}
		c.ExpertScale = float32(v)
	}
	return nil
}

// ConfigFromGGUF reads the hyper-parameters of a GGUF of one of the
// architectures the engine runs.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	var c Config
	arch, err := f.String("general.architecture")
	if err != nil {
		return c, err
	}
	switch arch {
	case "llama", "qwen2", "qwen3", "qwen3moe", "mistral", "phi3", "gemma2", "gemma3", "gpt-oss", "deepseek2":
	default:
		return c, fmt.Errorf("%w: architecture %q (want llama, mistral, qwen2, qwen3, qwen3moe, phi3, gemma2, gemma3, gpt-oss or deepseek2)", ErrUnsupported, arch)
	}
	c.Arch = arch
	geti := func(key string, dst *int, def int) {
		if err != nil {
			return
		}
		v, e := f.Int(arch + "." + key)
		if e != nil {
			if def >= 0 {
				*dst = def
				return
			}
			err = e
			return
		}
		if v <= 0 || v > 1<<24 {
			err = fmt.Errorf("engine: %s.%s = %d out of range", arch, key, v)
			return
		}
		*dst = int(v)
	}
	geti("embedding_length", &c.Dim, -1)
	ffDefault := -1
	if arch == "gpt-oss" {
		ffDefault = 0 // optional: the experts' width is what counts
	}
	geti("feed_forward_length", &c.Hidden, ffDefault)
	geti("block_count", &c.Layers, -1)
	geti("attention.head_count", &c.Heads, -1)
	geti("context_length", &c.Context, 2048)
	if err != nil {
		return c, err
	}
	geti("attention.head_count_kv", &c.KVHeads, c.Heads)
	if err != nil {
		return c, err
	}
	if c.Heads%c.KVHeads != 0 {
		return c, fmt.Errorf("engine: %d heads, %d kv heads do not divide", c.Heads, c.KVHeads)
	}
	if arch == "deepseek2" {
		if err := c.readMLAHeads(f); err != nil {
			return c, err
		}
	} else if kl, e := f.Int(arch + ".attention.key_length"); e == nil {
		if kl <= 0 || kl > 1<<12 || kl%2 != 0 {
			return c, fmt.Errorf("engine: %s.attention.key_length = %d out of range", arch, kl)
		}
		if vl, e := f.Int(arch + ".attention.value_length"); e == nil && vl != kl {
			return c, fmt.Errorf("%w: value_length %d differs from key_length %d", ErrUnsupported, vl, kl)
		}
		c.HeadDim = int(kl)
	} else {
		if c.Dim%c.Heads != 0 {
			return c, fmt.Errorf("engine: dim %d is not a multiple of %d heads", c.Dim, c.Heads)
		}
		c.HeadDim = c.Dim / c.Heads
	}
	geti("rope.dimension_count", &c.RopeDim, c.HeadDim)
	if err != nil {
		return c, err
	}
	if c.RopeDim > c.HeadDim || c.RopeDim%2 != 0 || (c.MLA.On && c.RopeDim >= c.HeadDim) {
		return c, fmt.Errorf("engine: rope dimension %d invalid for head size %d", c.RopeDim, c.HeadDim)
	}
	c.RopeBase = 10000
	if v, e := f.Float(arch + ".rope.freq_base"); e == nil {
		c.RopeBase = v
	}
	if !(c.RopeBase > 1) || math.IsInf(c.RopeBase, 0) {
		return c, fmt.Errorf("engine: rope base %v invalid", c.RopeBase)
	}
	c.Eps = 1e-5
	if v, e := f.Float(arch + ".attention.layer_norm_rms_epsilon"); e == nil {
		c.Eps = float32(v)
	}
	c.RopeNeox = arch == "qwen2" || arch == "qwen3" || arch == "qwen3moe" || arch == "phi3" || arch == "gemma2" || arch == "gemma3" || arch == "gpt-oss"
	if arch == "phi3" {
		c.QueryScale = invSqrt32(c.HeadDim)
	}
	if arch == "gemma3" {
		if err := c.readGemma3(f); err != nil {
			return c, err
		}
	}
	if arch == "gemma2" {
		if err := c.readGemma2(f); err != nil {
			return c, err
		}
	}
	c.RopeOrigContext = c.Context
	if v, e := f.Int(arch + ".rope.scaling.original_context_length"); e == nil && v > 0 && v <= 1<<24 {
		c.RopeOrigContext = int(v)
	}
	if v, e := f.Float(arch + ".rope.scaling.attn_factor"); e == nil {
		if !(v > 0) || math.IsInf(v, 0) {
			return c, fmt.Errorf("engine: %s.rope.scaling.attn_factor = %v out of range", arch, v)
		}
		c.RopeAttnFactor = float32(v)
	}
	switch arch {
	case "llama", "mistral", "qwen2", "qwen3", "qwen3moe":
		if err := c.readRopeScaling(f); err != nil {
			return c, err
		}
	}
	c.QKVBias = arch == "qwen2" || arch == "gpt-oss"
	c.QKNorm = arch == "qwen3" || arch == "qwen3moe" || arch == "gemma3"
	if err := c.readExperts(f); err != nil {
		return c, err
	}
	if arch == "gpt-oss" {
		if err := c.readGPTOSS(f); err != nil {
			return c, err
		}
	}
	if arch == "deepseek2" {
		if err := c.readDeepseek2(f); err != nil {
			return c, err
		}
	}
	// The vocabulary size comes from the embedding when the file has it, else
	// from metadata, so a file holding only some blocks still loads.
	if emb, ok := f.Tensor("token_embd.weight"); ok {
		if len(emb.Dims) != 2 || int(emb.Dims[0]) != c.Dim {
			return c, fmt.Errorf("engine: token_embd.weight has shape %v, want [%d, vocab]", emb.Dims, c.Dim)
		}
		c.VocabSize = int(emb.Dims[1])
	} else if v, e := f.Int(arch + ".vocab_size"); e == nil && v > 0 && v < 1<<24 {
		c.VocabSize = int(v)
	} else if v, ok := f.Get("tokenizer.ggml.tokens"); ok && v.Len() > 0 {
		c.VocabSize = v.Len()
	} else {
		return c, fmt.Errorf("engine: no token_embd.weight, %s.vocab_size or tokenizer to size the vocabulary", arch)
	}
	_, hasOut := f.Tensor("output.weight")
	c.TiedOutput = !hasOut || arch == "gemma2"
	return c, nil
}
