package entry

import (
	"testing"

	"github.com/orbitswarm/orbit/internal/puritytest"
)

// TestPurity holds the core to its promise: its code (tests aside) starts
// no goroutines, reads no clock, sleeps never, keeps no package-level
// state and imports only packages of values (errors, formatting, the
// types of the protocol, engine and sharding packages, and a logger it is
// handed), so equal events give equal actions.
func TestPurity(t *testing.T) {
	allowedImports := map[string]bool{
		"errors": true, "fmt": true, "log/slog": true, "strings": true, "bytes": true, "slices": true,
		"math/rand/v2":                          true, // a generator seeded by the driver; see forbiddenCalls
		"time":                                  true, // times and durations as values only; see forbiddenCalls
		"github.com/libp2p/go-libp2p/core/peer": true,
		"github.com/orbitswarm/orbit/engine":    true,
		"github.com/orbitswarm/orbit/protocol":  true,
		"github.com/orbitswarm/orbit/sharding":  true,
	}
	forbiddenCalls := puritytest.ClockCalls()
	// Only a seeded generator: not the package's global one.
	for _, f := range []string{"Float64", "IntN", "Int", "N", "Uint64", "Uint32", "Perm", "Shuffle", "Int64", "Int64N"} {
		forbiddenCalls["rand."+f] = true
	}
	// Of the protocol package only types, errors and pure helpers: no
	// streams, hosts or servers.
	for _, f := range []string{"OpenHop", "NewInferServer", "NewBlockServer", "NewFrameReader", "NewFrameWriter"} {
		forbiddenCalls["protocol."+f] = true
	}
	puritytest.Check(t, allowedImports, forbiddenCalls)
}
