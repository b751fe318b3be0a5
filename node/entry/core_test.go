package entry

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/orbitswarm/orbit/protocol"
	"github.com/orbitswarm/orbit/sharding"
)

// harness runs a scenario of testdata/*.txt against a Core. It plays the
// servers: a hop's result is its input with every row's stage byte raised
// by one, so the stage of an output row tells how many hops (replays
// included) it went through, and the position byte which row it is.
//
// Commands (each prints the actions the core returned, one a line):
//
//	new blocks=N [chunk=R] [maxlen=L] [timeout=D|auto] [floor=D] [cap=D] [mode=throughput] [spread=X] [pinned=(a:0-2,b:2-4)] [verify=RATE] [seed=S] [self=NAME]
//	liars NAME...               these servers' results are wrong (stage byte +50)
//	start
//	view                        input: one server a line, "NAME START END [tput=T] [load=L] [rtt=MS] [sessions=K] [banned]"
//	view-failed
//	opened
//	open-failed hop=ID [err=unreachable|cache-full|unknown-model]
//	submit pos=P rows=R
//	rollback len=N
//	result [pos=P] [compute=D] [queue=D] [push-error]   answers the pending Await
//	fail [err=gone|bad-push]    the awaited hop's stream ended or it reported an error
//	lie                         the driver found the awaited result bad
//	timeout                     no result by the deadline
//	advance d=D                 moves the clock
//	unexpected                  feeds an Opened the core did not ask for
//	stats
type harness struct {
	t       *testing.T
	core    *Core
	now     time.Time
	epoch   time.Time
	names   map[peer.ID]string
	hops    map[HopID]string
	pending *Await
	// inputs[hop][seq] is the last step sent to a hop (by the core).
	inputs map[HopID]map[uint64]protocol.Hidden
	last   protocol.Hidden // the last result given
	liars  map[string]bool
}

func (h *harness) peer(name string) peer.ID {
	p := peer.ID(name)
	h.names[p] = name
	return p
}

func (h *harness) name(p peer.ID) string {
	if n, ok := h.names[p]; ok {
		return n
	}
	return p.String()
}

func rowsOf(hd protocol.Hidden) string {
	if hd.Rows == 0 || len(hd.Data)%hd.Rows != 0 {
		return fmt.Sprintf("?%d/%d", hd.Rows, len(hd.Data))
	}
	rb := len(hd.Data) / hd.Rows
	var s []string
	for r := range hd.Rows {
		s = append(s, fmt.Sprintf("%d.%d", hd.Data[r*rb], hd.Data[r*rb+1]))
	}
	return strings.Join(s, ",")
}

func (h *harness) format(acts []Action) string {
	var b strings.Builder
	for _, a := range acts {
		switch a := a.(type) {
		case Open:
			b.WriteString("open")
			for _, x := range a.Hops {
				h.hops[x.ID] = h.name(x.Peer)
				fmt.Fprintf(&b, " %d:%s[%d,%d)", x.ID, h.name(x.Peer), x.Span.Start, x.Span.End)
			}
			if a.Tail != NoHop {
				fmt.Fprintf(&b, " tail=%d", a.Tail)
			}
		case Send:
			fmt.Fprintf(&b, "send %d:%s seq=%d pos=%d fwd=%d rows=%s", a.Hop, h.hops[a.Hop], a.Step.Seq, a.Step.Pos, a.Step.Forward, rowsOf(a.Step.Hidden))
			if h.inputs[a.Hop] == nil {
				h.inputs[a.Hop] = map[uint64]protocol.Hidden{}
			}
			h.inputs[a.Hop][a.Step.Seq] = a.Step.Hidden
		case Await:
			h.pending = &a
			fmt.Fprintf(&b, "await %d:%s seq=%d rows=%d by=+%v", a.Hop, h.hops[a.Hop], a.Seq, a.Rows, a.Deadline.Sub(h.epoch))
		case SetNext:
			fmt.Fprintf(&b, "set-next %d:%s -> %d:%s", a.Hop, h.hops[a.Hop], a.Next, h.hops[a.Next])
		case Reset:
			fmt.Fprintf(&b, "reset %d:%s", a.Hop, h.hops[a.Hop])
		case Truncate:
			fmt.Fprintf(&b, "truncate %d:%s seq=%d len=%d", a.Hop, h.hops[a.Hop], a.Seq, a.Len)
		case Ban:
			fmt.Fprintf(&b, "ban %s", h.name(a.Peer))
		case Observe:
			fmt.Fprintf(&b, "observe %s[%d,%d) %v", h.name(a.Peer), a.Span.Start, a.Span.End, a.RoundTrip)
		case Output:
			fmt.Fprintf(&b, "output seq=%d rows=%s", a.Seq, rowsOf(a.Hidden))
		case Checked:
			fmt.Fprintf(&b, "checked %s[%d,%d) by %s rows=%d", h.name(a.Peer), a.Span.Start, a.Span.End, h.name(a.Verifier), a.Rows)
		case Mismatch:
			judge := "-"
			if a.Judge != nil {
				judge = h.name(a.Judge.Peer)
			}
			fmt.Fprintf(&b, "mismatch [%d,%d) pos=%d accused=%s verifier=%s judge=%s liar=%s", a.Span.Start, a.Span.End, a.Pos,
				h.name(a.Accused.Peer), h.name(a.Verifier.Peer), judge, h.name(a.Liar))
		case Fail:
			fmt.Fprintf(&b, "fail: %v", a.Err)
		default:
			b.WriteString(a.String())
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (h *harness) step(ev Event) string {
	h.pending = nil
	return h.format(h.core.Step(h.now, ev))
}

func parseSpan(s string) sharding.Span {
	a, b, _ := strings.Cut(s, "-")
	start, _ := strconv.Atoi(a)
	end, _ := strconv.Atoi(b)
	return sharding.Span{Start: start, End: end}
}

func errNamed(name string) error {
	switch name {
	case "cache-full":
		return fmt.Errorf("%w: test", protocol.ErrCacheFull)
	case "unknown-model":
		return fmt.Errorf("%w: test", protocol.ErrUnknownModel)
	case "bad-push":
		return &protocol.RemoteError{Code: protocol.CodeBadPush, Message: "push failed"}
	case "gone":
		return fmt.Errorf("%w: stream reset", protocol.ErrHopGone)
	}
	return errors.New("connection refused")
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	arg := func(key, def string) string {
		for _, a := range d.CmdArgs {
			if a.Key == key {
				if len(a.Vals) == 0 {
					return "true"
				}
				return strings.Join(a.Vals, ",")
			}
		}
		return def
	}
	num := func(key, def string) int {
		v, err := strconv.Atoi(arg(key, def))
		if err != nil {
			d.Fatalf(t, "%s: %v", key, err)
		}
		return v
	}
	dur := func(key, def string) time.Duration {
		v, err := time.ParseDuration(arg(key, def))
		if err != nil {
			d.Fatalf(t, "%s: %v", key, err)
		}
		return v
	}
	due := func() *Await {
		if h.pending == nil {
			d.Fatalf(t, "no Await pending")
		}
		return h.pending
	}
	switch d.Cmd {
	case "new":
		cfg := Config{Model: "m", Blocks: num("blocks", "4"), Dim: 2, Encoding: protocol.EncodingF32,
			MaxLen: num("maxlen", "16"), Chunk: num("chunk", "8"), StepFloor: dur("floor", "0s"), StepCap: dur("cap", "0s")}
		if arg("timeout", "") != "auto" {
			cfg.StepTimeout = dur("timeout", "30s")
		}
		cfg.VerifyRate, _ = strconv.ParseFloat(arg("verify", "0"), 64)
		cfg.Seed = uint64(num("seed", "1"))
		if s := arg("self", ""); s != "" {
			cfg.Self = h.peer(s)
		}
		if arg("mode", "") == "throughput" {
			cfg.Mode = sharding.MaxThroughput
		}
		if x, err := strconv.ParseFloat(arg("spread", "0"), 64); err == nil {
			cfg.Spread = x
		}
		if p := arg("pinned", ""); p != "" {
			cfg.Route = []RouteHop{}
			for _, x := range strings.Split(p, ",") {
				n, s, _ := strings.Cut(x, ":")
				cfg.Route = append(cfg.Route, RouteHop{Peer: h.peer(n), Span: parseSpan(s)})
			}
		}
		h.core = New(cfg)
		h.epoch = h.now // deadlines print from the scenario's start
		return ""
	case "start":
		return h.step(Start{})
	case "view":
		v := ViewUpdate{Peers: map[string]peer.ID{}, Banned: map[string]bool{}, Sessions: map[string]int{}}
		v.Swarm.Blocks = h.core.cfg.Blocks
		for _, l := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			f := strings.Fields(l)
			if len(f) < 3 {
				continue
			}
			p := h.peer(f[0])
			id := p.String()
			start, _ := strconv.Atoi(f[1])
			end, _ := strconv.Atoi(f[2])
			s := sharding.Server{ID: id, Span: sharding.Span{Start: start, End: end}, Throughput: 10, FreeCache: 100, RTT: 10 * time.Millisecond}
			for _, o := range f[3:] {
				k, val, _ := strings.Cut(o, "=")
				x, _ := strconv.ParseFloat(val, 64)
				switch k {
				case "tput":
					s.Throughput = x
				case "load":
					s.Load = x
				case "rtt":
					s.RTT = time.Duration(x) * time.Millisecond
				case "sessions":
					v.Sessions[id] = int(x)
				case "banned":
					v.Banned[id] = true
				}
			}
			v.Swarm.Servers = append(v.Swarm.Servers, s)
			v.Peers[id] = p
		}
		return h.step(v)
	case "view-failed":
		return h.step(ViewFailed{Err: errors.New("dht lookup failed")})
	case "opened":
		return h.step(Opened{})
	case "open-failed":
		return h.step(OpenFailed{Hop: HopID(num("hop", "0")), Err: errNamed(arg("err", "unreachable"))})
	case "submit":
		pos, rows := num("pos", "0"), num("rows", "1")
		data := make([]byte, 0, 2*rows)
		for r := range rows {
			data = append(data, byte(pos+r), 0)
		}
		return h.step(Submit{Pos: pos, Hidden: protocol.Hidden{Encoding: protocol.EncodingF32, Rows: rows, Dim: 2, Data: data}})
	case "rollback":
		return h.step(Rollback{Len: num("len", "0")})
	case "result":
		a := due()
		in, ok := h.inputs[a.Hop][a.Seq]
		if !ok {
			in = h.last // pushed by the previous hop
		}
		out := protocol.Hidden{Encoding: in.Encoding, Rows: in.Rows, Dim: in.Dim, Data: append([]byte(nil), in.Data...)}
		for r := 1; r < len(out.Data); r += 2 {
			out.Data[r]++
			if h.liars[h.hops[a.Hop]] {
				out.Data[r] += 50
			}
		}
		pos := in.Data[0]
		res := protocol.Result{Seq: a.Seq, Pos: num("pos", strconv.Itoa(int(pos))), Hidden: out,
			Compute: dur("compute", "0s"), Queue: dur("queue", "0s")}
		if arg("push-error", "") != "" {
			res.PushError = "connection refused"
		}
		h.last = out
		return h.step(StepResult{Hop: a.Hop, Seq: a.Seq, Result: res})
	case "fail":
		a := due()
		return h.step(HopFailed{Hop: a.Hop, Seq: a.Seq, Err: errNamed(arg("err", "gone"))})
	case "lie":
		a := due()
		return h.step(HopFailed{Hop: a.Hop, Seq: a.Seq, Err: fmt.Errorf("%w: got 3 rows, want 1", protocol.ErrBadHidden)})
	case "timeout":
		a := due()
		return h.step(Timeout{Hop: a.Hop, Seq: a.Seq})
	case "liars":
		h.liars = map[string]bool{}
		for _, a := range d.CmdArgs {
			h.liars[a.Key] = true
		}
		return ""
	case "advance":
		h.now = h.now.Add(dur("d", "0s"))
		return ""
	case "unexpected":
		return h.step(Opened{})
	case "stats":
		st := h.core.Stats()
		var b strings.Builder
		fmt.Fprintf(&b, "steps=%d failovers=%d relayed=%d\n", st.Steps, st.Failovers, st.Relayed)
		if v := st.Verify; v != (VerifyStats{}) {
			fmt.Fprintf(&b, "checks=%d mismatches=%d skipped=%d rows=%d\n", v.Checks, v.Mismatches, v.Skipped, v.Rows)
		}
		var route []string
		for _, r := range st.Route {
			route = append(route, fmt.Sprintf("%s[%d,%d)", h.name(r.Peer), r.Span.Start, r.Span.End))
		}
		fmt.Fprintf(&b, "route %s\n", strings.Join(route, " "))
		for _, x := range st.Hops {
			fmt.Fprintf(&b, "hop %s[%d,%d) steps=%d compute=%v queue=%v network=%v\n", h.name(x.Server), x.Span.Start, x.Span.End, x.Steps, x.Compute, x.Queue, x.Network)
		}
		return b.String()
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

// TestScenarios runs testdata/*.txt (rewrite the expected outputs with
// -rewrite, then review the diff).
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	sort.Strings(files)
	start := time.Now()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			h := &harness{t: t, now: epoch, epoch: epoch, names: map[peer.ID]string{}, hops: map[HopID]string{},
				inputs: map[HopID]map[uint64]protocol.Hidden{}}
			datadriven.RunTest(t, f, func(t *testing.T, d *datadriven.TestData) string { return h.run(t, d) })
		})
	}
	t.Logf("%d scenarios in %v", len(files), time.Since(start))
}

// BenchmarkStep is one step through a route of four hops: the Submit and
// the four results, as the driver feeds them.
func BenchmarkStep(b *testing.B) {
	c := New(Config{Model: "m", Blocks: 4, Dim: 2, Encoding: protocol.EncodingF32, MaxLen: 1 << 30, Chunk: 8, StepTimeout: time.Second})
	v := ViewUpdate{Swarm: sharding.Swarm{Blocks: 4}, Peers: map[string]peer.ID{}}
	for i := range 4 {
		p := peer.ID(rune('a' + i))
		v.Swarm.Servers = append(v.Swarm.Servers, sharding.Server{ID: p.String(), Span: sharding.Span{Start: i, End: i + 1}, Throughput: 10, FreeCache: 1 << 30})
		v.Peers[p.String()] = p
	}
	now := time.Unix(0, 0)
	c.Step(now, Start{})
	c.Step(now, v)
	c.Step(now, Opened{})
	h := protocol.Hidden{Encoding: protocol.EncodingF32, Rows: 1, Dim: 2, Data: make([]byte, 8)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		acts := c.Step(now, Submit{Pos: i, Hidden: h})
		for {
			a, ok := acts[len(acts)-1].(Await)
			if !ok {
				break
			}
			acts = c.Step(now, StepResult{Hop: a.Hop, Seq: a.Seq, Result: protocol.Result{Seq: a.Seq, Pos: i, Hidden: h}})
		}
		if _, ok := acts[len(acts)-1].(Output); !ok {
			b.Fatalf("step %d ended with %v", i, acts)
		}
	}
}
