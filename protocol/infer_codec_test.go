package protocol

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/orbitswarm/orbit/proto"
	"github.com/orbitswarm/orbit/sharding"
)

func randRows(rows, dim int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, rows*dim)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	return x
}

func TestHiddenRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		enc     Encoding
		dim     int
		rows    int
		maxErr  float64 // relative to the row's largest magnitude
		size    int
		idempot bool // decode(encode(decode(b))) gives b again
	}{
		{EncodingF32, 64, 3, 0, 3 * 64 * 4, true},
		{EncodingF32, 5, 1, 0, 5 * 4, true},
		{EncodingF16, 64, 3, 1.0 / 1024, 3 * 64 * 2, true},
		{EncodingF16, 7, 2, 1.0 / 1024, 2 * 7 * 2, true},
		{EncodingQ8_0, 64, 3, 1.0 / 127, 3 * 2 * 34, false},
		{EncodingQ8_0, 4096, 1, 1.0 / 127, 128 * 34, false},
	} {
		t.Run(tc.enc.String(), func(t *testing.T) {
			x := randRows(tc.rows, tc.dim, uint64(tc.dim))
			b, err := EncodeHidden(nil, tc.enc, x, tc.dim)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.size {
				t.Fatalf("%d bytes, want %d", len(b), tc.size)
			}
			y, err := DecodeHidden(nil, tc.enc, b, tc.rows, tc.dim)
			if err != nil {
				t.Fatal(err)
			}
			for r := 0; r < tc.rows; r++ {
				var amax float64
				for _, v := range x[r*tc.dim : (r+1)*tc.dim] {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				for i := r * tc.dim; i < (r+1)*tc.dim; i++ {
					if d := math.Abs(float64(x[i] - y[i])); d > tc.maxErr*amax {
						t.Fatalf("value %d: %v became %v", i, x[i], y[i])
					}
				}
			}
			// Deterministic: the same input always gives the same bytes.
			b2, _ := EncodeHidden(nil, tc.enc, x, tc.dim)
			if string(b) != string(b2) {
				t.Fatal("encoding is not deterministic")
			}
			if tc.idempot {
				b3, _ := EncodeHidden(nil, tc.enc, y, tc.dim)
				if string(b) != string(b3) {
					t.Fatal("re-encoding decoded values changed the bytes")
				}
			}
		})
	}
}

func TestHiddenErrors(t *testing.T) {
	good := randRows(1, 64, 1)
	nan := append([]float32(nil), good...)
	nan[3] = float32(math.NaN())
	big := append([]float32(nil), good...)
	big[0] = 1e6
	for _, tc := range []struct {
		name string
		enc  Encoding
		x    []float32
		dim  int
	}{
		{"bad encoding", Encoding(9), good, 64},
		{"ragged rows", EncodingF32, good[:63], 64},
		{"q8_0 needs 32s", EncodingQ8_0, good[:48], 48},
		{"nan", EncodingF32, nan, 64},
		{"beyond f16", EncodingF16, big, 64},
		{"zero dim", EncodingF16, good, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := EncodeHidden(nil, tc.enc, tc.x, tc.dim); !errors.Is(err, ErrBadHidden) {
				t.Fatalf("got %v, want ErrBadHidden", err)
			}
		})
	}
	f16, _ := EncodeHidden(nil, EncodingF16, good, 64)
	inf := append([]byte(nil), f16...)
	inf[0], inf[1] = 0x00, 0x7c // +Inf
	for _, tc := range []struct {
		name      string
		data      []byte
		rows, dim int
	}{
		{"short", f16[:10], 1, 64},
		{"long", append(f16, 0), 1, 64},
		{"wrong rows", f16, 2, 64},
		{"wrong dim", f16, 1, 32},
		{"negative rows", f16, -1, 64},
		{"infinite", inf, 1, 64},
	} {
		t.Run("decode "+tc.name, func(t *testing.T) {
			if _, err := DecodeHidden(nil, EncodingF16, tc.data, tc.rows, tc.dim); !errors.Is(err, ErrBadHidden) {
				t.Fatalf("got %v, want ErrBadHidden", err)
			}
		})
	}
}

func TestParseEncoding(t *testing.T) {
	for _, e := range []Encoding{EncodingF32, EncodingF16, EncodingQ8_0} {
		got, err := ParseEncoding(e.String())
		if err != nil || got != e {
			t.Fatalf("%v: got %v, %v", e, got, err)
		}
	}
	if _, err := ParseEncoding("bf16"); err == nil {
		t.Fatal("bf16 accepted")
	}
}

func FuzzDecodeHidden(f *testing.F) {
	x := randRows(2, 32, 3)
	for _, e := range []Encoding{EncodingF32, EncodingF16, EncodingQ8_0} {
		b, _ := EncodeHidden(nil, e, x, 32)
		f.Add(uint8(e), b, 2, 32)
	}
	f.Add(uint8(0), []byte{}, 0, 0)
	f.Add(uint8(2), []byte{0, 0x7c}, 1, 1)
	f.Fuzz(func(t *testing.T, enc uint8, data []byte, rows, dim int) {
		if rows > 1<<12 || dim > 1<<12 {
			return // keep allocations small; the size check is what matters
		}
		y, err := DecodeHidden(nil, Encoding(enc), data, rows, dim)
		if err != nil {
			return
		}
		if len(y) != rows*dim {
			t.Fatalf("%d values for %d rows of %d", len(y), rows, dim)
		}
		for _, v := range y {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatal("non-finite value accepted")
			}
		}
		// What decodes re-encodes to the same size.
		b, err := EncodeHidden(nil, Encoding(enc), y, dim)
		if err != nil && Encoding(enc) != EncodingF32 {
			return // q8_0 scale overflow and the like
		}
		if err == nil && len(b) != len(data) {
			t.Fatalf("re-encoded to %d bytes, from %d", len(b), len(data))
		}
	})
}

// FuzzInferMessages feeds arbitrary bytes to every decoder a peer can
// reach: frames, then each message's conversion to Go types.
func FuzzInferMessages(f *testing.F) {
	h, _ := EncodeRows(EncodingF16, randRows(1, 32, 4), 32)
	seed := []proto.Message{
		&pb.InferHello{Msg: &pb.InferHello_Open{Open: openToWire(OpenRequest{Model: "m", MaxLength: 8, Next: &NextHop{Peer: "12D3KooWFQ7M2zR3vEr2ZmWkVNzDyqf4Y7RSuRtTSvnWVtNtnC5v"}})}},
		&pb.InferRequest{Msg: &pb.InferRequest_Step{Step: stepToWire(Step{Seq: 3, Pos: 1, Hidden: h, Forward: 2})}},
		&pb.InferResponse{Msg: &pb.InferResponse_Result{Result: resultToWire(Result{Seq: 3, Hidden: h})}},
		&pb.InferResponse{Msg: &pb.InferResponse_Result{Result: resultToWire(Result{Seq: 4, Hidden: h, Proof: &Proof{In: Digest{1}, Out: Digest{2}, Signature: []byte{3, 4}}})}},
		errorToWire(ErrCacheFull, 0),
		infoToWire(Info{Version: "v", Models: []ModelInfo{{Model: "m", Span: spanOf(0, 2), Blocks: 4, Throughput: 10}}}),
	}
	for _, m := range seed {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// As a stream of frames: size caps and truncation are errors.
		fr := NewFrameReader(bytes.NewReader(b), 1<<12)
		for range 8 {
			var req pb.InferRequest
			if err := fr.ReadMsg(&req); err != nil {
				break
			}
			if s, err := stepFromWire(req.GetStep()); err == nil {
				_, _ = s.Hidden.Decode(nil, s.Hidden.Encoding, s.Hidden.Rows, s.Hidden.Dim)
			}
		}
		var hello pb.InferHello
		if proto.Unmarshal(b, &hello) == nil {
			if o := hello.GetOpen(); o != nil {
				_, _ = openFromWire(o)
			}
			if a := hello.GetAttach(); a != nil {
				_, _ = sessionIDFromWire(a.GetSessionId())
			}
		}
		var req pb.InferRequest
		if proto.Unmarshal(b, &req) == nil {
			if s, err := stepFromWire(req.GetStep()); err == nil {
				_, _ = s.Hidden.Decode(nil, s.Hidden.Encoding, s.Hidden.Rows, s.Hidden.Dim)
			}
			if sn := req.GetSetNext(); sn != nil {
				_, _ = nextFromWire(sn.GetNext())
			}
		}
		var resp pb.InferResponse
		if proto.Unmarshal(b, &resp) == nil {
			if r := resp.GetResult(); r != nil {
				_, _ = resultFromWire(r)
			}
			if e := resp.GetError(); e != nil {
				_ = errorFromWire(e).Error()
			}
		}
		var info pb.InfoResponse
		if proto.Unmarshal(b, &info) == nil {
			_, _ = infoFromWire(&info)
		}
	})
}

func spanOf(a, b int) sharding.Span { return sharding.Span{Start: a, End: b} }
