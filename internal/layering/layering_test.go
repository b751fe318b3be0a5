package layering

import (
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/orbitswarm/orbit"

// deps returns the module's packages that pkg (a path in the module)
// imports, directly or through others, with the path of imports that
// first reached each: the code as built for this platform, tests aside.
func deps(t *testing.T, root, pkg string) map[string][]string {
	t.Helper()
	seen := map[string][]string{}
	var walk func(p string, via []string)
	walk = func(p string, via []string) {
		bp, err := build.Default.ImportDir(filepath.Join(root, strings.TrimPrefix(strings.TrimPrefix(p, module), "/")), 0)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, imp := range bp.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if _, ok := seen[imp]; ok {
				continue
			}
			path := append(slices.Clone(via), imp)
			seen[imp] = path
			walk(imp, path)
		}
	}
	walk(pkg, []string{pkg})
	return seen
}

// TestLayers: packages that must not depend on others, not even through a
// third package.
func TestLayers(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pkgs      string // a package, or a tree of them ("node/...")
		forbidden string // a package and everything under it
		why       string
	}{
		{"node/...", "api", "the HTTP API depends on the node, not the other way round (api/swarmbackend adapts)"},
		{"weights/...", "protocol", "the weight store defines its errors and the BlockClient it fetches through; protocol implements it"},
		{"metrics", "api", "the metrics are fed by the node and the API alike"},
		{"runstatus", "", "the status lines are read by programs that need nothing else of orbit"},
		{"metrics", "node", "the metrics are fed by the node and the API alike"},
	} {
		pkgs := []string{tc.pkgs}
		if base, ok := strings.CutSuffix(tc.pkgs, "/..."); ok {
			pkgs = tree(t, root, base)
		}
		for _, p := range pkgs {
			for dep, via := range deps(t, root, module+"/"+p) {
				f := strings.TrimSuffix(module+"/"+tc.forbidden, "/")
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s imports %s (%s): %s", p, dep, strings.Join(via, " -> "), tc.why)
				}
			}
		}
	}
}

// TestRunWithoutBench: in the orbit command only the bench command's file
// imports package bench (for `orbit bench` and its `orbit bench node`,
// which adds the link emulator to the run command): the production
// `orbit run` carries no benchmark code.
// benchCommands are the files of cmd/orbit that may import bench: orbit
// bench (and its hidden bench node) and orbit bench-engine.
var benchCommands = map[string]bool{"bench.go": true, "benchengine.go": true}

func TestRunWithoutBench(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "cmd", "orbit")
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if (path == module+"/bench" || strings.HasPrefix(path, module+"/bench/")) && !benchCommands[name] {
				t.Errorf("cmd/orbit/%s imports %s: only the benchmark commands (%v) may", name, path, benchCommands)
			}
		}
	}
	if !slices.Contains(bp.GoFiles, "run.go") || !slices.Contains(bp.GoFiles, "bench.go") || !slices.Contains(bp.GoFiles, "benchengine.go") {
		t.Fatalf("cmd/orbit files %v: run.go or bench.go moved; update this test", bp.GoFiles)
	}
}

// tree lists the Go packages in base and below it (testdata aside).
func tree(t *testing.T, root, base string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(root, base), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return filepath.SkipDir
		}
		if _, err := build.Default.ImportDir(path, 0); err == nil {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no packages in %s", base)
	}
	return out
}
