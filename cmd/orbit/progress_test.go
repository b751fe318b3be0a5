package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
	"github.com/orbitswarm/orbit/node"
	"github.com/orbitswarm/orbit/sharding"
)

func TestTransferLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    api.Transfer
		want string
	}{
		{"fetching", api.Transfer{Kind: "fetch", Model: "bafyM", Start: 2, End: 4, Phase: "fetching", DoneBytes: 2 << 20, TotalBytes: 8 << 20, BytesPerSecond: 1 << 20, ETASeconds: 6},
			"fetch [2,4) bafyM [=====               ]  25.0% 2.0 MiB / 8.0 MiB  1.0 MiB/s  ETA 6s"},
		{"size unknown", api.Transfer{Kind: "fetch", Model: "bafyM", Start: 0, End: 1, Phase: "fetching"},
			"fetch [0,1) bafyM [                    ]   0.0% 0 B / ?  0 B/s  ETA --"},
		{"importing", api.Transfer{Kind: "import", File: "/m/x.gguf", Phase: "importing", DoneBytes: 512, TotalBytes: 1024, BytesPerSecond: 100, ETASeconds: 5.1},
			"import x.gguf [==========          ]  50.0% 512 B / 1.0 KiB  100 B/s  ETA 5s"},
		{"done", api.Transfer{Kind: "import", File: "/m/x.gguf", Model: "bafyX", Phase: "done", DoneBytes: 1024, TotalBytes: 1024, ElapsedSeconds: 0.25},
			"import x.gguf bafyX done: 1.0 KiB in 250ms"},
		{"failed", api.Transfer{Kind: "fetch", Model: "bafyM", Start: 1, End: 3, Phase: "failed", DoneBytes: 3 << 10, Error: "no provider"},
			"fetch [1,3) bafyM failed after 3.0 KiB: no provider"},
	} {
		if got := transferLine(tc.t); got != tc.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestWriteStatusTransfers: transfers in progress come first.
func TestWriteStatusTransfers(t *testing.T) {
	var b bytes.Buffer
	writeStatus(&b, api.NodeStatus{PeerID: "p", Transfers: []api.Transfer{
		{Kind: "import", File: "a.gguf", Model: "bafyA", Phase: "done", DoneBytes: 1, TotalBytes: 1},
		{Kind: "fetch", Model: "bafyB", Start: 0, End: 2, Phase: "fetching", DoneBytes: 1, TotalBytes: 4},
	}})
	out := b.String()
	i, j := strings.Index(out, "weights:   fetch [0,2) bafyB ["), strings.Index(out, "           import a.gguf bafyA done")
	if i < 0 || j < i {
		t.Fatalf("status:\n%s", out)
	}
}

// TestTransferBars: off a terminal, a bar prints one summary line when its
// transfer ends, and a failure line when it failed; a transfer of unknown
// size draws nothing.
func TestTransferBars(t *testing.T) {
	t0 := time.Unix(1000, 0)
	fetch := node.Transfer{Kind: node.TransferFetch, Model: "bafyM", Span: sharding.Span{Start: 2, End: 4}, Started: t0}
	for _, tc := range []struct {
		name    string
		reports []node.Transfer
		want    string
	}{
		{"metadata only", []node.Transfer{phase(fetch, node.PhaseFetching, 0, 0), phase(fetch, node.PhaseDone, 0, 0)}, ""},
		{"done", []node.Transfer{phase(fetch, node.PhaseFetching, 0, 0), phase(fetch, node.PhaseFetching, 10, 20), phase(fetch, node.PhaseDone, 20, 20)},
			"fetch [2,4): 20 B in 2s (10 B/s)\n"},
		{"failed", []node.Transfer{phase(fetch, node.PhaseFetching, 10, 20), failed(fetch, errors.New("no provider"))},
			"fetch [2,4): 10 B in 2s (10 B/s)\nfetch [2,4) failed: no provider\n"},
	} {
		var b bytes.Buffer
		bars := newTransferBars(&b)
		for _, r := range tc.reports {
			bars.report(r)
		}
		if b.String() != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, b.String(), tc.want)
		}
		if len(bars.bars) != 0 {
			t.Errorf("%s: bars left open: %v", tc.name, bars.bars)
		}
	}
}

func phase(t node.Transfer, p string, done, total int64) node.Transfer {
	t.Phase, t.Done, t.Total, t.Rate = p, done, total, 10
	if !t.Running() {
		t.Finished = t.Started.Add(2 * time.Second)
	}
	return t
}

func failed(t node.Transfer, err error) node.Transfer {
	t = phase(t, node.PhaseFailed, 10, 20)
	t.Err = err.Error()
	return t
}
