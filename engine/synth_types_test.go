package engine

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
)

// TestSynthTypesGenerate: a synthetic model of every weight type orbit
// synth makes (and the q4_k_m and q5_k_m mixes) has its matrices in that type, loads,
// generates, and computes prefill logits close to the f32 model's.
func TestSynthTypesGenerate(t *testing.T) {
	vocab, err := tokenizer.LoadLlama2C(filepath.Join(shared, "models", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := synth.ShapeByName("small")
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int32{1, 300, 17, 42, 511, 7}
	ctx := context.Background()
	model := func(t *testing.T, typ kernels.DType, mixed bool) *gguf.File {
		var buf bytes.Buffer
		if err := synth.Write(&buf, synth.Options{Shape: shape, Type: typ, Mixed: mixed, Vocab: vocab, Seed: 11, Layers: 2}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	prefillLogits := func(t *testing.T, m *Model) []float32 {
		sess, err := m.NewSession(len(prompt))
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, len(prompt)*m.Config.Dim)
		if err := m.Embed(prompt, x); err != nil {
			t.Fatal(err)
		}
		rows := make([]Row, len(prompt))
		for i := range rows {
			rows[i] = Row{Session: sess, Pos: i}
		}
		if err := m.Forward(ctx, x, rows); err != nil {
			t.Fatal(err)
		}
		logits := make([]float32, m.Config.VocabSize)
		if err := m.Head(x[(len(prompt)-1)*m.Config.Dim:], 1, logits); err != nil {
			t.Fatal(err)
		}
		return logits
	}
	want := prefillLogits(t, load(t, model(t, kernels.F32, false), Full()))

	type tc struct {
		name  string
		typ   kernels.DType
		mixed bool
		minR  float64 // least correlation of the prefill logits with f32's
	}
	cases := []tc{{"q4_k_m", kernels.Q4_K, true, 0.95}, {"q5_k_m", kernels.Q5_K, true, 0.98}}
	for _, typ := range kernels.Types() {
		minR := 0.99
		switch typ {
		case kernels.Q4_0, kernels.Q4_1, kernels.Q4_K, kernels.IQ4_XS:
			minR = 0.95
		case kernels.MXFP4:
			minR = 0.92
		case kernels.Q3_K:
			minR = 0.9
		}
		cases = append(cases, tc{typ.String(), typ, false, minR})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := model(t, c.typ, c.mixed)
			for _, name := range []string{"blk.0.attn_q.weight", "blk.1.ffn_up.weight", "blk.1.attn_v.weight", "token_embd.weight"} {
				wt := c.typ
				if c.mixed && name != "blk.1.ffn_up.weight" && name != "blk.0.attn_q.weight" {
					wt = kernels.Q6_K // block 1 of 2 is a "more bits" block; the tied output too
				}
				if ti, _ := f.Tensor(name); kernels.DType(ti.Type) != wt {
					t.Errorf("%s is %v, want %v", name, kernels.DType(ti.Type), wt)
				}
			}
			m := load(t, f, Full())
			got := prefillLogits(t, m)
			r := correlation(got, want)
			if !(r >= c.minR) {
				t.Errorf("prefill logits correlate %.4f with the f32 model's, want at least %.2f", r, c.minR)
			}
			sess, err := m.NewSession(len(prompt) + 8)
			if err != nil {
				t.Fatal(err)
			}
			var toks []int32
			st, err := m.Generate(ctx, sess, prompt, GenerateOptions{MaxTokens: 8}, func(tok int32) error {
				toks = append(toks, tok)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(toks) != 8 || st.GeneratedTokens != 8 || st.PromptTokens != len(prompt) {
				t.Fatalf("generated %v (%+v)", toks, st)
			}
			for _, tok := range toks {
				if tok < 0 || int(tok) >= m.Config.VocabSize {
					t.Fatalf("token %d outside the vocabulary", tok)
				}
			}
			if !(st.PrefillTokensPerSecond() > 0) || !(st.DecodeTokensPerSecond() > 0) {
				t.Errorf("rates %v, %v", st.PrefillTokensPerSecond(), st.DecodeTokensPerSecond())
			}
		})
	}
}

// correlation is Pearson's r of a and b.
func correlation(a, b []float32) float64 {
	var sa, sb, saa, sbb, sab float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		sa, sb, saa, sbb, sab = sa+x, sb+y, saa+x*x, sbb+y*y, sab+x*y
	}
	n := float64(len(a))
	return (sab - sa*sb/n) / math.Sqrt((saa-sa*sa/n)*(sbb-sb*sb/n))
}
