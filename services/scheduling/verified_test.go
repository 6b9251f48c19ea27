package scheduling

import (
	"testing"

	"healthcore/platform/testkit"
)

// TestBook_OnlyADoctorIdentityReportsVerifiedCanBeBooked: a pending doctor with a
// listed profile and open slots is refused DOCTOR_NOT_VERIFIED; once an operator
// verifies the doctor the same slot books; once suspended, no other slot does.
func TestBook_OnlyADoctorIdentityReportsVerifiedCanBeBooked(t *testing.T) {
	f := newFixture(t)
	d := f.newPendingDoctor("98765")
	// The directory lists the doctor (a stale verdict, or a mistake): booking still asks
	// identity, the authority.
	testkit.ListDoctor(t, f.dirURL, d.id)
	f.upsertProfile(d, profile("America/Sao_Paulo", 25000, 0))
	f.mustSet(f.doctorUser(d.id, "98765", true), mondayMornings())
	slot := f.slotAt(d.id, firstSlot).id

	_, err := f.bookAs(f.newPatient(), slot, "pending-key")
	testkit.WantReason(t, err, ReasonDoctorNotVerified)

	f.identity.Approve(d.id)
	if _, err := f.bookAs(f.newPatient(), slot, "verified-key"); err != nil {
		t.Fatalf("booking a verified doctor: %v", err)
	}

	// Suspended: identity's VERIFIED is kept a few seconds (DoctorCacheTTL), but the
	// suspension identity also sends here (SuspendDoctor) refuses at once.
	f.identity.Suspend(d.id, "CRM suspenso pelo conselho")
	f.mustSuspend(d.id)
	later := f.slots(d.id)[len(f.slots(d.id))-1]
	_, err = f.bookAs(f.newPatient(), later.id, "suspended-key")
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
}

// TestBook_WithoutTheCacheIdentityIsAskedAtEachBooking: with DoctorCacheTTL 0, a doctor
// identity stops reporting VERIFIED is refused at the next booking, before scheduling
// hears of the suspension.
func TestBook_WithoutTheCacheIdentityIsAskedAtEachBooking(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DoctorCacheTTL = 0
	f := newFixtureWith(t, cfg)
	d := f.newPendingDoctor("98766")
	testkit.ListDoctor(t, f.dirURL, d.id)
	f.upsertProfile(d, profile("America/Sao_Paulo", 25000, 0))
	f.mustSet(f.doctorUser(d.id, "98766", true), mondayMornings())
	f.identity.Approve(d.id)
	if _, err := f.bookAs(f.newPatient(), f.slotAt(d.id, firstSlot).id, "verified-key"); err != nil {
		t.Fatalf("booking a verified doctor: %v", err)
	}
	f.identity.Suspend(d.id, "CRM suspenso pelo conselho")
	later := f.slots(d.id)[len(f.slots(d.id))-1]
	_, err := f.bookAs(f.newPatient(), later.id, "suspended-key")
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
}
