//go:build windows

package platform

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Map maps the first size bytes of f read-only: a file mapping object and
// a view of it (the view keeps the mapping alive once its handle is
// closed). The mapping outlives f; release it with Unmap.
func Map(f *os.File, size int) ([]byte, error) {
	if size == 0 {
		return []byte{}, nil
	}
	h, err := windows.CreateFileMapping(windows.Handle(f.Fd()), nil, windows.PAGE_READONLY,
		uint32(uint64(size)>>32), uint32(size), nil)
	if err != nil {
		return nil, os.NewSyscallError("CreateFileMapping", err)
	}
	defer windows.CloseHandle(h)
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ, 0, 0, uintptr(size))
	if err != nil {
		return nil, os.NewSyscallError("MapViewOfFile", err)
	}
	// addr is memory outside the Go heap; reading it as a pointer this way
	// avoids a uintptr-to-pointer conversion that vet would flag.
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	return unsafe.Slice((*byte)(p), size), nil
}

// Unmap releases a view made by Map.
func Unmap(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if err := windows.UnmapViewOfFile(uintptr(unsafe.Pointer(&data[0]))); err != nil {
		return os.NewSyscallError("UnmapViewOfFile", err)
	}
	return nil
}

// Drop tells Windows that data[off:off+n], part of a view made by Map,
// will not be read for a while: its whole pages leave the process's
// working set (and are read from the file again if touched). Unlocking
// pages that are not locked is documented to remove them from the
// working set, which is all VirtualUnlock is asked to do here; it reports
// ERROR_NOT_LOCKED for that use, so its error is not one.
func Drop(data []byte, off, n int) {
	ps := os.Getpagesize()
	start := (off + ps - 1) / ps * ps
	end := (off + n) / ps * ps
	if end > start && end <= len(data) {
		_ = windows.VirtualUnlock(uintptr(unsafe.Pointer(&data[start])), uintptr(end-start))
	}
}
