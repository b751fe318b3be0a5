package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/ipfs/go-cid"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/api/swarmbackend"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/sharding"
	"github.com/orbitswarm/orbit/weights"
)

func TestSwarmText(t *testing.T) {
	for _, tc := range []struct {
		servers []int
		want    string
	}{
		{nil, "unknown"},
		{[]int{1, 1, 1, 1}, "blocks 0-3: 1 server each"},
		{[]int{2, 3, 2, 2}, "blocks 0-3: 2-3 servers each"},
		{[]int{2, 2, 0, 0}, "blocks 0-1: 2 servers each; gap at 2-3"},
		{[]int{1, 0, 2, 0}, "blocks 0,2: 1-2 servers each; gaps at 1,3"},
		{[]int{0, 3, 0}, "block 1: 3 servers; gaps at 0,2"},
		{[]int{0, 0}, "gap at 0-1"},
	} {
		if got := swarmText(tc.servers); got != tc.want {
			t.Errorf("swarmText(%v) = %q, want %q", tc.servers, got, tc.want)
		}
	}
	for _, tc := range []struct {
		local []bool
		want  string
	}{
		{nil, "none"},
		{[]bool{true, true, true, true, false, false, true}, "0-3,6"},
		{[]bool{false, true}, "1"},
	} {
		if got := weightsSpans(tc.local); got != tc.want {
			t.Errorf("weightsSpans(%v) = %q, want %q", tc.local, got, tc.want)
		}
	}
}

// table is a tabwriter listing: its header's column names and each row's
// cells by column (cells are separated by two spaces or more).
type table struct {
	cols []string
	rows []map[string]string
}

var cellSep = regexp.MustCompile(`\s{2,}`)

func parseTable(t *testing.T, out string) table {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	tb := table{cols: cellSep.Split(strings.TrimSpace(lines[0]), -1)}
	for _, l := range lines[1:] {
		cells := cellSep.Split(strings.TrimSpace(l), -1)
		if len(cells) != len(tb.cols) {
			t.Fatalf("row %q has %d cells, the header %d:\n%s", l, len(cells), len(tb.cols), out)
		}
		row := map[string]string{}
		for i, c := range cells {
			row[tb.cols[i]] = c
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

// row returns the row whose column col is v.
func (tb table) row(t *testing.T, col, v string) map[string]string {
	t.Helper()
	for _, r := range tb.rows {
		if r[col] == v {
			return r
		}
	}
	t.Fatalf("no row with %s %q in %v", col, v, tb.rows)
	return nil
}

// importCLI imports a model file into dataDir with `orbit import` and
// returns its root CID.
func importCLI(t *testing.T, dataDir, path string, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, append([]string{"import", "--data-dir", dataDir, path}, args...)...)
	if err != nil {
		t.Fatalf("import %s: %v\n%s", path, err, errOut)
	}
	return strings.TrimSpace(out)
}

// storeListing is what the weight store at dir holds.
func storeListing(t *testing.T, dir string) []weights.ModelInfo {
	t.Helper()
	s, err := weights.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Models(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// checkStoreRow checks the store columns of a listing's row for m.
func checkStoreRow(t *testing.T, row map[string]string, m weights.ModelInfo) {
	t.Helper()
	yn := map[bool]string{true: "yes", false: "no"}
	want := map[string]string{
		"NAME": m.Name, "CID": m.Root.String(), "ARCH": m.Architecture, "SIZE": humanize.IBytes(uint64(m.Bytes)),
		"LAYERS": fmt.Sprint(m.Layers), "EMBED": yn[m.Embed], "HEAD": yn[m.Head],
	}
	if m.Complete() {
		want["LOCAL BLOCKS"] = fmt.Sprintf("0-%d", m.Layers-1)
	}
	for col, v := range want {
		if row[col] != v {
			t.Errorf("%s: %s = %q, want %q (row %v)", m.Name, col, row[col], v, row)
		}
	}
}

// closedURL is the URL of a port nothing listens on any more.
func closedURL() string {
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close()
	return ts.URL
}

// countingServer serves h on loopback and counts its requests.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// modelsDoc is the documented --json document, decoded by its field names.
type modelsDoc struct {
	DataDir string `json:"data_dir"`
	Store   []struct {
		Name         string `json:"name"`
		CID          string `json:"cid"`
		HaveRoot     bool   `json:"have_root"`
		Architecture string `json:"architecture"`
		Bytes        uint64 `json:"bytes"`
		Layers       int    `json:"layers"`
		LocalBlocks  []int  `json:"local_blocks"`
		Embed        bool   `json:"embed"`
		Head         bool   `json:"head"`
		Complete     bool   `json:"complete"`
		Served       *bool  `json:"served"`
	} `json:"store"`
	Node *struct {
		API     string `json:"api"`
		Running bool   `json:"running"`
		Error   string `json:"error"`
		PeerID  string `json:"peer_id"`
		Models  []struct {
			ID            string       `json:"id"`
			Name          string       `json:"name"`
			Blocks        int          `json:"blocks"`
			ContextLength int          `json:"context_length"`
			Entry         bool         `json:"entry"`
			Spans         []blockRange `json:"spans"`
			Servers       []int        `json:"servers"`
			Gaps          []blockRange `json:"gaps"`
			InStore       *bool        `json:"in_store"`
		} `json:"models"`
	} `json:"node"`
}

func decodeModels(t *testing.T, out string) modelsDoc {
	t.Helper()
	var doc modelsDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	return doc
}

// localNode is an `orbit serve`-like node API over the real engine: the
// aidreams model under its root CID (so the store's listing and the node's
// merge) and under a plain name, as `orbit serve --id` names models.
func localNode(t *testing.T, path, root string) api.Backend {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.Load(f, engine.Full())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	name, _ := f.String("general.name")
	b, err := api.NewLocalBackend([]api.LocalModel{
		{ID: root, Name: name, Model: m, Tokenizer: tok},
		{ID: "aidreams-file", Name: name, Model: m, Tokenizer: tok},
	}, api.LocalOptions{Version: "test", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestModelsCmd runs `orbit models` against a weight store of two models
// and a real node API (the local engine backend over HTTP) serving one of
// them under its root CID and another model the store lacks.
func TestModelsCmd(t *testing.T) {
	model := filepath.Join(shared, "models", "aidreams260K.gguf")
	vocab := filepath.Join(shared, "vocab", "ggml-vocab-llama-spm.gguf")
	for _, p := range []string{model, vocab} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("test data not available: %v", err)
		}
	}
	dataDir := t.TempDir()
	root := importCLI(t, dataDir, model)
	synth := filepath.Join(t.TempDir(), "synth.gguf")
	if _, errOut, err := run(t, "synth", "--shape", "tiny", "--layers", "2", "--vocab", vocab, "-o", synth); err != nil {
		t.Fatalf("synth: %v\n%s", err, errOut)
	}
	other := importCLI(t, dataDir, synth, "--name", "other")
	store := storeListing(t, dataDir)
	if len(store) != 2 || other == root {
		t.Fatalf("store: %+v", store)
	}
	byName := map[string]weights.ModelInfo{}
	for _, m := range store {
		byName[m.Name] = m
	}
	served := ""
	for _, m := range store {
		if m.Root.String() == root {
			served = m.Name
		}
	}

	b := localNode(t, model, root)
	live, requests := countingServer(t, api.NewServer(b, api.Options{Logger: quietLogger()}))
	keyed, _ := countingServer(t, api.NewServer(b, api.Options{APIKey: "sesame", Logger: quietLogger()}))
	down := closedURL()

	// What the node says, through the Go client: the view must show it.
	c, err := client.New(live.URL)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	nodeModels, err := c.Models(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]api.ModelInfo{}
	for _, m := range nodeModels {
		info[m.ID] = m
	}
	if _, ok := info[root]; !ok || len(info) != 2 {
		t.Fatalf("node models %+v, want %s and aidreams-file", nodeModels, root)
	}
	spans := map[string]api.Span{}
	for _, s := range st.Spans {
		spans[s.Model] = s
	}
	// A local backend serves every block itself, once.
	nodeSpan := func(id string) string { return fmt.Sprintf("%d-%d", spans[id].Start, spans[id].End-1) }
	oneEach := func(id string) string { return fmt.Sprintf("blocks 0-%d: 1 server each", info[id].Blocks-1) }

	storeCols := []string{"NAME", "CID", "ARCH", "SIZE", "LAYERS", "LOCAL BLOCKS", "EMBED", "HEAD"}
	checkStoreTable := func(t *testing.T, out string) {
		tb := parseTable(t, out)
		if !slices.Equal(tb.cols, storeCols) || len(tb.rows) != len(store) {
			t.Fatalf("store listing:\n%s", out)
		}
		for _, m := range store {
			checkStoreRow(t, tb.row(t, "NAME", m.Name), m)
		}
	}
	checkMerged := func(t *testing.T, out string) {
		tb := parseTable(t, out)
		if !slices.Equal(tb.cols, append(slices.Clone(storeCols), "NODE SPAN", "SWARM")) || len(tb.rows) != 3 {
			t.Fatalf("merged listing:\n%s", out)
		}
		for _, m := range store {
			checkStoreRow(t, tb.row(t, "NAME", m.Name), m)
		}
		// In the store and served: one row with both parts.
		if r := tb.row(t, "NAME", served); r["NODE SPAN"] != nodeSpan(root) || r["SWARM"] != oneEach(root) {
			t.Errorf("served row %v, want span %s, swarm %q", r, nodeSpan(root), oneEach(root))
		}
		if r := tb.row(t, "NAME", "other"); r["NODE SPAN"] != "-" || r["SWARM"] != "-" {
			t.Errorf("unserved row %v", r)
		}
		// Served, not in the store: named by its ID, which is no CID.
		r := tb.row(t, "NAME", "aidreams-file")
		if r["CID"] != "-" || r["LOCAL BLOCKS"] != "not in store" || r["LAYERS"] != fmt.Sprint(info["aidreams-file"].Blocks) ||
			r["NODE SPAN"] != nodeSpan("aidreams-file") || r["SWARM"] != oneEach("aidreams-file") {
			t.Errorf("node-only row %v", r)
		}
	}
	noStderr := func(t *testing.T, errOut string) {
		if errOut != "" {
			t.Errorf("stderr: %q", errOut)
		}
	}
	downLine := func(t *testing.T, errOut, url string) {
		if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, url) || !strings.Contains(errOut, "listing the weight store only") {
			t.Errorf("stderr %q: want one line naming %s", errOut, url)
		}
	}

	hostPort := strings.TrimPrefix(live.URL, "http://")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // substring of the error; empty: success
		check   func(t *testing.T, out, errOut string)
	}{
		{name: "no node", args: []string{"--api", down}, check: func(t *testing.T, out, errOut string) {
			checkStoreTable(t, out)
			downLine(t, errOut, down)
		}},
		{name: "store only", args: []string{"--api", live.URL, "--store-only"}, check: func(t *testing.T, out, errOut string) {
			checkStoreTable(t, out)
			noStderr(t, errOut)
		}},
		{name: "merged", args: []string{"--api", live.URL}, check: func(t *testing.T, out, errOut string) {
			checkMerged(t, out)
			noStderr(t, errOut)
		}},
		{name: "ORBIT_API as HOST:PORT", env: map[string]string{"ORBIT_API": hostPort}, check: func(t *testing.T, out, errOut string) {
			checkMerged(t, out)
			noStderr(t, errOut)
		}},
		{name: "api key from ORBIT_API_KEY", args: []string{"--api", keyed.URL}, env: map[string]string{"ORBIT_API_KEY": "sesame"},
			check: func(t *testing.T, out, errOut string) {
				checkMerged(t, out)
				noStderr(t, errOut)
			}},
		{name: "wrong api key", args: []string{"--api", keyed.URL, "--api-key", "wrong"}, check: func(t *testing.T, out, errOut string) {
			checkStoreTable(t, out)
			downLine(t, errOut, keyed.URL)
			if !strings.Contains(errOut, "401") {
				t.Errorf("stderr %q does not give the HTTP status", errOut)
			}
		}},
		{name: "node only", args: []string{"--api", live.URL, "--node-only"}, check: func(t *testing.T, out, errOut string) {
			tb := parseTable(t, out)
			if !slices.Equal(tb.cols, []string{"MODEL", "NAME", "LAYERS", "CONTEXT", "NODE SPAN", "SWARM"}) || len(tb.rows) != len(info) {
				t.Fatalf("node listing:\n%s", out)
			}
			for id, m := range info {
				r := tb.row(t, "MODEL", id)
				if r["NAME"] != m.Name || r["LAYERS"] != fmt.Sprint(m.Blocks) || r["CONTEXT"] != fmt.Sprint(m.ContextLength) ||
					r["NODE SPAN"] != nodeSpan(id) || r["SWARM"] != oneEach(id) {
					t.Errorf("row %v for %+v", r, m)
				}
			}
			noStderr(t, errOut)
		}},
		{name: "node only, no node", args: []string{"--api", down, "--node-only"}, wantErr: down},
		{name: "store only and node only", args: []string{"--store-only", "--node-only"}, wantErr: "none of the others can be"},
		{name: "bad address", args: []string{"--api", "ftp://x"}, wantErr: "--api"},
		{name: "json", args: []string{"--api", live.URL, "--json"}, check: func(t *testing.T, out, errOut string) {
			doc := decodeModels(t, out)
			if doc.DataDir != dataDir || len(doc.Store) != len(store) || doc.Node == nil {
				t.Fatalf("document %+v", doc)
			}
			for _, s := range doc.Store {
				m := byName[s.Name]
				var local []int
				for i, ok := range m.LocalBlocks {
					if ok {
						local = append(local, i)
					}
				}
				if s.CID != m.Root.String() || !s.HaveRoot || s.Architecture != m.Architecture || s.Bytes != m.Bytes ||
					s.Layers != m.Layers || !slices.Equal(s.LocalBlocks, local) || s.Embed != m.Embed || s.Head != m.Head ||
					s.Complete != m.Complete() || s.Served == nil || *s.Served != (s.CID == root) {
					t.Errorf("store entry %+v, store has %+v", s, m)
				}
			}
			n := doc.Node
			if n.API != live.URL || !n.Running || n.Error != "" || n.PeerID != st.PeerID || len(n.Models) != len(info) {
				t.Fatalf("node %+v", n)
			}
			for _, m := range n.Models {
				want, sp := info[m.ID], spans[m.ID]
				if m.Name != want.Name || m.Blocks != want.Blocks || m.ContextLength != want.ContextLength || !m.Entry ||
					!slices.Equal(m.Servers, want.Coverage) || len(m.Gaps) != 0 ||
					!slices.Equal(m.Spans, []blockRange{{sp.Start, sp.End}}) || m.InStore == nil || *m.InStore != (m.ID == root) {
					t.Errorf("node model %+v, API: %+v, span %+v", m, want, sp)
				}
			}
			noStderr(t, errOut)
		}},
		{name: "json, no node", args: []string{"--api", down, "--json"}, check: func(t *testing.T, out, errOut string) {
			doc := decodeModels(t, out)
			if len(doc.Store) != len(store) || doc.Node == nil || doc.Node.Running || doc.Node.Error == "" ||
				doc.Node.API != down || doc.Node.Models == nil || len(doc.Node.Models) != 0 {
				t.Fatalf("document %s", out)
			}
			for _, s := range doc.Store {
				if s.Served != nil {
					t.Errorf("%s: served given without a node", s.Name)
				}
			}
			downLine(t, errOut, down)
		}},
		{name: "json, store only", args: []string{"--api", live.URL, "--json", "--store-only"}, check: func(t *testing.T, out, errOut string) {
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatal(err)
			}
			if string(raw["node"]) != "null" || len(decodeModels(t, out).Store) != len(store) {
				t.Errorf("document %s", out)
			}
		}},
		{name: "json, node only", args: []string{"--api", live.URL, "--json", "--node-only"}, check: func(t *testing.T, out, errOut string) {
			doc := decodeModels(t, out)
			if doc.Store != nil || doc.DataDir != "" || doc.Node == nil || len(doc.Node.Models) != len(info) {
				t.Fatalf("document %s", out)
			}
			for _, m := range doc.Node.Models {
				if m.InStore != nil {
					t.Errorf("%s: in_store given without the store", m.ID)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ORBIT_API", "")
			t.Setenv("ORBIT_API_KEY", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			before := requests.Load()
			out, errOut, err := run(t, append([]string{"models", "--data-dir", dataDir}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one holding %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nstderr: %s", err, errOut)
			}
			tc.check(t, out, errOut)
			if slices.Contains(tc.args, "--store-only") && requests.Load() != before {
				t.Errorf("--store-only asked the node")
			}
		})
	}
}

// TestModelsCmdSwarm: node A imported the model (the CLI's store) and
// serves blocks 0-1 as an entry; node B fetches and serves block 1. A's
// node API (real HTTP) reports the swarm's coverage, and `orbit models`
// shows it next to the store's listing: 1-2 servers per block and a gap
// where nobody serves.
func TestModelsCmdSwarm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two libp2p nodes")
	}
	model := filepath.Join(shared, "models", "aidreams260K.gguf")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("model not available: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	dataA := t.TempDir()
	root, err := cid.Decode(importCLI(t, dataA, model))
	if err != nil {
		t.Fatal(err)
	}
	start := func(dir string, boot ...*node.Node) *node.Node {
		s, err := weights.Open(dir, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		cfg := node.Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true, Store: s, Logger: quietLogger(),
			ViewTTL: 50 * time.Millisecond, DiscoveryTimeout: 2 * time.Second, RebalanceInterval: -1, Version: "test"}
		for _, b := range boot {
			cfg.Bootstrap = append(cfg.Bootstrap, b.Addrs()[0].String())
		}
		n, err := node.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	serveSpan := func(n *node.Node, span sharding.Span, entry bool) {
		src, err := n.StoreSource(root)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Serve(ctx, src, node.ServeOptions{Blocks: span, Entry: entry}); err != nil {
			t.Fatal(err)
		}
	}
	layout := []sharding.Span{{Start: 0, End: 2}, {Start: 1, End: 2}} // A's, B's
	a := start(dataA)
	serveSpan(a, layout[0], true)
	ts := httptest.NewServer(api.NewServer(swarmbackend.New(a, swarmbackend.Options{}), api.Options{Logger: quietLogger()}))
	t.Cleanup(ts.Close)
	b := start(t.TempDir(), a)
	serveSpan(b, layout[1], false)

	// The servers per block the layout makes.
	blocks := storeListing(t, dataA)[0].Layers
	want := make([]int, blocks)
	for _, s := range layout {
		for i := s.Start; i < s.End; i++ {
			want[i]++
		}
	}
	var gaps []blockRange
	for i := 0; i < blocks; i++ {
		if want[i] == 0 {
			if len(gaps) > 0 && gaps[len(gaps)-1].End == i {
				gaps[len(gaps)-1].End++
			} else {
				gaps = append(gaps, blockRange{i, i + 1})
			}
		}
	}
	if len(gaps) == 0 {
		t.Fatal("the layout leaves no gap")
	}
	// Wait until A's view has B.
	c, err := client.New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ms, err := c.Models(ctx)
		if err == nil && len(ms) == 1 && slices.Equal(ms[0].Coverage, want) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("A's coverage %+v (%v), want %v", ms, err, want)
		}
		<-tick.C
	}

	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"table", nil, func(t *testing.T, out string) {
			tb := parseTable(t, out)
			if len(tb.rows) != 1 {
				t.Fatalf("listing:\n%s", out)
			}
			r := tb.row(t, "CID", root.String())
			checkStoreRow(t, r, storeListing(t, dataA)[0])
			if span := fmt.Sprintf("%d-%d", layout[0].Start, layout[0].End-1); r["NODE SPAN"] != span {
				t.Errorf("NODE SPAN %q, want %q", r["NODE SPAN"], span)
			}
			if r["SWARM"] != swarmText(want) || !strings.Contains(r["SWARM"], "gap at ") {
				t.Errorf("SWARM %q, want %q", r["SWARM"], swarmText(want))
			}
		}},
		{"json", []string{"--json"}, func(t *testing.T, out string) {
			doc := decodeModels(t, out)
			if doc.Node == nil || !doc.Node.Running || doc.Node.PeerID != a.ID().String() || len(doc.Node.Models) != 1 {
				t.Fatalf("document %s", out)
			}
			m := doc.Node.Models[0]
			if m.ID != root.String() || m.Blocks != blocks || !m.Entry || !slices.Equal(m.Servers, want) || !slices.Equal(m.Gaps, gaps) ||
				!slices.Equal(m.Spans, []blockRange{{layout[0].Start, layout[0].End}}) || m.InStore == nil || !*m.InStore {
				t.Errorf("node model %+v, want servers %v, gaps %v", m, want, gaps)
			}
			if len(doc.Store) != 1 || doc.Store[0].Served == nil || !*doc.Store[0].Served {
				t.Errorf("store %+v", doc.Store)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run(t, append([]string{"models", "--data-dir", dataA, "--api", ts.URL}, tc.args...)...)
			if err != nil || errOut != "" {
				t.Fatalf("%v\nstderr: %s", err, errOut)
			}
			tc.check(t, out)
		})
	}
}
