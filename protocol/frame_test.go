package protocol

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewFrameWriter(&buf, 1<<10)
	msgs := []string{"", "a", string(make([]byte, 500))}
	for _, s := range msgs {
		if err := w.WriteMsg(wrapperspb.String(s)); err != nil {
			t.Fatal(err)
		}
	}
	r := NewFrameReader(&buf, 1<<10)
	for _, want := range msgs {
		var got wrapperspb.StringValue
		if err := r.ReadMsg(&got); err != nil {
			t.Fatal(err)
		}
		if got.Value != want {
			t.Fatalf("got %q, want %q", got.Value, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after last frame: %v, want EOF", err)
	}
}

func TestFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, ErrFrameTooLarge},
		{"over cap", []byte{0x81, 0x01}, ErrFrameTooLarge},
		{"truncated body", []byte{5, 1, 2}, ErrBadFrame},
		{"truncated prefix", []byte{0x80}, ErrBadFrame},
		{"overlong varint", bytes.Repeat([]byte{0x80}, 11), ErrBadFrame},
		{"garbage protobuf", []byte{3, 0xff, 0xff, 0xff}, ErrBadFrame},
	}
	for _, tc := range tests {
		r := NewFrameReader(bytes.NewReader(tc.data), 128)
		var m wrapperspb.StringValue
		if err := r.ReadMsg(&m); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	w := NewFrameWriter(io.Discard, 8)
	if err := w.WriteMsg(wrapperspb.String("longer than eight")); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("writing over cap: %v", err)
	}
}

func FuzzFrameReader(f *testing.F) {
	var buf bytes.Buffer
	w := NewFrameWriter(&buf, 1<<10)
	w.WriteMsg(wrapperspb.String("hello"))
	w.WriteMsg(wrapperspb.Bytes([]byte{1, 2, 3}))
	f.Add(buf.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewFrameReader(bytes.NewReader(data), 256)
		for i := 0; i < 64; i++ {
			var m wrapperspb.BytesValue
			if err := r.ReadMsg(&m); err != nil {
				return
			}
		}
	})
}

// testScope is a MemoryScope with a limit.
type testScope struct{ used, limit, peak int }

func (s *testScope) ReserveMemory(n int, _ uint8) error {
	if s.used+n > s.limit {
		return errors.New("limit")
	}
	s.used += n
	s.peak = max(s.peak, s.used)
	return nil
}

func (s *testScope) ReleaseMemory(n int) { s.used -= n }

// TestFrameReservations: a reader with a scope reserves each frame's
// bytes when its length arrives and gives them back at the next read and
// at Release; a frame the scope cannot hold fails the read (its stream is
// to be reset).
func TestFrameReservations(t *testing.T) {
	var buf bytes.Buffer
	w := NewFrameWriter(&buf, 1<<20)
	for _, n := range []int{100, 40 << 10, 3} {
		if err := w.WriteFrame(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteFrame(make([]byte, 600<<10)); err != nil {
		t.Fatal(err)
	}
	sc := &testScope{limit: 512 << 10}
	r := NewFrameReader(&buf, 1<<20)
	r.ReserveFrames(sc, 0)
	for _, n := range []int{100, 40 << 10, 3} {
		b, err := r.Next()
		if err != nil || len(b) != n {
			t.Fatalf("frame of %d: %d bytes, %v", n, len(b), err)
		}
		if sc.used != n {
			t.Fatalf("frame of %d bytes: %d reserved", n, sc.used)
		}
	}
	if _, err := r.Next(); !errors.Is(err, ErrFrameMemory) {
		t.Fatalf("a frame over the scope's limit: %v, want ErrFrameMemory", err)
	}
	if sc.used != 0 {
		t.Fatalf("%d bytes reserved after a refused frame", sc.used)
	}
	r.Release()
	if sc.used != 0 || sc.peak != 40<<10 {
		t.Fatalf("used %d, peak %d; want 0 and the largest frame", sc.used, sc.peak)
	}
}
