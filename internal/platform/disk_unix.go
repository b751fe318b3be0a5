//go:build unix

package platform

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// DiskFree returns the bytes an unprivileged user may still write on the
// file system holding dir.
func DiskFree(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("platform: statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
