package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "healthcore/internal/catalog" // links every service, so every reason is declared
	"healthcore/platform/errs"
)

// file is one parsed Go file of the module, with its path relative to the module root.
type file struct {
	path string // slash-separated, e.g. "services/scheduling/book.go"
	fset *token.FileSet
	ast  *ast.File
	src  []byte
}

func (f file) test() bool { return strings.HasSuffix(f.path, "_test.go") }

func (f file) pos(p token.Pos) string {
	return f.path + ":" + strconv.Itoa(f.fset.Position(p).Line)
}

// moduleFiles parses every Go file of the module except generated code (gen/) and the
// tools module.
func moduleFiles(t *testing.T) []file {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	var out []file
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch rel {
			case "gen", "tools", "data", "third_party", "node_modules", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments)
		if err != nil {
			return err
		}
		out = append(out, file{path: rel, fset: fset, ast: f, src: src})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 100 {
		t.Fatalf("found only %d Go files under %s", len(out), root)
	}
	return out
}

// sqlText matches a string that is a SQL statement (or starts one); the code base
// writes SQL keywords in capitals.
var sqlText = regexp.MustCompile(`(?s)^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s*\(|CREATE\s|ALTER\s|DROP\s|TRUNCATE\s|LOCK\s+TABLE)`)

// sqlAllowed reports whether a non-test file may hold SQL text: the stores, the
// database plumbing itself, and the benchmarks that measure the database directly.
func sqlAllowed(path string) bool {
	base := filepath.Base(path)
	switch {
	case strings.HasPrefix(base, "store_") || base == "store.go":
		return true
	case strings.HasPrefix(path, "platform/pg/"), strings.HasPrefix(path, "platform/pgtest/"):
		return true
	case strings.HasPrefix(path, "bench/"):
		return true
	}
	return false
}

func stringValue(lit *ast.BasicLit) (string, bool) {
	if lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func TestSQLLivesOnlyInStores(t *testing.T) {
	for _, f := range moduleFiles(t) {
		if f.test() || sqlAllowed(f.path) {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok {
				return true
			}
			if s, ok := stringValue(lit); ok && sqlText.MatchString(s) {
				t.Errorf("%s: SQL outside a store file: %.60q", f.pos(lit.Pos()), strings.TrimSpace(s))
			}
			return true
		})
	}
}

func TestTransactionsOnlyThroughInTx(t *testing.T) {
	for _, f := range moduleFiles(t) {
		if f.test() || strings.HasPrefix(f.path, "platform/pg/") || strings.HasPrefix(f.path, "platform/pgtest/") ||
			strings.HasPrefix(f.path, "bench/") {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "BeginFunc", "BeginTxFunc", "BeginTx":
				t.Errorf("%s: %s opens a transaction: use pg.InTx", f.pos(call.Pos()), sel.Sel.Name)
			case "Begin":
				if len(call.Args) == 1 { // pool.Begin(ctx) / conn.Begin(ctx)
					t.Errorf("%s: Begin opens a transaction: use pg.InTx", f.pos(call.Pos()))
				}
			}
			return true
		})
	}
}

// isErrsCall reports whether call is errs.<name>(…).
func isErrsCall(call *ast.CallExpr, name string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "errs"
}

var reasonName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// Reasons are declared in reasons.go at package level, and errors are built only from
// them: no errs.Error literal outside platform/errs, no errs.Declare inside a function.
func TestReasonsAreDeclaredOnceInReasonsGo(t *testing.T) {
	for _, f := range moduleFiles(t) {
		if strings.HasPrefix(f.path, "platform/errs/") {
			continue
		}
		// Calls to errs.Declare that sit in a package-level var declaration.
		atTop := map[*ast.CallExpr]bool{}
		for _, d := range f.ast.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			ast.Inspect(gd, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok && isErrsCall(call, "Declare") {
					atTop[call] = true
				}
				return true
			})
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if !isErrsCall(n, "Declare") {
					return true
				}
				switch {
				case filepath.Base(f.path) != "reasons.go":
					t.Errorf("%s: errs.Declare outside reasons.go: declare the reason in the package's reasons.go", f.pos(n.Pos()))
				case !atTop[n]:
					t.Errorf("%s: errs.Declare inside a function: declare reasons in package-level vars", f.pos(n.Pos()))
				case len(n.Args) != 2:
				default:
					if lit, ok := n.Args[1].(*ast.BasicLit); !ok || lit.Kind != token.STRING {
						t.Errorf("%s: errs.Declare's name must be a string literal", f.pos(n.Pos()))
					} else if s, _ := stringValue(lit); !reasonName.MatchString(s) {
						t.Errorf("%s: reason %q is not SCREAMING_SNAKE", f.pos(n.Pos()), s)
					}
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "errs" {
						t.Errorf("%s: errs.Error built by hand: use a declared reason's New", f.pos(n.Pos()))
					}
				}
			}
			return true
		})
	}
}

// Tests compare declared reasons, never their names as strings: no string literal in a
// test spells a declared reason (use ReasonX, ReasonX.Name() for a REST body), and no
// test compares errs.ReasonOf's string. platform/errs tests the strings themselves.
func TestTestsCompareDeclaredReasons(t *testing.T) {
	declared := map[string]bool{}
	for _, r := range errs.Declared() {
		declared[r.Name()] = true
	}
	if len(declared) < 100 {
		t.Fatalf("only %d reasons declared: the catalog no longer links every service", len(declared))
	}
	for _, f := range moduleFiles(t) {
		if !f.test() || strings.HasPrefix(f.path, "platform/errs/") || strings.HasPrefix(f.path, "internal/archtest/") {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, ok := stringValue(n); ok && declared[s] {
					t.Errorf("%s: a test spells the reason %q: use the declared reason", f.pos(n.Pos()), s)
				}
			case *ast.BinaryExpr:
				if n.Op != token.EQL && n.Op != token.NEQ {
					return true
				}
				for _, side := range []ast.Expr{n.X, n.Y} {
					if call, ok := side.(*ast.CallExpr); ok && isErrsCall(call, "ReasonOf") {
						t.Errorf("%s: a test compares errs.ReasonOf's string: use testkit.WantReason or errs.Has", f.pos(n.Pos()))
					}
				}
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "testkit" && n.Sel.Name == "WantError" {
					t.Errorf("%s: testkit.WantError compares strings: use testkit.WantReason", f.pos(n.Pos()))
				}
			}
			return true
		})
	}
}

// Every River job kind is "<service>.<verb>", the service being the package's
// directory under services/.
func TestJobKindsNameTheirService(t *testing.T) {
	kind := regexp.MustCompile(`^([a-z]+)\.[a-z][a-z_]*$`)
	seen := 0
	for _, f := range moduleFiles(t) {
		if f.test() || !strings.HasPrefix(f.path, "services/") {
			continue
		}
		service := strings.Split(f.path, "/")[1]
		for _, d := range f.ast.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != "Kind" || fd.Body == nil || len(fd.Body.List) != 1 {
				continue
			}
			ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
			if !ok || len(ret.Results) != 1 {
				continue
			}
			lit, ok := ret.Results[0].(*ast.BasicLit)
			if !ok {
				continue
			}
			s, _ := stringValue(lit)
			seen++
			if m := kind.FindStringSubmatch(s); m == nil || m[1] != service {
				t.Errorf("%s: job kind %q must be %q", f.pos(fd.Pos()), s, service+".<verb>")
			}
		}
	}
	if seen < 10 {
		t.Fatalf("found only %d job kinds: the check no longer sees them", seen)
	}
}

// The repository stands on its own: no code comment cites a document outside it.
func TestNoCommentCitesAFileOutsideTheRepo(t *testing.T) {
	outside := regexp.MustCompile(`DESIGN\.md|STYLE\.md|\.\./shared`)
	for _, f := range moduleFiles(t) {
		for _, cg := range f.ast.Comments {
			if outside.MatchString(cg.Text()) {
				t.Errorf("%s: comment cites a file outside the repository: %q", f.pos(cg.Pos()), strings.TrimSpace(cg.Text()))
			}
		}
	}
}
