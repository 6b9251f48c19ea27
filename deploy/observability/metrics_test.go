// Package observability holds the operations configuration (collector, Fluent Bit,
// Prometheus rules, Grafana dashboards); its test keeps metrics.txt, the list of metric
// names the rules and dashboards may use (tools/obscheck checks them against it), equal
// to the metrics the code registers.
package observability

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// codeDirs are the module's directories that hold code registering metrics.
var codeDirs = []string{"platform", "services", "gateway", "partneredge", "internal", "cmd"}

var (
	metricName   = regexp.MustCompile(`^healthcore_[a-z0-9_]*[a-z0-9]$`)
	metricPrefix = regexp.MustCompile(`^healthcore_[a-z0-9_]+_$`)
	nameSuffix   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// TestMetricsList_MatchesTheCode: every metric name the code gives the Prometheus client
// (in an Opts' Name or a NewDesc, or built as a "healthcore_…_" prefix plus a name
// passed to a local helper, as the pool collector does) is in metrics.txt with its type,
// and metrics.txt names nothing else. A metric added, renamed or dropped in the code
// fails here until the list (and so the rules and dashboards checked against it) follows.
func TestMetricsList_MatchesTheCode(t *testing.T) {
	inCode := metricsInCode(t, "../..")
	listed := readList(t, "metrics.txt")
	for name, typ := range inCode {
		switch lt, ok := listed[name]; {
		case !ok:
			t.Errorf("%s (%s) is registered by the code but missing from metrics.txt", name, typ)
		case lt != typ:
			t.Errorf("%s: metrics.txt says %s, the code registers a %s", name, lt, typ)
		}
	}
	for name := range listed {
		if _, ok := inCode[name]; !ok {
			t.Errorf("%s is in metrics.txt but no code registers it", name)
		}
	}
	// The scan must see the collectors it is meant to: a refactor that hid them (names
	// built some other way) would otherwise pass with an empty list.
	for _, want := range []string{"healthcore_rpc_duration_seconds", "healthcore_db_pool_empty_acquire_wait_seconds_total", "healthcore_river_oldest_available_age_seconds"} {
		if _, ok := inCode[want]; !ok {
			t.Errorf("the scan of the code did not find %s", want)
		}
	}
}

// metricsInCode scans the non-test Go files that import the Prometheus client and
// returns the metric names they register with their types (histogram, counter or
// gauge: from the Opts type, else counter for a name ending _total).
func metricsInCode(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range codeDirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			if !importsPrometheus(f) {
				return nil
			}
			for name, typ := range metricsInFile(f) {
				out[name] = typ
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func importsPrometheus(f *ast.File) bool {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/prometheus/client_golang/prometheus" {
			return true
		}
	}
	return false
}

func metricsInFile(f *ast.File) map[string]string {
	out := map[string]string{}
	optsType := map[*ast.BasicLit]string{} // a Name: literal of a prometheus.XxxOpts
	var prefixes, suffixes []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if sel, ok := n.Type.(*ast.SelectorExpr); ok {
				typ := strings.ToLower(strings.TrimSuffix(sel.Sel.Name, "Opts"))
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
							if lit, ok := kv.Value.(*ast.BasicLit); ok {
								optsType[lit] = typ
							}
						}
					}
				}
			}
		case *ast.CallExpr:
			// d("acquired_connections", …): a name completed by a local helper.
			if _, ok := n.Fun.(*ast.Ident); ok && len(n.Args) > 0 {
				if s, ok := stringLit(n.Args[0]); ok && nameSuffix.MatchString(s) {
					suffixes = append(suffixes, s)
				}
			}
		case *ast.BasicLit:
			s, ok := stringLit(n)
			switch {
			case !ok:
			case metricName.MatchString(s):
				typ := optsType[n]
				if typ == "" {
					typ = "gauge"
					if strings.HasSuffix(s, "_total") {
						typ = "counter"
					}
				}
				out[s] = typ
			case metricPrefix.MatchString(s):
				prefixes = append(prefixes, s)
			}
		}
		return true
	})
	for _, p := range prefixes {
		for _, s := range suffixes {
			typ := "gauge"
			if strings.HasSuffix(s, "_total") {
				typ = "counter"
			}
			out[p+s] = typ
		}
	}
	return out
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// readList reads metrics.txt: "name type" lines, # comments.
func readList(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 || !slices.Contains([]string{"counter", "gauge", "histogram"}, fields[1]) {
			t.Fatalf("metrics.txt: %q is not `name counter|gauge|histogram`", line)
		}
		if _, dup := out[fields[0]]; dup {
			t.Errorf("metrics.txt lists %s twice", fields[0])
		}
		out[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
