package tokenizer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// Token types, as stored in tokenizer.ggml.token_type.
const (
	TokenUndefined   int32 = 0
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// Tokenizer model names (tokenizer.ggml.model).
const (
	ModelSPM  = "llama" // SentencePiece BPE with byte fallback
	ModelGPT2 = "gpt2"  // byte-level BPE
)

// ErrVocab is wrapped by every error about a malformed vocabulary.
var ErrVocab = errors.New("tokenizer: invalid vocabulary")

// Vocab is a tokenizer vocabulary as stored in GGUF metadata.
type Vocab struct {
	Model  string    // "llama" (SPM) or "gpt2" (byte-level BPE)
	Pre    string    // pre-tokenizer name for gpt2 models ("llama-bpe", "llama3", "qwen2", "gpt-2", "default", ...)
	Tokens []string  // token texts (SPM: spaces as U+2581; gpt2: byte-level encoded)
	Scores []float32 // may be nil (all zero)
	Types  []int32   // may be nil: all normal (SPM "<0xNN>" pieces are then treated as byte tokens)
	Merges []string  // gpt2 only: "a b" pairs in rank order

	BOS, EOS, UNK, PAD int32 // -1 when absent

	AddBOS, AddEOS bool
	AddSpacePrefix bool // SPM: prepend a space to the text (and after special tokens)
	ChatTemplate   string

	// Name is general.name of the model, if known. It selects model-specific
	// behaviour of llama.cpp (Phi-3: whitespace after special tokens is stripped).
	Name string
}

func vocabErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrVocab, fmt.Sprintf(format, args...))
}

// Validate checks the internal consistency of v: array lengths, token types,
// special token ids and the format of merges.
func (v *Vocab) Validate() error {
	n := len(v.Tokens)
	if n == 0 {
		return vocabErr("no tokens")
	}
	if n > 1<<30 {
		return vocabErr("%d tokens is too many", n)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return vocabErr("%d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil {
		if len(v.Types) != n {
			return vocabErr("%d token types for %d tokens", len(v.Types), n)
		}
		for i, t := range v.Types {
			if t < TokenUndefined || t > TokenByte {
				return vocabErr("token %d has unknown type %d", i, t)
			}
		}
	}
	for _, s := range []struct {
		name string
		id   int32
	}{{"bos", v.BOS}, {"eos", v.EOS}, {"unknown", v.UNK}, {"padding", v.PAD}} {
		if s.id < -1 || s.id >= int32(n) {
			return vocabErr("%s token id %d out of range [0, %d)", s.name, s.id, n)
		}
	}
	if v.AddBOS && v.BOS < 0 {
		return vocabErr("add_bos_token is set but there is no bos token")
	}
	if v.AddEOS && v.EOS < 0 {
		return vocabErr("add_eos_token is set but there is no eos token")
	}
	for i, m := range v.Merges {
		if _, _, ok := splitMerge(m); !ok {
			return vocabErr("merge %d (%q) is not two space-separated parts", i, m)
		}
	}
	if v.Model == ModelGPT2 && v.Merges == nil {
		return vocabErr("gpt2 tokenizer without merges")
	}
	return nil
}

// splitMerge splits a merges line "a b" (as llama.cpp does: at the first
// space after the first byte).
func splitMerge(m string) (string, string, bool) {
	if len(m) < 3 {
		return "", "", false
	}
	i := strings.IndexByte(m[1:], ' ')
	if i < 0 {
		return "", "", false
	}
	i++
	if i+1 >= len(m) {
		return "", "", false
	}
	return m[:i], m[i+1:], true
}

// TypeOf returns the type of token id (TokenNormal when v.Types is nil).
func (v *Vocab) TypeOf(id int32) int32 {
	if id < 0 || int(id) >= len(v.Tokens) {
		return TokenUndefined
	}
	if v.Types == nil {
		return TokenNormal
	}
	return v.Types[id]
}

// GGUF metadata keys of the tokenizer.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTypes          = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyBOS            = "tokenizer.ggml.bos_token_id"
	keyEOS            = "tokenizer.ggml.eos_token_id"
	keyUNK            = "tokenizer.ggml.unknown_token_id"
	keyPAD            = "tokenizer.ggml.padding_token_id"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	keyChatTemplate   = "tokenizer.chat_template"
	keyName           = "general.name"
)

// VocabFromGGUF reads the tokenizer.ggml.* metadata of f. Missing optional
// keys get llama.cpp's defaults.
func VocabFromGGUF(f *gguf.File) (*Vocab, error) {
	v := &Vocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	var err error
	if v.Model, err = f.String(keyModel); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVocab, err)
	}
	optString := func(key string, dst *string) error {
		if _, ok := f.Get(key); !ok {
			return nil
		}
		s, err := f.String(key)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrVocab, err)
		}
		*dst = s
		return nil
	}
	if err := optString(keyPre, &v.Pre); err != nil {
		return nil, err
	}
	if err := optString(keyChatTemplate, &v.ChatTemplate); err != nil {
		return nil, err
	}
	if err := optString(keyName, &v.Name); err != nil {
		return nil, err
	}

	tv, ok := f.Get(keyTokens)
	if !ok {
		return nil, vocabErr("missing %s", keyTokens)
	}
	if v.Tokens, ok = tv.Strings(); !ok {
		return nil, vocabErr("%s is not an array of strings", keyTokens)
	}
	n := len(v.Tokens)
	if sv, ok := f.Get(keyScores); ok {
		if v.Scores, ok = sv.Float32s(); !ok {
			return nil, vocabErr("%s is not an array of floats", keyScores)
		}
	}
	if tt, ok := f.Get(keyTypes); ok {
		ts, ok := tt.Int64s()
		if !ok {
			return nil, vocabErr("%s is not an array of integers", keyTypes)
		}
		v.Types = make([]int32, len(ts))
		for i, t := range ts {
			if t < int64(TokenUndefined) || t > int64(TokenByte) {
				return nil, vocabErr("token %d has unknown type %d", i, t)
			}
			v.Types[i] = int32(t)
		}
	}
	if mv, ok := f.Get(keyMerges); ok {
		if v.Merges, ok = mv.Strings(); !ok {
			return nil, vocabErr("%s is not an array of strings", keyMerges)
		}
	}

	if v.Model == ModelSPM {
		// llama.cpp's defaults for SentencePiece vocabularies.
		v.UNK, v.BOS, v.EOS = 0, 1, 2
		for _, p := range []*int32{&v.UNK, &v.BOS, &v.EOS} {
			if int(*p) >= n {
				*p = -1
			}
		}
	}
	for _, s := range []struct {
		key string
		dst *int32
	}{{keyBOS, &v.BOS}, {keyEOS, &v.EOS}, {keyUNK, &v.UNK}, {keyPAD, &v.PAD}} {
		if _, ok := f.Get(s.key); !ok {
			continue
		}
		id, err := f.Int(s.key)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrVocab, err)
		}
		if id < 0 || id >= int64(n) {
			return nil, vocabErr("%s = %d out of range [0, %d)", s.key, id, n)
		}
		*s.dst = int32(id)
	}

	v.AddBOS = v.Model == ModelSPM || (v.Model == ModelGPT2 && preKindOf(v.Pre) == preLlama3)
	v.AddSpacePrefix = v.Model == ModelSPM
	for _, s := range []struct {
		key string
		dst *bool
	}{{keyAddBOS, &v.AddBOS}, {keyAddEOS, &v.AddEOS}, {keyAddSpacePrefix, &v.AddSpacePrefix}} {
		val, ok := f.Get(s.key)
		if !ok {
			continue
		}
		b, ok := val.Any().(bool)
		if !ok {
			return nil, vocabErr("%s is %s, want bool", s.key, val.Type)
		}
		*s.dst = b
	}
	if v.AddBOS && v.BOS < 0 {
		v.AddBOS = false
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

// ToGGUF writes the tokenizer metadata of v with set (gguf.Writer.Set has
// this signature): tokenizer.ggml.model, .pre (if set), .tokens, .scores (if
// any), .token_type, .merges (if any), the special token ids present (as
// uint32), .add_bos_token, .add_eos_token, .add_space_prefix (SPM) and
// tokenizer.chat_template (if set). Slices are copied.
func (v *Vocab) ToGGUF(set func(key string, val gguf.Value)) {
	set(keyModel, gguf.String(v.Model))
	if v.Pre != "" {
		set(keyPre, gguf.String(v.Pre))
	}
	set(keyTokens, gguf.MustArray(append([]string(nil), v.Tokens...)))
	if v.Scores != nil {
		set(keyScores, gguf.MustArray(append([]float32(nil), v.Scores...)))
	}
	types := make([]int32, len(v.Tokens))
	for i := range types {
		types[i] = v.TypeOf(int32(i))
	}
	set(keyTypes, gguf.MustArray(types))
	if len(v.Merges) > 0 || v.Model == ModelGPT2 {
		set(keyMerges, gguf.MustArray(append([]string{}, v.Merges...)))
	}
	for _, s := range []struct {
		key string
		id  int32
	}{{keyBOS, v.BOS}, {keyEOS, v.EOS}, {keyUNK, v.UNK}, {keyPAD, v.PAD}} {
		if s.id >= 0 {
			set(s.key, gguf.Uint32(uint32(s.id)))
		}
	}
	set(keyAddBOS, gguf.Bool(v.AddBOS))
	set(keyAddEOS, gguf.Bool(v.AddEOS))
	if v.Model == ModelSPM {
		set(keyAddSpacePrefix, gguf.Bool(v.AddSpacePrefix))
	}
	if v.ChatTemplate != "" {
		set(keyChatTemplate, gguf.String(v.ChatTemplate))
	}
}
