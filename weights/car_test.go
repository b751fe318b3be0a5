package weights

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
)

// TestExportCARReadBack reads an exported CAR with go-car's reader: a CAR
// v1 whose one root is the model's, holding every block of the model once,
// each under its CID.
func TestExportCARReadBack(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	root := importFile(t, s, openModel(t), "m")
	var buf bytes.Buffer
	if err := s.ExportCAR(ctx, root, &buf); err != nil {
		t.Fatal(err)
	}
	br, err := carv2.NewBlockReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if br.Version != 1 || len(br.Roots) != 1 || !br.Roots[0].Equals(root) {
		t.Fatalf("CAR version %d, roots %v; want version 1, root %s", br.Version, br.Roots, root)
	}
	m, err := s.Manifest(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := s.allTensors(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[cid.Cid]bool{root: true}
	for _, c := range m.MetadataChunks {
		want[c] = true
	}
	for _, l := range m.Layers {
		want[l.CID] = true
	}
	for i := range ts {
		for _, c := range ts[i].Chunks {
			want[c] = true
		}
	}
	seen := map[cid.Cid]bool{}
	for {
		b, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c := b.Cid()
		if len(seen) == 0 && !c.Equals(root) {
			t.Fatalf("first block %s, want the root", c)
		}
		if seen[c] || !want[c] {
			t.Fatalf("block %s: again %v, of the model %v", c, seen[c], want[c])
		}
		seen[c] = true
		if err := VerifyBlock(c, b.RawData()); err != nil {
			t.Fatal(err)
		}
		stored, err := s.GetBlock(ctx, c)
		if err != nil || !bytes.Equal(stored, b.RawData()) {
			t.Fatalf("block %s differs from the stored one (%v)", c, err)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d blocks in the CAR, want %d", len(seen), len(want))
	}
}
