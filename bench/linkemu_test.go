package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
)

func testPeerID(t testing.TB, name string) peer.ID {
	t.Helper()
	k, err := nodeKey(1, name)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sampleEmulation(t testing.TB) *LinkEmulation {
	return &LinkEmulation{
		Generation: 2, Node: "a", Seed: 7,
		Nodes: []EmulatedNode{{Name: "a", Region: "r1", Peer: testPeerID(t, "a").String()}, {Name: "b", Region: "r2", Peer: testPeerID(t, "b").String()}},
		Links: Links{Default: Link{Latency: Duration(40 * time.Millisecond), Bandwidth: 100e6},
			Pairs: []LinkPair{{Regions: [2]string{"r1", "r2"}, Link: Link{RTT: Duration(30 * time.Millisecond), Jitter: Duration(time.Millisecond), Loss: 0.01}}}},
		Cut: [][2]string{{"r1", "r3"}},
	}
}

func TestLinkEmulationRoundTrip(t *testing.T) {
	le := sampleEmulation(t)
	path := filepath.Join(t.TempDir(), "links.json")
	if err := writeLinkEmulation(path, le); err != nil {
		t.Fatal(err)
	}
	back, err := LoadLinkEmulation(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(le)
	b, _ := json.Marshal(back)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip:\n%s\n%s", a, b)
	}
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"latency": "40ms"`, `"bandwidth_bps": 100000000`, `"rtt": "30ms"`, `"regions": [`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("file lacks %s:\n%s", want, raw)
		}
	}
	if got := back.self(); got.Name != "a" || got.Region != "r1" {
		t.Errorf("self %+v", got)
	}
}

func TestParseLinkEmulationErrors(t *testing.T) {
	good, err := json.Marshal(sampleEmulation(t))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(le *LinkEmulation)) string {
		le := sampleEmulation(t)
		f(le)
		b, err := json.Marshal(le)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pa := testPeerID(t, "a").String()
	for _, tc := range []struct{ name, in, want string }{
		{"empty", " \n", "empty file"},
		{"not json", "{", "decoding JSON"},
		{"trailing", string(good) + "{}", "trailing data"},
		{"unknown field", strings.Replace(string(good), `"seed"`, `"colour":1,"seed"`, 1), "unknown field"},
		{"bad duration", strings.Replace(string(good), `"40ms"`, `"soon"`, 1), "want e.g. 40ms"},
		{"negative duration", strings.Replace(string(good), `"40ms"`, `"-4ms"`, 1), "negative"},
		{"numeric duration", strings.Replace(string(good), `"40ms"`, `40`, 1), "duration string"},
		{"huge bandwidth", strings.Replace(string(good), `100000000`, `1e400`, 1), "decoding JSON"},
		{"no node", edit(func(le *LinkEmulation) { le.Node = "" }), "node: no name"},
		{"node not listed", edit(func(le *LinkEmulation) { le.Node = "z" }), "not among the nodes"},
		{"no nodes", edit(func(le *LinkEmulation) { le.Nodes = nil }), "nodes: 0"},
		{"no region", edit(func(le *LinkEmulation) { le.Nodes[1].Region = "" }), "name and a region"},
		{"dup name", edit(func(le *LinkEmulation) { le.Nodes[1].Name = "a" }), "used twice"},
		{"dup peer", edit(func(le *LinkEmulation) { le.Nodes[1].Peer = pa }), "used twice"},
		{"bad peer", edit(func(le *LinkEmulation) { le.Nodes[1].Peer = "12D3nope" }), "peer \"12D3nope\""},
		{"latency and rtt", edit(func(le *LinkEmulation) { le.Links.Default.RTT = Duration(time.Millisecond) }), "not both"},
		{"loss", edit(func(le *LinkEmulation) { le.Links.Pairs[0].Loss = 1 }), "loss"},
		{"slow", edit(func(le *LinkEmulation) { le.Links.Default.Bandwidth = 10 }), "bandwidth"},
		{"pair region", edit(func(le *LinkEmulation) { le.Links.Pairs[0].Regions[1] = "" }), "two region names"},
		{"cut region", edit(func(le *LinkEmulation) { le.Cut = [][2]string{{"r1", ""}} }), "cut[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLinkEmulation([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q\n%s", err, tc.want, tc.in)
			}
		})
	}
	if _, err := ParseLinkEmulation(bytes.Repeat([]byte(" "), maxLinkEmulationSize+1)); err == nil {
		t.Error("oversized file accepted")
	}
	if _, err := LoadLinkEmulation(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "link emulation") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParseLinkEmulation(f *testing.F) {
	good, _ := json.Marshal(sampleEmulation(f))
	f.Add(good)
	f.Add([]byte(`{"node":"a","nodes":[{"name":"a","region":"r","peer":"` + testPeerID(f, "a").String() + `"}],"links":{"default":{}}}`))
	f.Add([]byte(`{"links":{"default":{"bandwidth_bps":-1}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		le, err := ParseLinkEmulation(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := le.Validate(); err != nil {
			t.Fatalf("parsed file fails validation: %v", err)
		}
		enc, err := json.Marshal(le)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseLinkEmulation(enc)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", enc, err)
		}
		if enc2, _ := json.Marshal(back); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip:\n%s\n%s", enc, enc2)
		}
		if _, err := NewLinkEmulator(le, nil); err != nil {
			t.Fatalf("emulator of a valid file: %v", err)
		}
	})
}

// emulatedHosts are two mocknet hosts (no mocknet latency) wrapped by
// link emulators for nodes a (region r1) and b (region r2).
func emulatedHosts(t *testing.T, links Links) (ha, hb host.Host, ea, eb *LinkEmulator) {
	t.Helper()
	mn := mocknet.New()
	t.Cleanup(func() { _ = mn.Close() })
	var nodes []EmulatedNode
	var hosts []host.Host
	for _, name := range []string{"a", "b"} {
		k, err := nodeKey(1, name)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := ma.NewMultiaddr(fmt.Sprintf("/ip6/100::%x/tcp/4242", len(hosts)+1))
		if err != nil {
			t.Fatal(err)
		}
		h, err := mn.AddPeer(k, addr)
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
		nodes = append(nodes, EmulatedNode{Name: name, Region: "r" + string(rune('1'+len(nodes))), Peer: h.ID().String()})
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	var emus []*LinkEmulator
	var wrapped []host.Host
	for i, h := range hosts {
		e, err := NewLinkEmulator(&LinkEmulation{Node: nodes[i].Name, Seed: 1, Nodes: nodes, Links: links}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.Peer() != h.ID() {
			t.Fatalf("emulator peer %s, host %s", e.Peer(), h.ID())
		}
		emus = append(emus, e)
		wrapped = append(wrapped, e.WrapHost(h))
	}
	t.Cleanup(func() {
		for _, h := range wrapped {
			_ = h.Close()
		}
	})
	return wrapped[0], wrapped[1], emus[0], emus[1]
}

const echoProto = "/orbit-test/echo/1"

func echoHandler(st network.Stream) {
	defer st.Close()
	_, _ = io.Copy(st, st)
}

// rtt writes a byte to st and reads it back.
func rtt(st network.Stream) (time.Duration, error) {
	buf := []byte{1}
	start := time.Now()
	if _, err := st.Write(buf); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(st, buf); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// TestLinkEmulator: two hosts emulating a 20 ms one-way link each on
// their own writes see a round trip of 40 ms; a cut resets the stream
// between them, makes new streams fail both ways, and a heal restores
// them.
func TestLinkEmulator(t *testing.T) {
	const oneWay = 20 * time.Millisecond
	ha, hb, ea, eb := emulatedHosts(t, Links{Default: Link{Latency: Duration(oneWay)}})
	ha.SetStreamHandler(echoProto, echoHandler)
	hb.SetStreamHandler(echoProto, echoHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := ha.NewStream(ctx, hb.ID(), echoProto)
	if err != nil {
		t.Fatal(err)
	}
	var best time.Duration
	for i := range 5 {
		d, err := rtt(st)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || d < best {
			best = d
		}
	}
	if best < 2*oneWay || best > 2*oneWay+30*time.Millisecond {
		t.Errorf("round trip %v over two %v one-way links", best, oneWay)
	}

	cut := func(e *LinkEmulator, gen uint64, pairs ...[2]string) {
		t.Helper()
		le := *e.cur
		le.Generation, le.Cut = gen, pairs
		if err := e.Update(&le); err != nil {
			t.Fatal(err)
		}
	}
	cut(ea, 1, [2]string{"r2", "r1"})
	cut(eb, 1, [2]string{"r1", "r2"})
	if !strings.Contains(ea.Status(), "generation=1 cut=r1|r2") {
		t.Errorf("status %q", ea.Status())
	}
	if _, err := rtt(st); err == nil {
		t.Error("stream across a cut still works")
	}
	for _, dir := range []struct {
		from, to host.Host
	}{{ha, hb}, {hb, ha}} {
		if _, err := dir.from.NewStream(ctx, dir.to.ID(), echoProto); !errors.Is(err, errLinkCut) {
			t.Errorf("new stream across a cut: %v", err)
		}
		if err := dir.from.Connect(ctx, peer.AddrInfo{ID: dir.to.ID(), Addrs: dir.to.Addrs()}); !errors.Is(err, errLinkCut) {
			t.Errorf("connect across a cut: %v", err)
		}
	}
	eventually(t, "the connection to close", func() bool { return ha.Network().Connectedness(hb.ID()) != network.Connected })

	// Only the cut set and the generation may change, and never back.
	bad := *ea.cur
	bad.Generation, bad.Seed = 5, 99
	if err := ea.Update(&bad); err == nil {
		t.Error("update changing the seed accepted")
	}
	old := *ea.cur
	old.Generation = 0
	if err := ea.Update(&old); err == nil {
		t.Error("older generation accepted")
	}

	cut(ea, 2)
	cut(eb, 2)
	st2, err := ha.NewStream(ctx, hb.ID(), echoProto)
	if err != nil {
		t.Fatalf("after heal: %v", err)
	}
	if d, err := rtt(st2); err != nil || d < 2*oneWay {
		t.Errorf("after heal: round trip %v, %v", d, err)
	}
	if st := ea.Stats(); len(st) != 1 || st[0].From != "a" || st[0].To != "b" || st[0].OneWayMS != 20 {
		t.Errorf("stats %+v", st)
	}
}

// TestLinkEmulatorBandwidth: a 1 MB transfer over a 8 Mbit/s emulated
// link takes about a second.
func TestLinkEmulatorBandwidth(t *testing.T) {
	ha, hb, _, _ := emulatedHosts(t, Links{Default: Link{Bandwidth: 8e6}})
	got := make(chan time.Time, 1)
	const size = 1 << 20
	hb.SetStreamHandler(echoProto, func(st network.Stream) {
		defer st.Close()
		n, _ := io.Copy(io.Discard, st)
		if n == size {
			got <- time.Now()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := ha.NewStream(ctx, hb.ID(), echoProto)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	buf := make([]byte, 32<<10)
	for sent := 0; sent < size; sent += len(buf) {
		if _, err := st.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	_ = st.CloseWrite()
	select {
	case at := <-got:
		want := serialisation(size, 8e6)
		if d := at.Sub(start); d < want || d > want+want/2 {
			t.Errorf("1 MiB at 8 Mbit/s took %v, want about %v", d, want)
		}
	case <-ctx.Done():
		t.Fatal("transfer did not complete")
	}
}
