package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/engine/tokenizer"
	"github.com/orbitswarm/orbit/sharding"
)

// statusBackend is a node API with fixed answers: the status and peers a
// swarm node would report. It generates nothing.
type statusBackend struct {
	status api.NodeStatus
	peers  []api.PeerInfo
}

func (b *statusBackend) Models(context.Context) ([]api.ModelInfo, error) { return nil, nil }
func (b *statusBackend) Status(context.Context) (api.NodeStatus, error)  { return b.status, nil }
func (b *statusBackend) Peers(context.Context) ([]api.PeerInfo, error)   { return b.peers, nil }
func (b *statusBackend) Route(context.Context, string) ([]api.RouteHop, error) {
	return nil, api.ErrUnknownModel
}
func (b *statusBackend) Tokenizer(string) (*tokenizer.Tokenizer, error) {
	return nil, api.ErrUnknownModel
}
func (b *statusBackend) Generate(context.Context, api.GenerateRequest, func(int32) error) (api.GenerateResult, error) {
	return api.GenerateResult{}, api.ErrUnknownModel
}

// TestStatusPeersCmds runs `orbit status` and `orbit peers` against real
// node API servers (HTTP, the Go client): text and --json output, the
// address from --api (URL or HOST:PORT), ORBIT_API or config.yaml, the API
// key from --api-key or ORBIT_API_KEY, and the errors of a node that is
// down or refuses the key.
func TestStatusPeersCmds(t *testing.T) {
	started := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	b := &statusBackend{
		status: api.NodeStatus{PeerID: "12D3KooWSelf", Version: "v9", StartedAt: started, UptimeSeconds: 125,
			Spans: []api.Span{{Model: "bafyM", Span: sharding.Span{Start: 0, End: 2}}}, Load: api.Load{Active: 1, Queued: 2, MaxConcurrent: 4, MaxQueue: 16},
			Requests: 7, TokensGenerated: 300, PromptTokens: 40, Peers: 2, Transfers: []api.Transfer{}},
		peers: []api.PeerInfo{
			{ID: "12D3KooWAlpha", Addrs: []string{"/ip4/10.0.0.1/tcp/4001"}, Spans: []api.Span{{Model: "bafyM", Span: sharding.Span{Start: 0, End: 2}}}, Throughput: 12.5, RTTMillis: 3.2},
			{ID: "12D3KooWBravo", Addrs: []string{"/ip4/10.0.0.2/tcp/4001", "/ip4/10.0.0.2/udp/4001/quic-v1"}, Spans: []api.Span{{Model: "bafyM", Span: sharding.Span{Start: 2, End: 4}}}, Throughput: 9.75},
		},
	}
	open := httptest.NewServer(api.NewServer(b, api.Options{Logger: quietLogger()}))
	t.Cleanup(open.Close)
	keyed := httptest.NewServer(api.NewServer(b, api.Options{APIKey: "sesame", Logger: quietLogger()}))
	t.Cleanup(keyed.Close)
	lonely := httptest.NewServer(api.NewServer(&statusBackend{status: api.NodeStatus{PeerID: "12D3KooWLone"}}, api.Options{Logger: quietLogger()}))
	t.Cleanup(lonely.Close)
	hostPort := strings.TrimPrefix(open.URL, "http://")

	wantStatus := []string{
		"peer:      12D3KooWSelf\n", "version:   v9\n", "uptime:    2m5s\n", "spans:     bafyM[0,2)\n",
		"load:      1 running, 2 queued (of 4 slots, queue 16)\n", "requests:  7\n", "tokens:    300 generated, 40 prompt\n", "peers:     2\n",
	}
	checkStatusJSON := func(t *testing.T, out string) {
		var st api.NodeStatus
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !st.StartedAt.Equal(started) {
			t.Errorf("started_at %v, want %v", st.StartedAt, started)
		}
		st.StartedAt = b.status.StartedAt
		if !reflect.DeepEqual(st, b.status) {
			t.Errorf("status %+v\nwant %+v", st, b.status)
		}
	}
	contains := func(want ...string) func(*testing.T, string) {
		return func(t *testing.T, out string) {
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		}
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		config  string // config.yaml in the data directory
		check   func(*testing.T, string)
		wantErr string
	}{
		{name: "status", args: []string{"status", "--api", open.URL}, check: contains(wantStatus...)},
		{name: "status HOST:PORT", args: []string{"status", "--api", hostPort}, check: contains(wantStatus...)},
		{name: "status --json", args: []string{"status", "--api", open.URL, "--json"}, check: checkStatusJSON},
		{name: "status from ORBIT_API", args: []string{"status", "--json"}, env: map[string]string{"ORBIT_API": open.URL}, check: checkStatusJSON},
		{name: "status from config.yaml", args: []string{"status"}, config: "status:\n  api: " + hostPort + "\n", check: contains(wantStatus...)},
		{name: "flag beats ORBIT_API", args: []string{"status", "--api", open.URL}, env: map[string]string{"ORBIT_API": closedURL()}, check: contains(wantStatus...)},
		{name: "peers", args: []string{"peers", "--api", open.URL}, check: func(t *testing.T, out string) {
			tb := parseTable(t, out)
			if len(tb.rows) != 2 {
				t.Fatalf("rows:\n%s", out)
			}
			for _, tc := range []struct{ id, spans, rate, rtt, addrs string }{
				{"12D3KooWAlpha", "bafyM[0,2)", "12.5", "3.2 ms", "/ip4/10.0.0.1/tcp/4001"},
				{"12D3KooWBravo", "bafyM[2,4)", "9.8", "0.0 ms", "/ip4/10.0.0.2/tcp/4001,/ip4/10.0.0.2/udp/4001/quic-v1"},
			} {
				r := tb.row(t, "PEER", tc.id)
				if r["SPANS"] != tc.spans || r["TOKENS/S"] != tc.rate || r["RTT"] != tc.rtt || r["ADDRS"] != tc.addrs {
					t.Errorf("row %v, want %+v", r, tc)
				}
			}
		}},
		{name: "peers --json", args: []string{"peers", "--api", open.URL, "--json"}, check: func(t *testing.T, out string) {
			var ps []api.PeerInfo
			if err := json.Unmarshal([]byte(out), &ps); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !reflect.DeepEqual(ps, b.peers) {
				t.Errorf("peers %+v\nwant %+v", ps, b.peers)
			}
		}},
		{name: "no peers", args: []string{"peers", "--api", lonely.URL}, check: func(t *testing.T, out string) {
			if out != "no peers\n" {
				t.Errorf("output %q", out)
			}
		}},
		{name: "no peers --json", args: []string{"peers", "--api", lonely.URL, "--json"}, check: func(t *testing.T, out string) {
			if strings.TrimSpace(out) != "[]" {
				t.Errorf("output %q, want []", out)
			}
		}},
		{name: "key from --api-key", args: []string{"status", "--api", keyed.URL, "--api-key", "sesame"}, check: contains(wantStatus...)},
		{name: "key from ORBIT_API_KEY", args: []string{"peers", "--api", keyed.URL}, env: map[string]string{"ORBIT_API_KEY": "sesame"}, check: contains("12D3KooWBravo")},
		{name: "no key", args: []string{"status", "--api", keyed.URL}, wantErr: "401"},
		{name: "wrong key", args: []string{"peers", "--api", keyed.URL, "--api-key", "nope"}, wantErr: "401"},
		{name: "node down", args: []string{"status", "--api", closedURL()}, wantErr: "connect"},
		{name: "peers, node down", args: []string{"peers", "--api", closedURL(), "--json"}, wantErr: "connect"},
		{name: "extra argument", args: []string{"status", "now"}, wantErr: "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("ORBIT_DATA_DIR", dir)
			for _, k := range []string{"ORBIT_API", "ORBIT_API_KEY", "ORBIT_JSON"} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if tc.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, errOut, err := run(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q; output %q", err, tc.wantErr, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nstderr: %s", err, errOut)
			}
			tc.check(t, out)
		})
	}
}
