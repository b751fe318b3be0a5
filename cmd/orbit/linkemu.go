package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/bench"
	"github.com/orbitswarm/orbit/node"
)

// setupLinkEmulation reads `orbit run --link-emulation FILE` (written by
// `orbit bench --mode processes`), checks that it names this node's
// identity, and reloads the file on SIGUSR1 until ctx ends: after each
// reload it prints `links generation=N cut=a|b,...` (or `links
// error="..."`) on out, which the bench waits for.
func setupLinkEmulation(ctx context.Context, path, dataDir string, out io.Writer, log *slog.Logger) (*bench.LinkEmulator, error) {
	le, err := bench.LoadLinkEmulation(path)
	if err != nil {
		return nil, fmt.Errorf("--link-emulation: %w", err)
	}
	if dataDir == "" {
		return nil, errors.New("--link-emulation needs --data-dir: the file names the node's identity")
	}
	key, err := node.LoadIdentity(dataDir)
	if err != nil {
		return nil, fmt.Errorf("--link-emulation: %w", err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("--link-emulation: identity: %w", err)
	}
	emu, err := bench.NewLinkEmulator(le, log.With("component", "link-emulation"))
	if err != nil {
		return nil, fmt.Errorf("--link-emulation %s: %w", path, err)
	}
	if emu.Peer() != id {
		return nil, fmt.Errorf("--link-emulation %s: node %s is peer %s, but the identity in %s is %s", path, le.Node, emu.Peer(), dataDir, id)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		// The handler stays installed for the process's life: a late
		// SIGUSR1 must not kill it.
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
			}
			le, err := bench.LoadLinkEmulation(path)
			if err == nil {
				err = emu.Update(le)
			}
			if err != nil {
				log.Warn("link emulation: reload", "err", err)
				fmt.Fprintf(out, "links error=%q\n", err.Error())
				continue
			}
			fmt.Fprintf(out, "links %s\n", emu.Status())
		}
	}()
	return emu, nil
}
