// Package protocol holds Orbit's libp2p stream protocols
// (/orbit/blocks/1.0.0, /orbit/infer/1.0.0, /orbit/info/1.0.0): framing,
// size caps, deadlines, handlers and clients. Wire types from package proto
// stay inside this package; callers see Go types.
package protocol
