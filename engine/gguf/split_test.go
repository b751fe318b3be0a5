package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// splitSample writes a model of five tensors with distinct bytes and
// returns it parsed.
func splitSample(t testing.TB) *File {
	t.Helper()
	w := sampleWriter(t)
	for i, n := range []string{"c", "d", "e"} {
		data := make([]byte, 34*(i+1))
		for j := range data {
			data[j] = byte(j*7 + i)
		}
		w.AddTensor(n, 8, []uint64{uint64(32 * (i + 1))}, data)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSplitPath(t *testing.T) {
	tests := []struct {
		path      string
		prefix    string
		no, count int
		ok        bool
	}{
		{"/m/Model-Q4_K_M-00001-of-00003.gguf", "/m/Model-Q4_K_M", 0, 3, true},
		{"x-00003-of-00003.gguf", "x", 2, 3, true},
		{"x-00004-of-00003.gguf", "", 0, 0, false},
		{"x-00000-of-00003.gguf", "", 0, 0, false},
		{"x-0001-of-0003.gguf", "", 0, 0, false},
		{"model.gguf", "", 0, 0, false},
	}
	for _, tt := range tests {
		prefix, no, count, ok := ParseSplitPath(tt.path)
		if prefix != tt.prefix || no != tt.no || count != tt.count || ok != tt.ok {
			t.Errorf("ParseSplitPath(%q) = %q %d %d %v, want %q %d %d %v", tt.path, prefix, no, count, ok, tt.prefix, tt.no, tt.count, tt.ok)
		}
		if ok && SplitPath(prefix, no, count) != tt.path {
			t.Errorf("SplitPath(%q, %d, %d) = %q", prefix, no, count, SplitPath(prefix, no, count))
		}
	}
	if got := SplitPrefix("/o/m.gguf"); got != "/o/m" {
		t.Errorf("SplitPrefix = %q", got)
	}
	if got := SplitPrefix("/o/m-00002-of-00004.gguf"); got != "/o/m" {
		t.Errorf("SplitPrefix of a part = %q", got)
	}
}

func TestSplitRoundTrip(t *testing.T) {
	src := splitSample(t)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "m")
	paths, err := WriteSplit(src, prefix, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 || paths[1] != prefix+"-00002-of-00003.gguf" {
		t.Fatalf("paths %v", paths)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)%int(DefaultAlignment) != 0 {
			t.Errorf("%s is %d bytes, not padded to the alignment", p, len(b))
		}
	}
	// Any part names the whole model.
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Parts()) != 3 || f.Bytes() != nil {
			t.Fatalf("%s: %d parts", p, len(f.Parts()))
		}
		if len(f.Tensors) != len(src.Tensors) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(src.Tensors))
		}
		for i := range src.Tensors {
			want := &src.Tensors[i]
			got, ok := f.Tensor(want.Name)
			if !ok || !bytes.Equal(f.TensorData(got), src.TensorData(want)) {
				t.Fatalf("tensor %q differs after the split", want.Name)
			}
		}
		if v, _ := f.String("general.architecture"); v != "llama" {
			t.Errorf("metadata of part 1 not merged: %q", v)
		}
		no, count, tensors, ok, err := f.Split()
		if err != nil || !ok || no != 0 || count != 3 || tensors != len(src.Tensors) {
			t.Errorf("Split() = %d %d %d %v %v", no, count, tensors, ok, err)
		}
		if np := len(f.Parts()[1].KV); np != 3 {
			t.Errorf("part 2 has %d metadata entries, want the 3 split keys", np)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A single part opens alone with OpenPart.
	p, err := OpenPart(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	if p.Parts() != nil || len(p.Tensors) != 2 {
		t.Errorf("OpenPart: %d tensors, parts %v", len(p.Tensors), p.Parts())
	}
	p.Close()
	// A missing part is an error naming it.
	if err := os.Remove(paths[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(paths[0]); err == nil || !strings.Contains(err.Error(), "part 3 of 3") {
		t.Errorf("missing part: %v", err)
	}
	// A renamed part cannot find its siblings.
	other := filepath.Join(dir, "renamed.gguf")
	if err := os.Rename(paths[0], other); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other); !errors.Is(err, ErrFormat) {
		t.Errorf("renamed part: %v", err)
	}
}

func TestMergeRejects(t *testing.T) {
	src := splitSample(t)
	dir := t.TempDir()
	a, err := WriteSplit(src, filepath.Join(dir, "a"), 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := WriteSplit(src, filepath.Join(dir, "b"), 3)
	if err != nil {
		t.Fatal(err)
	}
	open := func(p string) *File {
		f, err := OpenPart(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	whole := open(filepath.Join(dir, "a-00001-of-00002.gguf"))
	tests := []struct {
		name  string
		parts []*File
	}{
		{"swapped", []*File{open(a[1]), open(a[0])}},
		{"other split", []*File{open(a[0]), open(b[1])}},
		{"duplicate", []*File{whole, whole}},
		{"not split", []*File{src}},
		{"none", nil},
	}
	for _, tt := range tests {
		if _, err := Merge(tt.parts); err == nil {
			t.Errorf("%s: merged", tt.name)
		}
	}
	if _, err := WriteSplit(src, filepath.Join(dir, "c"), len(src.Tensors)+1); err == nil {
		t.Error("split into more parts than tensors")
	}
}

func FuzzMerge(f *testing.F) {
	src := splitSample(f)
	dir := f.TempDir()
	paths, err := WriteSplit(src, filepath.Join(dir, "m"), 2)
	if err != nil {
		f.Fatal(err)
	}
	var parts [2][]byte
	for i, p := range paths {
		if parts[i], err = os.ReadFile(p); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(parts[0], parts[1])
	f.Fuzz(func(t *testing.T, a, b []byte) {
		pa, err := Parse(a)
		if err != nil {
			return
		}
		pb, err := Parse(b)
		if err != nil {
			return
		}
		m, err := Merge([]*File{pa, pb})
		if err != nil {
			return
		}
		for i := range m.Tensors {
			_ = m.TensorData(&m.Tensors[i])
		}
	})
}
