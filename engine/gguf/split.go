package gguf

// Models split into several files, as llama.cpp's gguf-split writes them.
//
// Part i (0-based) of n is named PREFIX-%05d-of-%05d.gguf with i+1 and n
// (Model-Q4_K_M-00001-of-00003.gguf). Every part is a complete GGUF file
// holding some of the tensors, in order, with tensor offsets relative to its
// own data section; the first part carries the model's metadata, the others
// only the split keys. Every part has the keys split.no (uint16, i),
// split.count (uint16, n) and split.tensors.count (int32, the model's
// tensors in all parts).

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/orbitswarm/orbit/internal/atomicfile"
)

// Metadata keys of a split model.
const (
	KeySplitNo      = "split.no"
	KeySplitCount   = "split.count"
	KeySplitTensors = "split.tensors.count"
)

// MaxSplit is the most parts a split model may have (the file name holds
// five digits).
const MaxSplit = 99999

// IsSplitKey reports whether key is one of the split keys, which describe
// a file of a split model rather than the model.
func IsSplitKey(key string) bool {
	return key == KeySplitNo || key == KeySplitCount || key == KeySplitTensors
}

// SplitPath returns the path of part no (0-based) of count parts of the
// model whose parts are named after prefix: PREFIX-0000(no+1)-of-0000count.gguf.
func SplitPath(prefix string, no, count int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, no+1, count)
}

var splitName = regexp.MustCompile(`^(.+)-([0-9]{5})-of-([0-9]{5})\.gguf$`)

// ParseSplitPath is the inverse of SplitPath: ok is false when path is not
// named as a part (or names part 0, or a part past the count).
func ParseSplitPath(path string) (prefix string, no, count int, ok bool) {
	m := splitName.FindStringSubmatch(path)
	if m == nil {
		return "", 0, 0, false
	}
	n, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	if n < 1 || n > c {
		return "", 0, 0, false
	}
	return m[1], n - 1, c, true
}

// Split describes the file f as a part of a split model: its number
// (0-based), the number of parts and the model's tensor count; ok is false
// for a file without split.count. A merged model (Open of a part) reports
// its first part's keys.
func (f *File) Split() (no, count, tensors int, ok bool, err error) {
	cv, ok := f.Get(KeySplitCount)
	if !ok {
		return 0, 0, 0, false, nil
	}
	get := func(key string, v Value, have bool) (int, error) {
		if !have {
			return 0, fmt.Errorf("%w: %s without %s", ErrFormat, KeySplitCount, key)
		}
		x, isInt := v.Int()
		if !isInt || x < 0 || x > 1<<31-1 {
			return 0, fmt.Errorf("%w: %s is %v, want a small non-negative integer", ErrFormat, key, v.Any())
		}
		return int(x), nil
	}
	if count, err = get(KeySplitCount, cv, true); err != nil {
		return 0, 0, 0, false, err
	}
	nv, have := f.Get(KeySplitNo)
	if no, err = get(KeySplitNo, nv, have); err != nil {
		return 0, 0, 0, false, err
	}
	tv, have := f.Get(KeySplitTensors)
	if tensors, err = get(KeySplitTensors, tv, have); err != nil {
		return 0, 0, 0, false, err
	}
	if count < 1 || count > MaxSplit || no >= count {
		return 0, 0, 0, false, fmt.Errorf("%w: part %s=%d of %s=%d", ErrFormat, KeySplitNo, no, KeySplitCount, count)
	}
	return no, count, tensors, true, nil
}

// Parts returns the parts of a model opened from split files, in order
// (each a File of its own: its metadata, tensors and bytes); nil for a
// model in one file.
func (f *File) Parts() []*File { return f.parts }

// Open maps the GGUF file at path read-only and parses it. When the file
// is a part of a split model (split.count above 1), Open maps every part,
// found by name beside it (any part names the whole model), and returns
// them merged: the first part's metadata and every part's tensors, each
// tensor's data read from its own part. Close releases every part.
func Open(path string) (*File, error) {
	f, err := OpenPart(path)
	if err != nil {
		return nil, err
	}
	no, count, _, ok, err := f.Split()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !ok || count == 1 {
		return f, nil
	}
	prefix, pno, pcount, named := ParseSplitPath(path)
	if !named || pno != no || pcount != count {
		f.Close()
		return nil, fmt.Errorf("%w: %s is part %d of a model split in %d files, but it is not named %s, so the other parts cannot be found",
			ErrFormat, path, no+1, count, filepath.Base(SplitPath("NAME", no, count)))
	}
	parts := make([]*File, count)
	parts[no] = f
	closeAll := func() {
		for _, p := range parts {
			if p != nil {
				p.Close()
			}
		}
	}
	for i := range parts {
		if parts[i] != nil {
			continue
		}
		if parts[i], err = OpenPart(SplitPath(prefix, i, count)); err != nil {
			closeAll()
			return nil, fmt.Errorf("gguf: part %d of %d of %s: %w", i+1, count, path, err)
		}
	}
	m, err := Merge(parts)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Merge joins the parts of a split model, in order, into one File (see
// Open); it checks that they belong together. The File aliases the parts,
// and its Close closes them.
func Merge(parts []*File) (*File, error) {
	if len(parts) == 0 {
		return nil, errors.New("gguf: merge of no parts")
	}
	first := parts[0]
	m := &File{Version: first.Version, KV: first.KV, kvIndex: first.kvIndex, Alignment: first.Alignment,
		DataStart: first.DataStart, parts: parts, tIndex: map[string]int{}}
	want := 0
	for i, p := range parts {
		no, count, tensors, ok, err := p.Split()
		switch {
		case err != nil:
			return nil, fmt.Errorf("part %d: %w", i+1, err)
		case !ok:
			return nil, fmt.Errorf("%w: part %d has no %s", ErrFormat, i+1, KeySplitCount)
		case no != i || count != len(parts):
			return nil, fmt.Errorf("%w: part %d says it is part %d of %d, want %d of %d", ErrFormat, i+1, no+1, count, i+1, len(parts))
		case i > 0 && tensors != want:
			return nil, fmt.Errorf("%w: part %d says the model has %d tensors, part 1 says %d", ErrFormat, i+1, tensors, want)
		case p.Version != first.Version:
			return nil, fmt.Errorf("%w: part %d is GGUF v%d, part 1 v%d", ErrFormat, i+1, p.Version, first.Version)
		case p.parts != nil:
			return nil, fmt.Errorf("gguf: part %d is itself merged", i+1)
		}
		want = tensors
		for j := range p.Tensors {
			t := p.Tensors[j]
			if _, dup := m.tIndex[t.Name]; dup {
				return nil, fmt.Errorf("%w: tensor %q is in two parts", ErrFormat, t.Name)
			}
			m.tIndex[t.Name] = len(m.Tensors)
			m.Tensors = append(m.Tensors, t)
			m.tPart = append(m.tPart, i)
		}
	}
	if len(m.Tensors) != want {
		return nil, fmt.Errorf("%w: the parts hold %d tensors, %s says %d", ErrFormat, len(m.Tensors), KeySplitTensors, want)
	}
	return m, nil
}

// SplitKeys returns the metadata entries gguf-split writes into part no of
// count of a model with tensors tensors.
func SplitKeys(no, count, tensors int) []KV {
	return []KV{
		{Key: KeySplitNo, Value: Uint16(uint16(no))},
		{Key: KeySplitCount, Value: Uint16(uint16(count))},
		{Key: KeySplitTensors, Value: Int32(int32(tensors))},
	}
}

// WriteSplit writes the model f as count parts named after prefix (see
// SplitPath), as gguf-split does: the tensors cut in count runs of nearly
// equal length, the first part with f's metadata, every part with the
// split keys and padded with zeros to the alignment at its end. It returns
// the paths written. Each part is written atomically.
func WriteSplit(f *File, prefix string, count int) ([]string, error) {
	if count < 1 || count > MaxSplit || count > max(1, len(f.Tensors)) {
		return nil, fmt.Errorf("gguf: cannot split %d tensors in %d parts", len(f.Tensors), count)
	}
	var paths []string
	n := len(f.Tensors)
	for i := range count {
		w := NewWriter()
		w.Version = f.Version
		if i == 0 {
			for _, kv := range f.KV {
				if !IsSplitKey(kv.Key) {
					w.Set(kv.Key, kv.Value)
				}
			}
		}
		for _, kv := range SplitKeys(i, count, n) {
			w.Set(kv.Key, kv.Value)
		}
		var end uint64
		for j := i * n / count; j < (i+1)*n/count; j++ {
			t := &f.Tensors[j]
			w.AddTensor(t.Name, t.Type, t.Dims, f.TensorData(t))
			end = align(end, w.Alignment) + t.Size
		}
		tail := align(end, w.Alignment) - end
		path := SplitPath(prefix, i, count)
		if err := writeFileAtomic(path, func(out io.Writer) error {
			if _, err := w.WriteTo(out); err != nil {
				return err
			}
			_, err := out.Write(make([]byte, tail))
			return err
		}); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// SplitPrefix returns the prefix of the parts to write for the output path
// out: out itself without ".gguf", or the prefix of a part's name.
func SplitPrefix(out string) string {
	if prefix, _, _, ok := ParseSplitPath(out); ok {
		return prefix
	}
	return strings.TrimSuffix(out, ".gguf")
}

// writeFileAtomic writes path (mode 0644) through write, atomically.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, write); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}
