package speculate

import (
	"math"
	"time"
)

// Controller chooses how many tokens to draft for each pass. It models a
// pass of r rows as costing base + perRow*(r-1) (base: a one-row pass,
// the route's round trips and the compute of one token; perRow: what each
// more row adds) and a draft token as kept with probability alpha given
// the ones before it were, so that k drafts yield (1-alpha^(k+1))/(1-alpha)
// tokens a pass; it drafts the k that maximizes tokens per unit of time.
// Its estimates are moving averages of what the passes measured. It is
// not safe for concurrent use; each generation has its own.
type Controller struct {
	mode   Mode
	max    int
	alpha  float64       // acceptance rate of a draft token
	base   time.Duration // a one-row pass; 0 until measured
	perRow time.Duration // each further row of a pass
	nBase  int           // one-row passes measured
	nRow   int           // multi-row passes measured
	idle   int           // passes since the last one with drafts
	// guessed: base was taken from a pass with drafts (no one-row pass
	// measured yet).
	guessed bool
}

// NewController returns a controller for mode with a prior acceptance
// rate of one half.
func NewController(mode Mode) *Controller {
	return &Controller{mode: mode, max: MaxDraft, alpha: 0.5}
}

// Acceptance is the controller's estimate of the rate at which draft
// tokens are kept.
func (c *Controller) Acceptance() float64 { return c.alpha }

// ewma weight of a new sample.
const weight = 0.15

// observeAcceptance adds a pass's verdicts: kept of trials draft tokens
// (the first rejection ends a pass's trials).
func (c *Controller) observeAcceptance(trials, kept int) {
	for i := range trials {
		x := 0.0
		if i < kept {
			x = 1
		}
		c.alpha += weight * (x - c.alpha)
	}
	c.alpha = min(max(c.alpha, 0.01), 0.99)
}

// observePass adds a pass of rows rows that took d.
func (c *Controller) observePass(rows int, d time.Duration) {
	if rows <= 1 {
		if c.nBase == 0 {
			c.base = d
		} else {
			c.base += time.Duration(weight * float64(d-c.base))
		}
		c.nBase++
		return
	}
	c.idle = 0
	if c.nBase == 0 {
		// No one-row pass yet: take the pass as mostly fixed cost.
		c.base, c.guessed = d, true
		return
	}
	per := max(0, d-c.base) / time.Duration(rows-1)
	if c.nRow == 0 {
		c.perRow = per
	} else {
		c.perRow += time.Duration(weight * float64(per-c.perRow))
	}
	c.nRow++
}

// rate is the expected tokens per second drafting k.
func (c *Controller) rate(k int) float64 {
	a := c.alpha
	tokens := (1 - math.Pow(a, float64(k+1))) / (1 - a)
	per := c.perRow
	if c.nRow == 0 {
		per = c.base / 4 // a prior until a pass with drafts is measured
	}
	cost := float64(c.base) + float64(per)*float64(k)
	if cost <= 0 {
		return tokens
	}
	return tokens / cost
}

// K is the number of tokens to draft for the next pass.
func (c *Controller) K() int {
	if c.mode == Off {
		return 0
	}
	if c.nBase == 0 && !c.guessed {
		if c.mode == Auto {
			return 0 // measure a plain pass first
		}
		return 4 // nothing measured yet
	}
	best, bestRate := 0, c.rate(0)
	for k := 1; k <= c.max; k++ {
		if r := c.rate(k); r > bestRate {
			best, bestRate = k, r
		}
	}
	switch {
	case c.mode == NGram || c.mode == Draft:
		best = max(best, 1)
	case best > 0 && bestRate < 1.1*c.rate(0):
		best = 0 // auto: not worth it
	}
	if best == 0 {
		c.idle++
		if c.idle >= 16 { // probe now and then to keep the estimates current
			c.idle = 0
			return 1
		}
	}
	return best
}

// saved estimates the decode time speculation saved: the passes it made
// unnecessary (each a one-row pass) less the cost of the rows it added.
func (c *Controller) saved(st Stats) time.Duration {
	return time.Duration(st.Accepted)*c.base - time.Duration(st.Drafted)*c.perRow
}
