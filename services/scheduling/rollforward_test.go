package scheduling

import (
	"context"
	"sync"
	"testing"
	"time"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
)

// dailyNine is 09:00–10:00 every day with one 50-minute slot: 12:00Z in São Paulo.
func dailyNine() *schedulingv1.Availability {
	a := &schedulingv1.Availability{SlotMinutes: 50}
	for d := mon; d <= sun; d++ {
		a.Weekly = append(a.Weekly, weekly(d, "09:00", "10:00"))
	}
	return a
}

// days returns 12:00Z on each day from first to last inclusive.
func days(first, last string) []time.Time {
	var out []time.Time
	for d := date(first); !d.After(date(last)); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Add(12*time.Hour))
	}
	return out
}

func (f *fixture) rolledAt(doctorID string) time.Time {
	f.t.Helper()
	var t time.Time
	if err := f.db.QueryRow(context.Background(), `SELECT rolled_at FROM availability WHERE doctor_id = $1`, doctorID).Scan(&t); err != nil {
		f.t.Fatal(err)
	}
	return t.UTC()
}

func TestRollDue_ExtendsTheHorizonKeepingEverySlotItHad(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.listedDoctor()
	f.mustSet(a, dailyNine())
	before := f.slots(a.id)
	// Eight weeks from today, Monday 1 June: through Sunday 26 July.
	wantTimes(t, "slots when set", starts(before), days("2026-06-01", "2026-07-26"))

	// b changes its availability two days later, less than a day before the job runs.
	f.clock.Advance(49 * time.Hour)
	b := f.listedDoctor()
	f.mustSet(b, dailyNine())
	f.clock.Advance(23 * time.Hour) // Thursday 4 June, 06:00Z

	n, err := f.svc.rollDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("rollDue = %d, %v; want 1 doctor rolled", n, err)
	}
	after := f.slots(a.id)
	// The past three days stay (they are history); the horizon now ends 29 July.
	wantTimes(t, "slots after the roll", starts(after), days("2026-06-01", "2026-07-29"))
	if !sameSlots(after[:len(before)], before) {
		t.Error("rolling forward changed slots it already had")
	}
	if got := f.rolledAt(a.id); !got.Equal(f.clock.Now()) {
		t.Errorf("rolled_at %s, want now", got)
	}
	// b was rolled 23 hours ago: untouched.
	wantTimes(t, "slots of the doctor rolled less than a day ago", starts(f.slots(b.id)), days("2026-06-03", "2026-07-28"))

	if n, err := f.svc.rollDue(ctx); err != nil || n != 0 {
		t.Errorf("second rollDue = %d, %v; want nothing left to roll", n, err)
	}
}

func TestRollOnce_ConcurrentRunsInsertEachSlotOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var doctors []user
	for range 5 {
		d := f.listedDoctor()
		f.mustSet(d, dailyNine())
		doctors = append(doctors, d)
	}
	f.clock.Advance(3 * 24 * time.Hour)

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 2 {
		wg.Go(func() { errc <- f.svc.rollOnce(context.Background()) })
	}
	// Without the job's lock, the availability row still serialises one doctor's rolls.
	for range 2 {
		wg.Go(func() {
			_, err := f.svc.rollForward(context.Background(), doctors[0].id)
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("concurrent roll: %v", err)
		}
	}
	for _, d := range doctors {
		wantTimes(t, "slots of "+d.id, starts(f.slots(d.id)), days("2026-06-01", "2026-07-29"))
	}
	var total int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM slots`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != 5*59 {
		t.Errorf("%d slots in all, want %d", total, 5*59)
	}
}

func TestRollOnce_WaitsForTheNextRunWhileAnotherReplicaRolls(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	d := f.listedDoctor()
	f.mustSet(d, dailyNine())
	f.clock.Advance(3 * 24 * time.Hour)

	other, err := f.db.Acquire(ctx) // another replica's session
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if _, err := other.Exec(ctx, `SELECT pg_advisory_lock(hashtext('scheduling.roll_forward'))`); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.rollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.slots(d.id)); n != 56 {
		t.Errorf("%d slots while another replica holds the lock, want the 56 first set", n)
	}
	if _, err := other.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('scheduling.roll_forward'))`); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.rollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.slots(d.id)); n != 59 {
		t.Errorf("%d slots after the lock was released, want 59", n)
	}
}

// Rolling forward reads the doctor's current time zone: a doctor who moved keeps
// booked slots and gets the rest at the new local times.
func TestRollForward_FollowsATimeZoneChangeKeepingBookedSlots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	booked := f.slotAt(d.id, at("2026-06-08T12:00:00Z"))
	f.book(booked, d.id, "CONFIRMED")
	f.upsertProfile(d, profile("America/Manaus", 25000, 0)) // UTC-4: 09:00 local is 13:00Z

	res, err := f.svc.rollForward(context.Background(), d.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.conflicts) != 1 || res.conflicts[0].id != booked.id {
		t.Errorf("conflicts %+v, want the booked 8 June slot", res.conflicts)
	}
	var june8 []time.Time
	for _, s := range f.slots(d.id) {
		if s.start.Format(time.DateOnly) == "2026-06-08" {
			june8 = append(june8, s.start)
		}
	}
	// The booked 12:00Z (08:00 in Manaus) stays beside 09:00, 10:00 and 11:00 Manaus.
	wantTimes(t, "8 June after moving to Manaus", june8, utc("2026-06-08T12:00:00Z", "2026-06-08T13:00:00Z", "2026-06-08T14:00:00Z", "2026-06-08T15:00:00Z"))
	resp := f.mustAvailable(d.id, at("2026-06-15T00:00:00Z"), at("2026-06-16T00:00:00Z"))
	wantTimes(t, "15 June", protoStarts(resp.GetSlots()), utc("2026-06-15T13:00:00Z", "2026-06-15T14:00:00Z", "2026-06-15T15:00:00Z"))
	if resp.GetTimeZone() != "America/Manaus" {
		t.Errorf("time zone %q", resp.GetTimeZone())
	}
}
