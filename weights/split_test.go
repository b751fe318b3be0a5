package weights

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/sharding"
)

// writeSplit writes the shared aidreams260K model as count parts in a
// temporary directory and returns their paths.
func writeSplit(t testing.TB, count int) []string {
	t.Helper()
	paths, err := gguf.WriteSplit(openModel(t), filepath.Join(t.TempDir(), "aidreams-F32"), count)
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func TestSplitImportExport(t *testing.T) {
	ctx := context.Background()
	paths := writeSplit(t, 3)
	s := openStore(t)
	var roots []string
	// Any part names the whole model, and gives the same root.
	for _, p := range paths {
		f, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		root, err := s.Import(ctx, f, ImportOptions{Name: "split"})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root.String())
	}
	if roots[0] != roots[1] || roots[1] != roots[2] {
		t.Fatalf("roots differ by the part named: %v", roots)
	}
	// Another store, the same root.
	f, err := gguf.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := importFile(t, openStore(t), f, "")
	if root.String() != roots[0] {
		t.Fatalf("root %s in another store, %s here", root, roots[0])
	}
	// The single file is another model.
	if single := importFile(t, s, openModel(t), ""); single == root {
		t.Fatal("the split model and the single file share a root")
	}
	m, err := s.Manifest(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Split) != 3 {
		t.Fatalf("manifest records %d parts", len(m.Split))
	}
	// Export writes the same parts, byte for byte.
	out := filepath.Join(t.TempDir(), "out.gguf")
	got, err := s.ExportFiles(ctx, root, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != filepath.Join(filepath.Dir(out), "out-00001-of-00003.gguf") {
		t.Fatalf("exported %v", got)
	}
	for i := range paths {
		want, _ := os.ReadFile(paths[i])
		have, err := os.ReadFile(got[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, have) {
			t.Fatalf("part %d: exported %d bytes differ from the %d imported", i+1, len(have), len(want))
		}
	}
	// Export to one stream merges the parts into a model without split keys.
	var buf bytes.Buffer
	if _, err := s.Export(ctx, root, &buf); err != nil {
		t.Fatal(err)
	}
	merged, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := merged.Get(gguf.KeySplitCount); ok || len(merged.Tensors) != len(f.Tensors) {
		t.Fatalf("merged export: %d tensors, split key kept %v", len(merged.Tensors), ok)
	}
	// The manifest round-trips.
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if SumCID(b) != root {
		t.Fatal("manifest does not re-encode to its root")
	}
}

// TestSplitRunsLikeTheFile checks that the engine reads across parts and a
// span of a split model computes what the single file does.
func TestSplitRunsLikeTheFile(t *testing.T) {
	ctx := context.Background()
	paths := writeSplit(t, 2)
	f, err := gguf.Open(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokens := []int32{1, 303, 281, 269}
	whole := loadModel(t, openModel(t), engine.Full())
	want := forward(t, whole, []*engine.Model{whole}, whole, tokens)
	split := loadModel(t, f, engine.Full())
	s := openStore(t)
	root := importFile(t, s, f, "")
	span, err := s.OpenSpan(ctx, root, sharding.Span{Start: 0, End: 4}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer span.Close()
	if _, ok := span.Get(gguf.KeySplitCount); ok {
		t.Fatal("span file carries split keys")
	}
	spanModel := loadModel(t, span, engine.Full())
	for _, got := range [][]float32{forward(t, split, []*engine.Model{split}, split, tokens), forward(t, spanModel, []*engine.Model{spanModel}, spanModel, tokens)} {
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("logit %d: %v, the single file gives %v", i, got[i], want[i])
			}
		}
	}
}

func TestDecodeSplitRejects(t *testing.T) {
	ctx := context.Background()
	f, err := gguf.Open(writeSplit(t, 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := openStore(t)
	m, err := s.Manifest(ctx, importFile(t, s, f, ""))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(m *Manifest)
	}{
		{"too few tensors", func(m *Manifest) { m.Split[1].Tensors-- }},
		{"too many tensors", func(m *Manifest) { m.Split[0].Tensors++ }},
		{"tail padding", func(m *Manifest) { m.Split[1].TailPadding = gguf.DefaultAlignment }},
		{"tail padding beside parts", func(m *Manifest) { m.TailPadding = 1 }},
	}
	for _, tt := range tests {
		mm := *m
		mm.Split = append([]SplitPart(nil), m.Split...)
		tt.edit(&mm)
		b, err := mm.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeManifest(b); err == nil {
			t.Errorf("%s: decoded", tt.name)
		}
	}
}
