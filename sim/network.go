package sim

import (
	"time"
)

// place is where a server or client sits in the latency model: its region,
// its last-mile delay and a key that makes each pair's jitter stable.
type place struct {
	region int
	access float64 // ms added to every round trip through this endpoint
	key    uint64
}

// network is the latency model: a region-to-region RTT matrix, last-mile
// delays and a fixed per-pair jitter derived from the seed.
type network struct {
	rtt      [][]float64 // ms
	jitter   float64
	seed     uint64
	overhead time.Duration // per hop, besides the network delay
}

func newNetwork(regions []Region, jitter float64, seed uint64, hopOverheadMillis float64) network {
	rtt := make([][]float64, len(regions))
	for i, r := range regions {
		rtt[i] = append([]float64(nil), r.RTTMillis...)
	}
	return network{rtt: rtt, jitter: jitter, seed: seed, overhead: msDuration(hopOverheadMillis)}
}

// oneWay is the delay of one message from a to b: half their round trip.
// It is symmetric and zero from an endpoint to itself.
func (n *network) oneWay(a, b place) time.Duration {
	if a.key == b.key {
		return 0
	}
	lo, hi := a.key, b.key
	if lo > hi {
		lo, hi = hi, lo
	}
	u := unitFloat(mix64(n.seed ^ mix64(lo^mix64(hi))))
	ms := (n.rtt[a.region][b.region] + a.access + b.access) * (1 + n.jitter*u)
	return msDuration(ms / 2)
}

// mix64 is the splitmix64 finalizer, a cheap stateless hash.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unitFloat maps x to [0, 1).
func unitFloat(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// msDuration converts milliseconds to a Duration.
func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
