package identity

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"healthcore/platform/testkit"
)

func TestCollector_CountsLoginsByOutcome(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Throttle.AccountFree, c.Throttle.AccountLockoutAfter = 2, 4 })
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.svc.Collector())
	f.registerPatient("maria@example.com", "529.982.247-25")
	f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
	for range 2 {
		_, err := f.login(emailLogin("maria@example.com", "wrong password"))
		testkit.WantReason(t, err, ReasonInvalidCredentials)
	}
	_, err := f.login(emailLogin("maria@example.com", "wrong password")) // the third failure blocks the next try
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(emailLogin("maria@example.com", "correct horse battery"))
	testkit.WantReason(t, err, ReasonLoginThrottled)

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_identity_logins_total Logins answered by identity, by outcome (success, invalid_credentials, throttled, error).
# TYPE healthcore_identity_logins_total counter
healthcore_identity_logins_total{outcome="error"} 0
healthcore_identity_logins_total{outcome="invalid_credentials"} 3
healthcore_identity_logins_total{outcome="success"} 1
healthcore_identity_logins_total{outcome="throttled"} 1
`)); err != nil {
		t.Error(err)
	}
}
