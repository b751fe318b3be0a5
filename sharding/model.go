package sharding

// ModelSwarm is one model's swarm, named by the model's ID, as a joining
// server that was not told which model to serve sees it.
type ModelSwarm struct {
	Model string
	Swarm Swarm
}

// ChooseModel picks the model a joining server should serve: the one whose
// swarm is weakest. A model with blocks nobody serves comes first (most
// unserved blocks first), then the lowest Bottleneck; ties go to the model
// with fewer servers, then the lowest ID. Models with Blocks <= 0 are
// skipped. It returns -1 when no model qualifies. O(sum of Blocks and
// servers).
func ChooseModel(models []ModelSwarm) int {
	type score struct {
		gaps    int
		neck    float64
		servers int
	}
	best, bestScore := -1, score{}
	better := func(a score, aID string, b score, bID string) bool {
		if a.gaps != b.gaps {
			return a.gaps > b.gaps
		}
		if c := cmpTol(a.neck, b.neck, 1e-9*max(a.neck, b.neck)); c != 0 {
			return c < 0
		}
		if a.servers != b.servers {
			return a.servers < b.servers
		}
		return aID < bID
	}
	for i, m := range models {
		if m.Swarm.Blocks <= 0 {
			continue
		}
		unserved := 0
		for _, c := range Coverage(m.Swarm) {
			if c == 0 {
				unserved++
			}
		}
		s := score{gaps: unserved, neck: Bottleneck(m.Swarm), servers: len(m.Swarm.Servers)}
		if best < 0 || better(s, m.Model, bestScore, models[best].Model) {
			best, bestScore = i, s
		}
	}
	return best
}
