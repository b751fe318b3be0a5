package runstatus

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var ready = Ready{Peer: "12D3", Addrs: []string{"/ip4/127.0.0.1/tcp/1/p2p/12D3", "/ip4/127.0.0.1/udp/2/quic-v1/p2p/12D3"},
	Model: "bafyM", Start: 0, End: 4, Throughput: 5.55, Peers: 2, API: "http://127.0.0.1:99"}

// TestText: the lines people read are the ones orbit run has always
// printed.
func TestText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		print func(*Writer) error
		want  string
	}{
		{"ready", func(w *Writer) error { return w.Ready(ready) },
			"ready peer=12D3 addrs=/ip4/127.0.0.1/tcp/1/p2p/12D3,/ip4/127.0.0.1/udp/2/quic-v1/p2p/12D3 model=bafyM span=[0,4) throughput=5.5 peers=2 api=http://127.0.0.1:99"},
		{"ready without API", func(w *Writer) error {
			return w.Ready(Ready{Peer: "p", Addrs: []string{"/a"}, Model: "m", Start: 2, End: 3, Throughput: 1})
		},
			"ready peer=p addrs=/a model=m span=[2,3) throughput=1.0 peers=0 api=off"},
		{"links", func(w *Writer) error { return w.Links(Links{Generation: 3, Cut: [][2]string{{"a", "b"}, {"c", "d"}}}) },
			"links generation=3 cut=a|b,c|d"},
		{"links none cut", func(w *Writer) error { return w.Links(Links{}) }, "links generation=0 cut=-"},
		{"links error", func(w *Writer) error { return w.Links(Links{Generation: 4, Error: `bad "x"`}) }, `links error="bad \"x\""`},
		{"stopping", func(w *Writer) error { return w.Stopping() }, "stopping"},
		{"stopped", func(w *Writer) error { return w.Stopped(Stopped{SessionsCut: 2}) }, "stopped sessions_cut=2"},
	} {
		var b strings.Builder
		if err := tc.print(NewWriter(&b, false)); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != tc.want+"\n" {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want+"\n")
		}
	}
}

// TestJSON: every event is one JSON line with "event" first, and Decode
// reads it back as written.
func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		print  func(*Writer) error
		event  string
		want   any
		prefix string
	}{
		{func(w *Writer) error { return w.Ready(ready) }, EventReady, ready, `{"event":"ready","peer":"12D3",`},
		{func(w *Writer) error { return w.Ready(Ready{Peer: "p", Addrs: []string{"/a"}}) }, EventReady,
			Ready{Peer: "p", Addrs: []string{"/a"}}, `{"event":"ready","peer":"p","addrs":["/a"],"model":"","start":0,"end":0,`},
		{func(w *Writer) error { return w.Links(Links{Generation: 3, Cut: [][2]string{{"a", "b"}}}) }, EventLinks,
			Links{Generation: 3, Cut: [][2]string{{"a", "b"}}}, `{"event":"links","generation":3,"cut":[["a","b"]]}`},
		{func(w *Writer) error { return w.Links(Links{Generation: 3, Error: "boom"}) }, EventLinks,
			Links{Error: "boom"}, `{"event":"links","generation":0,"error":"boom"}`},
		{func(w *Writer) error { return w.Stopping() }, EventStopping, nil, `{"event":"stopping"}`},
		{func(w *Writer) error { return w.Stopped(Stopped{SessionsCut: 1}) }, EventStopped, Stopped{SessionsCut: 1}, `{"event":"stopped","sessions_cut":1}`},
	} {
		var b strings.Builder
		if err := tc.print(NewWriter(&b, true)); err != nil {
			t.Fatal(err)
		}
		line := b.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") || !strings.HasPrefix(line, tc.prefix) {
			t.Errorf("%s: line %q, want one line starting %q", tc.event, line, tc.prefix)
		}
		ev, v, err := Decode([]byte(line))
		if err != nil || ev != tc.event || !reflect.DeepEqual(v, tc.want) {
			t.Errorf("Decode(%q) = %q, %+v, %v; want %q, %+v", line, ev, v, err, tc.event, tc.want)
		}
	}
}

// TestDecodeErrors: text lines and unknown events are not status lines
// (ErrNotStatus: a reader skips them); a known event that does not decode
// is an error of its own.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		line      string
		notStatus bool
	}{
		{"", true}, {"ready peer=x addrs=/a", true}, {"stopping", true}, {`{"event":"unknown"}`, true}, {`{"peer":"x"}`, true}, {`{"event":`, true},
		{`{"event":"ready","peer":"x"}`, false}, {`{"event":"ready","peer":"x","addrs":"/a"}`, false}, {`{"event":"stopped","sessions_cut":"x"}`, false},
	} {
		ev, v, err := Decode([]byte(tc.line))
		if err == nil || errors.Is(err, ErrNotStatus) != tc.notStatus {
			t.Errorf("Decode(%q) = %q, %+v, %v; want an error, ErrNotStatus %v", tc.line, ev, v, err, tc.notStatus)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts it writes back in
// a form that reads back to the same line.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"event":"ready","peer":"p","addrs":["/a"],"start":1,"end":2}`, `{"event":"links","generation":1,"cut":[["a","b"]]}`,
		`{"event":"stopping"}`, `{"event":"stopped","sessions_cut":3}`, "ready peer=x", `{"event":"links","error":"x"}`} {
		f.Add([]byte(s))
	}
	write := func(t *testing.T, v any) string {
		var b strings.Builder
		w := NewWriter(&b, true)
		var err error
		switch x := v.(type) {
		case Ready:
			err = w.Ready(x)
		case Links:
			err = w.Links(x)
		case Stopped:
			err = w.Stopped(x)
		case nil:
			err = w.Stopping()
		}
		if err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, v, err := Decode(line)
		if err != nil {
			return
		}
		once := write(t, v)
		ev2, v2, err := Decode([]byte(once))
		if err != nil || ev2 != ev {
			t.Fatalf("%q decoded, written as %q, read back as %q, %v", line, once, ev2, err)
		}
		if twice := write(t, v2); twice != once {
			t.Fatalf("%q: written as %q, then as %q", line, once, twice)
		}
	})
}
