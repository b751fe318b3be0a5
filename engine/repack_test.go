package engine

import (
	"testing"

	"github.com/orbitswarm/orbit/engine/kernels"
)

// TestRepackedModels: for every architecture (fused matrices included)
// and every kernel set of the machine (so an AVX-512 machine checks the
// AVX2 set's repacked kernels too), a model whose matrices the set
// repacks (kernels.Pool.Repack) gives bitwise the logits of the same
// model on the generic kernels, which never repack.
func TestRepackedModels(t *testing.T) {
	gen, err := kernels.NewPoolImpl(1, kernels.Generic)
	if err != nil {
		t.Fatal(err)
	}
	defer gen.Close()
	var pools []*kernels.Pool
	for _, impl := range kernels.Available()[1:] {
		p, err := kernels.NewPoolImpl(2, impl)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools = append(pools, p)
	}
	tokens := []int32{1, 303, 281, 269, 435, 447, 275, 12, 99}
	for _, name := range append([]string{"tiny"}, archShapes...) {
		for _, dt := range []kernels.DType{kernels.Q4_0, kernels.Q4_K, kernels.Q6_K} {
			t.Run(name+"/"+dt.String(), func(t *testing.T) {
				f := synthFile(t, name, dt, 2)
				want := load(t, f, Options{Embed: true, Head: true, Pool: gen})
				wantLogits := forwardAll(t, want, []*Model{want}, want, tokens)
				for _, pool := range pools {
					got := load(t, f, Options{Embed: true, Head: true, Pool: pool})
					if i := bitsEqual(forwardAll(t, got, []*Model{got}, got, tokens), wantLogits); i >= 0 {
						t.Fatalf("%s: logits differ at %d", pool.Impl(), i)
					}
				}
			})
		}
	}
}
