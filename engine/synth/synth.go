// Package synth writes GGUF models with random weights, real shapes and a
// real vocabulary, for speed and scale tests of the engine.
//
// The weights carry no knowledge, but every tensor has the shape, type and
// name a converted model of that architecture has, and the metadata matches
// what llama.cpp's converters write, so loaders, kernels and memory use are
// exercised exactly as with a real model of that size.
//
// # Determinism
//
// Every value is a function of (Options.Seed, tensor name, row index): row
// r of a tensor is drawn from its own PCG stream seeded from a hash of the
// seed, the name and r. Any tensor, or any row of one, can therefore be
// generated independently of the others, tensors can be produced in
// parallel, and the same options always give a byte-identical file
// whatever the number of CPUs.
//
// Matrices hold values uniform in [-a, a] with a = sqrt(3)/sqrt(fan_in)
// (standard deviation 1/sqrt(fan_in), fan_in being the row length), which
// keeps activations of order one through many layers; norm weights are
// 1.0; biases have standard deviation 0.02.
//
// Write streams the tensors as it generates them, so a model of many
// gigabytes (for example "llama-8b") never sits in memory.
package synth

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// Shape is the architecture and hyperparameters of a model.
type Shape struct {
	Name           string
	Arch           string // GGUF general.architecture: "llama", "qwen2", "qwen3", "qwen3moe", "phi3", "gemma2", "gemma3", "gpt-oss" or "deepseek2"
	Dim            int    // embedding width
	Hidden         int    // feed-forward width
	Layers         int
	Heads          int
	KVHeads        int
	Context        int
	RopeBase       float32
	Eps            float32 // RMSNorm epsilon
	QKVBias        bool    // attention projections have biases (qwen2)
	TiedEmbeddings bool    // the output head shares token_embd (no output.weight)
	// Head is the width of one attention head when it is not Dim/Heads
	// (qwen3); 0 means Dim/Heads.
	Head int
	// QKNorm: per-head RMSNorm of queries and keys before RoPE (qwen3).
	QKNorm bool
	// Experts > 0 makes every block's feed-forward a mixture of Experts
	// experts (ffn_gate_inp, ffn_{gate,up,down}_exps), ExpertsUsed per
	// token, each ExpertHidden wide (0: Hidden, as Mixtral's llama files;
	// qwen3moe writes it as expert_feed_forward_length).
	Experts, ExpertsUsed, ExpertHidden int
	// LongRoPE (phi3): rope_factors_long and rope_factors_short, with
	// RopeOrigContext as rope.scaling.original_context_length and
	// RopeAttnFactor as rope.scaling.attn_factor.
	LongRoPE        bool
	RopeOrigContext int
	RopeAttnFactor  float32
	// Gemma 3: SlidingWindow > 0 makes every block but each
	// SlidingPattern-th a sliding-window block rotating with RopeBaseLocal;
	// RopeScaling is the global blocks' linear rope scaling factor (0:
	// none); FinalSoftcap the final logit soft-capping (0: none).
	SlidingWindow, SlidingPattern int
	RopeBaseLocal, RopeScaling    float32
	FinalSoftcap                  float32
	// AttnSoftcap caps the attention scores (gemma2; 0: none).
	AttnSoftcap float32
	// RouterTies gives experts 2i and 2i+1 the same router row, so their
	// router probabilities tie exactly (to test top-k tie-breaking).
	RouterTies bool
	// YaRN (gpt-oss): RopeScaling is written as a yarn factor with
	// RopeOrigContext as rope.scaling.original_context_length, and
	// RopeAttnFactor, when not 0, as rope.scaling.attn_factor.
	YaRN bool
	// DeepSeek-V2/V3 (deepseek2; see MLA): Head is a head's query and key
	// width, of which the last RopeDims are rotated.
	MLA MLA
	// YarnKeys, when set, are written as rope.scaling.yarn_ext_factor,
	// yarn_attn_factor, yarn_beta_fast, yarn_beta_slow and
	// yarn_log_multiplier (llama.cpp reads them for a few other
	// architectures only).
	YarnKeys *YarnKeys
}

// YarnKeys are YaRN's optional GGUF keys.
type YarnKeys struct {
	ExtFactor, AttnFactor, BetaFast, BetaSlow, LogMultiplier float32
}

// MLA is the part of a Shape particular to deepseek2: multi-head latent
// attention and mixtures of experts with shared experts.
type MLA struct {
	QLora    int // > 0: attn_q_a, attn_q_a_norm, attn_q_b (else attn_q)
	KVLora   int // compressed keys' and values' width
	RopeDims int // rotated part of a head's queries and keys
	VHead    int // a head's value width
	// LegacyKVB writes attn_kv_b (files converted before llama.cpp split
	// it) instead of attn_k_b and attn_v_b.
	LegacyKVB bool
	// The first LeadingDense blocks are dense (Hidden wide); the others
	// have SharedExperts shared experts beside the routed ones.
	LeadingDense, SharedExperts int
	// Sigmoid gating with an exp_probs_b bias (DeepSeek-V3), else softmax.
	Sigmoid bool
	// Groups > 1: expert groups, GroupsUsed of them chosen per token.
	Groups, GroupsUsed int
	// ExpertScale is expert_weights_scale; ExpertNorm expert_weights_norm.
	ExpertScale float32
	ExpertNorm  bool
	// YarnLogMul is written as rope.scaling.yarn_log_multiplier (with
	// YaRN; the converter's 0.1 * mscale_all_dim).
	YarnLogMul float32
}

// ExpertWidth is the feed-forward width of one expert.
func (s Shape) ExpertWidth() int {
	if s.ExpertHidden > 0 {
		return s.ExpertHidden
	}
	return s.Hidden
}

// maxContext caps the context length of the large shapes so that KV caches
// sized from the metadata stay reasonable in tests.
const maxContext = 8192

// Shapes returns the predefined shapes:
//
//	tiny        llama, dim 64, hidden 192, 4 layers, 4 heads, 2 KV heads, ctx 512, tied
//	small       llama, dim 256, hidden 768, 4 layers, 4 heads, 2 KV heads, ctx 2048, tied:
//	            the smallest shape whose matrices are whole k-quant super-blocks
//	llama-1b    Llama 3.2 1B: dim 2048, hidden 8192, 16 layers, 32/8 heads, tied
//	llama-8b    Llama 3 8B: dim 4096, hidden 14336, 32 layers, 32/8 heads, untied
//	qwen2-0.5b  Qwen2 0.5B: dim 896, hidden 4864, 24 layers, 14/2 heads, QKV bias, tied
//	qwen3-tiny  qwen3, dim 256, hidden 768, 4 layers, 4/2 heads of 128, q/k norms, tied
//	qwen3-0.6b  Qwen3 0.6B: dim 1024, hidden 3072, 28 layers, 16/8 heads of 128, q/k norms, tied
//	mixtral-tiny      llama MoE, dim 256, 8 experts of 256 (2 used), 2 layers, 4/2 heads, tied
//	mixtral-8x7b      Mixtral 8x7B: dim 4096, 8 experts of 14336 (2 used), 32 layers, 32/8 heads, untied
//	qwen3moe-tiny     qwen3moe, dim 256, 16 experts of 128 (4 used), 2 layers, 4/2 heads of 64, tied
//	qwen3moe-30b-a3b  Qwen3-30B-A3B: dim 2048, 128 experts of 768 (8 used), 48 layers, 32/4 heads of 128, untied
//	phi3-tiny         phi3 (fused attn_qkv, ffn_up holding gate and up), dim 256, hidden 512, 2 layers, 4 heads, untied
//	phi3-mini         Phi-3-mini-128k: dim 3072, hidden 8192, 32 layers, 32 heads, LongRoPE, untied
//	gemma2-tiny       gemma2, dim 256, hidden 512, 4 layers, 4/2 heads, sliding window 8 every other block,
//	                  attention and final logit soft-capping (50, 30), tied
//	gemma2-2b         Gemma 2 2B: dim 2304, hidden 9216, 26 layers, 8/4 heads of 256, window 4096, tied
//	gemma3-tiny       gemma3, dim 256, hidden 512, 4 layers, 4/2 heads, sliding window 8 every other block,
//	                  global rope scaled by 8, final logit soft-capping 30, tied
//	gemma3-1b         Gemma 3 1B: dim 1152, hidden 6912, 26 layers, 4/1 heads of 256, window 512 (5 of 6 blocks), tied
//	gemma3-4b         Gemma 3 4B (text): dim 2560, hidden 10240, 34 layers, 8/4 heads of 256, window 1024, rope x8, tied
//	gpt-oss-tiny      gpt-oss, dim 256, 8 experts of 256 (4 used), 4 layers, 4/2 heads of 64, sliding window 8
//	                  every other block, YaRN x8 from 256, attention sinks, biases, untied
//	gpt-oss-20b       gpt-oss-20b: dim 2880, 32 experts of 2880 (4 used), 24 layers, 64/8 heads of 64,
//	                  window 128, YaRN x32 from 4096, untied
//	deepseek2-tiny    deepseek2 (DeepSeek-V2-Lite style), dim 256, 3 layers (1 dense of 512), 4 heads of
//	                  64+32 (values 64), queries by attn_q, latent 128, 8 experts of 128 (2 used) and 1
//	                  shared, softmax routing, YaRN x4 from 512 with mscale 0.707, untied
//	deepseek3-tiny    deepseek2 (DeepSeek-V3 style), dim 256, 3 layers (1 dense of 512), 4 heads of 64+32
//	                  (values 64), queries through a rank-128 attn_q_a, latent 128, 16 experts of 128 in 4
//	                  groups (2 used; 4 experts used) and 1 shared, sigmoid routing with exp_probs_b,
//	                  renormalized and scaled by 2.5, YaRN x4 from 512, untied
//	deepseek-v2-lite  DeepSeek-V2-Lite: dim 2048, 27 layers (1 dense of 10944), 16 heads of 128+64 (values
//	                  128), latent 512, 64 experts of 1408 (6 used) and 2 shared, YaRN x40 from 4096, untied
//	deepseek-v3       DeepSeek-V3/R1: dim 7168, 61 layers (3 dense of 18432), 128 heads of 128+64, q rank
//	                  1536, latent 512, 256 experts of 2048 in 8 groups (4 used; 8 experts used) and 1
//	                  shared, sigmoid routing, scale 2.5, YaRN x40 from 4096, untied
//
// gpt-oss models of type mxfp4 store the experts as MXFP4 and the other
// matrices as q8_0, as the published gpt-oss GGUFs do.
//
// Context lengths above 8192 are capped to 8192. Llama 3's rope frequency
// scaling (rope_freqs.weight) is not reproduced.
func Shapes() []Shape {
	return []Shape{
		{Name: "tiny", Arch: "llama", Dim: 64, Hidden: 192, Layers: 4, Heads: 4, KVHeads: 2, Context: 512,
			RopeBase: 10000, Eps: 1e-5, TiedEmbeddings: true},
		{Name: "small", Arch: "llama", Dim: 256, Hidden: 768, Layers: 4, Heads: 4, KVHeads: 2, Context: 2048,
			RopeBase: 10000, Eps: 1e-5, TiedEmbeddings: true},
		{Name: "llama-1b", Arch: "llama", Dim: 2048, Hidden: 8192, Layers: 16, Heads: 32, KVHeads: 8, Context: min(131072, maxContext),
			RopeBase: 500000, Eps: 1e-5, TiedEmbeddings: true},
		{Name: "llama-8b", Arch: "llama", Dim: 4096, Hidden: 14336, Layers: 32, Heads: 32, KVHeads: 8, Context: maxContext,
			RopeBase: 500000, Eps: 1e-5},
		{Name: "qwen2-0.5b", Arch: "qwen2", Dim: 896, Hidden: 4864, Layers: 24, Heads: 14, KVHeads: 2, Context: min(32768, maxContext),
			RopeBase: 1e6, Eps: 1e-6, QKVBias: true, TiedEmbeddings: true},
		{Name: "qwen3-tiny", Arch: "qwen3", Dim: 256, Hidden: 768, Layers: 4, Heads: 4, KVHeads: 2, Head: 128, Context: 512,
			RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true},
		{Name: "qwen3-0.6b", Arch: "qwen3", Dim: 1024, Hidden: 3072, Layers: 28, Heads: 16, KVHeads: 8, Head: 128, Context: min(40960, maxContext),
			RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true},
		{Name: "mixtral-tiny", Arch: "llama", Dim: 256, Hidden: 256, Layers: 2, Heads: 4, KVHeads: 2, Context: 512,
			RopeBase: 1e6, Eps: 1e-5, TiedEmbeddings: true, Experts: 8, ExpertsUsed: 2},
		{Name: "mixtral-8x7b", Arch: "llama", Dim: 4096, Hidden: 14336, Layers: 32, Heads: 32, KVHeads: 8, Context: maxContext,
			RopeBase: 1e6, Eps: 1e-5, Experts: 8, ExpertsUsed: 2},
		{Name: "qwen3moe-tiny", Arch: "qwen3moe", Dim: 256, Hidden: 512, Layers: 2, Heads: 4, KVHeads: 2, Head: 64, Context: 512,
			RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true, Experts: 16, ExpertsUsed: 4, ExpertHidden: 128},
		{Name: "qwen3moe-30b-a3b", Arch: "qwen3moe", Dim: 2048, Hidden: 6144, Layers: 48, Heads: 32, KVHeads: 4, Head: 128, Context: min(40960, maxContext),
			RopeBase: 1e6, Eps: 1e-6, QKNorm: true, Experts: 128, ExpertsUsed: 8, ExpertHidden: 768},
		{Name: "phi3-tiny", Arch: "phi3", Dim: 256, Hidden: 512, Layers: 2, Heads: 4, KVHeads: 4, Context: 2048,
			RopeBase: 10000, Eps: 1e-5},
		{Name: "phi3-mini", Arch: "phi3", Dim: 3072, Hidden: 8192, Layers: 32, Heads: 32, KVHeads: 32, Context: maxContext,
			RopeBase: 10000, Eps: 1e-5, LongRoPE: true, RopeOrigContext: 4096, RopeAttnFactor: 1.1902},
		{Name: "gemma2-tiny", Arch: "gemma2", Dim: 256, Hidden: 512, Layers: 4, Heads: 4, KVHeads: 2, Context: 2048,
			RopeBase: 10000, Eps: 1e-6, TiedEmbeddings: true,
			SlidingWindow: 8, SlidingPattern: 2, RopeBaseLocal: 10000, AttnSoftcap: 50, FinalSoftcap: 30},
		{Name: "gemma2-2b", Arch: "gemma2", Dim: 2304, Hidden: 9216, Layers: 26, Heads: 8, KVHeads: 4, Head: 256, Context: 8192,
			RopeBase: 10000, Eps: 1e-6, TiedEmbeddings: true,
			SlidingWindow: 4096, SlidingPattern: 2, RopeBaseLocal: 10000, AttnSoftcap: 50, FinalSoftcap: 30},
		{Name: "gemma3-tiny", Arch: "gemma3", Dim: 256, Hidden: 512, Layers: 4, Heads: 4, KVHeads: 2, Context: 2048,
			RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true,
			SlidingWindow: 8, SlidingPattern: 2, RopeBaseLocal: 10000, RopeScaling: 8, FinalSoftcap: 30},
		{Name: "gemma3-1b", Arch: "gemma3", Dim: 1152, Hidden: 6912, Layers: 26, Heads: 4, KVHeads: 1, Head: 256, Context: min(32768, maxContext),
			RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true, SlidingWindow: 512, SlidingPattern: 6, RopeBaseLocal: 10000},
		{Name: "gemma3-4b", Arch: "gemma3", Dim: 2560, Hidden: 10240, Layers: 34, Heads: 8, KVHeads: 4, Head: 256, Context: min(131072, maxContext),
			RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true, SlidingWindow: 1024, SlidingPattern: 6, RopeBaseLocal: 10000, RopeScaling: 8},
		{Name: "gpt-oss-tiny", Arch: "gpt-oss", Dim: 256, Hidden: 256, Layers: 4, Heads: 4, KVHeads: 2, Head: 64, Context: 2048,
			RopeBase: 150000, Eps: 1e-5, QKVBias: true, Experts: 8, ExpertsUsed: 4, ExpertHidden: 256,
			SlidingWindow: 8, SlidingPattern: 2, YaRN: true, RopeScaling: 8, RopeOrigContext: 256},
		{Name: "gpt-oss-20b", Arch: "gpt-oss", Dim: 2880, Hidden: 2880, Layers: 24, Heads: 64, KVHeads: 8, Head: 64, Context: maxContext,
			RopeBase: 150000, Eps: 1e-5, QKVBias: true, Experts: 32, ExpertsUsed: 4, ExpertHidden: 2880,
			SlidingWindow: 128, SlidingPattern: 2, YaRN: true, RopeScaling: 32, RopeOrigContext: 4096},
		{Name: "deepseek2-tiny", Arch: "deepseek2", Dim: 256, Hidden: 512, Layers: 3, Heads: 4, KVHeads: 4, Head: 96, Context: 2048,
			RopeBase: 10000, Eps: 1e-6, Experts: 8, ExpertsUsed: 2, ExpertHidden: 128,
			YaRN: true, RopeScaling: 4, RopeOrigContext: 512,
			MLA: MLA{KVLora: 128, RopeDims: 32, VHead: 64, LeadingDense: 1, SharedExperts: 1, ExpertScale: 1, YarnLogMul: 0.0707}},
		{Name: "deepseek3-tiny", Arch: "deepseek2", Dim: 256, Hidden: 512, Layers: 3, Heads: 4, KVHeads: 4, Head: 96, Context: 2048,
			RopeBase: 10000, Eps: 1e-6, Experts: 16, ExpertsUsed: 4, ExpertHidden: 128,
			YaRN: true, RopeScaling: 4, RopeOrigContext: 512,
			MLA: MLA{QLora: 128, KVLora: 128, RopeDims: 32, VHead: 64, LeadingDense: 1, SharedExperts: 1,
				Sigmoid: true, Groups: 4, GroupsUsed: 2, ExpertScale: 2.5, ExpertNorm: true, YarnLogMul: 0.1}},
		{Name: "deepseek-v2-lite", Arch: "deepseek2", Dim: 2048, Hidden: 10944, Layers: 27, Heads: 16, KVHeads: 16, Head: 192, Context: maxContext,
			RopeBase: 10000, Eps: 1e-6, Experts: 64, ExpertsUsed: 6, ExpertHidden: 1408,
			YaRN: true, RopeScaling: 40, RopeOrigContext: 4096,
			MLA: MLA{KVLora: 512, RopeDims: 64, VHead: 128, LeadingDense: 1, SharedExperts: 2, ExpertScale: 1, YarnLogMul: 0.0707}},
		{Name: "deepseek-v3", Arch: "deepseek2", Dim: 7168, Hidden: 18432, Layers: 61, Heads: 128, KVHeads: 128, Head: 192, Context: maxContext,
			RopeBase: 10000, Eps: 1e-6, Experts: 256, ExpertsUsed: 8, ExpertHidden: 2048,
			YaRN: true, RopeScaling: 40, RopeOrigContext: 4096,
			MLA: MLA{QLora: 1536, KVLora: 512, RopeDims: 64, VHead: 128, LeadingDense: 3, SharedExperts: 1,
				Sigmoid: true, Groups: 8, GroupsUsed: 4, ExpertScale: 2.5, ExpertNorm: true, YarnLogMul: 0.1}},
	}
}

// ShapeByName returns the predefined shape with the given name.
func ShapeByName(name string) (Shape, error) {
	var names []string
	for _, s := range Shapes() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Shape{}, fmt.Errorf("synth: unknown shape %q (have %s)", name, strings.Join(names, ", "))
}

// HeadDim is the width of one attention head.
func (s Shape) HeadDim() int {
	if s.Head > 0 {
		return s.Head
	}
	return s.Dim / s.Heads
}

// QDim is the width of the queries (and of the attention output).
func (s Shape) QDim() int { return s.Heads * s.HeadDim() }

// KVDim is the width of the key and value projections.
func (s Shape) KVDim() int { return s.KVHeads * s.HeadDim() }

// Validate checks that the hyperparameters are consistent.
func (s Shape) Validate() error {
	switch s.Arch {
	case "llama", "qwen2", "qwen3", "qwen3moe", "phi3", "gemma2", "gemma3", "gpt-oss", "deepseek2":
	default:
		return fmt.Errorf("synth: shape %q: unsupported architecture %q", s.Name, s.Arch)
	}
	if s.Arch == "deepseek2" {
		m := s.MLA
		if m.KVLora <= 0 || m.RopeDims <= 0 || m.RopeDims%2 != 0 || m.RopeDims >= s.HeadDim() || m.VHead <= 0 || m.QLora < 0 ||
			m.LeadingDense < 0 || m.LeadingDense > s.Layers || m.SharedExperts < 0 {
			return fmt.Errorf("synth: shape %q: deepseek2 settings %+v", s.Name, m)
		}
		if m.Groups > 1 && (s.Experts%m.Groups != 0 || m.GroupsUsed <= 0 || m.GroupsUsed >= m.Groups) {
			return fmt.Errorf("synth: shape %q: %d experts in %d groups, %d used", s.Name, s.Experts, m.Groups, m.GroupsUsed)
		}
	}
	if s.Dim <= 0 || s.Hidden <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.Context <= 0 {
		return fmt.Errorf("synth: shape %q: sizes must be positive: %+v", s.Name, s)
	}
	if s.Experts < 0 || s.ExpertHidden < 0 || (s.Experts > 0 && (s.ExpertsUsed <= 0 || s.ExpertsUsed > s.Experts)) {
		return fmt.Errorf("synth: shape %q: %d experts, %d used per token", s.Name, s.Experts, s.ExpertsUsed)
	}
	if (s.Arch == "qwen3moe" || s.Arch == "gpt-oss" || s.Arch == "deepseek2") != (s.Experts > 0 && s.Arch != "llama") {
		return fmt.Errorf("synth: shape %q: architecture %s with %d experts", s.Name, s.Arch, s.Experts)
	}
	if (s.Head == 0 && s.Dim%s.Heads != 0) || s.HeadDim()%2 != 0 {
		return fmt.Errorf("synth: shape %q: dim %d is not an even head size times %d heads", s.Name, s.Dim, s.Heads)
	}
	if s.Heads%s.KVHeads != 0 {
		return fmt.Errorf("synth: shape %q: %d heads is not a multiple of %d KV heads", s.Name, s.Heads, s.KVHeads)
	}
	if !(s.RopeBase > 0) || !(s.Eps > 0) {
		return fmt.Errorf("synth: shape %q: rope base %v and eps %v must be positive", s.Name, s.RopeBase, s.Eps)
	}
	return nil
}

// Options selects the model to write.
type Options struct {
	Shape Shape
	// Type is the element type of the weight matrices (attention and
	// feed-forward projections, token_embd, output). Norms and biases are
	// always f32. The zero value is F32. A matrix whose row length is not
	// a multiple of the type's block size is stored as q8_0 (if the row
	// length allows) or f16, as llama.cpp's quantizer falls back.
	Type kernels.DType
	// Mixed gives some matrices more bits, as llama.cpp's Q4_K_M, Q5_K_M
	// and Q3_K_M recipes do; only with Type Q4_K, Q5_K or Q3_K. Q4_K_M and
	// Q5_K_M: the output matrix (token_embd when the head is tied), and
	// attn_v and ffn_down of the first and last eighth of the blocks and
	// of every third block between them, are Q6_K. Q3_K_M: the output is
	// Q6_K, attn_output Q4_K, attn_v Q5_K in the first two blocks and Q4_K
	// after, ffn_down Q5_K in the first sixteenth of the blocks, Q4_K in
	// the other blocks given more bits, Q3_K elsewhere.
	Mixed bool
	// Vocab is the tokenizer; the model's vocabulary size is len(Tokens).
	Vocab *tokenizer.Vocab
	// Seed determines every weight.
	Seed uint64
	// Layers overrides Shape.Layers when positive.
	Layers int
}

func (o *Options) shape() Shape {
	s := o.Shape
	if o.Layers > 0 {
		s.Layers = o.Layers
	}
	return s
}

// Tensor describes one tensor of a synthetic model and how its values are
// generated.
type Tensor struct {
	Name string
	Dims []uint64 // contiguous dimension first, as in GGUF
	Type kernels.DType
	// Std is the standard deviation of the uniform random values, which
	// are centred on Const; when it is 0 every element equals Const.
	Std   float32
	Const float32
	// PairRows gives rows 2i and 2i+1 the same values.
	PairRows bool
}

// RowLen is the length of the contiguous dimension.
func (t *Tensor) RowLen() int { return int(t.Dims[0]) }

// Rows is the number of rows (product of the other dimensions).
func (t *Tensor) Rows() int {
	n := 1
	for _, d := range t.Dims[1:] {
		n *= int(d)
	}
	return n
}

// Size is the number of bytes of the encoded tensor.
func (t *Tensor) Size() (uint64, error) {
	rb, err := t.Type.RowBytes(t.RowLen())
	if err != nil {
		return 0, fmt.Errorf("synth: tensor %s: %w", t.Name, err)
	}
	return uint64(rb) * uint64(t.Rows()), nil
}

// Row fills dst (RowLen elements) with the values of row r of the tensor
// in the model generated from seed.
func (t *Tensor) Row(seed uint64, r int, dst []float32) {
	dst = dst[:t.RowLen()]
	if t.Std == 0 {
		for i := range dst {
			dst[i] = t.Const
		}
		return
	}
	if t.PairRows {
		r &^= 1
	}
	rng := newRowRNG(seed, t.Name, r)
	// Uniform in [-a, a): each 64-bit draw gives two 32-bit values.
	scale := float32(math.Sqrt(3)) * t.Std / (1 << 31)
	i := 0
	for ; i+1 < len(dst); i += 2 {
		x := rng.Uint64()
		dst[i] = float32(int32(uint32(x))) * scale
		dst[i+1] = float32(int32(uint32(x>>32))) * scale
	}
	if i < len(dst) {
		dst[i] = float32(int32(uint32(rng.Uint64()))) * scale
	}
	if t.Const != 0 {
		for i := range dst {
			dst[i] += t.Const
		}
	}
}

// Tensors lists the tensors of the model described by opt, in file order.
func Tensors(opt Options) ([]Tensor, error) {
	s := opt.shape()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if opt.Vocab == nil || len(opt.Vocab.Tokens) == 0 {
		return nil, fmt.Errorf("synth: no vocabulary")
	}
	if !opt.Type.Valid() {
		return nil, fmt.Errorf("synth: unsupported weight type %v", opt.Type)
	}
	if opt.Mixed && mixName(opt.Type) == "" {
		return nil, fmt.Errorf("synth: a mixed model is q4_k, q5_k or q3_k (q4_k_m, q5_k_m, q3_k_m), not %v", opt.Type)
	}
	q3m := opt.Mixed && opt.Type == kernels.Q3_K
	vocab := uint64(len(opt.Vocab.Tokens))
	dim, hidden, kv, qd := uint64(s.Dim), uint64(s.Hidden), uint64(s.KVDim()), uint64(s.QDim())
	var ts []Tensor
	// more is the type of the matrices a mix gives more bits.
	more := opt.Type
	if opt.Mixed {
		more = kernels.Q6_K
	}
	typed := func(name string, cols, rows uint64, t kernels.DType) {
		ts = append(ts, Tensor{Name: name, Dims: []uint64{cols, rows}, Type: matrixType(t, int(cols)),
			Std: float32(1 / math.Sqrt(float64(cols)))})
	}
	// gpt-oss in mxfp4: the experts mxfp4, the other matrices q8_0.
	dense := opt.Type
	if s.Arch == "gpt-oss" && opt.Type == kernels.MXFP4 {
		dense, more = kernels.Q8_0, kernels.Q8_0
	}
	matrix := func(name string, cols, rows uint64) { typed(name, cols, rows, dense) }
	norm := func(name string) {
		ts = append(ts, Tensor{Name: name, Dims: []uint64{dim}, Type: kernels.F32, Const: 1})
	}
	bias := func(name string, n uint64) {
		ts = append(ts, Tensor{Name: name, Dims: []uint64{n}, Type: kernels.F32, Std: 0.02})
	}
	if s.TiedEmbeddings {
		typed("token_embd.weight", dim, vocab, more)
	} else {
		matrix("token_embd.weight", dim, vocab)
	}
	if s.LongRoPE {
		// Frequency divisors: near 1 for the short context, between 1.1
		// and 2.9 for the long one.
		half := uint64(s.HeadDim() / 2)
		ts = append(ts, Tensor{Name: "rope_factors_long.weight", Dims: []uint64{half}, Type: kernels.F32, Const: 2, Std: 0.5},
			Tensor{Name: "rope_factors_short.weight", Dims: []uint64{half}, Type: kernels.F32, Const: 1.05, Std: 0.02})
	}
	for i := 0; i < s.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		blockMore := opt.Type
		if moreBits(i, s.Layers) {
			blockMore = more
		}
		norm(p + "attn_norm.weight")
		if s.Arch == "gpt-oss" {
			ts = append(ts, gptOSSBlock(p, s, dense, opt.Type)...)
			continue
		}
		if s.Arch == "deepseek2" {
			ts = append(ts, deepseek2Block(p, i, s, opt.Type)...)
			continue
		}
		if s.Arch == "phi3" {
			typed(p+"attn_qkv.weight", dim, qd+2*kv, opt.Type)
			matrix(p+"attn_output.weight", qd, dim)
			norm(p + "ffn_norm.weight")
			typed(p+"ffn_down.weight", hidden, dim, blockMore)
			matrix(p+"ffn_up.weight", dim, 2*hidden)
			continue
		}
		for _, qkv := range []struct {
			name string
			out  uint64
		}{{"attn_q", qd}, {"attn_k", kv}, {"attn_v", kv}} {
			t := opt.Type
			if qkv.name == "attn_v" {
				t = blockMore
				if q3m {
					t = kernels.Q4_K
					if i < 2 {
						t = kernels.Q5_K
					}
				}
			}
			typed(p+qkv.name+".weight", dim, qkv.out, t)
			if s.QKVBias {
				bias(p+qkv.name+".bias", qkv.out)
			}
		}
		if s.QKNorm {
			for _, n := range []string{"attn_q_norm", "attn_k_norm"} {
				ts = append(ts, Tensor{Name: p + n + ".weight", Dims: []uint64{uint64(s.HeadDim())}, Type: kernels.F32, Const: 1, Std: 0.1})
			}
		}
		down := blockMore
		if q3m {
			typed(p+"attn_output.weight", qd, dim, kernels.Q4_K)
			down = kernels.Q3_K
			switch {
			case i < s.Layers/16:
				down = kernels.Q5_K
			case moreBits(i, s.Layers):
				down = kernels.Q4_K
			}
		} else {
			matrix(p+"attn_output.weight", qd, dim)
		}
		if s.Arch == "gemma2" || s.Arch == "gemma3" {
			norm(p + "post_attention_norm.weight")
		}
		norm(p + "ffn_norm.weight")
		if s.Arch == "gemma2" || s.Arch == "gemma3" {
			norm(p + "post_ffw_norm.weight")
		}
		if s.Experts > 0 {
			// The router stays f32, as llama.cpp's quantizer leaves it.
			ne, eh := uint64(s.Experts), uint64(s.ExpertWidth())
			ts = append(ts, Tensor{Name: p + "ffn_gate_inp.weight", Dims: []uint64{dim, ne}, Type: kernels.F32,
				Std: float32(1 / math.Sqrt(float64(dim))), PairRows: s.RouterTies})
			experts := func(name string, cols, rows uint64, t kernels.DType) {
				ts = append(ts, Tensor{Name: name, Dims: []uint64{cols, rows, ne}, Type: matrixType(t, int(cols)),
					Std: float32(1 / math.Sqrt(float64(cols)))})
			}
			experts(p+"ffn_gate_exps.weight", dim, eh, opt.Type)
			experts(p+"ffn_down_exps.weight", eh, dim, down)
			experts(p+"ffn_up_exps.weight", dim, eh, opt.Type)
			continue
		}
		matrix(p+"ffn_gate.weight", dim, hidden)
		typed(p+"ffn_down.weight", hidden, dim, down)
		matrix(p+"ffn_up.weight", dim, hidden)
	}
	norm("output_norm.weight")
	if !s.TiedEmbeddings {
		typed("output.weight", dim, vocab, more)
	}
	return ts, nil
}

// gptOSSBlock lists the tensors of one gpt-oss block (prefix p) after
// attn_norm: attention
// with biases and sinks (a logit per head, around 0 with spread 1),
// post_attention_norm before the experts, the router (f32) with its bias,
// and the experts (of type exp) with theirs.
func gptOSSBlock(p string, s Shape, dense, exp kernels.DType) []Tensor {
	dim, kv, qd := uint64(s.Dim), uint64(s.KVDim()), uint64(s.QDim())
	ne, eh := uint64(s.Experts), uint64(s.ExpertWidth())
	std := func(cols uint64) float32 { return float32(1 / math.Sqrt(float64(cols))) }
	mat := func(name string, cols, rows uint64) Tensor {
		return Tensor{Name: name, Dims: []uint64{cols, rows}, Type: matrixType(dense, int(cols)), Std: std(cols)}
	}
	vec := func(name string, dims ...uint64) Tensor {
		return Tensor{Name: name, Dims: dims, Type: kernels.F32, Std: 0.02}
	}
	experts := func(name string, cols, rows uint64) Tensor {
		return Tensor{Name: name, Dims: []uint64{cols, rows, ne}, Type: matrixType(exp, int(cols)), Std: std(cols)}
	}
	return []Tensor{
		mat(p+"attn_q.weight", dim, qd), vec(p+"attn_q.bias", qd),
		mat(p+"attn_k.weight", dim, kv), vec(p+"attn_k.bias", kv),
		mat(p+"attn_v.weight", dim, kv), vec(p+"attn_v.bias", kv),
		mat(p+"attn_output.weight", qd, dim), vec(p+"attn_output.bias", dim),
		{Name: p + "attn_sinks.weight", Dims: []uint64{uint64(s.Heads)}, Type: kernels.F32, Std: 1},
		{Name: p + "post_attention_norm.weight", Dims: []uint64{dim}, Type: kernels.F32, Const: 1},
		{Name: p + "ffn_gate_inp.weight", Dims: []uint64{dim, ne}, Type: kernels.F32, Std: std(dim), PairRows: s.RouterTies},
		vec(p+"ffn_gate_inp.bias", ne),
		experts(p+"ffn_gate_exps.weight", dim, eh), vec(p+"ffn_gate_exps.bias", eh, ne),
		experts(p+"ffn_down_exps.weight", eh, dim), vec(p+"ffn_down_exps.bias", dim, ne),
		experts(p+"ffn_up_exps.weight", dim, eh), vec(p+"ffn_up_exps.bias", eh, ne),
	}
}

// deepseek2Block lists the tensors of one deepseek2 block (prefix p,
// index i) after attn_norm, as llama.cpp's converter names them: the
// queries (attn_q, or attn_q_a, its norm and attn_q_b), attn_kv_a_mqa and
// its norm, attn_k_b and attn_v_b (one matrix per head; or attn_kv_b),
// attn_output, ffn_norm, then a dense feed-forward or the router (f32),
// exp_probs_b (sigmoid routing), the experts and the shared experts.
// attn_k_b holds the transposes of attn_kv_b's key rows, so its values
// have the spread of a KVLora-long row.
func deepseek2Block(p string, i int, s Shape, typ kernels.DType) []Tensor {
	m := s.MLA
	dim, heads, hd := uint64(s.Dim), uint64(s.Heads), uint64(s.HeadDim())
	kvl, rope, vh := uint64(m.KVLora), uint64(m.RopeDims), uint64(m.VHead)
	nope := hd - rope
	std := func(fanIn uint64) float32 { return float32(1 / math.Sqrt(float64(fanIn))) }
	mat := func(name string, cols, rows uint64) Tensor {
		return Tensor{Name: name, Dims: []uint64{cols, rows}, Type: matrixType(typ, int(cols)), Std: std(cols)}
	}
	vec := func(name string, n uint64) Tensor {
		return Tensor{Name: name, Dims: []uint64{n}, Type: kernels.F32, Const: 1}
	}
	var ts []Tensor
	if m.QLora > 0 {
		q := uint64(m.QLora)
		ts = append(ts, mat(p+"attn_q_a.weight", dim, q), vec(p+"attn_q_a_norm.weight", q), mat(p+"attn_q_b.weight", q, heads*hd))
	} else {
		ts = append(ts, mat(p+"attn_q.weight", dim, heads*hd))
	}
	ts = append(ts, mat(p+"attn_kv_a_mqa.weight", dim, kvl+rope), vec(p+"attn_kv_a_norm.weight", kvl))
	if m.LegacyKVB {
		ts = append(ts, mat(p+"attn_kv_b.weight", kvl, heads*(nope+vh)))
	} else {
		ts = append(ts,
			Tensor{Name: p + "attn_k_b.weight", Dims: []uint64{nope, kvl, heads}, Type: matrixType(typ, int(nope)), Std: std(kvl)},
			Tensor{Name: p + "attn_v_b.weight", Dims: []uint64{kvl, vh, heads}, Type: matrixType(typ, int(kvl)), Std: std(kvl)})
	}
	ts = append(ts, mat(p+"attn_output.weight", heads*vh, dim), vec(p+"ffn_norm.weight", dim))
	if i < m.LeadingDense {
		h := uint64(s.Hidden)
		return append(ts, mat(p+"ffn_gate.weight", dim, h), mat(p+"ffn_down.weight", h, dim), mat(p+"ffn_up.weight", dim, h))
	}
	ne, eh := uint64(s.Experts), uint64(s.ExpertWidth())
	ts = append(ts, Tensor{Name: p + "ffn_gate_inp.weight", Dims: []uint64{dim, ne}, Type: kernels.F32, Std: std(dim), PairRows: s.RouterTies})
	if m.Sigmoid {
		ts = append(ts, Tensor{Name: p + "exp_probs_b.bias", Dims: []uint64{ne}, Type: kernels.F32, Std: 0.05})
	}
	experts := func(name string, cols, rows uint64) Tensor {
		return Tensor{Name: name, Dims: []uint64{cols, rows, ne}, Type: matrixType(typ, int(cols)), Std: std(cols)}
	}
	ts = append(ts, experts(p+"ffn_gate_exps.weight", dim, eh), experts(p+"ffn_down_exps.weight", eh, dim), experts(p+"ffn_up_exps.weight", dim, eh))
	if m.SharedExperts > 0 {
		sw := eh * uint64(m.SharedExperts)
		ts = append(ts, mat(p+"ffn_gate_shexp.weight", dim, sw), mat(p+"ffn_down_shexp.weight", sw, dim), mat(p+"ffn_up_shexp.weight", dim, sw))
	}
	return ts
}

// moreBits reports whether block i of n is one that llama.cpp's k-quant
// mixes give more bits: the first and last eighth, and every third block
// between them.
func moreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// mixes are the k-quant types with a mix (Options.Mixed).
var mixes = [...]kernels.DType{kernels.Q4_K, kernels.Q5_K, kernels.Q3_K}

// mixName is the name of t's mix ("q4_k_m"), or "" if t has none.
func mixName(t kernels.DType) string {
	for _, m := range mixes {
		if m == t {
			return t.String() + "_m"
		}
	}
	return ""
}

// ParseType reads a weight type as orbit synth takes it: a kernels.DType
// name ("q8_0", "q4_k", ...) or a mix (Options.Mixed): "q4_k_m", "q5_k_m"
// or "q3_k_m", case-insensitively.
func ParseType(s string) (t kernels.DType, mixed bool, err error) {
	for _, m := range mixes {
		if strings.EqualFold(strings.TrimSpace(s), mixName(m)) {
			return m, true, nil
		}
	}
	t, err = kernels.ParseDType(s)
	if err != nil {
		return 0, false, fmt.Errorf("synth: weight type %q: want one of %s", s, strings.Join(TypeNames(), ", "))
	}
	return t, false, nil
}

// TypeNames lists the names ParseType takes: every weight type the engine
// runs, then the mixes.
func TypeNames() []string {
	var names []string
	for _, t := range kernels.Types() {
		names = append(names, t.String())
	}
	for _, m := range mixes {
		names = append(names, mixName(m))
	}
	return names
}

// TypeName is the name ParseType reads back as (t, mixed).
func TypeName(t kernels.DType, mixed bool) string {
	if n := mixName(t); mixed && n != "" {
		return n
	}
	return t.String()
}

// matrixType is t, or the fallback used when rows of length n are not a
// whole number of t's blocks.
func matrixType(t kernels.DType, n int) kernels.DType {
	for _, c := range []kernels.DType{t, kernels.Q8_0, kernels.F16} {
		if n%c.BlockSize() == 0 && (c == t || t.Quantized()) {
			return c
		}
	}
	return kernels.F16
}

// NewWriter returns a GGUF writer for the model described by opt. Tensor
// data is generated only when the writer writes.
func NewWriter(opt Options) (*gguf.Writer, error) {
	ts, err := Tensors(opt)
	if err != nil {
		return nil, err
	}
	s := opt.shape()
	w := gguf.NewWriter()
	a := s.Arch
	w.Set("general.architecture", gguf.String(a))
	w.Set("general.name", gguf.String("synth-"+s.Name))
	u32 := func(key string, x int) { w.Set(a+"."+key, gguf.Uint32(uint32(x))) }
	u32("vocab_size", len(opt.Vocab.Tokens))
	u32("context_length", s.Context)
	u32("embedding_length", s.Dim)
	u32("block_count", s.Layers)
	u32("feed_forward_length", s.Hidden)
	if s.Arch == "deepseek2" {
		deepseek2Meta(w, s)
	} else {
		u32("rope.dimension_count", s.HeadDim())
		u32("attention.head_count", s.Heads)
		u32("attention.head_count_kv", s.KVHeads)
	}
	if s.Experts > 0 {
		u32("expert_count", s.Experts)
		u32("expert_used_count", s.ExpertsUsed)
		if s.ExpertHidden > 0 || s.Arch == "deepseek2" {
			u32("expert_feed_forward_length", s.ExpertHidden)
		}
	}
	if s.SlidingWindow > 0 && s.Arch == "gpt-oss" {
		u32("attention.sliding_window", s.SlidingWindow) // pattern 2, one rope
	} else if s.SlidingWindow > 0 {
		u32("attention.sliding_window", s.SlidingWindow)
		u32("attention.sliding_window_pattern", s.SlidingPattern)
		w.Set(a+".rope.freq_base_swa", gguf.Float32(s.RopeBaseLocal))
	}
	if s.RopeScaling != 0 && s.YaRN {
		w.Set(a+".rope.scaling.type", gguf.String("yarn"))
		w.Set(a+".rope.scaling.factor", gguf.Float32(s.RopeScaling))
		u32("rope.scaling.original_context_length", s.RopeOrigContext)
		if s.RopeAttnFactor != 0 {
			w.Set(a+".rope.scaling.attn_factor", gguf.Float32(s.RopeAttnFactor))
		}
		if y := s.YarnKeys; y != nil {
			for _, k := range []struct {
				key string
				v   float32
			}{{"yarn_ext_factor", y.ExtFactor}, {"yarn_attn_factor", y.AttnFactor}, {"yarn_beta_fast", y.BetaFast},
				{"yarn_beta_slow", y.BetaSlow}, {"yarn_log_multiplier", y.LogMultiplier}} {
				w.Set(a+".rope.scaling."+k.key, gguf.Float32(k.v))
			}
		}
	} else if s.RopeScaling != 0 {
		w.Set(a+".rope.scaling.type", gguf.String("linear"))
		w.Set(a+".rope.scaling.factor", gguf.Float32(s.RopeScaling))
	}
	if s.FinalSoftcap != 0 {
		w.Set(a+".final_logit_softcapping", gguf.Float32(s.FinalSoftcap))
	}
	if s.AttnSoftcap != 0 {
		w.Set(a+".attn_logit_softcapping", gguf.Float32(s.AttnSoftcap))
	}
	if s.LongRoPE {
		u32("rope.scaling.original_context_length", s.RopeOrigContext)
		w.Set(a+".rope.scaling.attn_factor", gguf.Float32(s.RopeAttnFactor))
	}
	if s.Head > 0 && s.Arch != "deepseek2" {
		u32("attention.key_length", s.Head)
		u32("attention.value_length", s.Head)
	}
	w.Set(a+".rope.freq_base", gguf.Float32(s.RopeBase))
	w.Set(a+".attention.layer_norm_rms_epsilon", gguf.Float32(s.Eps))
	ft, _ := gguf.FileTypeOf(gguf.TensorType(opt.Type)) // 0 (all f32) for a type with none
	w.Set("general.file_type", gguf.Uint32(uint32(ft)))
	opt.Vocab.ToGGUF(w.Set)
	w.Set("general.quantization_version", gguf.Uint32(2))
	for i := range ts {
		t := &ts[i]
		size, err := t.Size()
		if err != nil {
			return nil, err
		}
		seed := opt.Seed
		w.AddTensorFunc(t.Name, gguf.TensorType(t.Type), t.Dims, func(out io.Writer) error {
			return t.Stream(out, seed)
		}, size)
	}
	return w, nil
}

// deepseek2Meta sets deepseek2's attention and expert keys as llama.cpp's
// converter writes them: with attn_k_b and attn_v_b, key_length and
// value_length are the cached latent's (kv_lora_rank + rope dims, and
// kv_lora_rank) and one KV head, a head's sizes in key_length_mla and
// value_length_mla; with attn_kv_b, key_length and value_length are a
// head's, and every head a KV head.
func deepseek2Meta(w *gguf.Writer, s Shape) {
	a, m := s.Arch, s.MLA
	u32 := func(key string, x int) { w.Set(a+"."+key, gguf.Uint32(uint32(x))) }
	u32("attention.head_count", s.Heads)
	u32("rope.dimension_count", m.RopeDims)
	u32("attention.q_lora_rank", m.QLora)
	u32("attention.kv_lora_rank", m.KVLora)
	if m.LegacyKVB {
		u32("attention.head_count_kv", s.Heads)
		u32("attention.key_length", s.HeadDim())
		u32("attention.value_length", m.VHead)
	} else {
		u32("attention.head_count_kv", 1)
		u32("attention.key_length", m.KVLora+m.RopeDims)
		u32("attention.value_length", m.KVLora)
		u32("attention.key_length_mla", s.HeadDim())
		u32("attention.value_length_mla", m.VHead)
	}
	u32("leading_dense_block_count", m.LeadingDense)
	u32("expert_shared_count", m.SharedExperts)
	w.Set(a+".expert_weights_scale", gguf.Float32(m.ExpertScale))
	w.Set(a+".expert_weights_norm", gguf.Bool(m.ExpertNorm))
	gating := 1
	if m.Sigmoid {
		gating = 2
	}
	u32("expert_gating_func", gating)
	if m.Groups > 1 {
		u32("expert_group_count", m.Groups)
		u32("expert_group_used_count", m.GroupsUsed)
	}
	if s.YaRN && m.YarnLogMul != 0 {
		w.Set(a+".rope.scaling.yarn_log_multiplier", gguf.Float32(m.YarnLogMul))
	}
}

// Write writes the model described by opt to out.
func Write(out io.Writer, opt Options) error {
	w, err := NewWriter(opt)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(out); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// WriteFile writes the model described by opt atomically to path.
func WriteFile(path string, opt Options) error {
	w, err := NewWriter(opt)
	if err != nil {
		return err
	}
	if err := w.WriteFile(path); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}
