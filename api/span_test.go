package api_test

import (
	"encoding/json"
	"testing"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/sharding"
)

// TestSpanJSON holds api.Span to its wire form, {"model","start","end"},
// which the shared block span's text form must not replace.
func TestSpanJSON(t *testing.T) {
	s := api.Span{Model: "bafyM", Span: sharding.Span{Start: 2, End: 5}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"bafyM","start":2,"end":5}`; string(b) != want {
		t.Fatalf("json.Marshal(%v) = %s, want %s", s, b, want)
	}
	var back api.Span
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Fatalf("json.Unmarshal(%s) = %v, %v; want %v", b, back, err, s)
	}
	if got := s.String(); got != "bafyM[2,5)" {
		t.Errorf("String() = %q", got)
	}
}

func FuzzSpanJSON(f *testing.F) {
	f.Add([]byte(`{"model":"m","start":0,"end":2}`))
	f.Add([]byte(`"[0,2)"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s api.Span
		if json.Unmarshal(b, &s) != nil {
			return
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back api.Span
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("%s -> %v -> %s -> %v, %v", b, s, out, back, err)
		}
	})
}
