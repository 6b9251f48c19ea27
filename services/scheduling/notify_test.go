package scheduling

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/notify"
)

// notices lists the committed scheduling.notify jobs about an appointment, oldest first.
func (f *fixture) notices(apptID string) []*notificationsv1.NotifyRequest {
	f.t.Helper()
	out, err := notify.QueuedAbout(context.Background(), f.db, "scheduling.notify", apptID)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// reminders lists the scheduling.remind jobs of an appointment: "<event> <to>" → when.
func (f *fixture) reminders(apptID string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, j := range f.jobsFor(apptID) {
		if j.kind == "scheduling.remind" {
			out[j.args["event"].(string)+" "+j.args["to"].(string)] = j.scheduledAt
		}
	}
	return out
}

// told is one notice as "<event> <key>" for comparisons.
func told(ms []*notificationsv1.NotifyRequest) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.GetEvent().String()+" "+m.GetIdempotencyKey())
	}
	return out
}

func wantTold(t *testing.T, got []*notificationsv1.NotifyRequest, want ...string) {
	t.Helper()
	g := told(got)
	if len(g) != len(want) {
		t.Fatalf("notices = %q, want %q", g, want)
	}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("notices = %q, want %q", g, want)
		}
	}
}

func TestNotify_PaidTellsDoctorAndPatientOnce_WithTheDeadlineAndItsReminder(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	id := a.GetId()
	ns := f.notices(id)
	wantTold(t, ns, "EVENT_BOOKING_AWAITS_ANSWER appt-"+id+"-awaiting-doctor", "EVENT_PAYMENT_RECEIVED appt-"+id+"-paid-patient")
	answerBy := firstSlot.Add(-10 * time.Minute)
	for i, to := range []string{d.id, p.id} {
		m := ns[i]
		ad := m.GetAppointment()
		if m.GetRecipientId() != to || ad.GetDoctorId() != d.id || ad.GetPatientId() != p.id || !ad.GetStartTime().AsTime().Equal(firstSlot) ||
			!ad.GetAnswerBy().AsTime().Equal(answerBy) || ad.GetPriceCents() != 25000 || ad.GetJoinPath() != "" {
			t.Errorf("notice %d = %v", i, m)
		}
		if err := m.ValidateAll(); err != nil {
			t.Errorf("notice %d is not a valid NotifyRequest: %v", i, err)
		}
	}
	// The doctor is reminded an hour (the default lead) before the deadline.
	if got := f.reminders(id); len(got) != 1 || !got["EVENT_ANSWER_DEADLINE_NEAR doctor"].Equal(answerBy.Add(-time.Hour)) {
		t.Errorf("reminders = %v", got)
	}
	// A repeated outcome (payments' retry) tells nobody again.
	f.paid(id)
	if got := f.notices(id); len(got) != 2 {
		t.Errorf("after a repeated payment: %q", told(got))
	}
}

func TestNotify_RolledBackTransitionTellsNobody(t *testing.T) {
	f := newFixture(t)
	_, slot := f.bookable()
	a := f.mustBook(f.newPatient(), slot, "rollback-key")
	ctx := context.Background()
	boom := errors.New("a later step of the transaction failed")
	err := f.svc.locked(ctx, a.GetId(), func(tx pgx.Tx, a *appointment) error {
		if err := f.svc.markPaid(ctx, tx, a); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("locked = %v", err)
	}
	if got := f.notices(a.GetId()); len(got) != 0 {
		t.Fatalf("notices after a rollback = %q", told(got))
	}
	if got := f.reminders(a.GetId()); len(got) != 0 {
		t.Fatalf("reminders after a rollback = %v", got)
	}
	if names, _ := f.partnerEvents(a.GetId()); len(names) != 1 {
		t.Fatalf("partner events after a rollback = %q, want the booking's only", names)
	}
	// The same transition committed tells both, with the same keys as any retry of it.
	if err := f.svc.locked(ctx, a.GetId(), func(tx pgx.Tx, a *appointment) error { return f.svc.markPaid(ctx, tx, a) }); err != nil {
		t.Fatal(err)
	}
	wantTold(t, f.notices(a.GetId()), "EVENT_BOOKING_AWAITS_ANSWER appt-"+a.GetId()+"-awaiting-doctor",
		"EVENT_PAYMENT_RECEIVED appt-"+a.GetId()+"-paid-patient")
}

func TestNotify_AcceptTellsThePatientWithTheRoomAndSchedulesRemindersThatReReadTheState(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	id := a.GetId()
	if _, err := f.accept(d, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accept(d, id); err != nil { // a retried accept
		t.Fatal(err)
	}
	ns := f.notices(id)
	wantTold(t, ns, "EVENT_BOOKING_AWAITS_ANSWER appt-"+id+"-awaiting-doctor", "EVENT_PAYMENT_RECEIVED appt-"+id+"-paid-patient",
		"EVENT_BOOKING_CONFIRMED appt-"+id+"-confirmed-patient")
	if c := ns[2]; c.GetRecipientId() != p.id || c.GetAppointment().GetJoinPath() != "/v1/appointments/"+id+"/join" {
		t.Errorf("confirmation = %v", c)
	}
	// Six hours ahead: the 24-hour reminder's time has passed; the 15-minute one is set
	// for both.
	soon := firstSlot.Add(-15 * time.Minute)
	got := f.reminders(id)
	if len(got) != 3 || !got["EVENT_REMINDER_15MIN patient"].Equal(soon) || !got["EVENT_REMINDER_15MIN doctor"].Equal(soon) {
		t.Fatalf("reminders = %v", got)
	}

	ctx := context.Background()
	// Due while confirmed: the reminder goes out with the room link.
	m, err := f.svc.reminder(ctx, remindArgs{AppointmentID: id, Event: "EVENT_REMINDER_15MIN", To: "doctor"})
	if err != nil {
		t.Fatal(err)
	}
	if m.GetIdempotencyKey() != "appt-"+id+"-reminder_15min-doctor" || m.GetRecipientId() != d.id ||
		m.GetAppointment().GetJoinPath() != "/v1/appointments/"+id+"/join" {
		t.Errorf("reminder = %v", m)
	}
	// The deadline reminder no longer applies once the doctor answered.
	if m, err := f.svc.reminder(ctx, remindArgs{AppointmentID: id, Event: "EVENT_ANSWER_DEADLINE_NEAR", To: "doctor"}); err != nil || m != nil {
		t.Errorf("deadline reminder after accepting = %v, %v; want none", m, err)
	}
	// Cancelled meanwhile: no consultation to remind of.
	if _, err := f.cancel(p, id); err != nil {
		t.Fatal(err)
	}
	if m, err := f.svc.reminder(ctx, remindArgs{AppointmentID: id, Event: "EVENT_REMINDER_15MIN", To: "patient"}); err != nil || m != nil {
		t.Errorf("reminder after cancelling = %v, %v; want none", m, err)
	}
}

func TestNotify_PatientsCancellationTellsTheDoctorTheJustificationOnlyWhenSent(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	id := a.GetId()
	if _, err := f.cancel(p, id); err != nil {
		t.Fatal(err)
	}
	ns := f.notices(id)
	c := ns[len(ns)-1]
	if c.GetEvent() != notificationsv1.Event_EVENT_CANCELLED_BY_PATIENT || c.GetRecipientId() != d.id ||
		c.GetIdempotencyKey() != "appt-"+id+"-cancelled-doctor" || c.GetAppointment().GetRefundCents() != 25000 {
		t.Fatalf("cancellation notice = %v", c)
	}
	// The job table holds the justification nowhere in clear…
	var inClear int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE args::text LIKE '%viagem%'`).Scan(&inClear); err != nil {
		t.Fatal(err)
	}
	if inClear != 0 || c.GetAppointment().GetJustification() != "" {
		t.Fatalf("justification in clear in %d jobs (notice %v)", inClear, c)
	}
	// …and the message sent carries it, opened.
	if err := f.svc.withJustification(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := c.GetAppointment().GetJustification(); got != "surgiu uma viagem de trabalho" {
		t.Errorf("justification sent = %q", got)
	}
}

func TestNotify_EndingsTellThePatientWhatHappensToTheMoney(t *testing.T) {
	ctx := context.Background()
	t.Run("refused by the doctor", func(t *testing.T) {
		f := newFixture(t)
		d, p, a := f.paidAppointment()
		if _, err := f.refuse(d, a.GetId()); err != nil {
			t.Fatal(err)
		}
		ns := f.notices(a.GetId())
		m := ns[len(ns)-1]
		if m.GetEvent() != notificationsv1.Event_EVENT_BOOKING_REFUSED || m.GetRecipientId() != p.id ||
			m.GetAppointment().GetRefundCents() != 25000 || m.GetAppointment().GetRefundMethod() != "PIX" {
			t.Errorf("refusal notice = %v", m)
		}
	})
	t.Run("not answered in time", func(t *testing.T) {
		f := newFixture(t)
		_, p, a := f.paidAppointment()
		f.clock.Advance(a.GetAnswerDeadline().AsTime().Sub(monday))
		if err := f.svc.answerDeadline(ctx, a.GetId()); err != nil {
			t.Fatal(err)
		}
		ns := f.notices(a.GetId())
		m := ns[len(ns)-1]
		if m.GetEvent() != notificationsv1.Event_EVENT_BOOKING_NOT_ANSWERED || m.GetRecipientId() != p.id ||
			m.GetIdempotencyKey() != "appt-"+a.GetId()+"-not_answered-patient" || m.GetAppointment().GetRefundCents() != 25000 {
			t.Errorf("no-answer notice = %v", m)
		}
	})
	t.Run("expired unpaid, and cancelled unpaid", func(t *testing.T) {
		f := newFixture(t)
		_, slot := f.bookable()
		p := f.newPatient()
		a := f.mustBook(p, slot, "expires-key")
		f.outcome(a.GetId(), schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_FAILED)
		wantTold(t, f.notices(a.GetId()), "EVENT_BOOKING_EXPIRED appt-"+a.GetId()+"-expired-patient")

		_, slot2 := f.bookable()
		b := f.mustBook(p, slot2, "cancelled-unpaid")
		if _, err := f.cancel(p, b.GetId()); err != nil {
			t.Fatal(err)
		}
		// The doctor never heard of an unpaid booking, so is not told of its end.
		if got := f.notices(b.GetId()); len(got) != 0 {
			t.Errorf("notices of a booking cancelled unpaid = %q", told(got))
		}
	})
}
