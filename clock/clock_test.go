package clock

import (
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFake(at)
	if !f.Now().Equal(at) {
		t.Fatalf("Now = %v, want %v", f.Now(), at)
	}
	f.Advance(1500 * time.Millisecond)
	if got := f.Since(at); got != 1500*time.Millisecond {
		t.Fatalf("Since = %v after Advance(1.5s)", got)
	}
	f.Set(at.Add(-time.Second))
	if got := f.Since(at); got != -time.Second {
		t.Fatalf("Since = %v after Set(at-1s)", got)
	}
}

func TestReal(t *testing.T) {
	for _, c := range []Clock{Real{}, Or(nil)} {
		before := time.Now()
		now := c.Now()
		if now.Before(before) || c.Since(before) < 0 {
			t.Fatalf("%T: Now %v before %v", c, now, before)
		}
	}
	f := NewFake(time.Time{})
	if Or(f) != Clock(f) {
		t.Fatal("Or(f) is not f")
	}
}
