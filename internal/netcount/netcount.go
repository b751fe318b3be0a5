// Package netcount counts a libp2p host's stream bytes: WrapHost wraps a
// host so that every stream opened or accepted through it reports the
// bytes read and written (orbit run feeds orbit_network_bytes_total with
// it).
package netcount

import (
	"context"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// countingHost counts the payload bytes of every stream the node opens or
// accepts through it (inference, weight blocks, info, the DHT). Streams of
// handlers the host set up before it was wrapped (identify, ping) are not
// counted.
type countingHost struct {
	host.Host
	add func(in, out int64)
}

// WrapHost returns a wrapper of hosts (a node.Config.WrapHost) whose
// streams report their bytes to add as they are read (in) and written
// (out); add must be safe for concurrent use and must not block.
func WrapHost(add func(in, out int64)) func(host.Host) host.Host {
	return func(h host.Host) host.Host { return &countingHost{Host: h, add: add} }
}

func (h *countingHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	st, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return &countingStream{Stream: st, add: h.add}, nil
}

func (h *countingHost) wrap(handler network.StreamHandler) network.StreamHandler {
	return func(st network.Stream) { handler(&countingStream{Stream: st, add: h.add}) }
}

func (h *countingHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.wrap(handler))
}

func (h *countingHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, h.wrap(handler))
}

// countingStream counts what is read from and written to a stream.
type countingStream struct {
	network.Stream
	add func(in, out int64)
}

func (s *countingStream) Read(b []byte) (int, error) {
	n, err := s.Stream.Read(b)
	if n > 0 {
		s.add(int64(n), 0)
	}
	return n, err
}

func (s *countingStream) Write(b []byte) (int, error) {
	n, err := s.Stream.Write(b)
	if n > 0 {
		s.add(0, int64(n))
	}
	return n, err
}
