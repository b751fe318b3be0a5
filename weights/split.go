package weights

// Models split into several GGUF files (gguf-split). Import takes the
// merged gguf.File that gguf.Open returns for any part and records in the
// root manifest how the tensors were spread over the files, each later
// file's own metadata and tail padding (Manifest.Split), so ExportFiles
// writes the same files byte for byte. The model's metadata is the first
// part's, split keys included; span files leave the split keys out.

import (
	"context"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine/gguf"
)

// modelKV returns kvs without the split keys.
func modelKV(kvs []gguf.KV) []gguf.KV {
	out := make([]gguf.KV, 0, len(kvs))
	for _, kv := range kvs {
		if !gguf.IsSplitKey(kv.Key) {
			out = append(out, kv)
		}
	}
	return out
}

// ExportPaths returns the files ExportFiles writes for a model with
// manifest m asked to go to path: path itself for a model in one file;
// for a split model its parts named after path (path without ".gguf", or
// the prefix of a part's name, then -0000i-of-0000n.gguf).
func ExportPaths(m *Manifest, path string) []string {
	if len(m.Split) == 0 {
		return []string{path}
	}
	prefix := gguf.SplitPrefix(path)
	out := make([]string, len(m.Split))
	for i := range out {
		out[i] = gguf.SplitPath(prefix, i, len(m.Split))
	}
	return out
}

// ExportFiles exports the model root to the files ExportPaths names, each
// written atomically, and returns them: the GGUF file (or every file of a
// split model) byte-identical to what was imported.
func (s *Store) ExportFiles(ctx context.Context, root cid.Cid, path string) ([]string, error) {
	m, err := s.Manifest(ctx, root)
	if err != nil {
		return nil, err
	}
	paths := ExportPaths(m, path)
	if len(m.Split) == 0 {
		return paths, writeFileAtomic(path, func(w io.Writer) error {
			_, err := s.Export(ctx, root, w)
			return err
		})
	}
	kvs, err := s.Metadata(ctx, m)
	if err != nil {
		return nil, err
	}
	ts, err := s.allTensors(ctx, m)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]Tensor, len(ts))
	for _, t := range ts {
		byName[t.Name] = t
	}
	next := 0
	for i, sp := range m.Split {
		part := make([]Tensor, 0, sp.Tensors)
		for _, n := range m.TensorOrder[next : next+sp.Tensors] {
			part = append(part, byName[n])
		}
		next += sp.Tensors
		pm := *m
		pkv := kvs
		if i > 0 {
			pm.Alignment, pkv = gguf.DefaultAlignment, sp.KV
		}
		err := writeFileAtomic(paths[i], func(out io.Writer) error {
			if _, err := s.ggufWriter(ctx, &pm, pkv, part).WriteTo(out); err != nil {
				return err
			}
			_, err := out.Write(make([]byte, sp.TailPadding))
			return err
		})
		if err != nil {
			return paths[:i], fmt.Errorf("weights: export %s part %d of %d: %w", root, i+1, len(m.Split), err)
		}
	}
	return paths, nil
}
