package filelock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Locks on separate opens of a file exclude each other as flock(2) says,
// within one process as between processes.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	for _, tc := range []struct {
		name          string
		first, second bool // exclusive?
		held          bool // the second is refused
	}{
		{"shared, shared", false, false, false},
		{"shared, exclusive", false, true, true},
		{"exclusive, shared", true, false, true},
		{"exclusive, exclusive", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := TryLock(path, tc.first, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			b, err := TryLock(path, tc.second, 0o600)
			if tc.held != errors.Is(err, ErrHeld) || (err != nil && !tc.held) {
				t.Fatalf("second lock: %v, want held %v", err, tc.held)
			}
			if b != nil {
				if err := b.Unlock(); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Unlock(); err != nil {
				t.Fatal(err)
			}
			c, err := TryLock(path, true, 0o600)
			if err != nil {
				t.Fatalf("after both unlocked: %v", err)
			}
			c.Unlock()
		})
	}
	if _, err := TryLock(filepath.Join(t.TempDir(), "no", "dir"), true, 0o600); err == nil || errors.Is(err, ErrHeld) {
		t.Fatalf("lock in a missing directory: %v", err)
	}
}

func TestWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	a, err := TryLock(path, true, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*pollEvery)
	defer cancel()
	if _, err := Wait(ctx, path, false, 0o600); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on a held lock: %v, want the context's deadline", err)
	}
	go func() {
		time.Sleep(2 * pollEvery)
		a.Unlock()
	}()
	b, err := Wait(context.Background(), path, true, 0o600)
	if err != nil {
		t.Fatalf("Wait after the holder unlocks: %v", err)
	}
	if b.File() == nil {
		t.Fatal("no file")
	}
	b.Unlock()
}
