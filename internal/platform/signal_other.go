//go:build !unix

package platform

import "os"

// UserSignal returns the signal one process sends another to make it
// reload something, and whether the platform has one: it has none.
func UserSignal() (os.Signal, bool) { return nil, false }
