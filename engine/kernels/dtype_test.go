package kernels

import (
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/gguf"
)

func TestDTypeText(t *testing.T) {
	for _, dt := range Types() {
		b, err := dt.MarshalText()
		var back DType = 99
		if err != nil || string(b) != dt.String() || back.UnmarshalText(b) != nil || back != dt {
			t.Errorf("%v: MarshalText %q, %v; read back as %v", dt, b, err, back)
		}
	}
	dt := Q4_K
	if err := dt.UnmarshalText([]byte("q2_k")); err == nil || dt != Q4_K {
		t.Errorf("UnmarshalText(q2_k) = %v, left %v", err, dt)
	}
}

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
		{Q4_1, qk, q4_1Bytes},
		{Q5_0, qk, q5_0Bytes},
		{MXFP4, qk, mxfp4Bytes},
		{Q3_K, qkK, q3KBytes},
		{Q5_K, qkK, q5KBytes},
		{IQ4_XS, qkK, iq4XSBytes},
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

func FuzzParseDType(f *testing.F) {
	for _, s := range []string{"q4_k", "F16", "q5_k", "q2_k", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dt, err := ParseDType(s); err == nil && (!dt.Valid() || !strings.EqualFold(dt.String(), strings.TrimSpace(s))) {
			t.Errorf("ParseDType(%q) = %v", s, dt)
		}
	})
}
