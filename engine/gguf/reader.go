package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/orbitswarm/orbit/internal/platform"
)

// File is a parsed GGUF file. Its tensor data aliases the bytes it was
// parsed from (for Open, a read-only memory map released by Close).
type File struct {
	Version   uint32
	KV        []KV // in file order
	Tensors   []TensorInfo
	Alignment uint64
	DataStart uint64 // offset of the data section in the file

	data    []byte
	kvIndex map[string]int
	tIndex  map[string]int
	mapped  bool

	// A model split into several files (see split.go): the parts, in
	// order, and the part holding each tensor (indexed like Tensors).
	parts []*File
	tPart []int
}

// OpenPart maps the one file at path read-only and parses it. Unlike Open
// it never looks for the other parts of a split model.
func OpenPart(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	size := st.Size()
	if size < 24 {
		return nil, fmt.Errorf("%w: %s: %d bytes is too short for a header", ErrFormat, path, size)
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("gguf: %s: file too large to map", path)
	}
	data, err := platform.Map(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("gguf: mmap %s: %w", path, err)
	}
	g, err := Parse(data)
	if err != nil {
		_ = platform.Unmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	g.mapped = true
	return g, nil
}

// Close releases the memory map of a file returned by Open (of every part
// of a split model). Tensor data slices must not be used afterwards.
func (f *File) Close() error {
	if f.parts != nil {
		var first error
		for _, p := range f.parts {
			if err := p.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if !f.mapped || f.data == nil {
		return nil
	}
	err := platform.Unmap(f.data)
	f.data = nil
	if err != nil {
		return fmt.Errorf("gguf: munmap: %w", err)
	}
	return nil
}

// Bytes returns the whole underlying file image; nil for a model merged
// from split parts (each part has its own, see Parts).
func (f *File) Bytes() []byte { return f.data }

// Get returns the metadata value for key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// Tensor returns the descriptor of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of a tensor (aliasing the file image).
func (f *File) TensorData(t *TensorInfo) []byte {
	if f.parts != nil {
		return f.parts[f.tPart[f.tIndex[t.Name]]].TensorData(t)
	}
	start := f.DataStart + t.Offset
	return f.data[start : start+t.Size : start+t.Size]
}

// DropTensor tells the OS that t's data will not be read for a while (a
// model keeps a repacked copy): for a memory-mapped file its pages leave
// the process's resident memory, to be read from the file again if they
// are touched. It does nothing for a file parsed from memory.
func (f *File) DropTensor(t *TensorInfo) {
	if f.parts != nil {
		f.parts[f.tPart[f.tIndex[t.Name]]].DropTensor(t)
		return
	}
	if f.mapped && f.data != nil {
		platform.Drop(f.data, int(f.DataStart+t.Offset), int(t.Size))
	}
}

// String returns the string value of key, or an error naming the key.
func (f *File) String(key string) (string, error) {
	v, ok := f.Get(key)
	if !ok {
		return "", fmt.Errorf("gguf: missing metadata key %q", key)
	}
	s, ok := v.Str()
	if !ok {
		return "", fmt.Errorf("gguf: metadata key %q is %s, want string", key, v.Type)
	}
	return s, nil
}

// Int returns the integer value of key, or an error naming the key.
func (f *File) Int(key string) (int64, error) {
	v, ok := f.Get(key)
	if !ok {
		return 0, fmt.Errorf("gguf: missing metadata key %q", key)
	}
	i, ok := v.Int()
	if !ok {
		return 0, fmt.Errorf("gguf: metadata key %q is %s, want an integer", key, v.Type)
	}
	return i, nil
}

// Float returns the numeric value of key, or an error naming the key.
func (f *File) Float(key string) (float64, error) {
	v, ok := f.Get(key)
	if !ok {
		return 0, fmt.Errorf("gguf: missing metadata key %q", key)
	}
	x, ok := v.Float()
	if !ok {
		return 0, fmt.Errorf("gguf: metadata key %q is %s, want a number", key, v.Type)
	}
	return x, nil
}

// decoder reads little-endian values from a byte slice, remembering the
// first error; after an error every read returns zero values.
type decoder struct {
	b   []byte
	off uint64
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at offset %d: %s", ErrFormat, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b))-d.off {
		d.fail("truncated %s: need %d bytes, have %d", what, n, uint64(len(d.b))-d.off)
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) remaining() uint64 { return uint64(len(d.b)) - d.off }

func (d *decoder) u8(what string) uint8 {
	if s := d.take(1, what); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if s := d.take(2, what); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if s := d.take(4, what); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if s := d.take(8, what); s != nil {
		return binary.LittleEndian.Uint64(s)
	}
	return 0
}

func (d *decoder) str(what string) string {
	n := d.u64(what + " length")
	if d.err != nil {
		return ""
	}
	if n > d.remaining() {
		d.fail("%s length %d exceeds the %d bytes left", what, n, d.remaining())
		return ""
	}
	return string(d.take(n, what))
}

// count reads an element count and checks that count elements of at least
// minSize bytes each can fit in the rest of the input, so a hostile count
// can never cause a huge allocation.
func (d *decoder) count(what string, minSize uint64) uint64 {
	n := d.u64(what)
	if d.err != nil {
		return 0
	}
	if minSize > 0 && n > d.remaining()/minSize {
		d.fail("%s %d cannot fit in the %d bytes left", what, n, d.remaining())
		return 0
	}
	return n
}

const maxArrayDepth = 8

func (d *decoder) value(t ValueType, depth int) Value {
	switch t {
	case TypeUint8:
		return Uint8(d.u8("uint8"))
	case TypeInt8:
		return Int8(int8(d.u8("int8")))
	case TypeUint16:
		return Uint16(d.u16("uint16"))
	case TypeInt16:
		return Int16(int16(d.u16("int16")))
	case TypeUint32:
		return Uint32(d.u32("uint32"))
	case TypeInt32:
		return Int32(int32(d.u32("int32")))
	case TypeFloat32:
		return Float32(math.Float32frombits(d.u32("float32")))
	case TypeBool:
		b := d.u8("bool")
		if b > 1 {
			d.fail("bool value %d is neither 0 nor 1", b)
		}
		return Bool(b == 1)
	case TypeString:
		return String(d.str("string"))
	case TypeUint64:
		return Uint64(d.u64("uint64"))
	case TypeInt64:
		return Int64(int64(d.u64("int64")))
	case TypeFloat64:
		return Float64(math.Float64frombits(d.u64("float64")))
	case TypeArray:
		if depth >= maxArrayDepth {
			d.fail("arrays nested deeper than %d", maxArrayDepth)
			return Value{}
		}
		return d.array(depth + 1)
	}
	d.fail("unknown value type %d", uint32(t))
	return Value{}
}

func (d *decoder) array(depth int) Value {
	et := ValueType(d.u32("array element type"))
	if d.err != nil {
		return Value{}
	}
	minSize := uint64(et.size())
	switch et {
	case TypeString:
		minSize = 8
	case TypeArray:
		minSize = 12
	}
	if minSize == 0 {
		d.fail("unknown array element type %d", uint32(et))
		return Value{}
	}
	n := d.count("array length", minSize)
	if d.err != nil {
		return Value{}
	}
	var s any
	switch et {
	case TypeUint8:
		s = fill(d, n, func() uint8 { return d.u8("uint8") })
	case TypeInt8:
		s = fill(d, n, func() int8 { return int8(d.u8("int8")) })
	case TypeUint16:
		s = fill(d, n, func() uint16 { return d.u16("uint16") })
	case TypeInt16:
		s = fill(d, n, func() int16 { return int16(d.u16("int16")) })
	case TypeUint32:
		s = fill(d, n, func() uint32 { return d.u32("uint32") })
	case TypeInt32:
		s = fill(d, n, func() int32 { return int32(d.u32("int32")) })
	case TypeFloat32:
		s = fill(d, n, func() float32 { return math.Float32frombits(d.u32("float32")) })
	case TypeBool:
		s = fill(d, n, func() bool { return d.value(TypeBool, depth).v == true })
	case TypeString:
		s = fill(d, n, func() string { return d.str("string") })
	case TypeUint64:
		s = fill(d, n, func() uint64 { return d.u64("uint64") })
	case TypeInt64:
		s = fill(d, n, func() int64 { return int64(d.u64("int64")) })
	case TypeFloat64:
		s = fill(d, n, func() float64 { return math.Float64frombits(d.u64("float64")) })
	case TypeArray:
		vals := fill(d, n, func() Value { return d.array(depth + 1) })
		for i := 1; i < len(vals) && d.err == nil; i++ {
			if vals[i].ArrayType != vals[0].ArrayType {
				d.fail("array of arrays mixes element types %s and %s", vals[0].ArrayType, vals[i].ArrayType)
			}
		}
		s = vals
	}
	if d.err != nil {
		return Value{}
	}
	return Value{Type: TypeArray, ArrayType: et, v: s}
}

func fill[T any](d *decoder, n uint64, next func() T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = next()
		if d.err != nil {
			return nil
		}
	}
	return out
}

// Parse parses a GGUF image held in memory. The returned File aliases data.
func Parse(data []byte) (*File, error) { return parse(data, false) }

// ParseHeader parses the header (metadata and tensor descriptors) at the
// start of a GGUF image whose tensor data need not follow: the File has no
// bytes, and TensorData must not be called on it. DataStart says where the
// data section starts. A prefix too short for the header fails like a
// malformed file; read more and try again.
func ParseHeader(prefix []byte) (*File, error) { return parse(prefix, true) }

func parse(data []byte, header bool) (*File, error) {
	d := &decoder{b: data}
	magic := d.take(4, "magic")
	if d.err != nil {
		return nil, d.err
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("%w: bad magic %q, want %q", ErrFormat, magic, Magic)
	}
	f := &File{Version: d.u32("version")}
	if d.err == nil && f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("%w: unsupported version %d (want 2 or 3)", ErrFormat, f.Version)
	}
	// Each tensor info takes at least 8+4+4+8 bytes, each KV at least 8+4+1.
	nTensors := d.count("tensor count", 24)
	nKV := d.count("metadata count", 13)
	if d.err != nil {
		return nil, d.err
	}
	f.KV = make([]KV, 0, nKV)
	f.kvIndex = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		key := d.str("metadata key")
		t := ValueType(d.u32("metadata value type"))
		v := d.value(t, 0)
		if d.err != nil {
			return nil, fmt.Errorf("metadata entry %d (%q): %w", i, key, d.err)
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, fmt.Errorf("%w: duplicate metadata key %q", ErrFormat, key)
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	f.Alignment = DefaultAlignment
	if v, ok := f.Get(KeyAlignment); ok {
		a, ok := v.Int()
		if !ok || a <= 0 || a > 1<<20 || a&(a-1) != 0 {
			return nil, fmt.Errorf("%w: %s must be a power of two up to 1 MiB, got %v", ErrFormat, KeyAlignment, v.Any())
		}
		f.Alignment = uint64(a)
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tIndex = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		var t TensorInfo
		t.Name = d.str("tensor name")
		nd := d.u32("tensor dimension count")
		if d.err == nil && nd > MaxDims {
			d.fail("tensor %q has %d dimensions, at most %d allowed", t.Name, nd, MaxDims)
		}
		if d.err != nil {
			return nil, fmt.Errorf("tensor info %d: %w", i, d.err)
		}
		t.Dims = make([]uint64, nd)
		elems := uint64(1)
		for j := range t.Dims {
			t.Dims[j] = d.u64("tensor dimension")
			if d.err == nil && (t.Dims[j] == 0 || t.Dims[j] > 1<<40 || elems > (1<<50)/t.Dims[j]) {
				d.fail("tensor %q has bad dimension %d", t.Name, t.Dims[j])
			}
			elems *= t.Dims[j]
		}
		t.Type = TensorType(d.u32("tensor type"))
		t.Offset = d.u64("tensor offset")
		if d.err != nil {
			return nil, fmt.Errorf("tensor info %d (%q): %w", i, t.Name, d.err)
		}
		size, err := t.Type.Size(elems)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		t.Size = size
		if t.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("%w: tensor %q offset %d is not a multiple of the alignment %d", ErrFormat, t.Name, t.Offset, f.Alignment)
		}
		if _, dup := f.tIndex[t.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate tensor name %q", ErrFormat, t.Name)
		}
		f.tIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	f.DataStart = align(d.off, f.Alignment)
	if header {
		if err := checkOverlap(f.Tensors); err != nil {
			return nil, err
		}
		return f, nil
	}
	if f.DataStart > uint64(len(data)) && len(f.Tensors) > 0 {
		return nil, fmt.Errorf("%w: data section starts at %d, past the end of the %d-byte file", ErrFormat, f.DataStart, len(data))
	}
	dataLen := uint64(0)
	if f.DataStart <= uint64(len(data)) {
		dataLen = uint64(len(data)) - f.DataStart
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset > dataLen || t.Size > dataLen-t.Offset {
			return nil, fmt.Errorf("%w: tensor %q (%d bytes at data offset %d) runs past the end of the file (%d data bytes)", ErrFormat, t.Name, t.Size, t.Offset, dataLen)
		}
	}
	if err := checkOverlap(f.Tensors); err != nil {
		return nil, err
	}
	f.data = data
	return f, nil
}

func checkOverlap(ts []TensorInfo) error {
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ts[idx[a]].Offset < ts[idx[b]].Offset })
	for k := 1; k < len(idx); k++ {
		p, q := &ts[idx[k-1]], &ts[idx[k]]
		if p.Offset+p.Size > q.Offset {
			return fmt.Errorf("%w: tensors %q and %q overlap", ErrFormat, p.Name, q.Name)
		}
	}
	return nil
}
