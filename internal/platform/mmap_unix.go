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

// Drop tells the OS that data[off:off+n], part of a mapping made by Map,
// will not be read for a while: its whole pages leave the process's
// resident memory (and are read from the file again if touched).
func Drop(data []byte, off, n int) {
	ps := os.Getpagesize()
	start := (off + ps - 1) / ps * ps
	end := (off + n) / ps * ps
	if end > start && end <= len(data) {
		_ = unix.Madvise(data[start:end], unix.MADV_DONTNEED)
	}
}
