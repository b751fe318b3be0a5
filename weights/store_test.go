package weights

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/sharding"
)

const modelPath = "../../shared/models/aidreams260K.gguf"

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// quiet discards the logs of stores and fetchers under test.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openModel(t testing.TB) *gguf.File {
	t.Helper()
	f, err := gguf.Open(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// synthModel builds a llama-shaped GGUF with random f32 weights: layers
// blocks of width dim and feed-forward width hidden, in memory.
func synthModel(t testing.TB, layers, dim, hidden, vocab int, seed uint64) *gguf.File {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	w := gguf.NewWriter()
	w.Set("general.architecture", gguf.String("llama"))
	w.Set("general.name", gguf.String(fmt.Sprintf("synth-%d", seed)))
	w.Set("llama.block_count", gguf.Uint32(uint32(layers)))
	w.Set("llama.embedding_length", gguf.Uint32(uint32(dim)))
	w.Set("llama.feed_forward_length", gguf.Uint32(uint32(hidden)))
	w.Set("llama.attention.head_count", gguf.Uint32(8))
	w.Set("llama.context_length", gguf.Uint32(256))
	w.Set("llama.attention.layer_norm_rms_epsilon", gguf.Float32(1e-5))
	toks := make([]string, vocab)
	for i := range toks {
		toks[i] = fmt.Sprintf("t%d", i)
	}
	w.Set("tokenizer.ggml.tokens", gguf.MustArray(toks))
	w.Set("tokenizer.ggml.scores", gguf.MustArray(make([]float32, vocab)))
	add := func(name string, dims ...uint64) {
		n := uint64(1)
		for _, d := range dims {
			n *= d
		}
		b := make([]byte, 4*n)
		for i := uint64(0); i < n; i++ {
			v := float32(r.NormFloat64() * 0.05)
			if len(dims) == 1 {
				v = 1
			}
			putF32(b[4*i:], v)
		}
		w.AddTensor(name, 0, dims, b)
	}
	d, h := uint64(dim), uint64(hidden)
	add("token_embd.weight", d, uint64(vocab))
	for l := range layers {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", d)
		add(p+"attn_q.weight", d, d)
		add(p+"attn_k.weight", d, d)
		add(p+"attn_v.weight", d, d)
		add(p+"attn_output.weight", d, d)
		add(p+"ffn_norm.weight", d)
		add(p+"ffn_gate.weight", d, h)
		add(p+"ffn_up.weight", d, h)
		add(p+"ffn_down.weight", h, d)
	}
	add("output_norm.weight", d)
	add("output.weight", d, uint64(vocab))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

func importFile(t testing.TB, s *Store, f *gguf.File, name string) cid.Cid {
	t.Helper()
	root, err := s.Import(context.Background(), f, ImportOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestImportDeterministic(t *testing.T) {
	tests := []struct {
		name string
		file func(t testing.TB) *gguf.File
	}{
		{"aidreams", openModel},
		{"synth", func(t testing.TB) *gguf.File { return synthModel(t, 2, 128, 2304, 64, 7) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.file(t)
			a := importFile(t, openStore(t), f, "")
			b := importFile(t, openStore(t), f, "other-name")
			if !a.Equals(b) {
				t.Fatalf("two imports of one file gave %s and %s", a, b)
			}
			if a.Prefix().Codec != cid.Raw || a.Version() != 1 {
				t.Fatalf("root %s is not a raw CIDv1", a)
			}
		})
	}
}

func TestExportByteIdentical(t *testing.T) {
	want, err := os.ReadFile(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	synth := synthModel(t, 2, 128, 2304, 64, 3)
	tests := []struct {
		name string
		f    *gguf.File
		want []byte
	}{
		{"aidreams", openModel(t), want},
		{"synth", synth, synth.Bytes()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			root := importFile(t, s, tc.f, "m")
			var buf bytes.Buffer
			n, err := s.Export(context.Background(), root, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(buf.Len()) || !bytes.Equal(buf.Bytes(), tc.want) {
				t.Fatalf("export differs from the original: %d bytes vs %d, sha256 %x vs %x",
					buf.Len(), len(tc.want), sha256.Sum256(buf.Bytes()), sha256.Sum256(tc.want))
			}
			path := filepath.Join(t.TempDir(), "out.gguf")
			if err := s.ExportFile(context.Background(), root, path); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, tc.want) {
				t.Fatal("ExportFile differs from the original")
			}
		})
	}
}

func TestModelsAndAliases(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	f := openModel(t)
	root := importFile(t, s, f, "")
	ms, err := s.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("%d models, want 1", len(ms))
	}
	m := ms[0]
	gname, _ := f.String("general.name")
	if m.Name != gname || !m.Root.Equals(root) || m.Layers != 4 || !m.Complete() || m.Architecture != "llama" {
		t.Fatalf("model info %+v", m)
	}
	if c, err := s.Resolve(gname); err != nil || !c.Equals(root) {
		t.Fatalf("Resolve(%q) = %v, %v", gname, c, err)
	}
	if c, err := s.Resolve(root.String()); err != nil || !c.Equals(root) {
		t.Fatalf("Resolve(cid) = %v, %v", c, err)
	}
	if _, err := s.Resolve("nope"); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("Resolve(nope) = %v", err)
	}
	if err := s.SetAlias(ctx, "bad\nname", root); err == nil {
		t.Fatal("alias with a newline accepted")
	}
}

func corruptOneChunk(t *testing.T, s *Store, c cid.Cid) {
	t.Helper()
	p, err := s.blocks.path(c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptChunkDetected: a chunk damaged on disk is never used; who
// finds it (GetBlock, Export, OpenSpan, Verify) gets a CorruptError naming
// it, and the store removes it and tells its OnCorrupt hooks. Importing the
// file again repairs the store.
func TestCorruptChunkDetected(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	root := importFile(t, s, openModel(t), "m")
	m, err := s.Manifest(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Layer(ctx, m.Layers[2].CID)
	if err != nil {
		t.Fatal(err)
	}
	bad := l.Tensors[1].Chunks[0]
	var found []cid.Cid
	stop := s.OnCorrupt(func(c cid.Cid) { found = append(found, c) })
	defer stop()
	for _, tc := range []struct {
		name string
		use  func() error
	}{
		{"GetBlock", func() error { _, err := s.GetBlock(ctx, bad); return err }},
		{"Export", func() error { _, err := s.Export(ctx, root, io.Discard); return err }},
		{"OpenSpan", func() error {
			_, err := s.OpenSpan(ctx, root, sharding.Span{Start: 2, End: 3}, false, false)
			return err
		}},
		{"Verify", func() error {
			rep, err := s.Verify(ctx, root)
			if len(rep.Corrupt) != 1 {
				t.Errorf("Verify: %+v", rep)
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			importFile(t, s, openModel(t), "m") // repairs what the last case removed
			if !s.HasBlock(bad) {
				t.Fatal("importing again did not put the chunk back")
			}
			corruptOneChunk(t, s, bad)
			found = nil
			err := tc.use()
			var ce *CorruptError
			if !errors.As(err, &ce) || !ce.CID.Equals(bad) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s with a corrupt chunk: %v", tc.name, err)
			}
			if s.HasBlock(bad) {
				t.Fatal("the corrupt chunk is still stored")
			}
			if len(found) != 1 || !found[0].Equals(bad) {
				t.Fatalf("OnCorrupt saw %v, want %s", found, bad)
			}
			// A span without the bad block still opens.
			f, err := s.OpenSpan(ctx, root, sharding.Span{Start: 0, End: 2}, true, false)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			rep, err := s.Verify(ctx, root)
			if err != nil || len(rep.Missing) != 1 || len(rep.Corrupt) != 0 {
				t.Fatalf("Verify after the removal: %+v, %v", rep, err)
			}
		})
	}
	// Re-importing repairs the store.
	importFile(t, s, openModel(t), "m")
	if rep, err := s.Verify(ctx, root); err != nil || len(rep.Missing) != 0 {
		t.Fatalf("Verify after repair: %+v, %v", rep, err)
	}
}

func TestGC(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := importFile(t, s, openModel(t), "a")
	b := importFile(t, s, synthModel(t, 2, 64, 128, 32, 1), "b")
	f, err := s.OpenSpan(ctx, b, sharding.Span{Start: 0, End: 1}, true, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	rep, err := s.GC(ctx)
	if err != nil || rep.Removed != 0 {
		t.Fatalf("GC with everything named: %+v, %v", rep, err)
	}
	if err := s.RemoveAlias(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	rep, err = s.GC(ctx)
	if err != nil || rep.Removed == 0 || rep.Freed == 0 {
		t.Fatalf("GC after removing b: %+v, %v", rep, err)
	}
	if s.HasBlock(b) {
		t.Fatal("root of b survived GC")
	}
	if _, err := os.Stat(s.SpanPath(b, sharding.Span{Start: 0, End: 1}, true, false)); !os.IsNotExist(err) {
		t.Fatalf("span file of b survived GC: %v", err)
	}
	if v, err := s.Verify(ctx, a); err != nil || len(v.Missing) != 0 {
		t.Fatalf("model a damaged by GC: %+v, %v", v, err)
	}
}

// forward runs tokens through embed, the given stages and head, and
// returns the logits.
func forward(t *testing.T, embed *engine.Model, stages []*engine.Model, head *engine.Model, tokens []int32) []float32 {
	t.Helper()
	ctx := context.Background()
	x := make([]float32, len(tokens)*embed.Config.Dim)
	if err := embed.Embed(tokens, x); err != nil {
		t.Fatal(err)
	}
	for _, s := range stages {
		sess, err := s.NewSession(len(tokens))
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]engine.Row, len(tokens))
		for i := range rows {
			rows[i] = engine.Row{Session: sess, Pos: i}
		}
		if err := s.Forward(ctx, x, rows); err != nil {
			t.Fatal(err)
		}
	}
	logits := make([]float32, len(tokens)*head.Config.VocabSize)
	if err := head.Head(x, len(tokens), logits); err != nil {
		t.Fatal(err)
	}
	return logits
}

func loadModel(t *testing.T, f *gguf.File, opt engine.Options) *engine.Model {
	t.Helper()
	m, err := engine.Load(f, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestOpenSpanMatchesFullModel(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	full := openModel(t)
	root := importFile(t, s, full, "m")
	tokens := []int32{1, 303, 281, 269, 435, 447, 275, 12, 99}
	whole := loadModel(t, full, engine.Full())
	want := forward(t, whole, []*engine.Model{whole}, whole, tokens)

	open := func(span sharding.Span, embed, head bool) *gguf.File {
		f, err := s.OpenSpan(ctx, root, span, embed, head)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	first := open(sharding.Span{Start: 0, End: 1}, true, false)
	mid := open(sharding.Span{Start: 1, End: 3}, false, false)
	last := open(sharding.Span{Start: 3, End: 4}, false, true)
	if _, ok := mid.Tensor("blk.0.attn_q.weight"); ok {
		t.Fatal("span [1,3) file holds block 0")
	}
	if _, ok := mid.Tensor("token_embd.weight"); ok {
		t.Fatal("span [1,3) file holds the embedding")
	}
	if st, _ := os.Stat(s.SpanPath(root, sharding.Span{Start: 1, End: 3}, false, false)); st == nil || st.Size() >= int64(len(full.Bytes()))/2 {
		t.Fatalf("span file too large: %v", st)
	}
	embed := loadModel(t, first, engine.Options{Blocks: sharding.Span{Start: 0, End: 1}, Embed: true})
	stage := loadModel(t, mid, engine.Options{Blocks: sharding.Span{Start: 1, End: 3}})
	head := loadModel(t, last, engine.Options{Blocks: sharding.Span{Start: 3, End: 4}, Head: true})
	got := forward(t, embed, []*engine.Model{embed, stage, head}, head, tokens)
	if len(got) != len(want) {
		t.Fatalf("%d logits, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("logit %d: %v from spans, %v from the full model", i, got[i], want[i])
		}
	}
	// The second open reuses the cached file.
	again := open(sharding.Span{Start: 1, End: 3}, false, false)
	if !bytes.Equal(again.Bytes(), mid.Bytes()) {
		t.Fatal("cached span file differs")
	}
	if _, err := s.OpenSpan(ctx, root, sharding.Span{Start: 2, End: 9}, false, false); err == nil {
		t.Fatal("span past the model accepted")
	}
}

func TestNoSpace(t *testing.T) {
	s := openStore(t)
	s.freeSpace = func(string) (uint64, error) { return 1 << 20, nil }
	_, err := s.Import(context.Background(), openModel(t), ImportOptions{})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("import into a full disk: %v", err)
	}
}

func TestCrashLeavesNoPartialBlock(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a crash is never visible under a CID and is
	// cleaned up on the next open.
	tmp := filepath.Join(dir, "blocks", tmpDirName, "blk-123")
	if err := os.WriteFile(tmp, []byte("half a block"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.blocks.each(context.Background(), func(cid.Cid, int64) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("blocks visible: %d, %v", n, err)
	}
	if _, err := Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary file survived reopening: %v", err)
	}
	// A block stored under a CID it does not hash to is refused.
	if err := s.PutBlock(context.Background(), SumCID([]byte("a")), []byte("b")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("PutBlock with a wrong CID: %v", err)
	}
}

func TestExportCAR(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	root := importFile(t, s, openModel(t), "m")
	var buf bytes.Buffer
	if err := s.ExportCAR(ctx, root, &buf); err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(buf.Bytes())
	hl, err := binary.ReadUvarint(r)
	if err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, hl)
	if _, err := io.ReadFull(r, hdr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(hdr, root.Bytes()) || !bytes.HasSuffix(hdr, []byte("version\x01")) {
		t.Fatalf("CAR header %x does not name root %s", hdr, root)
	}
	n := 0
	for r.Len() > 0 {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			t.Fatal(err)
		}
		sec := make([]byte, l)
		if _, err := io.ReadFull(r, sec); err != nil {
			t.Fatal(err)
		}
		k, c, err := cid.CidFromBytes(sec)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyBlock(c, sec[k:]); err != nil {
			t.Fatalf("block %d: %v", n, err)
		}
		if n == 0 && !c.Equals(root) {
			t.Fatalf("first block %s, want the root", c)
		}
		n++
	}
	if n < 4+1+1 {
		t.Fatalf("%d blocks in the CAR", n)
	}
	checkCARReadBack(t, s, root, buf.Bytes())
}

// TestImportChunkLayout: every tensor is cut into chunks of exactly
// ChunkSize bytes but the last, every stored block is at most 1 MiB and
// named by a raw sha2-256 CIDv1 of its bytes, and every block index has a
// layer manifest of its own listing that block's tensors only.
func TestImportChunkLayout(t *testing.T) {
	tests := []struct {
		name string
		file func(t testing.TB) *gguf.File
	}{
		{"aidreams", openModel},
		{"synth, tensors over 1 MiB", func(t testing.TB) *gguf.File { return synthModel(t, 3, 128, 2304, 64, 11) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := tc.file(t)
			s := openStore(t)
			root := importFile(t, s, f, "m")
			m, err := s.Manifest(ctx, root)
			if err != nil {
				t.Fatal(err)
			}
			if m.ChunkSize != ChunkSize || ChunkSize != 1<<20 {
				t.Fatalf("chunk size %d", m.ChunkSize)
			}
			ts, err := s.allTensors(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			multi := 0
			for _, tn := range ts {
				if want := int((tn.Size + ChunkSize - 1) / ChunkSize); len(tn.Chunks) != want {
					t.Fatalf("%s: %d chunks for %d bytes, want %d", tn.Name, len(tn.Chunks), tn.Size, want)
				}
				if len(tn.Chunks) > 1 {
					multi++
				}
				for i, c := range tn.Chunks {
					b, err := s.GetBlock(ctx, c)
					if err != nil {
						t.Fatal(err)
					}
					if len(b) != tn.ChunkLen(i, ChunkSize) {
						t.Fatalf("%s chunk %d: %d bytes, want %d", tn.Name, i, len(b), tn.ChunkLen(i, ChunkSize))
					}
				}
			}
			if tc.name != "aidreams" && multi == 0 {
				t.Fatal("no tensor spans several chunks")
			}
			for i, ref := range m.Layers {
				l, err := s.Layer(ctx, ref.CID)
				if err != nil {
					t.Fatal(err)
				}
				for _, tn := range l.Tensors {
					if b, ok := blockIndex(tn.Name); !ok || b != i {
						t.Fatalf("layer manifest %d lists %q", i, tn.Name)
					}
				}
			}
			n := 0
			err = s.blocks.each(ctx, func(c cid.Cid, size int64) error {
				n++
				if size > MaxBlockSize {
					t.Errorf("block %s is %d bytes", c, size)
				}
				if c.Version() != 1 || c.Prefix().Codec != cid.Raw || c.Prefix().MhType != 0x12 {
					t.Errorf("block %s is not a raw sha2-256 CIDv1", c)
				}
				b, err := s.GetBlock(ctx, c)
				if err == nil && !SumCID(b).Equals(c) {
					t.Errorf("block %s holds bytes of %s", c, SumCID(b))
				}
				return err
			})
			if err != nil || n == 0 {
				t.Fatalf("%d blocks: %v", n, err)
			}
		})
	}
}

// TestOpenSpanCacheVerified: a cached span file is used only while its
// bytes are those assembled from verified chunks. Damage to the file or
// its digest makes OpenSpan assemble it again, and when the chunks it
// needs are damaged too the answer is the chunk's CorruptError, never the
// damaged cache.
func TestOpenSpanCacheVerified(t *testing.T) {
	ctx := context.Background()
	span := sharding.Span{Start: 1, End: 3}
	flip := func(off func(n int) int) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[off(len(b))] ^= 0x01
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name         string
		damage       func(t *testing.T, path string)
		corruptChunk bool // also damage a chunk of the span in the store
	}{
		{"bit flip in tensor data", flip(func(n int) int { return n - 5 }), false},
		{"bit flip in the header", flip(func(int) int { return 40 }), false},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 4096); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"digest missing", func(t *testing.T, path string) {
			if err := os.Remove(path + spanSumSuffix); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"digest garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path+spanSumSuffix, []byte("not a digest\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"damaged cache, damaged chunk", flip(func(n int) int { return n - 5 }), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			root := importFile(t, s, openModel(t), "m")
			f, err := s.OpenSpan(ctx, root, span, false, false)
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.Clone(f.Bytes())
			f.Close()
			path := s.SpanPath(root, span, false, false)
			tc.damage(t, path)
			var bad cid.Cid
			if tc.corruptChunk {
				m, err := s.Manifest(ctx, root)
				if err != nil {
					t.Fatal(err)
				}
				l, err := s.Layer(ctx, m.Layers[2].CID)
				if err != nil {
					t.Fatal(err)
				}
				bad = l.Tensors[0].Chunks[0]
				corruptOneChunk(t, s, bad)
			}
			f, err = s.OpenSpan(ctx, root, span, false, false)
			if tc.corruptChunk {
				var ce *CorruptError
				if !errors.As(err, &ce) || !ce.CID.Equals(bad) {
					t.Fatalf("open over a damaged cache and chunk: %v, want the chunk's CorruptError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !bytes.Equal(f.Bytes(), want) {
				t.Fatal("OpenSpan returned the damaged cache")
			}
			again, err := openSpanCache(path)
			if err != nil {
				t.Fatalf("cache after the rebuild: %v", err)
			}
			again.Close()
		})
	}
}

// TestGetBlockNotFound: a block the store does not hold is ErrNotFound,
// which is also fs.ErrNotExist (the blocks protocol answers "not found"
// for it), and a cancelled context is the context's error.
func TestGetBlockNotFound(t *testing.T) {
	s := openStore(t)
	missing := SumCID([]byte("nobody has this"))
	_, err := s.GetBlock(t.Context(), missing)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "block not found") {
		t.Fatalf("missing block: %v, want ErrNotFound and fs.ErrNotExist", err)
	}
	if errors.Is(errors.New("other"), ErrNotFound) || errors.Is(fs.ErrNotExist, ErrNotFound) {
		t.Fatal("ErrNotFound matches other errors")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetBlock(ctx, missing); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
