package engine

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/sample"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

var updateLlamaCpp = flag.String("update-llamacpp", "",
	"all: rerun ../../shared/anchors/llamacpp-generate on every case, missing: on the cases without tokens; then rewrite testdata/llamacpp.json")

const llamaCppPath = "testdata/llamacpp.json"

// llamaCppCase is one seeded synthetic model and what llama.cpp generated
// on it greedily: the prompt's token ids and the generated ids. Agree is
// how many leading generated tokens the engine must reproduce exactly.
// Random weights give logits with near ties among a large vocabulary, so a
// model whose activations llama.cpp rounds differently (its float sums run
// in another order) may part ways at a near tie; the cases that agree for
// every token must keep doing so, the others must not regress.
//
// The short quantized cases, mixture-of-experts ones included, are such
// near ties, not a mistake in the MoE path (checked for issue 11; see
// BENCHMARKS.md, "Why quantized cases part from llama.cpp early"): fed
// llama.cpp's tokens, the engine's logits differ from llama.cpp's by a
// median 0.001 in f16 and 0.01 in q8_0/mxfp4, dense and MoE alike, and the
// engine itself moves as much under a 1e-4 relative jitter of its
// embeddings, parting from its own greedy path at the very tokens where it
// parts from llama.cpp's (the q8_0 activation rounding turns small
// differences into logit noise of about 0.01). Other prompts on the same
// MoE q8_0 files agree for all 64 tokens and are recorded too.
//
// deepseek2's f16 cases part at near ties too (checked for issue 11): fed
// llama.cpp's tokens, the engine's top logits are within about 0.003 of
// llama.cpp's, whose absorbed attention rounds activations to f16 (the
// absorbed queries, the attention weights before the values); where they
// part, llama.cpp's own two best logits are 0.0003 and 0.0014 apart, or two
// experts' router probabilities 1e-4 apart swap places. The files with
// attn_kv_b (llama.cpp's other attention path) and other prompts on the
// same files agree for all 64 tokens. Their q8_0 cases part early as the
// other mixtures' do, deepseek3-tiny's also where two expert groups' scores
// are 0.001 to 0.002 apart.
type llamaCppCase struct {
	Name   string  `json:"name"`
	Vocab  string  `json:"vocab"`
	Prompt string  `json:"prompt"`
	Agree  int     `json:"agree"`
	Tokens []int32 `json:"prompt_tokens"`
	Gen    []int32 `json:"generated_tokens"`
}

func llamaCppShape(name string) (synth.Shape, kernels.DType, bool, uint64) {
	llama := synth.Shape{Name: "llama-256", Arch: "llama", Dim: 256, Hidden: 768, Layers: 4, Heads: 4, KVHeads: 2,
		Context: 512, RopeBase: 500000, Eps: 1e-5}
	qwen2 := synth.Shape{Name: "qwen2-256", Arch: "qwen2", Dim: 256, Hidden: 768, Layers: 4, Heads: 4, KVHeads: 2,
		Context: 512, RopeBase: 1e6, Eps: 1e-6, QKVBias: true, TiedEmbeddings: true}
	qwen3, _ := synth.ShapeByName("qwen3-tiny")
	// Mixtral's router with experts in tied pairs and 3 used: the third
	// choice is always between two experts of exactly equal probability.
	ties, _ := synth.ShapeByName("mixtral-tiny")
	ties.Name, ties.RouterTies, ties.ExpertsUsed = "mixtral-ties", true, 3
	// phi3 with LongRoPE factors (the long ones: context 8192 over an
	// original 2048) and attn_factor.
	longrope, _ := synth.ShapeByName("phi3-tiny")
	longrope.Name, longrope.LongRoPE, longrope.Context = "phi3-longrope", true, 8192
	longrope.RopeOrigContext, longrope.RopeAttnFactor = 2048, 1.0943
	// deepseek2 as files converted before llama.cpp split attn_kv_b: the
	// engine absorbs attn_kv_b's key rows, llama.cpp decompresses the
	// keys and values per head (its other attention path).
	kvb, _ := synth.ShapeByName("deepseek2-tiny")
	kvb.Name, kvb.MLA.LegacyKVB = "deepseek2-kvb", true
	// YaRN with every key set apart from its default: factor, original
	// context and attn_factor, which llama.cpp reads for these
	// architectures, and the yarn_* keys, which it reads for others only.
	keys := &synth.YarnKeys{ExtFactor: 0.5, AttnFactor: 0.8, BetaFast: 16, BetaSlow: 2, LogMultiplier: 0.1}
	ossYarn, _ := synth.ShapeByName("gpt-oss-tiny")
	ossYarn.Name, ossYarn.RopeScaling, ossYarn.RopeOrigContext, ossYarn.RopeAttnFactor, ossYarn.YarnKeys = "gpt-oss-yarn", 4, 64, 1.25, keys
	qwen3Yarn := qwen3
	qwen3Yarn.Name, qwen3Yarn.YaRN, qwen3Yarn.RopeScaling, qwen3Yarn.RopeOrigContext, qwen3Yarn.RopeAttnFactor, qwen3Yarn.YarnKeys = "qwen3-yarn", true, 4, 128, 0.9, keys
	qwen2Yarn := qwen2
	qwen2Yarn.Name, qwen2Yarn.YaRN, qwen2Yarn.RopeScaling, qwen2Yarn.RopeOrigContext = "qwen2-yarn", true, 8, 64
	llamaLinear := llama
	llamaLinear.Name, llamaLinear.RopeScaling = "llama-linear", 4
	shapes := map[string]synth.Shape{"llama": llama, "qwen2": qwen2, "qwen3": qwen3, "mixtral-ties": ties, "phi3-longrope": longrope,
		"deepseek2-kvb": kvb, "gpt-oss-yarn": ossYarn, "qwen3-yarn": qwen3Yarn, "qwen2-yarn": qwen2Yarn, "llama-linear": llamaLinear}
	arch, typ, _ := strings.Cut(name, "/")
	t, mixed, _ := synth.ParseType(typ)
	s, ok := shapes[arch]
	if !ok {
		s, _ = synth.ShapeByName(arch)
	}
	return s, t, mixed, 11
}

func writeLlamaCppModel(t *testing.T, dir string, c llamaCppCase) string {
	t.Helper()
	f, err := gguf.Open(filepath.Join("../../shared/vocab", c.Vocab))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := tokenizer.VocabFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	shape, typ, mixed, seed := llamaCppShape(c.Name)
	path := filepath.Join(dir, filepath.Base(c.Name)+"-"+shape.Name+".gguf")
	if err := synth.WriteFile(path, synth.Options{Shape: shape, Type: typ, Mixed: mixed, Vocab: v, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return path
}

// greedy runs the prompt's tokens and n greedy steps, one token a step.
func greedy(t *testing.T, path string, prompt []int32, n int) []int32 {
	t.Helper()
	m, err := Open(path, Full())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config
	s, err := m.NewSession(len(prompt) + n + 1)
	if err != nil {
		t.Fatal(err)
	}
	toks, pos := prompt, 0
	var out []int32
	for len(out) < n {
		x := make([]float32, len(toks)*c.Dim)
		if err := m.Embed(toks, x); err != nil {
			t.Fatal(err)
		}
		rows := make([]Row, len(toks))
		for i := range rows {
			rows[i] = Row{Session: s, Pos: pos + i}
		}
		if err := m.Forward(context.Background(), x, rows); err != nil {
			t.Fatal(err)
		}
		last := x[(len(toks)-1)*c.Dim:]
		lg := make([]float32, c.VocabSize)
		if err := m.Head(last, 1, lg); err != nil {
			t.Fatal(err)
		}
		pos += len(toks)
		tok := sample.Argmax(lg)
		toks = []int32{tok}
		out = append(out, tok)
	}
	return out
}

// TestLlamaCppAgreement checks greedy generation on seeded synthetic
// models of each architecture and several weight types against llama.cpp's
// own output on the same files (recorded in testdata/llamacpp.json by
// -update-llamacpp, which runs ../../shared/anchors/llamacpp-generate).
func TestLlamaCppAgreement(t *testing.T) {
	data, err := os.ReadFile(llamaCppPath)
	if err != nil {
		t.Fatal(err)
	}
	var cases []llamaCppCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			path := writeLlamaCppModel(t, dir, c)
			defer os.Remove(path)
			update := *updateLlamaCpp == "all" || (*updateLlamaCpp == "missing" && len(c.Gen) == 0)
			if update {
				out, err := exec.Command("../../shared/anchors/llamacpp-generate", path, c.Prompt, "64", "2").Output()
				if err != nil {
					t.Fatalf("llamacpp-generate: %v", err)
				}
				var r struct {
					Prompt []int32 `json:"prompt_tokens"`
					Gen    []int32 `json:"generated_tokens"`
				}
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatal(err)
				}
				c.Tokens, c.Gen = r.Prompt, r.Gen
			}
			got := greedy(t, path, c.Tokens, len(c.Gen))
			same := 0
			for same < len(got) && got[same] == c.Gen[same] {
				same++
			}
			t.Logf("%s: the engine agrees with llama.cpp for %d of %d tokens", c.Name, same, len(c.Gen))
			if update {
				c.Agree = same
				cases[i] = c
				return
			}
			if c.Agree == 0 {
				t.Fatalf("%s: the case asserts nothing (agree 0): drop it or record tokens it agrees on", c.Name)
			}
			if same < c.Agree {
				t.Errorf("%s: agrees with llama.cpp for %d tokens, want at least %d\n got  %v\n want %v", c.Name, same, c.Agree, got, c.Gen)
			}
		})
	}
	if *updateLlamaCpp != "" {
		data, err := json.MarshalIndent(cases, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(llamaCppPath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
