package e2e

import (
	"context"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
)

// scrape reads the /metrics of a process's ops listener (a service's name, or
// "gateway") with Prometheus's own text parser.
func (s *stack) scrape(process string) map[string]*dto.MetricFamily {
	s.t.Helper()
	resp, err := http.Get("http://" + s.ops[process] + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("%s /metrics: HTTP %d", process, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		s.t.Fatalf("%s /metrics: %v", process, err)
	}
	return fams
}

// series sums, over the series of the family name whose labels include every pair of
// labels ("k=v" …), their value: a gauge's or counter's value, a histogram's count.
// ok is false when no series matches.
func series(fams map[string]*dto.MetricFamily, name string, labels ...string) (sum float64, ok bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		ok = true
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, ok
}

// wantSeries fails the test unless the matching series of the process's scrape sum to
// want.
func (s *stack) wantSeries(fams map[string]*dto.MetricFamily, process string, want float64, name string, labels ...string) {
	s.t.Helper()
	if got, ok := series(fams, name, labels...); !ok || got != want {
		s.t.Errorf("%s: %s%v = %v (present %v), want %v", process, name, labels, got, ok, want)
	}
}

// appointmentGauges waits until scheduling's /metrics counts the live appointments as
// want (PENDING_PAYMENT, AWAITING_DOCTOR, CONFIRMED): the gauges are read from the
// database at scrape time, so they hold once the state the test waited for is stored.
func (s *stack) appointmentGauges(pending, awaiting, confirmed float64) {
	s.t.Helper()
	fams := s.scrape("scheduling")
	s.wantSeries(fams, "scheduling", 1, "healthcore_scheduling_saga_up")
	for state, want := range map[string]float64{"PENDING_PAYMENT": pending, "AWAITING_DOCTOR": awaiting, "CONFIRMED": confirmed} {
		s.wantSeries(fams, "scheduling", want, "healthcore_scheduling_appointments", "state="+state)
	}
}

// wantNoMetricsOnGateway checks that the public REST edge does not serve /metrics:
// only the ops listener does.
func (s *stack) wantNoMetricsOnGateway() {
	s.t.Helper()
	resp, err := http.Get(s.gateway + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		s.t.Errorf("the public gateway answers /metrics with HTTP %d, want 404", resp.StatusCode)
	}
}

// journeyMetrics checks the ops /metrics of the booking journey's processes after it:
// pools of the configured size that were used, job queues read with none given up, the
// database reachable, every booking counted once under its outcome, the forged webhook
// refused at the edge, and the booking e-mails sent.
func (s *stack) journeyMetrics(poolSize, bookingsOK, bookingsRefused float64) {
	s.t.Helper()
	for _, svc := range []string{"scheduling", "payments"} {
		fams := s.scrape(svc)
		s.wantSeries(fams, svc, poolSize, "healthcore_db_pool_max_connections", "schema="+svc)
		if n, _ := series(fams, "healthcore_db_pool_acquires_total", "schema="+svc); n <= 0 {
			s.t.Errorf("%s: healthcore_db_pool_acquires_total = %v, want > 0", svc, n)
		}
		if n, _ := series(fams, "healthcore_db_pool_total_connections", "schema="+svc); n < 1 || n > poolSize {
			s.t.Errorf("%s: healthcore_db_pool_total_connections = %v, want 1 to %v", svc, n, poolSize)
		}
		s.wantSeries(fams, svc, 1, "healthcore_river_up", "schema="+svc)
		if n, _ := series(fams, "healthcore_river_jobs", "schema="+svc, "state=discarded"); n != 0 {
			s.t.Errorf("%s: %v discarded jobs, want none", svc, n)
		}
		s.wantSeries(fams, svc, 1, "healthcore_dependency_up", "dependency=database")
	}
	// The journey's logins and audited reads of payers went through identity's batcher,
	// and every row it counts is in the log. Its transactions are not bounded by its
	// rows: a batch that only flushes a committed transaction's outbox runs one, and
	// finds nothing when the batch before it already chained those rows.
	id := s.scrape("identity")
	rows, _ := series(id, "healthcore_audit_batch_rows_total", "log=identity.audit_log")
	txs, _ := series(id, "healthcore_audit_batch_transactions_total", "log=identity.audit_log")
	var logged int64
	if err := openPool(s.t, s.dbURL).QueryRow(context.Background(), `SELECT count(*) FROM identity.audit_log`).Scan(&logged); err != nil {
		s.t.Fatal(err)
	}
	if rows <= 0 || txs <= 0 || rows > float64(logged) {
		s.t.Errorf("identity's audit batcher: %v rows in %v transactions, %v rows in the log; want rows > 0, transactions > 0 and no more rows than the log holds", rows, txs, logged)
	}
	fams := s.scrape("scheduling")
	service, method := schedulingv1connect.SchedulingServiceName, "BookAppointment"
	s.wantSeries(fams, "scheduling", bookingsOK, "healthcore_rpc_duration_seconds", "service="+service, "method="+method, "code=ok")
	ok, _ := series(fams, "healthcore_rpc_duration_seconds", "service="+service, "method="+method, "code=ok")
	if all, _ := series(fams, "healthcore_rpc_duration_seconds", "service="+service, "method="+method); all-ok != bookingsRefused {
		s.t.Errorf("scheduling: %v %s calls not ok, want %v", all-ok, method, bookingsRefused)
	}

	gw := s.scrape("gateway")
	if n, _ := series(gw, "healthcore_http_duration_seconds", "method=POST", "status=401"); n < 1 {
		s.t.Errorf("gateway: %v POST answered 401, want the forged webhook among them", n)
	}
	s.wantNoMetricsOnGateway()

	var sent float64
	s.eventually("booking e-mails counted as sent", 30*time.Second, func() bool {
		sent, _ = series(s.scrape("notifications"), "healthcore_notifications_sent_total", "channel=email", "outcome=sent")
		return sent >= 1
	})
	s.t.Logf("metrics after the journey: %v %s ok, %v e-mails sent", bookingsOK, method, sent)
}
