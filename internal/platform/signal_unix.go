//go:build unix

package platform

import (
	"os"
	"syscall"
)

// UserSignal returns the signal one process sends another to make it
// reload something (SIGUSR1), and whether the platform has one.
func UserSignal() (os.Signal, bool) { return syscall.SIGUSR1, true }
