package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/orbitswarm/orbit/engine/gguf"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/internal/progress"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/protocol"
)

// Modes of Run.
const (
	// ModeMocknet runs every node in this process on a libp2p mocknet
	// whose links have the scenario's latency and bandwidth (jitter and
	// loss are added by the shaper).
	ModeMocknet = "mocknet"
	// ModeProcesses runs every node as an `orbit run` process on loopback;
	// each process emulates its links itself (orbit run --link-emulation).
	ModeProcesses = "processes"
)

// Options are a run's overrides and plumbing.
type Options struct {
	Mode     string        // ModeMocknet (default) or ModeProcesses
	Seed     uint64        // 0: the scenario's (or 1)
	Duration time.Duration // 0: the scenario's workload duration
	// WorkDir holds generated model files (reused between runs); empty:
	// a temporary directory removed at the end.
	WorkDir string
	// DataDir is the weight store a scenario's model.cid is exported from
	// (the orbit data directory); unused for path and synthetic models.
	DataDir string
	// Progress, if set, receives a progress bar.
	Progress io.Writer
	// Logger logs the run; NodeLogger the nodes (both default to discard).
	Logger, NodeLogger *slog.Logger
	// Drain bounds the wait for requests in flight after the workload's
	// duration (default 60s).
	Drain time.Duration
	// Orbit is the orbit binary of ModeProcesses (default: this
	// executable, which must then be orbit).
	Orbit string
	// ProcessLogs, if set, is where ModeProcesses writes each process's
	// stderr (NAME.log); ProcessVerbose runs them with -v.
	ProcessLogs    string
	ProcessVerbose bool
}

// cluster is a running swarm the runner drives: in this process
// (mocknet) or as OS processes.
type cluster interface {
	entries() []string
	generate(ctx context.Context, entry string, prompt []int32, maxTokens int, emit func()) (genStats, error)
	kill(name string) error
	add(ctx context.Context, g *Group) error
	setCut(ctx context.Context, a, b string, cut bool) error
	nodeResults(setup time.Duration) []NodeResult
	linkStats() []LinkStats
	// computeStats is what the nodes' batch schedulers did so far, by
	// node name (nodes it cannot read are left out).
	computeStats(ctx context.Context) map[string]node.ComputeStats
	close()
}

// genStats is what one generation reports besides its tokens.
type genStats struct {
	route     []RouteHop
	failovers int
	timed     bool        // hops carries the node's per-hop timings
	hops      []hopTiming // in order of first use
	// passes are the decode's pipeline passes, drafted and accepted its
	// speculative drafts checked and kept.
	passes, drafted, accepted int
}

// hopTiming is one hop's time summed over its steps, as the entry node
// measured it.
type hopTiming struct {
	node                    string
	start, blocks, steps    int
	compute, queue, network time.Duration
}

// Run runs the scenario and returns its results. A scenario with
// speculative decoding runs twice, the second time without it on a fresh
// swarm, for Results.Speculation.
func Run(ctx context.Context, sc *Scenario, opt Options) (*Results, error) {
	res, err := runOnce(ctx, sc, opt)
	if err != nil || sc.Speculate == "" || sc.Speculate == "off" {
		return res, err
	}
	base := *sc
	base.Speculate = "off"
	bopt := opt
	if opt.WorkDir != "" {
		bopt.WorkDir = filepath.Join(opt.WorkDir, "baseline")
	}
	if opt.Logger != nil {
		opt.Logger.Info("running the workload again without speculation, for comparison")
	}
	b, err := runOnce(ctx, &base, bopt)
	if err != nil {
		return res, fmt.Errorf("bench: the run without speculation: %w", err)
	}
	sp := &SpeculationResult{Mode: sc.Speculate, Baseline: b.Summary}
	if b.Summary.DecodeTokSP50 > 0 {
		sp.DecodeSpeedup = res.Summary.DecodeTokSP50 / b.Summary.DecodeTokSP50
	}
	if b.Summary.ThroughputTokS > 0 {
		sp.ThroughputSpeedup = res.Summary.ThroughputTokS / b.Summary.ThroughputTokS
	}
	res.Speculation = sp
	return res, nil
}

func runOnce(ctx context.Context, sc *Scenario, opt Options) (*Results, error) {
	if opt.Mode == "" {
		opt.Mode = ModeMocknet
	}
	switch opt.Mode {
	case ModeMocknet, ModeProcesses:
	default:
		return nil, fmt.Errorf("bench: mode %q: want %s or %s", opt.Mode, ModeMocknet, ModeProcesses)
	}
	seed := opt.Seed
	if seed == 0 {
		seed = max(sc.Seed, 1)
	}
	dur := time.Duration(sc.Workload.Duration)
	if opt.Duration > 0 {
		dur = opt.Duration
	}
	if opt.Drain <= 0 {
		opt.Drain = 60 * time.Second
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	log, nodeLog := opt.Logger, opt.NodeLogger
	if log == nil {
		log = discard
	}
	if nodeLog == nil {
		nodeLog = discard
	}
	work := opt.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "orbit-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(d)
		work = d
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}

	src, mcfg, err := prepareModel(ctx, sc.Model, work, opt.DataDir)
	if err != nil {
		return nil, err
	}
	w := sc.Workload
	if w.PromptTokens+w.OutputTokens > mcfg.Context {
		return nil, fmt.Errorf("bench: prompt_tokens %d + output_tokens %d exceed the model's context of %d", w.PromptTokens, w.OutputTokens, mcfg.Context)
	}
	enc, err := protocol.ParseEncoding(sc.Encoding)
	if err != nil {
		return nil, fmt.Errorf("bench: encoding: %w", err)
	}
	if len(w.VerifyRates) > 0 {
		if opt.Mode != ModeMocknet {
			return nil, fmt.Errorf("bench: workload.verify_rates runs in mocknet mode only")
		}
		t0 := time.Now()
		res := &Results{Scenario: sc.Name, StartedAt: t0}
		res.Verify, err = verifySweep(ctx, sc, src, mcfg, enc, seed, dur, log, nodeLog)
		res.Mode, res.Seed = opt.Mode, seed
		res.Model = ModelInfo{Path: src.Path, ID: src.ID(), Layers: mcfg.Layers, Dim: mcfg.Dim, Vocab: mcfg.VocabSize, Encoding: enc.String()}
		res.DurationS = time.Since(t0).Seconds()
		return res, err
	}
	sched := newSchedule(sc, seed, dur)
	t0 := time.Now()
	var cl cluster
	var procs *procCluster
	if opt.Mode == ModeMocknet {
		sw := newSwarm(sc, src, mcfg, enc, seed, log, nodeLog)
		defer sw.close()
		cl = sw
		for i := range sc.Nodes {
			if g := &sc.Nodes[i]; !g.Deferred {
				if err := sw.startGroup(ctx, g); err != nil {
					return nil, fmt.Errorf("bench: %w", err)
				}
			}
		}
	} else {
		pc, err := startProcesses(ctx, sc, src, mcfg, seed, work, opt, log)
		if pc != nil {
			defer pc.close()
		}
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		cl, procs = pc, pc
	}
	setup := time.Since(t0)
	log.Info("swarm up", "mode", opt.Mode, "nodes", len(cl.nodeResults(setup)), "setup", setup)

	var res *Results
	if len(sc.Workload.Concurrency) > 0 {
		res = sweep(ctx, cl, sc, sched, seed, dur, mcfg.VocabSize, log, opt)
	} else {
		prompts, err := tokenizePrompts(src.Path, sc.Workload.Prompts)
		if err != nil {
			return nil, err
		}
		r := &runner{cl: cl, sc: sc, sched: sched, seed: seed, dur: dur, vocab: mcfg.VocabSize, log: log, prompts: prompts}
		res = r.run(ctx, opt)
	}
	res.Mode, res.Seed, res.SetupS = opt.Mode, seed, setup.Seconds()
	if procs != nil {
		res.Notes = append(res.Notes, procs.note())
	}
	res.Model = ModelInfo{Path: src.Path, ID: src.ID(), Layers: mcfg.Layers, Dim: mcfg.Dim, Vocab: mcfg.VocabSize, Encoding: enc.String()}
	res.Nodes = cl.nodeResults(setup)
	res.Links = cl.linkStats()
	res.finish()
	return res, ctx.Err()
}

// tokenizePrompts tokenizes texts with the tokenizer of the GGUF at path,
// each after a BOS.
func tokenizePrompts(path string, texts []string) ([][]int32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: prompts: %w", err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("bench: prompts: %w", err)
	}
	out := make([][]int32, len(texts))
	for i, t := range texts {
		out[i] = tok.Encode(t, true, false)
	}
	return out, nil
}

// failBackoff is the least pause of a closed-loop client after a failed
// request.
const failBackoff = 100 * time.Millisecond

// runner drives the workload and the events.
type runner struct {
	cl    cluster
	sc    *Scenario
	sched Schedule
	seed  uint64
	dur   time.Duration
	vocab int
	log   *slog.Logger
	// idBase is added to request IDs (the steps of a sweep).
	idBase int
	// prompts are Workload.Prompts tokenized (nil: random prompts).
	prompts [][]int32

	start time.Time

	mu       sync.Mutex
	reqs     []RequestResult
	tokens   []float64 // emission times, seconds since start
	running  int
	events   []EventResult
	finished bool
}

func (r *runner) since() time.Duration { return time.Since(r.start) }

func (r *runner) run(ctx context.Context, opt Options) *Results {
	r.start = time.Now()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if opt.Progress != nil {
		pwg.Go(func() { r.progress(opt.Progress, stopProgress) })
	}
	wg.Go(func() { r.runEvents(wctx) })
	entries := r.cl.entries()
	var reqWG sync.WaitGroup
	w := r.sc.Workload
	switch w.Arrival {
	case "closed":
		for c := range w.Clients {
			reqWG.Go(func() {
				for k := 0; ; k++ {
					if r.since() >= r.dur || wctx.Err() != nil {
						return
					}
					id := r.idBase + k*w.Clients + c
					pause := time.Duration(w.Think)
					if !r.request(wctx, entries[c%len(entries)], id, c, r.since()) {
						// A client whose request failed backs off instead of
						// spinning on a swarm that refuses it.
						pause = max(pause, failBackoff)
					}
					if pause > 0 {
						t := time.NewTimer(pause)
						select {
						case <-t.C:
						case <-wctx.Done():
							t.Stop()
							return
						}
					}
				}
			})
		}
	case "poisson":
		var sem chan struct{}
		if w.Clients > 0 {
			sem = make(chan struct{}, w.Clients)
		}
		reqWG.Go(func() {
			for _, a := range r.sched.Arrivals {
				if d := a.At - r.since(); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-wctx.Done():
						t.Stop()
						return
					}
				}
				reqWG.Go(func() {
					if sem != nil {
						select {
						case sem <- struct{}{}:
							defer func() { <-sem }()
						case <-wctx.Done():
							return
						}
					}
					r.request(wctx, entries[a.ID%len(entries)], a.ID, -1, a.At)
				})
			}
		})
	}
	done := make(chan struct{})
	go func() { reqWG.Wait(); close(done) }()
	drain := time.NewTimer(r.dur + opt.Drain)
	select {
	case <-done:
	case <-drain.C:
		r.log.Warn("requests still running after the drain time: cancelling them")
		cancel()
		<-done
	case <-ctx.Done():
		<-done
	}
	drain.Stop()
	elapsed := r.since()
	cancel()
	wg.Wait()
	close(stopProgress)
	pwg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Results{Scenario: r.sc.Name, StartedAt: r.start.UTC(), DurationS: elapsed.Seconds(), WorkloadS: r.dur.Seconds(),
		Requests: r.reqs, Events: r.events}
	res.tokenTimes = r.tokens
	return res
}

func (r *runner) runEvents(ctx context.Context) {
	for _, e := range r.sched.Events {
		at := time.Duration(e.At)
		if at > r.dur {
			break
		}
		if d := at - r.since(); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		er := EventResult{ScheduledS: at.Seconds(), AtS: r.since().Seconds(), Kind: e.Kind(), Target: e.Target()}
		var err error
		switch e.Kind() {
		case "kill":
			err = r.cl.kill(e.Kill)
		case "add":
			for i := range r.sc.Nodes {
				if g := &r.sc.Nodes[i]; g.Name == e.Add {
					err = r.cl.add(ctx, g)
				}
			}
		case "cut":
			err = r.cl.setCut(ctx, e.Cut[0], e.Cut[1], true)
		case "heal":
			err = r.cl.setCut(ctx, e.Heal[0], e.Heal[1], false)
		}
		if err != nil {
			er.Error = err.Error()
			r.log.Warn("event failed", "event", er.Kind, "target", er.Target, "err", err)
		}
		er.DoneS = r.since().Seconds()
		r.mu.Lock()
		r.events = append(r.events, er)
		r.mu.Unlock()
	}
}

// request runs one generation through entry and reports whether it
// succeeded.
func (r *runner) request(ctx context.Context, entry string, id, client int, arrival time.Duration) bool {
	w := r.sc.Workload
	prompt := Prompt(r.seed, id, w.PromptTokens, r.vocab)
	if len(r.prompts) > 0 {
		prompt = r.prompts[id%len(r.prompts)]
	}
	rr := RequestResult{ID: id, Client: client, Entry: entry, ArrivalS: arrival.Seconds(), StartS: r.since().Seconds(),
		PromptTokens: len(prompt), Warmup: arrival < time.Duration(w.Warmup)}
	r.mu.Lock()
	r.running++
	r.mu.Unlock()
	var emits []time.Duration
	st, err := r.cl.generate(ctx, entry, prompt, w.OutputTokens, func() {
		t := r.since()
		emits = append(emits, t)
		r.mu.Lock()
		r.tokens = append(r.tokens, t.Seconds())
		r.mu.Unlock()
	})
	rr.EndS = r.since().Seconds()
	rr.OutputTokens = len(emits)
	rr.Failovers = st.failovers
	if len(emits) > 0 {
		rr.TTFTMS = ms(emits[0] - arrival)
	}
	if len(emits) > 1 {
		gap := emits[len(emits)-1] - emits[0]
		rr.PerTokenMS = ms(gap) / float64(len(emits)-1)
		if gap > 0 {
			rr.TokensPerS = float64(len(emits)-1) / gap.Seconds()
		}
	}
	rr.Route = st.route
	rr.Passes, rr.Drafted, rr.Accepted = st.passes, st.drafted, st.accepted
	if st.passes == 0 {
		rr.Passes = max(0, len(emits)-1) // one token a pass
	}
	if st.timed {
		for _, h := range st.hops {
			if h.steps == 0 {
				continue
			}
			k := float64(h.steps)
			rr.Hops = append(rr.Hops, HopTiming{Node: h.node, Start: h.start, Blocks: h.blocks, Steps: h.steps,
				ComputeMS: ms(h.compute) / k, QueueMS: ms(h.queue) / k, NetworkMS: ms(h.network) / k})
		}
	}
	if err != nil {
		rr.Error = err.Error()
		if ctx.Err() == nil {
			r.log.Warn("request failed", "id", id, "err", err)
		}
	}
	r.mu.Lock()
	r.running--
	r.reqs = append(r.reqs, rr)
	r.mu.Unlock()
	return err == nil
}

// progress draws a bar on w until stop closes.
func (r *runner) progress(w io.Writer, stop chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	draw := func(final bool) {
		el := r.since()
		frac := min(1, el.Seconds()/r.dur.Seconds())
		r.mu.Lock()
		done, running, toks := len(r.reqs), r.running, len(r.tokens)
		recent := 0
		for i := len(r.tokens) - 1; i >= 0 && r.tokens[i] > el.Seconds()-2; i-- {
			recent++
		}
		r.mu.Unlock()
		fmt.Fprint(w, progress.Line("", frac, fmt.Sprintf("%5.1fs/%.0fs  %d done, %d running, %d tokens, %.1f tok/s  ",
			el.Seconds(), r.dur.Seconds(), done, running, toks, float64(recent)/2)))
		if final {
			fmt.Fprintln(w)
		}
	}
	for {
		select {
		case <-t.C:
			draw(false)
		case <-stop:
			draw(true)
			return
		}
	}
}
