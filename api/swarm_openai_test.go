package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/swarmbackend"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

// swarmPair is a 2-node swarm on loopback: entry serves blocks [0,2) and
// the API's generations, server serves [2,4), fetched from entry's store.
// Each node counts into its own metrics (the entry's are the backend's).
type swarmPair struct {
	entry, server *node.Node
	root          cid.Cid
	backend       *swarmbackend.Backend
	metrics       *metrics.Metrics // the entry's
	serverMetrics *metrics.Metrics

	log   *slog.Logger
	start func(store *weights.Store, m *metrics.Metrics, boot ...*node.Node) *node.Node
}

func startSwarmPair(t *testing.T) *swarmPair {
	t.Helper()
	p := startSwarmEntry(t)
	p.addServer(t)
	return p
}

func openTestStore(t *testing.T, log *slog.Logger) *weights.Store {
	t.Helper()
	s, err := weights.Open(t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startSwarmEntry starts the entry alone: until addServer, blocks [2,4)
// have no server and the swarm cannot generate.
func startSwarmEntry(t *testing.T) *swarmPair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	storeA := openTestStore(t, log)
	f, err := gguf.Open(testModelPath)
	if err != nil {
		t.Fatalf("opening the test model: %v", err)
	}
	root, err := storeA.Import(ctx, f, weights.ImportOptions{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := &swarmPair{root: root, log: log, metrics: metrics.New(), serverMetrics: metrics.New()}
	p.start = func(store *weights.Store, m *metrics.Metrics, boot ...*node.Node) *node.Node {
		cfg := node.Config{
			Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true, Logger: log, Store: store, Metrics: m,
			StepTimeout: 10 * time.Second, IOTimeout: 10 * time.Second, DiscoveryTimeout: 2 * time.Second, Version: "test",
		}
		for _, b := range boot {
			cfg.Bootstrap = append(cfg.Bootstrap, b.Addrs()[0].String())
		}
		n, err := node.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	p.entry = p.start(storeA, p.metrics)
	srcA, err := p.entry.StoreSource(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.entry.Serve(ctx, srcA, node.ServeOptions{Blocks: sharding.Span{Start: 0, End: 2}, Entry: true}); err != nil {
		t.Fatal(err)
	}
	p.backend = swarmbackend.New(p.entry, swarmbackend.Options{Metrics: p.metrics, Logger: log})
	return p
}

// addServer starts the server of blocks [2,4), fetching them from the
// entry, and waits until the entry sees it.
func (p *swarmPair) addServer(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p.server = p.start(openTestStore(t, p.log), p.serverMetrics, p.entry)
	srcB, err := p.server.StoreSource(p.root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.server.Serve(ctx, srcB, node.ServeOptions{Blocks: sharding.Span{Start: 2, End: 4}}); err != nil {
		t.Fatal(err)
	}
	for {
		v, err := p.entry.SwarmView(ctx, p.root.String(), true)
		if err == nil && len(v.Swarm.Servers) == 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the entry does not see both servers: %v", err)
		}
	}
}

// TestSwarmOpenAINodeClient: the official openai npm client streams a chat
// completion from the entry node of a 2-node swarm, and a completion at
// temperature 0 is the single-process greedy text.
func TestSwarmOpenAINodeClient(t *testing.T) {
	nodeBin := needNode(t)
	_, m, tok := newLocal(t, api.LocalOptions{})
	p := startSwarmPair(t)
	const prompt, n = "I dream of", 40
	model := p.root.String()
	ts, _ := serve(t, p.backend, api.Options{APIKey: "swarm-key", Metrics: metrics.New()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "testdata/openai_client.mjs", ts.URL+"/v1", model, "swarm-key", prompt, "40")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res struct {
		ChatStream struct {
			Text, Role   string
			Chunks       int
			FinishReason string    `json:"finish_reason"`
			Usage        api.Usage `json:"usage"`
		} `json:"chat_stream"`
		Chat struct {
			Text string
		} `json:"chat"`
		Completion struct {
			Text         string
			FinishReason string    `json:"finish_reason"`
			Usage        api.Usage `json:"usage"`
		}
		Models       []string
		ModelRoots   []string             `json:"model_roots"`
		Retrieved    string               `json:"retrieved"`
		UnknownModel struct{ Status int } `json:"unknown_model"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := referenceText(t, m, tok, prompt, n); res.Completion.Text != want {
		t.Errorf("completion through the swarm %q\nwant (single process) %q", res.Completion.Text, want)
	}
	if u := res.Completion.Usage; u.CompletionTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("completion usage %+v", u)
	}
	cs := res.ChatStream
	if cs.Chunks < 3 || cs.Role != "assistant" || cs.FinishReason == "" || cs.Text == "" || cs.Text != res.Chat.Text {
		t.Errorf("chat stream %+v, non-streamed text %q", cs, res.Chat.Text)
	}
	// Coverage and capacity per block: each of the two nodes serves two
	// blocks, at its measured throughput.
	ms, err := p.backend.Models(ctx)
	if err != nil || len(ms) != 1 || len(ms[0].Throughput) != 4 || !slices.Equal(ms[0].Coverage, []int{1, 1, 1, 1}) {
		t.Fatalf("models %+v, %v", ms, err)
	}
	// The model is listed by its name (as orbit serve lists it), its root
	// CID beside it; the listed name retrieves it.
	if name := ms[0].Name; name == "" || !slices.Equal(res.Models, []string{name}) || !slices.Equal(res.ModelRoots, []string{model}) || res.Retrieved != name {
		t.Errorf("models %v, roots %v, retrieved %q; want [%s], [%s], %[4]s", res.Models, res.ModelRoots, res.Retrieved, name, model)
	}
	if res.UnknownModel.Status != 404 {
		t.Errorf("unknown model: %+v", res.UnknownModel)
	}
	for i, v := range ms[0].Throughput {
		if !(v > 0) || v != ms[0].Throughput[i&^1] {
			t.Errorf("throughput per block %v: want > 0, equal within a node's span", ms[0].Throughput)
		}
	}
	// The route and metrics saw both hops.
	route, err := p.backend.Route(ctx, model)
	if err != nil || len(route) != 2 || route[0].Peer != p.entry.ID().String() || !route[0].Local || route[1].Peer != p.server.ID().String() {
		t.Errorf("route %+v, %v", route, err)
	}
	st, err := p.backend.Status(ctx)
	if err != nil || st.Requests < 3 || st.TokensGenerated == 0 {
		t.Errorf("status %+v, %v", st, err)
	}
}

// TestSwarmDashboard renders the dashboard of a running 2-node swarm's
// entry node in headless Chromium: it shows both peers and their spans,
// and its playground returns the swarm's text (the engine's greedy text).
func TestSwarmDashboard(t *testing.T) {
	chromium := needChromium(t)
	m, tok := loadModel(t)
	const prompt, n = "I dream of", 8
	want := referenceText(t, m, tok, prompt, n)
	p := startSwarmPair(t)
	ts, _ := serve(t, p.backend, api.Options{})
	q := url.Values{"prompt": {prompt}, "autorun": {"1"}, "max_tokens": {strconv.Itoa(n)}, "temperature": {"0"}}
	var dom string
	for try := 0; try < 3; try++ {
		dom = dumpDOM(t, chromium, ts.URL+"/?"+q.Encode())
		if strings.Contains(dom, `data-done="1"`) {
			break
		}
		t.Logf("try %d: the playground had not finished; dumping again", try+1)
	}
	for _, s := range []string{
		`data-peer="` + p.entry.ID().String() + `"`, `data-peer="` + p.server.ID().String() + `"`,
		`data-model="` + p.root.String() + `"`, "[0,2) · this node",
		// 52-character peer IDs show as their first and last 6.
		`title="` + p.server.ID().String() + `" data-full="` + p.server.ID().String() + `">` + p.server.ID().String()[:6] + "…" + p.server.ID().String()[46:] + "<",
		`data-copy="` + p.entry.ID().String() + `"`,
		// The playground lists the model by its name.
		`<option value="` + p.root.String() + `" title="` + p.root.String() + `">aidreams260K</option>`,
		// Both servers' KV caches, with their budgets.
		`<tr class="kv-row self" data-peer="` + p.entry.ID().String() + `"`, `<tr class="kv-row" data-peer="` + p.server.ID().String() + `"`,
	} {
		if !strings.Contains(dom, html.EscapeString(s)) && !strings.Contains(dom, s) {
			t.Errorf("the dashboard lacks %q", s)
		}
	}
	if n := len(regexp.MustCompile(`>0 / [1-9][0-9]* positions \(0\.0%\) · 0 B / 1\.0 GiB<`).FindAllString(dom, -1)); n != 2 {
		t.Errorf("%d KV caches shown empty with a budget of 1 GiB, want 2", n)
	}
	cov := regexp.MustCompile(`class="blk cov(\d)"[^>]*>(\d)<`).FindAllStringSubmatch(dom, -1)
	var got []string
	for _, c := range cov {
		got = append(got, c[2])
	}
	if strings.Join(got, ",") != "1,1,1,1" {
		t.Errorf("coverage cells %v, want 1,1,1,1", got)
	}
	row := regexp.MustCompile(`(?s)<tr class="peer" data-peer="` + p.server.ID().String() + `">(.*?)</tr>`).FindStringSubmatch(dom)
	if row == nil || strings.Count(row[1], `class="blk on"`) != 2 || strings.Count(row[1], `class="blk"`) != 2 {
		t.Errorf("the server's span row: %v", row)
	}
	row = regexp.MustCompile(`(?s)<tr class="peer self" data-peer="` + p.entry.ID().String() + `">(.*?)</tr>`).FindStringSubmatch(dom)
	if row == nil || strings.Count(row[1], `class="blk on"`) != 2 {
		t.Errorf("the entry's span row: %v", row)
	}
	if !strings.Contains(dom, `data-done="1"`) {
		t.Errorf("the playground did not finish: %s", regexp.MustCompile(`(?s)<div id="pg-status".*?</div>`).FindString(dom))
	}
	out := regexp.MustCompile(`(?s)<pre id="output" class="output"[^>]*>(.*?)</pre>`).FindStringSubmatch(dom)
	if out == nil {
		t.Fatalf("no playground output in the DOM")
	}
	if text := html.UnescapeString(out[1]); text == "" || text != want {
		t.Errorf("playground text through the swarm %q\nwant %q", text, want)
	}
}
