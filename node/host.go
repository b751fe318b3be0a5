package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/orbitswarm/orbit/protocol"
)

// identityFile is the node's private key in its data directory.
const identityFile = "identity.key"

// LoadIdentity reads the Ed25519 key in dir, creating it (mode 0600) on
// first use. An empty dir gives a fresh key that is not saved.
func LoadIdentity(dir string) (crypto.PrivKey, error) {
	if dir == "" {
		k, _, err := crypto.GenerateEd25519Key(nil)
		return k, err
	}
	path := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("node: identity %s: %w", path, err)
		}
		if k.Type() != crypto.Ed25519 {
			return nil, fmt.Errorf("node: identity %s is a %v key, want Ed25519", path, k.Type())
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data dir: %w", err)
	}
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	b, err = crypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	return k, nil
}

// LoadPSK reads a libp2p private-network key file (the
// "/key/swarm/psk/1.0.0/" format).
func LoadPSK(path string) (pnet.PSK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("node: psk: %w", err)
	}
	defer f.Close()
	psk, err := pnet.DecodeV1PSK(f)
	if err != nil {
		return nil, fmt.Errorf("node: psk %s: %w", path, err)
	}
	return psk, nil
}

// allowList is a connection gater that admits only listed peers.
type allowList map[peer.ID]bool

func (a allowList) InterceptPeerDial(p peer.ID) bool                                { return a[p] }
func (a allowList) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool                { return a[p] }
func (a allowList) InterceptAccept(network.ConnMultiaddrs) bool                     { return true }
func (a allowList) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
func (a allowList) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return a[p]
}

// newHost builds the libp2p host of cfg (see SwarmConfig.buildHost).
func newHost(cfg *Config, key crypto.PrivKey, bootstrap []peer.AddrInfo) (host.Host, error) {
	sc := cfg.Swarm()
	return sc.buildHost(key, bootstrap)
}

// buildHost builds the libp2p host of cfg; with cfg.NAT the bootstrap
// peers are its relay candidates.
func (cfg *SwarmConfig) buildHost(key crypto.PrivKey, bootstrap []peer.AddrInfo) (host.Host, error) {
	limits := rcmgr.DefaultLimits
	limits.AddServiceLimit(protocol.ServiceName,
		rcmgr.BaseLimit{StreamsInbound: 1024, StreamsOutbound: 1024, Streams: 2048, Memory: 256 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 256, StreamsOutbound: 256, Streams: 512, Memory: 128 << 20})
	// One entry node opens a control stream (and pushes into the next hop)
	// per generation: the per-peer defaults (16 MiB) would cap a busy
	// entry node at a handful of concurrent generations per server.
	perPeer := rcmgr.BaseLimit{StreamsInbound: 512, StreamsOutbound: 512, Streams: 1024, Memory: 256 << 20}
	perPeerInc := rcmgr.BaseLimitIncrease{StreamsInbound: 128, StreamsOutbound: 128, Streams: 256, Memory: 64 << 20}
	limits.AddServicePeerLimit(protocol.ServiceName, perPeer, perPeerInc)
	limits.AddProtocolPeerLimit(protocol.InferID, perPeer, perPeerInc)
	// The request-answer protocols serve each peer a few streams at once
	// (their handlers also rate-limit each peer's requests).
	limits.AddProtocolPeerLimit(protocol.InfoID,
		rcmgr.BaseLimit{StreamsInbound: 8, StreamsOutbound: 64, Streams: 72, Memory: 16 << 20}, rcmgr.BaseLimitIncrease{})
	limits.AddProtocolPeerLimit(protocol.BlocksProtocol,
		rcmgr.BaseLimit{StreamsInbound: 16, StreamsOutbound: 256, Streams: 272, Memory: 256 << 20}, rcmgr.BaseLimitIncrease{})
	limits.AddProtocolLimit(protocol.InferID,
		rcmgr.BaseLimit{StreamsInbound: 2048, StreamsOutbound: 2048, Streams: 4096, Memory: 512 << 20},
		rcmgr.BaseLimitIncrease{StreamsInbound: 512, StreamsOutbound: 512, Streams: 1024, Memory: 128 << 20})
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("node: resource manager: %w", err)
	}
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ResourceManager(rm),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("orbit/" + cfg.Version),
	}
	if len(cfg.PSK) > 0 {
		// libp2p private networks run over TCP only: QUIC has its own
		// handshake that a pre-shared key cannot wrap.
		opts = append(opts, libp2p.PrivateNetwork(cfg.PSK))
		var tcpOnly []string
		for _, a := range listen {
			m, err := ma.NewMultiaddr(a)
			if err != nil {
				rm.Close()
				return nil, fmt.Errorf("node: listen address %q: %w", a, err)
			}
			if _, err := m.ValueForProtocol(ma.P_QUIC_V1); err != nil {
				tcpOnly = append(tcpOnly, a)
			}
		}
		listen = tcpOnly
	} else {
		opts = append(opts, libp2p.Transport(quic.NewTransport))
	}
	opts = append(opts, libp2p.ListenAddrStrings(listen...))
	if len(cfg.AllowPeers) > 0 {
		self, err := peer.IDFromPrivateKey(key)
		if err != nil {
			rm.Close()
			return nil, err
		}
		al := allowList{self: true}
		for _, p := range cfg.AllowPeers {
			al[p] = true
		}
		opts = append(opts, libp2p.ConnectionGater(al))
	}
	if cfg.NAT {
		opts = append(opts, libp2p.NATPortMap(), libp2p.EnableHolePunching(), libp2p.EnableRelay(),
			libp2p.EnableRelayService(), libp2p.EnableNATService())
		if len(bootstrap) > 0 {
			opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(bootstrap,
				autorelay.WithMinCandidates(1), autorelay.WithBootDelay(0)))
		}
		switch cfg.reachability {
		case network.ReachabilityPublic:
			opts = append(opts, libp2p.ForceReachabilityPublic())
		case network.ReachabilityPrivate:
			opts = append(opts, libp2p.ForceReachabilityPrivate())
		}
	} else {
		opts = append(opts, libp2p.DisableRelay())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("node: libp2p host: %w", err)
	}
	return h, nil
}
