package sample

import (
	"math"
	"testing"
)

func TestArgmax(t *testing.T) {
	tests := []struct {
		logits []float32
		want   int32
	}{
		{[]float32{1, 3, 2}, 1},
		{[]float32{5, 5, 1}, 0},
		{[]float32{-3, -1, -2}, 1},
	}
	for _, tc := range tests {
		if got := Argmax(tc.logits); got != tc.want {
			t.Errorf("Argmax(%v) = %d, want %d", tc.logits, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	nan := float32(math.NaN())
	bad := []Params{{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {RepeatPenalty: -1}, {RepeatLastN: -2},
		{PresencePenalty: 2.5}, {PresencePenalty: nan}, {FrequencyPenalty: -2.01}, {FrequencyPenalty: nan}}
	for _, p := range bad {
		if _, err := New(p); err == nil {
			t.Errorf("New(%+v) accepted", p)
		}
	}
}

func counts(t *testing.T, p Params, logits []float32, n int) map[int32]int {
	t.Helper()
	s, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	c := map[int32]int{}
	for i := 0; i < n; i++ {
		c[s.Sample(append([]float32(nil), logits...), nil)]++
	}
	return c
}

func TestFilters(t *testing.T) {
	logits := []float32{4, 3.9, 1, 0.5, -2}
	tests := []struct {
		name    string
		p       Params
		allowed []int32
	}{
		{"greedy", Params{}, []int32{0}},
		{"top-k 2", Params{Temperature: 1, TopK: 2, Seed: 1}, []int32{0, 1}},
		{"top-p small", Params{Temperature: 1, TopP: 0.3, Seed: 2}, []int32{0}},
		{"min-p", Params{Temperature: 1, MinP: 0.5, Seed: 3}, []int32{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := counts(t, tc.p, logits, 500)
			total := 0
			for _, id := range tc.allowed {
				total += c[id]
			}
			if total != 500 {
				t.Fatalf("choices %v outside allowed %v", c, tc.allowed)
			}
		})
	}
}

func TestTemperatureSpreads(t *testing.T) {
	logits := []float32{1, 1, 1, 1}
	c := counts(t, Params{Temperature: 1, Seed: 7}, logits, 4000)
	for id := int32(0); id < 4; id++ {
		if c[id] < 800 || c[id] > 1200 {
			t.Errorf("token %d chosen %d of 4000 times from a uniform distribution", id, c[id])
		}
	}
}

func TestSeedReproducible(t *testing.T) {
	logits := []float32{1, 2, 3, 2, 1, 0.5}
	run := func(seed uint64) []int32 {
		s, _ := New(Params{Temperature: 0.8, TopP: 0.95, Seed: seed})
		var out []int32
		for i := 0; i < 50; i++ {
			out = append(out, s.Sample(append([]float32(nil), logits...), out))
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed diverged at %d", i)
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("different seeds gave identical sequences")
	}
}

func TestRepeatPenalty(t *testing.T) {
	s, _ := New(Params{RepeatPenalty: 2})
	logits := []float32{3, 2, -1}
	if got := s.Sample(logits, []int32{0}); got != 1 {
		t.Fatalf("penalized token still chosen: got %d, logits %v", got, logits)
	}
	if logits[0] != 1.5 {
		t.Errorf("positive logit not divided: %v", logits[0])
	}
	logits = []float32{-1, -1.5}
	s.Sample(logits, []int32{0})
	if logits[0] != -2 {
		t.Errorf("negative logit not multiplied: %v", logits[0])
	}
}

// TestPresenceFrequencyPenalty: logits lose PresencePenalty once and
// FrequencyPenalty per occurrence of their token in the window, which can
// change the greedy choice; tokens outside the window are not touched.
func TestPresenceFrequencyPenalty(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       Params
		history []int32
		want    []float32
		choice  int32
	}{
		{"off", Params{}, []int32{0, 0, 1}, []float32{3, 2.5, 1}, 0},
		{"presence", Params{PresencePenalty: 1}, []int32{0, 0, 1}, []float32{2, 1.5, 1}, 0},
		{"frequency", Params{FrequencyPenalty: 0.5}, []int32{0, 0, 1}, []float32{2, 2, 1}, 0},
		{"both", Params{PresencePenalty: 0.5, FrequencyPenalty: 0.5}, []int32{0, 0, 1}, []float32{1.5, 1.5, 1}, 0},
		{"frequency flips it", Params{FrequencyPenalty: 1}, []int32{0, 0, 0}, []float32{0, 2.5, 1}, 1},
		{"negative encourages", Params{PresencePenalty: -2}, []int32{1}, []float32{3, 4.5, 1}, 1},
		{"window", Params{FrequencyPenalty: 1, RepeatLastN: 2}, []int32{0, 0, 0, 1, 2}, []float32{3, 1.5, 0}, 0},
		{"out-of-range ids ignored", Params{PresencePenalty: 1}, []int32{-1, 7}, []float32{3, 2.5, 1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			logits := []float32{3, 2.5, 1}
			got := s.Sample(logits, tc.history)
			for i := range logits {
				if logits[i] != tc.want[i] {
					t.Fatalf("logits %v, want %v", logits, tc.want)
				}
			}
			if got != tc.choice {
				t.Fatalf("chose %d, want %d", got, tc.choice)
			}
		})
	}
}

// TestGreedy: only temperature 0 without any penalty lets a caller skip
// the sampler.
func TestGreedy(t *testing.T) {
	for _, tc := range []struct {
		p    Params
		want bool
	}{
		{Params{}, true},
		{Params{RepeatPenalty: 1}, true},
		{Params{Temperature: 0.5}, false},
		{Params{RepeatPenalty: 1.1}, false},
		{Params{PresencePenalty: 0.1}, false},
		{Params{FrequencyPenalty: -0.1}, false},
	} {
		s, err := New(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if s.Greedy() != tc.want {
			t.Errorf("%+v: Greedy() = %v", tc.p, !tc.want)
		}
	}
}

// TestMaskedLogits: tokens whose logits are -Inf (a constraint's mask)
// are never drawn, whatever the filters.
func TestMaskedLogits(t *testing.T) {
	ninf := float32(math.Inf(-1))
	for _, p := range []Params{
		{Temperature: 1, Seed: 1},
		{Temperature: 2, TopK: 40, Seed: 2},
		{Temperature: 1.5, TopP: 0.99, Seed: 3},
		{Temperature: 0.7, MinP: 0.01, RepeatPenalty: 1.3, PresencePenalty: 1, Seed: 4},
	} {
		s, err := New(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2000 {
			logits := make([]float32, 64)
			for k := range logits {
				if k%3 != 0 {
					logits[k] = ninf
				} else {
					logits[k] = float32(k%7) - 3
				}
			}
			if tok := s.Sample(logits, []int32{int32(i % 64), 3}); tok%3 != 0 {
				t.Fatalf("%+v: drew masked token %d", p, tok)
			}
		}
	}
}
