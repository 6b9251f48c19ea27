package payments

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// healthTimeout bounds the query a metrics scrape runs.
const healthTimeout = 2 * time.Second

// Outcomes of a provider notification, the outcome label of
// healthcore_payments_webhook_notifications_total.
const (
	webhookAccepted         = "accepted"          // signature good: answered 200
	webhookSignatureInvalid = "signature_invalid" // missing or wrong signature: 401
	webhookSignatureStale   = "signature_stale"   // signed too long ago (a replay?): 401
	webhookUnavailable      = "unavailable"       // could not be checked or queued: the provider retries
)

func newWebhookCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcore_payments_webhook_notifications_total",
		Help: "Provider payment notifications received by payments, by outcome (accepted, signature_invalid, signature_stale, unavailable).",
	}, []string{"outcome"})
	for _, o := range []string{webhookAccepted, webhookSignatureInvalid, webhookSignatureStale, webhookUnavailable} {
		c.WithLabelValues(o)
	}
	return c
}

// countWebhook counts a notification's outcome.
func (s *Service) countWebhook(outcome string) {
	if s.webhooks != nil {
		s.webhooks.WithLabelValues(outcome).Inc()
	}
}

// expiryCollector exports the pending payments past their charge's expiry.
type expiryCollector struct {
	s                  *Service
	count, overdue, up *prometheus.Desc
}

// Collector exports, at scrape time, the PENDING payments whose charge has expired
// (reconciliation should fail or settle them within minutes) and how late the oldest is,
// and the count of provider notifications by outcome.
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
	if c.s.webhooks != nil {
		c.s.webhooks.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *expiryCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.webhooks != nil {
		c.s.webhooks.Collect(ch)
	}
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
