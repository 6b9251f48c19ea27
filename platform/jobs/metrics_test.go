package jobs_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"

	"healthcore/platform/jobs"
	"healthcore/platform/pgtest"
)

type otherArgs struct{}

func (otherArgs) Kind() string { return "other" }

type otherWorker struct {
	river.WorkerDefaults[otherArgs]
}

func (otherWorker) Work(context.Context, *river.Job[otherArgs]) error { return nil }

func TestQueueCollectorCountsJobsByStateAndAgesTheOldestAvailable(t *testing.T) {
	db := pgtest.Pool(t, schema.Name, schema)
	workers := river.NewWorkers()
	river.AddWorker(workers, &countWorker{})
	river.AddWorker(workers, otherWorker{})
	// Never started: the jobs stay as the test puts them.
	c, err := jobs.New(db, schema.Name, workers, slog.New(slog.DiscardHandler), jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	insert := func(args river.JobArgs, opts *river.InsertOpts) int64 {
		t.Helper()
		res, err := c.Insert(ctx, args, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res.Job.ID
	}
	late := insert(countArgs{Key: "due an hour ago"}, nil)
	insert(countArgs{Key: "due now"}, nil)
	running := insert(countArgs{Key: "running"}, nil)
	retryable := insert(countArgs{Key: "retryable"}, nil)
	discarded := insert(countArgs{Key: "discarded"}, nil)
	otherDiscarded := insert(otherArgs{}, nil)
	set := func(id int64, sql string) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, id); err != nil {
			t.Fatal(err)
		}
	}
	set(late, `UPDATE river_job SET scheduled_at = now() - interval '1 hour' WHERE id = $1`)
	set(running, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`)
	set(retryable, `UPDATE river_job SET state = 'retryable', attempt = 1, attempted_at = now(), scheduled_at = now() + interval '1 hour' WHERE id = $1`)
	set(discarded, `UPDATE river_job SET state = 'discarded', attempt = 1, attempted_at = now(), finalized_at = now() WHERE id = $1`)
	set(otherDiscarded, `UPDATE river_job SET state = 'discarded', attempt = 1, attempted_at = now(), finalized_at = now() WHERE id = $1`)

	reg := prometheus.NewRegistry()
	reg.MustRegister(jobs.NewQueueCollector(schema.Name, db))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_river_jobs River jobs by queue, kind and state (available, running, retryable, discarded).
# TYPE healthcore_river_jobs gauge
healthcore_river_jobs{kind="count",queue="default",schema="jobs_test",state="available"} 2
healthcore_river_jobs{kind="count",queue="default",schema="jobs_test",state="discarded"} 1
healthcore_river_jobs{kind="count",queue="default",schema="jobs_test",state="retryable"} 1
healthcore_river_jobs{kind="count",queue="default",schema="jobs_test",state="running"} 1
healthcore_river_jobs{kind="other",queue="default",schema="jobs_test",state="available"} 0
healthcore_river_jobs{kind="other",queue="default",schema="jobs_test",state="discarded"} 1
healthcore_river_jobs{kind="other",queue="default",schema="jobs_test",state="retryable"} 0
healthcore_river_jobs{kind="other",queue="default",schema="jobs_test",state="running"} 0
# HELP healthcore_river_up 1 when the scrape read the schema's jobs, 0 when the query failed (the other River series are then missing).
# TYPE healthcore_river_up gauge
healthcore_river_up{schema="jobs_test"} 1
`), "healthcore_river_jobs", "healthcore_river_up"); err != nil {
		t.Error(err)
	}

	ages := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "healthcore_river_oldest_available_age_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" {
					ages[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	// The oldest available count job was due an hour ago (the bound allows a slow run,
	// not a wrong column: the other jobs were due seconds ago).
	if a := ages["count"]; a < 3600 || a > 3600+300 {
		t.Errorf("oldest available count job's age = %v s, want about 3600", a)
	}
	if a, ok := ages["other"]; !ok || a != 0 {
		t.Errorf("oldest available other job's age = %v (reported %v), want 0: it has none available", a, ok)
	}

	// A failed read leaves the series out and says so.
	db.Close()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_river_up 1 when the scrape read the schema's jobs, 0 when the query failed (the other River series are then missing).
# TYPE healthcore_river_up gauge
healthcore_river_up{schema="jobs_test"} 0
`), "healthcore_river_up"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "healthcore_river_jobs"); err != nil || n != 0 {
		t.Errorf("after a failed read: %d job series (%v), want none", n, err)
	}
}
