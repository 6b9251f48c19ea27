package pg

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports a connection pool's statistics (pgxpool.Pool.Stat), read at
// scrape time, as healthcore_db_pool_* series labelled with the pool's schema: how many
// connections are in use, idle, open and allowed, and how often and how long callers
// waited for one. Register one per pool; the schema label keeps them apart.
type PoolCollector struct {
	db   *pgxpool.Pool
	desc poolDescs
}

type poolDescs struct {
	acquired, idle, total, max, acquires, emptyAcquires, canceledAcquires, waitSeconds *prometheus.Desc
}

// NewPoolCollector returns the collector of db, the pool of schema.
func NewPoolCollector(schema string, db *pgxpool.Pool) *PoolCollector {
	labels := prometheus.Labels{"schema": schema}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("healthcore_db_pool_"+name, help, nil, labels)
	}
	return &PoolCollector{db: db, desc: poolDescs{
		acquired:         d("acquired_connections", "Connections of the pool in use now."),
		idle:             d("idle_connections", "Connections of the pool open and idle now."),
		total:            d("total_connections", "Connections of the pool open now (in use, idle or being opened)."),
		max:              d("max_connections", "The most connections the pool may open."),
		acquires:         d("acquires_total", "Connections acquired from the pool."),
		emptyAcquires:    d("empty_acquires_total", "Acquires that waited because the pool had no idle connection (a new one was opened or one was released)."),
		canceledAcquires: d("canceled_acquires_total", "Acquires given up because their context ended first."),
		waitSeconds:      d("empty_acquire_wait_seconds_total", "Time spent waiting by the acquires that found no idle connection."),
	}}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

func (c *PoolCollector) descs() []*prometheus.Desc {
	d := c.desc
	return []*prometheus.Desc{d.acquired, d.idle, d.total, d.max, d.acquires, d.emptyAcquires, d.canceledAcquires, d.waitSeconds}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stat()
	d := c.desc
	gauge := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
	}
	counter := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v)
	}
	gauge(d.acquired, float64(s.AcquiredConns()))
	gauge(d.idle, float64(s.IdleConns()))
	gauge(d.total, float64(s.TotalConns()))
	gauge(d.max, float64(s.MaxConns()))
	counter(d.acquires, float64(s.AcquireCount()))
	counter(d.emptyAcquires, float64(s.EmptyAcquireCount()))
	counter(d.canceledAcquires, float64(s.CanceledAcquireCount()))
	counter(d.waitSeconds, s.EmptyAcquireWaitTime().Seconds())
}
