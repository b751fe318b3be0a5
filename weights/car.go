package weights

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
)

// ExportCAR writes every block of model root (root manifest first, then
// metadata chunks, layer manifests and tensor chunks) as a CAR v1 archive
// whose single root is root. The blocks keep their CIDs, so any IPFS tool
// can import them.
func (s *Store) ExportCAR(ctx context.Context, root cid.Cid, out io.Writer) error {
	cids, err := s.modelCIDs(ctx, root)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	// A CAR v1 streams to any writer; whole CIDs tell blocks apart, as the
	// store does, and a block met twice is written once.
	car, err := storage.NewWritable(w, []cid.Cid{root}, carv2.WriteAsCarV1(true), carv2.UseWholeCIDs(true))
	if err != nil {
		return fmt.Errorf("weights: car: %w", err)
	}
	for _, c := range cids {
		if had, err := car.Has(ctx, c.KeyString()); err != nil || had {
			if err != nil {
				return fmt.Errorf("weights: car: %w", err)
			}
			continue
		}
		data, err := s.GetBlock(ctx, c)
		if err != nil {
			return fmt.Errorf("weights: car: %w", err)
		}
		if err := car.Put(ctx, c.KeyString(), data); err != nil {
			return fmt.Errorf("weights: car: %w", err)
		}
	}
	if err := car.Finalize(); err != nil {
		return fmt.Errorf("weights: car: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("weights: car: %w", err)
	}
	return nil
}

// modelCIDs lists the blocks of model root in export order: the root
// manifest, the metadata chunks, the layer manifests, then the chunks of
// every tensor (a chunk held twice is listed twice).
func (s *Store) modelCIDs(ctx context.Context, root cid.Cid) ([]cid.Cid, error) {
	m, err := s.Manifest(ctx, root)
	if err != nil {
		return nil, err
	}
	ts, err := s.allTensors(ctx, m)
	if err != nil {
		return nil, err
	}
	cids := append([]cid.Cid{root}, m.MetadataChunks...)
	for _, l := range m.Layers {
		cids = append(cids, l.CID)
	}
	for i := range ts {
		cids = append(cids, ts[i].Chunks...)
	}
	return cids, nil
}
