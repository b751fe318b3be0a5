package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/api/client"
	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/internal/platform"
	"github.com/orbitswarm/orbit/metrics"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/runstatus"
)

// readyTimeout bounds how long an `orbit run` process may take to print
// its ready line.
const readyTimeout = 2 * time.Minute

// procNode is one `orbit run` process.
type procNode struct {
	name     string
	group    *Group
	cmd      *exec.Cmd
	dataDir  string
	peer     string
	addrs    []string
	api      string // host:port of its OpenAI API ("" without one)
	metrics  string // host:port of its /metrics ("" without)
	span     [2]int
	through  float64
	started  time.Duration
	killedAt time.Duration
	exited   chan struct{}
	tail     *tailBuffer // the end of its stderr, for errors
	logFile  *os.File    // its stderr's copy (Options.ProcessLogs)
	ready    bool        // printed its ready line (under procCluster.mu)

	// Link emulation: its file, the generation written when it started,
	// and the `links ...` answers to SIGUSR1 from its stdout.
	linksPath string
	linksGen  uint64
	linksMu   sync.Mutex // one update at a time
	linkAcks  chan linkAck
}

// linkAck is a process's answer to a link-emulation reload.
type linkAck struct {
	gen uint64
	err string
}

// readStatus reads one line of a node's stdout (orbit bench node
// --status-json): its ready event, or its acknowledgement of a
// link-emulation reload; other lines are neither.
func readStatus(line string) (ready *runstatus.Ready, ack *linkAck) {
	_, v, err := runstatus.Decode([]byte(line))
	if err != nil {
		return nil, nil
	}
	switch v := v.(type) {
	case runstatus.Ready:
		return &v, nil
	case runstatus.Links:
		return nil, &linkAck{gen: v.Generation, err: v.Error}
	}
	return nil, nil
}

// procCluster runs the swarm as `orbit run` processes on loopback.
type procCluster struct {
	sc      *Scenario
	bin     string
	model   string // path
	modelID string
	seed    uint64
	dir     string // data dirs, removed by close
	log     *slog.Logger
	t0      time.Time
	http    *http.Client
	apiName string // model name the API serves
	logs    string // per-process stderr files ("" for none)
	verbose bool
	// emuNodes are every node of the scenario (deferred ones too) for the
	// link-emulation files.
	emuNodes []EmulatedNode

	// nodeMetrics: the binary's bench node serves --metrics-addr (an
	// older one does not; its nodes then report no compute stats).
	nodeMetrics bool
	// noSpeculate: the binary's bench node has no --speculate (an older
	// one, without speculative decoding; Options.Orbit for a comparison).
	noSpeculate bool

	cutMu sync.Mutex // one cut or heal at a time

	mu    sync.Mutex
	nodes []*procNode
	boot  string
	gen   uint64             // link-emulation generation: bumped by each cut and heal
	cut   map[[2]string]bool // region pairs cut now
}

// startProcesses starts the scenario's nodes as processes.
func startProcesses(ctx context.Context, sc *Scenario, src *node.FileSource, mcfg engine.Config, seed uint64, work string, opt Options, log *slog.Logger) (*procCluster, error) {
	if sc.DraftLayers > 0 {
		return nil, errors.New("draft_layers: the processes mode has no early-exit draft model (use ngram or auto)")
	}
	bin := opt.Orbit
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("locating the orbit binary: %w", err)
		}
		// A test binary would take `bench node` for its own flags and run
		// its tests: tests must build orbit and set Options.Orbit.
		if strings.HasSuffix(exe, ".test") {
			return nil, fmt.Errorf("%s is a test binary, not orbit: set Options.Orbit to an orbit binary (orbit bench node)", exe)
		}
		bin = exe
	}
	dir, err := os.MkdirTemp("", "orbit-bench-procs-")
	if err != nil {
		return nil, err
	}
	pc := &procCluster{sc: sc, bin: bin, model: src.Path, modelID: src.ID(), seed: seed, dir: dir, log: log, t0: time.Now(),
		http: &http.Client{}, logs: opt.ProcessLogs, verbose: opt.ProcessVerbose, cut: map[[2]string]bool{}}
	if pc.logs != "" {
		if err := os.MkdirAll(pc.logs, 0o755); err != nil {
			return pc, err
		}
	}
	if pc.emuNodes, err = emulatedNodes(sc, seed); err != nil {
		return pc, err
	}
	help, _ := exec.CommandContext(ctx, bin, "bench", "node", "--help").CombinedOutput()
	pc.nodeMetrics = strings.Contains(string(help), "--metrics-addr")
	pc.noSpeculate = !strings.Contains(string(help), "--speculate")
	if pc.noSpeculate && sc.Speculate != "off" {
		return pc, fmt.Errorf("%s has no speculative decoding (--speculate); the scenario asks for speculate: %s", bin, sc.Speculate)
	}
	for i := range sc.Nodes {
		if g := &sc.Nodes[i]; !g.Deferred {
			if err := pc.add(ctx, g); err != nil {
				return pc, err
			}
		}
	}
	if err := pc.resolveAPIModel(ctx); err != nil {
		return pc, err
	}
	return pc, nil
}

// freePort returns a loopback address with a port free right now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (pc *procCluster) add(ctx context.Context, g *Group) error {
	for _, name := range g.NodeNames() {
		if err := pc.start(ctx, g, name); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
	}
	return nil
}

// baseArgs are the flags of `orbit bench node` (those of `orbit run`)
// every process of the swarm gets.
func (pc *procCluster) baseArgs(dataDir string) []string {
	args := []string{"bench", "node", "--status-json", "--model", pc.model, "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--data-dir", dataDir,
		"--encoding", pc.sc.Encoding, "--route", pc.sc.Route}
	if !pc.noSpeculate {
		args = append(args, "--speculate", pc.sc.Speculate)
	}
	pc.mu.Lock()
	if pc.boot != "" {
		args = append(args, "--bootstrap", pc.boot)
	}
	pc.mu.Unlock()
	return args
}

func (pc *procCluster) start(ctx context.Context, g *Group, name string) error {
	dataDir := fmt.Sprintf("%s/%s", pc.dir, name)
	if err := writeIdentity(dataDir, pc.seed, name); err != nil {
		return err
	}
	args := pc.baseArgs(dataDir)
	pn := &procNode{name: name, group: g, dataDir: dataDir, exited: make(chan struct{}), tail: &tailBuffer{max: 8 << 10},
		linksPath: filepath.Join(pc.dir, name+".links.json"), linkAcks: make(chan linkAck, 64)}
	pc.mu.Lock()
	le := pc.emulation(name)
	pc.mu.Unlock()
	if err := writeLinkEmulation(pn.linksPath, le); err != nil {
		return err
	}
	pn.linksGen = le.Generation
	args = append(args, "--link-emulation", pn.linksPath)
	switch {
	case g.Span.None:
		args = append(args, "--blocks", "none")
	case g.Span.Fixed():
		args = append(args, "--blocks", fmt.Sprintf("%d:%d", g.Span.Start, g.Span.End))
	case g.MaxBlocks > 0:
		args = append(args, "--max-blocks", strconv.Itoa(g.MaxBlocks))
	}
	if g.Memory > 0 && g.Span.Auto {
		args = append(args, "--memory", strconv.FormatInt(max(int64(g.Memory)>>20, 1), 10))
	}
	if g.KVCache > 0 {
		args = append(args, "--kv-cache", strconv.FormatInt(max(int64(g.KVCache)>>20, 1), 10))
	}
	if !g.Entry {
		args = append(args, "--no-api")
	} else {
		addr, err := freePort()
		if err != nil {
			return err
		}
		args = append(args, "--entry", "--api", addr)
		pn.api = addr
		if g.MaxConcurrent != "" {
			args = append(args, "--max-concurrent", g.MaxConcurrent, "--max-queue", strconv.Itoa(maxClients))
		}
	}
	if g.ComputeCost != nil {
		args = append(args, "--compute-cost", g.ComputeCost.String())
	}
	if pc.nodeMetrics {
		addr, err := freePort()
		if err != nil {
			return err
		}
		args = append(args, "--metrics-addr", addr)
		pn.metrics = addr
	}
	if pc.verbose {
		args = append(args, "-v")
	}
	// Not CommandContext: the processes outlive start's context and are
	// stopped by kill and close.
	cmd := exec.Command(pc.bin, args...)
	if g.Threads > 0 {
		// The engine's kernel pools run GOMAXPROCS threads.
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(g.Threads))
	}
	cmd.Stderr = pn.tail
	if pc.logs != "" {
		f, err := os.Create(filepath.Join(pc.logs, name+".log"))
		if err != nil {
			return err
		}
		pn.logFile = f
		cmd.Stderr = io.MultiWriter(pn.tail, f)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	pc.log.Debug("starting process", "node", name, "args", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		if pn.logFile != nil {
			pn.logFile.Close()
		}
		return fmt.Errorf("starting %s: %w", pc.bin, err)
	}
	pn.cmd = cmd
	ready := make(chan runstatus.Ready, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			r, a := readStatus(sc.Text())
			switch {
			case r != nil && !sent:
				ready <- *r
				sent = true
			case a != nil:
				select {
				case pn.linkAcks <- *a:
				default: // nobody waits for it
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		if pn.logFile != nil {
			pn.logFile.Close()
		}
		close(pn.exited)
	}()
	pc.mu.Lock()
	pc.nodes = append(pc.nodes, pn)
	pc.mu.Unlock()
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	var r runstatus.Ready
	select {
	case r = <-ready:
	case <-pn.exited:
		return fmt.Errorf("orbit run exited before it was ready: %s", pn.tail.String())
	case <-t.C:
		return fmt.Errorf("orbit run not ready after %v: %s", readyTimeout, pn.tail.String())
	case <-ctx.Done():
		return ctx.Err()
	}
	pn.setReady(r)
	pn.started = time.Since(pc.t0)
	pc.mu.Lock()
	pn.ready = true
	// A cut or heal while it started skipped it: bring it up to date.
	stale := pc.gen != pn.linksGen
	if pc.boot == "" {
		for _, a := range pn.addrs {
			if strings.Contains(a, "/127.0.0.1/tcp/") {
				pc.boot = a
				break
			}
		}
	}
	pc.mu.Unlock()
	pc.log.Debug("process ready", "node", name, "pid", cmd.Process.Pid, "span", pn.span, "api", pn.api)
	if stale {
		return pc.pushLinks(ctx, pn)
	}
	return nil
}

// emulatedNodes are every node of the scenario with its region and the
// peer ID of its identity key (writeIdentity).
func emulatedNodes(sc *Scenario, seed uint64) ([]EmulatedNode, error) {
	var out []EmulatedNode
	for _, g := range sc.Nodes {
		for _, name := range g.NodeNames() {
			k, err := nodeKey(seed, name)
			if err != nil {
				return nil, err
			}
			id, err := peer.IDFromPrivateKey(k)
			if err != nil {
				return nil, fmt.Errorf("bench: identity of %s: %w", name, err)
			}
			out = append(out, EmulatedNode{Name: name, Region: g.Region, Peer: id.String()})
		}
	}
	return out, nil
}

// emulation is node name's link-emulation file now (under pc.mu).
func (pc *procCluster) emulation(name string) *LinkEmulation {
	le := &LinkEmulation{Generation: pc.gen, Node: name, Seed: pc.seed, Nodes: pc.emuNodes, Links: pc.sc.Links}
	for k := range pc.cut {
		le.Cut = append(le.Cut, k)
	}
	sort.Slice(le.Cut, func(i, j int) bool {
		if le.Cut[i][0] != le.Cut[j][0] {
			return le.Cut[i][0] < le.Cut[j][0]
		}
		return le.Cut[i][1] < le.Cut[j][1]
	})
	return le
}

// linkAckTimeout bounds the wait for a process to apply a new
// link-emulation file.
const linkAckTimeout = 15 * time.Second

// pushLinks rewrites pn's link-emulation file with the current cut set,
// signals the process (SIGUSR1) and waits until it has applied it.
func (pc *procCluster) pushLinks(ctx context.Context, pn *procNode) error {
	pn.linksMu.Lock()
	defer pn.linksMu.Unlock()
	pc.mu.Lock()
	le := pc.emulation(pn.name)
	pc.mu.Unlock()
	if err := writeLinkEmulation(pn.linksPath, le); err != nil {
		return err
	}
	sig, ok := platform.UserSignal()
	if !ok {
		return fmt.Errorf("node %s: link emulation needs a user signal, which %s does not have", pn.name, runtime.GOOS)
	}
	if err := pn.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("node %s: signalling a link-emulation update: %w", pn.name, err)
	}
	t := time.NewTimer(linkAckTimeout)
	defer t.Stop()
	for {
		select {
		case a := <-pn.linkAcks:
			if a.err != "" {
				return fmt.Errorf("node %s: link emulation: %s", pn.name, a.err)
			}
			if a.gen >= le.Generation {
				return nil
			}
		case <-pn.exited:
			return fmt.Errorf("node %s exited before applying link-emulation generation %d", pn.name, le.Generation)
		case <-t.C:
			return fmt.Errorf("node %s did not apply link-emulation generation %d within %v", pn.name, le.Generation, linkAckTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// setReady records what a node's ready event says.
func (pn *procNode) setReady(r runstatus.Ready) {
	pn.peer, pn.addrs = r.Peer, r.Addrs
	pn.span = [2]int{r.Start, r.End}
	pn.through = r.Throughput
	pn.api = strings.TrimPrefix(r.API, "http://")
}

func (pc *procCluster) named(name string) *procNode {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, n := range pc.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

func (pc *procCluster) entries() []string {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	var out []string
	for _, n := range pc.nodes {
		if n.group.Entry {
			out = append(out, n.name)
		}
	}
	return out
}

// kill sends SIGKILL.
func (pc *procCluster) kill(name string) error {
	n := pc.named(name)
	if n == nil {
		return fmt.Errorf("kill %s: no such running node", name)
	}
	pc.mu.Lock()
	if n.killedAt > 0 {
		pc.mu.Unlock()
		return fmt.Errorf("kill %s: already dead", name)
	}
	n.killedAt = max(time.Since(pc.t0), 1)
	pc.mu.Unlock()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	<-n.exited
	return nil
}

// setCut cuts (or heals) the links between two regions: every running
// process gets the new cut set (pushLinks) and has applied it when
// setCut returns. A process still starting applies it once ready.
func (pc *procCluster) setCut(ctx context.Context, a, b string, cut bool) error {
	pc.cutMu.Lock()
	defer pc.cutMu.Unlock()
	pc.mu.Lock()
	if cut {
		pc.cut[pairKey(a, b)] = true
	} else {
		delete(pc.cut, pairKey(a, b))
	}
	pc.gen++
	var targets []*procNode
	for _, n := range pc.nodes {
		if n.ready && n.killedAt == 0 {
			select {
			case <-n.exited:
			default:
				targets = append(targets, n)
			}
		}
	}
	pc.mu.Unlock()
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, n := range targets {
		wg.Go(func() { errs[i] = pc.pushLinks(ctx, n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s<->%s: %w", map[bool]string{true: "cut", false: "heal"}[cut], a, b, err)
	}
	return nil
}

// note says what processes mode emulates, for the results.
func (pc *procCluster) note() string {
	return "processes mode: nodes talk over loopback TCP and each orbit process (orbit bench node, which is orbit run) emulates its links on its own writes (--link-emulation): one-way latency, bandwidth (serialised per direction, no burst allowance), jitter, loss stalls, and cut/heal (streams and dials across a cut fail, its connections close); libp2p's identify, ping and stream negotiation are not delayed; per-link statistics and per-hop timings are not reported"
}

func (pc *procCluster) nodeResults(setup time.Duration) []NodeResult {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	var out []NodeResult
	for _, n := range pc.nodes {
		if n.peer == "" {
			continue
		}
		nr := NodeResult{Name: n.name, Region: n.group.Region, Entry: n.group.Entry, Slowdown: n.group.Slowdown, Span: n.span,
			ThroughputTokS: n.through, StartedS: (n.started - setup).Seconds()}
		nr.Slowdown = 1 // orbit run has no slow-down
		if n.killedAt > 0 {
			nr.KilledS = (n.killedAt - setup).Seconds()
		}
		out = append(out, nr)
	}
	return out
}

func (pc *procCluster) linkStats() []LinkStats { return nil }

// computeStats scrapes every live node's /metrics (--metrics-addr) for
// its batch schedulers' counts (MaxRows is not among them).
func (pc *procCluster) computeStats(ctx context.Context) map[string]node.ComputeStats {
	pc.mu.Lock()
	nodes := append([]*procNode(nil), pc.nodes...)
	pc.mu.Unlock()
	out := map[string]node.ComputeStats{}
	for _, n := range nodes {
		if n.metrics == "" || n.killedAt > 0 {
			continue
		}
		st, err := pc.scrapeCompute(ctx, n.metrics)
		if err != nil {
			pc.log.Warn("reading a node's metrics", "node", n.name, "err", err)
			continue
		}
		out[n.name] = st
	}
	return out
}

func (pc *procCluster) scrapeCompute(ctx context.Context, addr string) (node.ComputeStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return node.ComputeStats{}, err
	}
	resp, err := pc.http.Do(req)
	if err != nil {
		return node.ComputeStats{}, err
	}
	defer resp.Body.Close()
	sc, err := metrics.ParseText(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return node.ComputeStats{}, err
	}
	return computeFromMetrics(sc), nil
}

// computeFromMetrics reads a node's batch scheduler counts from its
// metrics.
func computeFromMetrics(sc metrics.Scrape) node.ComputeStats {
	var st node.ComputeStats
	hist := func(name string) (count uint64, sum float64) {
		if mf := sc[name]; mf != nil && len(mf.GetMetric()) > 0 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
		return 0, 0
	}
	calls, rows := hist("orbit_batch_rows")
	_, steps := hist("orbit_batch_sessions")
	_, queue := hist("orbit_step_queue_seconds")
	busy, _ := sc.Value("orbit_compute_busy_seconds_total")
	sessions, _ := sc.Value("orbit_sessions")
	st.Calls, st.Rows, st.Steps = int64(calls), int64(rows), int64(steps)
	st.Busy = time.Duration(busy * float64(time.Second))
	st.Queue = time.Duration(queue * float64(time.Second))
	st.Sessions = int(sessions)
	return st
}

// close stops every process: SIGTERM, then SIGKILL after a grace period.
func (pc *procCluster) close() {
	pc.mu.Lock()
	nodes := append([]*procNode(nil), pc.nodes...)
	pc.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.cmd == nil || n.cmd.Process == nil {
			continue
		}
		wg.Go(func() {
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
			t := time.NewTimer(5 * time.Second)
			defer t.Stop()
			select {
			case <-n.exited:
			case <-t.C:
				_ = n.cmd.Process.Kill()
				<-n.exited
			}
		})
	}
	wg.Wait()
	_ = os.RemoveAll(pc.dir)
}

// generate runs one request through the entry's OpenAI API.
func (pc *procCluster) generate(ctx context.Context, entry string, prompt []int32, maxTokens int, emit func()) (genStats, error) {
	n := pc.named(entry)
	if n == nil {
		return genStats{}, fmt.Errorf("no entry node %s", entry)
	}
	sw, err := pc.generateAPI(ctx, n, prompt, maxTokens, emit)
	return pc.genStats(sw), err
}

// genStats is the entry API's report of a generation ("orbit" in the
// completion) with the nodes by name.
func (pc *procCluster) genStats(sw *api.SwarmStats) genStats {
	if sw == nil {
		return genStats{}
	}
	gs := genStats{failovers: sw.Failovers, timed: true}
	if sp := sw.Speculation; sp != nil {
		gs.passes, gs.drafted, gs.accepted = int(sp.Passes), int(sp.Drafted), int(sp.Accepted)
	}
	for _, h := range sw.Route {
		gs.route = append(gs.route, RouteHop{Node: pc.nameOfPeer(h.Peer), Start: h.Start, End: h.End})
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for _, h := range sw.Hops {
		gs.hops = append(gs.hops, hopTiming{node: pc.nameOfPeer(h.Peer), start: h.Start, blocks: h.End - h.Start, steps: h.Steps,
			compute: ms(h.ComputeMS), queue: ms(h.QueueMS), network: ms(h.NetworkMS)})
	}
	return gs
}

// nameOfPeer is the name of the node with peer ID id (id itself if none).
func (pc *procCluster) nameOfPeer(id string) string {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, n := range pc.nodes {
		if n.peer == id {
			return n.name
		}
	}
	return id
}

// resolveAPIModel asks the first entry's API what it calls the model.
func (pc *procCluster) resolveAPIModel(ctx context.Context) error {
	var api string
	for _, e := range pc.entries() {
		if n := pc.named(e); n.api != "" {
			api = n.api
			break
		}
	}
	pc.apiName = pc.modelID
	if api == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+"/v1/models", nil)
	if err != nil {
		return err
	}
	resp, err := pc.http.Do(req)
	if err != nil {
		return fmt.Errorf("entry API: %w", err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return fmt.Errorf("entry API /v1/models: %w", err)
	}
	if len(list.Data) > 0 {
		pc.apiName = list.Data[0].ID
	}
	return nil
}

// generateAPI streams a completion of the prompt's token IDs (greedy) and
// returns how the swarm ran it, as the entry reported it.
func (pc *procCluster) generateAPI(ctx context.Context, n *procNode, prompt []int32, maxTokens int, emit func()) (*api.SwarmStats, error) {
	body, err := json.Marshal(map[string]any{"model": pc.apiName, "prompt": prompt, "max_tokens": maxTokens, "temperature": 0,
		"stream": true, "stream_options": map[string]bool{"include_usage": true}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.api+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := pc.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("entry API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("entry API: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	emitted := 0
	var sw *api.SwarmStats
	err = client.ReadEvents(resp.Body, func(data []byte) error {
		var ev api.Completion
		if err := json.Unmarshal(data, &ev); err != nil {
			return fmt.Errorf("event %q: %w", data, err)
		}
		if len(ev.Choices) > 0 && ev.Choices[0].FinishReason == nil {
			emit()
			emitted++
		}
		// Tokens whose text was empty came without an event of their own:
		// count them when the usage arrives.
		if ev.Orbit != nil {
			sw = ev.Orbit
		}
		if ev.Usage != nil {
			for ; emitted < ev.Usage.CompletionTokens; emitted++ {
				emit()
			}
		}
		return nil
	})
	// A stream cut before [DONE] ends the generation as the tokens so far.
	if err != nil && !errors.Is(err, client.ErrNoDone) {
		return sw, fmt.Errorf("entry API: %w", err)
	}
	return sw, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}
