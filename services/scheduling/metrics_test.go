package scheduling

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollector_ReportsLiveAppointmentsAndOverdueDeadlines(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	put := func(state string, holdUntil, answerBy *time.Time) {
		t.Helper()
		start := now.Add(48 * time.Hour)
		if _, err := f.db.Exec(t.Context(), `
			INSERT INTO appointments (id, start_at, end_at, doctor_id, patient_id, state, price_cents, hold_until, answer_by)
			VALUES ($1, $2, $3, $4, $5, $6, 10000, $7, $8)`,
			uuid.New(), start, start.Add(30*time.Minute), uuid.New(), uuid.New(), state, holdUntil, answerBy); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	put("PENDING_PAYMENT", at(10*time.Minute), nil)  // hold not over
	put("PENDING_PAYMENT", at(-90*time.Second), nil) // the oldest overdue hold
	put("PENDING_PAYMENT", at(-30*time.Second), nil)
	put("AWAITING_DOCTOR", nil, at(-time.Hour)) // unanswered past its deadline
	put("AWAITING_DOCTOR", nil, at(time.Hour))
	put("CONFIRMED", nil, nil)
	put("COMPLETED", nil, nil) // ended: not counted
	put("EXPIRED", at(-time.Hour), nil)

	reg := prometheus.NewRegistry()
	reg.MustRegister(f.svc.Collector())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_scheduling_answer_overdue_seconds How long the oldest AWAITING_DOCTOR appointment has been past its answer deadline; 0 when none is. The answer-deadline job should keep it near 0.
# TYPE healthcore_scheduling_answer_overdue_seconds gauge
healthcore_scheduling_answer_overdue_seconds 3600
# HELP healthcore_scheduling_appointments Live appointments by state (PENDING_PAYMENT, AWAITING_DOCTOR, CONFIRMED).
# TYPE healthcore_scheduling_appointments gauge
healthcore_scheduling_appointments{state="AWAITING_DOCTOR"} 2
healthcore_scheduling_appointments{state="CONFIRMED"} 1
healthcore_scheduling_appointments{state="PENDING_PAYMENT"} 3
# HELP healthcore_scheduling_hold_overdue_seconds How long the oldest PENDING_PAYMENT appointment has been past its hold's end; 0 when none is. The expire-hold job should keep it near 0.
# TYPE healthcore_scheduling_hold_overdue_seconds gauge
healthcore_scheduling_hold_overdue_seconds 90
# HELP healthcore_scheduling_saga_up 1 when the scrape read the saga's health, 0 when the query failed (the other saga series are then missing).
# TYPE healthcore_scheduling_saga_up gauge
healthcore_scheduling_saga_up 1
`)); err != nil {
		t.Error(err)
	}

	// Once the jobs have caught up, nothing is overdue.
	if _, err := f.db.Exec(t.Context(), `
		UPDATE appointments SET state = 'EXPIRED' WHERE state = 'PENDING_PAYMENT' AND hold_until < $1`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(t.Context(), `
		UPDATE appointments SET state = 'REFUSED' WHERE state = 'AWAITING_DOCTOR' AND answer_by < $1`, now); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_scheduling_answer_overdue_seconds How long the oldest AWAITING_DOCTOR appointment has been past its answer deadline; 0 when none is. The answer-deadline job should keep it near 0.
# TYPE healthcore_scheduling_answer_overdue_seconds gauge
healthcore_scheduling_answer_overdue_seconds 0
# HELP healthcore_scheduling_appointments Live appointments by state (PENDING_PAYMENT, AWAITING_DOCTOR, CONFIRMED).
# TYPE healthcore_scheduling_appointments gauge
healthcore_scheduling_appointments{state="AWAITING_DOCTOR"} 1
healthcore_scheduling_appointments{state="CONFIRMED"} 1
healthcore_scheduling_appointments{state="PENDING_PAYMENT"} 1
# HELP healthcore_scheduling_hold_overdue_seconds How long the oldest PENDING_PAYMENT appointment has been past its hold's end; 0 when none is. The expire-hold job should keep it near 0.
# TYPE healthcore_scheduling_hold_overdue_seconds gauge
healthcore_scheduling_hold_overdue_seconds 0
`), "healthcore_scheduling_answer_overdue_seconds", "healthcore_scheduling_appointments", "healthcore_scheduling_hold_overdue_seconds"); err != nil {
		t.Error(err)
	}
}
