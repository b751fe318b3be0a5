package node

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/kernels"
	"github.com/orbitswarm/orbit/engine/speculate"
	"github.com/orbitswarm/orbit/engine/synth"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// specShapes are small models of every architecture the engine runs (mixtures of experts too), with
// the 512-token vocabulary of aidreams260K.
var specShapes = []synth.Shape{
	{Name: "llama-spec", Arch: "llama", Dim: 64, Hidden: 160, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 10000, Eps: 1e-5, TiedEmbeddings: true},
	{Name: "qwen2-spec", Arch: "qwen2", Dim: 64, Hidden: 160, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 1e6, Eps: 1e-6, QKVBias: true, TiedEmbeddings: true},
	{Name: "qwen3-spec", Arch: "qwen3", Dim: 64, Hidden: 160, Layers: 4, Heads: 4, KVHeads: 2, Head: 32, QKNorm: true, Context: 256, RopeBase: 1e6, Eps: 1e-6, TiedEmbeddings: true},
	{Name: "mixtral-spec", Arch: "llama", Dim: 64, Hidden: 96, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 1e6, Eps: 1e-5, TiedEmbeddings: true, Experts: 4, ExpertsUsed: 2},
	{Name: "qwen3moe-spec", Arch: "qwen3moe", Dim: 64, Hidden: 96, Layers: 4, Heads: 4, KVHeads: 2, Head: 32, QKNorm: true, Context: 256, RopeBase: 1e6, Eps: 1e-6, TiedEmbeddings: true, Experts: 8, ExpertsUsed: 2, ExpertHidden: 48},
	{Name: "phi3-spec", Arch: "phi3", Dim: 64, Hidden: 128, Layers: 4, Heads: 4, KVHeads: 4, Context: 256, RopeBase: 10000, Eps: 1e-5},
	{Name: "gemma3-spec", Arch: "gemma3", Dim: 64, Hidden: 128, Layers: 4, Heads: 4, KVHeads: 2, Context: 256, RopeBase: 1e6, Eps: 1e-6, QKNorm: true, TiedEmbeddings: true,
		SlidingWindow: 8, SlidingPattern: 2, RopeBaseLocal: 10000, RopeScaling: 8, FinalSoftcap: 30},
}

// specModel writes a small synthetic model of shape with aidreams260K's
// vocabulary.
func specModel(t testing.TB, shape synth.Shape, seed uint64) string {
	t.Helper()
	vocab, err := tokenizer.LoadLlama2C("../../shared/models/tok512.bin", 512)
	if err != nil {
		t.Skipf("vocabulary not available: %v", err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d.gguf", shape.Name, seed))
	if err := synth.WriteFile(path, synth.Options{Shape: shape, Type: kernels.Q8_0, Vocab: vocab, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return path
}

// specPrompt repeats itself, so prompt lookup has something to draft.
var specPrompt = []int32{1, 400, 300, 301, 45, 99, 400, 300, 301, 45, 99, 400, 300}

// TestSpeculateIdentical: greedy speculative decoding through a swarm of
// real libp2p hosts (two servers, an entry node) gives bit for bit the
// tokens of plain decoding on every architecture, drafting by prompt
// lookup and with a draft model, in f32 (equal to one process too) and
// f16; drafts are kept and rejected (the route is rolled back).
func TestSpeculateIdentical(t *testing.T) {
	type model struct {
		name, path string
	}
	models := []model{{"aidreams260K", aidreamsPath}}
	for _, s := range specShapes {
		models = append(models, model{s.Name, specModel(t, s, 11)})
	}
	var total speculate.Stats
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			src := fileSource(t, m.path)
			const n = 48
			want := localGenerate(t, m.path, specPrompt, n)
			if i := slices.Index(want, 2); i >= 0 {
				want = want[:i] // the end of the text
			}
			for _, enc := range []protocol.Encoding{protocol.EncodingF32, protocol.EncodingF16} {
				entry, _ := swarm(t, src, enc, sharding.Span{Start: 0, End: 2}, sharding.Span{Start: 2, End: 4})
				dm, err := engine.Open(m.path, engine.Full()) // its own draft: every draft kept
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { dm.Close() })
				entry.cfg.Draft = &speculate.DraftModel{Model: dm}
				plain, _ := generateMode(t, entry, src.ID(), specPrompt, n, speculate.Off)
				if enc == protocol.EncodingF32 && !slices.Equal(plain, want) {
					t.Fatalf("plain swarm %v\nlocal %v", plain, want)
				}
				for _, mode := range []speculate.Mode{speculate.NGram, speculate.Draft, speculate.Auto} {
					got, st := generateMode(t, entry, src.ID(), specPrompt, n, mode)
					if !slices.Equal(got, plain) {
						t.Fatalf("%v %v: speculative %v\nplain %v", enc, mode, got, plain)
					}
					if st.Speculate != mode {
						t.Fatalf("%v %v: ran with speculation %v", enc, mode, st.Speculate)
					}
					sp := st.Speculation
					t.Logf("%v %v: %d passes for %d tokens, %d of %d drafts kept", enc, mode, sp.Passes, st.GeneratedTokens, sp.Accepted, sp.Drafted)
					total.Drafted += sp.Drafted
					total.Accepted += sp.Accepted
					// Each pass yields its kept drafts and one token of
					// the model's, but the last may end at max tokens
					// without it.
					if k := sp.Passes + sp.Accepted; k != st.GeneratedTokens-1 && k != st.GeneratedTokens {
						t.Fatalf("%v %v: %d passes and %d kept drafts for %d tokens", enc, mode, sp.Passes, sp.Accepted, st.GeneratedTokens)
					}
				}
			}
		})
	}
	if total.Accepted == 0 || total.Accepted == total.Drafted {
		t.Fatalf("%d of %d drafts kept: both paths (keep, roll back) must run", total.Accepted, total.Drafted)
	}
}

// TestSpeculateFailover: a server of the route dies in the middle of a
// speculative generation whose drafts are mostly rejected (every pass
// rolls the route back); the entry node replays the accepted positions
// into a replacement and the tokens are exactly the reference ones.
func TestSpeculateFailover(t *testing.T) {
	c := loadReference(t)[1]
	src := fileSource(t, aidreamsPath)
	// A random model of the same vocabulary drafts badly: rollbacks.
	dm, err := engine.Open(specModel(t, specShapes[0], 12), engine.Full())
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	for _, mode := range []speculate.Mode{speculate.NGram, speculate.Draft} {
		for _, span := range []int{0, 1} {
			t.Run(fmt.Sprintf("%v/span%d", mode, span), func(t *testing.T) {
				spans := []sharding.Span{{Start: 0, End: 2}, {Start: 0, End: 2}, {Start: 2, End: 4}, {Start: 2, End: 4}}
				entry, servers := swarm(t, src, protocol.EncodingF32, spans...)
				entry.cfg.Draft = &speculate.DraftModel{Model: dm}
				var got []int32
				killed := false
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				st, err := entry.GenerateWith(ctx, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens), nil,
					func(tok int32) bool { return tok == 1 },
					func(tok int32) error {
						got = append(got, tok)
						if len(got) >= 20 && !killed {
							for _, s := range servers[2*span : 2*span+2] {
								if s.infer.Sessions() > 0 {
									s.host.Close()
									killed = true
									break
								}
							}
						}
						return nil
					}, GenerateHooks{Speculate: &mode})
				if err != nil {
					t.Fatal(err)
				}
				if !killed || st.Failovers != 1 {
					t.Fatalf("killed %v, %d failovers; want one", killed, st.Failovers)
				}
				if !slices.Equal(got, c.GeneratedTokens) {
					t.Fatalf("got %v\nwant %v", got, c.GeneratedTokens)
				}
				if sp := st.Speculation; sp.Drafted == sp.Accepted {
					t.Fatalf("%d of %d drafts kept: no rollback happened", sp.Accepted, sp.Drafted)
				}
			})
		}
	}
}

// TestSpeculateVerified: verification by recomputation keeps working with
// speculative steps and the truncates after them: at verify rate 1, with
// drafts mostly rejected (a rollback every pass), every check of honest
// servers passes and the tokens are the reference ones.
func TestSpeculateVerified(t *testing.T) {
	c := loadReference(t)[1]
	src := fileSource(t, aidreamsPath)
	dm, err := engine.Open(specModel(t, specShapes[0], 12), engine.Full())
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	entry, _ := swarm(t, src, protocol.EncodingF32, spanOf(0, 2), spanOf(0, 2), spanOf(2, 4), spanOf(2, 4))
	waitView(t, entry, src.ID(), 4)
	entry.cfg.Draft = &speculate.DraftModel{Model: dm}
	rate := 1.0
	for _, mode := range []speculate.Mode{speculate.NGram, speculate.Draft} {
		got, st := generateWith(t, entry, src.ID(), c.PromptTokens, c.Steps+1-len(c.PromptTokens), genOptions{verifyRate: &rate, speculate: &mode})
		if !slices.Equal(got, c.GeneratedTokens) {
			t.Fatalf("%v: got %v\nwant %v", mode, got, c.GeneratedTokens)
		}
		if st.Verify.Checks == 0 || st.Verify.Mismatches != 0 {
			t.Fatalf("%v: verify %+v, want checks and no mismatch", mode, st.Verify)
		}
		if sp := st.Speculation; sp.Drafted == sp.Accepted {
			t.Fatalf("%v: %d of %d drafts kept: no rollback", mode, sp.Accepted, sp.Drafted)
		}
	}
	if vs := entry.VerifyStatus(); len(vs.Liars) != 0 || len(vs.Disputes) != 0 {
		t.Fatalf("honest servers flagged: %+v", vs)
	}
}

// generateMode generates greedily with speculation mode.
func generateMode(t testing.TB, n *Node, model string, prompt []int32, maxTokens int, mode speculate.Mode) ([]int32, Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []int32
	st, err := n.GenerateWith(ctx, model, prompt, maxTokens, nil, func(tok int32) bool { return tok == 2 }, func(tok int32) error {
		got = append(got, tok)
		return nil
	}, GenerateHooks{Speculate: &mode})
	if err != nil {
		t.Fatalf("generate %v: %v (stats %+v)", mode, err, st)
	}
	return got, st
}
