package entry

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity holds the core to its promise: its code (tests aside) starts
// no goroutines, reads no clock, sleeps never, keeps no package-level
// state and imports only packages of values (errors, formatting, the
// types of the protocol, engine and sharding packages, and a logger it is
// handed), so equal events give equal actions.
func TestPurity(t *testing.T) {
	allowedImports := map[string]bool{
		"errors": true, "fmt": true, "log/slog": true, "strings": true,
		"time":                                  true, // times and durations as values only; see forbiddenCalls
		"github.com/libp2p/go-libp2p/core/peer": true,
		"github.com/orbitswarm/orbit/engine":    true,
		"github.com/orbitswarm/orbit/protocol":  true,
		"github.com/orbitswarm/orbit/sharding":  true,
	}
	forbiddenCalls := map[string]bool{}
	for _, f := range []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"} {
		forbiddenCalls["time."+f] = true
	}
	// Of the protocol package only types, errors and pure helpers: no
	// streams, hosts or servers.
	for _, f := range []string{"OpenHop", "NewInferServer", "NewBlockServer", "NewFrameReader", "NewFrameWriter"} {
		forbiddenCalls["protocol."+f] = true
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
