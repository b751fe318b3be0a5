package weights

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"
)

// ErrNotFound is wrapped by errors about blocks the store does not hold.
// It matches fs.ErrNotExist too (errors.Is), the "not held" that the
// blocks protocol's server answers "not found" for.
var ErrNotFound error = notFound{}

type notFound struct{}

func (notFound) Error() string { return "block not found" }

// Is makes ErrNotFound an fs.ErrNotExist.
func (notFound) Is(target error) bool { return target == fs.ErrNotExist }

// blockstore keeps blocks as files named by CID under
// root/<first digest byte in hex>/<cid>. Writes go to root/.tmp, are synced
// and then renamed into place, so a crash never leaves a partial block
// under a CID's name.
type blockstore struct {
	root string

	mu    sync.Mutex
	dirty map[string]bool // shard directories with renames not yet synced
}

const tmpDirName = ".tmp"

func openBlockstore(root string) (*blockstore, error) {
	if err := os.MkdirAll(filepath.Join(root, tmpDirName), 0o755); err != nil {
		return nil, fmt.Errorf("weights: blockstore: %w", err)
	}
	// Temporary files left by a crash are garbage: nothing refers to them.
	ents, err := os.ReadDir(filepath.Join(root, tmpDirName))
	if err != nil {
		return nil, fmt.Errorf("weights: blockstore: %w", err)
	}
	for _, e := range ents {
		_ = os.Remove(filepath.Join(root, tmpDirName, e.Name()))
	}
	return &blockstore{root: root, dirty: map[string]bool{}}, nil
}

func (b *blockstore) path(c cid.Cid) (string, error) {
	d, err := digest(c)
	if err != nil {
		return "", err
	}
	return filepath.Join(b.root, hex.EncodeToString(d[:1]), c.String()), nil
}

// has reports whether a file is stored under c (without verifying it).
func (b *blockstore) has(c cid.Cid) (bool, int64, error) {
	p, err := b.path(c)
	if err != nil {
		return false, 0, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("weights: %w", err)
	}
	return true, st.Size(), nil
}

// get reads and verifies the block c.
func (b *blockstore) get(c cid.Cid) ([]byte, error) {
	p, err := b.path(c)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, c)
	}
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	// Read at most one byte more than a block may hold: a longer file is
	// corrupt, and never loaded whole.
	data, err := io.ReadAll(io.LimitReader(f, MaxBlockSize+1))
	if err != nil {
		return nil, fmt.Errorf("weights: reading block %s: %w", c, err)
	}
	if err := VerifyBlock(c, data); err != nil {
		return nil, err
	}
	return data, nil
}

// put stores data under c after checking that it hashes to c. A block
// already present is left alone.
func (b *blockstore) put(c cid.Cid, data []byte) error {
	if err := VerifyBlock(c, data); err != nil {
		return err
	}
	return b.putVerified(c, data)
}

func (b *blockstore) putVerified(c cid.Cid, data []byte) error {
	p, err := b.path(c)
	if err != nil {
		return err
	}
	if st, err := os.Stat(p); err == nil && st.Size() == int64(len(data)) {
		// Stored already (by an earlier import, or one stopped midway):
		// kept when its bytes are data, replaced when they were damaged,
		// so that importing a file again repairs the store.
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Join(b.root, tmpDirName), "blk-*")
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, p)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("weights: storing block %s: %w", c, err)
	}
	b.mu.Lock()
	b.dirty[dir] = true
	b.mu.Unlock()
	return nil
}

// remove deletes the block c if present.
func (b *blockstore) remove(c cid.Cid) error {
	p, err := b.path(c)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("weights: %w", err)
	}
	return nil
}

// sync makes the renames done so far durable by syncing the directories
// they touched.
func (b *blockstore) sync() error {
	b.mu.Lock()
	dirs := b.dirty
	b.dirty = map[string]bool{}
	b.mu.Unlock()
	var first error
	for d := range dirs {
		if err := syncDir(d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("weights: sync %s: %w", dir, err)
	}
	return nil
}

// each calls fn for every stored block with its size.
func (b *blockstore) each(ctx context.Context, fn func(c cid.Cid, size int64) error) error {
	shards, err := os.ReadDir(b.root)
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	for _, sh := range shards {
		if !sh.IsDir() || sh.Name() == tmpDirName {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(b.root, sh.Name()))
		if err != nil {
			return fmt.Errorf("weights: %w", err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			c, err := cid.Decode(e.Name())
			if err != nil {
				continue // not ours
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			if err := fn(c, info.Size()); err != nil {
				return err
			}
		}
	}
	return nil
}
