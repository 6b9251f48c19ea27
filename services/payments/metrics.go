package payments

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// healthTimeout bounds the query a metrics scrape runs.
const healthTimeout = 2 * time.Second

// expiryCollector exports the pending payments past their charge's expiry.
type expiryCollector struct {
	s                  *Service
	count, overdue, up *prometheus.Desc
}

// Collector exports, at scrape time, the PENDING payments whose charge has expired
// (reconciliation should fail or settle them within minutes) and how late the oldest is.
func (s *Service) Collector() prometheus.Collector {
	return &expiryCollector{
		s: s,
		count: prometheus.NewDesc("healthcore_payments_pending_expired_payments",
			"PENDING payments whose charge has expired; reconciliation should settle or fail them.", nil, nil),
		overdue: prometheus.NewDesc("healthcore_payments_pending_expired_overdue_seconds",
			"How long the oldest PENDING payment has been past its charge's expiry; 0 when none is.", nil, nil),
		up: prometheus.NewDesc("healthcore_payments_health_up",
			"1 when the scrape read the pending payments, 0 when the query failed (the other series are then missing).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *expiryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.overdue
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *expiryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	n, overdue, err := payments.expiredPending(ctx, c.s.db, c.s.now())
	if err != nil {
		c.s.log.Warn("payment metrics not read", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, overdue)
}
