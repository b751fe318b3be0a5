package api_test

import (
	"context"
	"html"
	"net/url"
	"os"
	"os/exec"
	"regexp"
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
// checks that the DOM shows the peers, their spans and coverage, and that
// the playground streamed the engine's text.
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
		"[0,2) · this node", "[0,2) · 12.5 tok/s · rtt 3.2 ms", "[2,4) · 9.8 tok/s · rtt 4.1 ms",
		"connected",
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
