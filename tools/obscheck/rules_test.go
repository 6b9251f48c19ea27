package obscheck

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
)

var rulesFile = filepath.Join(Dir, "prometheus", "rules.yaml")

func loadMetrics(t *testing.T) Metrics {
	t.Helper()
	m, err := LoadMetrics(filepath.Join(Dir, "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	a, err := RunbookAnchors("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRules_ParseAndNameOnlyRealMetrics: the rule file passes Prometheus' own parser
// (unknown fields, bad PromQL, bad templates fail), every series a rule reads is one the
// platform registers or a rule records, and every alert has a severity, a summary and a
// runbook section that exists.
func TestRules_ParseAndNameOnlyRealMetrics(t *testing.T) {
	rgs, err := LoadRules(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckRules(rgs, loadMetrics(t), RunbookLink(runbookAnchors(t))); err != nil {
		t.Error(err)
	}
	alerts := map[string]bool{}
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts[r.Alert] = true
			}
		}
	}
	// The README's alert table (section "Operate") lists exactly the alerts, each
	// linking to its runbook section.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n### Alerts\n")
	if !ok {
		t.Fatal(`README: no "### Alerts" section`)
	}
	table, _, _ = strings.Cut(table, "\n### ")
	listed := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ = strings.Cut(name, "`")
			listed[name] = true
			if !strings.Contains(line, "(docs/runbook.md#"+strings.ToLower(name)+")") {
				t.Errorf("README: the row of %s does not link to its runbook section", name)
			}
		}
	}
	for a := range alerts {
		if !listed[a] {
			t.Errorf("README's alert table lacks %s", a)
		}
	}
	for a := range listed {
		if !alerts[a] {
			t.Errorf("README's alert table lists %s, which rules.yaml does not have", a)
		}
	}
}

// TestCheck_RefusesUnknownMetrics: the name check catches a misspelt metric, a
// histogram's series named without its suffix, and a selector without a name.
func TestCheck_RefusesUnknownMetrics(t *testing.T) {
	m := loadMetrics(t)
	for _, expr := range []string{
		`rate(healthcore_http_duration_seconds_count[5m])`,
		`healthcore:rest_errors:ratio_rate5m > 0`,
		`up == 0`,
	} {
		if err := m.Check(expr, map[string]bool{"healthcore:rest_errors:ratio_rate5m": true}); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
	for _, expr := range []string{
		`rate(healthcore_http_duration_second_count[5m])`,
		`healthcore_rpc_duration_seconds > 1`,
		`{job="x"}`,
		`rate(healthcore_river_jobs[5m]`,
	} {
		if err := m.Check(expr, nil); err == nil {
			t.Errorf("%s: accepted", expr)
		}
	}
}

// ruleRun evaluates the rule file over series like promtool's unit tests: the series
// are loaded a step at a time and every group evaluated each minute, so `for`, the
// recording rules' history and the alerts' states evolve as on a server.
type ruleRun struct {
	t      *testing.T
	ll     *promqltest.LazyLoader
	groups []*rules.Group
	next   time.Time // the next evaluation's time
}

func newRuleRun(t *testing.T, series string) *ruleRun {
	t.Helper()
	ll, err := promqltest.NewLazyLoader(series, promqltest.LazyLoaderOpts{EnableAtModifier: true, EnableNegativeOffset: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ll.Close() })
	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:            rules.EngineQueryFunc(ll.QueryEngine(), ll.Storage()),
		AppendableV2:         ll.Storage(),
		Context:              context.Background(),
		NotifyFunc:           func(context.Context, string, ...*rules.Alert) {},
		NameValidationScheme: model.LegacyValidation,
	})
	byName, errs := m.LoadGroups(time.Minute, labels.EmptyLabels(), "", nil, false, rulesFile)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	r := &ruleRun{t: t, ll: ll, next: time.Unix(0, 0).UTC()}
	for _, g := range byName {
		for _, rule := range g.Rules() {
			if a, ok := rule.(*rules.AlertingRule); ok {
				a.SetRestored(true) // as promtool: no state to restore, ALERTS written
			}
		}
		r.groups = append(r.groups, g)
	}
	// Recording groups first, as their order in the file has them evaluated.
	sort.Slice(r.groups, func(i, j int) bool { return strings.HasSuffix(r.groups[i].Name(), "-sli") })
	return r
}

// until runs the rules every minute from where the run stands up to at (from the
// epoch) and returns the alerts firing then, by alert name.
func (r *ruleRun) until(at time.Duration) map[string][]labels.Labels {
	r.t.Helper()
	for ; !r.next.After(time.Unix(0, 0).Add(at)); r.next = r.next.Add(time.Minute) {
		ts := r.next
		r.ll.WithSamplesTill(ts, func(err error) {
			if err != nil {
				r.t.Fatal(err)
			}
			for _, g := range r.groups {
				g.Eval(r.ll.Context(), ts)
				for _, rule := range g.Rules() {
					if err := rule.LastError(); err != nil {
						r.t.Fatalf("rule %s at %s: %v", rule.Name(), ts, err)
					}
				}
			}
		})
	}
	got := map[string][]labels.Labels{}
	for _, g := range r.groups {
		for _, rule := range g.Rules() {
			a, ok := rule.(*rules.AlertingRule)
			if !ok {
				continue
			}
			for _, al := range a.ActiveAlerts() {
				if al.State == rules.StateFiring {
					got[a.Name()] = append(got[a.Name()], al.Labels)
				}
			}
		}
	}
	return got
}

func severities(ls []labels.Labels) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Get("severity"))
	}
	sort.Strings(out)
	return out
}

// TestRESTAvailabilityBurn_PagesOnAFastBurnOnly: two clean hours, then 2% of requests
// fail (14.4× the 0.1% budget is 1.44%): the 5-minute window crosses at once but the
// page waits for the 1-hour window too (about 43 minutes of errors, then `for: 2m`);
// it is then a critical alert, and never before.
func TestRESTAvailabilityBurn_PagesOnAFastBurnOnly(t *testing.T) {
	// 1000 requests a minute; from minute 120, 20 of them 5xx.
	series := `load 1m
  healthcore_http_duration_seconds_count{method="GET",status="200",pod="gateway-a"} 0+1000x120 120000+980x120
  healthcore_http_duration_seconds_count{method="GET",status="503",pod="gateway-a"} 0x120 0+20x120
`
	const alert = "HealthcoreRESTAvailabilityBudgetBurn"
	run := newRuleRun(t, series)
	if s := severities(run.until(150 * time.Minute)[alert]); slices.Contains(s, "critical") {
		t.Errorf("at 150m (30m of 2%% errors) %s pages: %v", alert, s)
	}
	// By then the slow burn (3x over 1 day and 2 hours) has opened its ticket too.
	if s := severities(run.until(170 * time.Minute)[alert]); !slices.Equal(s, []string{"critical", "warning"}) {
		t.Errorf("at 170m (50m of 2%% errors) %s fires as %v, want [critical warning]", alert, s)
	}
}

// TestRESTAvailabilityBurn_SlowBurnOpensATicketNotAPage: 0.3% of requests failing for
// hours is under the page's 6× threshold (0.6%) but over the ticket's 3× over 1 day
// and 2 hours: a warning, no critical.
func TestRESTAvailabilityBurn_SlowBurnOpensATicketNotAPage(t *testing.T) {
	series := `load 1m
  healthcore_http_duration_seconds_count{method="GET",status="200"} 0+997x240
  healthcore_http_duration_seconds_count{method="GET",status="500"} 0+3x240
`
	got := newRuleRun(t, series).until(4 * time.Hour)["HealthcoreRESTAvailabilityBudgetBurn"]
	if s := severities(got); len(s) != 1 || s[0] != "warning" {
		t.Errorf("after 4h of 0.3%% errors: %v, want [warning]", s)
	}
}

// TestAnswerOverdue_FiresForAPaidBookingPastItsDeadline: the oldest AWAITING_DOCTOR
// appointment falls behind its deadline at minute 10 and stays (the deadline job is
// stuck). Two replicas report the same value: one alert, not two. It is pending past
// 600 s late and fires 5 minutes later; the saga's SLO pages too.
func TestAnswerOverdue_FiresForAPaidBookingPastItsDeadline(t *testing.T) {
	series := `load 1m
  healthcore_scheduling_answer_overdue_seconds{pod="scheduling-a"} 0x10 60+60x40
  healthcore_scheduling_answer_overdue_seconds{pod="scheduling-b"} 0x10 60+60x40
`
	run := newRuleRun(t, series)
	if got := run.until(22 * time.Minute)["HealthcoreAnswerOverdue"]; len(got) != 0 {
		t.Errorf("at 22m (720 s late, pending for 2m) it fires already: %v", got)
	}
	got := run.until(30 * time.Minute)
	if a := got["HealthcoreAnswerOverdue"]; len(a) != 1 || a[0].Get("severity") != "critical" {
		t.Errorf("at 30m: HealthcoreAnswerOverdue %v, want one critical alert", a)
	}
	if s := severities(got["HealthcoreSagaAnswerBudgetBurn"]); len(s) == 0 || s[0] != "critical" {
		t.Errorf("at 30m: HealthcoreSagaAnswerBudgetBurn %v, want critical", s)
	}
}

// TestAnswerOverdue_QuietWhileTheJobKeepsUp: a booking a few minutes late now and then
// (the job runs a little after the deadline) never pages.
func TestAnswerOverdue_QuietWhileTheJobKeepsUp(t *testing.T) {
	series := `load 1m
  healthcore_scheduling_answer_overdue_seconds{pod="scheduling-a"} 0x10 30 90 0x10 120 0x30
`
	got := newRuleRun(t, series).until(55 * time.Minute)
	for _, a := range []string{"HealthcoreAnswerOverdue", "HealthcoreSagaAnswerBudgetBurn"} {
		if len(got[a]) != 0 {
			t.Errorf("%s fires: %v", a, got[a])
		}
	}
}

// TestHoldOverdue_FiresWhenExpireHoldStalls: a PENDING_PAYMENT booking 5+ minutes past
// its hold for 5 minutes fires; the stall clearing resolves it.
func TestHoldOverdue_FiresWhenExpireHoldStalls(t *testing.T) {
	series := `load 1m
  healthcore_scheduling_hold_overdue_seconds{pod="scheduling-a"} 0x5 60+60x20 0x10
`
	run := newRuleRun(t, series)
	if got := run.until(18 * time.Minute)["HealthcoreHoldOverdue"]; len(got) != 1 {
		t.Errorf("at 18m (720 s late for 7m): %v, want one alert", got)
	}
	if got := run.until(30 * time.Minute)["HealthcoreHoldOverdue"]; len(got) != 0 {
		t.Errorf("at 30m (cleared): %v, want none", got)
	}
}

// TestJobsDiscarded_NamesTheKind: a discarded refund job fires a critical alert
// labelled with its schema and kind.
func TestJobsDiscarded_NamesTheKind(t *testing.T) {
	series := `load 1m
  healthcore_river_jobs{schema="payments",queue="default",kind="payments.refund",state="discarded",pod="payments-a"} 0x5 1x10
  healthcore_river_jobs{schema="payments",queue="default",kind="payments.sync_charge",state="discarded",pod="payments-a"} 0x15
`
	got := newRuleRun(t, series).until(10 * time.Minute)["HealthcoreJobsDiscarded"]
	if len(got) != 1 || got[0].Get("kind") != "payments.refund" || got[0].Get("schema") != "payments" {
		t.Errorf("got %v, want one alert for payments.refund", got)
	}
}

// TestSagaHealthUnreadable_ReportsEachFailedRead: a queue read failing in one schema
// and the saga's read failing at once give one alert each (neither hides the other).
func TestSagaHealthUnreadable_ReportsEachFailedRead(t *testing.T) {
	series := `load 1m
  healthcore_river_up{schema="payments",pod="payments-a"} 0x15
  healthcore_river_up{schema="scheduling",pod="scheduling-a"} 1x15
  healthcore_scheduling_saga_up{pod="scheduling-a"} 0x15
  healthcore_payments_health_up{pod="payments-a"} 1x15
`
	got := newRuleRun(t, series).until(12 * time.Minute)["HealthcoreSagaHealthUnreadable"]
	var schemas []string
	for _, l := range got {
		schemas = append(schemas, l.Get("schema"))
	}
	sort.Strings(schemas)
	if !slices.Equal(schemas, []string{"", "payments"}) {
		t.Errorf("alerts for schemas %q, want the saga's (no schema) and payments' queues", schemas)
	}
}
