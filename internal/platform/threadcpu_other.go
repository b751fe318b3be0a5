//go:build !linux

package platform

import "time"

// ThreadCPU reports false: the CPU time of one thread is read on Linux
// only.
func ThreadCPU() (time.Duration, bool) { return 0, false }
