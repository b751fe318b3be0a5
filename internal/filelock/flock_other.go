//go:build !unix && !windows

package filelock

import "os"

// tryLock grants every lock: this platform has no file locks this package
// uses.
func tryLock(*os.File, bool) error { return nil }

// unlock does nothing.
func unlock(*os.File) error { return nil }
