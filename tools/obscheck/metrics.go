package obscheck

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// Dir is deploy/observability, relative to this package.
const Dir = "../../deploy/observability"

// scrapeSeries are the series Prometheus adds to every scrape itself.
var scrapeSeries = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}

// Metrics is the set of series names a rule or dashboard may query.
type Metrics map[string]bool

// LoadMetrics reads metrics.txt ("name type" lines, # comments): a histogram also
// gives its _bucket, _sum and _count series, and Prometheus' own scrape series are
// added.
func LoadMetrics(path string) (Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := Metrics{}
	for _, s := range scrapeSeries {
		m[s] = true
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s: %q is not `name type`", path, line)
		}
		switch name := fields[0]; fields[1] {
		case "histogram":
			m[name+"_bucket"], m[name+"_sum"], m[name+"_count"] = true, true, true
		case "counter", "gauge":
			m[name] = true
		default:
			return nil, fmt.Errorf("%s: %s: unknown type %q", path, name, fields[1])
		}
	}
	return m, sc.Err()
}

// promql is the parser Prometheus loads rules with by default.
var promql = parser.NewParser(parser.Options{})

// SeriesNames parses expr and returns the metric names its selectors read (a selector
// must name its metric: a query over every metric is refused).
func SeriesNames(expr string) ([]string, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == "__name__" && name == "" {
				name = m.Value
			}
		}
		if name == "" {
			errs = append(errs, fmt.Errorf("%s: a selector without a metric name", vs))
		}
		names = append(names, name)
		return nil
	})
	return names, errors.Join(errs...)
}

// Check parses expr and fails when it reads a series that is neither in m nor in
// extra (the names the rules record).
func (m Metrics) Check(expr string, extra map[string]bool) error {
	names, err := SeriesNames(expr)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if n != "" && !m[n] && !extra[n] {
			errs = append(errs, fmt.Errorf("%q: no such metric (not in metrics.txt, nor recorded by a rule)", n))
		}
	}
	return errors.Join(errs...)
}
