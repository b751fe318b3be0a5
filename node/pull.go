package node

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/weights"
)

// ImportWith runs imp, an import into the node's weight store from
// elsewhere than a *gguf.File (a download from the Hugging Face hub, say),
// tracking its progress among the node's Transfers as an import of source.
// imp reports its progress to the function it is given.
func (n *Node) ImportWith(ctx context.Context, source string, imp func(ctx context.Context, s *weights.Store, progress func(weights.Progress)) (cid.Cid, error)) (cid.Cid, error) {
	if n.cfg.Store == nil {
		return cid.Undef, fmt.Errorf("node: no weight store configured")
	}
	h := n.transfers.begin(Transfer{Kind: TransferImport, File: source})
	root, err := imp(ctx, n.cfg.Store, h.progress)
	if err != nil {
		err = fmt.Errorf("node: import %s: %w", source, err)
	}
	h.end(root, err)
	return root, err
}
