package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Writer builds a GGUF file. Metadata and tensors are written in the order
// they were added; tensor offsets are assigned packed, each aligned.
type Writer struct {
	Version   uint32
	Alignment uint64
	kv        []KV
	kvIndex   map[string]int
	tensors   []writerTensor
	names     map[string]bool
	err       error
}

type writerTensor struct {
	info TensorInfo
	data func(w io.Writer) error
}

// NewWriter returns a Writer for a version 3 file with the default alignment.
func NewWriter() *Writer {
	return &Writer{Version: 3, Alignment: DefaultAlignment, kvIndex: map[string]int{}, names: map[string]bool{}}
}

// Set adds or replaces a metadata entry. Setting general.alignment also sets
// the writer's alignment.
func (w *Writer) Set(key string, v Value) {
	if key == KeyAlignment {
		if a, ok := v.Int(); ok && a > 0 && a&(a-1) == 0 {
			w.Alignment = uint64(a)
		} else if w.err == nil {
			w.err = fmt.Errorf("gguf: bad alignment value %v", v.Any())
		}
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kv[i].Value = v
		return
	}
	w.kvIndex[key] = len(w.kv)
	w.kv = append(w.kv, KV{Key: key, Value: v})
}

// AddTensor adds a tensor whose bytes are held in memory.
func (w *Writer) AddTensor(name string, typ TensorType, dims []uint64, data []byte) {
	w.AddTensorFunc(name, typ, dims, func(out io.Writer) error {
		_, err := out.Write(data)
		return err
	}, uint64(len(data)))
}

// AddTensorFunc adds a tensor whose size bytes are produced by write when
// the file is written, so tensors larger than memory can be streamed.
func (w *Writer) AddTensorFunc(name string, typ TensorType, dims []uint64, write func(io.Writer) error, size uint64) {
	if w.err != nil {
		return
	}
	if w.names[name] {
		w.err = fmt.Errorf("gguf: duplicate tensor %q", name)
		return
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		w.err = fmt.Errorf("gguf: tensor %q: %d dimensions", name, len(dims))
		return
	}
	t := TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ}
	want, err := typ.Size(t.Elements())
	if err != nil {
		w.err = fmt.Errorf("tensor %q: %w", name, err)
		return
	}
	if want != size {
		w.err = fmt.Errorf("gguf: tensor %q: %d bytes given, shape %v of %s needs %d", name, size, dims, typ, want)
		return
	}
	t.Size = size
	w.names[name] = true
	w.tensors = append(w.tensors, writerTensor{info: t, data: write})
}

// WriteTo writes the file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	cw := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	e := &encoder{w: cw}
	e.bytes([]byte(Magic))
	e.u32(w.Version)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kv)))
	for _, kv := range w.kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	off := uint64(0)
	for i := range w.tensors {
		t := &w.tensors[i].info
		off = align(off, w.Alignment)
		t.Offset = off
		off += t.Size
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
	}
	if e.err != nil {
		return cw.n, e.err
	}
	e.pad(w.Alignment)
	dataStart := cw.n
	for i := range w.tensors {
		t := &w.tensors[i]
		e.pad(w.Alignment)
		if e.err != nil {
			return cw.n, e.err
		}
		before := cw.n
		if err := t.data(cw); err != nil {
			return cw.n, fmt.Errorf("gguf: writing tensor %q: %w", t.info.Name, err)
		}
		if got := uint64(cw.n - before); got != t.info.Size {
			return cw.n, fmt.Errorf("gguf: tensor %q: wrote %d bytes, want %d", t.info.Name, got, t.info.Size)
		}
		if uint64(cw.n-dataStart) != t.info.Offset+t.info.Size {
			return cw.n, fmt.Errorf("gguf: internal offset mismatch at tensor %q", t.info.Name)
		}
	}
	if e.err != nil {
		return cw.n, e.err
	}
	return cw.n, cw.w.(*bufio.Writer).Flush()
}

// WriteFile writes the file atomically: to a temporary file in the same
// directory, synced, then renamed over path.
func (w *Writer) WriteFile(path string) error {
	return writeFileAtomic(path, func(out io.Writer) error {
		_, err := w.WriteTo(out)
		return err
	})
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type encoder struct {
	w   *countWriter
	buf [8]byte
	err error
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u8(x uint8) { e.buf[0] = x; e.bytes(e.buf[:1]) }
func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], x)
	e.bytes(e.buf[:2])
}
func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], x)
	e.bytes(e.buf[:4])
}
func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], x)
	e.bytes(e.buf[:8])
}
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.bytes([]byte(s)) }

func (e *encoder) pad(a uint64) {
	var zero [64]byte
	for n := align(uint64(e.w.n), a) - uint64(e.w.n); n > 0; {
		k := min(n, uint64(len(zero)))
		e.bytes(zero[:k])
		n -= k
	}
}

func (e *encoder) value(v Value) {
	switch x := v.v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		if v.Type != TypeArray {
			if e.err == nil {
				e.err = fmt.Errorf("gguf: cannot encode value of type %s holding %T", v.Type, v.v)
			}
			return
		}
		e.u32(uint32(v.ArrayType))
		e.u64(uint64(v.Len()))
		e.array(v.v)
	}
}

func (e *encoder) array(s any) {
	switch s := s.(type) {
	case []uint8:
		e.bytes(s)
	case []int8:
		for _, x := range s {
			e.u8(uint8(x))
		}
	case []uint16:
		for _, x := range s {
			e.u16(x)
		}
	case []int16:
		for _, x := range s {
			e.u16(uint16(x))
		}
	case []uint32:
		for _, x := range s {
			e.u32(x)
		}
	case []int32:
		for _, x := range s {
			e.u32(uint32(x))
		}
	case []float32:
		for _, x := range s {
			e.u32(math.Float32bits(x))
		}
	case []bool:
		for _, x := range s {
			e.value(Bool(x))
		}
	case []string:
		for _, x := range s {
			e.str(x)
		}
	case []uint64:
		for _, x := range s {
			e.u64(x)
		}
	case []int64:
		for _, x := range s {
			e.u64(uint64(x))
		}
	case []float64:
		for _, x := range s {
			e.u64(math.Float64bits(x))
		}
	case []Value:
		for _, x := range s {
			e.value(x)
		}
	}
}

// CopyFrom sets every metadata entry of f (in order) on the writer and adds
// every tensor with its data, so WriteTo reproduces f.
func (w *Writer) CopyFrom(f *File) {
	w.Version = f.Version
	for _, kv := range f.KV {
		w.Set(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		w.AddTensor(t.Name, t.Type, t.Dims, f.TensorData(t))
	}
}
