package scheduling

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/telehealth/v1/telehealthv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/pagetoken"
	"healthcore/platform/testkit"
)

const (
	pending   = schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT
	awaiting  = schedulingv1.AppointmentState_APPOINTMENT_STATE_AWAITING_DOCTOR
	confirmed = schedulingv1.AppointmentState_APPOINTMENT_STATE_CONFIRMED
	completed = schedulingv1.AppointmentState_APPOINTMENT_STATE_COMPLETED
	expired   = schedulingv1.AppointmentState_APPOINTMENT_STATE_EXPIRED
	refused   = schedulingv1.AppointmentState_APPOINTMENT_STATE_REFUSED
	cancelled = schedulingv1.AppointmentState_APPOINTMENT_STATE_CANCELLED
)

func (f *fixture) accept(d user, id string) (*schedulingv1.Appointment, error) {
	resp, err := f.client.AcceptAppointment(context.Background(), testkit.Authed(&schedulingv1.AcceptAppointmentRequest{Id: id}, d.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetAppointment(), nil
}

func (f *fixture) refuse(d user, id string) (*schedulingv1.Appointment, error) {
	resp, err := f.client.RefuseAppointment(context.Background(), testkit.Authed(&schedulingv1.RefuseAppointmentRequest{
		Id: id, Reason: "agenda em conflito com cirurgia",
	}, d.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetAppointment(), nil
}

func (f *fixture) cancel(p user, id string) (*schedulingv1.Appointment, error) {
	resp, err := f.client.CancelAppointment(context.Background(), testkit.Authed(&schedulingv1.CancelAppointmentRequest{
		Id: id, Justification: "surgiu uma viagem de trabalho",
	}, p.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetAppointment(), nil
}

// paidAppointment books the first slot for a new patient and reports it paid.
func (f *fixture) paidAppointment() (doctor, patient user, a *schedulingv1.Appointment) {
	f.t.Helper()
	doctor, slot := f.bookable()
	patient = f.newPatient()
	a = f.mustBook(patient, slot, "paid-"+patient.id)
	if got := f.paid(a.GetId()); got.GetState() != awaiting || got.GetRefundDue() {
		f.t.Fatalf("apply paid = %v", got)
	}
	return doctor, patient, f.mustGet(patient, a.GetId())
}

func refundJobs(js []job) []job {
	var out []job
	for _, j := range js {
		if j.kind == "scheduling.refund" {
			out = append(out, j)
		}
	}
	return out
}

func TestPayment_PaidMovesToAwaitingDoctorOnceWithADeadline(t *testing.T) {
	f := newFixture(t)
	_, p, a := f.paidAppointment()
	wantState(t, a, awaiting)
	// 09:00 local start minus the 10-minute answer deadline.
	if got := a.GetAnswerDeadline().AsTime(); !got.Equal(firstSlot.Add(-10 * time.Minute)) {
		t.Errorf("answer deadline %s", got)
	}
	// A duplicate outcome changes nothing.
	if got := f.paid(a.GetId()); got.GetState() != awaiting || got.GetRefundDue() {
		t.Fatalf("second paid = %v", got)
	}
	var paidEvents int
	for _, e := range f.mustGet(p, a.GetId()).GetHistory() {
		if e.GetKind() == "paid" {
			paidEvents++
			if e.GetActorRole() != "system" || e.GetFromState() != pending || e.GetToState() != awaiting {
				t.Errorf("paid event = %v", e)
			}
		}
	}
	if paidEvents != 1 {
		t.Fatalf("%d paid events, want 1", paidEvents)
	}
	if ks := kinds(f.jobsFor(a.GetId())); ks[len(ks)-1] != "scheduling.answer_deadline" {
		t.Fatalf("jobs = %v, want an answer deadline", ks)
	}
}

func TestPayment_FailedExpiresAndFreesTheSlot_LateMoneyIsRefunded(t *testing.T) {
	f := newFixture(t)
	d, slot := f.bookable()
	p := f.newPatient()
	a := f.mustBook(p, slot, "expire-key-1")
	got := f.outcome(a.GetId(), schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_FAILED)
	if got.GetState() != expired {
		t.Fatalf("after FAILED: %v", got)
	}
	// The slot is bookable again by someone else.
	other := f.mustBook(f.newPatient(), slot, "after-expiry")
	wantState(t, other, pending)
	// Money arriving now is due back in full, and the appointment stays expired.
	late := f.paid(a.GetId())
	if late.GetState() != expired || !late.GetRefundDue() {
		t.Fatalf("late paid = %v, want EXPIRED with refund due", late)
	}
	// Told twice, it asks once.
	if again := f.paid(a.GetId()); again.GetRefundDue() {
		t.Fatalf("second late paid = %v, want no second refund", again)
	}
	_ = d
}

func TestPayment_MoneyForABookingCancelledBeforePaymentGoesBackOnce(t *testing.T) {
	f := newFixture(t)
	_, slot := f.bookable()
	p := f.newPatient()
	a := f.mustBook(p, slot, "cancel-then-paid")
	if got, err := f.cancel(p, a.GetId()); err != nil || got.GetRefundCents() != 0 {
		t.Fatalf("cancel unpaid = %v, %v", got, err)
	}
	got := f.paid(a.GetId())
	if got.GetState() != cancelled || !got.GetRefundDue() {
		t.Fatalf("paid after the cancellation = %v, want CANCELLED with refund due", got)
	}
	if r := f.mustGet(p, a.GetId()).GetRefundCents(); r != 25000 {
		t.Fatalf("refund %d, want the whole price", r)
	}
	if again := f.paid(a.GetId()); again.GetRefundDue() {
		t.Fatalf("told twice = %v, want one refund", again)
	}

	// A confirmed appointment cancelled late keeps the policy's share: a repeated PAID
	// (a duplicate notice) asks for nothing more.
	d2, p2, b := f.paidAppointment()
	if _, err := f.accept(d2, b.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cancel(p2, b.GetId()); err != nil {
		t.Fatal(err)
	}
	if dup := f.paid(b.GetId()); dup.GetRefundDue() || dup.GetState() != cancelled {
		t.Fatalf("duplicate PAID after a paid cancellation = %v", dup)
	}
}

func TestAcceptRefuse_OnlyTheDoctorOnlyWhileAwaiting(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	otherDoctor := f.newDoctor()

	_, err := f.accept(otherDoctor, a.GetId())
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	_, err = f.accept(p, a.GetId())
	testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)

	got, err := f.accept(d, a.GetId())
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, got, confirmed)
	if got.GetJoinPath() != "/v1/appointments/"+a.GetId()+"/join" {
		t.Errorf("join path %q", got.GetJoinPath())
	}
	// Accepting again is a harmless retry; refusing now is illegal.
	if again, err := f.accept(d, a.GetId()); err != nil || again.GetState() != confirmed {
		t.Fatalf("second accept = %v, %v", again, err)
	}
	_, err = f.refuse(d, a.GetId())
	testkit.WantReason(t, err, ReasonIllegalTransition)

	// The patient sees it confirmed, the doctor in their list.
	wantState(t, f.mustGet(p, a.GetId()), confirmed)
	_, err = f.get(f.newPatient(), a.GetId())
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
}

func TestRefuse_RefundsInFullAndFreesTheSlot(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	// Not yet paid appointments cannot be refused.
	d2, slot2 := f.bookable()
	unpaid := f.mustBook(f.newPatient(), slot2, "unpaid-key")
	_, err := f.refuse(d2, unpaid.GetId())
	testkit.WantReason(t, err, ReasonIllegalTransition)

	got, err := f.refuse(d, a.GetId())
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, got, refused)
	if got.GetRefundCents() != 25000 {
		t.Errorf("refund %d, want 25000", got.GetRefundCents())
	}
	rj := refundJobs(f.jobsFor(a.GetId()))
	if len(rj) != 1 || rj[0].args["amount_cents"] != float64(25000) || rj[0].args["reason"] != "refused" {
		t.Fatalf("refund jobs = %v", rj)
	}
	h := f.mustGet(p, a.GetId()).GetHistory()
	last := h[len(h)-1]
	if last.GetKind() != "refused" || last.GetActorId() != d.id || last.GetReason() != "agenda em conflito com cirurgia" {
		t.Errorf("last event = %v", last)
	}
	f.mustBook(f.newPatient(), a.GetSlotId(), "after-refusal")
}

func TestAnswerDeadline_SilenceCountsAsRefusal(t *testing.T) {
	f := newFixture(t)
	d, _, a := f.paidAppointment()
	// Before the deadline the job waits (snoozes) and changes nothing.
	if err := f.svc.answerDeadline(context.Background(), a.GetId()); err == nil {
		t.Fatal("deadline job before the deadline: want a snooze")
	}
	wantState(t, f.mustGet(d, a.GetId()), awaiting)

	f.clock.Advance(a.GetAnswerDeadline().AsTime().Sub(monday))
	_, err := f.accept(d, a.GetId())
	testkit.WantReason(t, err, ReasonAnswerDeadlinePassed)
	if err := f.svc.answerDeadline(context.Background(), a.GetId()); err != nil {
		t.Fatal(err)
	}
	got := f.mustGet(d, a.GetId())
	wantState(t, got, refused)
	last := got.GetHistory()[len(got.GetHistory())-1]
	if last.GetActorRole() != "system" || last.GetReason() != "the doctor did not answer in time" {
		t.Errorf("last event = %v", last)
	}
	if rj := refundJobs(f.jobsFor(a.GetId())); len(rj) != 1 || rj[0].args["amount_cents"] != float64(25000) {
		t.Fatalf("refund jobs = %v", rj)
	}
	// Running the job again (a retry) changes nothing.
	if err := f.svc.answerDeadline(context.Background(), a.GetId()); err != nil {
		t.Fatal(err)
	}
	if rj := refundJobs(f.jobsFor(a.GetId())); len(rj) != 1 {
		t.Fatalf("refund jobs after a repeated deadline = %d", len(rj))
	}
}

func TestCancel_RefundFollowsThePolicy(t *testing.T) {
	policy := DefaultConfig().Policy
	price := int64(25000)
	start := monday.Add(48 * time.Hour)
	for _, c := range []struct {
		name  string
		state string
		now   time.Time
		want  int64
	}{
		{"unpaid", statePending, monday, 0},
		{"awaiting the doctor, even late", stateAwaiting, start.Add(-time.Hour), price},
		{"confirmed, 48 h before", stateConfirmed, monday, price},
		{"confirmed, exactly 24 h before", stateConfirmed, start.Add(-24 * time.Hour), price},
		{"confirmed, 23 h 59 before", stateConfirmed, start.Add(-24*time.Hour + time.Minute), 12500},
		{"confirmed, odd price rounds down", stateConfirmed, start.Add(-time.Hour), 12500},
	} {
		a := appointment{state: c.state, start: start, price: price}
		if got := policy.refund(a, c.now); got != c.want {
			t.Errorf("%s: refund %d, want %d", c.name, got, c.want)
		}
	}
	// The quote: the same amounts, until when the full refund holds, nothing once
	// the appointment cannot be cancelled.
	for _, c := range []struct {
		name  string
		state string
		now   time.Time
		want  int64
		until time.Time
		ok    bool
	}{
		{"unpaid", statePending, monday, 0, time.Time{}, true},
		{"awaiting", stateAwaiting, monday, price, time.Time{}, true},
		{"confirmed, 48 h before", stateConfirmed, monday, price, start.Add(-24 * time.Hour), true},
		{"confirmed, 1 h before", stateConfirmed, start.Add(-time.Hour), 12500, time.Time{}, true},
		{"confirmed, started", stateConfirmed, start, 0, time.Time{}, false},
		{"cancelled", stateCancelled, monday, 0, time.Time{}, false},
	} {
		got, until, ok := policy.quote(appointment{state: c.state, start: start, price: price}, c.now)
		if got != c.want || !until.Equal(c.until) || ok != c.ok {
			t.Errorf("%s: quote %d until %v (%v), want %d until %v (%v)", c.name, got, until, ok, c.want, c.until, c.ok)
		}
	}
	odd := appointment{state: stateConfirmed, start: start, price: 25001}
	if got := policy.refund(odd, start.Add(-time.Hour)); got != 12500 {
		t.Errorf("50%% of 25001 = %d, want 12500 (rounded down)", got)
	}
	if got := (CancellationPolicy{FullRefundBefore: 24 * time.Hour, LatePercent: 0}).refund(odd, start.Add(-time.Hour)); got != 0 {
		t.Errorf("0%% policy refunds %d", got)
	}
}

func TestCancel_ByThePatientWithJustification(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	if _, err := f.accept(d, a.GetId()); err != nil {
		t.Fatal(err)
	}
	// Someone else cannot; the doctor cannot (they refuse instead); the justification is
	// required.
	_, err := f.cancel(f.newPatient(), a.GetId())
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	_, err = f.cancel(d, a.GetId())
	testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)
	_, err = f.client.CancelAppointment(context.Background(), testkit.Authed(&schedulingv1.CancelAppointmentRequest{
		Id: a.GetId(), Justification: "não",
	}, p.token))
	if v := testkit.Violations(t, err); v["justification"] == "" {
		t.Fatalf("violations = %v", v)
	}

	// The patient reads what cancelling now refunds before confirming: 6 hours before
	// the start, the late share (50 %), which holds until the start; the doctor gets no
	// quote (a doctor cannot cancel).
	quoted := f.mustGet(p, a.GetId())
	if quoted.CancelRefundCents == nil || quoted.GetCancelRefundCents() != 12500 || quoted.GetCancelRefundUntil() != nil {
		t.Fatalf("quote = %v until %v, want 12500 until the start", quoted.CancelRefundCents, quoted.GetCancelRefundUntil())
	}
	if q := f.mustGet(d, a.GetId()); q.CancelRefundCents != nil {
		t.Fatalf("the doctor got a quote: %d", q.GetCancelRefundCents())
	}

	// 6 hours before the start: the late share (50 %), as quoted.
	got, err := f.cancel(p, a.GetId())
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, got, cancelled)
	if got.GetRefundCents() != 12500 {
		t.Fatalf("refund %d, want 12500", got.GetRefundCents())
	}
	rj := refundJobs(f.jobsFor(a.GetId()))
	if len(rj) != 1 || rj[0].args["amount_cents"] != float64(12500) || rj[0].args["reason"] != "cancelled" {
		t.Fatalf("refund jobs = %v", rj)
	}
	last := f.mustGet(p, a.GetId()).GetHistory()
	if e := last[len(last)-1]; e.GetReason() != "surgiu uma viagem de trabalho" || e.GetActorId() != p.id {
		t.Errorf("last event = %v", e)
	}
	_, err = f.cancel(p, a.GetId())
	testkit.WantReason(t, err, ReasonIllegalTransition)
	if q := f.mustGet(p, a.GetId()); q.CancelRefundCents != nil {
		t.Fatalf("a cancelled appointment is quoted %d", q.GetCancelRefundCents())
	}

	// An unpaid booking cancelled: nothing to refund, its charge is stopped.
	_, slot2 := f.bookable()
	b := f.mustBook(p, slot2, "cancel-unpaid")
	if q := f.mustGet(p, b.GetId()); q.CancelRefundCents == nil || q.GetCancelRefundCents() != 0 {
		t.Fatalf("an unpaid booking is quoted %v, want 0", q.CancelRefundCents)
	}
	got, err = f.cancel(p, b.GetId())
	if err != nil || got.GetRefundCents() != 0 {
		t.Fatalf("cancel unpaid = %v, %v", got, err)
	}
	if ks := kinds(f.jobsFor(b.GetId())); ks[len(ks)-1] != "scheduling.cancel_charge" {
		t.Fatalf("jobs = %v", ks)
	}

	// After the start: too late.
	_, p3, c := f.paidAppointment()
	f.clock.Advance(7 * time.Hour)
	_, err = f.cancel(p3, c.GetId())
	testkit.WantReason(t, err, ReasonAlreadyStarted)
}

func TestFinish_CompletedWhenSomeoneJoinedElseNoShow(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	if _, err := f.accept(d, a.GetId()); err != nil {
		t.Fatal(err)
	}
	in := f.as("telehealth")
	_, err := in.FinishAppointment(context.Background(), connect.NewRequest(&schedulingv1.FinishAppointmentRequest{AppointmentId: a.GetId()}))
	testkit.WantReason(t, err, ReasonNotEnded)

	_, err = in.RecordJoin(context.Background(), connect.NewRequest(&schedulingv1.RecordJoinRequest{AppointmentId: a.GetId(), UserId: f.newPatient().id}))
	testkit.WantReason(t, err, ReasonNotParticipant)
	if _, err := in.RecordJoin(context.Background(), connect.NewRequest(&schedulingv1.RecordJoinRequest{AppointmentId: a.GetId(), UserId: p.id})); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(7 * time.Hour)
	resp, err := in.FinishAppointment(context.Background(), connect.NewRequest(&schedulingv1.FinishAppointmentRequest{AppointmentId: a.GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, resp.Msg.GetAppointment(), completed)
	h := f.mustGet(p, a.GetId()).GetHistory()
	if e := h[len(h)-1]; e.GetKind() != "completed" || e.GetReason() != "the doctor did not join" {
		t.Errorf("last event = %v", e)
	}
	if e := h[len(h)-2]; e.GetKind() != "joined" || e.GetActorId() != p.id {
		t.Errorf("join event = %v", e)
	}

	// Nobody joined: flagged as a no-show, still CONFIRMED; finishing twice is harmless.
	f2 := newFixture(t)
	d2, p2, b := f2.paidAppointment()
	if _, err := f2.accept(d2, b.GetId()); err != nil {
		t.Fatal(err)
	}
	f2.clock.Advance(7 * time.Hour)
	for range 2 {
		resp, err = f2.as("telehealth").FinishAppointment(context.Background(), connect.NewRequest(&schedulingv1.FinishAppointmentRequest{AppointmentId: b.GetId()}))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Msg.GetAppointment(); got.GetState() != confirmed || !got.GetNoShow() {
			t.Fatalf("finish without joins = %v", got)
		}
	}
	var noShows int
	for _, e := range f2.mustGet(p2, b.GetId()).GetHistory() {
		if e.GetKind() == "no_show" {
			noShows++
		}
	}
	if noShows != 1 {
		t.Fatalf("%d no_show events, want 1", noShows)
	}
}

func TestListMyAppointments_FiltersAndPagesForPatientAndDoctor(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxPendingBookings = 6 // the patient holds four unpaid bookings here
	f := newFixtureWith(t, cfg)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	p := f.newPatient()
	// Three Monday slots (12:00, 13:00, 14:00 UTC) in three weeks: six bookings; some paid.
	var ids []string
	for week := range 2 {
		for h := 12; h <= 14; h++ {
			s := f.slotAt(d.id, firstSlot.Add(time.Duration(week)*7*24*time.Hour+time.Duration(h-12)*time.Hour))
			a := f.mustBook(p, s.id, "list-"+s.id)
			ids = append(ids, a.GetId())
		}
	}
	f.paid(ids[1])
	f.paid(ids[4])

	list := func(u user, req *schedulingv1.ListMyAppointmentsRequest) *schedulingv1.ListMyAppointmentsResponse {
		t.Helper()
		resp, err := f.client.ListMyAppointments(context.Background(), testkit.Authed(req, u.token))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Msg
	}
	var seen []string
	tok := ""
	for {
		page := list(p, &schedulingv1.ListMyAppointmentsRequest{PageSize: 4, PageToken: tok})
		for _, a := range page.GetAppointments() {
			seen = append(seen, a.GetId())
		}
		if tok = page.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(seen) != 6 {
		t.Fatalf("paged %d appointments, want 6", len(seen))
	}
	for i := range seen {
		if seen[i] != ids[i] {
			t.Fatalf("order %v, want %v (by start)", seen, ids)
		}
	}
	awaitingOnly := list(d, &schedulingv1.ListMyAppointmentsRequest{States: []schedulingv1.AppointmentState{awaiting}})
	if n := len(awaitingOnly.GetAppointments()); n != 2 || awaitingOnly.GetAppointments()[0].GetId() != ids[1] {
		t.Fatalf("doctor's awaiting list = %v", awaitingOnly.GetAppointments())
	}
	secondWeek := list(p, &schedulingv1.ListMyAppointmentsRequest{StartTime: timestamppb.New(firstSlot.Add(24 * time.Hour))})
	if n := len(secondWeek.GetAppointments()); n != 3 {
		t.Fatalf("from day 2: %d appointments, want 3", n)
	}
	// Pages of a filtered list follow on, and a token is refused for other filters.
	filtered := &schedulingv1.ListMyAppointmentsRequest{StartTime: timestamppb.New(firstSlot.Add(24 * time.Hour)), PageSize: 2}
	page1 := list(p, filtered)
	filtered.PageToken = page1.GetNextPageToken()
	page2 := list(p, filtered)
	if len(page1.GetAppointments()) != 2 || len(page2.GetAppointments()) != 1 || page2.GetAppointments()[0].GetId() != ids[5] {
		t.Fatalf("filtered pages: %v then %v", page1.GetAppointments(), page2.GetAppointments())
	}
	_, err := f.client.ListMyAppointments(context.Background(), testkit.Authed(&schedulingv1.ListMyAppointmentsRequest{
		PageSize: 2, PageToken: page1.GetNextPageToken(),
	}, p.token))
	testkit.WantReason(t, err, pagetoken.ReasonInvalid)
	if n := len(list(f.newPatient(), &schedulingv1.ListMyAppointmentsRequest{}).GetAppointments()); n != 0 {
		t.Fatalf("a stranger sees %d appointments", n)
	}
	_, err = f.client.ListMyAppointments(context.Background(), testkit.Authed(&schedulingv1.ListMyAppointmentsRequest{PageToken: "garbage"}, p.token))
	testkit.WantReason(t, err, pagetoken.ReasonInvalid)
}

func TestAccept_PreparesTheRoomThroughAJob(t *testing.T) {
	f := newFixture(t)
	// Telehealth is not running: the job is queued with the acceptance and would retry.
	f.svc.telehealth = telehealthv1connect.NewTelehealthServiceClient(testkit.HTTPClient(t), "http://127.0.0.1:1", connect.WithGRPC())
	d, p, a := f.paidAppointment()
	if _, err := f.accept(d, a.GetId()); err != nil {
		t.Fatal(err)
	}
	ks := kinds(f.jobsFor(a.GetId()))
	if ks[len(ks)-1] != "scheduling.prepare_room" {
		t.Fatalf("jobs = %v, want the room prepared", ks)
	}
	if err := f.svc.prepareRoom(context.Background(), a.GetId()); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("prepare room with telehealth down: %v, want Unavailable (the job retries)", err)
	}
	// An appointment cancelled before the job runs needs no room: the job does nothing.
	if _, err := f.cancel(p, a.GetId()); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.prepareRoom(context.Background(), a.GetId()); err != nil {
		t.Fatalf("prepare room after cancellation: %v", err)
	}
}
