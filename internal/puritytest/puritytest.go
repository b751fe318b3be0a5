// Package puritytest checks, for the tests of packages that promise pure
// code, that the package's source files (tests aside) import only allowed
// packages, start no goroutines, call no forbidden functions (clocks,
// sleeps, I/O) and keep no package-level state but sentinel errors.
package puritytest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ClockCalls are the time package's functions that read or wait on the
// clock, as "time.Name", for the forbidden set of Check.
func ClockCalls() map[string]bool {
	m := map[string]bool{}
	for _, f := range []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"} {
		m["time."+f] = true
	}
	return m
}

// Check reads the non-test Go files of the current directory (the package
// under test) and reports every import not in allowed, every go
// statement, every use of a forbidden "pkg.Name" and every package-level
// variable whose name does not start with Err.
func Check(t testing.TB, allowed, forbidden map[string]bool) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %q", fset.Position(imp.Pos()), path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s starts a goroutine", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && forbidden[id.Name+"."+n.Sel.Name] {
					t.Errorf("%s uses %s.%s", fset.Position(n.Pos()), id.Name, n.Sel.Name)
				}
			}
			return true
		})
		// Package-level variables other than sentinel errors would be
		// state kept between calls.
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, s := range g.Specs {
					for _, id := range s.(*ast.ValueSpec).Names {
						if !strings.HasPrefix(id.Name, "Err") && id.Name != "_" {
							t.Errorf("%s: package-level variable %s", fset.Position(id.Pos()), id.Name)
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
