package weights

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// BlockClient asks peers for blocks. Package protocol's BlockClient (the
// /orbit/blocks protocol) implements it; the weights package depends only
// on this interface, not on the wire protocol.
type BlockClient interface {
	// GetBlocks asks p for cids (at most MaxPerRequest of them) and calls
	// fn with each answer in the order asked, as it arrives: found, and
	// the block's bytes (not yet verified; fn owns them), or not found
	// when p does not hold the block or cannot serve it now. An error
	// from fn ends the request and is returned; so is an error of p's
	// (a broken exchange).
	GetBlocks(ctx context.Context, p peer.ID, cids []cid.Cid, fn func(c cid.Cid, data []byte, found bool) error) error
	// MaxPerRequest is the most CIDs one GetBlocks may ask for.
	MaxPerRequest() int
}
