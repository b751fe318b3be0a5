package api_test

import (
	"context"
	"html"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
)

// dumpDOM loads url in headless Chromium, lets its scripts run, and returns
// the serialized DOM.
func dumpDOM(t *testing.T, chromium, u string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+profile,
		"--virtual-time-budget=30000", "--dump-dom", u)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("chromium: %v\n%s", err, stderr)
	}
	return string(out)
}

// TestDashboard renders the dashboard in headless Chromium over a fake
// multi-peer backend (whose text comes from the real local engine) and
// checks that the DOM shows the peers (short IDs, the full one as title
// and copy button), their spans and coverage, labelled throughputs, the
// model by name, the history sparklines, the KV caches, and that the
// playground streamed the engine's text.
func TestDashboard(t *testing.T) {
	chromium := needChromium(t)
	local, m, tok := newLocal(t, api.LocalOptions{})
	swarm := &fakeSwarm{inner: local, model: testModelID}
	ts, _ := serve(t, swarm, api.Options{})

	const prompt, n = "I dream of", 24
	want := referenceText(t, m, tok, prompt, n)
	q := url.Values{"prompt": {prompt}, "autorun": {"1"}, "max_tokens": {"24"}, "temperature": {"0"}}
	// Virtual time runs ahead of a slow machine (or -race) now and then:
	// dump again when the playground had not finished.
	var dom string
	for try := 0; try < 3; try++ {
		dom = dumpDOM(t, chromium, ts.URL+"/?"+q.Encode())
		if strings.Contains(dom, `data-done="1"`) {
			break
		}
		t.Logf("try %d: the playground had not finished; dumping again", try+1)
	}

	for _, s := range []string{
		`data-peer="12D3KooWSelfNode"`, `data-peer="12D3KooWPeerAlpha"`, `data-peer="12D3KooWPeerBravo"`,
		`data-model="aidreams"`,
		"[0,2) · this node", "[0,2) · 12.5 tok/s per peer · rtt 3.2 ms", "[2,4) · 9.8 tok/s per peer · rtt 4.1 ms",
		"connected", "tok/s per block", "bottleneck 9.8 tok/s per block",
		// Short peer IDs, the full one as title and for the copy button.
		`<span class="pid-text" title="12D3KooWPeerAlpha" data-full="12D3KooWPeerAlpha">12D3Ko…rAlpha</span>`,
		`data-copy="12D3KooWPeerBravo"`,
		// The model by name in the playground's list and its heading.
		`<option value="` + testModelID + `" title="` + testModelID + `">fake swarm model</option>`,
		// KV caches: used against budget, or not reported.
		`<tr class="kv-row self" data-peer="12D3KooWSelfNode" data-model="` + testModelID + `">`,
		"128 / 4096 positions (3.1%) · 1.0 MiB / 32.0 MiB", "2048 / 4096 positions (50.0%)", "3 sessions", "not reported",
		`data-points="60"`,
	} {
		if !strings.Contains(dom, html.EscapeString(s)) && !strings.Contains(dom, s) {
			t.Errorf("the dashboard lacks %q", s)
		}
	}
	// The transfers: a fetch in progress with its bar, rate and ETA, and a
	// failed import with its error.
	for _, s := range []string{
		`data-kind="fetch" data-phase="fetching"`, `aria-valuenow="25.0"`, `style="width:25.0%"`,
		"fetch aidreams blocks [0,2) + embedding", "25.0% · 2.0 MiB / 8.0 MiB · 2.0 MiB/s · ETA 3s",
		`data-kind="import" data-phase="failed"`, "import /models/broken.gguf", "failed after 1.0 MiB: disk full",
	} {
		if !strings.Contains(dom, html.EscapeString(s)) && !strings.Contains(dom, s) {
			t.Errorf("the dashboard's transfers lack %q", s)
		}
	}
	// No full peer ID is shown as text in the swarm grid: every one is
	// shortened.
	for _, th := range regexp.MustCompile(`(?s)<tr class="peer[^"]*" data-peer="[^"]*"><th>(.*?)</th>`).FindAllStringSubmatch(dom, -1) {
		if strings.Contains(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(th[1], ""), "12D3KooW") {
			t.Errorf("a grid row shows a full peer ID: %s", th[1])
		}
	}
	// The history: the playground's tokens show in the tokens/s line.
	peak := regexp.MustCompile(`<div class="spark-value" id="hist-tokens">[0-9.]+ tok/s now · peak ([0-9.]+)</div>`).FindStringSubmatch(dom)
	if v, err := strconv.ParseFloat(peak[len(peak)-1], 64); peak == nil || err != nil || v <= 0 {
		t.Errorf("the tokens/s history shows no tokens: %v", peak)
	}
	if pts := regexp.MustCompile(`<polyline points="([^"]*)" class="spark-line"`).FindAllStringSubmatch(dom, -1); len(pts) != 2 || strings.Count(pts[0][1], ",") != 60 {
		t.Errorf("sparklines: %v", pts)
	}
	if regexp.MustCompile(`<section id="kv-box"[^>]*hidden`).MatchString(dom) {
		t.Error("the KV cache section is hidden")
	}
	// Verification: counters, the banned liar and the dispute.
	for _, s := range []string{
		"57 checks · 1 mismatches · reports: 2 banned", `data-peer="12D3KooWPeerLiar0000"`, "banned 12D3KooW…ar0000 [2,4) · caught by this node",
		"[2,4) from position 9: 12D3KooW…ar0000 vs 12D3KooW…rBravo, judge 12D3KooW…rAlpha → liar 12D3KooW…ar0000 · report published",
	} {
		if !strings.Contains(dom, html.EscapeString(s)) && !strings.Contains(dom, s) {
			t.Errorf("the dashboard's verification lacks %q", s)
		}
	}
	if regexp.MustCompile(`<section id="transfers-box"[^>]*hidden`).MatchString(dom) {
		t.Error("the transfers section is hidden")
	}
	// Coverage cells: 2,2,1,1.
	cov := regexp.MustCompile(`class="blk cov(\d)"[^>]*>(\d)<`).FindAllStringSubmatch(dom, -1)
	var got []string
	for _, c := range cov {
		got = append(got, c[2])
	}
	if strings.Join(got, ",") != "2,2,1,1" {
		t.Errorf("coverage cells %v, want 2,2,1,1", got)
	}
	// Throughput per block, the weakest blocks marked.
	var tps []string
	for _, c := range regexp.MustCompile(`class="blk tp( weakest)?"[^>]*>([0-9.]+)<`).FindAllStringSubmatch(dom, -1) {
		tps = append(tps, c[2]+map[bool]string{true: "!"}[c[1] != ""])
	}
	if strings.Join(tps, ",") != "22.3,22.3,9.8!,9.8!" || !strings.Contains(dom, "bottleneck 9.8 tok/s") {
		t.Errorf("throughput cells %v, want 22.3,22.3,9.8!,9.8! and the bottleneck", tps)
	}
	// Bravo's row has blocks 2 and 3 filled, 0 and 1 empty.
	row := regexp.MustCompile(`(?s)<tr class="peer" data-peer="12D3KooWPeerBravo">(.*?)</tr>`).FindStringSubmatch(dom)
	if row == nil || strings.Count(row[1], `class="blk on"`) != 2 || strings.Count(row[1], `class="blk"`) != 2 {
		t.Errorf("Bravo's span row: %v", row)
	}
	// The playground ran on load and shows the engine's text.
	out := regexp.MustCompile(`(?s)<pre id="output" class="output"[^>]*>(.*?)</pre>`).FindStringSubmatch(dom)
	if out == nil {
		t.Fatalf("no playground output in the DOM:\n%s", dom)
	}
	if text := html.UnescapeString(out[1]); text != want {
		t.Errorf("playground text %q\nwant %q", text, want)
	}
	if !strings.Contains(dom, `data-done="1"`) || !strings.Contains(dom, "finish: length") {
		t.Errorf("the playground did not finish: %s", regexp.MustCompile(`(?s)<div id="pg-status".*?</div>`).FindString(dom))
	}
}
