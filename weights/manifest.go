package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/ipfs/go-cid"
	"google.golang.org/protobuf/proto"

	"github.com/orbitswarm/orbit/engine/gguf"
	pb "github.com/orbitswarm/orbit/proto"
)

// ErrManifest is wrapped by errors about manifests that cannot be decoded or
// do not make sense.
var ErrManifest = errors.New("weights: bad manifest")

// manifestFormat is the schema version written in root manifests.
const manifestFormat = 1

// Limits on decoded manifests, so a hostile block cannot make us allocate
// or loop without bound (a block is at most 1 MiB anyway).
const (
	maxLayers    = 1 << 12
	maxTensors   = 1 << 16
	maxMetaDepth = 8
)

// Manifest is a decoded root manifest.
type Manifest struct {
	Architecture string
	Hyper        Hyper
	GGUFVersion  uint32
	Alignment    uint64
	ChunkSize    int
	// MetadataChunks hold the encoded GGUF metadata, MetadataSize bytes.
	MetadataChunks []cid.Cid
	MetadataSize   uint64
	Tensors        []Tensor   // non-block tensors, in file order
	Layers         []LayerRef // one per transformer block, in order
	TotalBytes     uint64     // sum of all tensor sizes
	TailPadding    uint64
	TensorOrder    []string // every tensor name, in the source file's order
	// Split describes the files of a model split into several GGUF files
	// (gguf-split), in order; nil for a model in one file.
	Split []SplitPart
}

// SplitPart describes one file of a split model.
type SplitPart struct {
	Tensors int // the part holds the next Tensors names of TensorOrder
	// KV is the part's own metadata, for every part but the first (whose
	// metadata is the model's).
	KV          []gguf.KV
	TailPadding uint64 // zero bytes after the part's last tensor
}

// Hyper holds a model's hyper-parameters (0 when the metadata lacks one).
type Hyper struct {
	Blocks, Dim, Hidden, Heads, KVHeads, Context, Vocab int
}

// LayerRef points at the layer manifest of block Index.
type LayerRef struct {
	Index int
	CID   cid.Cid
	Bytes uint64
}

// LayerManifest lists the tensors of one transformer block.
type LayerManifest struct {
	Index     int
	ChunkSize int
	Tensors   []Tensor
}

// Tensor describes a tensor and the chunks holding its bytes.
type Tensor struct {
	Name   string
	Type   gguf.TensorType
	Dims   []uint64
	Offset uint64 // in the source file's data section
	Size   uint64
	Chunks []cid.Cid
}

// ChunkLen is the length of chunk i of a tensor cut into chunks of size cs.
func (t *Tensor) ChunkLen(i, cs int) int {
	start := uint64(i) * uint64(cs)
	return int(min(uint64(cs), t.Size-start))
}

func marshal(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("weights: marshal: %w", err)
	}
	return b, nil
}

// Encode returns the manifest's deterministic encoding (its block bytes).
func (m *Manifest) Encode() ([]byte, error) {
	p := &pb.Manifest{
		Format:       manifestFormat,
		Architecture: m.Architecture,
		Hyper: &pb.Hyper{
			BlockCount: uint32(m.Hyper.Blocks), EmbeddingLength: uint32(m.Hyper.Dim),
			FeedForwardLength: uint32(m.Hyper.Hidden), HeadCount: uint32(m.Hyper.Heads),
			HeadCountKv: uint32(m.Hyper.KVHeads), ContextLength: uint32(m.Hyper.Context),
			VocabSize: uint32(m.Hyper.Vocab),
		},
		GgufVersion:    m.GGUFVersion,
		Alignment:      m.Alignment,
		ChunkSize:      uint32(m.ChunkSize),
		MetadataChunks: cidBytes(m.MetadataChunks),
		MetadataSize:   m.MetadataSize,
		Tensors:        tensorsToPB(m.Tensors),
		TotalBytes:     m.TotalBytes,
		TailPadding:    m.TailPadding,
		TensorOrder:    m.TensorOrder,
	}
	for _, l := range m.Layers {
		p.Layers = append(p.Layers, &pb.LayerRef{Index: uint32(l.Index), Cid: l.CID.Bytes(), Bytes: l.Bytes})
	}
	for i, sp := range m.Split {
		e := &pb.SplitPart{Tensors: uint32(sp.Tensors), TailPadding: sp.TailPadding}
		if i > 0 {
			b, err := encodeMetadata(sp.KV)
			if err != nil {
				return nil, err
			}
			e.Metadata = b
		}
		p.Split = append(p.Split, e)
	}
	return marshal(p)
}

// Encode returns the layer manifest's deterministic encoding.
func (l *LayerManifest) Encode() ([]byte, error) {
	return marshal(&pb.LayerManifest{Index: uint32(l.Index), ChunkSize: uint32(l.ChunkSize), Tensors: tensorsToPB(l.Tensors)})
}

func cidBytes(cs []cid.Cid) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = c.Bytes()
	}
	return out
}

func tensorsToPB(ts []Tensor) []*pb.TensorEntry {
	out := make([]*pb.TensorEntry, len(ts))
	for i := range ts {
		t := &ts[i]
		out[i] = &pb.TensorEntry{Name: t.Name, Type: uint32(t.Type), Dims: t.Dims, Offset: t.Offset, Size: t.Size, Chunks: cidBytes(t.Chunks)}
	}
	return out
}

// DecodeManifest decodes and checks a root manifest block.
func DecodeManifest(b []byte) (*Manifest, error) {
	var p pb.Manifest
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if p.Format != manifestFormat {
		return nil, fmt.Errorf("%w: format %d, want %d", ErrManifest, p.Format, manifestFormat)
	}
	if p.ChunkSize == 0 || p.ChunkSize > MaxBlockSize {
		return nil, fmt.Errorf("%w: chunk size %d", ErrManifest, p.ChunkSize)
	}
	if p.Alignment == 0 || p.Alignment > 1<<20 || p.Alignment&(p.Alignment-1) != 0 {
		return nil, fmt.Errorf("%w: alignment %d", ErrManifest, p.Alignment)
	}
	if p.GgufVersion != 2 && p.GgufVersion != 3 {
		return nil, fmt.Errorf("%w: GGUF version %d", ErrManifest, p.GgufVersion)
	}
	if len(p.Layers) > maxLayers || len(p.TensorOrder) > maxTensors {
		return nil, fmt.Errorf("%w: %d layers, %d tensors", ErrManifest, len(p.Layers), len(p.TensorOrder))
	}
	m := &Manifest{
		Architecture: p.Architecture,
		GGUFVersion:  p.GgufVersion,
		Alignment:    p.Alignment,
		ChunkSize:    int(p.ChunkSize),
		MetadataSize: p.MetadataSize,
		TotalBytes:   p.TotalBytes,
		TailPadding:  p.TailPadding,
		TensorOrder:  p.TensorOrder,
	}
	if h := p.Hyper; h != nil {
		m.Hyper = Hyper{Blocks: int(h.BlockCount), Dim: int(h.EmbeddingLength), Hidden: int(h.FeedForwardLength),
			Heads: int(h.HeadCount), KVHeads: int(h.HeadCountKv), Context: int(h.ContextLength), Vocab: int(h.VocabSize)}
	}
	if p.TailPadding >= p.Alignment {
		return nil, fmt.Errorf("%w: tail padding %d not below alignment %d", ErrManifest, p.TailPadding, p.Alignment)
	}
	var err error
	if m.MetadataChunks, err = decodeCIDs(p.MetadataChunks); err != nil {
		return nil, fmt.Errorf("%w: metadata: %w", ErrManifest, err)
	}
	if want := ceilDiv(p.MetadataSize, uint64(p.ChunkSize)); uint64(len(m.MetadataChunks)) != want {
		return nil, fmt.Errorf("%w: %d metadata chunks for %d bytes", ErrManifest, len(m.MetadataChunks), p.MetadataSize)
	}
	if m.Tensors, err = decodeTensors(p.Tensors, m.ChunkSize); err != nil {
		return nil, err
	}
	for i, l := range p.Layers {
		if l.Index != uint32(i) {
			return nil, fmt.Errorf("%w: layer %d has index %d", ErrManifest, i, l.Index)
		}
		c, err := parseCID(l.Cid)
		if err != nil {
			return nil, fmt.Errorf("%w: layer %d: %w", ErrManifest, i, err)
		}
		m.Layers = append(m.Layers, LayerRef{Index: i, CID: c, Bytes: l.Bytes})
	}
	seen := make(map[string]bool, len(m.TensorOrder))
	for _, n := range m.TensorOrder {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("%w: tensor order names %q twice or empty", ErrManifest, n)
		}
		seen[n] = true
	}
	for i := range m.Tensors {
		if !seen[m.Tensors[i].Name] {
			return nil, fmt.Errorf("%w: tensor %q missing from the tensor order", ErrManifest, m.Tensors[i].Name)
		}
	}
	if m.Split, err = decodeSplit(&p); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeLayer decodes and checks a layer manifest block.
func DecodeLayer(b []byte) (*LayerManifest, error) {
	var p pb.LayerManifest
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: layer: %v", ErrManifest, err)
	}
	if p.ChunkSize == 0 || p.ChunkSize > MaxBlockSize {
		return nil, fmt.Errorf("%w: layer chunk size %d", ErrManifest, p.ChunkSize)
	}
	if p.Index >= maxLayers {
		return nil, fmt.Errorf("%w: layer index %d", ErrManifest, p.Index)
	}
	ts, err := decodeTensors(p.Tensors, int(p.ChunkSize))
	if err != nil {
		return nil, err
	}
	return &LayerManifest{Index: int(p.Index), ChunkSize: int(p.ChunkSize), Tensors: ts}, nil
}

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

func decodeCIDs(bs [][]byte) ([]cid.Cid, error) {
	out := make([]cid.Cid, len(bs))
	for i, b := range bs {
		c, err := parseCID(b)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func decodeTensors(ps []*pb.TensorEntry, chunkSize int) ([]Tensor, error) {
	if len(ps) > maxTensors {
		return nil, fmt.Errorf("%w: %d tensors", ErrManifest, len(ps))
	}
	out := make([]Tensor, len(ps))
	names := make(map[string]bool, len(ps))
	for i, p := range ps {
		t := Tensor{Name: p.Name, Type: gguf.TensorType(p.Type), Dims: p.Dims, Offset: p.Offset, Size: p.Size}
		if t.Name == "" || names[t.Name] {
			return nil, fmt.Errorf("%w: tensor %d: empty or duplicate name %q", ErrManifest, i, t.Name)
		}
		names[t.Name] = true
		if len(t.Dims) == 0 || len(t.Dims) > gguf.MaxDims {
			return nil, fmt.Errorf("%w: tensor %q has %d dimensions", ErrManifest, t.Name, len(t.Dims))
		}
		elems := uint64(1)
		for _, d := range t.Dims {
			if d == 0 || d > 1<<40 || elems > (1<<50)/d {
				return nil, fmt.Errorf("%w: tensor %q has bad dimensions %v", ErrManifest, t.Name, t.Dims)
			}
			elems *= d
		}
		size, err := t.Type.Size(elems)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %w", ErrManifest, t.Name, err)
		}
		if size != t.Size {
			return nil, fmt.Errorf("%w: tensor %q is %d bytes, its shape needs %d", ErrManifest, t.Name, t.Size, size)
		}
		if t.Offset > math.MaxInt64 {
			return nil, fmt.Errorf("%w: tensor %q offset %d", ErrManifest, t.Name, t.Offset)
		}
		if want := ceilDiv(t.Size, uint64(chunkSize)); uint64(len(p.Chunks)) != want {
			return nil, fmt.Errorf("%w: tensor %q has %d chunks, %d bytes need %d", ErrManifest, t.Name, len(p.Chunks), t.Size, want)
		}
		if t.Chunks, err = decodeCIDs(p.Chunks); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %w", ErrManifest, t.Name, err)
		}
		out[i] = t
	}
	return out, nil
}

// encodeMetadata converts GGUF metadata into its deterministic encoding.
func encodeMetadata(kvs []gguf.KV) ([]byte, error) {
	p := &pb.ModelMetadata{Kv: make([]*pb.MetaKV, len(kvs))}
	for i, kv := range kvs {
		v, err := valueToPB(kv.Value, 0)
		if err != nil {
			return nil, fmt.Errorf("weights: metadata %q: %w", kv.Key, err)
		}
		p.Kv[i] = &pb.MetaKV{Key: kv.Key, Value: v}
	}
	return marshal(p)
}

// DecodeMetadata decodes the GGUF metadata of a model from its encoding.
func DecodeMetadata(b []byte) ([]gguf.KV, error) {
	var p pb.ModelMetadata
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrManifest, err)
	}
	out := make([]gguf.KV, len(p.Kv))
	seen := make(map[string]bool, len(p.Kv))
	for i, kv := range p.Kv {
		if seen[kv.Key] {
			return nil, fmt.Errorf("%w: metadata key %q twice", ErrManifest, kv.Key)
		}
		seen[kv.Key] = true
		v, err := valueFromPB(kv.Value, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: metadata %q: %w", ErrManifest, kv.Key, err)
		}
		out[i] = gguf.KV{Key: kv.Key, Value: v}
	}
	return out, nil
}

func valueToPB(v gguf.Value, depth int) (*pb.MetaValue, error) {
	if depth > maxMetaDepth {
		return nil, errors.New("arrays nested too deep")
	}
	p := &pb.MetaValue{Type: uint32(v.Type), ArrayType: uint32(v.ArrayType)}
	le := binary.LittleEndian
	var b []byte
	switch x := v.Any().(type) {
	case uint8:
		b = []byte{x}
	case int8:
		b = []byte{byte(x)}
	case bool:
		b = []byte{boolByte(x)}
	case uint16:
		b = le.AppendUint16(nil, x)
	case int16:
		b = le.AppendUint16(nil, uint16(x))
	case uint32:
		b = le.AppendUint32(nil, x)
	case int32:
		b = le.AppendUint32(nil, uint32(x))
	case float32:
		b = le.AppendUint32(nil, math.Float32bits(x))
	case uint64:
		b = le.AppendUint64(nil, x)
	case int64:
		b = le.AppendUint64(nil, uint64(x))
	case float64:
		b = le.AppendUint64(nil, math.Float64bits(x))
	case string:
		p.Str = []byte(x)
	case []uint8:
		b = append([]byte{}, x...)
	case []int8:
		b = appendEach(x, func(b []byte, e int8) []byte { return append(b, byte(e)) })
	case []bool:
		b = appendEach(x, func(b []byte, e bool) []byte { return append(b, boolByte(e)) })
	case []uint16:
		b = appendEach(x, le.AppendUint16)
	case []int16:
		b = appendEach(x, func(b []byte, e int16) []byte { return le.AppendUint16(b, uint16(e)) })
	case []uint32:
		b = appendEach(x, le.AppendUint32)
	case []int32:
		b = appendEach(x, func(b []byte, e int32) []byte { return le.AppendUint32(b, uint32(e)) })
	case []float32:
		b = appendEach(x, func(b []byte, e float32) []byte { return le.AppendUint32(b, math.Float32bits(e)) })
	case []uint64:
		b = appendEach(x, le.AppendUint64)
	case []int64:
		b = appendEach(x, func(b []byte, e int64) []byte { return le.AppendUint64(b, uint64(e)) })
	case []float64:
		b = appendEach(x, func(b []byte, e float64) []byte { return le.AppendUint64(b, math.Float64bits(e)) })
	case []string:
		p.Strs = make([][]byte, len(x))
		for i, s := range x {
			p.Strs[i] = []byte(s)
		}
	case []gguf.Value:
		p.Items = make([]*pb.MetaValue, len(x))
		for i, e := range x {
			ev, err := valueToPB(e, depth+1)
			if err != nil {
				return nil, err
			}
			p.Items[i] = ev
		}
	default:
		return nil, fmt.Errorf("cannot encode %s value holding %T", v.Type, x)
	}
	p.Data = b
	return p, nil
}

func boolByte(x bool) byte {
	if x {
		return 1
	}
	return 0
}

func appendEach[T any](s []T, app func([]byte, T) []byte) []byte {
	b := make([]byte, 0, len(s)*8)
	for _, e := range s {
		b = app(b, e)
	}
	return b
}

// width is the encoded size of a numeric or bool GGUF type, 0 otherwise.
func width(t gguf.ValueType) int {
	switch t {
	case gguf.TypeUint8, gguf.TypeInt8, gguf.TypeBool:
		return 1
	case gguf.TypeUint16, gguf.TypeInt16:
		return 2
	case gguf.TypeUint32, gguf.TypeInt32, gguf.TypeFloat32:
		return 4
	case gguf.TypeUint64, gguf.TypeInt64, gguf.TypeFloat64:
		return 8
	}
	return 0
}

func valueFromPB(p *pb.MetaValue, depth int) (gguf.Value, error) {
	if p == nil {
		return gguf.Value{}, errors.New("missing value")
	}
	if depth > maxMetaDepth {
		return gguf.Value{}, errors.New("arrays nested too deep")
	}
	t := gguf.ValueType(p.Type)
	if t == gguf.TypeArray {
		return arrayFromPB(p, depth)
	}
	if p.ArrayType != 0 || len(p.Strs) > 0 || len(p.Items) > 0 {
		return gguf.Value{}, fmt.Errorf("scalar %s has array fields", t)
	}
	if t == gguf.TypeString {
		if len(p.Data) > 0 {
			return gguf.Value{}, errors.New("string value has numeric data")
		}
		return gguf.String(string(p.Str)), nil
	}
	w := width(t)
	if w == 0 {
		return gguf.Value{}, fmt.Errorf("unknown value type %d", p.Type)
	}
	if len(p.Data) != w || len(p.Str) > 0 {
		return gguf.Value{}, fmt.Errorf("%s value holds %d bytes", t, len(p.Data))
	}
	le := binary.LittleEndian
	d := p.Data
	switch t {
	case gguf.TypeUint8:
		return gguf.Uint8(d[0]), nil
	case gguf.TypeInt8:
		return gguf.Int8(int8(d[0])), nil
	case gguf.TypeBool:
		if d[0] > 1 {
			return gguf.Value{}, fmt.Errorf("bool value %d", d[0])
		}
		return gguf.Bool(d[0] == 1), nil
	case gguf.TypeUint16:
		return gguf.Uint16(le.Uint16(d)), nil
	case gguf.TypeInt16:
		return gguf.Int16(int16(le.Uint16(d))), nil
	case gguf.TypeUint32:
		return gguf.Uint32(le.Uint32(d)), nil
	case gguf.TypeInt32:
		return gguf.Int32(int32(le.Uint32(d))), nil
	case gguf.TypeFloat32:
		return gguf.Float32(math.Float32frombits(le.Uint32(d))), nil
	case gguf.TypeUint64:
		return gguf.Uint64(le.Uint64(d)), nil
	case gguf.TypeInt64:
		return gguf.Int64(int64(le.Uint64(d))), nil
	default: // TypeFloat64
		return gguf.Float64(math.Float64frombits(le.Uint64(d))), nil
	}
}

func splitEach[T any](d []byte, w int, conv func([]byte) T) []T {
	out := make([]T, len(d)/w)
	for i := range out {
		out[i] = conv(d[i*w : (i+1)*w])
	}
	return out
}

func arrayFromPB(p *pb.MetaValue, depth int) (gguf.Value, error) {
	et := gguf.ValueType(p.ArrayType)
	if len(p.Str) > 0 {
		return gguf.Value{}, errors.New("array has a string scalar")
	}
	var s any
	switch et {
	case gguf.TypeString:
		if len(p.Data) > 0 || len(p.Items) > 0 {
			return gguf.Value{}, errors.New("string array has other fields")
		}
		ss := make([]string, len(p.Strs))
		for i, b := range p.Strs {
			ss[i] = string(b)
		}
		s = ss
	case gguf.TypeArray:
		if len(p.Data) > 0 || len(p.Strs) > 0 {
			return gguf.Value{}, errors.New("array of arrays has other fields")
		}
		vs := make([]gguf.Value, len(p.Items))
		for i, it := range p.Items {
			v, err := valueFromPB(it, depth+1)
			if err != nil {
				return gguf.Value{}, err
			}
			if v.Type != gguf.TypeArray {
				return gguf.Value{}, fmt.Errorf("array of arrays holds a %s", v.Type)
			}
			vs[i] = v
		}
		s = vs
	default:
		w := width(et)
		if w == 0 {
			return gguf.Value{}, fmt.Errorf("unknown array element type %d", p.ArrayType)
		}
		if len(p.Strs) > 0 || len(p.Items) > 0 || len(p.Data)%w != 0 {
			return gguf.Value{}, fmt.Errorf("%s array of %d bytes", et, len(p.Data))
		}
		le := binary.LittleEndian
		d := p.Data
		switch et {
		case gguf.TypeUint8:
			s = append([]uint8{}, d...)
		case gguf.TypeInt8:
			s = splitEach(d, 1, func(b []byte) int8 { return int8(b[0]) })
		case gguf.TypeBool:
			for _, x := range d {
				if x > 1 {
					return gguf.Value{}, fmt.Errorf("bool value %d", x)
				}
			}
			s = splitEach(d, 1, func(b []byte) bool { return b[0] == 1 })
		case gguf.TypeUint16:
			s = splitEach(d, 2, le.Uint16)
		case gguf.TypeInt16:
			s = splitEach(d, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })
		case gguf.TypeUint32:
			s = splitEach(d, 4, le.Uint32)
		case gguf.TypeInt32:
			s = splitEach(d, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })
		case gguf.TypeFloat32:
			s = splitEach(d, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
		case gguf.TypeUint64:
			s = splitEach(d, 8, le.Uint64)
		case gguf.TypeInt64:
			s = splitEach(d, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })
		case gguf.TypeFloat64:
			s = splitEach(d, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
		}
	}
	v, err := gguf.Array(s)
	if err != nil {
		return gguf.Value{}, err
	}
	return v, nil
}

// decodeSplit decodes and checks the split parts of a root manifest.
func decodeSplit(p *pb.Manifest) ([]SplitPart, error) {
	if len(p.Split) == 0 {
		return nil, nil
	}
	if len(p.Split) > gguf.MaxSplit || p.TailPadding != 0 {
		return nil, fmt.Errorf("%w: %d split parts, tail padding %d", ErrManifest, len(p.Split), p.TailPadding)
	}
	out := make([]SplitPart, len(p.Split))
	total := 0
	for i, e := range p.Split {
		sp := SplitPart{Tensors: int(e.Tensors), TailPadding: e.TailPadding}
		total += sp.Tensors
		if e.Tensors > maxTensors || total > len(p.TensorOrder) {
			return nil, fmt.Errorf("%w: split part %d holds %d tensors, past the %d of the model", ErrManifest, i+1, e.Tensors, len(p.TensorOrder))
		}
		align := p.Alignment
		if i == 0 {
			if len(e.Metadata) > 0 {
				return nil, fmt.Errorf("%w: split part 1 has metadata of its own", ErrManifest)
			}
		} else {
			kvs, err := DecodeMetadata(e.Metadata)
			if err != nil {
				return nil, fmt.Errorf("split part %d: %w", i+1, err)
			}
			sp.KV = kvs
			align = gguf.DefaultAlignment
			for _, kv := range kvs {
				if kv.Key == gguf.KeyAlignment {
					a, ok := kv.Value.Int()
					if !ok || a <= 0 || a > 1<<20 || a&(a-1) != 0 {
						return nil, fmt.Errorf("%w: split part %d alignment %v", ErrManifest, i+1, kv.Value.Any())
					}
					align = uint64(a)
				}
			}
		}
		if sp.TailPadding >= align {
			return nil, fmt.Errorf("%w: split part %d tail padding %d not below alignment %d", ErrManifest, i+1, sp.TailPadding, align)
		}
		out[i] = sp
	}
	if total != len(p.TensorOrder) {
		return nil, fmt.Errorf("%w: split parts hold %d tensors, the model %d", ErrManifest, total, len(p.TensorOrder))
	}
	return out, nil
}
