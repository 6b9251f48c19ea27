package identity

import (
	"github.com/prometheus/client_golang/prometheus"

	"healthcore/platform/errs"
)

// Outcomes of a login, the outcome label of healthcore_identity_logins_total.
const (
	loginSuccess            = "success"
	loginInvalidCredentials = "invalid_credentials" // wrong login or password
	loginThrottled          = "throttled"           // refused before the password was checked
	loginError              = "error"               // any other failure (bad request, internal)
)

func newLoginCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcore_identity_logins_total",
		Help: "Logins answered by identity, by outcome (success, invalid_credentials, throttled, error).",
	}, []string{"outcome"})
	for _, o := range []string{loginSuccess, loginInvalidCredentials, loginThrottled, loginError} {
		c.WithLabelValues(o)
	}
	return c
}

// countLogin counts the outcome of a login that ended with err.
func (s *Service) countLogin(err error) {
	outcome := loginError
	switch {
	case err == nil:
		outcome = loginSuccess
	case errs.Has(err, ReasonInvalidCredentials):
		outcome = loginInvalidCredentials
	case errs.Has(err, ReasonLoginThrottled):
		outcome = loginThrottled
	}
	s.logins.WithLabelValues(outcome).Inc()
}

// Collector exports identity's counters: healthcore_identity_logins_total, the logins
// by outcome; a surge of invalid_credentials or throttled is someone guessing passwords.
func (s *Service) Collector() prometheus.Collector { return s.logins }

// AuditCollector exports the audit log's group commit (healthcore_audit_batch_*, log
// "identity.audit_log"; see auditchain.Batcher.Collector).
func (s *Service) AuditCollector() prometheus.Collector { return s.auditLog.batch.Collector() }
