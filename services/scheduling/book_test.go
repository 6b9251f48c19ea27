package scheduling

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	accessv1 "healthcore/gen/healthcore/access/v1"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

// firstSlot is the doctor's Monday 09:00 São Paulo slot (12:00 UTC), six hours after
// the fixture's now.
var firstSlot = at("2026-06-01T12:00:00Z")

// bookable returns a listed doctor with Monday mornings and the id of their first slot.
func (f *fixture) bookable() (user, string) {
	f.t.Helper()
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	return d, f.slotAt(d.id, firstSlot).id
}

func (f *fixture) bookAs(p user, slotID, key string) (*schedulingv1.BookAppointmentResponse, error) {
	resp, err := f.client.BookAppointment(context.Background(), testkit.Authed(&schedulingv1.BookAppointmentRequest{
		SlotId: slotID, IdempotencyKey: key, Reason: "dor no peito ao subir escadas",
	}, p.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) mustBook(p user, slotID, key string) *schedulingv1.Appointment {
	f.t.Helper()
	resp, err := f.bookAs(p, slotID, key)
	if err != nil {
		f.t.Fatalf("book: %v", err)
	}
	return resp.GetAppointment()
}

// as is a client calling as the service caller (payments, telehealth, directory).
func (f *fixture) as(caller string) schedulingv1connect.SchedulingServiceClient {
	return schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(f.t), f.url,
		connect.WithGRPC(), connect.WithInterceptors(testkit.Caller(caller)))
}

func TestInternalMethods_RefuseAServiceTheyDoNotList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// telehealth records joins, but only payments applies a payment's outcome.
	_, err := f.as("telehealth").ApplyPaymentOutcome(ctx, connect.NewRequest(&schedulingv1.ApplyPaymentOutcomeRequest{
		AppointmentId: "5f0c1c8e-8d5e-4a57-9a43-6d1b1f0e2a11", PaymentId: "5f0c4a43-5b1e-4b8e-9c55-000000000001", Outcome: schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID,
	}))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
	_, err = f.as("payments").RecordJoin(ctx, connect.NewRequest(&schedulingv1.RecordJoinRequest{
		AppointmentId: "5f0c1c8e-8d5e-4a57-9a43-6d1b1f0e2a11", UserId: "0b7e7c43-0f4b-4a3e-8d8c-2f1f6e0b9c21",
	}))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
}

func (f *fixture) paid(apptID string) *schedulingv1.ApplyPaymentOutcomeResponse {
	f.t.Helper()
	return f.outcome(apptID, schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID)
}

func (f *fixture) outcome(apptID string, o schedulingv1.PaymentOutcome) *schedulingv1.ApplyPaymentOutcomeResponse {
	f.t.Helper()
	resp, err := f.as("payments").ApplyPaymentOutcome(context.Background(), connect.NewRequest(&schedulingv1.ApplyPaymentOutcomeRequest{
		AppointmentId: apptID, PaymentId: "5f0c4a43-5b1e-4b8e-9c55-000000000001", Outcome: o,
	}))
	if err != nil {
		f.t.Fatalf("apply payment outcome: %v", err)
	}
	return resp.Msg
}

func (f *fixture) get(u user, id string) (*schedulingv1.Appointment, error) {
	resp, err := f.client.GetAppointment(context.Background(), testkit.Authed(&schedulingv1.GetAppointmentRequest{Id: id}, u.token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetAppointment(), nil
}

func (f *fixture) mustGet(u user, id string) *schedulingv1.Appointment {
	f.t.Helper()
	a, err := f.get(u, id)
	if err != nil {
		f.t.Fatalf("get appointment: %v", err)
	}
	return a
}

// job is a queued River job of this service.
type job struct {
	kind        string
	args        map[string]any
	scheduledAt time.Time
}

// jobsFor lists the queued jobs naming an appointment, oldest first.
func (f *fixture) jobsFor(apptID string) []job {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT kind, args, scheduled_at FROM river_job
		WHERE args->>'appointment_id' = $1 ORDER BY id`, apptID)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []job
	for rows.Next() {
		var j job
		var raw []byte
		if err := rows.Scan(&j.kind, &raw, &j.scheduledAt); err != nil {
			f.t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &j.args); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

func kinds(js []job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.kind
	}
	return out
}

func wantState(t *testing.T, a *schedulingv1.Appointment, want schedulingv1.AppointmentState) {
	t.Helper()
	if a.GetState() != want {
		t.Fatalf("state = %v, want %v", a.GetState(), want)
	}
}

func TestBook_HoldsTheSlotSnapshotsThePriceAndQueuesTheSaga(t *testing.T) {
	f := newFixture(t)
	d, slot := f.bookable()
	p := f.newPatient()

	resp, err := f.bookAs(p, slot, "key-00000001")
	if err != nil {
		t.Fatal(err)
	}
	a := resp.GetAppointment()
	wantState(t, a, schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT)
	if a.GetPrice().GetAmountCents() != 25000 || a.GetDoctorId() != d.id || a.GetPatientId() != p.id ||
		!a.GetStartTime().AsTime().Equal(firstSlot) || a.GetReason() != "dor no peito ao subir escadas" {
		t.Fatalf("appointment = %v", a)
	}
	if got, want := a.GetHoldExpireTime().AsTime(), monday.Add(DefaultConfig().PaymentWindow); !got.Equal(want) {
		t.Errorf("hold expires %s, want %s", got, want)
	}
	// The payment is CREATING: the charge is made by the ensure_payment job (committed
	// with the booking, due at once), so the answer does not wait for payments.
	if pi := resp.GetPayment(); pi.GetStatus() != paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING || pi.GetQrCode() != "" ||
		pi.GetAmount().GetAmountCents() != 25000 || !pi.GetExpireTime().AsTime().Equal(a.GetHoldExpireTime().AsTime()) ||
		pi.GetPaymentPath() != "/v1/appointments/"+a.GetId()+"/payment" {
		t.Errorf("payment instructions %v, want CREATING with the amount, the hold's end and the payment's path", pi)
	}

	// The price changes afterwards: the appointment keeps what was shown.
	in := profile("America/Sao_Paulo", 99000, 0)
	f.upsertProfile(d, in)
	if got := f.mustGet(p, a.GetId()).GetPrice().GetAmountCents(); got != 25000 {
		t.Errorf("price after the doctor's change = %d, want the snapshot 25000", got)
	}

	// The slot is no longer offered, and the doctor's agenda shows who holds it.
	free := f.mustAvailable(d.id, monday, monday.Add(24*time.Hour))
	for _, s := range free.GetSlots() {
		if s.GetId() == slot {
			t.Fatal("booked slot still listed as available")
		}
	}

	js := f.jobsFor(a.GetId())
	if got := kinds(js); len(got) != 2 || got[0] != "scheduling.ensure_payment" || got[1] != "scheduling.expire_hold" {
		t.Fatalf("jobs = %v", got)
	}
	if js[0].scheduledAt.After(time.Now()) {
		t.Errorf("ensure_payment due at %s, want at once", js[0].scheduledAt)
	}
	if !js[1].scheduledAt.Equal(a.GetHoldExpireTime().AsTime()) {
		t.Errorf("expire_hold at %s, want the hold's end %s", js[1].scheduledAt, a.GetHoldExpireTime().AsTime())
	}

	h := f.mustGet(p, a.GetId()).GetHistory()
	if len(h) != 1 || h[0].GetKind() != "booked" || h[0].GetActorId() != p.id || h[0].GetActorRole() != "patient" ||
		h[0].GetToState() != schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT {
		t.Fatalf("history = %v", h)
	}
}

func TestBook_ConcurrentBookersOfOneSlotGetOneWinner(t *testing.T) {
	f := newFixture(t)
	_, slot := f.bookable()
	const n = 20
	var wg sync.WaitGroup
	results := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		p := f.newPatient()
		wg.Go(func() {
			resp, err := f.bookAs(p, slot, fmt.Sprintf("race-key-%02d", i))
			results[i] = err
			if err == nil {
				ids[i] = resp.GetAppointment().GetId()
			}
		})
	}
	wg.Wait()
	won, taken := 0, 0
	for i, err := range results {
		switch {
		case err == nil:
			won++
		case errs.Has(err, ReasonSlotTaken):
			taken++
		default:
			t.Errorf("booker %d: unexpected error %v", i, err)
		}
	}
	if won != 1 || taken != n-1 {
		t.Fatalf("%d won, %d SLOT_TAKEN; want 1 and %d", won, taken, n-1)
	}
	var live int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM appointments WHERE slot_id = $1`, slot).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 1 {
		t.Fatalf("%d appointments on the slot, want 1", live)
	}
}

func TestBook_RetryWithTheSameKeyReturnsTheSameAppointment(t *testing.T) {
	f := newFixture(t)
	d, slot := f.bookable()
	p := f.newPatient()
	first := f.mustBook(p, slot, "retry-key-1")

	// Concurrent retries of the same request: one appointment, the same answer for all.
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			resp, err := f.bookAs(p, slot, "retry-key-1")
			if err != nil {
				t.Errorf("retry %d: %v", i, err)
				return
			}
			got[i] = resp.GetAppointment().GetId()
		})
	}
	wg.Wait()
	for i, id := range got {
		if id != first.GetId() {
			t.Errorf("retry %d returned %s, want %s", i, id, first.GetId())
		}
	}
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM appointments WHERE patient_id = $1`, p.id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d appointments, want 1", n)
	}

	// The same key for another slot is a client bug, said clearly.
	other := f.slotAt(d.id, at("2026-06-01T13:00:00Z")).id
	_, err := f.bookAs(p, other, "retry-key-1")
	testkit.WantReason(t, err, ReasonIdempotencyKeyReused)

	// Two concurrent first attempts with one key (a retry racing the original).
	p2 := f.newPatient()
	var ids [2]string
	for i := range ids {
		wg.Go(func() {
			resp, err := f.bookAs(p2, other, "racing-key-2")
			if err != nil {
				t.Errorf("attempt %d: %v", i, err)
				return
			}
			ids[i] = resp.GetAppointment().GetId()
		})
	}
	wg.Wait()
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("racing attempts with one key got %v, want one appointment", ids)
	}
}

func TestBook_Refusals(t *testing.T) {
	f := newFixture(t)
	d, slot := f.bookable()
	p := f.newPatient()

	// The doctor blocks a slot: it cannot be booked.
	blocked := f.slotAt(d.id, at("2026-06-01T14:00:00Z")).id
	if _, err := f.block(d, blocked); err != nil {
		t.Fatal(err)
	}
	_, err := f.bookAs(p, blocked, "blocked-key")
	testkit.WantReason(t, err, ReasonSlotBlocked)

	// Unknown slot.
	_, err = f.bookAs(p, "3e0b5f0e-93f4-4a0c-9d7e-8f6d2c1b0a99", "unknown-key")
	testkit.WantReason(t, err, ReasonSlotNotFound)

	// The patient's own second appointment at an overlapping time (another doctor's slot
	// at the same hour).
	d2 := f.listedDoctor()
	f.mustSet(d2, mondayMornings())
	f.mustBook(p, slot, "first-booking")
	_, err = f.bookAs(p, f.slotAt(d2.id, firstSlot).id, "overlap-key")
	testkit.WantReason(t, err, ReasonPatientBusy)

	// Too close to the start (less than MinLead), and in the past.
	f.clock.Advance(5*time.Hour + 30*time.Minute) // 11:30 UTC, the 12:00 slot is 30 min away
	_, err = f.bookAs(f.newPatient(), f.slotAt(d2.id, firstSlot).id, "late-key-1")
	testkit.WantReason(t, err, ReasonTooLateToBook)
	f.clock.Advance(time.Hour)
	_, err = f.bookAs(f.newPatient(), f.slotAt(d2.id, firstSlot).id, "late-key-2")
	testkit.WantReason(t, err, ReasonSlotPast)

	// A doctor cannot book; validation names the fields.
	_, err = f.bookAs(d, slot, "doctor-key")
	testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)
	_, err = f.client.BookAppointment(context.Background(), testkit.Authed(&schedulingv1.BookAppointmentRequest{
		SlotId: "nope", IdempotencyKey: "k", Reason: "",
	}, p.token))
	v := testkit.Violations(t, err)
	for _, field := range []string{"slot_id", "idempotency_key", "reason"} {
		if v[field] == "" {
			t.Errorf("no violation for %s in %v", field, v)
		}
	}
}

func TestHistory_IsAppendOnly(t *testing.T) {
	f := newFixture(t)
	_, slot := f.bookable()
	p := f.newPatient()
	a := f.mustBook(p, slot, "history-key")
	ctx := context.Background()
	for _, stmt := range []string{
		`UPDATE appointment_history SET reason = 'rewritten' WHERE appointment_id = '` + a.GetId() + `'`,
		`DELETE FROM appointment_history WHERE appointment_id = '` + a.GetId() + `'`,
		`TRUNCATE appointment_history`,
	} {
		if _, err := f.db.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
	if h := f.mustGet(p, a.GetId()).GetHistory(); len(h) != 1 || h[0].GetReason() != "" {
		t.Fatalf("history after the attempts = %v", h)
	}
}

func TestBook_APatientWhoseEmailIsNotVerifiedIsRefused(t *testing.T) {
	f := newFixture(t)
	_, slot := f.bookable()
	p := authn.Principal{UserID: uuid.NewString(), Role: accessv1.Role_ROLE_PATIENT, AMR: []string{"pwd"}}
	unverified := user{p.UserID, f.users.SignPrincipal(p)}
	_, err := f.bookAs(unverified, slot, "unverified-key")
	testkit.WantReason(t, err, ReasonEmailNotVerified)
	if msg := connect.NewError(connect.CodeUnknown, err).Message(); !strings.Contains(msg, "confirm") || !strings.Contains(msg, "refresh") {
		t.Errorf("message %q does not say to confirm the address and refresh the session", msg)
	}
	if n := f.count(`SELECT count(*) FROM appointments`); n != 0 {
		t.Errorf("%d appointments, want none", n)
	}
	// With the address verified (the next token after the confirmation), the same patient books.
	p.EmailVerified = true
	f.mustBook(user{p.UserID, f.users.SignPrincipal(p)}, slot, "verified-key")
}

// racingPayments is payments as seen by ensure_payment while the patient cancels: the
// cancellation commits while StartPayment is making the charge.
type racingPayments struct {
	paymentsv1connect.PaymentsServiceClient // nil: other methods are not called
	during                                  func()
	mu                                      sync.Mutex
	cancelled                               []string
}

func (p *racingPayments) StartPayment(_ context.Context, req *connect.Request[paymentsv1.StartPaymentRequest]) (*connect.Response[paymentsv1.StartPaymentResponse], error) {
	p.during()
	return connect.NewResponse(&paymentsv1.StartPaymentResponse{Payment: &paymentsv1.Payment{
		AppointmentId: req.Msg.GetAppointmentId(), Status: paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING}}), nil
}

func (p *racingPayments) CancelPayment(_ context.Context, req *connect.Request[paymentsv1.CancelPaymentRequest]) (*connect.Response[paymentsv1.CancelPaymentResponse], error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancelled = append(p.cancelled, req.Msg.GetAppointmentId())
	return connect.NewResponse(&paymentsv1.CancelPaymentResponse{Payment: &paymentsv1.Payment{
		Status: paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED}}), nil
}

// TestEnsurePayment_CancelledWhileTheChargeIsMade_TheChargeIsStopped: the booking's job
// reads the appointment PENDING_PAYMENT and asks for the charge; the patient cancels
// meanwhile, before payments has recorded anything for cancel_charge to stop. The job
// sees the cancellation once the charge is made, and stops it.
func TestEnsurePayment_CancelledWhileTheChargeIsMade_TheChargeIsStopped(t *testing.T) {
	pay := &racingPayments{}
	f := newFixtureWithPayments(t, DefaultConfig(), pay)
	_, slot := f.bookable()
	p := f.newPatient()
	resp, err := f.bookAs(p, slot, "key-racing-cancel")
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetAppointment().GetId()
	pay.during = func() {
		if _, err := f.cancel(p, id); err != nil {
			t.Errorf("cancel: %v", err)
		}
	}
	if err := f.svc.ensurePayment(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if len(pay.cancelled) != 1 || pay.cancelled[0] != id {
		t.Fatalf("CancelPayment calls %v, want one for %s", pay.cancelled, id)
	}
	// Not cancelled: nothing is stopped.
	_, slot2 := f.bookable()
	resp, err = f.bookAs(p, slot2, "key-not-cancelled")
	if err != nil {
		t.Fatal(err)
	}
	pay.during = func() {}
	if err := f.svc.ensurePayment(context.Background(), resp.GetAppointment().GetId()); err != nil {
		t.Fatal(err)
	}
	if len(pay.cancelled) != 1 {
		t.Fatalf("CancelPayment calls %v, want none for a live booking", pay.cancelled)
	}
}
