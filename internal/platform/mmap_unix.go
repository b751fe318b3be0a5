//go:build unix

package platform

import (
	"os"

	"golang.org/x/sys/unix"
)

// Map maps the first size bytes of f read-only and shared. The mapping
// outlives f; release it with Unmap.
func Map(f *os.File, size int) ([]byte, error) {
	if size == 0 {
		return []byte{}, nil
	}
	return unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
}

// Unmap releases a mapping made by Map.
func Unmap(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return unix.Munmap(data)
}
