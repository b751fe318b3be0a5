package node

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/weights"
)

// TestImportWith: an import from elsewhere than a file (a stream, as a
// Hugging Face pull) is tracked among the node's transfers under its
// source, with its progress and root.
func TestImportWith(t *testing.T) {
	fileSource(t, aidreamsPath) // skips when the model is missing
	data, err := os.ReadFile(aidreamsPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Store = emptyStore(t)
	n := startNode(t, cfg)
	const source = "hf:org/model:F32"
	root, err := n.ImportWith(context.Background(), source, func(ctx context.Context, s *weights.Store, progress func(weights.Progress)) (cid.Cid, error) {
		parts := []weights.StreamPart{{Name: "model.gguf", Size: int64(len(data)), R: bytes.NewReader(data)}}
		return s.ImportStream(ctx, parts, weights.ImportOptions{Progress: progress})
	})
	if err != nil {
		t.Fatal(err)
	}
	trs := n.Transfers()
	if len(trs) != 1 {
		t.Fatalf("transfers %+v, want one", trs)
	}
	tr := trs[0]
	if tr.Kind != TransferImport || tr.File != source || tr.Model != root.String() || tr.Phase != PhaseDone || tr.Total != int64(len(data)) {
		t.Fatalf("transfer %+v, want the import of %s done as %s", tr, source, root)
	}
}
