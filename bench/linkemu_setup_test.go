//go:build unix

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/runstatus"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStartLinkEmulation: `orbit bench node --link-emulation` rejects bad
// files and a file naming another identity, and reloads the file on
// SIGUSR1, acknowledging on stdout.
func TestStartLinkEmulation(t *testing.T) {
	dir := t.TempDir()
	key, err := node.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := peer.IDFromPrivateKey(key)
	ok, _, _ := crypto.GenerateEd25519Key(nil)
	other, _ := peer.IDFromPrivateKey(ok)
	le := LinkEmulation{Node: "me", Seed: 3,
		Nodes: []EmulatedNode{{Name: "me", Region: "r1", Peer: me.String()}, {Name: "other", Region: "r2", Peer: other.String()}},
		Links: Links{Default: Link{Latency: Duration(5 * time.Millisecond)}}}
	path := filepath.Join(t.TempDir(), "links.json")
	write := func(le LinkEmulation) {
		t.Helper()
		b, err := json.Marshal(le)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"node": "me", "nodes": []}`), 0o600)
	wrong := le
	wrong.Node = "other"
	for _, tc := range []struct {
		name, path, dataDir, want string
		le                        *LinkEmulation
	}{
		{"missing file", filepath.Join(dir, "none.json"), dir, "no such file", nil},
		{"invalid file", bad, dir, "nodes: 0", nil},
		{"no data dir", path, "", "needs --data-dir", &le},
		{"other identity", path, dir, "is peer " + other.String(), &wrong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.le != nil {
				write(*tc.le)
			}
			_, err := StartLinkEmulation(ctx, tc.path, tc.dataDir, runstatus.NewWriter(io.Discard, false).Links, log)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--link-emulation") {
				t.Fatalf("error %v, want one about --link-emulation mentioning %q", err, tc.want)
			}
		})
	}

	write(le)
	var out lockedBuffer
	emu, err := StartLinkEmulation(ctx, path, dir, runstatus.NewWriter(&out, false).Links, log)
	if err != nil {
		t.Fatal(err)
	}
	if emu.Peer() != me {
		t.Fatalf("emulator peer %s, want %s", emu.Peer(), me)
	}
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q on stdout: %q", want, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cut := le
	cut.Generation, cut.Cut = 1, [][2]string{{"r2", "r1"}}
	write(cut)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	wait("links generation=1 cut=r1|r2\n")
	changed := cut
	changed.Generation, changed.Seed = 2, 4
	write(changed)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	wait(`links error="link emulation: only the generation and the cut set may change`)
	if emu.Generation() != 1 {
		t.Errorf("generation %d after a rejected update", emu.Generation())
	}
}
