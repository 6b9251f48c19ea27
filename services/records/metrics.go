package records

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a doctor's read of a patient's document, the outcome label of
// healthcore_records_share_checks_total.
const (
	shareAllowed   = "allowed"    // a live share covers the document
	shareNotShared = "not_shared" // no share to this doctor ever covered it (or it is gone)
	shareRevoked   = "revoked"    // the covering share was revoked
	shareExpired   = "expired"    // the covering share expired
)

func newShareCheckCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcore_records_share_checks_total",
		Help: "Doctors' reads of patients' documents checked against their shares, by outcome (allowed, not_shared, revoked, expired).",
	}, []string{"outcome"})
	for _, o := range []string{shareAllowed, shareNotShared, shareRevoked, shareExpired} {
		c.WithLabelValues(o)
	}
	return c
}

func (s *Service) countShareCheck(outcome string) { s.shareChecks.WithLabelValues(outcome).Inc() }

// Collector exports records' counters: healthcore_records_share_checks_total, the
// doctors' reads of shared documents by outcome; the denied ones (not_shared, revoked,
// expired) rising for one doctor is someone probing records.
func (s *Service) Collector() prometheus.Collector { return s.shareChecks }

// AuditCollector exports the access log's group commit (healthcore_audit_batch_*, log
// "records.access_log"; see auditchain.Batcher.Collector).
func (s *Service) AuditCollector() prometheus.Collector { return s.accessLog.batch.Collector() }
