package directory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/identity"
	"healthcore/services/identity/identitytest"
	"healthcore/services/scheduling"
)

// reviewFixture is the directory calling a real scheduling service (which calls the
// directory back for doctors' practice settings), both on one fresh database. Payments
// is not running: appointments are reported paid through scheduling's internal RPC, as
// payments does.
type reviewFixture struct {
	*fixture
	sched      schedulingv1connect.SchedulingServiceClient // as patients and doctors call it
	payments   schedulingv1connect.SchedulingServiceClient // as payments calls it
	telehealth schedulingv1connect.SchedulingServiceClient // as telehealth calls it
	clock      *testkit.Clock
	identity   *identitytest.Identity // doctors are verified through it
}

// reviewNow is scheduling's clock: Monday 1 June 2026, 06:00 UTC.
var reviewNow = time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC)

func newReviewFixture(t *testing.T) *reviewFixture {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t, identity.Schema, Schema, scheduling.Schema)
	pool := func(schema string) *pgxpool.Pool {
		db, err := pg.Open(ctx, url, schema, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	users := testkit.NewUsers(t)
	id := identitytest.Start(t, pool(identity.Schema.Name), identitytest.Options{Users: users})
	dirLn, schedLn := testkit.Listen(t), testkit.Listen(t)
	as := func(caller string) []connect.ClientOption {
		return []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(testkit.Caller(caller))}
	}
	schedURL := "http://" + schedLn.Addr().String()
	f := newFixtureOn(t, pool(Schema.Name), users,
		schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL, as("directory")...), dirLn)

	clk := testkit.NewClock(reviewNow)
	svc, err := scheduling.New(scheduling.Deps{
		DB: pool(scheduling.Schema.Name), Logger: testkit.Logger(t), Now: clk.Now,
		Envelope:  envelope.New(testkit.Keys(t, "scheduling"), envelope.Defaults),
		Directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), "http://"+dirLn.Addr().String(), as("scheduling")...),
		Payments:  paymentsv1connect.NewPaymentsServiceClient(testkit.HTTPClient(t), "http://127.0.0.1:1", connect.WithGRPC()),
		Identity:  id.As("scheduling"),
	}, scheduling.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	testkit.ServeOn(t, schedLn, users.Interceptor("scheduling"), func(s *server.Server) { s.Handle(svc.Handler(s.HandlerOptions()...)) })
	return &reviewFixture{
		fixture: f, clock: clk, identity: id,
		sched:      schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL),
		payments:   schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL, as("payments")...),
		telehealth: schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), schedURL, as("telehealth")...),
	}
}

// consultation books, pays, confirms and (when complete) finishes an appointment of a
// new patient with doctor d at the given hour (UTC) of Monday, returning the patient's
// token and the appointment id.
func (f *reviewFixture) consultation(d doctor, hourUTC int, complete bool) (patientID, patientToken, apptID string) {
	f.t.Helper()
	ctx := context.Background()
	patientID, patientToken = f.sign(accessv1.Role_ROLE_PATIENT, "")
	slots, err := f.sched.ListAvailableSlots(ctx, connect.NewRequest(&schedulingv1.ListAvailableSlotsRequest{
		DoctorId: d.id, StartTime: timestamppb.New(reviewNow), EndTime: timestamppb.New(reviewNow.Add(24 * time.Hour)),
	}))
	if err != nil {
		f.t.Fatal(err)
	}
	var slotID string
	for _, s := range slots.Msg.GetSlots() {
		if s.GetStartTime().AsTime().Hour() == hourUTC {
			slotID = s.GetId()
		}
	}
	if slotID == "" {
		f.t.Fatalf("no free slot at %02d:00 UTC", hourUTC)
	}
	booked, err := f.sched.BookAppointment(ctx, testkit.Authed(&schedulingv1.BookAppointmentRequest{
		SlotId: slotID, IdempotencyKey: "review-" + patientID, Reason: "retorno de exames",
	}, patientToken))
	if err != nil {
		f.t.Fatal(err)
	}
	apptID = booked.Msg.GetAppointment().GetId()
	if _, err := f.payments.ApplyPaymentOutcome(ctx, connect.NewRequest(&schedulingv1.ApplyPaymentOutcomeRequest{
		AppointmentId: apptID, PaymentId: apptID, Outcome: schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID,
	})); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.sched.AcceptAppointment(ctx, testkit.Authed(&schedulingv1.AcceptAppointmentRequest{Id: apptID}, d.token)); err != nil {
		f.t.Fatal(err)
	}
	if !complete {
		return
	}
	if _, err := f.telehealth.RecordJoin(ctx, connect.NewRequest(&schedulingv1.RecordJoinRequest{AppointmentId: apptID, UserId: patientID})); err != nil {
		f.t.Fatal(err)
	}
	return
}

// finishAll ends the day: every confirmed appointment's window is over.
func (f *reviewFixture) finish(ids ...string) {
	f.t.Helper()
	f.clock.Advance(reviewNow.Add(24 * time.Hour).Sub(f.clock.Now()))
	for _, id := range ids {
		resp, err := f.telehealth.FinishAppointment(context.Background(), connect.NewRequest(&schedulingv1.FinishAppointmentRequest{AppointmentId: id}))
		if err != nil {
			f.t.Fatal(err)
		}
		if resp.Msg.GetAppointment().GetState() != schedulingv1.AppointmentState_APPOINTMENT_STATE_COMPLETED {
			f.t.Fatalf("appointment %s not completed: %v", id, resp.Msg.GetAppointment())
		}
	}
}

// listedWithAgenda lists a doctor in São Paulo with Monday 09:00–18:00 slots of 50 minutes.
func (f *reviewFixture) listedWithAgenda() doctor {
	f.t.Helper()
	id, crm := f.identity.VerifiedDoctor()
	d := doctor{id, f.users.SignPrincipal(authn.Principal{UserID: id, Role: accessv1.Role_ROLE_DOCTOR, CRM: crm,
		DoctorVerified: true, EmailVerified: true, AMR: []string{"pwd", "otp"}})}
	testkit.ListDoctor(f.t, f.url, d.id) // as identity's verdict does
	f.mustUpsert(d.token, input("Dra. Beatriz Lima", saoPaulo, 30000, "cardiologia"))
	if _, err := f.sched.SetAvailability(context.Background(), testkit.Authed(&schedulingv1.SetAvailabilityRequest{
		Availability: &schedulingv1.Availability{SlotMinutes: 50, GapMinutes: 10, Weekly: []*schedulingv1.WeeklyWindow{
			{Weekday: schedulingv1.Weekday_WEEKDAY_MONDAY, StartTime: "09:00", EndTime: "18:00"},
		}},
	}, d.token)); err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *reviewFixture) review(token, apptID string, stars int32, comment string) (*directoryv1.ReviewAppointmentResponse, error) {
	resp, err := f.client.ReviewAppointment(context.Background(), testkit.Authed(&directoryv1.ReviewAppointmentRequest{
		AppointmentId: apptID, Stars: stars, Comment: comment,
	}, token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func TestReview_OnlyTheCompletedAppointmentsPatientOnce(t *testing.T) {
	f := newReviewFixture(t)
	d := f.listedWithAgenda()
	_, patient, appt := f.consultation(d, 12, true)
	_, otherPatient, pending := f.consultation(d, 13, false)

	// Not completed yet: the window has not ended.
	_, err := f.review(patient, appt, 5, "ótima consulta")
	testkit.WantReason(t, err, ReasonAppointmentNotCompleted)
	f.finish(appt)

	// Not yours (another patient; the doctor is not a patient at all).
	_, err = f.review(otherPatient, appt, 1, "")
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	_, err = f.client.ReviewAppointment(context.Background(), testkit.Authed(&directoryv1.ReviewAppointmentRequest{
		AppointmentId: appt, Stars: 5,
	}, d.token))
	testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)
	_, err = f.review(patient, "6d1e9f3c-0b8a-4f5e-9a7d-1c2b3a4d5e6f", 5, "")
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	// The other patient's appointment stays CONFIRMED with nobody joining: no-show, not completed.
	_, err = f.review(otherPatient, pending, 4, "")
	testkit.WantReason(t, err, ReasonAppointmentNotCompleted)

	// Validation names the fields.
	_, err = f.review(patient, appt, 6, string(make([]byte, 2001)))
	v := testkit.Violations(t, err)
	if v["stars"] == "" || v["comment"] == "" {
		t.Fatalf("violations = %v", v)
	}

	comment := `<script>alert("x")</script> & obrigado`
	got, err := f.review(patient, appt, 4, comment)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRatingCount() != 1 || got.GetRatingAverage() != 4 || got.GetReview().GetComment() != comment ||
		got.GetReview().GetCommentHtml() != `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; obrigado` {
		t.Fatalf("review = %v", got)
	}
	_, err = f.review(patient, appt, 5, "de novo")
	testkit.WantReason(t, err, ReasonAlreadyReviewed)

	// GetDoctor shows the rating and the latest reviews; the comment exactly as written.
	doc, err := f.client.GetDoctor(context.Background(), connect.NewRequest(&directoryv1.GetDoctorRequest{DoctorId: d.id}))
	if err != nil {
		t.Fatal(err)
	}
	if p := doc.Msg.GetProfile(); p.GetRatingCount() != 1 || p.GetRatingAverage() != 4 {
		t.Fatalf("profile rating %v/%d", p.GetRatingAverage(), p.GetRatingCount())
	}
	if r := doc.Msg.GetLatestReviews(); len(r) != 1 || r[0].GetComment() != comment || r[0].GetStars() != 4 {
		t.Fatalf("latest reviews = %v", r)
	}
}

func TestReview_ConcurrentReviewsAllCountAndPageNewestFirst(t *testing.T) {
	f := newReviewFixture(t)
	d := f.listedWithAgenda()
	// Nine consultations on Monday (12:00 to 20:00 UTC), all completed.
	type rv struct{ token, appt string }
	var all []rv
	var ids []string
	for h := 12; h <= 20; h++ {
		_, tok, id := f.consultation(d, h, true)
		all = append(all, rv{tok, id})
		ids = append(ids, id)
	}
	f.finish(ids...)

	var wg sync.WaitGroup
	stars := []int32{5, 4, 3, 5, 1, 2, 5, 4, 3}
	for i, r := range all {
		wg.Go(func() {
			// Each patient sends their review twice at once (a double click).
			var inner sync.WaitGroup
			for range 2 {
				inner.Go(func() { _, _ = f.review(r.token, r.appt, stars[i], fmt.Sprintf("review %d", i)) })
			}
			inner.Wait()
		})
	}
	wg.Wait()
	var sum, count int
	if err := f.db.QueryRow(context.Background(), `SELECT rating_sum, rating_count FROM doctors WHERE doctor_id = $1`, d.id).Scan(&sum, &count); err != nil {
		t.Fatal(err)
	}
	if count != 9 || sum != 32 {
		t.Fatalf("rating sum %d count %d, want 32 and 9 (each review once)", sum, count)
	}
	var reviews int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM reviews WHERE doctor_id = $1`, d.id).Scan(&reviews); err != nil {
		t.Fatal(err)
	}
	if reviews != 9 {
		t.Fatalf("%d reviews stored, want 9", reviews)
	}

	seen := map[string]bool{}
	var last time.Time
	tok := ""
	for {
		resp, err := f.client.ListDoctorReviews(context.Background(), connect.NewRequest(&directoryv1.ListDoctorReviewsRequest{
			DoctorId: d.id, PageSize: 4, PageToken: tok,
		}))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Msg.GetReviews() {
			if seen[r.GetId()] {
				t.Fatalf("review %s listed twice", r.GetId())
			}
			seen[r.GetId()] = true
			if at := r.GetCreateTime().AsTime(); !last.IsZero() && at.After(last) {
				t.Fatalf("reviews not newest first")
			}
			last = r.GetCreateTime().AsTime()
		}
		if tok = resp.Msg.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(seen) != 9 {
		t.Fatalf("paged %d reviews, want 9", len(seen))
	}
	_, err := f.client.ListDoctorReviews(context.Background(), connect.NewRequest(&directoryv1.ListDoctorReviewsRequest{
		DoctorId: d.id, PageToken: "bogus",
	}))
	testkit.WantReason(t, err, pagetoken.ReasonInvalid)
}
