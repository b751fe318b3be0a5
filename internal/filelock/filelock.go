// Package filelock holds advisory locks (flock(2)) on files, shared or
// exclusive, between processes: the one file-lock helper of Orbit, used by
// the weight store (its GC and model locks) and by orbit run (one process
// per data directory). On Windows the locks are LockFileEx byte-range
// locks on one byte far past any content, so that other processes can
// still read what the holder wrote.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrHeld is wrapped by TryLock's error when another open file holds a
// lock that excludes the one asked for.
var ErrHeld = errors.New("filelock: held by another process")

// pollEvery is how often Wait tries again.
const pollEvery = 50 * time.Millisecond

// Lock is a held lock on an open file.
type Lock struct{ f *os.File }

// TryLock opens path (creating it with perm) and locks it, exclusive or
// shared, without waiting: a lock held elsewhere gives an error wrapping
// ErrHeld.
func TryLock(path string, exclusive bool, perm os.FileMode) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, perm)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f, exclusive); err != nil {
		f.Close()
		if errors.Is(err, ErrHeld) {
			return nil, fmt.Errorf("%w: %s", ErrHeld, path)
		}
		return nil, fmt.Errorf("filelock: %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Wait is TryLock that waits while the lock is held elsewhere, until ctx
// ends.
func Wait(ctx context.Context, path string, exclusive bool, perm os.FileMode) (*Lock, error) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		l, err := TryLock(path, exclusive, perm)
		if !errors.Is(err, ErrHeld) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// File is the locked file, for the holder to write who it is.
func (l *Lock) File() *os.File { return l.f }

// Unlock releases the lock and closes the file.
func (l *Lock) Unlock() error {
	err := unlock(l.f)
	return errors.Join(err, l.f.Close())
}
