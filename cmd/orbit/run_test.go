package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/runstatus"
)

const (
	runModelPath = "../../../shared/models/aidreams260K.gguf"
	runRefPath   = "../../../shared/reference/aidreams260K-greedy.json"
)

func TestParseSpan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		a, b int
		ok   bool
	}{
		{"0:4", 0, 4, true},
		{"2:3", 2, 3, true},
		{"3:3", 0, 0, false},
		{"4:2", 0, 0, false},
		{"-1:2", 0, 0, false},
		{"1", 0, 0, false},
		{"a:b", 0, 0, false},
	} {
		s, err := parseSpan(tc.in)
		if (err == nil) != tc.ok || (tc.ok && (s.Start != tc.a || s.End != tc.b)) {
			t.Errorf("parseSpan(%q) = %v, %v", tc.in, s, err)
		}
	}
}

// process is a running `orbit run`, its output going to files that the
// test reads as lines appear.
type process struct {
	cmd     *exec.Cmd
	out     string // stdout file
	errPath string
	seen    int // lines of stdout consumed
	done    chan error
	exited  error
	ended   bool
}

func startRun(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	return startRunEnv(t, bin, nil, args...)
}

// startRunEnv is startRun with env added to the process's environment.
func startRunEnv(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	dir := t.TempDir()
	p := &process{out: filepath.Join(dir, "stdout"), errPath: filepath.Join(dir, "stderr"), done: make(chan error, 1)}
	stdout, err := os.Create(p.out)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(p.errPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, append([]string{"run"}, args...)...)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	stderr.Close()
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.ended {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("stdout of %v:\n%s", args, strings.Join(p.lines(), "\n"))
			t.Logf("stderr of %v:\n%s", args, p.stderrText())
		}
	})
	return p
}

func (p *process) stderrText() string {
	b, _ := os.ReadFile(p.errPath)
	return string(b)
}

// lines returns the complete stdout lines printed so far.
func (p *process) lines() []string {
	b, _ := os.ReadFile(p.out)
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// exitedNow reports whether the process has ended, without blocking.
func (p *process) exitedNow() bool {
	if p.ended {
		return true
	}
	select {
	case err := <-p.done:
		p.ended, p.exited = true, err
		return true
	default:
		return false
	}
}

// readLine waits, with a deadline, for a new stdout line with the prefix.
func (p *process) readLine(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ls := p.lines()
		for ; p.seen < len(ls); p.seen++ {
			if strings.HasPrefix(ls[p.seen], prefix) {
				p.seen++
				return ls[p.seen-1]
			}
		}
		if p.exitedNow() {
			if ls := p.lines(); p.seen < len(ls) {
				continue // lines written just before the exit
			}
			t.Fatalf("process exited (%v) before printing %q; stderr:\n%s", p.exited, prefix, p.stderrText())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line after %v; stderr:\n%s", prefix, timeout, p.stderrText())
		}
		<-tick.C
	}
}

// wait waits for the process to exit.
func (p *process) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	if p.ended {
		return p.exited
	}
	select {
	case err := <-p.done:
		p.ended, p.exited = true, err
		return err
	case <-time.After(timeout):
		t.Fatalf("process did not exit in %v; stderr:\n%s", timeout, p.stderrText())
		return nil
	}
}

func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// TestRunProcesses starts three `orbit run` processes on loopback: two
// servers of two blocks each, and a third serving a middle span that
// generates through the swarm with --prompt. The text must be the
// reference greedy output.
func TestRunProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	if _, err := os.Stat(runModelPath); err != nil {
		t.Skipf("model not available: %v", err)
	}
	b, err := os.ReadFile(runRefPath)
	if err != nil {
		t.Skipf("reference not available: %v", err)
	}
	var ref struct {
		Cases []struct {
			Prompt string `json:"prompt"`
			Text   string `json:"text"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	c := ref.Cases[1]

	bin := buildOrbit(t, t.TempDir())
	common := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--encoding", "f32"}
	dir := t.TempDir()
	// The first node imports the GGUF and serves its API on a free port.
	first := startRun(t, bin, append(common, "--model", runModelPath, "--blocks", "0:2", "--api", "127.0.0.1:0",
		"--max-concurrent", "3", "--max-queue", "5", "--data-dir", filepath.Join(dir, "a"))...)
	ready := first.readLine(t, "ready ", 30*time.Second)
	boot := strings.Split(field(ready, "addrs"), ",")[0]
	if !strings.Contains(boot, "/p2p/") {
		t.Fatalf("status line without a bootstrap address: %q", ready)
	}
	root := field(ready, "model")
	// The import ended before the ready line: its progress summary is on
	// stderr (no live bar: stderr is not a terminal).
	if e := first.stderrText(); !strings.Contains(e, "import aidreams260K.gguf: ") {
		t.Errorf("no import summary on stderr:\n%s", e)
	}
	if !strings.HasPrefix(field(ready, "api"), "http://127.0.0.1:") {
		t.Fatalf("status line without the API address: %q", ready)
	}
	// A second node on the same data directory would share the identity:
	// it is refused, naming the first's pid.
	dup := startRun(t, bin, append(common, "--model", runModelPath, "--no-api", "--data-dir", filepath.Join(dir, "a"))...)
	if err := dup.wait(t, 10*time.Second); err == nil || !strings.Contains(dup.stderrText(), fmt.Sprintf("in use by another orbit run (pid %d)", first.cmd.Process.Pid)) {
		t.Fatalf("second node on the first's data directory: %v\n%s", err, dup.stderrText())
	}
	// The second is told no model: it finds the first's in the swarm,
	// takes the blocks nobody serves, and fetches them from the first.
	second := startRun(t, bin, append(common, "--max-blocks", "2", "--bootstrap", boot, "--no-api",
		"--data-dir", filepath.Join(dir, "b"))...)
	if r := second.readLine(t, "ready ", 30*time.Second); field(r, "model") != root || field(r, "span") != "[2,4)" || field(r, "api") != "off" {
		t.Fatalf("second node: %q, want model=%s span=[2,4) api=off", r, root)
	}
	if e := second.stderrText(); !strings.Contains(e, "picked model "+root+": 4 blocks, 1 servers, 1 unserved ranges") {
		t.Errorf("no pick line on stderr:\n%s", e)
	}
	if e := second.stderrText(); !strings.Contains(e, "fetch [2,4): ") {
		t.Errorf("no fetch summary on stderr:\n%s", e)
	}

	third := startRun(t, bin, append(common, "--model", runModelPath, "--blocks", "1:3", "--bootstrap", boot, "--no-api",
		"--data-dir", filepath.Join(dir, "c"), "--prompt", c.Prompt, "-n", "200", "--wait", "30s")...)
	if r := third.readLine(t, "ready ", 30*time.Second); field(r, "model") != root {
		t.Fatalf("third node imported the same file as model %s, want %s", field(r, "model"), root)
	}
	if err := third.wait(t, 60*time.Second); err != nil {
		t.Fatalf("entry process: %v\n%s", err, third.stderrText())
	}
	text := strings.Join(third.lines()[third.seen:], "\n")
	if got := strings.TrimSpace(text); got != c.Text {
		t.Fatalf("got  %q\nwant %q", got, c.Text)
	}

	// The first node generates too, through its OpenAI-compatible API: it
	// serves blocks [0,2) and routes [2,4) to the second process.
	body := fmt.Sprintf(`{"model":%q,"prompt":%q,"max_tokens":100,"temperature":0}`, root, c.Prompt)
	cresp, err := http.Post(field(ready, "api")+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var completion struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
	}
	err = json.NewDecoder(cresp.Body).Decode(&completion)
	cresp.Body.Close()
	if err != nil || cresp.StatusCode != http.StatusOK || len(completion.Choices) != 1 {
		t.Fatalf("completion through the first node: status %d, %v, %+v", cresp.StatusCode, err, completion)
	}
	// 100 of the reference's tokens.
	if got := c.Prompt + completion.Choices[0].Text; !strings.HasPrefix(c.Text, got) || len(got) < len(c.Text)/2 {
		t.Fatalf("through the first node's API:\ngot  %q\nwant a prefix of %q", got, c.Text)
	}

	// The entry node's admission limits are the flags' (--max-concurrent,
	// --max-queue), as on orbit serve.
	sresp, err := http.Get(field(ready, "api") + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var status struct {
		Load struct {
			MaxConcurrent int `json:"max_concurrent"`
			MaxQueue      int `json:"max_queue"`
		} `json:"load"`
	}
	err = json.NewDecoder(sresp.Body).Decode(&status)
	sresp.Body.Close()
	if err != nil || status.Load.MaxConcurrent != 3 || status.Load.MaxQueue != 5 {
		t.Fatalf("status load %+v (%v), want 3 slots and a queue of 5", status.Load, err)
	}

	// The README's example names the model aidreams260K (general.name),
	// not by its root CID: orbit run answers that name too.
	rresp, err := http.Get(field(ready, "api") + "/api/v1/route?model=aidreams260K")
	if err != nil {
		t.Fatal(err)
	}
	var route struct{ Model string }
	err = json.NewDecoder(rresp.Body).Decode(&route)
	rresp.Body.Close()
	if err != nil || rresp.StatusCode != http.StatusOK || route.Model != root {
		t.Fatalf("route of the model's name: status %d, %v, %+v, want model %s", rresp.StatusCode, err, route, root)
	}
	// /v1/models lists it by that name too, as orbit serve does (its ID is
	// the file's name, aidreams260K), with the root CID beside it.
	mresp, err := http.Get(field(ready, "api") + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct{ ID, Root string }
	}
	err = json.NewDecoder(mresp.Body).Decode(&list)
	mresp.Body.Close()
	if err != nil || len(list.Data) != 1 || list.Data[0].ID != "aidreams260K" || list.Data[0].Root != root {
		t.Fatalf("/v1/models: %v, %+v, want aidreams260K with root %s", err, list, root)
	}

	// The first node's metrics count its swarm traffic: it served the
	// second node's fetch of blocks [2,4) (about half the model's weights).
	resp, err := http.Get(field(ready, "api") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	in, out, err := metricNetworkBytes(string(metricsText))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first node: network bytes in %d, out %d", in, out)
	if st, err := os.Stat(runModelPath); err != nil || in <= 0 || out < st.Size()/4 {
		t.Errorf("first node: network bytes in %d out %d (model %v bytes, %v)", in, out, st.Size(), err)
	}

	// SIGTERM stops a server cleanly.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	second.readLine(t, "stopping", 10*time.Second)
	second.readLine(t, "stopped ", 10*time.Second)
	if err := second.wait(t, 10*time.Second); err != nil {
		t.Fatalf("server exit after SIGTERM: %v", err)
	}
	// So does SIGINT, with the API up.
	if err := first.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	first.readLine(t, "stopped ", 10*time.Second)
	if err := first.wait(t, 10*time.Second); err != nil {
		t.Fatalf("server exit after SIGINT: %v", err)
	}

	// Without --data-dir a node keeps its identity (and store) in
	// $ORBIT_DATA_DIR: the same peer ID on every start. The second start
	// reports its status as JSON (--status-json): the same ready event,
	// then stopping and stopped.
	t.Setenv("ORBIT_DATA_DIR", filepath.Join(dir, "default"))
	var ids []string
	for i := range 2 {
		args := append(common, "--model", runModelPath, "--blocks", "0:1", "--no-api")
		if i == 0 {
			p := startRun(t, bin, args...)
			ids = append(ids, field(p.readLine(t, "ready ", 30*time.Second), "peer"))
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := p.wait(t, 10*time.Second); err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
			continue
		}
		p := startRun(t, bin, append(args, "--status-json")...)
		ev, v, err := runstatus.Decode([]byte(p.readLine(t, `{"event":"ready"`, 30*time.Second)))
		r, ok := v.(runstatus.Ready)
		if err != nil || ev != runstatus.EventReady || !ok || r.Model != root || r.Start != 0 || r.End != 1 || r.API != "" || len(r.Addrs) == 0 {
			t.Fatalf("JSON ready event: %q %+v %v, want model %s span [0,1) without an API", ev, v, err, root)
		}
		ids = append(ids, r.Peer)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.readLine(t, `{"event":"stopping"}`, 10*time.Second)
		if ev, v, err := runstatus.Decode([]byte(p.readLine(t, `{"event":"stopped"`, 10*time.Second))); err != nil || ev != runstatus.EventStopped || v != (runstatus.Stopped{}) {
			t.Fatalf("JSON stopped event: %q %+v %v", ev, v, err)
		}
		if err := p.wait(t, 10*time.Second); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("peer IDs of two starts with the default data directory: %q", ids)
	}
	if _, err := os.Stat(filepath.Join(dir, "default", "identity.key")); err != nil {
		t.Fatalf("no identity key in the default data directory: %v", err)
	}
}

// metricNetworkBytes reads orbit_network_bytes_total from /metrics text.
func metricNetworkBytes(text string) (in, out int64, err error) {
	s, err := metrics.ParseText(strings.NewReader(text))
	if err != nil {
		return 0, 0, err
	}
	vin, _ := s.Value("orbit_network_bytes_total", "direction", "in")
	vout, _ := s.Value("orbit_network_bytes_total", "direction", "out")
	return int64(vin), int64(vout), nil
}

// TestRunAdmissionFlags: the entry node's admission limits are checked
// before anything starts.
func TestRunAdmissionFlags(t *testing.T) {
	for _, tc := range []struct {
		conc, queue int
		wantErr     string
	}{
		{4, 16, ""},
		{1, 0, ""},
		{0, 16, "--max-concurrent must be at least 1"},
		{4, -1, "--max-queue must not be negative"},
	} {
		f := runFlags{maxConcurrent: tc.conc, maxQueue: tc.queue, route: "latency", encoding: "f16", noAPI: true}
		_, err := parseRunFlags(&f)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%d/%d: %v", tc.conc, tc.queue, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%d/%d: error %v, want %q", tc.conc, tc.queue, err, tc.wantErr)
		}
	}
}

// TestRunMaxConcurrentAuto: --max-concurrent is auto by default (the
// API sizes its slots from the swarm), and a number still overrides it.
func TestRunMaxConcurrentAuto(t *testing.T) {
	cmd := newRunCmd()
	fl := cmd.Flags()
	if got := fl.Lookup("max-concurrent").DefValue; got != "auto" {
		t.Fatalf("default %q, want auto", got)
	}
	for _, tc := range []struct {
		set     string
		want    int // concurrency(): 0 is auto
		wantErr string
	}{
		{"auto", 0, ""},
		{"8", 8, ""},
		{"0", 0, "--max-concurrent must be at least 1"},
		{"many", 0, "want a number or auto"},
	} {
		f := runFlags{autoConcurrent: true, route: "latency", encoding: "f16", noAPI: true}
		err := concurrencyFlag{&f.maxConcurrent, &f.autoConcurrent}.Set(tc.set)
		if err == nil {
			_, err = parseRunFlags(&f)
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.set, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.set, err, tc.wantErr)
		case tc.wantErr == "" && f.concurrency() != tc.want:
			t.Errorf("%s: concurrency %d, want %d", tc.set, f.concurrency(), tc.want)
		}
	}
}

// TestRunStepTimeoutFlag: --step-timeout is auto (derived deadlines, 0)
// or a positive duration.
func TestRunStepTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"auto", 0, true}, {"", 0, true}, {"5s", 5 * time.Second, true}, {"1m30s", 90 * time.Second, true},
		{"0s", 0, false}, {"-1s", 0, false}, {"fast", 0, false},
	} {
		f := runFlags{maxConcurrent: 4, maxQueue: 16, route: "latency", encoding: "f16", noAPI: true, stepTimeout: tc.in}
		set, err := parseRunFlags(&f)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), "--step-timeout")):
			t.Errorf("%q: error %v, want one naming --step-timeout", tc.in, err)
		case tc.ok && set.stepTimeout != tc.want:
			t.Errorf("%q: %v, want %v", tc.in, set.stepTimeout, tc.want)
		}
	}
}

// TestRunBootstrapUnreachable: a node whose pre-shared key keeps it from
// every bootstrap peer says so and exits non-zero instead of printing
// ready and serving alone; the first node of a swarm (no --bootstrap)
// starts as before.
func TestRunBootstrapUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	if _, err := os.Stat(runModelPath); err != nil {
		t.Skipf("model not available: %v", err)
	}
	dir := t.TempDir()
	bin := buildOrbit(t, dir)
	writeKey := func(name string, b byte) string {
		path := filepath.Join(dir, name)
		key := "/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat(fmt.Sprintf("%02x", b), 32) + "\n"
		if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	common := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--no-api", "--model", runModelPath}
	first := startRun(t, bin, append(common, "--blocks", "0:2", "--psk", writeKey("a.key", 0xa5),
		"--data-dir", filepath.Join(dir, "a"))...)
	ready := first.readLine(t, "ready ", 30*time.Second)
	boot := strings.Split(field(ready, "addrs"), ",")[0]
	other := startRun(t, bin, append(common, "--blocks", "2:4", "--psk", writeKey("b.key", 0x5a),
		"--bootstrap", boot, "--data-dir", filepath.Join(dir, "b"))...)
	err := other.wait(t, 60*time.Second)
	if err == nil || !strings.Contains(other.stderrText(), "none of the 1 bootstrap peers could be reached: with --psk") {
		t.Fatalf("a node with another key: %v\n%s", err, other.stderrText())
	}
	if len(other.lines()) > 0 && strings.HasPrefix(other.lines()[0], "ready ") {
		t.Fatalf("it printed ready first: %q", other.lines())
	}
}

// buildOrbit builds this command into dir/orbit for a test that starts
// orbit processes.
func buildOrbit(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "orbit")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
