package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbitswarm/orbit/engine/speculate"
)

// TestSpeculateFlags: --speculate takes off, auto, ngram or draft (draft
// needs --draft), and orbit serve refuses a draft model of another
// vocabulary before it serves anything.
func TestSpeculateFlags(t *testing.T) {
	model := filepath.Join(shared, "models", "aidreams260K.gguf")
	vocab := filepath.Join(shared, "vocab", "ggml-vocab-llama-spm.gguf")
	for _, p := range []string{model, vocab} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("test data not available: %v", err)
		}
	}
	other := filepath.Join(t.TempDir(), "other.gguf")
	if _, errOut, err := run(t, "synth", "--shape", "tiny", "--layers", "1", "--vocab", vocab, "-o", other); err != nil {
		t.Fatalf("synth: %v\n%s", err, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown mode", []string{"--speculate", "always"}, "--speculate"},
		{"draft without a model", []string{"--speculate", "draft"}, "--draft"},
		{"another vocabulary", []string{"--draft", other}, "vocabulary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--model", model, "--api", "127.0.0.1:0"}, tc.args...)
			_, _, err := run(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve %v: %v, want an error about %s", tc.args, err, tc.want)
			}
			if tc.name == "another vocabulary" && !errors.Is(err, speculate.ErrVocab) {
				t.Fatalf("error %v does not wrap ErrVocab", err)
			}
		})
	}
}

// TestGenerateSpeculate: orbit generate's greedy text is the same with
// speculative decoding by prompt lookup or with a draft model (here the
// model itself) as without.
func TestGenerateSpeculate(t *testing.T) {
	model := filepath.Join(shared, "models", "aidreams260K.gguf")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("model not available: %v", err)
	}
	args := []string{"generate", "--model", model, "--prompt", "I dream of", "-n", "60", "--temperature", "0"}
	want, _, err := run(t, append(args, "--speculate", "off")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{{"--speculate", "ngram"}, {"--speculate", "draft", "--draft", model}, {"--speculate", "auto"}} {
		got, _, err := run(t, append(args, extra...)...)
		if err != nil {
			t.Fatalf("%v: %v", extra, err)
		}
		if got != want {
			t.Fatalf("%v: %q\nwant %q", extra, got, want)
		}
	}
}
