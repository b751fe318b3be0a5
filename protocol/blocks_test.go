package protocol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"google.golang.org/protobuf/proto"

	pb "github.com/orbitswarm/orbit/proto"
)

// memStore is a BlockStore over a map.
type memStore struct {
	mu     sync.Mutex
	blocks map[cid.Cid][]byte
	delay  time.Duration
}

func (m *memStore) GetBlock(ctx context.Context, c cid.Cid) ([]byte, error) {
	if m.delay > 0 {
		select {
		case <-time.After(m.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blocks[c]
	if !ok {
		return nil, ErrNotFound
	}
	return b, nil
}

func sumCID(b []byte) cid.Cid {
	d := sha256.Sum256(b)
	h, _ := mh.Encode(d[:], mh.SHA2_256)
	return cid.NewCidV1(cid.Raw, h)
}

func newHost(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// pair returns a server host serving store and a connected client host.
func pair(t testing.TB, store BlockStore, opt BlockServerOptions) (server, client host.Host) {
	t.Helper()
	server, client = newHost(t), newHost(t)
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	if store != nil {
		srv := NewBlockServer(server, store, opt)
		t.Cleanup(func() { srv.Close() })
	}
	if err := client.Connect(context.Background(), peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return server, client
}

func testBlocks(n, size int) (*memStore, []cid.Cid) {
	st := &memStore{blocks: map[cid.Cid][]byte{}}
	var cids []cid.Cid
	for i := range n {
		b := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2)
		c := sumCID(b)
		st.blocks[c] = b
		cids = append(cids, c)
	}
	return st, cids
}

func TestBlocksRoundTrip(t *testing.T) {
	st, cids := testBlocks(5, MaxBlockSize)
	server, client := pair(t, st, BlockServerOptions{})
	missing := sumCID([]byte("nobody has this"))
	tests := []struct {
		name string
		ask  []cid.Cid
		want []BlockStatus
	}{
		{"one", cids[:1], []BlockStatus{BlockOK}},
		{"all", cids, []BlockStatus{BlockOK, BlockOK, BlockOK, BlockOK, BlockOK}},
		{"unknown", []cid.Cid{missing}, []BlockStatus{BlockNotFound}},
		{"mixed", []cid.Cid{cids[2], missing, cids[0]}, []BlockStatus{BlockOK, BlockNotFound, BlockOK}},
		{"duplicates", []cid.Cid{cids[1], cids[1]}, []BlockStatus{BlockOK, BlockOK}},
	}
	bc := NewBlockClient(client, 5*time.Second)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []BlockStatus
			err := bc.Get(context.Background(), server.ID(), tc.ask, func(b Block) error {
				got = append(got, b.Status)
				if b.Status == BlockOK && !bytes.Equal(b.Data, st.blocks[b.CID]) {
					t.Errorf("block %s: wrong bytes", b.CID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if err := bc.Get(context.Background(), server.ID(), make([]cid.Cid, MaxCIDsPerRequest+1), nil); err == nil {
		t.Fatal("client sent an oversized request")
	}
}

// errStore answers every block with its error.
type errStore struct{ err error }

func (e errStore) GetBlock(context.Context, cid.Cid) ([]byte, error) { return nil, e.err }

// TestBlocksNotHeld: the server answers "not found" for a store's error
// wrapping ErrNotFound or matching fs.ErrNotExist (a weight store's own
// ErrNotFound), "unavailable" for any other; GetBlocks passes found and
// the bytes of every answer, in order.
func TestBlocksNotHeld(t *testing.T) {
	st, cids := testBlocks(2, 1024)
	for _, tc := range []struct {
		name  string
		store BlockStore
		want  BlockStatus
	}{
		{"ErrNotFound", errStore{fmt.Errorf("store: %w", ErrNotFound)}, BlockNotFound},
		{"fs.ErrNotExist", errStore{fmt.Errorf("store: %w", fs.ErrNotExist)}, BlockNotFound},
		{"other", errStore{errors.New("disk on fire")}, BlockUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := pair(t, tc.store, BlockServerOptions{Logger: quiet})
			var got []BlockStatus
			if err := NewBlockClient(client, 5*time.Second).Get(t.Context(), server.ID(), cids[:1], func(b Block) error {
				got = append(got, b.Status)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("answers %v, want %v", got, tc.want)
			}
		})
	}

	server, client := pair(t, st, BlockServerOptions{})
	missing := sumCID([]byte("nobody has this"))
	bc := NewBlockClient(client, 5*time.Second)
	if bc.MaxPerRequest() != MaxCIDsPerRequest {
		t.Fatalf("MaxPerRequest %d", bc.MaxPerRequest())
	}
	var order []cid.Cid
	var found []bool
	err := bc.GetBlocks(t.Context(), server.ID(), []cid.Cid{cids[1], missing, cids[0]}, func(c cid.Cid, data []byte, ok bool) error {
		order, found = append(order, c), append(found, ok)
		if ok != (data != nil) || ok && !bytes.Equal(data, st.blocks[c]) {
			t.Errorf("block %s: found %v with %d bytes", c, ok, len(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(order) != fmt.Sprint([]cid.Cid{cids[1], missing, cids[0]}) || fmt.Sprint(found) != "[true false true]" {
		t.Fatalf("answers %v found %v", order, found)
	}
}

// rawStream opens a blocks stream and writes raw bytes on it, then reads
// what the server answers until it closes or resets.
func rawStream(t *testing.T, client host.Host, server peer.ID, payload []byte) ([]byte, error) {
	t.Helper()
	s, err := client.NewStream(context.Background(), server, BlocksProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write(payload); err != nil {
		return nil, err
	}
	_ = s.CloseWrite()
	return io.ReadAll(s)
}

func frame(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }

func marshalReq(cids ...[]byte) []byte {
	b, _ := proto.Marshal(&pb.BlockRequest{Cids: cids})
	return b
}

func TestBlocksHostileRequests(t *testing.T) {
	st, cids := testBlocks(2, 1024)
	server, client := pair(t, st, BlockServerOptions{Timeout: time.Second})
	tooMany := make([][]byte, MaxCIDsPerRequest+1)
	for i := range tooMany {
		tooMany[i] = cids[0].Bytes()
	}
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty stream", nil},
		{"huge length prefix", binary.AppendUvarint(nil, 1<<62)},
		{"length past the request cap", frame(make([]byte, MaxRequestFrame+1))},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 20)},
		{"truncated frame", binary.AppendUvarint(nil, 100)},
		{"garbage protobuf", frame([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})},
		{"empty request", frame(nil)},
		{"bad CID", frame(marshalReq([]byte("not a cid")))},
		{"too many CIDs", frame(marshalReq(tooMany...))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := rawStream(t, client, server.ID(), tc.payload)
			if len(got) != 0 {
				t.Fatalf("server answered %d bytes to a bad request", len(got))
			}
		})
	}
	// The server still serves good requests.
	n := 0
	err := NewBlockClient(client, time.Second).Get(context.Background(), server.ID(), cids, func(b Block) error {
		if b.Status == BlockOK {
			n++
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("after hostile requests: %d blocks, %v", n, err)
	}
}

// TestBlocksHostileServer points the client at handlers that break the
// protocol in each way and checks it returns an error, never hangs.
func TestBlocksHostileServer(t *testing.T) {
	_, cids := testBlocks(2, 1024)
	good := &pb.BlockResponse{Cid: cids[0].Bytes(), Data: []byte("x")}
	msg := func(m *pb.BlockResponse) []byte { b, _ := proto.Marshal(m); return frame(b) }
	tests := []struct {
		name  string
		reply []byte
		want  error
	}{
		{"nothing", nil, io.ErrUnexpectedEOF},
		{"huge length prefix", binary.AppendUvarint(nil, 1<<40), ErrFrameTooLarge},
		{"garbage", frame([]byte{0x0a, 0xff}), ErrBadMessage},
		{"wrong CID", msg(&pb.BlockResponse{Cid: cids[1].Bytes()}), ErrBadMessage},
		{"bad status", msg(&pb.BlockResponse{Cid: cids[0].Bytes(), Status: 9}), ErrBadMessage},
		{"not found with data", msg(&pb.BlockResponse{Cid: cids[0].Bytes(), Status: pb.BlockResponse_NOT_FOUND, Data: []byte{1}}), ErrBadMessage},
		{"extra answer", append(msg(good), msg(good)...), ErrBadMessage},
		{"silence", []byte("hang"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			server, client := pair(t, nil, BlockServerOptions{})
			server.SetStreamHandler(BlocksProtocol, func(s network.Stream) {
				defer s.Close()
				if string(tc.reply) == "hang" {
					time.Sleep(2 * time.Second)
					return
				}
				_, _ = io.ReadAll(s)
				_, _ = s.Write(tc.reply)
			})
			start := time.Now()
			err := NewBlockClient(client, 300*time.Millisecond).Get(context.Background(), server.ID(), cids[:1], func(Block) error { return nil })
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if time.Since(start) > 1500*time.Millisecond {
				t.Fatalf("took %v: the deadline did not apply", time.Since(start))
			}
		})
	}
}

func TestBlocksPerPeerCap(t *testing.T) {
	st, cids := testBlocks(1, 64)
	st.delay = 300 * time.Millisecond
	server, client := pair(t, st, BlockServerOptions{MaxPerPeer: 1})
	bc := NewBlockClient(client, 2*time.Second)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			errs[i] = bc.Get(context.Background(), server.ID(), cids, func(Block) error { return nil })
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 3 concurrent requests served with a cap of 1: %v", ok, errs)
	}
}

func TestBlocksContextCancel(t *testing.T) {
	st, cids := testBlocks(1, 64)
	st.delay = 5 * time.Second
	server, client := pair(t, st, BlockServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := NewBlockClient(client, 10*time.Second).Get(ctx, server.ID(), cids, func(Block) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("cancel took %v", time.Since(start))
	}
}

func FuzzDecodeBlockRequest(f *testing.F) {
	_, cids := testBlocks(2, 64)
	f.Add(marshalReq(cids[0].Bytes(), cids[1].Bytes()))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeBlockRequest(b)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > MaxCIDsPerRequest {
			t.Fatalf("accepted %d CIDs", len(got))
		}
	})
}

func FuzzDecodeBlockResponse(f *testing.F) {
	_, cids := testBlocks(1, 64)
	ok, _ := proto.Marshal(&pb.BlockResponse{Cid: cids[0].Bytes(), Data: []byte("data")})
	nf, _ := proto.Marshal(&pb.BlockResponse{Cid: cids[0].Bytes(), Status: pb.BlockResponse_NOT_FOUND})
	f.Add(ok)
	f.Add(nf)
	f.Add([]byte{0x10, 0x07})
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlockResponse(b)
		if err != nil {
			return
		}
		if len(blk.Data) > MaxBlockSize || (blk.Status != BlockOK && len(blk.Data) > 0) || !blk.CID.Defined() {
			t.Fatalf("accepted %+v", blk)
		}
	})
}
