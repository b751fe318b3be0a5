package node

import (
	"math"
	"strings"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
)

// blockBytes is the size of one transformer block's weights: the sum of
// the largest block's tensors when the file lists them (deepseek2's
// leading blocks are dense, the others hold experts), else an estimate
// from the shape and general.file_type (metadata-only files from the
// weight store). A block of a mixture of experts holds all its experts,
// though a token reads only a few of them.
func blockBytes(f *gguf.File, c *engine.Config) int64 {
	sums := map[string]int64{}
	var sum int64
	for i := range f.Tensors {
		name := f.Tensors[i].Name
		if !strings.HasPrefix(name, "blk.") {
			continue
		}
		blk, _, _ := strings.Cut(name[len("blk."):], ".")
		sums[blk] += int64(f.Tensors[i].Size)
		sum = max(sum, sums[blk])
	}
	if sum > 0 {
		return sum
	}
	params := c.BlockParams() // a mixture of experts: every expert
	// Bytes per weight of the file type's main tensor type (default f16).
	bpw := 2.0
	if ft, err := f.Int("general.file_type"); err == nil && ft >= 0 && ft <= math.MaxUint32 {
		if t, ok := gguf.FileType(ft).TensorType(); ok {
			bpw = float64(t.BlockBytes()) / float64(t.BlockSize())
		}
	}
	return max(1, int64(float64(params)*bpw))
}
