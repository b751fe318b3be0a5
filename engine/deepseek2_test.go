package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
)

// deepseek2File writes a metadata-only deepseek2 GGUF with the given keys.
func deepseek2File(t *testing.T, ints map[string]uint32, floats map[string]float32, extra func(w *gguf.Writer)) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	a := "deepseek2"
	w.Set("general.architecture", gguf.String(a))
	for k, v := range ints {
		w.Set(a+"."+k, gguf.Uint32(v))
	}
	for k, v := range floats {
		w.Set(a+"."+k, gguf.Float32(v))
	}
	w.Set(a+".rope.scaling.type", gguf.String("yarn"))
	if extra != nil {
		extra(w)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestDeepseek2Config reads DeepSeek-V2-Lite's metadata (a file with
// attn_kv_b, no q_lora_rank, softmax routing, no renormalization) and
// DeepSeek-V3's (attn_k_b and attn_v_b, q_lora_rank, sigmoid routing in
// groups, renormalized and scaled) as llama.cpp does, with YaRN x40 and
// the attention scale mscale^2/sqrt(192): mscale 1 + 0.1*0.707*ln 40 for
// V2-Lite (its yarn_log_multiplier 0.0707), 1 + 0.1*ln 40 for V3.
func TestDeepseek2Config(t *testing.T) {
	common := map[string]uint32{"vocab_size": 102400, "context_length": 163840, "embedding_length": 2048, "block_count": 27,
		"feed_forward_length": 10944, "attention.head_count": 16, "rope.dimension_count": 64, "attention.kv_lora_rank": 512,
		"expert_count": 64, "expert_used_count": 6, "expert_feed_forward_length": 1408, "expert_shared_count": 2,
		"leading_dense_block_count": 1, "rope.scaling.original_context_length": 4096}
	floats := map[string]float32{"rope.freq_base": 10000, "attention.layer_norm_rms_epsilon": 1e-6, "rope.scaling.factor": 40,
		"expert_weights_scale": 1, "rope.scaling.yarn_log_multiplier": 0.0707}
	lite := map[string]uint32{"attention.head_count_kv": 16, "attention.key_length": 192, "attention.value_length": 128}
	for k, v := range common {
		lite[k] = v
	}
	c, err := ConfigFromGGUF(deepseek2File(t, lite, floats, nil))
	if err != nil {
		t.Fatal(err)
	}
	m := c.MLA
	if !m.On || m.SplitKVB || m.QLora != 0 || m.KVLora != 512 || c.HeadDim != 192 || m.VHeadDim != 128 || c.RopeDim != 64 || c.RopeNeox {
		t.Errorf("attention %+v head %d rope %d neox %v", m, c.HeadDim, c.RopeDim, c.RopeNeox)
	}
	if c.KVDim() != 576 || c.AttnDim() != 16*128 || c.QDim() != 16*192 {
		t.Errorf("cache row %d, attention output %d, queries %d", c.KVDim(), c.AttnDim(), c.QDim())
	}
	if c.Experts != 64 || c.ExpertsUsed != 6 || c.ExpertHidden != 1408 || m.SharedExperts != 2 || c.ExpertNorm || m.Sigmoid || m.Groups != 0 {
		t.Errorf("experts %+v", c)
	}
	if !c.Dense(0) || c.Dense(1) || c.Dense(26) {
		t.Errorf("dense blocks: leading %d", m.LeadingDense)
	}
	if !c.RopeYarn || math.Abs(float64(c.YarnMscale)-1) > 1e-5 || math.Abs(float64(m.Scale)-0.114722) > 2e-6 {
		t.Errorf("yarn %v mscale %v scale %v", c.RopeYarn, c.YarnMscale, m.Scale)
	}

	v3 := map[string]uint32{"attention.head_count_kv": 1, "attention.key_length": 576, "attention.value_length": 512,
		"attention.key_length_mla": 192, "attention.value_length_mla": 128, "attention.q_lora_rank": 1536,
		"expert_gating_func": 2, "expert_group_count": 8, "expert_group_used_count": 4}
	for k, v := range common {
		v3[k] = v
	}
	v3["expert_count"], v3["expert_used_count"] = 256, 8
	floats["rope.scaling.yarn_log_multiplier"], floats["expert_weights_scale"] = 0.1, 2.5
	norm := func(w *gguf.Writer) { w.Set("deepseek2.expert_weights_norm", gguf.Bool(true)) }
	if c, err = ConfigFromGGUF(deepseek2File(t, v3, floats, norm)); err != nil {
		t.Fatal(err)
	}
	m = c.MLA
	if !m.SplitKVB || m.QLora != 1536 || c.HeadDim != 192 || m.VHeadDim != 128 || c.KVDim() != 576 {
		t.Errorf("attention %+v head %d", m, c.HeadDim)
	}
	if !m.Sigmoid || !c.ExpertNorm || c.ExpertScale != 2.5 || m.Groups != 8 || m.GroupsUsed != 4 {
		t.Errorf("routing %+v norm %v scale %v", m, c.ExpertNorm, c.ExpertScale)
	}
	if math.Abs(float64(m.Scale)-0.135235) > 2e-6 {
		t.Errorf("scale %v", m.Scale)
	}
	v3["expert_gating_func"] = 4
	if _, err := ConfigFromGGUF(deepseek2File(t, v3, floats, norm)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("gating function 4: %v, want ErrUnsupported", err)
	}
}

// TestRouteMLA checks deepseek2's routing: softmax or sigmoid
// probabilities, the choice among the best groups by the biased
// probabilities, the weights the unbiased ones, renormalized and scaled.
func TestRouteMLA(t *testing.T) {
	sig := func(x float64) float32 { return float32(1 / (1 + math.Exp(-x))) }
	logits := []float32{3, -3, 2.5, 2.4, 0.1, 0, 2.9, -5}
	for _, tc := range []struct {
		name    string
		sigmoid bool
		groups  int
		bias    []float32
		norm    bool
		scale   float32
		want    []int32
		weights []float32 // before renormalization and scaling
	}{
		{"softmax", false, 0, nil, false, 0, []int32{0, 6}, nil},
		{"sigmoid", true, 0, nil, false, 0, []int32{0, 6}, []float32{sig(3), sig(2.9)}},
		// Groups of 2: {3,-3} sums 1, {2.5,2.4} 1.84, {0.1,0} 1.02,
		// {2.9,-5} 0.95: the best two experts of groups 1 and 2.
		{"groups", true, 4, nil, true, 2.5, []int32{2, 3}, []float32{sig(2.5), sig(2.4)}},
		// A bias of -1 on expert 3 drops group 1 to 0.84: groups 2 and 0;
		// the weights stay the unbiased probabilities.
		{"biased groups", true, 4, []float32{0, 0, 0, -1, 0, 0, 0, 0}, true, 2.5, []int32{0, 4}, []float32{sig(3), sig(0.1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{ExpertNorm: tc.norm, ExpertScale: tc.scale, MLA: MLA{On: true, Sigmoid: tc.sigmoid}}
			if tc.groups > 0 {
				c.MLA.Groups, c.MLA.GroupsUsed = tc.groups, 2
			}
			sel, w := make([]int32, 2), make([]float32, 2)
			routeMLA(c, append([]float32(nil), logits...), tc.bias, sel, w, &mlaScratch{})
			if sel[0] != tc.want[0] || sel[1] != tc.want[1] {
				t.Fatalf("chose %v, want %v", sel, tc.want)
			}
			want := tc.weights
			if want == nil {
				p := append([]float32(nil), logits...)
				softmax(p)
				want = []float32{p[tc.want[0]], p[tc.want[1]]}
			}
			if tc.norm {
				s := want[0] + want[1]
				want = []float32{want[0] / s * tc.scale, want[1] / s * tc.scale}
			}
			for j := range w {
				if math.Abs(float64(w[j]-want[j])) > 1e-6 {
					t.Errorf("weights %v, want %v", w, want)
				}
			}
		})
	}
}

// legacyKVB rewrites a deepseek2 file with attn_k_b and attn_v_b (f32) as
// an older converter wrote it: one attn_kv_b per block (a head's key rows,
// the transposes of attn_k_b's, then its value rows), key_length and
// value_length a head's sizes, every head a KV head.
func legacyKVB(t *testing.T, f *gguf.File) *gguf.File {
	t.Helper()
	c, err := ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	heads, hd, vh, kvl := c.Heads, c.HeadDim, c.MLA.VHeadDim, c.MLA.KVLora
	nope := hd - c.RopeDim
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		switch kv.Key {
		case "deepseek2.attention.key_length_mla", "deepseek2.attention.value_length_mla":
		case "deepseek2.attention.head_count_kv":
			w.Set(kv.Key, gguf.Uint32(uint32(heads)))
		case "deepseek2.attention.key_length":
			w.Set(kv.Key, gguf.Uint32(uint32(hd)))
		case "deepseek2.attention.value_length":
			w.Set(kv.Key, gguf.Uint32(uint32(vh)))
		default:
			w.Set(kv.Key, kv.Value)
		}
	}
	f32 := func(name string) []float32 {
		ti, ok := f.Tensor(name)
		if !ok || ti.Type != gguf.TensorType(kernels.F32) {
			t.Fatalf("%s missing or not f32", name)
		}
		data := f.TensorData(ti)
		out := make([]float32, len(data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return out
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		p, ok := strings.CutSuffix(ti.Name, "attn_k_b.weight")
		switch {
		case ok:
			kb, vb := f32(p+"attn_k_b.weight"), f32(p+"attn_v_b.weight")
			rows := heads * (nope + vh)
			kvb := make([]byte, 4*rows*kvl)
			put := func(r, j int, v float32) { binary.LittleEndian.PutUint32(kvb[4*(r*kvl+j):], math.Float32bits(v)) }
			for h := 0; h < heads; h++ {
				for j := 0; j < kvl; j++ {
					for i := 0; i < nope; i++ {
						put(h*(nope+vh)+i, j, kb[(h*kvl+j)*nope+i])
					}
				}
				for r := 0; r < vh; r++ {
					for j := 0; j < kvl; j++ {
						put(h*(nope+vh)+nope+r, j, vb[(h*vh+r)*kvl+j])
					}
				}
			}
			w.AddTensor(p+"attn_kv_b.weight", gguf.TensorType(kernels.F32), []uint64{uint64(kvl), uint64(rows)}, kvb)
		case strings.HasSuffix(ti.Name, "attn_v_b.weight"):
		default:
			w.AddTensor(ti.Name, ti.Type, ti.Dims, f.TensorData(ti))
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeepseek2LegacyKVB: the same f32 weights as attn_k_b and attn_v_b or
// as an older file's attn_kv_b give bitwise the same logits, and the KV
// cache holds KVLora + RopeDim values a position and block, the compressed
// row and the shared rotated key, whatever the heads.
func TestDeepseek2LegacyKVB(t *testing.T) {
	for _, name := range []string{"deepseek2-tiny", "deepseek3-tiny"} {
		t.Run(name, func(t *testing.T) {
			split := synthFile(t, name, kernels.F32, 2)
			legacy := legacyKVB(t, split)
			tokens := []int32{1, 303, 281, 269, 435, 447, 275, 12, 99}
			a := load(t, split, Full())
			b := load(t, legacy, Full())
			if !a.Config.MLA.SplitKVB || b.Config.MLA.SplitKVB {
				t.Fatalf("split %v, legacy %v", a.Config.MLA.SplitKVB, b.Config.MLA.SplitKVB)
			}
			if i := bitsEqual(forwardAll(t, b, []*Model{b}, b, tokens), forwardAll(t, a, []*Model{a}, a, tokens)); i >= 0 {
				t.Fatalf("attn_kv_b logits differ from attn_k_b/attn_v_b ones at %d", i)
			}
			c := a.Config
			if got, want := a.SessionBytes(10), int64(2*10*(c.MLA.KVLora+c.RopeDim)*4); got != want {
				t.Errorf("a session of 10 positions over 2 blocks takes %d bytes, want %d", got, want)
			}
			s, err := a.NewSession(10)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.k) != 2 || len(s.k[0]) != 10*(c.MLA.KVLora+c.RopeDim) || len(s.v) != 0 {
				t.Errorf("cache of %d blocks, %d values, %d value blocks", len(s.k), len(s.k[0]), len(s.v))
			}
		})
	}
}
