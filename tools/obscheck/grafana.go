package obscheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
)

// Dashboard is the part of a Grafana dashboard's JSON model the checks read.
type Dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []Panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel (a row holds panels of its own when collapsed).
type Panel struct {
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []Panel `json:"panels"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

// grafanaVars are Grafana's built-in interval variables; a panel's query gets a
// duration in their place.
var grafanaVars = regexp.MustCompile(`\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval|range)\}`)

// dashboardVar is a dashboard variable, used inside a label matcher's quotes.
var dashboardVar = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)

// LoadDashboard reads a dashboard and checks every panel's queries: each parses as
// PromQL (with Grafana's variables replaced as Grafana would) and names only metrics
// of m or recorded names. It returns the number of queries checked.
func LoadDashboard(file string, m Metrics, recorded map[string]bool) (*Dashboard, int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, 0, err
	}
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, 0, err
	}
	var errs []error
	if d.UID == "" || d.Title == "" {
		errs = append(errs, errors.New("dashboard without a uid or title"))
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			// label_values(metric, label): the metric must exist.
			if mm := regexp.MustCompile(`label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)`).FindStringSubmatch(q); mm != nil && !m[mm[1]] {
				errs = append(errs, fmt.Errorf("variable %s: %q: no such metric", v.Name, mm[1]))
			}
		}
	}
	n := 0
	var walk func(ps []Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, t := range p.Targets {
				n++
				expr := grafanaVars.ReplaceAllString(t.Expr, "5m")
				for _, v := range dashboardVar.FindAllString(expr, -1) {
					name := regexp.MustCompile(`[${}]`).ReplaceAllString(v, "")
					if !vars[name] {
						errs = append(errs, fmt.Errorf("panel %q: variable %s is not defined", p.Title, v))
					}
				}
				expr = dashboardVar.ReplaceAllString(expr, "x")
				if err := m.Check(expr, recorded); err != nil {
					errs = append(errs, fmt.Errorf("panel %q %s: %w", p.Title, t.RefID, err))
				}
			}
		}
	}
	walk(d.Panels)
	if n == 0 {
		errs = append(errs, errors.New("no queries"))
	}
	return &d, n, errors.Join(errs...)
}
