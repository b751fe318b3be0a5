package node

import (
	"strings"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
)

// blockBytes is the size of one transformer block's weights: the sum of
// block 0's tensors when the file lists them, else an estimate from the
// shape and general.file_type (metadata-only files from the weight store).
func blockBytes(f *gguf.File, c *engine.Config) int64 {
	var sum int64
	for i := range f.Tensors {
		if strings.HasPrefix(f.Tensors[i].Name, "blk.0.") {
			sum += int64(f.Tensors[i].Size)
		}
	}
	if sum > 0 {
		return sum
	}
	params := int64(2*c.Dim*c.Dim + 2*c.Dim*c.KVDim() + 3*c.Dim*c.Hidden)
	// Bytes per weight of the common llama.cpp file types (default f16).
	perWeight := map[int64]float64{0: 4, 1: 2, 2: 18.0 / 32, 7: 34.0 / 32, 15: 144.0 / 256, 17: 176.0 / 256, 18: 210.0 / 256, 32: 2}
	bpw := 2.0
	if ft, err := f.Int("general.file_type"); err == nil {
		if v, ok := perWeight[ft]; ok {
			bpw = v
		}
	}
	return max(1, int64(float64(params)*bpw))
}
