package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const shared = "../../../shared"

type refCase struct {
	Prompt       string  `json:"prompt"`
	Steps        int     `json:"steps"`
	PromptTokens []int32 `json:"prompt_tokens"`
	Text         string  `json:"text"`
}

func loadRef(t *testing.T) []refCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shared, "reference", "aidreams260K-greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct{ Cases []refCase }
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref.Cases
}

// run executes the CLI in-process and returns stdout and stderr.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestGenerateMatchesReference(t *testing.T) {
	models := filepath.Join(shared, "models")
	converted := filepath.Join(t.TempDir(), "converted.gguf")
	if _, _, err := run(t, "convert", filepath.Join(models, "aidreams260K.bin"), filepath.Join(models, "tok512.bin"), converted); err != nil {
		t.Fatal(err)
	}
	sources := []struct {
		name string
		args []string
	}{
		{"gguf", []string{"--model", filepath.Join(models, "aidreams260K.gguf")}},
		{"bin", []string{"--model", filepath.Join(models, "aidreams260K.bin"), "--tokenizer", filepath.Join(models, "tok512.bin")}},
		{"converted", []string{"--model", converted}},
	}
	for _, src := range sources {
		for _, c := range loadRef(t) {
			t.Run(src.name+"/"+c.Prompt, func(t *testing.T) {
				n := c.Steps + 1 - len(c.PromptTokens)
				args := append([]string{"generate", "--prompt", c.Prompt, "-n", strconv.Itoa(n), "--temperature", "0"}, src.args...)
				out, _, err := run(t, args...)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSuffix(out, "\n"); got != c.Text {
					t.Fatalf("output differs:\n got %q\nwant %q", got, c.Text)
				}
			})
		}
	}
}

func TestGenerateVerboseAndSeed(t *testing.T) {
	model := filepath.Join(shared, "models", "aidreams260K.gguf")
	args := []string{"generate", "--model", model, "--prompt", "Echoes of", "-n", "30", "--temperature", "0.9", "--seed", "11"}
	a, _, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	b, stderr, err := run(t, append(args, "--verbose")...)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("same seed, different output:\n%q\n%q", a, b)
	}
	for _, want := range []string{"prefill:", "decode:", "tokens/s"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--verbose stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(a, "tokens/s") {
		t.Error("timings leaked to stdout without --verbose")
	}
}

func TestGenerateErrors(t *testing.T) {
	models := filepath.Join(shared, "models")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing model", []string{"generate", "--prompt", "x"}, "model"},
		{"bin without tokenizer", []string{"generate", "--model", filepath.Join(models, "aidreams260K.bin")}, "--tokenizer"},
		{"no such file", []string{"generate", "--model", "/nonexistent.gguf"}, "no such file"},
		{"bad temperature", []string{"generate", "--model", filepath.Join(models, "aidreams260K.gguf"), "--temperature", "-1"}, "temperature"},
		{"prompt too long", []string{"generate", "--model", filepath.Join(models, "aidreams260K.gguf"), "--prompt", strings.Repeat("tapestry ", 200)}, "context"},
	}
	for _, tc := range tests {
		_, _, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
