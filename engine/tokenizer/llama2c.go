package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// ParseLlama2C parses a llama2.c tokenizer file: int32 max_token_length,
// then for each token float32 score, int32 length and the piece bytes (all
// little-endian). vocabSize > 0 reads exactly that many tokens (trailing
// bytes are ignored); vocabSize <= 0 reads entries up to the end of data.
//
// The result is a SentencePiece vocabulary: spaces in pieces become U+2581,
// ids 0, 1, 2 keep the file's pieces (llama2.c spells them "<unk>",
// "\n<s>\n", "\n</s>\n", and GGUF conversions keep that spelling) and are typed unknown / control,
// ids 3..258 are byte tokens, BOS=1, EOS=2, UNK=0 and AddBOS is set.
// Allocation is bounded by len(data); malformed input gives an error.
func ParseLlama2C(data []byte, vocabSize int) (*Vocab, error) {
	const entryMin = 8 // score + length
	if len(data) < 4 {
		return nil, vocabErr("llama2.c tokenizer: %d bytes is too short for a header", len(data))
	}
	maxLen := int32(binary.LittleEndian.Uint32(data))
	if maxLen < 0 {
		return nil, vocabErr("llama2.c tokenizer: negative max_token_length %d", maxLen)
	}
	rest := data[4:]
	capHint := len(rest) / entryMin
	if vocabSize > 0 {
		if vocabSize > capHint {
			return nil, vocabErr("llama2.c tokenizer: %d bytes cannot hold %d tokens", len(data), vocabSize)
		}
		capHint = vocabSize
	}
	tokens := make([]string, 0, capHint)
	scores := make([]float32, 0, capHint)
	var sb strings.Builder
	for vocabSize <= 0 && len(rest) > 0 || len(tokens) < vocabSize {
		if len(rest) < entryMin {
			return nil, vocabErr("llama2.c tokenizer: token %d: truncated entry (%d bytes left)", len(tokens), len(rest))
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(rest))
		n := int32(binary.LittleEndian.Uint32(rest[4:]))
		rest = rest[entryMin:]
		if n < 0 || int64(n) > int64(len(rest)) {
			return nil, vocabErr("llama2.c tokenizer: token %d: length %d with %d bytes left", len(tokens), n, len(rest))
		}
		piece := rest[:n]
		rest = rest[n:]
		sb.Reset()
		for _, c := range piece {
			if c == ' ' {
				sb.WriteString(spaceEsc)
			} else {
				sb.WriteByte(c)
			}
		}
		tokens = append(tokens, sb.String())
		scores = append(scores, score)
	}
	n := len(tokens)
	if n == 0 {
		return nil, vocabErr("llama2.c tokenizer: no tokens")
	}
	types := make([]int32, n)
	for i := range types {
		switch {
		case i == 0:
			types[i] = TokenUnknown
		case i <= 2:
			types[i] = TokenControl
		case i <= 258:
			types[i] = TokenByte
		default:
			types[i] = TokenNormal
		}
	}
	v := &Vocab{
		Model: ModelSPM, Pre: "default",
		Tokens: tokens, Scores: scores, Types: types,
		BOS: -1, EOS: -1, UNK: 0, PAD: -1,
		AddSpacePrefix: true,
	}
	if n > 1 {
		v.BOS, v.AddBOS = 1, true
	}
	if n > 2 {
		v.EOS = 2
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

// LoadLlama2C reads a llama2.c tokenizer file (see ParseLlama2C).
func LoadLlama2C(path string, vocabSize int) (*Vocab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	v, err := ParseLlama2C(data, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
