package main

import (
	"context"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/orbitswarm/orbit/metrics"
)

// countingHost counts the payload bytes of every stream the node opens or
// accepts through it (inference, weight blocks, info, the DHT) in the
// metrics' swarm network counters (orbit_network_bytes_total). Streams of
// handlers the host set up before it was wrapped (identify, ping) are not
// counted.
type countingHost struct {
	host.Host
	m *metrics.Metrics
}

// countNetworkBytes returns a node.Config.WrapHost that counts into m.
func countNetworkBytes(m *metrics.Metrics) func(host.Host) host.Host {
	return func(h host.Host) host.Host { return &countingHost{Host: h, m: m} }
}

func (h *countingHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	st, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return &countingStream{Stream: st, m: h.m}, nil
}

func (h *countingHost) wrap(handler network.StreamHandler) network.StreamHandler {
	return func(st network.Stream) { handler(&countingStream{Stream: st, m: h.m}) }
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
	m *metrics.Metrics
}

func (s *countingStream) Read(b []byte) (int, error) {
	n, err := s.Stream.Read(b)
	if n > 0 {
		s.m.AddNetworkBytes(int64(n), 0)
	}
	return n, err
}

func (s *countingStream) Write(b []byte) (int, error) {
	n, err := s.Stream.Write(b)
	if n > 0 {
		s.m.AddNetworkBytes(0, int64(n))
	}
	return n, err
}
