package bench

import (
	"math/rand/v2"
	"sort"
	"time"
)

// Arrival is one open-loop request arrival.
type Arrival struct {
	ID int
	At time.Duration
}

// Schedule is what a scenario and a seed fix before the run: the events
// in time order and, for a poisson workload, every arrival. Request
// contents come from Prompt, a function of the seed and the request ID
// only, so that they do not depend on timing either.
type Schedule struct {
	Seed     uint64
	Events   []Event
	Arrivals []Arrival // nil for a closed-loop workload
}

// NewSchedule builds the schedule of sc under seed.
func NewSchedule(sc *Scenario, seed uint64) Schedule {
	return newSchedule(sc, seed, time.Duration(sc.Workload.Duration))
}

// newSchedule builds the schedule of sc under seed for a workload of dur
// (Options.Duration overrides the scenario's): the arrivals are the same
// sequence whatever dur, cut where it ends.
func newSchedule(sc *Scenario, seed uint64, dur time.Duration) Schedule {
	s := Schedule{Seed: seed, Events: append([]Event(nil), sc.Events...)}
	sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].At < s.Events[j].At })
	w := sc.Workload
	if w.Arrival == "poisson" {
		r := rand.New(rand.NewPCG(seed, 0xa441))
		var t time.Duration
		for id := 0; ; id++ {
			t += time.Duration(r.ExpFloat64() / w.Rate * float64(time.Second))
			if t >= dur {
				break
			}
			s.Arrivals = append(s.Arrivals, Arrival{ID: id, At: t})
		}
	}
	return s
}

// Prompt is request id's prompt: BOS then n-1 token IDs in [3, vocab).
func Prompt(seed uint64, id, n, vocab int) []int32 {
	r := rand.New(rand.NewPCG(seed, uint64(id)+0x9e3779b9))
	out := make([]int32, n)
	out[0] = 1
	hi := max(vocab-3, 1)
	for i := 1; i < n; i++ {
		out[i] = int32(3 + r.IntN(hi))
	}
	return out
}
