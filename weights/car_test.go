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

// checkCARReadBack reads an exported CAR with go-car's reader: a CAR v1
// whose one root is the model's, holding every block of the model once,
// root first, each under its CID and as stored.
func checkCARReadBack(t *testing.T, s *Store, root cid.Cid, car []byte) {
	t.Helper()
	ctx := context.Background()
	br, err := carv2.NewBlockReader(bytes.NewReader(car))
	if err != nil {
		t.Fatal(err)
	}
	if br.Version != 1 || len(br.Roots) != 1 || !br.Roots[0].Equals(root) {
		t.Fatalf("CAR version %d, roots %v; want version 1, root %s", br.Version, br.Roots, root)
	}
	cids, err := s.modelCIDs(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[cid.Cid]bool{}
	for _, c := range cids {
		want[c] = true
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
		stored, err := s.GetBlock(ctx, c)
		if err != nil || !bytes.Equal(stored, b.RawData()) || VerifyBlock(c, b.RawData()) != nil {
			t.Fatalf("block %s differs from the stored one or its CID (%v)", c, err)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d blocks in the CAR, want %d", len(seen), len(want))
	}
}
