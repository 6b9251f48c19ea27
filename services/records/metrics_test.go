package records

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"healthcore/platform/testkit"
)

func TestCollector_CountsShareChecksByOutcome(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.svc.Collector())
	alice := f.newPatient()
	doc := f.mustUpload(alice, meta("Laudo", "application/pdf"), pdf(4000))
	d1, d2, stranger := f.listedDoctor(), f.listedDoctor(), f.listedDoctor()

	until := f.now().Add(48 * time.Hour)
	f.mustShare(alice, d1, []string{doc.GetId()}, nil, until)
	for range 2 {
		if err := f.get(d1, doc.GetId()); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WantReason(t, f.get(stranger, doc.GetId()), ReasonDocumentNotFound)
	sh := f.mustShare(alice, d2, []string{doc.GetId()}, nil, f.now().Add(time.Hour))
	if err := f.revoke(alice, sh.GetId()); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.get(d2, doc.GetId()), ReasonShareRevoked)
	f.advance(until.Sub(f.now()) + time.Second)
	testkit.WantReason(t, f.get(d1, doc.GetId()), ReasonShareExpired)

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_records_share_checks_total Doctors' reads of patients' documents checked against their shares, by outcome (allowed, not_shared, revoked, expired).
# TYPE healthcore_records_share_checks_total counter
healthcore_records_share_checks_total{outcome="allowed"} 2
healthcore_records_share_checks_total{outcome="expired"} 1
healthcore_records_share_checks_total{outcome="not_shared"} 1
healthcore_records_share_checks_total{outcome="revoked"} 1
`)); err != nil {
		t.Error(err)
	}
}
