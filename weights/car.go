package weights

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
)

// ExportCAR writes every block of model root (root manifest first, then
// metadata chunks, layer manifests and tensor chunks) as a CAR v1 archive
// whose single root is root. The blocks keep their CIDs, so any IPFS tool
// can import them.
func (s *Store) ExportCAR(ctx context.Context, root cid.Cid, out io.Writer) error {
	m, err := s.Manifest(ctx, root)
	if err != nil {
		return err
	}
	ts, err := s.allTensors(ctx, m)
	if err != nil {
		return err
	}
	cids := []cid.Cid{root}
	cids = append(cids, m.MetadataChunks...)
	for _, l := range m.Layers {
		cids = append(cids, l.CID)
	}
	for i := range ts {
		cids = append(cids, ts[i].Chunks...)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	if _, err := w.Write(carHeader(root)); err != nil {
		return fmt.Errorf("weights: car: %w", err)
	}
	seen := map[cid.Cid]bool{}
	var buf []byte
	for _, c := range cids {
		if seen[c] {
			continue
		}
		seen[c] = true
		data, err := s.GetBlock(ctx, c)
		if err != nil {
			return fmt.Errorf("weights: car: %w", err)
		}
		cb := c.Bytes()
		buf = binary.AppendUvarint(buf[:0], uint64(len(cb)+len(data)))
		buf = append(buf, cb...)
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("weights: car: %w", err)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("weights: car: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("weights: car: %w", err)
	}
	return nil
}

// carHeader is the length-prefixed DAG-CBOR header {roots: [root],
// version: 1} of a CAR v1 file.
func carHeader(root cid.Cid) []byte {
	cb := append([]byte{0}, root.Bytes()...) // CIDs in DAG-CBOR: tag 42, bytes with a 0 prefix
	var h []byte
	h = append(h, 0xa2)             // map of 2
	h = append(h, 0x65)             // text(5)
	h = append(h, "roots"...)       //
	h = append(h, 0x81, 0xd8, 0x2a) // array(1), tag(42)
	h = cborBytesHeader(h, len(cb)) // bytes(len)
	h = append(h, cb...)            //
	h = append(h, 0x67)             // text(7)
	h = append(h, "version"...)     //
	h = append(h, 0x01)             // 1
	return append(binary.AppendUvarint(nil, uint64(len(h))), h...)
}

func cborBytesHeader(b []byte, n int) []byte {
	switch {
	case n < 24:
		return append(b, 0x40|byte(n))
	case n < 256:
		return append(b, 0x58, byte(n))
	default:
		return append(b, 0x59, byte(n>>8), byte(n))
	}
}
