package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/weights"
)

// needVocab fails (not skips) without the shared vocabulary: the README
// requires ../shared beside the repository, and a skip would hide the
// scenario checks.
func needVocab(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultVocab); err != nil {
		t.Fatalf("vocabulary not available (../shared must sit beside the repository): %v", err)
	}
}

func TestFindShared(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "repo", "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	vocab := filepath.Join(root, "shared", "vocab", "v.gguf")
	if err := os.MkdirAll(filepath.Dir(vocab), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vocab, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, wd, rel, want string
	}{
		{"found from the repository", filepath.Join(root, "repo"), "vocab/v.gguf", vocab},
		{"found from a package three levels down", deep, "vocab/v.gguf", vocab},
		{"found in the working directory", root, "vocab/v.gguf", vocab},
		{"missing: ../shared", deep, "vocab/none.gguf", filepath.Join("..", "shared", "vocab", "none.gguf")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(tc.wd)
			if got := findShared(filepath.FromSlash(tc.rel)); got != tc.want {
				t.Errorf("findShared(%q) from %s = %q, want %q", tc.rel, tc.wd, got, tc.want)
			}
		})
	}
	// From this package the real vocabulary is found.
	if _, err := os.Stat(DefaultVocab); err != nil {
		t.Errorf("DefaultVocab %q: %v", DefaultVocab, err)
	}
}

func testOptions(t *testing.T) Options {
	var log *slog.Logger
	if testing.Verbose() && os.Getenv("ORBIT_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return Options{WorkDir: filepath.Join(os.TempDir(), "orbit-bench-test-models"), Logger: log, NodeLogger: log, Drain: 30 * time.Second}
}

func mustParse(t *testing.T, y string) *Scenario {
	t.Helper()
	sc, err := Parse([]byte(y))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, y)
	}
	return sc
}

func TestExampleScenariosParse(t *testing.T) {
	files, err := filepath.Glob("scenarios/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("example scenarios: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name == "" || len(sc.Nodes) == 0 {
				t.Errorf("incomplete: %+v", sc)
			}
			if d := time.Duration(sc.Workload.Duration); d > 20*time.Second {
				t.Errorf("default duration %v: examples must stay short", d)
			}
		})
	}
}

const minimal = `
name: m
model: {synthetic: {shape: tiny}}
nodes:
  - {name: e, entry: true}
`

func TestParseDefaults(t *testing.T) {
	sc := mustParse(t, minimal)
	if sc.Encoding != "f16" || sc.SpanPolicy != "auto" || sc.Route != "latency" || sc.Workload.Arrival != "closed" || sc.Workload.Clients != 1 {
		t.Errorf("defaults: %+v", sc)
	}
	if g := sc.Nodes[0]; g.Count != 1 || g.Slowdown != 1 || !g.Span.Auto || g.Region != "default" {
		t.Errorf("group defaults: %+v", g)
	}
	if sc.Model.Synthetic.Type != "q8_0" {
		t.Errorf("synthetic defaults: %+v", sc.Model.Synthetic)
	}
}

func TestParseErrors(t *testing.T) {
	base := "model: {synthetic: {shape: tiny}}\n"
	node := "nodes: [{name: e, entry: true}]\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty scenario"},
		{"not yaml", "{{{", "yaml"},
		{"unknown field", base + node + "colour: red\n", "field colour not found"},
		{"no model", node, "exactly one of path, cid and synthetic"},
		{"two models", "model: {path: a.gguf, cid: bafy}\n" + node, "exactly one"},
		{"no nodes", base, "nodes: none"},
		{"no entry", base + "nodes: [{name: s}]\n", "no entry node"},
		{"bad span", base + "nodes: [{name: e, entry: true, span: [4, 2]}]\n", "want 0 <= start < end"},
		{"bad span word", base + "nodes: [{name: e, entry: true, span: half}]\n", "want auto, none"},
		{"idle node", base + "nodes: [{name: e, entry: true}, {name: s, span: none}]\n", "would do nothing"},
		{"dup name", base + "nodes: [{name: e, entry: true}, {name: e}]\n", "used twice"},
		{"dup expanded name", base + "nodes: [{name: e, entry: true, count: 2}, {name: e-1}]\n", "used twice"},
		{"slowdown", base + "nodes: [{name: e, entry: true, slowdown: 0.5}]\n", "slowdown"},
		{"route", base + "route: fastest\n" + node, "want latency or throughput"},
		{"fixed needs spans", base + "span_policy: fixed\n" + node, "span_policy fixed"},
		{"bad duration", base + node + "workload: {duration: soon}\n", "want e.g. 40ms"},
		{"negative duration", base + node + "links: {default: {latency: -4ms}}\n", "negative"},
		{"latency and rtt", base + node + "links: {default: {latency: 4ms, rtt: 8ms}}\n", "not both"},
		{"bad bandwidth", base + node + "links: {default: {bandwidth: fast}}\n", "bandwidth"},
		{"loss", base + node + "links: {default: {loss: 1.5}}\n", "loss"},
		{"pair regions", base + node + "links: {pairs: [{regions: [a], latency: 1ms}]}\n", "want 2 elements"},
		{"pair empty region", base + node + "links: {pairs: [{regions: [a, \"\"], latency: 1ms}]}\n", "two region names"},
		{"poisson rate", base + node + "workload: {arrival: poisson}\n", "rate"},
		{"arrival", base + node + "workload: {arrival: bursty}\n", "closed or poisson"},
		{"tokens", base + node + "workload: {output_tokens: -1}\n", "output_tokens"},
		{"kill unknown", base + node + "events: [{at: 1s, kill: zed}]\n", "no such node"},
		{"kill entry", base + node + "events: [{at: 1s, kill: e}]\n", "entry node"},
		{"two actions", base + node + "events: [{at: 1s, kill: e, add: e}]\n", "exactly one"},
		{"add not deferred", base + node + "events: [{at: 1s, add: e}]\n", "deferred"},
		{"cut one region", base + node + "events: [{at: 1s, cut: [a, \"\"]}]\n", "two region names"},
		{"size", base + "nodes: [{name: e, entry: true, kv_cache: lots}]\n", "size"},
		{"memory size", base + "nodes: [{name: e, entry: true, memory: -1MiB}]\n", "size"},
		{"memory on a fixed span", base + "nodes: [{name: e, entry: true, span: [0, 2], memory: 1GiB}]\n", "memory budgets an auto span"},
		{"memory on no span", base + "nodes: [{name: e, entry: true, span: none, memory: 1GiB}]\n", "memory budgets an auto span"},
		{"threads", base + "nodes: [{name: e, entry: true, threads: -2}]\n", "threads"},
		{"compute cost", base + "nodes: [{name: e, entry: true, compute_cost: {block: 2m}}]\n", "compute_cost"},
		{"concurrency", base + node + "workload: {concurrency: [1, 0]}\n", "concurrency 0"},
		{"concurrency poisson", base + node + "workload: {arrival: poisson, rate: 1, concurrency: [1, 2]}\n", "closed-loop"},
		{"concurrency events", base + node + "workload: {concurrency: [1]}\nevents: [{at: 1s, cut: [a, b]}]\n", "no events"},
		{"speculate", base + node + "speculate: always\n", "speculate"},
		{"speculate draft without a draft", base + node + "speculate: draft\n", "draft_layers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error for\n%s", tc.yaml)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestParseBandwidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		bad  bool
	}{
		{"", 0, false}, {"0", 0, false}, {"unlimited", 0, false},
		{"100Mbit", 100e6, false}, {"1Gbit/s", 1e9, false}, {"512kbps", 512e3, false},
		{"2.5Gbps", 2.5e9, false}, {"9600", 9600, false}, {"50 Mbit", 50e6, false},
		{"fast", 0, true}, {"-1Mbit", 0, true}, {"Mbit", 0, true}, {"NaN", 0, true},
	} {
		got, err := ParseBandwidth(tc.in)
		if (err != nil) != tc.bad || float64(got) != tc.want {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v, bad %v", tc.in, float64(got), err, tc.want, tc.bad)
		}
	}
}

func TestLinkBetween(t *testing.T) {
	sc := mustParse(t, minimal+`links:
  default: {rtt: 30ms}
  pairs:
    - {regions: [a, b], latency: 7ms}
    - {regions: [a, a], latency: 1ms}
`)
	for _, tc := range []struct {
		a, b string
		want time.Duration
	}{{"a", "b", 7 * time.Millisecond}, {"b", "a", 7 * time.Millisecond}, {"a", "a", time.Millisecond}, {"b", "b", 15 * time.Millisecond}, {"a", "c", 15 * time.Millisecond}} {
		if got := sc.Links.LinkBetween(tc.a, tc.b).OneWay(); got != tc.want {
			t.Errorf("%s-%s: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestScheduleDeterministic: the same scenario and seed give the same
// events, arrivals and prompts; another seed gives other arrivals.
func TestScheduleDeterministic(t *testing.T) {
	sc := mustParse(t, minimal+`  - {name: s, count: 2, deferred: true}
workload: {arrival: poisson, rate: 20, duration: 5s}
events:
  - {at: 3s, kill: s-0}
  - {at: 1s, add: s}
  - {at: 2s, cut: [a, b]}
`)
	a, b := NewSchedule(sc, 7), NewSchedule(sc, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different schedules")
	}
	if len(a.Arrivals) < 50 || len(a.Arrivals) > 150 {
		t.Errorf("%d arrivals in 5s at 20/s", len(a.Arrivals))
	}
	for i := 1; i < len(a.Events); i++ {
		if a.Events[i].At < a.Events[i-1].At {
			t.Errorf("events out of order: %+v", a.Events)
		}
	}
	if a.Events[0].Kind() != "add" || a.Events[2].Kind() != "kill" {
		t.Errorf("event order %+v", a.Events)
	}
	if c := NewSchedule(sc, 8); reflect.DeepEqual(a.Arrivals, c.Arrivals) {
		t.Error("different seeds, same arrivals")
	}
	if !reflect.DeepEqual(Prompt(7, 3, 16, 32000), Prompt(7, 3, 16, 32000)) || reflect.DeepEqual(Prompt(7, 3, 16, 32000), Prompt(7, 4, 16, 32000)) {
		t.Error("prompts are not a function of seed and id")
	}
	for _, tok := range Prompt(1, 1, 100, 50) {
		if tok < 1 || tok >= 50 {
			t.Fatalf("token %d outside the vocabulary", tok)
		}
	}
}

// TestScheduleDuration: a duration override (orbit bench --duration) cuts
// or extends the same poisson arrival sequence; closed-loop workloads
// have no arrivals.
func TestScheduleDuration(t *testing.T) {
	sc := mustParse(t, minimal+"workload: {arrival: poisson, rate: 20, duration: 5s}\n")
	full := NewSchedule(sc, 7)
	for _, tc := range []struct {
		name string
		dur  time.Duration
	}{{"shorter", 2 * time.Second}, {"same", 5 * time.Second}, {"longer", 9 * time.Second}, {"zero", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			got := newSchedule(sc, 7, tc.dur)
			for i, a := range got.Arrivals {
				if a.At >= tc.dur {
					t.Fatalf("arrival %+v at or after %v", a, tc.dur)
				}
				if i < len(full.Arrivals) && a != full.Arrivals[i] {
					t.Fatalf("arrival %d: %+v, the scenario's schedule has %+v", i, a, full.Arrivals[i])
				}
			}
			// Every arrival of the full schedule before dur is there.
			n := 0
			for _, a := range full.Arrivals {
				if a.At < tc.dur {
					n++
				}
			}
			if len(got.Arrivals) < n || (tc.dur <= 5*time.Second && len(got.Arrivals) != n) {
				t.Fatalf("%d arrivals, the scenario's schedule has %d before %v", len(got.Arrivals), n, tc.dur)
			}
			if tc.dur == 9*time.Second && (len(got.Arrivals) <= len(full.Arrivals) || got.Arrivals[len(got.Arrivals)-1].At < 8*time.Second) {
				t.Fatalf("a longer run does not extend the arrivals: %d, last %v", len(got.Arrivals), got.Arrivals[len(got.Arrivals)-1].At)
			}
		})
	}
	if s := newSchedule(mustParse(t, minimal), 7, time.Hour); s.Arrivals != nil {
		t.Errorf("closed loop: %d arrivals", len(s.Arrivals))
	}
}

// TestDurationOverridePoisson: Options.Duration shortens a poisson
// workload: no request arrives after it.
func TestDurationOverridePoisson(t *testing.T) {
	needVocab(t)
	sc := mustParse(t, `
name: poisson
model: {synthetic: {shape: tiny, layers: 4}}
span_policy: fixed
nodes:
  - {name: entry, entry: true, span: [0, 4]}
workload: {arrival: poisson, rate: 20, clients: 4, prompt_tokens: 4, output_tokens: 4, duration: 30s}
`)
	opt := testOptions(t)
	opt.Duration = 700 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("a 700ms workload took %v", took)
	}
	if res.Summary.Requests < 3 || res.Summary.Failed != 0 {
		t.Fatalf("summary %+v", res.Summary)
	}
	for _, q := range res.Requests {
		if q.ArrivalS >= 0.7 {
			t.Errorf("request %d arrived at %.2fs, after the 0.7s workload", q.ID, q.ArrivalS)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("scenarios/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(minimal))
	f.Add([]byte("nodes: [{span: [1, 2]}]"))
	f.Add([]byte("links: {default: {bandwidth: 1e400}}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := Parse(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("parsed scenario fails validation: %v", err)
		}
		_ = NewSchedule(sc, 1)
	})
}

// TestShortRun runs the LAN example for a few seconds and checks every
// output file.
func TestShortRun(t *testing.T) {
	needVocab(t)
	sc, err := LoadFile("scenarios/lan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions(t)
	opt.Duration = 2 * time.Second
	var bar bytes.Buffer
	opt.Progress = &bar
	res, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Completed == 0 || res.Summary.Failed != 0 {
		t.Fatalf("summary %+v", res.Summary)
	}
	if !strings.Contains(bar.String(), "tok/s") {
		t.Errorf("no progress bar: %q", bar.String())
	}
	dir := t.TempDir()
	if err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Requests) != len(res.Requests) || back.Scenario != "lan" {
		t.Errorf("results.json round trip: %d requests, scenario %q", len(back.Requests), back.Scenario)
	}
	for name, minRows := range map[string]int{"requests.csv": 2, "hops.csv": 2, "throughput.csv": 2, "links.csv": 2} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(rows) < minRows {
			t.Errorf("%s: %d rows, %v", name, len(rows), err)
		}
	}
	checkPlots(t, dir)
	t.Logf("summary %+v", res.Summary)
}

// TestExampleScenariosRun runs every example scenario (shortened, its
// events moved into the shortened run) and checks that each writes
// results.json, the CSVs and three decodable PNG plots, with requests
// completed and none failed, and its events done.
func TestExampleScenariosRun(t *testing.T) {
	needVocab(t)
	files, err := filepath.Glob("scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, f := range files {
		sc, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sc.Name, "processes") {
			continue // TestProcesses runs processes mode
		}
		if len(sc.Workload.Concurrency) > 0 {
			continue // TestConcurrencySweep runs the sweep
		}
		if len(sc.Workload.VerifyRates) > 0 {
			continue // TestVerifyRates runs the verification runs
		}
		ran++
		t.Run(sc.Name, func(t *testing.T) {
			const dur = 3 * time.Second
			if sc.Speculate != "off" {
				// Runs twice, the second time without speculation over
				// long links: shorter outputs.
				sc.Workload.OutputTokens = min(sc.Workload.OutputTokens, 32)
			}
			// Events at 1.5 s, in their order.
			for i := range sc.Events {
				sc.Events[i].At = Duration(1500*time.Millisecond + time.Duration(i)*100*time.Millisecond)
			}
			opt := testOptions(t)
			opt.Duration = dur
			res, err := Run(context.Background(), sc, opt)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			t.Logf("%s: %+v", sc.Name, s)
			if s.Completed == 0 || s.Failed != 0 {
				for _, q := range res.Requests {
					if q.Error != "" {
						t.Errorf("request %d: %s", q.ID, q.Error)
					}
				}
				t.Fatalf("%d completed, %d failed", s.Completed, s.Failed)
			}
			if len(res.Events) != len(sc.Events) {
				t.Errorf("%d events done, the scenario has %d", len(res.Events), len(sc.Events))
			}
			for _, e := range res.Events {
				if e.Error != "" {
					t.Errorf("event %+v", e)
				}
			}
			if sc.Speculate != "off" {
				// Speculation: drafts checked and kept, more than a token
				// a pass, and the same workload without it for comparison.
				sp := res.Speculation
				if sp == nil || sp.Baseline.Completed == 0 || s.Drafted == 0 || s.Accepted == 0 || s.TokensPerPass <= 1 || sp.Baseline.TokensPerPass != 1 {
					t.Fatalf("speculation %+v, summary %+v", sp, s)
				}
			}
			dir := t.TempDir()
			if err := res.Write(dir); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"results.json", "requests.csv", "hops.csv", "throughput.csv", "links.csv"} {
				if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", name, err)
				}
			}
			checkPlots(t, dir)
		})
	}
	if ran < 4 {
		t.Errorf("ran %d example scenarios, want lan, home-broadband, leo-satellite and intercontinental", ran)
	}
}

// TestConcurrencySweep runs the example sweep (streams 1 and 4,
// shortened) in mocknet mode: the servers' emulated step time makes one
// stream leave three of the four stages idle, so four streams give more
// than twice its tokens/s, with the servers batching several sessions
// per engine call; sweep.csv and the sweep plots are written.
func TestConcurrencySweep(t *testing.T) {
	needVocab(t)
	sc, err := LoadFile("scenarios/concurrency.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Override(Overrides{Concurrency: []int{1, 4}}); err != nil {
		t.Fatal(err)
	}
	// Short prompts: the steps measure decoding.
	sc.Workload.Warmup, sc.Workload.PromptTokens, sc.Workload.OutputTokens = 0, 4, 24
	opt := testOptions(t)
	opt.Duration = 4 * time.Second
	res, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sweep) != 2 {
		t.Fatalf("%d sweep points, want 2", len(res.Sweep))
	}
	one, four := res.Sweep[0], res.Sweep[1]
	for _, p := range res.Sweep {
		t.Logf("%d streams: %.1f tok/s (%.2fx), per token p50 %.1f ms, nodes %+v", p.Streams, p.TokensPerS, p.Speedup, p.PerTokenP50MS, p.Nodes)
		if p.Completed == 0 || p.Failed != 0 || p.Tokens == 0 {
			t.Errorf("%d streams: %d completed, %d failed, %d tokens", p.Streams, p.Completed, p.Failed, p.Tokens)
		}
		if len(p.Nodes) != 4 {
			t.Errorf("%d streams: %d servers computed, want 4", p.Streams, len(p.Nodes))
		}
		for _, n := range p.Nodes {
			if n.Busy <= 0 || n.Busy > 1.05 || n.Calls == 0 {
				t.Errorf("%d streams: %s busy %.2f in %d calls", p.Streams, n.Name, n.Busy, n.Calls)
			}
		}
	}
	if one.Streams != 1 || one.Speedup != 1 || four.Speedup < 2 || four.Speedup != four.TokensPerS/one.TokensPerS {
		t.Errorf("4 streams: %.2fx one stream's tokens/s, want more than 2x", four.Speedup)
	}
	batched := false
	for _, n := range four.Nodes {
		batched = batched || n.MeanSessions > 1
	}
	if !batched {
		t.Error("with 4 streams no server batched several sessions per engine call")
	}
	dir := t.TempDir()
	if err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 1+2*4 || rows[0][0] != "streams" || rows[0][1] != "tokens_per_s" {
		t.Errorf("sweep.csv: %d rows (%v), header %v", len(rows), err, rows[0])
	}
	for _, name := range []string{"sweep_throughput.png", "sweep_latency.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 100 {
			t.Errorf("%s: %v", name, err)
		}
	}
	checkPlots(t, dir)
}

// latencyScenario: an entry-only node and two servers of half the model
// each, every node in its own region, every link oneWay long. A decoded
// token crosses entry->s1, s1->s2 and s2->entry: three traversals.
func latencyScenario(oneWay string) string { return latencyScenarioTokens(oneWay, 12) }

func latencyScenarioTokens(oneWay string, tokens int) string {
	return `
name: latency-` + oneWay + `
model: {synthetic: {shape: tiny, layers: 4}}
span_policy: fixed
encoding: f32
nodes:
  - {name: entry, region: r0, entry: true, span: none}
  - {name: s1, region: r1, span: [0, 2]}
  - {name: s2, region: r2, span: [2, 4]}
links:
  default: {latency: ` + oneWay + `}
workload: {clients: 1, prompt_tokens: 8, output_tokens: ` + strconv.Itoa(tokens) + `, duration: 1ms}
`
}

// TestLinkLatencyPerTraversal: a 40 ms one-way link adds 40 ms per
// network traversal to the per-token latency (within 10%): the 2-hop
// route has 3 traversals per token, so the per-token latency grows by
// about 120 ms.
func TestLinkLatencyPerTraversal(t *testing.T) {
	needVocab(t)
	// Two rounds, keeping the one whose added latency is smallest: other
	// jobs on a loaded machine only ever add time, so the smaller round is
	// the one they disturbed less, and an emulator that adds too little
	// still fails the lower bound.
	perTraversal := math.Inf(1)
	for round := 0; round < 2; round++ {
		perToken := map[string]float64{}
		for _, lat := range []string{"0", "40ms"} {
			sc := mustParse(t, latencyScenario(lat))
			res, err := Run(context.Background(), sc, testOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			if res.Summary.Completed != 1 || res.Summary.MeanTraversals != 3 || res.Summary.MeanHops != 2 {
				t.Fatalf("%s: summary %+v requests %+v", lat, res.Summary, res.Requests)
			}
			perToken[lat] = res.Summary.PerTokenMeanMS
		}
		pt := (perToken["40ms"] - perToken["0"]) / 3
		t.Logf("round %d: per token %.2f ms at 0, %.2f ms at 40ms one-way: +%.2f ms per traversal", round, perToken["0"], perToken["40ms"], pt)
		perTraversal = min(perTraversal, pt)
	}
	if perTraversal < 36 || perTraversal > 44 {
		t.Fatalf("a 40ms link adds %.2f ms per traversal, want 40 +- 10%%", perTraversal)
	}
}

// TestLinkLatencyPerTraversalProcesses is TestLinkLatencyPerTraversal
// with real `orbit bench node` (orbit run) processes, each emulating its
// links on its own writes (--link-emulation): 40 ms one-way adds about 40 ms per traversal
// (within 10%), three traversals per token. Processes report no routes,
// so the three traversals come from the fixed spans (an entry without
// blocks, two half-model servers); the per-token means span 23 gaps.
func TestLinkLatencyPerTraversalProcesses(t *testing.T) {
	needVocab(t)
	bin := buildOrbit(t)
	// Up to three rounds, keeping the smallest added latency, as
	// TestLinkLatencyPerTraversal does: other jobs on a loaded machine
	// only ever add time, and an emulator that adds too little still fails
	// the lower bound. A round within bounds ends it.
	perTraversal := math.Inf(1)
	for round := 0; round < 3 && (perTraversal < 36 || perTraversal > 44); round++ {
		perToken := map[string]float64{}
		for _, lat := range []string{"0", "40ms"} {
			sc := mustParse(t, latencyScenarioTokens(lat, 24))
			opt := testOptions(t)
			opt.Mode, opt.Orbit = ModeProcesses, bin
			res, err := Run(context.Background(), sc, opt)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			if s.Completed != 1 || s.Failed != 0 || s.Tokens != 24 {
				t.Fatalf("%s: summary %+v requests %+v", lat, s, res.Requests)
			}
			if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "--link-emulation") {
				t.Errorf("notes %q do not say the links are emulated", res.Notes)
			}
			perToken[lat] = s.PerTokenMeanMS
		}
		pt := (perToken["40ms"] - perToken["0"]) / 3
		t.Logf("processes, round %d: per token %.2f ms at 0, %.2f ms at 40ms one-way: +%.2f ms per traversal", round, perToken["0"], perToken["40ms"], pt)
		perTraversal = min(perTraversal, pt)
		if perTraversal < 36 {
			break
		}
	}
	if perTraversal < 36 || perTraversal > 44 {
		t.Fatalf("a 40ms link adds %.2f ms per traversal, want 40 +- 10%%", perTraversal)
	}
}

// TestKillReplicated: the full-model server in use dies at 1.5s; requests
// fail over to the two half-model servers, all complete, and throughput
// recovers. The links have jitter and loss, so the shaper's delay lines
// see the kill too.
func TestKillReplicated(t *testing.T) {
	needVocab(t)
	sc := mustParse(t, `
name: kill
model: {synthetic: {shape: tiny, layers: 8}}
span_policy: fixed
nodes:
  - {name: entry, region: lan, entry: true, span: none}
  - {name: full, region: lan, span: [0, 8]}
  - {name: front, region: lan, span: [0, 4]}
  - {name: back, region: lan, span: [4, 8]}
links:
  default: {latency: 2ms, jitter: 1ms, loss: 0.005}
workload: {clients: 2, prompt_tokens: 8, output_tokens: 24, duration: 4s}
events:
  - {at: 1500ms, kill: full}
`)
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	t.Logf("summary %+v events %+v", s, res.Events)
	if s.Failed != 0 || s.Completed == 0 {
		for _, q := range res.Requests {
			if q.Error != "" {
				t.Errorf("request %d: %s", q.ID, q.Error)
			}
		}
		t.Fatalf("%d of %d requests failed", s.Failed, s.Requests)
	}
	if len(res.Events) != 1 || res.Events[0].Error != "" {
		t.Fatalf("events %+v", res.Events)
	}
	if s.Failovers == 0 {
		t.Errorf("no failover: the killed server was not in use")
	}
	kill := res.Events[0].AtS
	var before, after []float64
	for _, p := range res.Throughput {
		switch {
		case p.TimeS+res.ThroughputBinS <= kill && p.TimeS >= 0.5:
			before = append(before, p.TokensPerS)
		case p.TimeS >= kill+1 && p.TimeS+res.ThroughputBinS <= res.WorkloadS:
			after = append(after, p.TokensPerS)
		}
	}
	if len(before) == 0 || len(after) == 0 || mean(after) < 0.3*mean(before) {
		t.Errorf("throughput before the kill %v, after %v: no recovery", before, after)
	}
	lastEnd := 0.0
	for _, q := range res.Requests {
		lastEnd = max(lastEnd, q.EndS)
		for _, h := range q.Route {
			if q.StartS > kill+0.5 && h.Node == "full" {
				t.Errorf("request %d started after the kill was routed through the dead server", q.ID)
			}
		}
	}
	if lastEnd < kill {
		t.Errorf("no request ran after the kill")
	}
}

func TestModes(t *testing.T) {
	sc := mustParse(t, minimal)
	for _, tc := range []struct{ mode, want string }{{"processes", "test binary"}, {"cloud", "want mocknet or processes"}} {
		_, err := Run(context.Background(), sc, Options{Mode: tc.mode})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mode %s: %v", tc.mode, err)
		}
	}
}

// TestMemoryBudget: a server given an auto span and a memory budget below
// one block's weights takes one block; without the budget, max_blocks
// alone bounds it.
func TestMemoryBudget(t *testing.T) {
	needVocab(t)
	sc := mustParse(t, `
name: memory
model: {synthetic: {shape: tiny, layers: 4}}
nodes:
  - {name: entry, entry: true, span: none}
  - {name: full, span: [0, 4]}
  - {name: small, span: auto, memory: 1KiB}
  - {name: capped, span: auto, max_blocks: 3}
workload: {clients: 1, prompt_tokens: 4, output_tokens: 2, duration: 1ms}
`)
	if g := sc.Nodes[2]; g.Memory != 1<<10 || !g.Span.Auto {
		t.Fatalf("parsed group %+v", g)
	}
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string][2]int{}
	for _, n := range res.Nodes {
		spans[n.Name] = n.Span
	}
	t.Logf("spans %v", spans)
	for _, tc := range []struct {
		node     string
		min, max int
	}{
		{"full", 4, 4},
		{"small", 1, 1},
		{"capped", 1, 3},
	} {
		s := spans[tc.node]
		if l := s[1] - s[0]; l < tc.min || l > tc.max {
			t.Errorf("node %s: span %v of %d blocks, want %d..%d", tc.node, s, l, tc.min, tc.max)
		}
	}
}

// TestCIDModel: a scenario's model.cid is exported from the weight store
// (Options.DataDir) byte-identical to the imported file, and the swarm
// serves it; without a store, or with a CID the store lacks, Run fails
// clearly.
func TestCIDModel(t *testing.T) {
	needVocab(t)
	modelPath := findShared(filepath.Join("models", "aidreams260K.gguf"))
	want, err := os.ReadFile(modelPath)
	if err != nil {
		t.Fatalf("(../shared must sit beside the repository) %v", err)
	}
	dataDir := t.TempDir()
	store, err := weights.Open(dataDir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	root, err := store.Import(context.Background(), f, weights.ImportOptions{Name: "dreams"})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	scenario := func(model string) *Scenario {
		return mustParse(t, `
name: cid
model: {cid: `+model+`}
span_policy: fixed
encoding: f32
nodes:
  - {name: entry, entry: true, span: none}
  - {name: s1, span: [0, 2]}
  - {name: s2, span: [2, 4]}
links:
  default: {latency: 1ms}
workload: {clients: 1, prompt_tokens: 8, output_tokens: 8, duration: 300ms}
`)
	}
	// Errors first: they stop before any node starts.
	for _, tc := range []struct {
		name, model, dataDir, want string
	}{
		{"no store", root.String(), "", "no weight store"},
		{"missing store", root.String(), filepath.Join(t.TempDir(), "none"), "weight store"},
		{"unknown alias", "nosuchmodel", dataDir, "neither a model name nor a CID"},
		{"CID not stored", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", dataDir, "exporting it from the weight store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := Options{WorkDir: t.TempDir(), DataDir: tc.dataDir}
			_, err := Run(context.Background(), scenario(tc.model), opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	for _, model := range []string{root.String(), "dreams"} {
		t.Run("serves "+model, func(t *testing.T) {
			opt := testOptions(t)
			opt.WorkDir, opt.DataDir = t.TempDir(), dataDir
			res, err := Run(context.Background(), scenario(model), opt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(res.Model.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) || !strings.Contains(res.Model.Path, root.String()) {
				t.Errorf("exported %s (%d bytes) differs from the imported file (%d bytes)", res.Model.Path, len(got), len(want))
			}
			if s := res.Summary; s.Completed == 0 || s.Failed != 0 || res.Model.Layers != 4 {
				t.Errorf("summary %+v, model %+v", s, res.Model)
			}
		})
	}
}

// buildOrbit builds the orbit command for processes mode.
func buildOrbit(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds orbit and runs processes")
	}
	bin := filepath.Join(t.TempDir(), "orbit")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/orbitswarm/orbit/cmd/orbit")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestProcesses runs a 3-process swarm (entry with the first half, two
// servers with the second, one SIGKILLed mid-run) briefly and checks
// results.json.
func TestProcesses(t *testing.T) {
	needVocab(t)
	bin := buildOrbit(t)
	sc := mustParse(t, `
name: procs
model: {synthetic: {shape: tiny, layers: 4}}
span_policy: fixed
nodes:
  - {name: entry, entry: true, span: [0, 2]}
  - {name: server, count: 2, span: [2, 4]}
links:
  default: {latency: 20ms}
workload: {clients: 2, prompt_tokens: 8, output_tokens: 8, duration: 2s}
events:
  - {at: 1s, kill: server-1}
`)
	opt := testOptions(t)
	opt.Mode, opt.Orbit = ModeProcesses, bin
	res, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	s := back.Summary
	t.Logf("summary %+v", s)
	if back.Mode != ModeProcesses || len(back.Nodes) != 3 || len(back.Notes) == 0 {
		t.Errorf("mode %q, %d nodes, notes %q", back.Mode, len(back.Nodes), back.Notes)
	}
	if s.Completed == 0 || s.Failed != 0 || s.Tokens == 0 || s.TTFTP50MS <= 0 {
		for _, q := range back.Requests {
			if q.Error != "" {
				t.Errorf("request %d: %s", q.ID, q.Error)
			}
		}
		t.Fatalf("summary %+v", s)
	}
	for _, n := range back.Nodes {
		if want := map[string][2]int{"entry": {0, 2}, "server-0": {2, 4}, "server-1": {2, 4}}[n.Name]; n.Span != want {
			t.Errorf("node %s: span %v, want %v", n.Name, n.Span, want)
		}
		if (n.KilledS > 0) != (n.Name == "server-1") {
			t.Errorf("node %s: killed at %v", n.Name, n.KilledS)
		}
	}
	if len(back.Events) != 1 || back.Events[0].Error != "" {
		t.Errorf("events %+v", back.Events)
	}
	lastEnd := 0.0
	for _, q := range back.Requests {
		lastEnd = max(lastEnd, q.EndS)
	}
	if lastEnd < back.Events[0].AtS {
		t.Errorf("no request ran after the kill")
	}
	// The entry API reports every request's route and hop timings (and
	// failovers): by node name, covering the model's blocks in order.
	names := map[string]bool{"entry": true, "server-0": true, "server-1": true}
	for _, q := range back.Requests {
		if q.Error != "" || q.OutputTokens == 0 {
			continue
		}
		at := 0
		for _, h := range q.Route {
			if !names[h.Node] || h.Start != at {
				t.Errorf("request %d: route %+v", q.ID, q.Route)
				break
			}
			at = h.End
		}
		if at != 4 || len(q.Hops) == 0 {
			t.Errorf("request %d: route %+v, %d hop timings", q.ID, q.Route, len(q.Hops))
		}
		for _, h := range q.Hops {
			if !names[h.Node] || h.Steps == 0 || h.ComputeMS <= 0 {
				t.Errorf("request %d: hop %+v", q.ID, h)
			}
		}
	}
	if s.MeanHops < 2 || s.MeanComputeMS <= 0 || len(back.Hops) == 0 {
		t.Errorf("mean hops %.2f, compute %.3f ms, %d hop rows", s.MeanHops, s.MeanComputeMS, len(back.Hops))
	}
	hops, err := os.ReadFile(filepath.Join(dir, "hops.csv"))
	if err != nil || strings.Count(string(hops), "\n") < 2 {
		t.Errorf("hops.csv: %v\n%s", err, hops)
	}
	t.Logf("failovers %d", s.Failovers)
}

// TestReadStatus: a node's stdout lines (orbit bench node --status-json)
// give its ready event (peer, addrs, span, API without the scheme) and its
// link-emulation acknowledgements; text lines, other events and broken
// JSON are neither.
func TestReadStatus(t *testing.T) {
	for _, tc := range []struct {
		line  string
		ready bool
		api   string
		span  [2]int
		ack   *linkAck
	}{
		{`{"event":"ready","peer":"12D3","addrs":["/ip4/127.0.0.1/tcp/1/p2p/12D3"],"model":"m","start":0,"end":4,"throughput":5.5,"peers":0,"api":"http://127.0.0.1:99"}`,
			true, "127.0.0.1:99", [2]int{0, 4}, nil},
		{`{"event":"ready","peer":"12D3","addrs":["/a","/b"],"model":"m","start":4,"end":8,"throughput":1,"peers":2}`, true, "", [2]int{4, 8}, nil},
		{`{"event":"ready","model":"m"}`, false, "", [2]int{}, nil},
		{"ready peer=12D3 addrs=/a model=m span=[2,3) throughput=1 peers=2 api=off", false, "", [2]int{}, nil},
		{`{"event":"links","generation":3,"cut":[["a","b"],["c","d"]]}`, false, "", [2]int{}, &linkAck{gen: 3}},
		{`{"event":"links","generation":0}`, false, "", [2]int{}, &linkAck{gen: 0}},
		{`{"event":"links","generation":0,"error":"link emulation: bad \"x\""}`, false, "", [2]int{}, &linkAck{err: `link emulation: bad "x"`}},
		{`{"event":"links","generation":"x"}`, false, "", [2]int{}, nil},
		{"links generation=3 cut=a|b", false, "", [2]int{}, nil},
		{`{"event":"stopping"}`, false, "", [2]int{}, nil},
		{"stopping", false, "", [2]int{}, nil},
	} {
		r, a := readStatus(tc.line)
		if (r != nil) != tc.ready || (a == nil) != (tc.ack == nil) || a != nil && *a != *tc.ack {
			t.Errorf("%q: ready %+v ack %+v, want ready %v ack %+v", tc.line, r, a, tc.ready, tc.ack)
			continue
		}
		if r != nil {
			pn := &procNode{}
			pn.setReady(*r)
			if pn.api != tc.api || pn.span != tc.span || pn.peer != "12D3" || len(pn.addrs) == 0 {
				t.Errorf("%q: node %+v", tc.line, pn)
			}
		}
	}
}

// TestShaperDelayLine: jitter stays within bounds, order is kept (a
// chunk never arrives before the one written before it), loss stalls
// happen at about the configured rate, and a link without jitter or loss
// passes chunks at once.
func TestShaperDelayLine(t *testing.T) {
	links := Links{
		Default: Link{Latency: Duration(10 * time.Millisecond)},
		Pairs: []LinkPair{
			{Regions: [2]string{"a", "b"}, Link: Link{Latency: Duration(10 * time.Millisecond), Jitter: Duration(5 * time.Millisecond), Loss: 0.1}},
		},
	}
	sh := newShaper(links, 1)
	sh.addNode("pa", "A", "a")
	sh.addNode("pb", "B", "b")
	sh.addNode("pc", "C", "c")
	now := time.Unix(1000, 0)
	var prev time.Time
	stalls := 0
	const n = 2000
	for i := range n {
		at := now.Add(time.Duration(i) * time.Millisecond)
		due := sh.due("pa", "pb", 100, at)
		if due.Before(prev) {
			t.Fatalf("chunk %d due %v before the previous %v", i, due, prev)
		}
		if d := due.Sub(at); d > 5*time.Millisecond && d < retransmitStall {
			// Only a stall (or queueing behind one) delays past the jitter.
			if due != prev {
				t.Fatalf("chunk %d delayed %v: more than the jitter without a stall", i, d)
			}
		}
		if due.Sub(at) >= retransmitStall && due != prev {
			stalls++
		}
		prev = due
	}
	if stalls < n/20 || stalls > n/5 {
		t.Errorf("%d stalls in %d chunks at loss 0.1", stalls, n)
	}
	if due := sh.due("pa", "pc", 100, now); !due.Equal(now) {
		t.Errorf("plain link delayed a chunk by %v", due.Sub(now))
	}
	st := sh.stats()
	if len(st) != 2 || st[0].Chunks != n || st[0].Bytes != 100*n || st[0].MeanDelayMS <= 10 || st[1].MeanDelayMS != 10 {
		t.Errorf("stats %+v", st)
	}
}

// TestCut: the entry reaches a full-model server in each of two regions;
// cutting the links to one of them mid-run moves every request to the
// other, and none fails.
func TestCut(t *testing.T) {
	needVocab(t)
	sc := mustParse(t, `
name: cut
model: {synthetic: {shape: tiny, layers: 4}}
span_policy: fixed
nodes:
  - {name: entry, region: home, entry: true, span: none}
  - {name: near, region: near, span: [0, 4]}
  - {name: far, region: far, span: [0, 4]}
links:
  default: {latency: 2ms}
  pairs:
    - {regions: [home, far], latency: 30ms}
workload: {clients: 2, prompt_tokens: 8, output_tokens: 16, duration: 3s}
events:
  - {at: 1s, cut: [home, near]}
`)
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	t.Logf("summary %+v events %+v", s, res.Events)
	if len(res.Events) != 1 || res.Events[0].Error != "" {
		t.Fatalf("events %+v", res.Events)
	}
	cut := res.Events[0].AtS
	before, after := 0, 0
	for _, q := range res.Requests {
		if q.Error != "" {
			t.Errorf("request %d failed: %s", q.ID, q.Error)
		}
		if len(q.Route) != 1 {
			continue
		}
		switch {
		case q.EndS < cut && q.Route[0].Node == "near":
			before++
		case q.StartS > cut+0.1:
			if q.Route[0].Node != "far" {
				t.Errorf("request %d started after the cut went through %s", q.ID, q.Route[0].Node)
			}
			after++
		}
	}
	if before == 0 || after == 0 {
		t.Errorf("%d requests through near before the cut, %d after it", before, after)
	}
}

// TestCutProcesses is TestCut with `orbit run` processes emulating their
// links: processes report no routes, so the per-token latency tells the
// way a request went. Before the cut the one-hop way through near (2 ms
// links) wins, with fewer hops and shorter round trips than the far way;
// after it every request takes the far way (about 2 x 30 ms + 2 ms per
// token), none fails, and the cut and the heal are applied by every
// process. The cut lasts 2 s: the requests in flight at the cut fail over
// (about 0.9 s), and the next ones (about 0.65 s each) must start and end
// within it.
func TestCutProcesses(t *testing.T) {
	needVocab(t)
	bin := buildOrbit(t)
	sc := mustParse(t, `
name: cut-processes
model: {synthetic: {shape: tiny, layers: 4}}
span_policy: fixed
nodes:
  - {name: entry, region: home, entry: true, span: none}
  - {name: near, region: near, span: [0, 4]}
  - {name: far-a, region: far, span: [0, 2]}
  - {name: far-b, region: far, span: [2, 4]}
links:
  default: {latency: 2ms}
  pairs:
    - {regions: [home, far], latency: 30ms}
workload: {clients: 2, prompt_tokens: 8, output_tokens: 8, duration: 4s}
events:
  - {at: 1s, cut: [home, near]}
  - {at: 3s, heal: [home, near]}
`)
	opt := testOptions(t)
	opt.Mode, opt.Orbit = ModeProcesses, bin
	res, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary %+v events %+v", res.Summary, res.Events)
	if len(res.Events) != 2 {
		t.Fatalf("events %+v", res.Events)
	}
	for _, e := range res.Events {
		if e.Error != "" {
			t.Errorf("%s %s: %s", e.Kind, e.Target, e.Error)
		}
	}
	cut, heal := res.Events[0].AtS, res.Events[1].AtS
	before, during := 0, 0
	for _, q := range res.Requests {
		if q.Error != "" {
			t.Errorf("request %d failed: %s", q.ID, q.Error)
			continue
		}
		switch {
		case q.EndS < cut && q.PerTokenMS < 30:
			before++ // the 2 ms way
		case q.StartS > cut+0.1 && q.EndS < heal:
			// Two traversals of the 30 ms link per token (and one of 2 ms).
			if q.PerTokenMS < 55 {
				t.Errorf("request %d during the cut: %.1f ms per token, too fast for the far way", q.ID, q.PerTokenMS)
			}
			during++
		}
	}
	if before == 0 || during == 0 {
		t.Errorf("%d requests the near way before the cut, %d during it", before, during)
	}
}

// TestRouteSeesLinkLatency: the entry node has two replicas of the whole
// model, a slowed-down one next to it (1 ms) and a full-speed one across a
// 30 ms link. By compute alone the far one is faster; with the round trips
// the node measures (info queries on open connections feed the peerstore's
// latency), the near one is, and every token avoids the far link.
func TestRouteSeesLinkLatency(t *testing.T) {
	needVocab(t)
	sc := mustParse(t, `
name: route-rtt
model: {synthetic: {shape: tiny, layers: 4}}
span_policy: fixed
encoding: f32
nodes:
  - {name: entry, region: here, entry: true, span: none}
  - {name: near, region: here, span: [0, 4], slowdown: 3}
  - {name: far, region: there, span: [0, 4]}
links:
  default: {latency: 1ms}
  pairs:
    - {regions: [here, there], latency: 30ms}
workload: {clients: 1, prompt_tokens: 8, output_tokens: 12, duration: 1ms}
`)
	res, err := Run(context.Background(), sc, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Completed != 1 {
		t.Fatalf("summary %+v", res.Summary)
	}
	// Through far, a token crosses the 30 ms link twice (60 ms); through
	// near it stays well under that.
	if res.Summary.PerTokenMeanMS >= 30 {
		t.Fatalf("per-token latency %.1f ms: the route went through the far replica", res.Summary.PerTokenMeanMS)
	}
}

// checkPlots checks that Results.Write left the three plots in dir as
// PNG images at least 100 pixels wide.
func checkPlots(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"throughput.png", "latency_cdf.png", "hops.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 100 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestOverrides: orbit bench's flags change the loaded scenario (model,
// every group's threads and compute cost, the sweep) and are validated.
func TestOverrides(t *testing.T) {
	sc, err := LoadFile("scenarios/concurrency.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Override(Overrides{Shape: "llama-8b", Type: "q4_0", Threads: 4, ComputeCost: "none", Concurrency: []int{1, 8}}); err != nil {
		t.Fatal(err)
	}
	if s := sc.Model.Synthetic; s.Shape != "llama-8b" || s.Type != "q4_0" || s.Layers != 32 {
		t.Errorf("model %+v", s)
	}
	for _, g := range sc.Nodes {
		if g.Threads != 4 || g.ComputeCost != nil {
			t.Errorf("group %s: threads %d, compute cost %v", g.Name, g.Threads, g.ComputeCost)
		}
	}
	if !slices.Equal(sc.Workload.Concurrency, []int{1, 8}) {
		t.Errorf("concurrency %v", sc.Workload.Concurrency)
	}
	if err := sc.Override(Overrides{ComputeCost: "2ms,500us"}); err != nil {
		t.Fatal(err)
	}
	if c := sc.Nodes[1].ComputeCost.Node(); c.Block != 2*time.Millisecond || c.Row != 500*time.Microsecond {
		t.Errorf("compute cost %+v", c)
	}
	if err := sc.Override(Overrides{MaxConcurrent: "4"}); err != nil || sc.Nodes[0].MaxConcurrent != "4" || sc.Nodes[1].MaxConcurrent != "" {
		t.Errorf("max_concurrent: %v, entry %q, server %q", err, sc.Nodes[0].MaxConcurrent, sc.Nodes[1].MaxConcurrent)
	}
	for _, o := range []Overrides{{ComputeCost: "2ms"}, {ComputeCost: "fast,1ms"}, {Concurrency: []int{0}}, {Threads: -1}, {MaxConcurrent: "lots"}} {
		if err := sc.Override(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	path := mustParse(t, "model: {path: m.gguf}\nnodes: [{name: e, entry: true}]\n")
	if err := path.Override(Overrides{Shape: "llama-1b"}); err == nil {
		t.Error("--shape on a model file: no error")
	}
}

// TestVerifyRates: a lying server (noise from position 20) in a route is
// caught at verify rate 1 in the step it first lies in, wasting no token,
// and never at rate 0, where every token after its first lie is wasted;
// checking costs time at rate 1 and none at rate 0.
func TestVerifyRates(t *testing.T) {
	needVocab(t)
	sc, err := LoadFile("scenarios/liars.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Workload.VerifyRates = []float64{0, 1}
	sc.Workload.PromptTokens, sc.Workload.OutputTokens = 8, 24
	opt := testOptions(t)
	opt.Duration = time.Second
	res, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Verify) != 2 {
		t.Fatalf("%d verify points, want 2", len(res.Verify))
	}
	off, on := res.Verify[0], res.Verify[1]
	for _, p := range res.Verify {
		t.Logf("rate %.2f: %+v", p.Rate, p)
		if p.Requests == 0 || p.Failed != 0 || p.Tokens == 0 {
			t.Errorf("rate %v: %d requests, %d failed, %d tokens", p.Rate, p.Requests, p.Failed, p.Tokens)
		}
	}
	if off.Detected || off.Checks != 0 || off.WastedTokens == 0 || len(off.Banned) != 0 {
		t.Errorf("rate 0: %+v, want no check, the liar's tokens wasted", off)
	}
	if !on.Detected || on.DetectionSteps != 1 || on.WastedTokens != 0 || on.Checks == 0 || on.CheckS <= 0 ||
		!slices.Equal(on.Banned, []string{"liar"}) {
		t.Errorf("rate 1: %+v, want the liar caught at its first lie, no token wasted", on)
	}
	dir := t.TempDir()
	if err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "verify.csv"))
	if err != nil || strings.Count(string(b), "\n") != 3 {
		t.Fatalf("verify.csv: %v\n%s", err, b)
	}
}
