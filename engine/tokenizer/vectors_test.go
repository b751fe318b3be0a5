package tokenizer

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
)

const (
	vocabDir  = "../../../shared/vocab"
	modelsDir = "../../../shared/models"
	refDir    = "../../../shared/reference"
)

var vocabNames = []string{"llama-spm", "llama-bpe", "qwen2", "gpt-2", "phi-3"}

var (
	tokMu    sync.Mutex
	tokCache = map[string]*Tokenizer{}
)

// loadTok loads (once per test binary) the tokenizer of ggml-vocab-NAME.gguf.
func loadTok(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	tokMu.Lock()
	defer tokMu.Unlock()
	if t, ok := tokCache[name]; ok {
		return t
	}
	path := vocabDir + "/ggml-vocab-" + name + ".gguf"
	f, err := gguf.Open(path)
	if err != nil {
		tb.Skipf("vocab not available: %v", err)
	}
	defer f.Close()
	t, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	tokCache[name] = t
	return t
}

// vectorCase is one input of NAME.gguf.inp with its expected ids.
type vectorCase struct {
	input string
	want  []int32
}

// loadVectors reads NAME.gguf.inp (inputs, each followed by a line
// "__ggml_vocab_test__"; text after the last separator is not an input)
// and NAME.gguf.out (one line of ids per input).
func loadVectors(tb testing.TB, name string) []vectorCase {
	tb.Helper()
	base := vocabDir + "/ggml-vocab-" + name + ".gguf"
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		tb.Skipf("vectors not available: %v", err)
	}
	outb, err := os.ReadFile(base + ".out")
	if err != nil {
		tb.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	parts := strings.Split(string(inp), sep)
	inputs := parts[:len(parts)-1]
	lines := strings.Split(strings.TrimSuffix(string(outb), "\n"), "\n")
	if len(lines) != len(inputs) {
		tb.Fatalf("%s: %d inputs but %d output lines", name, len(inputs), len(lines))
	}
	cases := make([]vectorCase, len(inputs))
	for i, in := range inputs {
		cases[i].input = in
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				tb.Fatalf("%s.out line %d: %v", name, i+1, err)
			}
			cases[i].want = append(cases[i].want, int32(id))
		}
	}
	return cases
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVocabVectors(t *testing.T) {
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			tok := loadTok(t, name)
			cases := loadVectors(t, name)
			pass, reported := 0, 0
			for i, c := range cases {
				// llama.cpp's test-tokenizer-0 encodes with parse_special;
				// no input contains a special token text, so both agree.
				got := tok.Encode(c.input, false, true)
				plain := tok.Encode(c.input, false, false)
				if equalIDs(got, c.want) && equalIDs(plain, c.want) {
					pass++
					continue
				}
				if reported++; reported <= 5 {
					t.Errorf("case %d input %q:\n got %v (parseSpecial=false: %v)\nwant %v", i, c.input, got, plain, c.want)
				}
			}
			t.Logf("%s: %d/%d vectors pass", name, pass, len(cases))
		})
	}
}

func TestVocabRoundTrip(t *testing.T) {
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			tok := loadTok(t, name)
			for i, c := range loadVectors(t, name) {
				if got := tok.Decode(c.want); got != c.input {
					t.Errorf("case %d: Decode(want) = %q, want %q", i, got, c.input)
				}
				if got := tok.Decode(tok.Encode(c.input, true, false)); got != c.input {
					t.Errorf("case %d: Decode(Encode) = %q, want %q", i, got, c.input)
				}
			}
		})
	}
}

func ExampleTokenizer_Encode() {
	f, err := gguf.Open(vocabDir + "/ggml-vocab-llama-spm.gguf")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.Encode("Hello world", true, false)
	fmt.Println(ids, tok.Decode(ids))
	// Output: [1 15043 3186] Hello world
}

func loadTokPath(tb testing.TB, path string) *Tokenizer {
	tb.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		tb.Skipf("not available: %v", err)
	}
	defer f.Close()
	t, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return t
}
