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
