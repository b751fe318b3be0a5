package weights

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// ChunkSize is the largest chunk of tensor data stored as one block, and the
// largest block of any kind.
const ChunkSize = 1 << 20

// MaxBlockSize is the largest block the store accepts.
const MaxBlockSize = ChunkSize

// ErrCorrupt is wrapped by errors about bytes that do not hash to their CID.
var ErrCorrupt = errors.New("weights: corrupt block")

// ErrBadCID is wrapped by errors about CIDs this store cannot use (not
// CIDv1, raw codec, sha2-256).
var ErrBadCID = errors.New("weights: unsupported CID")

// CorruptError reports a block whose bytes do not hash to its CID.
type CorruptError struct {
	CID cid.Cid
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("weights: block %s is corrupt: its bytes do not hash to its CID", e.CID)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// mhPrefix is the multihash header of a sha2-256 digest: code 0x12, length 32.
var mhPrefix = []byte{mh.SHA2_256, sha256.Size}

// SumCID returns the CID of data: CIDv1, raw codec, sha2-256.
func SumCID(data []byte) cid.Cid {
	d := sha256.Sum256(data)
	return cidOfDigest(d[:])
}

func cidOfDigest(d []byte) cid.Cid {
	buf := make([]byte, 0, 2+len(d))
	buf = append(buf, mhPrefix...)
	buf = append(buf, d...)
	return cid.NewCidV1(cid.Raw, mh.Multihash(buf))
}

// digest returns the sha2-256 digest a CID names, or an error wrapping
// ErrBadCID when it is not a raw sha2-256 CIDv1.
func digest(c cid.Cid) ([]byte, error) {
	if !c.Defined() {
		return nil, fmt.Errorf("%w: undefined CID", ErrBadCID)
	}
	if c.Version() != 1 || c.Type() != cid.Raw {
		return nil, fmt.Errorf("%w: %s is not a CIDv1 with the raw codec", ErrBadCID, c)
	}
	h := c.Hash()
	if len(h) != 2+sha256.Size || !bytes.Equal(h[:2], mhPrefix) {
		return nil, fmt.Errorf("%w: %s is not a sha2-256 CID", ErrBadCID, c)
	}
	return h[2:], nil
}

// CheckCID reports whether c is a CID the store can hold.
func CheckCID(c cid.Cid) error {
	_, err := digest(c)
	return err
}

// VerifyBlock checks that data hashes to c; a mismatch is a *CorruptError.
func VerifyBlock(c cid.Cid, data []byte) error {
	d, err := digest(c)
	if err != nil {
		return err
	}
	if len(data) > MaxBlockSize {
		return &CorruptError{CID: c}
	}
	sum := sha256.Sum256(data)
	if !bytes.Equal(sum[:], d) {
		return &CorruptError{CID: c}
	}
	return nil
}

// parseCID decodes a binary CID from a manifest and checks it is usable.
func parseCID(b []byte) (cid.Cid, error) {
	n, c, err := cid.CidFromBytes(b)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %v", ErrBadCID, err)
	}
	if n != len(b) {
		return cid.Undef, fmt.Errorf("%w: %d trailing bytes after CID", ErrBadCID, len(b)-n)
	}
	if err := CheckCID(c); err != nil {
		return cid.Undef, err
	}
	return c, nil
}
