package protocol

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/sharding"
)

// Limits of the info protocol.
const (
	maxInfoFrame  = 64 << 10
	maxInfoModels = 64
	infoTimeout   = 10 * time.Second
)

// ModelInfo is one model span a peer serves.
type ModelInfo struct {
	Model           string
	Span            sharding.Span
	Blocks          int     // blocks of the whole model
	Throughput      float64 // tokens/s through one block of the span
	FreeCacheBytes  int64
	FreeCacheTokens int
	Load            float64 // 0..1
	Entry           bool    // holds embedding and head
	// Sessions are the sessions open on the span; CacheBytes is the
	// KV-cache budget (shared by the peer's models) and CacheTokens the
	// positions it holds for this model. 0 from peers that do not say.
	Sessions    int
	CacheBytes  int64
	CacheTokens int
}

// Info is what a peer says about itself on /orbit/info/1.0.0.
type Info struct {
	Version string
	Models  []ModelInfo
}

func infoToWire(in Info) *pb.InfoResponse {
	m := &pb.InfoResponse{Version: in.Version}
	for _, x := range in.Models {
		m.Models = append(m.Models, &pb.InfoModel{
			ModelId: x.Model, Start: uint32(x.Span.Start), End: uint32(x.Span.End), Blocks: uint32(x.Blocks),
			Throughput: x.Throughput, FreeCacheBytes: uint64(max(x.FreeCacheBytes, 0)),
			FreeCacheTokens: uint32(max(x.FreeCacheTokens, 0)), Load: x.Load, Entry: x.Entry,
			Sessions: uint32(min(max(x.Sessions, 0), math.MaxUint32)), CacheBytes: uint64(max(x.CacheBytes, 0)),
			CacheTokens: uint32(min(max(x.CacheTokens, 0), math.MaxUint32)),
		})
	}
	return m
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func infoFromWire(m *pb.InfoResponse) (Info, error) {
	in := Info{Version: m.GetVersion()}
	if len(in.Version) > 128 {
		return Info{}, fmt.Errorf("%w: version string of %d bytes", ErrBadFrame, len(in.Version))
	}
	if len(m.GetModels()) > maxInfoModels {
		return Info{}, fmt.Errorf("%w: %d models (max %d)", ErrBadFrame, len(m.GetModels()), maxInfoModels)
	}
	for _, x := range m.GetModels() {
		mi := ModelInfo{
			Model: x.GetModelId(), Span: sharding.Span{Start: int(x.GetStart()), End: int(x.GetEnd())}, Blocks: int(x.GetBlocks()),
			Throughput: x.GetThroughput(), FreeCacheBytes: int64(min(x.GetFreeCacheBytes(), math.MaxInt64)),
			FreeCacheTokens: int(x.GetFreeCacheTokens()), Load: x.GetLoad(), Entry: x.GetEntry(),
			Sessions: int(x.GetSessions()), CacheBytes: int64(min(x.GetCacheBytes(), math.MaxInt64)), CacheTokens: int(x.GetCacheTokens()),
		}
		switch {
		case mi.Model == "" || len(mi.Model) > MaxModelIDLen:
			return Info{}, fmt.Errorf("%w: model id of %d bytes", ErrBadFrame, len(mi.Model))
		case mi.Span.Start > mi.Span.End || mi.Span.End > mi.Blocks || mi.Blocks > 1<<16:
			return Info{}, fmt.Errorf("%w: span %v of %d blocks", ErrBadFrame, mi.Span, mi.Blocks)
		case !finite(mi.Throughput) || mi.Throughput < 0 || !finite(mi.Load) || mi.Load < 0:
			return Info{}, fmt.Errorf("%w: throughput %v, load %v", ErrBadFrame, mi.Throughput, mi.Load)
		}
		in.Models = append(in.Models, mi)
	}
	return in, nil
}

// ServeInfo answers /orbit/info/1.0.0 on h with what get returns, at
// most DefaultInfoRate a peer. The returned function removes the handler.
func ServeInfo(h host.Host, get func() Info, log *slog.Logger) (stop func()) {
	return ServeInfoLimited(h, get, log, DefaultInfoRate)
}

// ServeInfoLimited is ServeInfo with the rate of queries each peer gets
// answered (a zero Rate: no limit); a query over it is reset at once.
func ServeInfoLimited(h host.Host, get func() Info, log *slog.Logger, rate RateLimit) (stop func()) {
	if log == nil {
		log = slog.Default()
	}
	lim := newPeerLimiter(rate, nil)
	h.SetStreamHandler(InfoID, func(st network.Stream) {
		if !lim.allow(st.Conn().RemotePeer()) {
			_ = st.Reset()
			return
		}
		if err := st.Scope().SetService(ServiceName); err != nil {
			_ = st.Reset()
			return
		}
		if err := st.Scope().ReserveMemory(maxInfoFrame, FramePriority); err != nil {
			_ = st.Reset()
			return
		}
		defer st.Scope().ReleaseMemory(maxInfoFrame)
		_ = st.SetDeadline(deadlineIn(infoTimeout))
		var req pb.InfoRequest
		if err := NewFrameReader(st, maxInfoFrame).ReadMsg(&req); err != nil {
			log.Debug("bad info request", "peer", st.Conn().RemotePeer(), "err", err)
			_ = st.Reset()
			return
		}
		if err := NewFrameWriter(st, maxInfoFrame).WriteMsg(infoToWire(get())); err != nil {
			_ = st.Reset()
			return
		}
		_ = st.Close()
	})
	return func() { h.RemoveStreamHandler(InfoID) }
}

// QueryInfo asks peer p what it serves.
func QueryInfo(ctx context.Context, h host.Host, p peer.ID) (Info, error) {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	st, err := h.NewStream(ctx, p, InfoID)
	if err != nil {
		return Info{}, fmt.Errorf("protocol: info from %s: %w", p, err)
	}
	if err := st.Scope().SetService(ServiceName); err != nil {
		_ = st.Reset()
		return Info{}, fmt.Errorf("protocol: info stream: %w", err)
	}
	if err := st.Scope().ReserveMemory(maxInfoFrame, FramePriority); err != nil {
		_ = st.Reset()
		return Info{}, fmt.Errorf("protocol: info stream: %w", err)
	}
	defer st.Scope().ReleaseMemory(maxInfoFrame)
	deadline, _ := ctx.Deadline()
	_ = st.SetDeadline(deadline)
	// A cancelled query ends at once, not at its deadline.
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	if err := NewFrameWriter(st, maxInfoFrame).WriteMsg(&pb.InfoRequest{}); err != nil {
		_ = st.Reset()
		return Info{}, fmt.Errorf("protocol: info request to %s: %w", p, err)
	}
	_ = st.CloseWrite()
	var resp pb.InfoResponse
	if err := NewFrameReader(st, maxInfoFrame).ReadMsg(&resp); err != nil {
		_ = st.Reset()
		return Info{}, fmt.Errorf("protocol: info from %s: %w", p, err)
	}
	_ = st.Close()
	in, err := infoFromWire(&resp)
	if err != nil {
		return Info{}, fmt.Errorf("protocol: info from %s: %w", p, err)
	}
	return in, nil
}
