package sharding

import (
	"testing"

	"github.com/orbitswarm/orbit/internal/puritytest"
)

// TestPurity holds the package to its promise of pure decisions: its code
// (tests aside) imports nothing that does I/O, keeps state or draws random
// numbers, reads no clock, sleeps never and starts no goroutines, so equal
// inputs give equal outputs.
func TestPurity(t *testing.T) {
	allowedImports := map[string]bool{
		"cmp": true, "errors": true, "fmt": true, "math": true, "math/bits": true,
		"slices": true, "sort": true, "strings": true, "strconv": true,
		"time": true, // durations as values only: the clock calls are forbidden
	}
	puritytest.Check(t, allowedImports, puritytest.ClockCalls())
}
