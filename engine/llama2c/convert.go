package llama2c

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// RMSEpsilon is the RMSNorm epsilon of llama2.c models.
const RMSEpsilon = 1e-5

// Options controls the conversion to GGUF.
type Options struct {
	// Name is general.name. Convert defaults it to the base name of the
	// model file without its extension.
	Name string
	// Type is the element type of the 2-D weight matrices (token
	// embedding, attention and feed-forward projections, output head).
	// Norm weights always stay f32. The zero value is F32. A matrix whose
	// row length is not a multiple of the type's block size is stored as
	// f16 instead, with a note to Logf.
	Type kernels.DType
	// Logf, if not nil, receives notes about the conversion.
	Logf func(format string, args ...any)
}

// Convert converts the llama2.c checkpoint at modelPath with the llama2.c
// tokenizer at tokenizerPath to a GGUF file written atomically to outPath.
func Convert(modelPath, tokenizerPath, outPath string, opt Options) error {
	m, err := Open(modelPath)
	if err != nil {
		return err
	}
	defer m.Close()
	v, err := tokenizer.LoadLlama2C(tokenizerPath, m.VocabSize)
	if err != nil {
		return fmt.Errorf("llama2c: tokenizer: %w", err)
	}
	if opt.Name == "" {
		opt.Name = ModelName(modelPath)
	}
	w, err := NewWriter(m, v, opt)
	if err != nil {
		return err
	}
	if err := w.WriteFile(outPath); err != nil {
		return fmt.Errorf("llama2c: writing %s: %w", outPath, err)
	}
	return nil
}

// ModelName is the default general.name for a model file: its base name
// without the extension.
func ModelName(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// Write writes the GGUF conversion of m with vocabulary v to out.
func Write(out io.Writer, m *Model, v *tokenizer.Vocab, opt Options) error {
	w, err := NewWriter(m, v, opt)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(out); err != nil {
		return fmt.Errorf("llama2c: writing gguf: %w", err)
	}
	return nil
}

// NewWriter returns a GGUF writer holding the metadata and tensors of the
// conversion of m with vocabulary v. Tensor data is read from m (and, for
// types other than f32, converted row by row) only when the writer writes,
// so m must stay open until then.
func NewWriter(m *Model, v *tokenizer.Vocab, opt Options) (*gguf.Writer, error) {
	if v == nil {
		return nil, fmt.Errorf("llama2c: no vocabulary")
	}
	if len(v.Tokens) != m.VocabSize {
		return nil, fmt.Errorf("llama2c: vocabulary has %d tokens, model has %d", len(v.Tokens), m.VocabSize)
	}
	typ := opt.Type
	if !typ.Valid() {
		return nil, fmt.Errorf("llama2c: unsupported weight type %v", typ)
	}
	ft, ok := gguf.FileTypeOf(gguf.TensorType(typ))
	if !ok {
		return nil, fmt.Errorf("llama2c: no general.file_type for weight type %v", typ)
	}
	w := gguf.NewWriter()
	const arch = "llama"
	w.Set("general.architecture", gguf.String(arch))
	w.Set("general.name", gguf.String(opt.Name))
	u32 := func(key string, x int) { w.Set(arch+"."+key, gguf.Uint32(uint32(x))) }
	u32("context_length", m.SeqLen)
	u32("embedding_length", m.Dim)
	u32("block_count", m.Layers)
	u32("feed_forward_length", m.HiddenDim)
	u32("rope.dimension_count", m.HeadSize())
	u32("attention.head_count", m.Heads)
	u32("attention.head_count_kv", m.KVHeads)
	w.Set(arch+".attention.layer_norm_rms_epsilon", gguf.Float32(RMSEpsilon))
	if typ != kernels.F32 {
		w.Set("general.file_type", gguf.Uint32(uint32(ft)))
	}
	setVocab(w, v)
	if typ.Quantized() {
		w.Set("general.quantization_version", gguf.Uint32(2))
	}
	w.Set(gguf.KeyAlignment, gguf.Uint32(gguf.DefaultAlignment))

	add := func(name string, wt Weight, matrix bool) error {
		t := kernels.F32
		if matrix {
			t = typ
		}
		return addWeight(w, name, wt, t, opt.Logf)
	}
	if err := add("token_embd.weight", m.TokenEmbedding(), true); err != nil {
		return nil, err
	}
	for i := 0; i < m.Layers; i++ {
		b := m.Block(i)
		for _, t := range []struct {
			name   string
			w      Weight
			matrix bool
		}{
			{"attn_norm", b.RMSAtt, false},
			{"attn_q", b.WQ, true},
			{"attn_k", b.WK, true},
			{"attn_v", b.WV, true},
			{"attn_output", b.WO, true},
			{"ffn_norm", b.RMSFFN, false},
			{"ffn_gate", b.W1, true},
			{"ffn_down", b.W2, true},
			{"ffn_up", b.W3, true},
		} {
			if err := add(fmt.Sprintf("blk.%d.%s.weight", i, t.name), t.w, t.matrix); err != nil {
				return nil, err
			}
		}
	}
	if err := add("output_norm.weight", m.RMSFinal(), false); err != nil {
		return nil, err
	}
	if !m.SharedClassifier {
		if err := add("output.weight", m.Classifier(), true); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// setVocab writes the tokenizer metadata of v, leaving out the flags whose
// values are llama.cpp's defaults for SentencePiece ("llama") vocabularies,
// so that the key set is the one llama.cpp's own llama2.c converter writes:
// model, tokens, scores, token types and the special token ids.
func setVocab(w *gguf.Writer, v *tokenizer.Vocab) {
	spmDefaults := map[string]gguf.Value{
		"tokenizer.ggml.pre":              gguf.String("default"),
		"tokenizer.ggml.add_bos_token":    gguf.Bool(true),
		"tokenizer.ggml.add_eos_token":    gguf.Bool(false),
		"tokenizer.ggml.add_space_prefix": gguf.Bool(true),
	}
	v.ToGGUF(func(key string, val gguf.Value) {
		if d, ok := spmDefaults[key]; ok && v.Model == "llama" && d.Type == val.Type && d.Any() == val.Any() {
			return
		}
		w.Set(key, val)
	})
}

// addWeight adds wt to w as type t (falling back to f16 when the row
// length is not a whole number of t's blocks). Vectors (Rows == 1) get one
// dimension, matrices two, contiguous first.
func addWeight(w *gguf.Writer, name string, wt Weight, t kernels.DType, logf func(string, ...any)) error {
	dims := []uint64{uint64(wt.Cols)}
	if wt.Rows > 1 {
		dims = append(dims, uint64(wt.Rows))
	}
	if wt.Cols%t.BlockSize() != 0 {
		if logf != nil {
			logf("llama2c: %s: row length %d is not a multiple of the %v block size %d; stored as f16", name, wt.Cols, t, t.BlockSize())
		}
		t = kernels.F16
	}
	if t == kernels.F32 {
		w.AddTensor(name, gguf.TensorType(kernels.F32), dims, wt.Bytes())
		return nil
	}
	rowBytes, err := t.RowBytes(wt.Cols)
	if err != nil {
		return fmt.Errorf("llama2c: %s: %w", name, err)
	}
	w.AddTensorFunc(name, gguf.TensorType(t), dims, func(out io.Writer) error {
		return convertRows(out, wt, t, rowBytes)
	}, uint64(rowBytes)*uint64(wt.Rows))
	return nil
}

// convertRows writes the rows of wt converted to type t, in batches of
// about 1 MiB.
func convertRows(out io.Writer, wt Weight, t kernels.DType, rowBytes int) error {
	batch := max(1, (1<<20)/rowBytes)
	src := make([]float32, wt.Cols)
	buf := make([]byte, 0, batch*rowBytes)
	for r := 0; r < wt.Rows; r++ {
		wt.Row(src, r)
		n := len(buf)
		buf = buf[:n+rowBytes]
		if err := kernels.Quantize(buf[n:], src, t); err != nil {
			return fmt.Errorf("llama2c: row %d: %w", r, err)
		}
		if len(buf) == cap(buf) || r == wt.Rows-1 {
			if _, err := out.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}
