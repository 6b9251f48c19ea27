package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// queueStatsTimeout bounds the query a scrape runs: a slow database leaves the queue
// series out of that scrape (healthcore_river_up 0) rather than hanging it.
const queueStatsTimeout = 2 * time.Second

// queueStates are the job states exported, each (queue, kind) seen in any of them
// reported in all, 0 where it has none.
var queueStates = []string{"available", "running", "retryable", "discarded"}

// QueueCollector exports, at scrape time, the jobs of one schema's River table by queue,
// kind and state, and the age of each queue and kind's oldest available job: how far
// behind the workers are.
type QueueCollector struct {
	db                    *pgxpool.Pool
	jobs, oldestAvail, up *prometheus.Desc
}

// NewQueueCollector returns the collector of the River table of schema, read through
// db (whose search_path is schema).
func NewQueueCollector(schema string, db *pgxpool.Pool) *QueueCollector {
	labels := prometheus.Labels{"schema": schema}
	return &QueueCollector{
		db: db,
		jobs: prometheus.NewDesc("healthcore_river_jobs",
			"River jobs by queue, kind and state (available, running, retryable, discarded).",
			[]string{"queue", "kind", "state"}, labels),
		oldestAvail: prometheus.NewDesc("healthcore_river_oldest_available_age_seconds",
			"How long the oldest available job of the queue and kind has been due; 0 when none is.",
			[]string{"queue", "kind"}, labels),
		up: prometheus.NewDesc("healthcore_river_up",
			"1 when the scrape read the schema's jobs, 0 when the query failed (the other River series are then missing).",
			nil, labels),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.oldestAvail
	ch <- c.up
}

type queueKind struct{ queue, kind string }

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueStatsTimeout)
	defer cancel()
	counts, ages, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for qk, byState := range counts {
		for _, s := range queueStates {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(byState[s]), qk.queue, qk.kind, s)
		}
		ch <- prometheus.MustNewConstMetric(c.oldestAvail, prometheus.GaugeValue, ages[qk], qk.queue, qk.kind)
	}
}

// read counts the jobs in the exported states by queue and kind, with the age in seconds
// of the oldest available one.
func (c *QueueCollector) read(ctx context.Context) (map[queueKind]map[string]int64, map[queueKind]float64, error) {
	rows, err := c.db.Query(ctx, `
		SELECT queue, kind, state::text, count(*),
		       EXTRACT(EPOCH FROM now() - min(scheduled_at))::float8
		FROM river_job
		WHERE state IN ('available', 'running', 'retryable', 'discarded')
		GROUP BY queue, kind, state`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	counts := map[queueKind]map[string]int64{}
	ages := map[queueKind]float64{}
	for rows.Next() {
		var (
			qk    queueKind
			state string
			n     int64
			age   float64
		)
		if err := rows.Scan(&qk.queue, &qk.kind, &state, &n, &age); err != nil {
			return nil, nil, err
		}
		if counts[qk] == nil {
			counts[qk] = map[string]int64{}
		}
		counts[qk][state] = n
		if state == "available" {
			ages[qk] = max(age, 0)
		}
	}
	return counts, ages, rows.Err()
}
