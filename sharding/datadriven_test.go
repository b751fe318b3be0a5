package sharding

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the scenario scripts of testdata with
// cockroachdb/datadriven: a command line, a "----" line, then the expected
// output up to a blank line. Regenerate the expected outputs with
//
//	go test ./sharding/ -run TestScenarios -rewrite
//
// and review the diff before committing it.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			h := newHarness()
			datadriven.RunTest(t, f, func(t *testing.T, d *datadriven.TestData) string {
				got, err := h.run(commandLine(d))
				if err != nil {
					t.Fatalf("%s: %s: %v", d.Pos, d.Cmd, err)
				}
				return strings.Join(got, "\n") + "\n"
			})
		})
	}
}

// commandLine writes d's command back as the harness reads it: the
// command, then its arguments as words and key=value pairs.
func commandLine(d *datadriven.TestData) string {
	words := []string{d.Cmd}
	for _, a := range d.CmdArgs {
		if len(a.Vals) == 0 {
			words = append(words, a.Key)
		} else {
			words = append(words, a.Key+"="+strings.Join(a.Vals, ","))
		}
	}
	return strings.Join(words, " ")
}

// harness is the scenario interpreter's state: one model's swarm.
type harness struct {
	sw      Swarm
	clients map[string]map[string]time.Duration // client -> server -> RTT
	epoch   int64
}

func newHarness() *harness {
	return &harness{clients: map[string]map[string]time.Duration{}}
}

// args splits "name k=v k=v" into positional words and key/value pairs.
func args(fields []string) ([]string, map[string]string) {
	var pos []string
	kv := map[string]string{}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		} else {
			pos = append(pos, f)
		}
	}
	return pos, kv
}

func (h *harness) find(id string) int {
	return slices.IndexFunc(h.sw.Servers, func(s Server) bool { return s.ID == id })
}

// setFields applies tput=, load=, rtt=, cache= and span=S-E to s.
func setFields(s *Server, kv map[string]string) error {
	for k, v := range kv {
		var err error
		switch k {
		case "tput":
			s.Throughput, err = strconv.ParseFloat(v, 64)
		case "load":
			s.Load, err = strconv.ParseFloat(v, 64)
		case "rtt":
			s.RTT, err = time.ParseDuration(v)
		case "cache":
			s.FreeCache, err = strconv.Atoi(v)
		case "span":
			a, b, ok := strings.Cut(v, "-")
			if !ok {
				return fmt.Errorf("span=%q: want START-END", v)
			}
			if s.Span.Start, err = strconv.Atoi(a); err == nil {
				s.Span.End, err = strconv.Atoi(b)
			}
		case "cap":
		default:
			return fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return fmt.Errorf("%s=%s: %w", k, v, err)
		}
	}
	return nil
}

func (h *harness) run(line string) ([]string, error) {
	if i := strings.Index(line, "#"); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(line)
	pos, kv := args(fields[1:])
	need := func(n int) error {
		if len(pos) != n {
			return fmt.Errorf("want %d positional arguments, got %d", n, len(pos))
		}
		return nil
	}
	switch fields[0] {
	case "blocks":
		if err := need(1); err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(pos[0])
		if err != nil {
			return nil, err
		}
		*h = *newHarness()
		h.sw.Blocks = n
		return []string{"ok"}, nil

	case "join", "add":
		// join ID cap=N tput=F [load= rtt= cache=]: placed by ChooseSpan.
		// add ID span=S-E tput=F [...]: placed explicitly.
		if err := need(1); err != nil {
			return nil, err
		}
		if h.find(pos[0]) >= 0 {
			return nil, fmt.Errorf("server %q already present", pos[0])
		}
		s := Server{ID: pos[0], FreeCache: 1000}
		if err := setFields(&s, kv); err != nil {
			return nil, err
		}
		if fields[0] == "join" {
			capacity, err := strconv.Atoi(kv["cap"])
			if err != nil {
				return nil, fmt.Errorf("cap: %w", err)
			}
			s.Span = ChooseSpan(h.sw, capacity, s.Throughput)
		}
		h.sw.Servers = append(h.sw.Servers, s)
		return []string{fmt.Sprintf("%s %v", s.ID, s.Span)}, nil

	case "set":
		if err := need(1); err != nil {
			return nil, err
		}
		i := h.find(pos[0])
		if i < 0 {
			return nil, fmt.Errorf("no server %q", pos[0])
		}
		if err := setFields(&h.sw.Servers[i], kv); err != nil {
			return nil, err
		}
		return []string{"ok"}, nil

	case "leave", "crash":
		// For the pure package a crash is a leave: the server's record is
		// gone from the view.
		if err := need(1); err != nil {
			return nil, err
		}
		i := h.find(pos[0])
		if i < 0 {
			return nil, fmt.Errorf("no server %q", pos[0])
		}
		h.sw.Servers = slices.Delete(h.sw.Servers, i, i+1)
		return []string{h.gaps()}, nil

	case "client":
		// client NAME server=RTT ...: RTTs measured by that client.
		if err := need(1); err != nil {
			return nil, err
		}
		m := map[string]time.Duration{}
		for k, v := range kv {
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, err
			}
			m[k] = d
		}
		h.clients[pos[0]] = m
		return []string{"ok"}, nil

	case "servers":
		var out []string
		for _, s := range h.sw.Servers {
			out = append(out, fmt.Sprintf("%s %v tput=%g load=%g rtt=%v", s.ID, s.Span, s.Throughput, s.Load, s.RTT))
		}
		if len(out) == 0 {
			out = []string{"none"}
		}
		return out, nil

	case "coverage":
		return []string{"coverage: " + joinInts(Coverage(h.sw)), h.gaps()}, nil

	case "gaps":
		return []string{h.gaps()}, nil

	case "throughput":
		var parts []string
		for _, v := range BlockThroughput(h.sw) {
			parts = append(parts, strconv.FormatFloat(v, 'g', 6, 64))
		}
		return []string{
			"throughput: " + strings.Join(parts, " "),
			fmt.Sprintf("bottleneck: %g", Bottleneck(h.sw)),
		}, nil

	case "rebalance":
		return h.rebalance(kv)

	case "route":
		return h.route(pos, kv)
	}
	return nil, fmt.Errorf("unknown command %q", fields[0])
}

func (h *harness) gaps() string {
	g := Gaps(h.sw)
	if len(g) == 0 {
		return "gaps: none"
	}
	var parts []string
	for _, s := range g {
		parts = append(parts, s.String())
	}
	return "gaps: " + strings.Join(parts, " ")
}

func joinInts(v []int) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, strconv.Itoa(x))
	}
	return strings.Join(parts, " ")
}

// rebalance runs epochs: in each, the server RebalanceTurn names may move
// (one move per epoch). It stops after a full cycle of epochs without a
// move, or after max moves (default 20).
func (h *harness) rebalance(kv map[string]string) ([]string, error) {
	th, maxMoves := 0.2, 20
	var err error
	if v, ok := kv["threshold"]; ok {
		if th, err = strconv.ParseFloat(v, 64); err != nil {
			return nil, err
		}
	}
	if v, ok := kv["max"]; ok {
		if maxMoves, err = strconv.Atoi(v); err != nil {
			return nil, err
		}
	}
	var out []string
	moves, idle := 0, 0
	for idle < len(h.sw.Servers) && moves < maxMoves {
		ids := make([]string, len(h.sw.Servers))
		for i, s := range h.sw.Servers {
			ids[i] = s.ID
		}
		e := h.epoch
		h.epoch++
		i := slices.IndexFunc(ids, func(id string) bool { return RebalanceTurn(ids, id, e) })
		if i < 0 {
			return nil, fmt.Errorf("epoch %d: nobody holds the turn", e)
		}
		me := h.sw.Servers[i]
		span, move := Rebalance(h.sw, me.ID, th)
		if !move {
			idle++
			continue
		}
		before := Bottleneck(h.sw)
		h.sw.Servers[i].Span = span
		out = append(out, fmt.Sprintf("epoch %d: %s %v -> %v bottleneck %g -> %g",
			e, me.ID, me.Span, span, before, Bottleneck(h.sw)))
		moves++
		idle = 0
	}
	if moves >= maxMoves {
		out = append(out, fmt.Sprintf("stopped after %d moves", moves))
	} else {
		out = append(out, fmt.Sprintf("stable after %d moves", moves))
	}
	return out, nil
}

// route CLIENT [mode=latency|throughput] [from=N] [to=N] [exclude=a,b] [need=N]
func (h *harness) route(pos []string, kv map[string]string) ([]string, error) {
	if len(pos) != 1 {
		return nil, fmt.Errorf("route: want a client name")
	}
	sw := Swarm{Blocks: h.sw.Blocks, Servers: slices.Clone(h.sw.Servers)}
	if rtts, ok := h.clients[pos[0]]; ok {
		for i := range sw.Servers {
			if d, ok := rtts[sw.Servers[i].ID]; ok {
				sw.Servers[i].RTT = d
			}
		}
	}
	var opt RouteOptions
	from, to := 0, sw.Blocks
	for k, v := range kv {
		var err error
		switch k {
		case "mode":
			opt.Mode, err = ParseMode(v)
		case "from":
			from, err = strconv.Atoi(v)
		case "to":
			to, err = strconv.Atoi(v)
		case "need":
			opt.NeedCache, err = strconv.Atoi(v)
		case "exclude":
			opt.Exclude = map[string]bool{}
			for _, id := range strings.Split(v, ",") {
				opt.Exclude[id] = true
			}
		default:
			return nil, fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return nil, err
		}
	}
	hops, err := Route(sw, from, to, opt)
	if err != nil {
		return []string{"error: " + err.Error()}, nil
	}
	var out []string
	for _, hp := range hops {
		out = append(out, fmt.Sprintf("%s %v", hp.Server, hp.Span))
	}
	cost, err := RouteCost(sw, hops, opt)
	if err != nil {
		return nil, err
	}
	return append(out, fmt.Sprintf("cost %v", cost)), nil
}
