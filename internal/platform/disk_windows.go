//go:build windows

package platform

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// DiskFree returns the bytes the calling user may still write on the
// volume holding dir.
func DiskFree(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, fmt.Errorf("platform: %s: %w", dir, err)
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, fmt.Errorf("platform: GetDiskFreeSpaceEx %s: %w", dir, err)
	}
	return avail, nil
}
