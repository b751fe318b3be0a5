package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := `
max-blocks: 3
kv-cache: 100
encoding: q8_0
bootstrap: [/ip4/127.0.0.1/tcp/1/p2p/A, /ip4/127.0.0.1/tcp/2/p2p/B]
run:
  kv-cache: 200
generate:
  kv-cache: 999
`
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORBIT_DATA_DIR", dir)
	t.Setenv("ORBIT_ENCODING", "f32")
	out, _, err := run(t, "config", "run", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Values []struct{ Flag, Value, Source string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	vals := map[string][2]string{}
	for _, v := range got.Values {
		vals[v.Flag] = [2]string{v.Value, v.Source}
	}
	tests := []struct{ flag, value, source string }{
		{"max-blocks", "3", "file"},          // top level
		{"kv-cache", "200", "file"},          // the run section beats top level
		{"encoding", "f32", "env"},           // environment beats the file
		{"api", "127.0.0.1:7717", "default"}, // nothing set
		{"bootstrap", "[/ip4/127.0.0.1/tcp/1/p2p/A,/ip4/127.0.0.1/tcp/2/p2p/B]", "file"},
	}
	for _, tc := range tests {
		if v := vals[tc.flag]; v[0] != tc.value || v[1] != tc.source {
			t.Errorf("%s = %q from %s, want %q from %s", tc.flag, v[0], v[1], tc.value, tc.source)
		}
	}
	// A command-line flag beats everything: generate reads -n from the
	// command line although the environment sets it too.
	t.Setenv("ORBIT_N", "2")
	model := filepath.Join(shared, "models", "aidreams260K.gguf")
	a, _, err := run(t, "generate", "--model", model, "--prompt", "I dream of", "--temperature", "0")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := run(t, "generate", "--model", model, "--prompt", "I dream of", "--temperature", "0", "-n", "6")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= len(a) || !strings.HasPrefix(b, strings.TrimSuffix(a, "\n")) {
		t.Errorf("ORBIT_N=2 gave %q, -n 6 gave %q", a, b)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, file, env, want string
	}{
		{"bad yaml", "run: [", "", "config"},
		{"bad value", "max-blocks: lots", "", "max-blocks"},
		{"list for scalar", "max-blocks: [1, 2]", "", "max-blocks"},
		{"bad env", "", "ORBIT_MAX_BLOCKS=many", "ORBIT_MAX_BLOCKS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(tc.file), 0o644)
			}
			t.Setenv("ORBIT_DATA_DIR", dir)
			if k, v, ok := strings.Cut(tc.env, "="); ok {
				t.Setenv(k, v)
			}
			_, _, err := run(t, "config", "run")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	if _, _, err := run(t, "config", "nosuchcommand"); err == nil {
		t.Error("unknown command accepted")
	}
}

// FuzzConfigFile: whatever config.yaml holds, `orbit config run` either
// prints the effective values or fails with an error; it never panics.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("bootstrap: [/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWL]\nrun:\n  max-blocks: 8\n  kv-cache: 2048\n"))
	f.Add([]byte("run: [1, 2]\nmax-blocks: {a: b}\n"))
	f.Add([]byte("run:\n  memory: -1\n  nat: maybe\n  blocks: [1, 2]\n"))
	f.Add([]byte("\t: :\n- x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, _ = run(t, "config", "run", "--data-dir", dir)
	})
}

// TestConfigCommandFlags: orbit config COMMAND takes that command's flags
// and shows the values they resolve to, from the command line; config's
// own --json may come anywhere; an unknown flag is named.
func TestConfigCommandFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("max-blocks: 3\nkv-cache: 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORBIT_DATA_DIR", dir)
	tests := []struct {
		name string
		args []string
		want map[string][2]string // flag: value, source
	}{
		{"run flags", []string{"config", "run", "--max-blocks", "2", "--json"},
			map[string][2]string{"max-blocks": {"2", "flag"}, "kv-cache": {"100", "file"}}},
		{"json first", []string{"config", "--json", "run", "--kv-cache=64"},
			map[string][2]string{"max-blocks": {"3", "file"}, "kv-cache": {"64", "flag"}}},
		{"default command", []string{"config", "--json", "--max-blocks", "5"},
			map[string][2]string{"max-blocks": {"5", "flag"}}},
		{"serve flags", []string{"config", "serve", "--api", "127.0.0.1:9", "--json"},
			map[string][2]string{"api": {"127.0.0.1:9", "flag"}}},
		{"serve alias", []string{"config", "serve", "--listen", "127.0.0.1:8", "--json"},
			map[string][2]string{"api": {"127.0.0.1:8", "flag"}}},
		{"data dir", []string{"config", "run", "--data-dir", t.TempDir(), "--json"},
			map[string][2]string{"max-blocks": {"0", "default"}, "data-dir": {"", "flag"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Values []struct{ Flag, Value, Source string }
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			vals := map[string][2]string{}
			for _, v := range got.Values {
				vals[v.Flag] = [2]string{v.Value, v.Source}
			}
			for flag, want := range tc.want {
				v := vals[flag]
				if want[0] == "" { // any value
					want[0] = v[0]
				}
				if v != want {
					t.Errorf("%s = %q from %s, want %q from %s", flag, v[0], v[1], want[0], want[1])
				}
			}
		})
	}
	// The text form shows them too.
	out, _, err := run(t, "config", "run", "--max-blocks", "2")
	if err != nil || !strings.Contains(out, "max-blocks") || !strings.Contains(strings.Join(strings.Fields(lineOf(out, "max-blocks")), " "), "max-blocks 2 (flag)") {
		t.Errorf("text form: %v\n%s", err, out)
	}
	if _, _, err := run(t, "config", "run", "--no-such-flag"); err == nil || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("unknown flag: %v", err)
	}
	if _, _, err := run(t, "config", "run", "--max-blocks", "lots"); err == nil || !strings.Contains(err.Error(), "max-blocks") {
		t.Errorf("bad value: %v", err)
	}
}

// lineOf is the first line of s that starts with prefix.
func lineOf(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
