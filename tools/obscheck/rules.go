package obscheck

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// LoadRules parses a rule file as Prometheus does, refusing unknown fields and metric
// names outside the legacy character set.
func LoadRules(path string) (*rulefmt.RuleGroups, error) {
	rgs, errs := rulefmt.ParseFile(path, false, model.LegacyValidation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rgs, nil
}

// Recorded returns the names the recording rules of rgs record.
func Recorded(rgs *rulefmt.RuleGroups) map[string]bool {
	out := map[string]bool{}
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out[r.Record] = true
			}
		}
	}
	return out
}

// CheckRules checks every rule's expression against m (and the recorded names), and
// every alert's labels and annotations: a severity of critical or warning, a summary,
// and a runbook_url whose anchor anchors accepts.
func CheckRules(rgs *rulefmt.RuleGroups, m Metrics, runbookAnchor func(url string) error) error {
	rec := Recorded(rgs)
	var errs []error
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			if err := m.Check(r.Expr, rec); err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", g.Name, name, err))
			}
			if r.Alert == "" {
				continue
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				errs = append(errs, fmt.Errorf("%s: severity %q, want critical or warning", name, s))
			}
			if r.Annotations["summary"] == "" {
				errs = append(errs, fmt.Errorf("%s: no summary annotation", name))
			}
			if err := runbookAnchor(r.Annotations["runbook_url"]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}
