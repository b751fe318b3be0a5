//go:build !unix && !windows

package platform

import (
	"io"
	"os"
)

// Map reads the first size bytes of f into memory: this platform has no
// memory maps this package uses.
func Map(f *os.File, size int) ([]byte, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(size)), data); err != nil {
		return nil, err
	}
	return data, nil
}

// Unmap lets the garbage collector have data.
func Unmap([]byte) error { return nil }

// Drop does nothing here (Map made a copy).
func Drop([]byte, int, int) {}
