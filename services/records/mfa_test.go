package records

import (
	"context"
	"testing"
	"time"

	accessv1 "healthcore/gen/healthcore/access/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// TestShare_DoctorReadsSharedDocumentsOnlyWithASecondFactor: the issue's "a doctor
// without TOTP cannot download a shared document (MFA_REQUIRED); with it, can".
func TestShare_DoctorReadsSharedDocumentsOnlyWithASecondFactor(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	data := pdf(3000)
	doc := f.mustUpload(alice, meta("Laudo", "application/pdf"), data)
	d := f.listedDoctor()
	f.mustShare(alice, d, []string{doc.GetId()}, nil, f.now().Add(time.Hour))

	// The same verified doctor, in a session of a password alone, then of password and code.
	session := func(amr ...string) user {
		return user{d.id, f.users.SignPrincipal(authn.Principal{UserID: d.id, Role: accessv1.Role_ROLE_DOCTOR, CRM: "424242/SP",
			DoctorVerified: true, EmailVerified: true, AMR: amr})}
	}
	pwd, otp := session("pwd"), session("pwd", "otp")

	_, got, err := f.download(pwd, doc.GetId())
	testkit.WantReason(t, err, authn.ReasonMFARequired)
	if len(got) != 0 {
		t.Fatalf("refused download sent %d bytes", len(got))
	}
	testkit.WantReason(t, f.get(pwd, doc.GetId()), authn.ReasonMFARequired)
	_, err = f.client.ListSharedWithMe(context.Background(), authed(&recordsv1.ListSharedWithMeRequest{}, pwd.token))
	testkit.WantReason(t, err, authn.ReasonMFARequired)

	_, got, err = f.download(otp, doc.GetId())
	if err != nil || string(got) != string(data) {
		t.Fatalf("download with a second factor: %v (%d bytes)", err, len(got))
	}
	if n := len(f.sharedWithMe(otp)); n != 1 {
		t.Fatalf("shared-with-me lists %d documents, want 1", n)
	}

	// A patient needs no second factor for their own record.
	own := user{alice.id, f.users.SignPrincipal(authn.Principal{UserID: alice.id, Role: accessv1.Role_ROLE_PATIENT, EmailVerified: true, AMR: []string{"pwd"}})}
	if _, got, err := f.download(own, doc.GetId()); err != nil || string(got) != string(data) {
		t.Fatalf("patient's own download with a password alone: %v (%d bytes)", err, len(got))
	}
}
