package protocol

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// ErrFrameTooLarge is returned for a frame whose length prefix exceeds the cap.
var ErrFrameTooLarge = errors.New("protocol: frame too large")

// ErrBadFrame is wrapped by errors about frames that cannot be decoded.
var ErrBadFrame = errors.New("protocol: bad frame")

// FrameReader reads frames: a uvarint length, then that many bytes. It
// never allocates more than its cap, whatever the peer sends.
type FrameReader struct {
	r   *bufio.Reader
	max int
	buf []byte

	// With a scope (ReserveFrames), each frame's bytes are reserved in it
	// when its length arrives and held until the next read or Release.
	scope MemoryScope
	prio  uint8
	held  int
}

// MemoryScope is where a FrameReader reserves its frames' memory: a
// libp2p stream's resource scope.
type MemoryScope interface {
	ReserveMemory(size int, prio uint8) error
	ReleaseMemory(size int)
}

// ErrFrameMemory is wrapped when a frame's memory could not be reserved.
var ErrFrameMemory = errors.New("protocol: no memory for the frame")

// keepFrameBuf is the largest frame buffer a reader with a scope keeps
// between frames (larger ones are dropped with their reservation).
const keepFrameBuf = 16 << 10

// SetLimit changes the largest frame f reads (a handshake may allow less
// than the frames after it).
func (f *FrameReader) SetLimit(max int) { f.max = max }

// ReserveFrames makes f reserve every frame's bytes in scope (at prio)
// as the frame's length arrives, and release them when the next read
// starts or at Release: a stream holds memory while it has a frame to
// handle, not while it waits for one. A frame that cannot be reserved
// fails the read with ErrFrameMemory.
func (f *FrameReader) ReserveFrames(scope MemoryScope, prio uint8) {
	f.scope, f.prio = scope, prio
}

// Release gives back the last frame's reservation (with ReserveFrames);
// the frame's bytes are not to be used after it.
func (f *FrameReader) Release() {
	if f.scope == nil {
		return
	}
	if f.held > 0 {
		f.scope.ReleaseMemory(f.held)
		f.held = 0
	}
	if cap(f.buf) > keepFrameBuf {
		f.buf = nil
	}
}

// NewFrameReader reads frames of at most max bytes from r.
func NewFrameReader(r io.Reader, max int) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 4096), max: max}
}

// Next returns the next frame's bytes, valid until the next call.
func (f *FrameReader) Next() ([]byte, error) {
	f.Release()
	n, err := binary.ReadUvarint(f.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated length prefix", ErrBadFrame)
		}
		return nil, fmt.Errorf("%w: length prefix: %v", ErrBadFrame, err)
	}
	if n > uint64(f.max) {
		return nil, fmt.Errorf("%w: %d bytes, cap %d", ErrFrameTooLarge, n, f.max)
	}
	if f.scope != nil && n > 0 {
		if err := f.scope.ReserveMemory(int(n), f.prio); err != nil {
			return nil, fmt.Errorf("%w: %d bytes: %w", ErrFrameMemory, n, err)
		}
		f.held = int(n)
	}
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return nil, fmt.Errorf("%w: truncated frame of %d bytes: %v", ErrBadFrame, n, err)
	}
	return f.buf, nil
}

// ReadMsg reads the next frame into m.
func (f *FrameReader) ReadMsg(m proto.Message) error {
	b, err := f.Next()
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	return nil
}

// FrameWriter writes frames, reusing its buffer.
type FrameWriter struct {
	w   io.Writer
	max int
	buf []byte
}

// NewFrameWriter writes frames of at most max bytes to w.
func NewFrameWriter(w io.Writer, max int) *FrameWriter {
	return &FrameWriter{w: w, max: max}
}

// WriteMsg writes m as one frame.
func (f *FrameWriter) WriteMsg(m proto.Message) error {
	size := proto.Size(m)
	if size > f.max {
		return fmt.Errorf("%w: %d bytes, cap %d", ErrFrameTooLarge, size, f.max)
	}
	b := binary.AppendUvarint(f.buf[:0], uint64(size))
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(b, m)
	if err != nil {
		return fmt.Errorf("protocol: marshal: %w", err)
	}
	f.buf = b
	_, err = f.w.Write(b)
	return err
}

// WriteFrame writes raw bytes as one frame.
func (f *FrameWriter) WriteFrame(p []byte) error {
	if len(p) > f.max {
		return fmt.Errorf("%w: %d bytes, cap %d", ErrFrameTooLarge, len(p), f.max)
	}
	b := binary.AppendUvarint(f.buf[:0], uint64(len(p)))
	f.buf = b
	if _, err := f.w.Write(b); err != nil {
		return err
	}
	_, err := f.w.Write(p)
	return err
}
