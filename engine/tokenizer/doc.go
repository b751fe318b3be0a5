// Package tokenizer implements the tokenizers of Llama-family models as
// llama.cpp runs them, built from GGUF metadata (VocabFromGGUF, FromGGUF) or
// from llama2.c tokenizer files (LoadLlama2C, ParseLlama2C).
//
// Two tokenizer models are supported, selected by Vocab.Model
// (tokenizer.ggml.model):
//
//   - "llama": SentencePiece BPE with byte fallback (Llama 1/2, Mistral,
//     Phi-3, llama2.c models). Spaces are escaped as U+2581 and, when
//     AddSpacePrefix is set, one is prepended to the text (and to text that
//     follows a special token). The text is split into UTF-8 characters and
//     the adjacent pair whose concatenation is the highest-scoring piece is
//     merged repeatedly (ties: leftmost). Characters left outside any piece
//     become <0xNN> byte tokens (or the unknown token). On llama2.c
//     vocabularies this is exactly llama2.c's encoder, including its dummy
//     leading space (added only for non-empty text).
//   - "gpt2": byte-level BPE (Llama 3, Qwen2, GPT-2). A pre-tokenizer chosen
//     by Vocab.Pre splits the text into words: "gpt-2", "llama-bpe"/"llama3"
//     (numbers in groups of up to three, case-insensitive contractions),
//     "qwen2" (single digits), "gpt-4o" (o200k, gpt-oss: words split at
//     case changes with their contractions, llama.cpp's rewrite that counts
//     non-ASCII letters as both cases), llama.cpp's "default", DeepSeek's
//     "deepseek-llm", "deepseek-coder" and "deepseek-v3" (sequences of
//     regexes, each splitting every word of the one before, as llama.cpp
//     applies them) and "kimi-k2" (Han runs apart from other letters, as
//     llama.cpp's scanner for it). They are hand-written scanners equivalent
//     to the regular expressions, lookahead included.
//     Each word's bytes are mapped to GPT-2's printable characters and merged
//     by merge rank (lowest first, ties leftmost). Llama 3 words that are
//     whole tokens are not merged (ignore_merges).
//
// Merging uses a linked list of symbols and a binary heap of candidate pairs
// with precomputed pair maps, so encoding is O(n log n) even on long runs of
// one character.
//
// Special tokens: with parseSpecial, the texts of control tokens (<s>,
// <|im_start|>, <|eot_id|>, ...) are recognised in the input before
// tokenization, longest first, as llama.cpp does; user-defined tokens are
// always recognised. For models named Phi-3 (general.name), whitespace after
// most special tokens is dropped, matching llama.cpp.
//
// Decoding: TokenPiece gives the bytes a token contributes (control tokens
// none); Decode concatenates them and drops the space prefix Encode added,
// so Decode(Encode(s, ...)) == s for SentencePiece vocabularies (s without
// U+2581 or user-defined token texts) and byte-level ones (any s, even
// invalid UTF-8). StreamDecoder yields text token by token, holding back
// incomplete UTF-8 sequences; like llama2.c it drops the leading space of
// the piece after BOS. Text is not otherwise cleaned up (no
// clean_up_tokenization_spaces).
//
// A Tokenizer is immutable after New and safe for concurrent use.
package tokenizer
