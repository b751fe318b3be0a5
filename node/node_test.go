package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

const (
	aidreamsPath  = "../../shared/models/aidreams260K.gguf"
	referencePath = "../../shared/reference/aidreams260K-greedy.json"
	spmVocabPath  = "../../shared/vocab/ggml-vocab-llama-spm.gguf"
)

type refCase struct {
	Prompt          string  `json:"prompt"`
	Steps           int     `json:"steps"`
	PromptTokens    []int32 `json:"prompt_tokens"`
	GeneratedTokens []int32 `json:"generated_tokens"`
}

func loadReference(t testing.TB) []refCase {
	t.Helper()
	b, err := os.ReadFile(referencePath)
	if err != nil {
		t.Skipf("reference outputs not available: %v", err)
	}
	var ref struct {
		Cases []refCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref.Cases
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("ORBIT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig is a loopback-only node: TCP on 127.0.0.1, no mDNS, no NAT.
func testConfig(t testing.TB, bootstrap ...*Node) Config {
	cfg := Config{
		Listen:           []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS:      true,
		Logger:           testLogger(t),
		StepTimeout:      10 * time.Second,
		IOTimeout:        10 * time.Second,
		DiscoveryTimeout: 2 * time.Second,
		Version:          "test",
	}
	for _, b := range bootstrap {
		cfg.Bootstrap = append(cfg.Bootstrap, b.Addrs()[0].String())
	}
	return cfg
}

func startNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func serve(t testing.TB, n *Node, src ModelSource, opt ServeOptions) ModelStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := n.Serve(ctx, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func fileSource(t testing.TB, path string) *FileSource {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("model not available: %v", err)
	}
	src, err := NewFileSource(path)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// swarm starts an entry-only node and one server per span, all
// bootstrapping through the first server.
func swarm(t testing.TB, src ModelSource, enc protocol.Encoding, spans ...sharding.Span) (entry *Node, servers []*Node) {
	t.Helper()
	for i, sp := range spans {
		var cfg Config
		if i == 0 {
			cfg = testConfig(t)
		} else {
			cfg = testConfig(t, servers[0])
		}
		n := startNode(t, cfg)
		serve(t, n, src, ServeOptions{Blocks: sp})
		servers = append(servers, n)
	}
	cfg := testConfig(t, servers[0])
	cfg.Encoding = enc
	entry = startNode(t, cfg)
	serve(t, entry, src, ServeOptions{NoBlocks: true, Entry: true})
	return entry, servers
}

func generate(t testing.TB, n *Node, model string, prompt []int32, maxTokens int) ([]int32, Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []int32
	st, err := n.Generate(ctx, model, prompt, maxTokens, nil, func(tok int32) bool { return tok == 1 }, func(tok int32) error {
		got = append(got, tok)
		return nil
	})
	if err != nil {
		t.Fatalf("generate %v: %v (stats %+v)", prompt, err, st)
	}
	return got, st
}

// TestGoldenAidreams: four servers of one block each, found through the
// DHT, produce exactly the reference tokens of the single-process C run.
func TestGoldenAidreams(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	entry, _ := swarm(t, src, protocol.EncodingF32,
		sharding.Span{Start: 0, End: 1}, sharding.Span{Start: 1, End: 2}, sharding.Span{Start: 2, End: 3}, sharding.Span{Start: 3, End: 4})
	for _, c := range cases {
		t.Run(c.Prompt, func(t *testing.T) {
			got, st := generate(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens))
			if !slices.Equal(got, c.GeneratedTokens) {
				t.Fatalf("got %d tokens %v\nwant %d tokens %v", len(got), got, len(c.GeneratedTokens), c.GeneratedTokens)
			}
			if len(st.Route) != 4 {
				t.Errorf("route of %d hops, want 4: %+v", len(st.Route), st.Route)
			}
		})
	}
}

func TestGoldenEncodings(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	for _, enc := range []protocol.Encoding{protocol.EncodingF16, protocol.EncodingQ8_0} {
		t.Run(enc.String(), func(t *testing.T) {
			entry, _ := swarm(t, src, enc, sharding.Span{Start: 0, End: 2}, sharding.Span{Start: 2, End: 4})
			match := 0
			for _, c := range cases {
				got, _ := generate(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens))
				if slices.Equal(got, c.GeneratedTokens) {
					match++
				} else if enc == protocol.EncodingF16 {
					// f16 happens to keep this model's argmax everywhere;
					// a change here means the rounding changed.
					t.Errorf("%q: f16 route diverged from the reference", c.Prompt)
				}
			}
			t.Logf("%v: %d of %d cases match the f32 reference", enc, match, len(cases))
		})
	}
}

// synthModel writes a random-weight GGUF of shape "tiny" with 12 blocks.
func synthModel(t testing.TB) string {
	t.Helper()
	return synthModelLayers(t, 12)
}

// synthModelLayers writes a random-weight GGUF of shape "tiny" with the
// given number of blocks.
func synthModelLayers(t testing.TB, layers int) string {
	t.Helper()
	return synthShapeLayers(t, "tiny", layers)
}

// synthShapeLayers writes a random-weight q8_0 GGUF of the named synthetic
// shape with the given number of blocks.
func synthShapeLayers(t testing.TB, name string, layers int) string {
	t.Helper()
	vf, err := gguf.Open(spmVocabPath)
	if err != nil {
		t.Skipf("vocabulary not available: %v", err)
	}
	defer vf.Close()
	vocab, err := tokenizer.VocabFromGGUF(vf)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := synth.ShapeByName(name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d.gguf", name, layers))
	if err := synth.WriteFile(path, synth.Options{Shape: shape, Type: kernels.Q8_0, Vocab: vocab, Seed: 7, Layers: layers}); err != nil {
		t.Fatal(err)
	}
	return path
}

// localGenerate runs the whole model in one process, greedy.
func localGenerate(t testing.TB, path string, prompt []int32, maxTokens int) []int32 {
	t.Helper()
	m, err := engine.Open(path, engine.Full())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sess, err := m.NewSession(min(len(prompt)+maxTokens, m.Config.Context))
	if err != nil {
		t.Fatal(err)
	}
	var out []int32
	_, err = m.Generate(context.Background(), sess, prompt, engine.GenerateOptions{MaxTokens: maxTokens}, func(tok int32) error {
		out = append(out, tok)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSynthetic12 runs a 12-block synthetic model on 3 nodes, the first of
// which is also the entry node (its own hop runs in process), and compares
// with the single-process engine.
func TestSynthetic12(t *testing.T) {
	path := synthModel(t)
	src := fileSource(t, path)
	// f32 hidden states: bit-identical to the single process. (f16 and
	// q8_0 round between hops, which random weights amplify.)
	acfg := testConfig(t)
	acfg.Encoding = protocol.EncodingF32
	a := startNode(t, acfg)
	serve(t, a, src, ServeOptions{Blocks: sharding.Span{Start: 0, End: 4}, Entry: true})
	b := startNode(t, testConfig(t, a))
	serve(t, b, src, ServeOptions{Blocks: sharding.Span{Start: 4, End: 8}})
	c := startNode(t, testConfig(t, a))
	serve(t, c, src, ServeOptions{Blocks: sharding.Span{Start: 8, End: 12}})
	for _, tc := range []struct {
		name   string
		prompt []int32
		n      int
	}{
		{"bos", []int32{1}, 40},
		{"short", []int32{1, 450, 4996, 17354}, 40},
		{"long", seqTokens(300, 3, 31000), 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := localGenerate(t, path, tc.prompt, tc.n)
			got, st := generate(t, a, src.ID(), tc.prompt, tc.n)
			if !slices.Equal(got, want) {
				t.Fatalf("swarm %v\nlocal %v", got, want)
			}
			if len(st.Route) != 3 || st.Route[0].Peer != a.ID() {
				t.Errorf("route %+v, want 3 hops starting at the entry", st.Route)
			}
		})
	}
}

// TestSwarmArchitectures serves a 3-block synthetic model of each newer
// architecture on 3 nodes, one block each, and compares the generation with
// the single-process engine: every family runs through the same pipeline.
func TestSwarmArchitectures(t *testing.T) {
	for _, name := range []string{"qwen3-tiny", "mixtral-tiny", "qwen3moe-tiny", "phi3-tiny", "gemma2-tiny", "gemma3-tiny", "gpt-oss-tiny", "deepseek2-tiny", "deepseek3-tiny"} {
		t.Run(name, func(t *testing.T) {
			path := synthShapeLayers(t, name, 3)
			src := fileSource(t, path)
			acfg := testConfig(t)
			acfg.Encoding = protocol.EncodingF32
			a := startNode(t, acfg)
			serve(t, a, src, ServeOptions{Blocks: sharding.Span{Start: 0, End: 1}, Entry: true})
			b := startNode(t, testConfig(t, a))
			serve(t, b, src, ServeOptions{Blocks: sharding.Span{Start: 1, End: 2}})
			c := startNode(t, testConfig(t, a))
			serve(t, c, src, ServeOptions{Blocks: sharding.Span{Start: 2, End: 3}})
			prompt := []int32{1, 450, 4996, 17354, 29871}
			want := localGenerate(t, path, prompt, 16)
			got, st := generate(t, a, src.ID(), prompt, 16)
			if !slices.Equal(got, want) {
				t.Fatalf("swarm %v\nlocal %v", got, want)
			}
			if len(st.Route) != 3 {
				t.Errorf("route %+v, want 3 hops", st.Route)
			}
		})
	}
}

// seqTokens returns n deterministic token ids below vocab, BOS first.
func seqTokens(n int, seed, vocab int32) []int32 {
	out := []int32{1}
	x := seed
	for len(out) < n {
		x = (x*1103 + 12345) % vocab
		out = append(out, 3+x%(vocab-3))
	}
	return out
}

// TestFailover: two servers per span; one in the route dies abruptly (its
// host closes) mid-generation; the entry node replays its inputs into the
// other and the tokens are exactly the reference ones.
func TestFailover(t *testing.T) {
	cases := loadReference(t)
	src := fileSource(t, aidreamsPath)
	c := cases[1]
	for _, tc := range []struct {
		name    string
		span    int // index of the span whose server dies
		atToken int
	}{
		{"first hop early", 0, 3},
		{"last hop late", 1, 60},
		{"first hop during first token", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, enc := range []protocol.Encoding{protocol.EncodingF32, protocol.EncodingF16} {
				spans := []sharding.Span{{Start: 0, End: 2}, {Start: 0, End: 2}, {Start: 2, End: 4}, {Start: 2, End: 4}}
				entry, servers := swarm(t, src, enc, spans...)
				var got []int32
				killed := false
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				st, err := entry.Generate(ctx, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens), nil,
					func(tok int32) bool { return tok == 1 },
					func(tok int32) error {
						got = append(got, tok)
						if len(got) == tc.atToken && !killed {
							for _, s := range servers[2*tc.span : 2*tc.span+2] {
								if s.infer.Sessions() > 0 {
									s.host.Close() // abrupt: connections drop, no goodbye
									killed = true
									break
								}
							}
						}
						return nil
					})
				cancel()
				if err != nil {
					t.Fatalf("%v: %v", enc, err)
				}
				if !killed {
					t.Fatalf("%v: no server of span %d was in use", enc, tc.span)
				}
				if !slices.Equal(got, c.GeneratedTokens) {
					t.Fatalf("%v: got %v\nwant %v", enc, got, c.GeneratedTokens)
				}
				if st.Failovers != 1 {
					t.Errorf("%v: %d failovers, want 1", enc, st.Failovers)
				}
			}
		})
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// waitView waits until n sees servers servers of model.
func waitView(t testing.TB, n *Node, model string, servers int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		v, err := n.SwarmView(ctx, model, true)
		if err == nil && len(v.Swarm.Servers) >= servers {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s sees %d servers, want %d", n.ID(), len(v.Swarm.Servers), servers)
		}
	}
}

func spanOf(a, b int) sharding.Span { return sharding.Span{Start: a, End: b} }
