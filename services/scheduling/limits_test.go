package scheduling

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// manySlots returns a listed doctor with Monday mornings and the ids of their slots,
// eight weeks of three: none overlaps another.
func (f *fixture) manySlots() (user, []string) {
	f.t.Helper()
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	var ids []string
	for _, s := range f.slots(d.id) {
		ids = append(ids, s.id)
	}
	if len(ids) < 20 {
		f.t.Fatalf("only %d slots", len(ids))
	}
	return d, ids
}

// burst books slots[:n] at once, each with its own key, as one patient, and returns
// each booking's error.
func (f *fixture) burst(p user, slots []string, n int) []error {
	out := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, out[i] = f.bookAs(p, slots[i], fmt.Sprint("burst-key-", i))
		})
	}
	close(start)
	wg.Wait()
	return out
}

func TestBook_UnpaidHoldsAreCappedPerPatient(t *testing.T) {
	f := newFixture(t) // two unpaid holds at most
	_, slots := f.manySlots()
	p := f.newPatient()
	first := f.mustBook(p, slots[0], "hold-key-1")
	f.mustBook(p, slots[1], "hold-key-2")
	_, err := f.bookAs(p, slots[2], "hold-key-3")
	testkit.WantReason(t, err, ReasonTooManyPendingBookings)
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("code %v, want failed_precondition", connect.CodeOf(err))
	}
	// A retry of a booking already made still answers it.
	if a := f.mustBook(p, slots[1], "hold-key-2"); a.GetSlotId() != slots[1] {
		t.Errorf("retry answered %v", a)
	}
	// Another patient is not concerned.
	f.mustBook(f.newPatient(), slots[2], "other-key")

	// Paying one frees a place.
	f.paid(first.GetId())
	f.mustBook(p, slots[3], "hold-key-4")
	_, err = f.bookAs(p, slots[4], "hold-key-5")
	testkit.WantReason(t, err, ReasonTooManyPendingBookings)

	// A hold past its end (its expiry job not yet run) no longer counts.
	f.clock.Advance(DefaultConfig().PaymentWindow)
	f.mustBook(p, slots[4], "hold-key-5")
}

func TestBook_ConcurrentBookingsOfOnePatientStopAtTheCap(t *testing.T) {
	f := newFixture(t)
	_, slots := f.manySlots()
	p := f.newPatient()
	const n = 8 // within the default per-patient rate
	booked := 0
	for _, err := range f.burst(p, slots, n) {
		switch {
		case err == nil:
			booked++
		case !errs.Has(err, ReasonTooManyPendingBookings):
			t.Errorf("unexpected refusal: %v", err)
		}
	}
	var stored int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM appointments WHERE patient_id = $1`, p.id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if booked != 2 || stored != 2 {
		t.Fatalf("%d bookings answered, %d stored, want 2 of %d", booked, stored, n)
	}
}

// limited is a config whose only booking limit that bites is the rates given.
func limited(perPatient, perAddress int) Config {
	cfg := DefaultConfig()
	cfg.MaxPendingBookings = 100
	cfg.BookingRate = BookingRate{PerPatient: perPatient, PerAddress: perAddress, Period: time.Hour}
	return cfg
}

func TestBook_RateLimitedPerPatient(t *testing.T) {
	f := newFixtureWith(t, limited(3, 0))
	_, slots := f.manySlots()
	p := f.newPatient()
	for i := range 3 {
		f.mustBook(p, slots[i], fmt.Sprint("rate-key-", i))
	}
	// Retrying a booking made is not a new booking.
	f.mustBook(p, slots[0], "rate-key-0")
	_, err := f.bookAs(p, slots[3], "rate-key-3")
	testkit.WantReason(t, err, ReasonBookingThrottled)
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Errorf("code %v, want resource_exhausted", connect.CodeOf(err))
	}
	// Three an hour: one more in 20 minutes.
	if got := testkit.RetryAfter(t, err); got != 20*time.Minute {
		t.Errorf("retry after %s, want 20m", got)
	}
	// A refusal costs nothing: hammering does not push the next booking further away.
	for range 5 {
		_, err = f.bookAs(p, slots[3], "rate-key-3")
		testkit.WantReason(t, err, ReasonBookingThrottled)
	}
	f.mustBook(f.newPatient(), slots[4], "someone-else") // another patient has their own budget
	f.clock.Advance(20 * time.Minute)
	f.mustBook(p, slots[3], "rate-key-3")
	_, err = f.bookAs(p, slots[5], "rate-key-5")
	testkit.WantReason(t, err, ReasonBookingThrottled)
}

func TestBook_RateLimitHoldsUnderConcurrency(t *testing.T) {
	f := newFixtureWith(t, limited(3, 0))
	_, slots := f.manySlots()
	p := f.newPatient()
	const n = 10
	booked := 0
	for _, err := range f.burst(p, slots, n) {
		switch {
		case err == nil:
			booked++
		case !errs.Has(err, ReasonBookingThrottled):
			t.Errorf("unexpected refusal: %v", err)
		}
	}
	if booked != 3 {
		t.Fatalf("%d of %d concurrent bookings went through, want 3", booked, n)
	}
}

func TestBook_RateLimitedPerAddressAcrossReplicas(t *testing.T) {
	f := newFixtureWith(t, limited(0, 3))
	_, slots := f.manySlots()
	// A second replica on the same database: the budget is shared.
	other, err := New(f.deps, limited(0, 3))
	if err != nil {
		t.Fatal(err)
	}
	otherURL := testkit.Serve(t, f.users.Interceptor("scheduling"), func(s *server.Server) {
		s.Handle(other.Handler(s.HandlerOptions()...))
	})
	replica := schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), otherURL)
	bookOn := func(c schedulingv1connect.SchedulingServiceClient, slot, key string) error {
		_, err := c.BookAppointment(context.Background(), testkit.Authed(&schedulingv1.BookAppointmentRequest{
			SlotId: slot, IdempotencyKey: key, Reason: "consulta de rotina",
		}, f.newPatient().token))
		return err
	}
	// Every patient here calls from 127.0.0.1.
	for i, c := range []schedulingv1connect.SchedulingServiceClient{f.client, replica, f.client} {
		if err := bookOn(c, slots[i], fmt.Sprint("addr-key-", i)); err != nil {
			t.Fatalf("booking %d: %v", i, err)
		}
	}
	err = bookOn(replica, slots[3], "addr-key-3")
	testkit.WantReason(t, err, ReasonBookingThrottled)
	if got := testkit.RetryAfter(t, err); got != 20*time.Minute {
		t.Errorf("retry after %s, want 20m", got)
	}
	err = bookOn(f.client, slots[3], "addr-key-3")
	testkit.WantReason(t, err, ReasonBookingThrottled)
}

// TestPruneThrottle_KeepsADrainedBucketAndForgetsAFullOne: the service's prune leaves a
// patient's drained bucket (still refused, same wait) and deletes it once refilled,
// after which the patient books as many as before.
func TestPruneThrottle_KeepsADrainedBucketAndForgetsAFullOne(t *testing.T) {
	f := newFixtureWith(t, limited(3, 0))
	_, slots := f.manySlots()
	p := f.newPatient()
	for i := range 3 {
		f.mustBook(p, slots[i], fmt.Sprint("prune-key-", i))
	}
	prune := func() int64 {
		t.Helper()
		n, err := f.svc.pruneThrottle(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := prune(); n != 0 {
		t.Errorf("pruned %d buckets of a drained patient", n)
	}
	_, err := f.bookAs(p, slots[3], "prune-key-3")
	testkit.WantReason(t, err, ReasonBookingThrottled)
	if got := testkit.RetryAfter(t, err); got != 20*time.Minute {
		t.Errorf("after a prune: retry after %s, want 20m", got)
	}
	f.clock.Advance(time.Hour) // three tokens back: full
	if n := prune(); n != 1 {
		t.Errorf("pruned %d buckets, want the refilled one", n)
	}
	for i := 3; i < 6; i++ {
		f.mustBook(p, slots[i], fmt.Sprint("prune-key-", i))
	}
	_, err = f.bookAs(p, slots[6], "prune-key-6")
	testkit.WantReason(t, err, ReasonBookingThrottled)
}
