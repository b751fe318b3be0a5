package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/internal/platform"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/runstatus"
)

// StartLinkEmulation is the processes mode's side inside each process
// (`orbit bench node --link-emulation FILE`, which runs `orbit run` with
// the host StartLinkEmulation's emulator wraps): it reads the file the
// bench wrote, checks that it names this node's identity (in dataDir), and
// reloads the file on SIGUSR1 until ctx ends, acknowledging each reload
// through ack (the generation now in force, or the error), which the bench
// waits for.
func StartLinkEmulation(ctx context.Context, path, dataDir string, ack func(runstatus.Links) error, log *slog.Logger) (*LinkEmulator, error) {
	le, err := LoadLinkEmulation(path)
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
	emu, err := NewLinkEmulator(le, log.With("component", "link-emulation"))
	if err != nil {
		return nil, fmt.Errorf("--link-emulation %s: %w", path, err)
	}
	if emu.Peer() != id {
		return nil, fmt.Errorf("--link-emulation %s: node %s is peer %s, but the identity in %s is %s", path, le.Node, emu.Peer(), dataDir, id)
	}
	usr, ok := platform.UserSignal()
	if !ok {
		return nil, fmt.Errorf("--link-emulation needs a user signal, which %s does not have", runtime.GOOS)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, usr)
	go func() {
		// The handler stays installed for the process's life: a late
		// SIGUSR1 must not kill it.
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
			}
			le, err := LoadLinkEmulation(path)
			if err == nil {
				err = emu.Update(le)
			}
			a := emu.Links()
			if err != nil {
				log.Warn("link emulation: reload", "err", err)
				a = runstatus.Links{Error: err.Error()}
			}
			if err := ack(a); err != nil {
				log.Warn("link emulation: acknowledging", "err", err)
			}
		}
	}()
	return emu, nil
}
