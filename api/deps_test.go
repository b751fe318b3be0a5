package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// testDepsDir is where scripts/install-test-deps puts npm packages.
func testDepsDir() string {
	if d := os.Getenv("ORBIT_TEST_DEPS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "orbit-test-deps")
}

// needNode returns the node binary, failing (not skipping) the test when
// node or the openai package is missing.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: run scripts/install-test-deps")
	}
	for _, pkg := range []string{"openai", "ollama"} {
		if _, err := os.Stat(filepath.Join(testDepsDir(), "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("the %s npm package is not in %s: run scripts/install-test-deps", pkg, testDepsDir())
		}
	}
	return node
}

// needChromium returns the chromium binary, failing when it is missing.
func needChromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run scripts/install-test-deps")
	return ""
}
