package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunKilledQUICPeer: three orbit run processes talking QUIC on
// loopback; the server of blocks 2-4 is killed with SIGKILL (no goodbye:
// its peers' QUIC connections look alive until their 30s idle timeout).
// The next requests to the entry node are answered 503 (a coverage gap)
// within a step deadline, twice in a row, not after 35s.
func TestRunKilledQUICPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	if _, err := os.Stat(runModelPath); err != nil {
		t.Skipf("model not available: %v", err)
	}
	dir := t.TempDir()
	bin := buildOrbit(t, dir)
	common := []string{"--listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--no-mdns", "--nat=false", "--model", runModelPath}
	first := startRun(t, bin, append(common, "--blocks", "0:2", "--no-api", "--data-dir", filepath.Join(dir, "a"))...)
	boot := strings.Split(field(first.readLine(t, "ready ", 30*time.Second), "addrs"), ",")[0]
	if !strings.Contains(boot, "/quic-v1/") {
		t.Fatalf("bootstrap address %s is not QUIC", boot)
	}
	victim := startRun(t, bin, append(common, "--blocks", "2:4", "--no-api", "--bootstrap", boot, "--data-dir", filepath.Join(dir, "b"))...)
	victim.readLine(t, "ready ", 30*time.Second)
	entry := startRun(t, bin, append(common, "--blocks", "none", "--api", "127.0.0.1:0", "--bootstrap", boot, "--data-dir", filepath.Join(dir, "c"))...)
	api := field(entry.readLine(t, "ready ", 30*time.Second), "api")

	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Models []struct {
				Coverage []int `json:"coverage"`
			} `json:"models"`
		}
		if resp, err := http.Get(api + "/api/v1/models"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
		}
		if len(list.Models) == 1 && slices.Equal(list.Models[0].Coverage, []int{1, 1, 1, 1}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the entry does not see both servers: %+v", list.Models)
		}
		time.Sleep(100 * time.Millisecond)
	}
	complete := func() (int, time.Duration) {
		t.Helper()
		start := time.Now()
		body := `{"model":"aidreams260K","prompt":"Once upon a time","max_tokens":8,"temperature":0}`
		resp, err := http.Post(api+"/v1/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if code, _ := complete(); code != http.StatusOK {
		t.Fatalf("before the kill: status %d", code)
	}
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	victim.wait(t, 10*time.Second)
	for i := range 2 {
		code, el := complete()
		t.Logf("request %d after the kill: %d in %v", i+1, code, el)
		if code != http.StatusServiceUnavailable {
			t.Errorf("request %d after the kill: status %d, want 503", i+1, code)
		}
		if el > 10*time.Second {
			t.Errorf("request %d after the kill took %v", i+1, el)
		}
	}
}
