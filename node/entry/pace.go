package entry

import (
	"time"

	"github.com/orbitswarm/orbit/sharding"
)

// Defaults of the step deadlines derived from observed step times
// (Config.StepTimeout zero).
const (
	// DefaultStepFloor is the shortest deadline a step is given.
	DefaultStepFloor = 2 * time.Second
	// DefaultStepCap is the longest.
	DefaultStepCap = 30 * time.Second
)

// Multipliers of the expected step time: a hop measured in this
// generation gets stepFactor times its expected time plus four mean
// deviations of its round trips; a hop not measured yet, whose
// expectation comes from what the view says of it (its round-trip
// estimate and claimed throughput), gets priorFactor times it.
const (
	stepFactor  = 3
	priorFactor = 8
)

// pace is what the core knows of how fast one hop answers: its steps'
// round trips split into a fixed part (network, queueing, protocol) and
// compute per row (as the server reports it), each a moving average as
// TCP keeps its RTT (gain 1/8, deviation gain 1/4).
type pace struct {
	n       int
	base    time.Duration // round trip less compute
	baseDev time.Duration // mean deviation of the round trip from its expectation
	perRow  time.Duration // compute per row

	// prior, for a hop with no sample: its RTT and its span's time per
	// row as the view claims them; perRowPrior 0 means unknown.
	rttPrior    time.Duration
	perRowPrior time.Duration
}

// sample adds one step of rows rows that took roundTrip, compute of it
// reported by the server.
func (p *pace) sample(roundTrip, compute time.Duration, rows int) {
	rows = max(rows, 1)
	compute = min(max(compute, 0), roundTrip)
	base, perRow := roundTrip-compute, compute/time.Duration(rows)
	if p.n == 0 {
		p.base, p.baseDev, p.perRow = base, roundTrip/2, perRow
		p.n = 1
		return
	}
	want := p.base + time.Duration(rows)*p.perRow
	dev := roundTrip - want
	if dev < 0 {
		dev = -dev
	}
	p.baseDev += (dev - p.baseDev) / 4
	p.base += (base - p.base) / 8
	p.perRow += (perRow - p.perRow) / 8
	p.n++
}

// priorFrom sets the prior of a hop over span from the view's server s.
func (p *pace) priorFrom(s sharding.Server, span sharding.Span) {
	p.rttPrior = s.RTT
	if s.Throughput > 0 {
		// Throughput is tokens/s through one block of the span (an
		// infinite or NaN claim gives no prior).
		sec := float64(span.Len()) / s.Throughput
		if sec > 0 && sec < float64(DefaultStepCap/time.Second) {
			p.perRowPrior = time.Duration(sec * float64(time.Second))
		}
	}
}

// priorFromView sets the prior of a hop over span on server id from the
// view's servers: the first entry of id that covers span.
func (p *pace) priorFromView(servers []sharding.Server, id string, span sharding.Span) {
	for _, s := range servers {
		if s.ID == id && s.Span.Start <= span.Start && span.End <= s.Span.End {
			p.priorFrom(s, span)
			return
		}
	}
}

// deadline is how long a step of rows rows may take on the hop: a
// multiple of its expected time, within [floor, cap].
func (p *pace) deadline(rows int, floor, cap time.Duration) time.Duration {
	rows = max(rows, 1)
	var d time.Duration
	switch {
	case p.n > 0:
		d = stepFactor*(p.base+time.Duration(rows)*p.perRow) + 4*p.baseDev
	case p.perRowPrior > 0:
		d = priorFactor * (2*p.rttPrior + time.Duration(rows)*p.perRowPrior)
	default:
		return cap
	}
	if d < 0 || d > cap { // negative: overflowed
		return cap
	}
	return max(d, floor)
}
