package protocol

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// RateLimit is a token bucket per peer: Rate requests a second on
// average, Burst at once. A zero Rate does not limit.
type RateLimit struct {
	Rate  float64
	Burst int
}

// Default rates of the request-answer protocols and of reports, per
// peer. An entry node asks a peer for its info about once per view
// refresh (10s) and model; a fetch sends a request per batch of blocks,
// a few in flight.
var (
	DefaultInfoRate   = RateLimit{Rate: 10, Burst: 20}
	DefaultBlocksRate = RateLimit{Rate: 500, Burst: 1000}
	// An entry node sends a peer one report per liar it catches; each
	// costs the receiver three signature checks.
	DefaultReportRate = RateLimit{Rate: 1, Burst: 10}
)

// maxBuckets bounds the peers a limiter remembers at once; past it, the
// buckets that have filled up again are forgotten first.
const maxBuckets = 4096

// peerLimiter keeps a RateLimit's buckets.
type peerLimiter struct {
	lim     RateLimit
	now     func() time.Time
	mu      sync.Mutex
	buckets map[peer.ID]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// newPeerLimiter limits by lim, reading the time from now (the system
// clock when nil).
func newPeerLimiter(lim RateLimit, now func() time.Time) *peerLimiter {
	if now == nil {
		now = time.Now
	}
	return &peerLimiter{lim: lim, now: now, buckets: map[peer.ID]*bucket{}}
}

// allow takes a token of p's bucket, or reports that it has none.
func (l *peerLimiter) allow(p peer.ID) bool {
	if l == nil || l.lim.Rate <= 0 {
		return true
	}
	burst := float64(max(l.lim.Burst, 1))
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[p]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now, burst)
		}
		b = &bucket{tokens: burst, at: now}
		l.buckets[p] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*l.lim.Rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune forgets the buckets that are full again (as good as new), and if
// none is, an arbitrary half.
func (l *peerLimiter) prune(now time.Time, burst float64) {
	for p, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.lim.Rate >= burst {
			delete(l.buckets, p)
		}
	}
	for p := range l.buckets {
		if len(l.buckets) < maxBuckets/2 {
			break
		}
		delete(l.buckets, p)
	}
}
