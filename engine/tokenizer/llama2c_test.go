package tokenizer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"
)

type refCase struct {
	Prompt       string  `json:"prompt"`
	PromptTokens []int32 `json:"prompt_tokens"`
	Tokens       []int32 `json:"tokens"`
	Text         string  `json:"text"`
}

func loadLlama2CTok(tb testing.TB, file string, size int) *Tokenizer {
	tb.Helper()
	v, err := LoadLlama2C(modelsDir+"/"+file, size)
	if errors.Is(err, os.ErrNotExist) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := New(v)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestLlama2CReference(t *testing.T) {
	data, err := os.ReadFile(refDir + "/aidreams260K-greedy.json")
	if err != nil {
		t.Skip(err)
	}
	var ref struct {
		Cases []refCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no cases")
	}
	tok := loadLlama2CTok(t, "tok512.bin", 512)
	for i, c := range ref.Cases {
		if got := tok.Encode(c.Prompt, true, false); !equalIDs(got, c.PromptTokens) {
			t.Errorf("case %d: Encode(%q) = %v, want %v", i, c.Prompt, got, c.PromptTokens)
		}
		if got := tok.Decode(c.Tokens); got != c.Text {
			t.Errorf("case %d: Decode(tokens) = %q, want %q", i, got, c.Text)
		}
		// Streaming the whole sequence gives the same text.
		d := tok.NewStreamDecoder()
		var s string
		for _, id := range c.Tokens {
			s += d.Next(id)
		}
		if s += d.Flush(); s != c.Text {
			t.Errorf("case %d: streamed %q, want %q", i, s, c.Text)
		}
	}
	t.Logf("%d reference cases", len(ref.Cases))
}

// TestLlama2CMatchesGGUF: tok512.bin read by LoadLlama2C is the vocabulary
// of aidreams260K.gguf (converted by another tool), token for token.
func TestLlama2CMatchesGGUF(t *testing.T) {
	tok := loadLlama2CTok(t, "tok512.bin", 0)
	if tok.NumTokens() != 512 {
		t.Fatalf("%d tokens, want 512", tok.NumTokens())
	}
	g := loadTokPath(t, modelsDir+"/aidreams260K.gguf")
	a, b := tok.Vocab(), g.Vocab()
	for i := 0; i < 512; i++ {
		if a.Tokens[i] != b.Tokens[i] || a.Scores[i] != b.Scores[i] || a.Types[i] != b.Types[i] {
			t.Fatalf("token %d: %q %v %d vs %q %v %d", i, a.Tokens[i], a.Scores[i], a.Types[i], b.Tokens[i], b.Scores[i], b.Types[i])
		}
	}
	for _, s := range []string{"", "I dream of", "  two  spaces\n", "Ünïcödé ½ 🦙"} {
		if x, y := tok.Encode(s, true, false), g.Encode(s, true, false); !equalIDs(x, y) {
			t.Errorf("Encode(%q): llama2.c %v, gguf %v", s, x, y)
		}
	}
}

// TestLlama2Tokenizer32k: llama2.c's tokenizer.bin is Llama 2's vocabulary,
// the same as ggml-vocab-llama-spm.gguf.
func TestLlama2Tokenizer32k(t *testing.T) {
	tok := loadLlama2CTok(t, "llama2-tokenizer.bin", 32000)
	ref := loadTok(t, "llama-spm")
	if tok.NumTokens() != 32000 {
		t.Fatalf("%d tokens", tok.NumTokens())
	}
	// llama2.c's export spells BOS and EOS "\n<s>\n" and "\n</s>\n".
	if v := tok.Vocab(); v.Tokens[1] != "\n<s>\n" || v.Tokens[2] != "\n</s>\n" {
		t.Errorf("BOS/EOS pieces %q %q", v.Tokens[1], v.Tokens[2])
	}
	diff := 0
	for i := 3; i < 32000; i++ {
		if tok.Vocab().Tokens[i] != ref.Vocab().Tokens[i] {
			if diff++; diff < 5 {
				t.Errorf("token %d: %q vs %q", i, tok.Vocab().Tokens[i], ref.Vocab().Tokens[i])
			}
		}
	}
	want := []int32{1, 15043, 3186}
	if got := tok.Encode("Hello world", true, false); !equalIDs(got, want) {
		t.Errorf("Encode(Hello world) = %v, want %v", got, want)
	}
	if got := ref.Encode("Hello world", true, false); !equalIDs(got, want) {
		t.Errorf("gguf Encode(Hello world) = %v, want %v", got, want)
	}
	for _, c := range loadVectors(t, "llama-spm") {
		if got := tok.Encode(c.input, false, false); !equalIDs(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.input, got, c.want)
		}
	}
}

// l2c builds a llama2.c tokenizer file.
func l2c(maxLen int32, pieces ...string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(maxLen))
	for i, p := range pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(-i)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func TestParseLlama2C(t *testing.T) {
	good := l2c(4, "<unk>", "\n<s>\n", "\n</s>\n", "a b", " ")
	v, err := ParseLlama2C(good, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) != 5 || v.Tokens[1] != "\n<s>\n" || v.Tokens[2] != "\n</s>\n" || v.Tokens[3] != "a\u2581b" || v.Tokens[4] != "\u2581" {
		t.Errorf("tokens %q", v.Tokens)
	}
	if v.BOS != 1 || v.EOS != 2 || v.UNK != 0 || !v.AddBOS || v.Types[0] != TokenUnknown || v.Types[1] != TokenControl || v.Types[3] != TokenByte || v.Scores[4] != -4 {
		t.Errorf("vocab %+v", v)
	}
	if v, err := ParseLlama2C(good, 3); err != nil || len(v.Tokens) != 3 {
		t.Errorf("vocabSize 3: %v", err)
	}
	bad := map[string][]byte{
		"empty":        nil,
		"header only":  l2c(4),
		"too many":     good,
		"truncated":    good[:len(good)-1],
		"neg length":   append(l2c(4, "x"), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff),
		"huge length":  append(l2c(4, "x"), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f),
		"neg max len":  l2c(-1, "x"),
		"short header": {1, 2},
	}
	for name, data := range bad {
		size := 0
		if name == "too many" {
			size = 6
		}
		if _, err := ParseLlama2C(data, size); !errors.Is(err, ErrVocab) {
			t.Errorf("%s: err = %v, want ErrVocab", name, err)
		}
	}
}

func FuzzParseLlama2C(f *testing.F) {
	f.Add(l2c(4, "<unk>", "<s>", "</s>", "a", "b", "ab"), 0)
	f.Add(l2c(4, "<unk>", "<s>"), 3)
	f.Add([]byte{}, 0)
	if data, err := os.ReadFile(modelsDir + "/tok512.bin"); err == nil {
		f.Add(data[:600], 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		v, err := ParseLlama2C(data, size)
		if err != nil {
			return
		}
		if len(v.Tokens)*8 > len(data) {
			t.Fatalf("%d tokens from %d bytes", len(v.Tokens), len(data))
		}
		tok, err := New(v)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		ids := tok.Encode("hello wörld \xff", true, true)
		_ = tok.Decode(ids)
	})
}
