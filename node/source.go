package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/sharding"
)

// ModelSource supplies a model's weights. The content-addressed weight
// store will implement it; today FileSource reads a local GGUF.
type ModelSource interface {
	// ID names the model across the swarm.
	ID() string
	// Open returns a GGUF holding at least the tensors of blocks span and,
	// when asked, the embedding and the head. The caller closes it.
	Open(ctx context.Context, span sharding.Span, withEmbed, withHead bool) (*gguf.File, error)
}

// ModelIDFromFile returns the model ID of a GGUF file: the CIDv1 (raw
// codec, sha2-256) of its bytes, as a string.
func ModelIDFromFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("node: model id: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("node: model id of %s: %w", path, err)
	}
	sum, err := mh.Encode(h.Sum(nil), mh.SHA2_256)
	if err != nil {
		return "", fmt.Errorf("node: model id: %w", err)
	}
	return cid.NewCidV1(cid.Raw, sum).String(), nil
}

// BlockKey is the DHT key under which servers of block i of model announce
// themselves: the CIDv1 (raw, sha2-256) of "orbit/block/<model>/<i>".
func BlockKey(model string, i int) cid.Cid {
	sum := sha256.Sum256(fmt.Appendf(nil, "orbit/block/%s/%d", model, i))
	m, _ := mh.Encode(sum[:], mh.SHA2_256) // cannot fail for a sha2-256 digest
	return cid.NewCidV1(cid.Raw, m)
}

// FileSource is a model in a local GGUF file.
type FileSource struct {
	Path string
	id   string
}

// NewFileSource hashes the file for its ID.
func NewFileSource(path string) (*FileSource, error) {
	id, err := ModelIDFromFile(path)
	if err != nil {
		return nil, err
	}
	return &FileSource{Path: path, id: id}, nil
}

// ID is the CID of the file's bytes.
func (s *FileSource) ID() string { return s.id }

// Open maps the whole file (only the touched tensors are read).
func (s *FileSource) Open(ctx context.Context, span sharding.Span, withEmbed, withHead bool) (*gguf.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := gguf.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("node: open model %s: %w", s.Path, err)
	}
	return f, nil
}
