package engine

import (
	"fmt"
	"math"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// MLA holds the settings of DeepSeek-V2/V3's multi-head latent attention
// and of its mixtures of experts (GGUF architecture deepseek2, which
// DeepSeek-V2, V2-Lite, V2.5, V3, R1 and Kimi K2 files name).
//
// A block's attention: the queries are attn_q . x, or with QLora > 0
// attn_q_b . RMSNorm(attn_q_a . x); each head's HeadDim values are a part
// of HeadDim-RopeDim values without position ("nope") and RopeDim values
// rotated by RoPE (adjacent pairs). attn_kv_a_mqa . x gives KVLora values,
// normed with attn_kv_a_norm (the compressed keys and values c), and
// RopeDim values rotated as one key part shared by every head (k_pe). Head
// h's keys are [K_h . c, k_pe] and its values V_h . c, with K_h and V_h
// from attn_k_b and attn_v_b (or the rows of attn_kv_b in older files).
//
// The engine computes it absorbed, as llama.cpp does for files with
// attn_k_b: the KV cache holds only [c, k_pe] (KVLora + RopeDim values a
// position and layer, instead of Heads * (HeadDim + VHeadDim)); a head's
// query becomes [K_h^T . q_nope, q_pe], its scores the dot products with
// the cached rows times the attention scale, and its output V_h . (the
// softmax-weighted sum of the cached c).
type MLA struct {
	On       bool
	QLora    int  // attention.q_lora_rank (0: attn_q)
	KVLora   int  // attention.kv_lora_rank
	VHeadDim int  // a head's value width
	SplitKVB bool // attn_k_b and attn_v_b (else attn_kv_b)
	// Scale multiplies the scores: mscale^2/sqrt(HeadDim), mscale being
	// YaRN's magnitude with rope.scaling.yarn_log_multiplier, as llama.cpp
	// computes kq_scale for deepseek2.
	Scale float32
	// YarnLogMul is rope.scaling.yarn_log_multiplier / 0.1 (the
	// converter's factor cancelled, as llama.cpp reads it).
	YarnLogMul float32
	// The first LeadingDense blocks have a dense feed-forward of Hidden;
	// the others SharedExperts shared experts (of ExpertHidden each, as
	// one gated feed-forward) beside the routed ones.
	LeadingDense  int
	SharedExperts int
	// Sigmoid: the router's probabilities are sigmoids of its logits
	// (expert_gating_func 2, DeepSeek-V3) instead of their softmax (1),
	// and exp_probs_b biases them for the choice only.
	Sigmoid bool
	// Groups > 1: the experts are Groups groups of Experts/Groups; a row
	// chooses among the GroupsUsed groups whose two best (biased)
	// probabilities sum highest.
	Groups, GroupsUsed int
}

// Dense reports whether block i's feed-forward is dense.
func (c *Config) Dense(i int) bool {
	return !c.MoE() || (c.MLA.On && i < c.MLA.LeadingDense)
}

// AttnDim is the width of the attention output of one position: the
// heads' values side by side (QDim unless the value heads are sized
// apart, as in deepseek2).
func (c *Config) AttnDim() int {
	if c.MLA.On {
		return c.Heads * c.MLA.VHeadDim
	}
	return c.QDim()
}

// readMLAHeads reads deepseek2's head sizes: kv_lora_rank and q_lora_rank
// (0 or absent: attn_q); with key_length_mla and value_length_mla (files
// with attn_k_b and attn_v_b) those are a head's sizes, else key_length
// and value_length are (files with attn_kv_b).
func (c *Config) readMLAHeads(f *gguf.File) error {
	a := c.Arch
	c.MLA.On = true
	get := func(key string, def int64) (int, error) {
		v, err := f.Int(a + "." + key)
		if err != nil {
			if def >= 0 {
				return int(def), nil
			}
			return 0, fmt.Errorf("engine: %s.%s missing", a, key)
		}
		if v < 0 || v > 1<<16 || (v == 0 && def < 0) {
			return 0, fmt.Errorf("engine: %s.%s = %d out of range", a, key, v)
		}
		return int(v), nil
	}
	var err error
	if c.MLA.KVLora, err = get("attention.kv_lora_rank", -1); err != nil {
		return err
	}
	if c.MLA.QLora, err = get("attention.q_lora_rank", 0); err != nil {
		return err
	}
	def := int64(c.Dim / c.Heads)
	_, e1 := f.Int(a + ".attention.key_length_mla")
	_, e2 := f.Int(a + ".attention.value_length_mla")
	keys := [2]string{"attention.key_length", "attention.value_length"}
	if e1 == nil && e2 == nil {
		c.MLA.SplitKVB = true
		keys = [2]string{"attention.key_length_mla", "attention.value_length_mla"}
		def = -1
	}
	if c.HeadDim, err = get(keys[0], def); err != nil {
		return err
	}
	if c.MLA.VHeadDim, err = get(keys[1], def); err != nil {
		return err
	}
	if c.HeadDim == 0 || c.MLA.VHeadDim == 0 {
		return fmt.Errorf("engine: deepseek2 heads of %d and %d values", c.HeadDim, c.MLA.VHeadDim)
	}
	// Every head reads the one cached latent: the KV cache has one "head".
	c.KVHeads = 1
	return nil
}

// readDeepseek2 reads the rest of deepseek2's settings as llama.cpp does:
// nextn_predict_layers (blocks not counted), leading_dense_block_count, expert_feed_forward_length,
// expert_shared_count, expert_gating_func (default softmax),
// expert_group_count and expert_group_used_count (readExperts read the
// counts, expert_weights_norm, default off, and expert_weights_scale), and
// the attention scale with YaRN's rope.scaling.yarn_log_multiplier.
func (c *Config) readDeepseek2(f *gguf.File) error {
	a := c.Arch
	m := &c.MLA
	// Multi-token-prediction blocks (nextn_predict_layers) come after the
	// model's own: the engine runs the trunk, as llama.cpp generates.
	if v, err := f.Int(a + ".nextn_predict_layers"); err == nil && v > 0 {
		if v >= int64(c.Layers) {
			return fmt.Errorf("engine: %s.nextn_predict_layers = %d of %d blocks", a, v, c.Layers)
		}
		c.Layers -= int(v)
	}
	if v, err := f.Int(a + ".leading_dense_block_count"); err == nil {
		if v < 0 || v > int64(c.Layers) {
			return fmt.Errorf("engine: %s.leading_dense_block_count = %d out of range", a, v)
		}
		m.LeadingDense = int(v)
	}
	if m.LeadingDense < c.Layers && !c.MoE() {
		return fmt.Errorf("engine: deepseek2 with %d dense blocks of %d and no %s.expert_count", m.LeadingDense, c.Layers, a)
	}
	if c.MoE() {
		h, err := f.Int(a + ".expert_feed_forward_length")
		if err != nil || h <= 0 || h > 1<<24 {
			return fmt.Errorf("engine: deepseek2 %s.expert_feed_forward_length missing or out of range", a)
		}
		c.ExpertHidden = int(h)
		s, err := f.Int(a + ".expert_shared_count")
		if err != nil || s < 0 || s > 1<<8 {
			return fmt.Errorf("engine: deepseek2 %s.expert_shared_count missing or out of range", a)
		}
		m.SharedExperts = int(s)
		if v, err := f.Int(a + ".expert_gating_func"); err == nil {
			switch v {
			case 0, 1: // none: V2 files without the key
			case 2:
				m.Sigmoid = true
			default:
				return fmt.Errorf("%w: %s.expert_gating_func %d", ErrUnsupported, a, v)
			}
		}
		g, _ := f.Int(a + ".expert_group_count")
		gu, _ := f.Int(a + ".expert_group_used_count")
		if g > 1 {
			if g >= int64(c.Experts) || int64(c.Experts)%g != 0 || gu <= 0 || gu >= g || c.ExpertsUsed > int(gu)*(c.Experts/int(g)) {
				return fmt.Errorf("engine: %d experts in %d groups, %d used", c.Experts, g, gu)
			}
			m.Groups, m.GroupsUsed = int(g), int(gu)
		}
	}
	if v, err := f.Float(a + ".attention.temperature_scale"); err == nil && v != 0 {
		return fmt.Errorf("%w: deepseek2 attention temperature scaling", ErrUnsupported)
	}
	if v, err := f.Float(a + ".rope.scaling.yarn_log_multiplier"); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("engine: %s.rope.scaling.yarn_log_multiplier = %v", a, v)
		}
		m.YarnLogMul = float32(v) / 0.1
	}
	typ := "linear"
	if t, e := f.String(a + ".rope.scaling.type"); e == nil {
		typ = t
	}
	fs := float32(1)
	if v, e := f.Float(a + ".rope.scaling.factor"); e == nil && v != 0 && typ != "none" {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("engine: %s.rope.scaling.factor = %v out of range", a, v)
		}
		fs = 1 / float32(v)
	}
	// The magnitude RoPE's cos and sin carry (llama.cpp's attn_factor
	// after its YaRN adjustment is cancelled), then kq_scale.
	switch {
	case typ == "yarn":
		c.RopeFreqScale = fs
		c.setYarn(fs)
	case typ == "linear" || typ == "none":
		if fs != 1 {
			c.RopeFreqScale = fs
		}
	default:
		return fmt.Errorf("%w: %s rope scaling %q", ErrUnsupported, a, typ)
	}
	org := c.YarnMscale
	if !c.RopeYarn {
		org = 1
		if c.RopeAttnFactor != 0 {
			org = c.RopeAttnFactor
		}
		org *= 1 + float32(0.1)*logf(1/fs)
	}
	ms := org * (1 + float32(0.1)*m.YarnLogMul*logf(1/fs))
	m.Scale = ms * ms / float32(math.Sqrt(float64(float32(c.HeadDim))))
	return nil
}

// yarnMscaleRatio is llama.cpp's yarn_attn_factor before its last two
// factors for a model with yarn_log_multiplier: mscale(factor, m) /
// mscale(factor, YarnLogMul), m being YarnLogMul for deepseek2 unless it is
// 1 (then 1), with mscale(s, m) = 0.1*m*ln(s) + 1 (1 for s <= 1).
func (m *MLA) yarnMscaleRatio(factor float32) float32 {
	get := func(s, ms float32) float32 {
		if s <= 1 {
			return 1
		}
		return float32(0.1)*ms*logf(s) + 1
	}
	all := m.YarnLogMul
	ms := float32(1)
	if all != 1 {
		ms = all
	}
	return get(factor, ms) / get(factor, all)
}

// mlaBlockParams is BlockParams (active: ActiveBlockParams) of a deepseek2
// block with experts: attention, router, and all experts (active: the
// ExpertsUsed routed ones) and the shared ones.
func (c *Config) mlaBlockParams(active bool) int64 {
	m := &c.MLA
	dim, heads, hd := int64(c.Dim), int64(c.Heads), int64(c.HeadDim)
	kvl, rope, vh := int64(m.KVLora), int64(c.RopeDim), int64(m.VHeadDim)
	n := dim * heads * hd // attn_q
	if m.QLora > 0 {
		n = dim*int64(m.QLora) + int64(m.QLora)*heads*hd
	}
	n += dim*(kvl+rope) + kvl*heads*(hd-rope+vh) + heads*vh*dim
	if !c.MoE() {
		return n + 3*dim*int64(c.Hidden)
	}
	used := int64(c.Experts)
	if active {
		used = int64(c.ExpertsUsed)
	}
	return n + int64(c.Experts)*dim + (used+int64(m.SharedExperts))*3*dim*int64(c.ExpertHidden)
}
