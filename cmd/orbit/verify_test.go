package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunVerifyKernels: two servers of the same blocks on different
// kernel sets (one forced to the generic Go kernels with ORBIT_KERNELS,
// the other on the best this CPU has) and an entry node that checks every
// step (--verify-rate 1): the one checks the other bit for bit, and no
// check ever differs: the engine's result is the same on every kernel
// set. The text is the reference's.
func TestRunVerifyKernels(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	if _, err := os.Stat(runModelPath); err != nil {
		t.Skipf("model not available: %v", err)
	}
	b, err := os.ReadFile(runRefPath)
	if err != nil {
		t.Skipf("reference not available: %v", err)
	}
	var ref struct {
		Cases []struct {
			Prompt string `json:"prompt"`
			Text   string `json:"text"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	c := ref.Cases[1]
	dir := t.TempDir()
	bin := buildOrbit(t, dir)
	common := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--encoding", "f32", "--model", runModelPath}
	generic := startRunEnv(t, bin, []string{"ORBIT_KERNELS=generic"}, append(common, "--blocks", "0:4", "--no-api", "--data-dir", filepath.Join(dir, "a"))...)
	boot := strings.Split(field(generic.readLine(t, "ready ", 30*time.Second), "addrs"), ",")[0]
	best := startRunEnv(t, bin, []string{"ORBIT_KERNELS="}, append(common, "--blocks", "0:4", "--no-api", "--bootstrap", boot, "--data-dir", filepath.Join(dir, "b"))...)
	best.readLine(t, "ready ", 30*time.Second)
	entry := startRun(t, bin, append(common, "--blocks", "none", "--api", "127.0.0.1:0", "--verify-rate", "1", "--bootstrap", boot,
		"--data-dir", filepath.Join(dir, "c"))...)
	api := field(entry.readLine(t, "ready ", 30*time.Second), "api")

	// Wait until the entry sees both servers of the blocks.
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
		models := list.Models
		if len(models) == 1 && slices.Equal(models[0].Coverage, []int{2, 2, 2, 2}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the entry does not see both servers: %+v", models)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// One token a pass (no speculative decoding): 60 steps to check.
	body := fmt.Sprintf(`{"model":"aidreams260K","prompt":%q,"max_tokens":60,"temperature":0,"orbit":{"speculate":"off"}}`, c.Prompt)
	resp, err := http.Post(api+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct{ Text string }
		Orbit   struct {
			Verify *struct{ Checks, Mismatches, Rows int }
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(out.Choices) != 1 {
		t.Fatalf("completion: status %d, %v", resp.StatusCode, err)
	}
	if got := c.Prompt + out.Choices[0].Text; !strings.HasPrefix(c.Text, got) {
		t.Errorf("got  %q\nwant a prefix of %q", got, c.Text)
	}
	v := out.Orbit.Verify
	if v == nil || v.Checks < 60 || v.Mismatches != 0 {
		t.Fatalf("verify %+v: want every step checked across the kernel sets, none differing", v)
	}
	t.Logf("%d checks over %d rows, no mismatch", v.Checks, v.Rows)
}
