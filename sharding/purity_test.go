package sharding

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity holds the package to its promise of pure decisions: its code
// (tests aside) imports nothing that does I/O, keeps state or draws random
// numbers, reads no clock, sleeps never and starts no goroutines, so equal
// inputs give equal outputs.
func TestPurity(t *testing.T) {
	allowedImports := map[string]bool{
		"cmp": true, "errors": true, "fmt": true, "math": true, "math/bits": true,
		"slices": true, "sort": true, "strings": true, "strconv": true,
		"time": true, // durations as values only; see forbiddenCalls
	}
	forbiddenCalls := map[string]bool{}
	for _, f := range []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"} {
		forbiddenCalls["time."+f] = true
	}
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
			if !allowedImports[path] {
				t.Errorf("%s imports %q", fset.Position(imp.Pos()), path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s starts a goroutine", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+n.Sel.Name] {
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
