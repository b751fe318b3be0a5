package engine

import (
	"bytes"
	"errors"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// TestRopeScalingConfig: llama, qwen2, qwen3, qwen3moe and gpt-oss read
// rope.scaling as llama.cpp does: linear (the default type, or the older
// rope.scale_linear key) scales the angles, yarn sets the mix from the
// original context and attn_factor, none and a factor of 1 change nothing,
// other types are refused; the yarn_* keys llama.cpp reads for other
// architectures only change nothing.
func TestRopeScalingConfig(t *testing.T) {
	type kv = map[string]gguf.Value
	for _, tc := range []struct {
		name, arch string
		keys       kv
		scale      float32
		yarn       bool
		err        error
	}{
		{"none", "qwen3", kv{}, 0, false, nil},
		{"linear by default", "llama", kv{"rope.scaling.factor": gguf.Float32(4)}, 0.25, false, nil},
		{"old key", "llama", kv{"rope.scale_linear": gguf.Float32(2)}, 0.5, false, nil},
		{"type none", "qwen2", kv{"rope.scaling.type": gguf.String("none"), "rope.scaling.factor": gguf.Float32(4)}, 0, false, nil},
		{"factor 1", "qwen2", kv{"rope.scaling.type": gguf.String("yarn"), "rope.scaling.factor": gguf.Float32(1)}, 0, false, nil},
		{"yarn", "qwen3moe", kv{"rope.scaling.type": gguf.String("yarn"), "rope.scaling.factor": gguf.Float32(4),
			"rope.scaling.original_context_length": gguf.Uint32(128)}, 0.25, true, nil},
		{"yarn keys of other architectures", "qwen3moe", kv{"rope.scaling.type": gguf.String("yarn"), "rope.scaling.factor": gguf.Float32(4),
			"rope.scaling.original_context_length": gguf.Uint32(128), "rope.scaling.yarn_beta_fast": gguf.Float32(8),
			"rope.scaling.yarn_ext_factor": gguf.Float32(0.5), "rope.scaling.yarn_log_multiplier": gguf.Float32(0.1)}, 0.25, true, nil},
		{"longrope", "qwen2", kv{"rope.scaling.type": gguf.String("longrope"), "rope.scaling.factor": gguf.Float32(4)}, 0, false, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := gguf.NewWriter()
			a := tc.arch
			w.Set("general.architecture", gguf.String(a))
			for k, v := range map[string]uint32{"vocab_size": 512, "context_length": 512, "embedding_length": 256, "feed_forward_length": 512,
				"block_count": 2, "attention.head_count": 4, "attention.head_count_kv": 2} {
				w.Set(a+"."+k, gguf.Uint32(v))
			}
			if a == "qwen3moe" {
				w.Set(a+".expert_count", gguf.Uint32(4))
				w.Set(a+".expert_used_count", gguf.Uint32(2))
			}
			for k, v := range tc.keys {
				w.Set(a+"."+k, v)
			}
			var buf bytes.Buffer
			if _, err := w.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			c, err := ConfigFromGGUF(f)
			if tc.err != nil || err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if c.RopeFreqScale != tc.scale || c.RopeYarn != tc.yarn {
				t.Fatalf("freq scale %v yarn %v, want %v %v", c.RopeFreqScale, c.RopeYarn, tc.scale, tc.yarn)
			}
			if tc.yarn {
				// ggml's correction dims for 64 rotated dims, base
				// 10000, original context 128 (d(beta) = 64 ln(128 /
				// (2 pi beta)) / (2 ln 10000)): max(0, floor(d(32))) = 0,
				// ceil(d(1)) = ceil(10.47) = 11; mscale cancels to
				// 1 + 0.1 ln 4.
				if c.YarnLow != 0 || c.YarnHigh != 11 {
					t.Fatalf("yarn dims [%v, %v], want [0, 11]", c.YarnLow, c.YarnHigh)
				}
				if d := c.YarnMscale - (1 + 0.1*logf(4)); d > 1e-6 || d < -1e-6 {
					t.Fatalf("yarn mscale %v", c.YarnMscale)
				}
			}
		})
	}
}
