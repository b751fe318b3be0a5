package filelock

import (
	"os"
	"path/filepath"
	"testing"
)

// What the holder of an exclusive lock writes stays readable through
// another open of the file (on Windows, whose locks are mandatory, the
// locked byte lies past the content).
func TestHolderContentReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	l, err := TryLock(path, true, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := l.File().WriteAt([]byte("4242\n"), 0); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "4242\n" {
		t.Errorf("reading the locked file: %q, %v", got, err)
	}
}
