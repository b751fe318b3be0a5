package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"

	"google.golang.org/protobuf/proto"

	pb "github.com/orbitswarm/orbit/proto"

	"github.com/orbitswarm/orbit/internal/enum"
)

// BlocksProtocol is the protocol id of block exchange: a peer sends one
// BlockRequest frame listing CIDs and closes its side; the provider answers
// with one BlockResponse frame per CID, in request order, and closes.
const BlocksProtocol libp2pproto.ID = "/orbit/blocks/1.0.0"

// BlocksServiceName is the resource-manager service of the blocks handler.
const BlocksServiceName = "orbit.blocks"

// Caps of the blocks protocol.
const (
	// MaxBlockSize is the largest block carried in one response.
	MaxBlockSize = 1 << 20
	// MaxCIDsPerRequest is the most CIDs one request may name.
	MaxCIDsPerRequest = 64
	// MaxBlockFrame caps a response frame: a block plus its CID and tags.
	MaxBlockFrame = MaxBlockSize + 1024
	// maxCIDLen caps one CID's binary length.
	maxCIDLen = 128
	// MaxRequestFrame caps a request frame.
	MaxRequestFrame = MaxCIDsPerRequest * (maxCIDLen + 4)
)

// ErrNotFound is wrapped by BlockStore errors for blocks it does not hold;
// the handler answers "not found" for them, and for errors matching
// fs.ErrNotExist (as a weight store's weights.ErrNotFound does).
var ErrNotFound = errors.New("block not found")

// ErrBadMessage is wrapped by errors about messages that break the blocks
// protocol (bad CIDs, too many CIDs, answers out of order).
var ErrBadMessage = errors.New("protocol: bad blocks message")

// BlockStore is what a block provider serves from. GetBlock must return
// only verified bytes; an error wrapping ErrNotFound (or matching
// fs.ErrNotExist) means the block is not held, any other error makes the
// answer "unavailable".
type BlockStore interface {
	GetBlock(ctx context.Context, c cid.Cid) ([]byte, error)
}

// BlockStatus is a provider's answer about one CID.
type BlockStatus int

// Answers about one CID.
const (
	BlockOK          BlockStatus = iota // Data holds the block
	BlockNotFound                       // the provider does not hold it
	BlockUnavailable                    // the provider holds it but cannot serve it now
)

func (s BlockStatus) String() string {
	switch s {
	case BlockOK:
		return "ok"
	case BlockNotFound:
		return "not found"
	case BlockUnavailable:
		return "unavailable"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// ParseBlockStatus is the inverse of BlockStatus.String: "ok", "not found"
// or "unavailable".
func ParseBlockStatus(s string) (BlockStatus, error) {
	return enum.Parse("protocol: block status", s, BlockOK, BlockNotFound, BlockUnavailable)
}

// MarshalText writes s as String does.
func (s BlockStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads s as ParseBlockStatus does.
func (s *BlockStatus) UnmarshalText(b []byte) error { return enum.Unmarshal(s, b, ParseBlockStatus) }

// Block is one answer of a provider. Data is not verified against CID here:
// that is the caller's job.
type Block struct {
	CID    cid.Cid
	Status BlockStatus
	Data   []byte
}

// BlockServerOptions tune a BlockServer; zero fields take defaults.
type BlockServerOptions struct {
	// MaxPerPeer caps concurrent requests served to one peer (default 4).
	MaxPerPeer int
	// MaxTotal caps concurrent requests served in all (default 64).
	MaxTotal int
	// Timeout bounds every stream read and write (default 30s).
	Timeout time.Duration
	// Rate caps the requests served to one peer (DefaultBlocksRate; a
	// negative Rate: no limit); one over it is reset at once.
	Rate   RateLimit
	Logger *slog.Logger
}

// BlockServer answers /orbit/blocks/1.0.0 requests from a BlockStore.
type BlockServer struct {
	h      host.Host
	store  BlockStore
	opt    BlockServerOptions
	ctx    context.Context
	cancel context.CancelFunc

	lim     *peerLimiter
	mu      sync.Mutex
	perPeer map[peer.ID]int
	total   int
}

// NewBlockServer registers the blocks handler on h, serving from store,
// until Close.
func NewBlockServer(h host.Host, store BlockStore, opt BlockServerOptions) *BlockServer {
	if opt.MaxPerPeer <= 0 {
		opt.MaxPerPeer = 4
	}
	if opt.MaxTotal <= 0 {
		opt.MaxTotal = 64
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Rate.Rate == 0 {
		opt.Rate = DefaultBlocksRate
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &BlockServer{h: h, store: store, opt: opt, ctx: ctx, cancel: cancel, perPeer: map[peer.ID]int{}, lim: newPeerLimiter(opt.Rate, nil)}
	h.SetStreamHandler(BlocksProtocol, s.handle)
	return s
}

// Close removes the handler and cancels requests being served.
func (s *BlockServer) Close() error {
	s.h.RemoveStreamHandler(BlocksProtocol)
	s.cancel()
	return nil
}

func (s *BlockServer) acquire(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.opt.MaxTotal || s.perPeer[p] >= s.opt.MaxPerPeer {
		return false
	}
	s.total++
	s.perPeer[p]++
	return true
}

func (s *BlockServer) release(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.perPeer[p]--; s.perPeer[p] <= 0 {
		delete(s.perPeer, p)
	}
}

func (s *BlockServer) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	log := s.opt.Logger.With("proto", BlocksProtocol, "peer", p)
	if err := st.Scope().SetService(BlocksServiceName); err != nil {
		log.Debug("blocks: service scope refused the stream", "err", err)
		_ = st.Reset()
		return
	}
	if !s.lim.allow(p) {
		log.Debug("blocks: over the peer's request rate")
		_ = st.Reset()
		return
	}
	if !s.acquire(p) {
		log.Debug("blocks: too many concurrent requests")
		_ = st.Reset()
		return
	}
	defer s.release(p)
	if err := st.Scope().ReserveMemory(MaxBlockFrame, network.ReservationPriorityMedium); err != nil {
		log.Debug("blocks: cannot reserve memory", "err", err)
		_ = st.Reset()
		return
	}
	defer st.Scope().ReleaseMemory(MaxBlockFrame)
	if err := s.serve(st); err != nil {
		log.Debug("blocks: request failed", "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

func (s *BlockServer) serve(st network.Stream) error {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()

	if err := st.SetReadDeadline(deadlineIn(s.opt.Timeout)); err != nil {
		return err
	}
	r := NewFrameReader(st, MaxRequestFrame)
	frame, err := r.Next()
	if err != nil {
		return fmt.Errorf("reading request: %w", err)
	}
	cids, err := DecodeBlockRequest(frame)
	if err != nil {
		return err
	}
	w := NewFrameWriter(st, MaxBlockFrame)
	for _, c := range cids {
		resp := &pb.BlockResponse{Cid: c.Bytes()}
		data, err := s.store.GetBlock(ctx, c)
		switch {
		case err == nil && len(data) <= MaxBlockSize:
			resp.Data = data
		case errors.Is(err, ErrNotFound), errors.Is(err, fs.ErrNotExist):
			resp.Status = pb.BlockResponse_NOT_FOUND
		default:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.opt.Logger.Warn("blocks: cannot serve block", "cid", c, "err", err, "bytes", len(data))
			resp.Status = pb.BlockResponse_UNAVAILABLE
		}
		if err := st.SetWriteDeadline(deadlineIn(s.opt.Timeout)); err != nil {
			return err
		}
		if err := w.WriteMsg(resp); err != nil {
			return fmt.Errorf("writing block %s: %w", c, err)
		}
	}
	return nil
}

// encodeBlockRequest returns the request message asking for cids.
func encodeBlockRequest(cids []cid.Cid) *pb.BlockRequest {
	req := &pb.BlockRequest{Cids: make([][]byte, len(cids))}
	for i, c := range cids {
		req.Cids[i] = c.Bytes()
	}
	return req
}

func decodeCID(b []byte) (cid.Cid, error) {
	if len(b) > maxCIDLen {
		return cid.Undef, fmt.Errorf("%w: CID of %d bytes", ErrBadMessage, len(b))
	}
	c, err := cid.Cast(b)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	return c, nil
}

// DecodeBlockRequest decodes a request frame into its CIDs.
func DecodeBlockRequest(b []byte) ([]cid.Cid, error) {
	var req pb.BlockRequest
	if err := unmarshal(b, &req); err != nil {
		return nil, err
	}
	if len(req.Cids) == 0 || len(req.Cids) > MaxCIDsPerRequest {
		return nil, fmt.Errorf("%w: %d CIDs in a request (1 to %d allowed)", ErrBadMessage, len(req.Cids), MaxCIDsPerRequest)
	}
	out := make([]cid.Cid, len(req.Cids))
	for i, raw := range req.Cids {
		c, err := decodeCID(raw)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// DecodeBlockResponse decodes a response frame.
func DecodeBlockResponse(b []byte) (Block, error) {
	var resp pb.BlockResponse
	if err := unmarshal(b, &resp); err != nil {
		return Block{}, err
	}
	c, err := decodeCID(resp.Cid)
	if err != nil {
		return Block{}, err
	}
	blk := Block{CID: c, Data: resp.Data}
	switch resp.Status {
	case pb.BlockResponse_OK:
		blk.Status = BlockOK
	case pb.BlockResponse_NOT_FOUND:
		blk.Status = BlockNotFound
	case pb.BlockResponse_UNAVAILABLE:
		blk.Status = BlockUnavailable
	default:
		return Block{}, fmt.Errorf("%w: status %d", ErrBadMessage, resp.Status)
	}
	if blk.Status != BlockOK && len(blk.Data) > 0 {
		return Block{}, fmt.Errorf("%w: %s answer carries data", ErrBadMessage, blk.Status)
	}
	if len(blk.Data) > MaxBlockSize {
		return Block{}, fmt.Errorf("%w: block of %d bytes", ErrBadMessage, len(blk.Data))
	}
	return blk, nil
}

func unmarshal(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	return nil
}

// BlockClient asks providers for blocks.
type BlockClient struct {
	h       host.Host
	timeout time.Duration
}

// NewBlockClient returns a client opening streams from h. timeout bounds
// every stream read and write (30s when 0).
func NewBlockClient(h host.Host, timeout time.Duration) *BlockClient {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &BlockClient{h: h, timeout: timeout}
}

// GetBlocks is Get with each answer as found and its bytes, the form
// package weights fetches through (weights.BlockClient).
func (c *BlockClient) GetBlocks(ctx context.Context, p peer.ID, cids []cid.Cid, fn func(c cid.Cid, data []byte, found bool) error) error {
	return c.Get(ctx, p, cids, func(b Block) error {
		if b.Status != BlockOK {
			return fn(b.CID, nil, false)
		}
		return fn(b.CID, b.Data, true)
	})
}

// MaxPerRequest is MaxCIDsPerRequest: the most CIDs one Get may ask for.
func (c *BlockClient) MaxPerRequest() int { return MaxCIDsPerRequest }

// Get asks p for cids (at most MaxCIDsPerRequest) and calls fn with each
// answer, in request order, as it arrives. fn owns Block.Data. An error from
// fn stops the exchange and is returned. Get returns an error if p breaks
// the protocol (an answer for another CID, a missing answer, a bad frame).
func (c *BlockClient) Get(ctx context.Context, p peer.ID, cids []cid.Cid, fn func(Block) error) (err error) {
	if len(cids) == 0 {
		return nil
	}
	if len(cids) > MaxCIDsPerRequest {
		return fmt.Errorf("protocol: %d CIDs in one request, at most %d", len(cids), MaxCIDsPerRequest)
	}
	st, err := c.h.NewStream(ctx, p, BlocksProtocol)
	if err != nil {
		return fmt.Errorf("protocol: opening blocks stream to %s: %w", p, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer func() {
		stop()
		if err != nil {
			_ = st.Reset()
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
		} else {
			_ = st.Close()
		}
	}()
	if err := st.SetWriteDeadline(deadlineIn(c.timeout)); err != nil {
		return fmt.Errorf("protocol: %w", err)
	}
	if err := NewFrameWriter(st, MaxRequestFrame).WriteMsg(encodeBlockRequest(cids)); err != nil {
		return fmt.Errorf("protocol: sending blocks request to %s: %w", p, err)
	}
	if err := st.CloseWrite(); err != nil {
		return fmt.Errorf("protocol: %w", err)
	}
	r := NewFrameReader(st, MaxBlockFrame)
	for i, want := range cids {
		if err := st.SetReadDeadline(deadlineIn(c.timeout)); err != nil {
			return fmt.Errorf("protocol: %w", err)
		}
		frame, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("protocol: block %d of %d from %s: %w", i+1, len(cids), p, err)
		}
		blk, err := DecodeBlockResponse(frame)
		if err != nil {
			return fmt.Errorf("protocol: block %d from %s: %w", i+1, p, err)
		}
		if !blk.CID.Equals(want) {
			return fmt.Errorf("%w: %s answered %s, asked for %s", ErrBadMessage, p, blk.CID, want)
		}
		if err := fn(blk); err != nil {
			return err
		}
	}
	if err := st.SetReadDeadline(deadlineIn(c.timeout)); err != nil {
		return fmt.Errorf("protocol: %w", err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("%w: %s sent more answers than asked", ErrBadMessage, p)
		}
		return fmt.Errorf("protocol: %s: %w", p, err)
	}
	return nil
}
