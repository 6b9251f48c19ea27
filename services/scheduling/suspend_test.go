package scheduling

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	accessv1 "healthcore/gen/healthcore/access/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

const suspensionReason = "CRM suspenso pelo conselho regional"

// suspend calls SuspendDoctor as identity does.
func (f *fixture) suspend(doctorID string) (int32, error) {
	resp, err := f.as("identity").SuspendDoctor(context.Background(), connect.NewRequest(&schedulingv1.SuspendDoctorRequest{
		DoctorId: doctorID, Reason: suspensionReason,
	}))
	if err != nil {
		return 0, err
	}
	return resp.Msg.GetRefusedCount(), nil
}

func (f *fixture) mustSuspend(doctorID string) int32 {
	f.t.Helper()
	n, err := f.suspend(doctorID)
	if err != nil {
		f.t.Fatalf("suspend doctor: %v", err)
	}
	return n
}

// unverified is a token of doctor d that no longer (or not yet) says verified.
func (f *fixture) unverified(d user, crm string) user {
	return user{d.id, f.users.SignPrincipal(authn.Principal{
		UserID: d.id, Role: accessv1.Role_ROLE_DOCTOR, CRM: crm, EmailVerified: true, AMR: []string{"pwd", "otp"},
	})}
}

// jobsOf counts an appointment's queued jobs of one kind.
func (f *fixture) jobsOf(apptID, kind string) []job {
	var out []job
	for _, j := range f.jobsFor(apptID) {
		if j.kind == kind {
			out = append(out, j)
		}
	}
	return out
}

func TestSuspendDoctor_RefusesWhatHasNotStartedRefundsWhatWasPaidAndStopsBookings(t *testing.T) {
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings()) // Mondays 12:00, 13:00 and 14:00 UTC
	slot := func(ts string) string { return f.slotAt(d.id, at(ts)).id }
	book := func(ts string) (user, *schedulingv1.Appointment) {
		p := f.newPatient()
		return p, f.mustBook(p, slot(ts), "k-"+p.id)
	}
	pay := func(a *schedulingv1.Appointment) {
		if got := f.paid(a.GetId()); got.GetState() != awaiting {
			t.Fatalf("paid = %v", got)
		}
	}

	// Started before the suspension: the consultation's to finish.
	startedP, started := book("2026-06-01T12:00:00Z")
	pay(started)
	if _, err := f.accept(d, started.GetId()); err != nil {
		t.Fatal(err)
	}
	pendP, pend := book("2026-06-08T12:00:00Z")
	awaitP, await := book("2026-06-08T13:00:00Z")
	pay(await)
	confP, conf := book("2026-06-08T14:00:00Z")
	pay(conf)
	if _, err := f.accept(d, conf.GetId()); err != nil {
		t.Fatal(err)
	}
	cancP, canc := book("2026-06-15T12:00:00Z")
	if _, err := f.cancel(cancP, canc.GetId()); err != nil {
		t.Fatal(err)
	}
	// Another doctor's appointment is not touched.
	other, otherSlot := f.bookable()
	otherP := f.newPatient()
	otherA := f.mustBook(otherP, otherSlot, "other-doctor")

	f.clock.Advance(6*time.Hour + 10*time.Minute) // 12:10 UTC: the first consultation has started

	if n := f.mustSuspend(d.id); n != 3 {
		t.Fatalf("refused %d, want 3", n)
	}
	for _, c := range []struct {
		what   string
		p      user
		a      *schedulingv1.Appointment
		refund int64
	}{{"pending", pendP, pend, 0}, {"awaiting", awaitP, await, 25000}, {"confirmed", confP, conf, 25000}} {
		got := f.mustGet(c.p, c.a.GetId())
		if got.GetState() != refused || got.GetRefundCents() != c.refund {
			t.Errorf("%s: %v refund %d, want REFUSED refund %d", c.what, got.GetState(), got.GetRefundCents(), c.refund)
		}
		h := got.GetHistory()
		last := h[len(h)-1]
		if last.GetKind() != "refused" || last.GetActorRole() != "operator" || last.GetActorId() != "" || last.GetReason() != suspensionReason {
			t.Errorf("%s: last event %v", c.what, last)
		}
		wantNotice := notificationsv1.Event_EVENT_BOOKING_REFUSED
		ns := f.notices(c.a.GetId())
		if n := ns[len(ns)-1]; n.GetEvent() != wantNotice || n.GetRecipientId() != c.p.id {
			t.Errorf("%s: last notice %v, want %v to the patient", c.what, n, wantNotice)
		}
		rj := refundJobs(f.jobsFor(c.a.GetId()))
		if c.refund == 0 {
			if len(rj) != 0 || len(f.jobsOf(c.a.GetId(), "scheduling.cancel_charge")) != 1 {
				t.Errorf("%s: refund jobs %v, cancel-charge jobs %v; want the charge cancelled", c.what, rj, f.jobsOf(c.a.GetId(), "scheduling.cancel_charge"))
			}
			continue
		}
		if len(rj) != 1 || rj[0].args["amount_cents"] != float64(c.refund) || rj[0].args["reason"] != "refused" {
			t.Errorf("%s: refund jobs %v", c.what, rj)
		}
	}
	wantState(t, f.mustGet(startedP, started.GetId()), confirmed)
	wantState(t, f.mustGet(cancP, canc.GetId()), cancelled)
	wantState(t, f.mustGet(otherP, otherA.GetId()), pending)

	// Money for the unpaid one arriving now goes back in full, once.
	if got := f.paid(pend.GetId()); got.GetState() != refused || !got.GetRefundDue() {
		t.Errorf("payment after the suspension = %v, want REFUSED with refund due", got)
	}
	if again := f.paid(pend.GetId()); again.GetRefundDue() {
		t.Errorf("payment told twice = %v, want one refund", again)
	}

	// A retry refuses nothing twice.
	if n := f.mustSuspend(d.id); n != 0 {
		t.Errorf("retry refused %d", n)
	}
	if rj := refundJobs(f.jobsFor(await.GetId())); len(rj) != 1 {
		t.Errorf("refund jobs after a retry: %v", rj)
	}

	// Nothing more of the doctor's is offered or booked, whatever the doctor's token says.
	_, err := f.available(d.id, monday, monday.Add(21*24*time.Hour))
	testkit.WantReason(t, err, ReasonDoctorNotFound)
	_, err = f.bookAs(f.newPatient(), slot("2026-06-22T12:00:00Z"), "after-suspension")
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	_, err = f.set(d, mondayMornings())
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	if _, err := f.available(other.id, monday, monday.Add(21*24*time.Hour)); err != nil {
		t.Errorf("the other doctor's slots: %v", err)
	}
}

// A suspension racing with the doctor's accepts, with new bookings and with itself
// leaves no appointment of the doctor live, refunds each paid one once, and counts each
// refusal once.
func TestSuspendDoctor_ConcurrentWithAcceptsBookingsAndARetry(t *testing.T) {
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	free := f.slots(d.id)
	const paid = 6
	var paidIDs []string
	for _, s := range free[3 : 3+paid] {
		p := f.newPatient()
		a := f.mustBook(p, s.id, "paid-"+p.id)
		f.paid(a.GetId())
		paidIDs = append(paidIDs, a.GetId())
	}
	toBook := free[3+paid:]

	var wg sync.WaitGroup
	var mu sync.Mutex
	var counts []int32
	var booked []string
	// The bookings start first; the suspensions and accepts once one booking is through,
	// so some bookings commit before the suspension and the others race with it.
	var once sync.Once
	oneBooked := make(chan struct{})
	for i, s := range toBook {
		wg.Go(func() {
			defer once.Do(func() { close(oneBooked) })
			p := f.newPatient()
			resp, err := f.bookAs(p, s.id, fmt.Sprint("race-key-", i))
			if err != nil {
				if !errs.Has(err, ReasonDoctorNotVerified) {
					t.Errorf("book: %v", err)
				}
				return
			}
			mu.Lock()
			booked = append(booked, resp.GetAppointment().GetId())
			mu.Unlock()
		})
	}
	<-oneBooked
	for range 2 {
		wg.Go(func() {
			n, err := f.suspend(d.id)
			if err != nil {
				t.Errorf("suspend: %v", err)
			}
			mu.Lock()
			counts = append(counts, n)
			mu.Unlock()
		})
	}
	for _, id := range paidIDs {
		wg.Go(func() {
			if _, err := f.accept(d, id); err != nil && !errs.Has(err, ReasonIllegalTransition) {
				t.Errorf("accept: %v", err)
			}
		})
	}
	wg.Wait()
	t.Logf("%d of %d bookings in the race went through before the suspension", len(booked), len(toBook))

	var live int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM appointments WHERE doctor_id = $1
		AND state IN ('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED')`, d.id).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 0 {
		t.Errorf("%d appointments of the suspended doctor still live", live)
	}
	if total := counts[0] + counts[1]; total != int32(paid+len(booked)) {
		t.Errorf("refused counts %v, want %d in all (%d paid, %d booked in the race)", counts, paid+len(booked), paid, len(booked))
	}
	for _, id := range paidIDs {
		if rj := refundJobs(f.jobsFor(id)); len(rj) != 1 || rj[0].args["amount_cents"] != float64(25000) {
			t.Errorf("appointment %s: refund jobs %v, want one full refund", id, rj)
		}
	}
}

// The doctor's own acts need a token that says verified: pending, rejected and
// suspended doctors are refused before anything changes.
func TestDoctorNotVerified_CannotSetAvailabilityAcceptOrRefuse(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	d2, p2, b := f.paidAppointment()
	pending, pending2 := f.unverified(d, "123456/SP"), f.unverified(d2, "123457/SP")

	_, err := f.set(pending, mondayMornings())
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	_, err = f.accept(pending, a.GetId())
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	_, err = f.refuse(pending2, b.GetId())
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	wantState(t, f.mustGet(p, a.GetId()), awaiting)
	wantState(t, f.mustGet(p2, b.GetId()), awaiting)

	// The verified tokens pass.
	if _, err := f.set(d, mondayMornings()); err != nil {
		t.Errorf("verified doctor's availability: %v", err)
	}
	if got, err := f.accept(d, a.GetId()); err != nil || got.GetState() != confirmed {
		t.Errorf("verified doctor's accept: %v, %v", got, err)
	}
	if got, err := f.refuse(d2, b.GetId()); err != nil || got.GetState() != refused {
		t.Errorf("verified doctor's refusal: %v, %v", got, err)
	}
}
