package bench

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/orbitswarm/orbit/engine"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/protocol"
)

// Liar behaviours of a node group (Group.Liar): what a lying server
// answers for the rows of positions from Group.LieFrom on.
const (
	LieEcho   = "echo"   // skips the compute, returns its input
	LieNoise  = "noise"  // adds N(0, 0.1) noise to the true output
	LieRandom = "random" // returns uniform values in [-1, 1)
)

// lieFunc is node.Config.Lie for a group's behaviour: deterministic per
// (seed, node, position), so runs repeat.
func lieFunc(kind string, from int, seed uint64, name string) func(pos int, in, out []float32) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	key := h.Sum64() ^ seed
	return func(pos int, in, out []float32) {
		if pos < from {
			return
		}
		rng := rand.New(rand.NewPCG(key, uint64(pos)))
		switch kind {
		case LieEcho:
			copy(out, in)
		case LieNoise:
			for i := range out {
				out[i] += float32(rng.NormFloat64() * 0.1)
			}
		case LieRandom:
			for i := range out {
				out[i] = float32(rng.Float64()*2 - 1)
			}
		}
	}
}

// VerifyPoint is one verify rate of a verification run
// (Workload.VerifyRates): requests one after another from the first entry
// node, on a swarm started afresh for the rate (so bans start empty).
type VerifyPoint struct {
	Rate       float64 `json:"rate"`
	Requests   int     `json:"requests"`
	Failed     int     `json:"failed"`
	Tokens     int     `json:"tokens"`
	TokensPerS float64 `json:"tokens_per_s"` // generated tokens over the requests' wall time
	MeanS      float64 `json:"mean_s"`       // mean request time
	// Checks made, mismatches found, rows the verifiers recomputed and
	// the time the generations spent checking (CheckShare of their time).
	Checks      int     `json:"checks"`
	Mismatches  int     `json:"mismatches"`
	CheckedRows int     `json:"checked_rows"`
	CheckS      float64 `json:"check_s"`
	CheckShare  float64 `json:"check_share"`
	// Detected says a liar was caught; DetectionSteps is how many
	// positions went by from its first lie to the step that caught it
	// (1: the step it lied in), DetectedAtRequest the request (0-based)
	// that caught it. WastedTokens are the tokens generated from lying
	// outputs before that (they reached a client).
	Detected          bool     `json:"detected"`
	DetectionSteps    int      `json:"detection_steps"`
	DetectedAtRequest int      `json:"detected_at_request"`
	WastedTokens      int      `json:"wasted_tokens"`
	Banned            []string `json:"banned"` // liars banned at the entry node at the end
}

// verifySweep runs the workload at each of Workload.VerifyRates: for each
// a fresh mocknet swarm, then closed-loop requests one after another
// from the first entry node for the workload's duration (at least
// Workload.Clients requests... one client: detection is per generation).
func verifySweep(ctx context.Context, sc *Scenario, src *node.FileSource, mcfg engine.Config, enc protocol.Encoding, seed uint64,
	dur time.Duration, log, nodeLog *slog.Logger) ([]VerifyPoint, error) {
	w := sc.Workload
	var out []VerifyPoint
	for _, rate := range w.VerifyRates {
		sw := newSwarm(sc, src, mcfg, enc, seed, log, nodeLog)
		p, err := func() (VerifyPoint, error) {
			defer sw.close()
			for i := range sc.Nodes {
				if g := &sc.Nodes[i]; !g.Deferred {
					if err := sw.startGroup(ctx, g); err != nil {
						return VerifyPoint{}, err
					}
				}
			}
			return sw.verifyRun(ctx, rate, dur, mcfg.VocabSize)
		}()
		if err != nil {
			return out, fmt.Errorf("bench: verify rate %v: %w", rate, err)
		}
		log.Info("verify rate done", "rate", rate, "tokens_per_s", p.TokensPerS, "checks", p.Checks, "detected", p.Detected,
			"detection_steps", p.DetectionSteps, "wasted_tokens", p.WastedTokens)
		out = append(out, p)
	}
	return out, ctx.Err()
}

// liarFrom returns the position a member lies from, if it lies.
func (s *swarm) liarFrom(name string) (int, bool) {
	m := s.memberNamed(name)
	if m == nil || m.group.Liar == "" {
		return 0, false
	}
	return m.group.LieFrom, true
}

func (s *swarm) verifyRun(ctx context.Context, rate float64, dur time.Duration, vocab int) (VerifyPoint, error) {
	p := VerifyPoint{Rate: rate, Banned: []string{}}
	ents := s.entries()
	if len(ents) == 0 {
		return p, fmt.Errorf("no entry node")
	}
	m := s.memberNamed(ents[0])
	w := s.sc.Workload
	start := time.Now()
	var busy time.Duration
	disputes := 0
	for id := 0; time.Since(start) < dur || id < max(1, w.Clients); id++ {
		if ctx.Err() != nil {
			break
		}
		prompt := Prompt(s.seed, id, w.PromptTokens, vocab)
		r := rate
		t0 := time.Now()
		n := 0
		st, err := m.n.GenerateWith(ctx, s.src.ID(), prompt, w.OutputTokens, nil, nil, func(int32) error { n++; return nil },
			node.GenerateHooks{VerifyRate: &r})
		busy += time.Since(t0)
		p.Requests++
		p.Tokens += n
		if err != nil {
			p.Failed++
		}
		v := st.Verify
		p.Checks += v.Checks
		p.Mismatches += v.Mismatches
		p.CheckedRows += v.Rows
		p.CheckS += v.Time.Seconds()
		// Wasted tokens: token k comes from the logits of position
		// len(prompt)+k-1; it is wrong when a liar computed that position
		// before it was caught.
		vs := m.n.VerifyStatus()
		var caught *node.Dispute
		if len(vs.Disputes) > disputes {
			caught = &vs.Disputes[disputes]
			disputes = len(vs.Disputes)
		}
		for _, h := range st.Hops {
			from, lies := s.liarFrom(s.nameOf(h.Server))
			if !lies {
				continue
			}
			for k := range n {
				pos := len(prompt) + k - 1
				if pos >= from && (caught == nil || pos < caught.Caught) {
					p.WastedTokens++
				}
			}
		}
		if caught != nil && caught.Liar != "" && !p.Detected {
			p.Detected, p.DetectedAtRequest = true, id
			p.DetectionSteps = caught.End - caught.Pos // from the first wrong position to the end of the step that caught it
		}
	}
	if busy > 0 {
		p.TokensPerS = float64(p.Tokens) / busy.Seconds()
		p.MeanS = busy.Seconds() / float64(max(1, p.Requests))
		p.CheckShare = p.CheckS / busy.Seconds()
	}
	for _, l := range m.n.VerifyStatus().Liars {
		p.Banned = append(p.Banned, s.nameOf(l.Peer))
	}
	slices.Sort(p.Banned)
	return p, nil
}

// writeVerify writes verify.csv: a row per verify rate.
func (r *Results) writeVerify(dir string) error {
	ff := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	rows := [][]string{{"rate", "requests", "failed", "tokens", "tokens_per_s", "mean_s", "checks", "mismatches", "checked_rows", "check_s", "check_share",
		"detected", "detection_steps", "detected_at_request", "wasted_tokens", "banned"}}
	for _, p := range r.Verify {
		banned := ""
		for i, b := range p.Banned {
			if i > 0 {
				banned += " "
			}
			banned += b
		}
		rows = append(rows, []string{ff(p.Rate), strconv.Itoa(p.Requests), strconv.Itoa(p.Failed), strconv.Itoa(p.Tokens), ff(p.TokensPerS), ff(p.MeanS),
			strconv.Itoa(p.Checks), strconv.Itoa(p.Mismatches), strconv.Itoa(p.CheckedRows), ff(p.CheckS), ff(p.CheckShare),
			strconv.FormatBool(p.Detected), strconv.Itoa(p.DetectionSteps), strconv.Itoa(p.DetectedAtRequest), strconv.Itoa(p.WastedTokens), banned})
	}
	return writeCSV(filepath.Join(dir, "verify.csv"), rows)
}

// validVerifyRates checks Workload.VerifyRates.
func validVerifyRates(rates []float64) error {
	for _, r := range rates {
		if !(r >= 0 && r <= 1) || math.IsNaN(r) {
			return fmt.Errorf("workload: verify_rates: %v is not in [0, 1]", r)
		}
	}
	return nil
}

// lieOf is a group's node.Config.Lie (nil for honest groups).
func lieOf(g *Group, seed uint64, name string) func(pos int, in, out []float32) {
	if g.Liar == "" {
		return nil
	}
	return lieFunc(g.Liar, g.LieFrom, seed, name)
}
