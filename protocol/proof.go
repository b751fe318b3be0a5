package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/sharding"
)

// ErrBadProof is wrapped when a result's proof is missing where the
// session signs, malformed, or its signature does not verify.
var ErrBadProof = errors.New("protocol: bad result proof")

// MaxSignature caps a proof's signature (an RSA-4096 signature is 512
// bytes; ed25519's 64).
const MaxSignature = 1024

// Digest is a sha256 digest.
type Digest [32]byte

func (d Digest) String() string { return hex.EncodeToString(d[:8]) }

// ChainRows extends a per-row digest chain over the rows of data (rows
// rows of equal size): digest_{i+1} = sha256(digest_i || row_i), starting
// from prev, the digest of the rows before. It returns the digest after
// each row. The chain of a session starts from the zero Digest at
// position 0, so the digest after position p commits to every row up to
// p, however the rows were batched into steps.
func ChainRows(prev Digest, data []byte, rows int) []Digest {
	if rows <= 0 || len(data)%rows != 0 {
		return nil
	}
	rb := len(data) / rows
	out := make([]Digest, rows)
	h := sha256.New()
	for r := range rows {
		h.Reset()
		h.Write(prev[:])
		h.Write(data[r*rb : (r+1)*rb])
		h.Sum(prev[:0])
		out[r] = prev
	}
	return out
}

// Proof is a server's signed claim about one result (see Claim).
type Proof struct {
	In, Out   Digest
	Signature []byte
}

// Claim is what a server signs about one result of a session: that at
// step Seq, rows Pos..Pos+Rows of model Model's blocks Span, having
// received inputs whose chain ends in In, it answered outputs whose
// chain ends in Out. Two honest servers given the same inputs (same In at
// the same end position) answer the same Out: the engine gives one
// canonical result on every CPU.
type Claim struct {
	Peer    peer.ID
	Model   string
	Session SessionID
	Span    sharding.Span
	Seq     uint64
	Pos     int
	Rows    int
	In, Out Digest
}

// End is the position after the claim's last row.
func (c Claim) End() int { return c.Pos + c.Rows }

// claimDomain separates the claims' signatures from any other use of a
// peer's key.
const claimDomain = "orbit/infer/result/v1\x00"

// Bytes is the signed encoding of the claim.
func (c Claim) Bytes() []byte {
	b := make([]byte, 0, len(claimDomain)+len(c.Peer)+len(c.Model)+128)
	b = append(b, claimDomain...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Peer)))
	b = append(b, c.Peer...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Model)))
	b = append(b, c.Model...)
	b = append(b, c.Session[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(c.Span.Start))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Span.End))
	b = binary.BigEndian.AppendUint64(b, c.Seq)
	b = binary.BigEndian.AppendUint32(b, uint32(c.Pos))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Rows))
	b = append(b, c.In[:]...)
	return append(b, c.Out[:]...)
}

// Sign signs the claim with key, which must be c.Peer's.
func (c Claim) Sign(key crypto.PrivKey) ([]byte, error) {
	sig, err := key.Sign(c.Bytes())
	if err != nil {
		return nil, fmt.Errorf("protocol: sign result: %w", err)
	}
	return sig, nil
}

// Verify checks sig over the claim with the public key c.Peer names (an
// ed25519 or secp256k1 peer ID embeds it; for others see VerifyKey).
func (c Claim) Verify(sig []byte) error { return c.VerifyKey(nil, sig) }

// VerifyKey checks sig over the claim with pub, which must be c.Peer's
// key (a peerstore holds the keys of peers met, RSA ones included); nil
// pub means the key embedded in the peer ID.
func (c Claim) VerifyKey(pub crypto.PubKey, sig []byte) error {
	if len(sig) == 0 || len(sig) > MaxSignature {
		return fmt.Errorf("%w: signature of %d bytes", ErrBadProof, len(sig))
	}
	if pub == nil {
		var err error
		if pub, err = c.Peer.ExtractPublicKey(); err != nil {
			return fmt.Errorf("%w: no public key in peer id %s: %w", ErrBadProof, c.Peer, err)
		}
	} else if !c.Peer.MatchesPublicKey(pub) {
		return fmt.Errorf("%w: the key given is not %s's", ErrBadProof, c.Peer)
	}
	ok, err := pub.Verify(c.Bytes(), sig)
	if err != nil || !ok {
		return fmt.Errorf("%w: signature of %s does not verify", ErrBadProof, c.Peer)
	}
	return nil
}

func proofToWire(p *Proof) *pb.InferProof {
	if p == nil {
		return nil
	}
	return &pb.InferProof{InputDigest: p.In[:], OutputDigest: p.Out[:], Signature: p.Signature}
}

func digestFromWire(b []byte) (Digest, error) {
	var d Digest
	if len(b) != len(d) {
		return d, fmt.Errorf("%w: digest of %d bytes", ErrBadFrame, len(b))
	}
	copy(d[:], b)
	return d, nil
}

func proofFromWire(m *pb.InferProof) (*Proof, error) {
	if m == nil {
		return nil, nil
	}
	in, err := digestFromWire(m.GetInputDigest())
	if err != nil {
		return nil, err
	}
	out, err := digestFromWire(m.GetOutputDigest())
	if err != nil {
		return nil, err
	}
	if n := len(m.GetSignature()); n == 0 || n > MaxSignature {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrBadFrame, n)
	}
	return &Proof{In: in, Out: out, Signature: m.GetSignature()}, nil
}
