// Package protocol will hold Orbit's libp2p stream protocols
// (/orbit/infer/1.0.0, /orbit/blocks/1.0.0, /orbit/info/1.0.0): framing,
// size caps, deadlines, handlers and clients. Not implemented yet (issues
// 3 and 4).
package protocol
