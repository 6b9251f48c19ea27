package records

import (
	"context"
	"slices"
	"testing"
	"time"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/notify"
	"healthcore/platform/testkit"
)

// notices lists the committed records.notify jobs, oldest first, each a valid request.
func (f *fixture) notices() []*notificationsv1.NotifyRequest {
	f.t.Helper()
	out, err := notify.Queued(context.Background(), f.db, "records.notify")
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range out {
		if err := m.ValidateAll(); err != nil {
			f.t.Errorf("job args are not a valid NotifyRequest: %v", err)
		}
	}
	return out
}

func TestNotify_ShareGrantedAndRevokedTellTheDoctorOnce(t *testing.T) {
	f := newFixture(t)
	alice, d := f.newPatient(), f.listedDoctor()
	doc := f.mustUpload(alice, meta("hemograma", "application/pdf"), pdf(2000))
	until := f.now().Add(48 * time.Hour).Truncate(time.Second)

	// A share that fails (a document that is not hers) rolls back and tells nobody.
	_, err := f.share(alice, d, []string{"0b7e7c43-0f4b-4a3e-8d8c-2f1f6e0b9c21"}, nil, until)
	testkit.WantReason(t, err, ReasonDocumentNotFound)
	if got := f.notices(); len(got) != 0 {
		t.Fatalf("notices after a failed share: %v", got)
	}

	sh := f.mustShare(alice, d, []string{doc.GetId()}, nil, until)
	for range 2 { // a repeated revoke changes nothing, and tells nothing more
		if err := f.revoke(alice, sh.GetId()); err != nil {
			t.Fatal(err)
		}
	}
	got := f.notices()
	if len(got) != 2 {
		t.Fatalf("%d notices, want granted and revoked", len(got))
	}
	for i, want := range []struct {
		e   notificationsv1.Event
		key string
	}{{notificationsv1.Event_EVENT_SHARE_GRANTED, "share-" + sh.GetId() + "-granted-doctor"},
		{notificationsv1.Event_EVENT_SHARE_REVOKED, "share-" + sh.GetId() + "-revoked-doctor"}} {
		m := got[i]
		if m.GetEvent() != want.e || m.GetIdempotencyKey() != want.key || m.GetRecipientId() != d.id ||
			m.GetShare().GetPatientId() != alice.id || m.GetShare().GetDoctorId() != d.id || m.GetShare().GetShareId() != sh.GetId() {
			t.Errorf("notice %d = %v", i, m)
		}
	}
	if end := got[0].GetShare().GetEndTime().AsTime(); !end.Equal(until) {
		t.Errorf("granted until %s, want %s", end, until)
	}
}

func TestDigest_SumsUpADaysReadsByDoctorsPerPatient(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.newPatient(), f.newPatient()
	d1, d2 := f.listedDoctor(), f.listedDoctor()
	a1 := f.mustUpload(alice, meta("hemograma", "application/pdf"), pdf(2000))
	a2 := f.mustUpload(alice, meta("raio-x", "image/png"), png(2000))
	b1 := f.mustUpload(bob, meta("receita", "application/pdf"), pdf(2000))
	until := f.now().Add(time.Hour)
	f.mustShare(alice, d1, []string{a1.GetId(), a2.GetId()}, nil, until)
	f.mustShare(alice, d2, []string{a1.GetId()}, nil, until)
	f.mustShare(bob, d1, []string{b1.GetId()}, nil, until)
	for _, r := range []struct {
		u  user
		id string
	}{{d1, a1.GetId()}, {d1, a2.GetId()}, {d2, a1.GetId()}, {d1, b1.GetId()}, {alice, a1.GetId()}} { // alice's own read does not count
		if err := f.get(r.u, r.id); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.download(d2, a1.GetId()); err != nil {
		t.Fatal(err)
	}
	testkit.WantReason(t, f.get(d2, a2.GetId()), ReasonDocumentNotFound) // refused: does not count

	day := f.now().In(digestZone).Format(time.DateOnly)
	ctx := context.Background()
	n, err := f.svc.digest(ctx, day)
	if err != nil || n != 2 {
		t.Fatalf("digest = %d, %v; want 2 patients", n, err)
	}
	got := map[string]*notificationsv1.NotifyRequest{}
	for _, m := range f.notices() {
		if m.GetEvent() == notificationsv1.Event_EVENT_SHARED_DOCUMENTS_READ_DIGEST {
			got[m.GetRecipientId()] = m
		}
	}
	want := map[string]struct {
		reads   int32
		doctors []string
	}{alice.id: {4, []string{d1.id, d2.id}}, bob.id: {1, []string{d1.id}}}
	for patient, w := range want {
		m := got[patient]
		slices.Sort(w.doctors)
		if m.GetIdempotencyKey() != "digest-"+patient+"-"+day+"-patient" || m.GetDigest().GetDay() != day ||
			m.GetDigest().GetReads() != w.reads || !slices.Equal(m.GetDigest().GetDoctorIds(), w.doctors) {
			t.Errorf("digest of %s = %v, want %d reads by %v", patient, m, w.reads, w.doctors)
		}
	}
	// Another day has nothing to tell.
	if n, err := f.svc.digest(ctx, f.now().In(digestZone).AddDate(0, 0, -2).Format(time.DateOnly)); err != nil || n != 0 {
		t.Errorf("digest of a day without reads = %d, %v", n, err)
	}
	// The periodic job offers the same day's digest every hour: only the first offer is a job.
	for range 2 {
		if _, err := f.svc.jobs.Insert(ctx, digestArgs{Day: day}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(`SELECT count(*) FROM river_job WHERE kind = 'records.digest' AND args->>'day' = $1`, day); n != 1 {
		t.Errorf("%d digest jobs of %s, want 1", n, day)
	}
}
