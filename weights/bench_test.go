package weights

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkSHA256Chunk hashes one full chunk: the cost of verifying a
// block (crypto/sha256 uses SHA-NI when the CPU has it).
func BenchmarkSHA256Chunk(b *testing.B) {
	data := make([]byte, ChunkSize)
	_, _ = rand.Read(data)
	b.SetBytes(ChunkSize)
	for b.Loop() {
		_ = SumCID(data)
	}
}

// freshStore opens an empty store in a new directory under root.
func freshStore(b *testing.B, root string) *Store {
	dir, err := os.MkdirTemp(root, "store")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir, quiet)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkImport imports a 15 MB llama-shaped model into an empty store:
// hashing, chunk files written with fsync, manifests.
func BenchmarkImport(b *testing.B) {
	f := testModel(b)
	root := b.TempDir()
	b.SetBytes(int64(len(f.Bytes())))
	for b.Loop() {
		s := freshStore(b, root)
		if _, err := s.Import(context.Background(), f, ImportOptions{Name: "m"}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = os.RemoveAll(s.Dir())
		b.StartTimer()
	}
}

// BenchmarkFetch fetches the whole 15 MB model over loopback TCP from one
// and from two providers, verifying and storing every chunk.
func BenchmarkFetch(b *testing.B) {
	f := testModel(b)
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
			var peers []peer.AddrInfo
			var p *provider
			for range n {
				p = newProvider(b, f, nil)
				peers = append(peers, addrInfo(p.h))
			}
			h := newHost(b)
			root := b.TempDir()
			b.SetBytes(uniqueBytes(b, p.store.Store, p.root))
			for b.Loop() {
				s := freshStore(b, root)
				fe := newFetcher(s, h, FetchOptions{Logger: quiet, Peers: peers})
				if _, err := fe.Fetch(context.Background(), p.root, Want{All: true}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = os.RemoveAll(s.Dir())
				b.StartTimer()
			}
		})
	}
}
