package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/orbitswarm/orbit/api"
)

// TestTransferJSON: the field names of a transfer, and finished_at only
// once it has ended.
func TestTransferJSON(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		tr        api.Transfer
		want, not []string
	}{
		{"running fetch", api.Transfer{Kind: "fetch", Model: "bafyM", Start: 2, End: 4, Head: true, Phase: "fetching", DoneBytes: 1, TotalBytes: 4, BytesPerSecond: 2, ETASeconds: 1.5, StartedAt: t0},
			[]string{`"kind":"fetch"`, `"model":"bafyM"`, `"start":2`, `"end":4`, `"head":true`, `"phase":"fetching"`, `"done_bytes":1`, `"total_bytes":4`,
				`"bytes_per_second":2`, `"eta_seconds":1.5`, `"started_at":"2025-01-02T03:04:05Z"`},
			[]string{"finished_at", "error", "file", "embed"}},
		{"failed import", api.Transfer{Kind: "import", File: "m.gguf", Phase: "failed", StartedAt: t0, FinishedAt: t0.Add(time.Second), Error: "disk full"},
			[]string{`"file":"m.gguf"`, `"finished_at":"2025-01-02T03:04:06Z"`, `"error":"disk full"`},
			[]string{`"model"`}},
	} {
		b, err := json.Marshal(tc.tr)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: %s lacks %s", tc.name, b, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(string(b), n) {
				t.Errorf("%s: %s has %s", tc.name, b, n)
			}
		}
	}
}
