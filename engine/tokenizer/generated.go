package tokenizer

import "fmt"

// spmSpace is how SentencePiece writes a space.
const spmSpace = "\u2581"

// GeneratedSPM returns a small SentencePiece vocabulary the project makes
// itself, so that a model can be synthesized (orbit synth) with no
// vocabulary file from elsewhere: <unk>, <s> and </s>, the 256 byte tokens
// <0x00>..<0xFF> (byte fallback, so any text encodes), a piece for every
// printable ASCII character (the space as U+2581), and "▁x" for each lower-
// case letter x, scored above single characters so that a word's leading
// space merges with its first letter. 380 tokens; BOS is added, as llama's
// vocabulary does.
func GeneratedSPM() *Vocab {
	v := &Vocab{Model: ModelSPM, BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true,
		Name: "orbit-generated-spm"}
	add := func(tok string, typ int32, score float32) {
		v.Tokens = append(v.Tokens, tok)
		v.Types = append(v.Types, typ)
		v.Scores = append(v.Scores, score)
	}
	add("<unk>", TokenUnknown, 0)
	add("<s>", TokenControl, 0)
	add("</s>", TokenControl, 0)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), TokenByte, 0)
	}
	add(spmSpace, TokenNormal, -1)
	for c := byte('!'); c <= '~'; c++ {
		add(string(c), TokenNormal, -2)
	}
	for c := byte('a'); c <= 'z'; c++ {
		add(spmSpace+string(c), TokenNormal, -0.5)
	}
	return v
}
