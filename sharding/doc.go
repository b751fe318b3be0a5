// Package sharding will hold Orbit's pure decisions: which span of blocks a
// server takes, when it rebalances, and which route a client uses. It does
// no I/O and reads no clock. Not implemented yet (issue 4).
package sharding
