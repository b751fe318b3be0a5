package platform

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMap(t *testing.T) {
	for _, size := range []int{0, 1, 4095, 4096, 1 << 20} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(i*7 + i>>8)
		}
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := Map(f, size)
		// The mapping outlives the file.
		f.Close()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("size %d: mapped bytes differ from the file", size)
		}
		// Dropped pages read back from the file.
		Drop(data, 1, size-1)
		Drop(data, 0, size)
		if !bytes.Equal(data, want) {
			t.Errorf("size %d: bytes differ from the file after Drop", size)
		}
		if err := Unmap(data); err != nil {
			t.Errorf("size %d: unmap: %v", size, err)
		}
	}
}

func TestDiskFree(t *testing.T) {
	free, err := DiskFree(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if free == 0 {
		t.Error("no free space reported on the test's temporary directory")
	}
	if _, err := DiskFree(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("no error for a missing directory")
	}
}

func TestUserSignal(t *testing.T) {
	sig, ok := UserSignal()
	if ok != (sig != nil) {
		t.Errorf("UserSignal() = %v, %v", sig, ok)
	}
}
