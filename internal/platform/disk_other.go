//go:build !unix && !windows

package platform

import (
	"fmt"
	"runtime"
)

// DiskFree is not known on this platform.
func DiskFree(dir string) (uint64, error) {
	return 0, fmt.Errorf("platform: free space of %s: not supported on %s", dir, runtime.GOOS)
}
