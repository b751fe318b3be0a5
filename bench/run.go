package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
)

// Modes of Run.
const (
	// ModeMocknet runs every node in this process. Until package node can
	// be built on a given libp2p host (see the package doc), the nodes talk
	// over loopback TCP and the links are emulated by the stream shaper.
	ModeMocknet = "mocknet"
	// ModeProcesses runs every node as an `orbit run` process on loopback.
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
	// Progress, if set, receives a progress bar.
	Progress io.Writer
	// Logger logs the run; NodeLogger the nodes (both default to discard).
	Logger, NodeLogger *slog.Logger
	// Drain bounds the wait for requests in flight after the workload's
	// duration (default 60s).
	Drain time.Duration
}

// Run runs the scenario and returns its results.
func Run(ctx context.Context, sc *Scenario, opt Options) (*Results, error) {
	if opt.Mode == "" {
		opt.Mode = ModeMocknet
	}
	switch opt.Mode {
	case ModeMocknet:
	case ModeProcesses:
		return nil, errors.New("bench: --mode processes needs the `orbit run` command (cmd/orbit/run.go), which does not exist yet")
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

	src, mcfg, err := prepareModel(ctx, sc.Model, work)
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
	rowSize, err := enc.EncodedSize(1, mcfg.Dim)
	if err != nil {
		return nil, err
	}
	sched := NewSchedule(sc, seed)
	sw := &swarm{sc: sc, src: src, mcfg: mcfg, enc: enc, sh: newShaper(sc.Links, seed, rowSize), log: log, nodeL: nodeLog,
		t0: time.Now(), seed: seed, byPeer: map[peer.ID]*member{}}
	defer sw.close()
	for i := range sc.Nodes {
		if g := &sc.Nodes[i]; !g.Deferred {
			if err := sw.startGroup(ctx, g); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
		}
	}
	setup := time.Since(sw.t0)
	log.Info("swarm up", "nodes", len(sw.members), "setup", setup)

	r := &runner{sw: sw, sc: sc, sched: sched, seed: seed, dur: dur, vocab: mcfg.VocabSize, log: log}
	res := r.run(ctx, opt)
	res.Mode, res.Seed, res.SetupS = opt.Mode, seed, setup.Seconds()
	res.Model = ModelInfo{Path: src.Path, ID: src.ID(), Layers: mcfg.Layers, Dim: mcfg.Dim, Vocab: mcfg.VocabSize, Encoding: enc.String()}
	sw.mu.Lock()
	for _, m := range sw.members {
		nr := NodeResult{Name: m.name, Region: m.group.Region, Entry: m.group.Entry, Slowdown: m.group.Slowdown,
			Span: [2]int{m.status.Span.Start, m.status.Span.End}, ThroughputTokS: m.status.Throughput, StartedS: (m.started - setup).Seconds()}
		if m.killedAt > 0 {
			nr.KilledS = (m.killedAt - setup).Seconds()
		}
		res.Nodes = append(res.Nodes, nr)
	}
	sw.mu.Unlock()
	res.Links = sw.sh.stats()
	res.finish(sc)
	return res, ctx.Err()
}

// runner drives the workload and the events.
type runner struct {
	sw    *swarm
	sc    *Scenario
	sched Schedule
	seed  uint64
	dur   time.Duration
	vocab int
	log   *slog.Logger

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
	entries := r.sw.entries()
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
					id := k*w.Clients + c
					r.request(wctx, entries[c%len(entries)], id, c, r.since())
					if w.Think > 0 {
						t := time.NewTimer(time.Duration(w.Think))
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
			err = r.sw.kill(e.Kill)
		case "add":
			for i := range r.sc.Nodes {
				if g := &r.sc.Nodes[i]; g.Name == e.Add {
					err = r.sw.startGroup(ctx, g)
				}
			}
		case "cut":
			r.sw.sh.setCut(e.Cut[0], e.Cut[1], true)
		case "heal":
			r.sw.sh.setCut(e.Heal[0], e.Heal[1], false)
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

// request runs one generation through entry.
func (r *runner) request(ctx context.Context, entry *member, id, client int, arrival time.Duration) {
	w := r.sc.Workload
	prompt := Prompt(r.seed, id, w.PromptTokens, r.vocab)
	rr := RequestResult{ID: id, Client: client, Entry: entry.name, ArrivalS: arrival.Seconds(), StartS: r.since().Seconds(),
		PromptTokens: len(prompt), Warmup: arrival < time.Duration(w.Warmup)}
	r.mu.Lock()
	r.running++
	r.mu.Unlock()
	var emits []time.Duration
	st, err := entry.n.Generate(ctx, r.sw.src.ID(), prompt, w.OutputTokens, nil, nil, func(int32) error {
		t := r.since()
		emits = append(emits, t)
		r.mu.Lock()
		r.tokens = append(r.tokens, t.Seconds())
		r.mu.Unlock()
		return nil
	})
	rr.EndS = r.since().Seconds()
	rr.OutputTokens = len(emits)
	rr.Failovers = st.Failovers
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
	for _, h := range st.Route {
		rr.Route = append(rr.Route, RouteHop{Node: r.sw.nameOf(h.Peer), Start: h.Span.Start, End: h.Span.End})
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
		const width = 30
		n := int(frac * width)
		bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		fmt.Fprintf(w, "\r[%s] %5.1fs/%.0fs  %d done, %d running, %d tokens, %.1f tok/s  ", bar, el.Seconds(), r.dur.Seconds(), done, running, toks, float64(recent)/2)
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
