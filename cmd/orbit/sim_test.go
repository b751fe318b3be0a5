package main

import (
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
)

// TestShapeBlockBytes: a dense block reads all its weights per token, a
// mixture of experts' block only the router, attention and the experts a
// token is routed to, while its memory holds every expert.
func TestShapeBlockBytes(t *testing.T) {
	for _, tc := range []struct {
		shape    string
		minRatio float64 // active / block
		maxRatio float64
	}{
		{"llama-8b", 1, 1},
		{"mixtral-8x7b", 0.25, 0.30},     // 2 of 8 experts, plus attention
		{"qwen3moe-30b-a3b", 0.06, 0.12}, // 8 of 128 experts, plus attention
		{"deepseek-v2-lite", 0.12, 0.17}, // 6 of 64 experts and 2 shared, plus attention (not the dense block 0)
		{"deepseek-v3", 0.04, 0.06},      // 8 of 256 experts and 1 shared, plus attention
	} {
		t.Run(tc.shape, func(t *testing.T) {
			s, err := synth.ShapeByName(tc.shape)
			if err != nil {
				t.Fatal(err)
			}
			block, active, err := shapeBlockBytes(s, kernels.Q4_K, false)
			if err != nil {
				t.Fatal(err)
			}
			if r := float64(active) / float64(block); r < tc.minRatio || r > tc.maxRatio {
				t.Errorf("a token reads %d of %d bytes (%.3f), want %.2f to %.2f", active, block, r, tc.minRatio, tc.maxRatio)
			}
		})
	}
}

// TestSimShape: orbit sim --shape takes the model's blocks and prices a
// mixture of experts' block by what a token reads and what it holds.
func TestSimShape(t *testing.T) {
	out, _, err := run(t, "sim", "--shape", "mixtral-8x7b", "--type", "q4_k", "--peers", "40", "--duration", "5m", "--out", "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"blocks": 32`, "mixtral-8x7b q4_k", "GiB read per token"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
