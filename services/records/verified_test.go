package records

import (
	"testing"
	"time"

	"healthcore/platform/testkit"
)

// TestShare_OnlyWithADoctorIdentityReportsVerified: a patient cannot share with a
// doctor whose verification is pending (DOCTOR_NOT_VERIFIED), can once an operator
// verified the doctor, and cannot again once the doctor is suspended.
func TestShare_OnlyWithADoctorIdentityReportsVerified(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	doc := f.mustUpload(alice, meta("exame", "application/pdf"), pdf(500))
	d := f.withProfile(f.newPendingDoctor())
	until := f.now().Add(24 * time.Hour)

	_, err := f.share(alice, d, []string{doc.GetId()}, nil, until)
	testkit.WantReason(t, err, ReasonDoctorNotVerified)

	f.identity.Approve(d.id)
	if _, err := f.share(alice, d, []string{doc.GetId()}, nil, until); err != nil {
		t.Fatalf("sharing with a verified doctor: %v", err)
	}

	f.identity.Suspend(d.id, "CRM suspenso pelo conselho")
	_, err = f.share(alice, d, []string{doc.GetId()}, nil, until)
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	if n := f.count(`SELECT count(*) FROM shares`); n != 1 {
		t.Errorf("%d shares stored, want the verified doctor's one", n)
	}
}
