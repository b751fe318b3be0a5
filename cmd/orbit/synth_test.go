package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
)

// TestSynthEveryType: orbit synth writes a model of every weight type the
// engine runs (and the q4_k_m, q5_k_m and q3_k_m mixes) with its matrices in that type, and
// orbit generate runs it.
func TestSynthEveryType(t *testing.T) {
	// aidreams260K's 512-token vocabulary keeps the embedding small.
	vocab := filepath.Join(shared, "models", "aidreams260K.gguf")
	for _, tc := range []struct {
		typ      string
		matrix   kernels.DType // blk.0.attn_q.weight
		embd     kernels.DType // token_embd.weight (the tied head)
		fileType int64
	}{
		{"f32", kernels.F32, kernels.F32, 0},
		{"f16", kernels.F16, kernels.F16, 1},
		{"bf16", kernels.BF16, kernels.BF16, 32},
		{"q8_0", kernels.Q8_0, kernels.Q8_0, 7},
		{"q4_0", kernels.Q4_0, kernels.Q4_0, 2},
		{"q4_k", kernels.Q4_K, kernels.Q4_K, 15},
		{"q6_k", kernels.Q6_K, kernels.Q6_K, 18},
		{"q4_k_m", kernels.Q4_K, kernels.Q6_K, 15},
		{"q4_1", kernels.Q4_1, kernels.Q4_1, 3},
		{"q5_0", kernels.Q5_0, kernels.Q5_0, 8},
		{"q3_k", kernels.Q3_K, kernels.Q3_K, 12},
		{"q5_k", kernels.Q5_K, kernels.Q5_K, 17},
		{"iq4_xs", kernels.IQ4_XS, kernels.IQ4_XS, 30},
		{"mxfp4", kernels.MXFP4, kernels.MXFP4, 38},
		{"q5_k_m", kernels.Q5_K, kernels.Q6_K, 17},
		{"q3_k_m", kernels.Q3_K, kernels.Q6_K, 12},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tc.typ+".gguf")
			if _, errOut, err := run(t, "synth", "--shape", "small", "--layers", "2", "--type", tc.typ, "--seed", "3", "--vocab", vocab, "-o", out); err != nil {
				t.Fatalf("synth: %v\n%s", err, errOut)
			}
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for name, want := range map[string]kernels.DType{"blk.0.attn_q.weight": tc.matrix, "blk.1.ffn_gate.weight": tc.matrix, "token_embd.weight": tc.embd} {
				if ti, ok := f.Tensor(name); !ok || kernels.DType(ti.Type) != want {
					t.Errorf("%s: %v, want %v", name, ti, want)
				}
			}
			if ft, err := f.Int("general.file_type"); err != nil || ft != tc.fileType {
				t.Errorf("general.file_type %d (%v), want %d", ft, err, tc.fileType)
			}
			text, errOut, err := run(t, "generate", "--model", out, "--prompt", "Once upon", "-n", "6", "--temperature", "0")
			if err != nil {
				t.Fatalf("generate: %v\n%s", err, errOut)
			}
			if !strings.HasPrefix(text, "Once upon") || len(text) <= len("Once upon\n") {
				t.Errorf("generate printed %q", text)
			}
		})
	}
	if _, _, err := run(t, "synth", "--type", "q2_k", "--vocab", vocab, "-o", filepath.Join(t.TempDir(), "x.gguf")); err == nil || !strings.Contains(err.Error(), strings.Join(synth.TypeNames(), ", ")) {
		t.Errorf("unknown type: %v", err)
	}
}

// TestSynthGeneratedVocab: without --vocab, orbit synth uses the vocabulary
// orbit generates (no file from elsewhere), and the model runs: orbit
// generate prints the prompt and greedy text, the same twice.
func TestSynthGeneratedVocab(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny.gguf")
	if _, errOut, err := run(t, "synth", "--shape", "tiny", "--type", "q8_0", "-o", out); err != nil {
		t.Fatalf("synth: %v\n%s", err, errOut)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	tv, _ := f.Get("tokenizer.ggml.tokens")
	tokens, _ := tv.Strings()
	name, _ := f.String("tokenizer.ggml.model")
	f.Close()
	if len(tokens) != 380 || name != "llama" {
		t.Fatalf("vocabulary of %d tokens, model %q; want the generated 380-token SentencePiece one", len(tokens), name)
	}
	var texts []string
	for range 2 {
		text, errOut, err := run(t, "generate", "--model", out, "--prompt", "I dream of", "-n", "12", "--temperature", "0")
		if err != nil {
			t.Fatalf("generate: %v\n%s", err, errOut)
		}
		if !strings.HasPrefix(text, "I dream of") || len(text) <= len("I dream of\n") {
			t.Fatalf("generate printed %q", text)
		}
		texts = append(texts, text)
	}
	if texts[0] != texts[1] {
		t.Errorf("greedy text differs between runs: %q, %q", texts[0], texts[1])
	}
}
