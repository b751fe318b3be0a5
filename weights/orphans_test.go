package weights

import (
	"context"
	"errors"
	"testing"
)

// TestStoppedImportOrphans: an import cancelled midway leaves chunks no
// model references; Orphans counts them, GC would remove them, and the
// next import of the file reuses them and leaves none.
func TestStoppedImportOrphans(t *testing.T) {
	s := openStore(t)
	f := openModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.Import(ctx, f, ImportOptions{Progress: func(p Progress) {
		if p.Done > p.Total/3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped import: %v", err)
	}
	orph, err := s.Orphans(context.Background())
	if err != nil || orph.Blocks == 0 || orph.Bytes == 0 {
		t.Fatalf("orphans after a stopped import: %+v, %v", orph, err)
	}
	if ms, _ := s.Models(context.Background()); len(ms) != 0 {
		t.Fatalf("a stopped import named a model: %+v", ms)
	}
	root, err := s.Import(context.Background(), f, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if orph, err := s.Orphans(context.Background()); err != nil || orph.Blocks != 0 {
		t.Fatalf("orphans after the next import: %+v, %v", orph, err)
	}
	if rep, err := s.Verify(context.Background(), root); err != nil || len(rep.Missing) != 0 || len(rep.Corrupt) != 0 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
