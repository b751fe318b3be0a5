package engine

import "github.com/orbitswarm/orbit/sharding"

// RewindSlack is how many positions a sliding-window block's cache keeps
// beyond its window. A session may be truncated back up to RewindSlack
// positions behind the furthest position it ran (speculative decoding's
// rollback: at most speculate.MaxDraft+1) and continue exactly; a forward
// pass computes those blocks' attention over at most RewindSlack+1 rows of
// one session at a time.
const RewindSlack = 64

// KVPositions is the number of positions the cache of a block holds in a
// session of maxLen positions: maxLen, or for a sliding-window (local)
// block at most SlidingWindow+RewindSlack, a ring of the last ones.
func (c *Config) KVPositions(local bool, maxLen int) int {
	if !local || c.SlidingWindow <= 0 {
		return maxLen
	}
	return min(maxLen, c.SlidingWindow+RewindSlack)
}

// kvLayers counts the global and sliding-window blocks of span.
func (c *Config) kvLayers(span sharding.Span) (global, local int64) {
	for b := span.Start; b < span.End; b++ {
		if c.Local(b) {
			local++
		} else {
			global++
		}
	}
	return global, local
}

// positionBytes is the cache of one position in one block: keys and
// values in float32 (MLA: one latent row, no values).
func (c *Config) positionBytes() int64 {
	if c.MLA.On {
		return int64(c.KVDim()) * 4
	}
	return int64(c.KVDim()) * 2 * 4
}

// SessionBytes is the memory of the KV cache of a session of maxLen
// positions over the blocks of span (positionBytes a position and block),
// the sliding-window blocks' rings bounded (KVPositions).
func (c *Config) SessionBytes(span sharding.Span, maxLen int) int64 {
	if maxLen <= 0 {
		return 0
	}
	g, l := c.kvLayers(span)
	per := c.positionBytes()
	return (g*int64(maxLen) + l*int64(c.KVPositions(true, maxLen))) * per
}

// maxSessionPositions caps SessionPositions: a span of only
// sliding-window blocks holds sessions of any length in the same memory.
const maxSessionPositions = 1 << 30

// SessionPositions is the longest session (in positions, at most 2^30)
// whose KV cache over span fits in bytes: SessionBytes's inverse. A span
// without blocks, or of sliding-window blocks only once their rings fit,
// holds any length: 2^30.
func (c *Config) SessionPositions(span sharding.Span, bytes int64) int {
	g, l := c.kvLayers(span)
	per := c.positionBytes()
	if bytes <= 0 || per == 0 {
		return 0
	}
	if g+l == 0 {
		return maxSessionPositions
	}
	// Up to the ring's length every block grows with the session.
	n := bytes / ((g + l) * per)
	ring := int64(c.KVPositions(true, maxSessionPositions))
	if l == 0 || n < ring {
		return int(min(n, maxSessionPositions))
	}
	if g == 0 {
		return maxSessionPositions
	}
	return int(min((bytes-l*ring*per)/(g*per), maxSessionPositions))
}
