package llama2c

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

const sharedModels = "../../../shared/models"

// header encodes a checkpoint header.
func header(dim, hidden, layers, heads, kvHeads, vocab, seqLen int32) []byte {
	b := make([]byte, HeaderSize)
	for i, x := range []int32{dim, hidden, layers, heads, kvHeads, vocab, seqLen} {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

// checkpoint builds a complete checkpoint for c whose float number i (in
// file order, counting from the first weight) has the value i.
func checkpoint(c Config) []byte {
	vocab := int32(c.VocabSize)
	if !c.SharedClassifier {
		vocab = -vocab
	}
	b := header(int32(c.Dim), int32(c.HiddenDim), int32(c.Layers), int32(c.Heads), int32(c.KVHeads), vocab, int32(c.SeqLen))
	kv := c.KVDim()
	n := c.VocabSize*c.Dim + c.Layers*(2*c.Dim+2*c.Dim*c.Dim+2*kv*c.Dim+3*c.HiddenDim*c.Dim) + c.Dim + c.SeqLen*c.HeadSize()
	if !c.SharedClassifier {
		n += c.VocabSize * c.Dim
	}
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	return b
}

// first returns the first element of a weight as an index into the floats.
func first(w Weight) int { return int(math.Float32frombits(binary.LittleEndian.Uint32(w.Bytes()))) }

func TestParseLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"shared", Config{Dim: 8, HiddenDim: 12, Layers: 2, Heads: 2, KVHeads: 1, VocabSize: 5, SeqLen: 3, SharedClassifier: true}},
		{"unshared", Config{Dim: 8, HiddenDim: 12, Layers: 3, Heads: 4, KVHeads: 4, VocabSize: 7, SeqLen: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := checkpoint(tc.c)
			m, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Config != tc.c {
				t.Fatalf("config %+v, want %+v", m.Config, tc.c)
			}
			c := tc.c
			L, D, H, KV, V := c.Layers, c.Dim, c.HiddenDim, c.KVDim(), c.VocabSize
			// Expected start of each array, in floats.
			pos := V * D
			starts := map[string]int{}
			for _, s := range []struct {
				name string
				n    int
			}{{"rms_att", D}, {"wq", D * D}, {"wk", KV * D}, {"wv", KV * D}, {"wo", D * D}, {"rms_ffn", D}, {"w1", H * D}, {"w2", D * H}, {"w3", H * D}} {
				starts[s.name] = pos
				pos += L * s.n
			}
			final := pos
			cls := 0
			if !c.SharedClassifier {
				cls = final + D + c.SeqLen*c.HeadSize()
			}
			if got := first(m.TokenEmbedding()); got != 0 {
				t.Errorf("token_embedding at %d", got)
			}
			if got := first(m.RMSFinal()); got != final {
				t.Errorf("rms_final at %d, want %d", got, final)
			}
			if got := first(m.Classifier()); got != cls {
				t.Errorf("classifier at %d, want %d", got, cls)
			}
			last := L - 1
			b := m.Block(last)
			for _, w := range []struct {
				name       string
				w          Weight
				rows, cols int
			}{
				{"rms_att", b.RMSAtt, 1, D}, {"wq", b.WQ, D, D}, {"wk", b.WK, KV, D}, {"wv", b.WV, KV, D}, {"wo", b.WO, D, D},
				{"rms_ffn", b.RMSFFN, 1, D}, {"w1", b.W1, H, D}, {"w2", b.W2, D, H}, {"w3", b.W3, H, D},
			} {
				if w.w.Rows != w.rows || w.w.Cols != w.cols || len(w.w.Bytes()) != 4*w.rows*w.cols {
					t.Errorf("%s: %dx%d (%d bytes), want %dx%d", w.name, w.w.Rows, w.w.Cols, len(w.w.Bytes()), w.rows, w.cols)
				}
				if got, want := first(w.w), starts[w.name]+last*w.rows*w.cols; got != want {
					t.Errorf("%s of layer %d at %d, want %d", w.name, last, got, want)
				}
			}
			fl := b.W2.Floats()
			if int(fl[len(fl)-1]) != starts["w2"]+L*D*H-1 {
				t.Errorf("last w2 element %v", fl[len(fl)-1])
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := Config{Dim: 8, HiddenDim: 12, Layers: 2, Heads: 2, KVHeads: 1, VocabSize: 5, SeqLen: 3, SharedClassifier: true}
	full := checkpoint(good)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"short header", full[:20], "too short"},
		{"zero dim", header(0, 12, 2, 2, 1, 5, 3), "dim = 0"},
		{"negative layers", header(8, 12, -2, 2, 1, 5, 3), "n_layers = -2"},
		{"zero vocab", header(8, 12, 2, 2, 1, 0, 3), "vocab_size = 0"},
		{"min vocab", header(8, 12, 2, 2, 1, math.MinInt32, 3), "out of range"},
		{"dim not multiple of heads", header(8, 12, 2, 3, 1, 5, 3), "not a multiple of n_heads"},
		{"odd head size", header(6, 12, 2, 2, 1, 5, 3), "odd"},
		{"kv heads", header(8, 12, 2, 2, 3, 5, 3), "n_kv_heads"},
		{"export magic", header(exportMagic, 1, 0, 0, 0, 0, 0), "ak42"},
		{"header only", header(8, 12, 2, 2, 1, 5, 3), "runs past the end"},
		{"truncated", full[:len(full)-4], "runs past the end"},
		{"trailing", append(append([]byte(nil), full...), 0, 0, 0, 0), "implies"},
		{"missing wcls", func() []byte {
			b := append([]byte(nil), full...)
			binary.LittleEndian.PutUint32(b[20:], uint32(0xfffffffb))
			return b
		}(), "wcls"},
		{"huge", header(math.MaxInt32-1, math.MaxInt32, math.MaxInt32, 1, 1, math.MaxInt32, math.MaxInt32), "runs past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestOpenAidreams(t *testing.T) {
	m, err := Open(sharedModels + "/aidreams260K.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want := Config{Dim: 64, HiddenDim: 172, Layers: 4, Heads: 4, KVHeads: 4, VocabSize: 512, SeqLen: 128, SharedClassifier: true}
	if m.Config != want {
		t.Fatalf("config %+v, want %+v", m.Config, want)
	}
	for _, x := range m.RMSFinal().Floats() {
		if x <= 0 || x > 100 || math.IsNaN(float64(x)) {
			t.Fatalf("implausible rms_final weight %v", x)
		}
	}
	if _, err := Open(sharedModels + "/tok512.bin"); err == nil {
		t.Error("opening a tokenizer as a model succeeded")
	}
	if _, err := Open(sharedModels + "/does-not-exist.bin"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(checkpoint(Config{Dim: 4, HiddenDim: 6, Layers: 1, Heads: 2, KVHeads: 1, VocabSize: 3, SeqLen: 2, SharedClassifier: true}))
	f.Add(checkpoint(Config{Dim: 4, HiddenDim: 6, Layers: 2, Heads: 1, KVHeads: 1, VocabSize: 3, SeqLen: 1}))
	f.Add(header(8, 12, 2, 2, 1, -5, 3))
	f.Add(header(math.MaxInt32, math.MaxInt32, math.MaxInt32, 1, 1, math.MinInt32+1, math.MaxInt32))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		// A successful parse must describe weights that lie inside data.
		total := len(m.TokenEmbedding().Bytes()) + len(m.RMSFinal().Bytes())
		for i := 0; i < m.Layers; i++ {
			b := m.Block(i)
			for _, w := range []Weight{b.RMSAtt, b.WQ, b.WK, b.WV, b.WO, b.RMSFFN, b.W1, b.W2, b.W3} {
				total += len(w.Bytes())
			}
		}
		if !m.SharedClassifier {
			total += len(m.Classifier().Bytes())
		}
		if want := len(data) - HeaderSize - 4*m.SeqLen*m.HeadSize(); total != want {
			t.Fatalf("weights cover %d bytes, want %d", total, want)
		}
	})
}
