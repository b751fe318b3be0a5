// Package engine runs Llama-family transformer models on the CPU, split into
// three separable stages so that a node can run any part of a model:
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
)

// ErrUnsupported is wrapped by errors about models this engine cannot run.
var ErrUnsupported = errors.New("engine: unsupported model")

// Config holds a model's hyper-parameters.
type Config struct {
	Arch       string // "llama", "qwen2" or "qwen3"
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
}

// KVDim is the width of the keys and values of one position in one layer.
func (c *Config) KVDim() int { return c.KVHeads * c.HeadDim }

// QDim is the width of the queries and of the attention output of one
// position (Dim unless the heads are sized apart, as in qwen3).
func (c *Config) QDim() int { return c.Heads * c.HeadDim }

// ConfigFromGGUF reads the hyper-parameters of a llama or qwen2 GGUF.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	var c Config
	arch, err := f.String("general.architecture")
	if err != nil {
		return c, err
	}
	switch arch {
	case "llama", "qwen2", "qwen3", "mistral":
	default:
		return c, fmt.Errorf("%w: architecture %q (want llama, mistral, qwen2 or qwen3)", ErrUnsupported, arch)
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
	geti("feed_forward_length", &c.Hidden, -1)
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
	if kl, e := f.Int(arch + ".attention.key_length"); e == nil {
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
	if c.RopeDim > c.HeadDim || c.RopeDim%2 != 0 {
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
	c.RopeNeox = arch == "qwen2" || arch == "qwen3"
	c.QKVBias = arch == "qwen2"
	c.QKNorm = arch == "qwen3"
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
	c.TiedOutput = !hasOut
	return c, nil
}
