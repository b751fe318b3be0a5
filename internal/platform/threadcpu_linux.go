//go:build linux

package platform

import (
	"time"

	"golang.org/x/sys/unix"
)

// ThreadCPU returns the CPU time of the calling OS thread and true, or
// false where it cannot be read. A benchmark that locks its goroutine to
// the thread measures the work's own cost with it: on a machine shared
// with other jobs, wall time also counts the waits for a core.
func ThreadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
