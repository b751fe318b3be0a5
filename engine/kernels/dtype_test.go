package kernels

import (
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// TestLayoutMatchesGGUF holds the kernels' block-layout constants to GGUF's
// type table, the one place the ggml type sizes are written.
func TestLayoutMatchesGGUF(t *testing.T) {
	for _, tc := range []struct {
		t          DType
		size, byts int
	}{
		{Q4_0, qk, q4_0Bytes},
		{Q8_0, qk, q8_0Bytes},
		{Q4_K, qkK, q4KBytes},
		{Q6_K, qkK, q6KBytes},
	} {
		g := gguf.TensorType(tc.t)
		if g.BlockSize() != tc.size || g.BlockBytes() != tc.byts {
			t.Errorf("%v: kernels lay blocks out as %d elements in %d bytes, GGUF's table says %d in %d",
				tc.t, tc.size, tc.byts, g.BlockSize(), g.BlockBytes())
		}
	}
	for _, dt := range Types() {
		if g := gguf.TensorType(dt); !g.Known() || g.String() != dt.String() {
			t.Errorf("%v: GGUF's table has %v (known %v)", dt, g, g.Known())
		}
	}
}
