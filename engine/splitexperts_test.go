package engine

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
)

var mergedExperts = regexp.MustCompile(`^(blk\.\d+\.ffn_(gate|up|down))_exps\.weight$`)

// splitExpertsFile rewrites f as older Mixtral GGUFs store experts: each
// 3-D ffn_{gate,up,down}_exps.weight becomes a 2-D tensor per expert,
// blk.N.ffn_gate.E.weight and so on, holding that expert's bytes. Tensors
// named in drop are left out.
func splitExpertsFile(t testing.TB, f *gguf.File, drop ...string) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	w.Version = f.Version
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
	add := func(name string, typ gguf.TensorType, dims []uint64, data []byte) {
		if !slices.Contains(drop, name) {
			w.AddTensor(name, typ, dims, data)
		}
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data := f.TensorData(ti)
		m := mergedExperts.FindStringSubmatch(ti.Name)
		if m == nil {
			add(ti.Name, ti.Type, ti.Dims, data)
			continue
		}
		n := int(ti.Dims[2])
		size := len(data) / n
		for e := range n {
			add(fmt.Sprintf("%s.%d.weight", m[1], e), ti.Type, ti.Dims[:2], data[e*size:(e+1)*size])
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

// TestSplitExperts: a Mixtral file with a tensor per expert loads and
// gives the merged file's logits and greedy tokens bit for bit; a
// missing expert is an error.
func TestSplitExperts(t *testing.T) {
	for _, dt := range []kernels.DType{kernels.Q8_0, kernels.Q4_K} {
		t.Run(dt.String(), func(t *testing.T) {
			f := synthFile(t, "mixtral-tiny", dt, 2)
			split := splitExpertsFile(t, f)
			if _, ok := split.Tensor("blk.1.ffn_down.7.weight"); !ok {
				t.Fatal("split file lacks blk.1.ffn_down.7.weight")
			}
			for i := range split.Tensors {
				if strings.Contains(split.Tensors[i].Name, "_exps") {
					t.Fatalf("split file holds %s", split.Tensors[i].Name)
				}
			}
			merged, sm := load(t, f, Full()), load(t, split, Full())
			tokens := []int32{1, 303, 281, 269, 435, 447, 275, 12, 99, 7, 400, 368, 5, 6}
			if i := bitsEqual(forwardAll(t, sm, []*Model{sm}, sm, tokens), forwardAll(t, merged, []*Model{merged}, merged, tokens)); i >= 0 {
				t.Fatalf("split experts' logit %d differs from the merged file's", i)
			}
			if a, b := merged.WeightBytes(), sm.WeightBytes(); a != b {
				t.Fatalf("weight bytes %d split, %d merged", b, a)
			}
			gen := func(m *Model) []int32 {
				s, err := m.NewSession(len(tokens) + 64)
				if err != nil {
					t.Fatal(err)
				}
				var out []int32
				if _, err := m.Generate(context.Background(), s, tokens, GenerateOptions{MaxTokens: 64}, func(tok int32) error {
					out = append(out, tok)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return out
			}
			if a, b := gen(merged), gen(sm); !slices.Equal(a, b) || len(a) != 64 {
				t.Fatalf("greedy tokens: split %v, merged %v", b, a)
			}
			if _, err := Load(splitExpertsFile(t, f, "blk.1.ffn_up.3.weight"), Full()); err == nil || !strings.Contains(err.Error(), "blk.1.ffn_up.3.weight") {
				t.Fatalf("a file missing an expert loaded: %v", err)
			}
		})
	}
}
