package scheduling

import (
	"context"
	"sync"
	"testing"
	"time"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/jobs"
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

// Two runs at once (a job retried while its first attempt still works) and direct
// rolls of one doctor: the availability row serialises each doctor's rolls, so every
// slot is inserted once.
func TestRollDue_ConcurrentRunsInsertEachSlotOnce(t *testing.T) {
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
		wg.Go(func() {
			_, err := f.svc.rollDue(context.Background())
			errc <- err
		})
	}
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
	if total := f.count(`SELECT count(*) FROM slots`); total != 5*59 {
		t.Errorf("%d slots in all, want %d", total, 5*59)
	}
}

// count runs a query counting rows.
func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// run works the service's jobs until the test ends.
func run(t *testing.T, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// eventually waits up to ten seconds for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// rollJobs counts the roll-forward jobs in a state.
func (f *fixture) rollJobs(state string) int {
	f.t.Helper()
	return f.count(`SELECT count(*) FROM river_job WHERE kind = 'scheduling.roll_forward' AND state::text = $1`, state)
}

// jobsConfig is production's configuration with jobs polled often, for tests that run
// the job runner.
func jobsConfig() Config {
	cfg := DefaultConfig()
	cfg.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	return cfg
}

// Two replicas run the job runner: the roll-forward is a periodic job that only the
// elected leader schedules, so it runs once, and every due doctor is rolled.
func TestRollForwardJob_RunsOnceWithTwoReplicas(t *testing.T) {
	t.Parallel()
	cfg := jobsConfig()
	cfg.RollEvery = time.Hour // only the run at the leader's start happens during the test
	f := newFixtureWith(t, cfg)
	var doctors []user
	for range 3 {
		d := f.listedDoctor()
		f.mustSet(d, dailyNine())
		doctors = append(doctors, d)
	}
	f.clock.Advance(3 * 24 * time.Hour)

	other, err := New(f.deps, cfg) // another replica on the same database
	if err != nil {
		t.Fatal(err)
	}
	run(t, f.svc)
	run(t, other)
	eventually(t, "the roll-forward job", func() bool { return f.rollJobs("completed") == 1 })
	// A replica that also scheduled it would have done so at its start, long before now;
	// give a stray job time to show up anyway.
	time.Sleep(500 * time.Millisecond)
	if n := f.count(`SELECT count(*) FROM river_job WHERE kind = 'scheduling.roll_forward'`); n != 1 {
		t.Errorf("%d roll-forward jobs, want 1", n)
	}
	for _, d := range doctors {
		wantTimes(t, "slots of "+d.id, starts(f.slots(d.id)), days("2026-06-01", "2026-07-29"))
		if got := f.rolledAt(d.id); !got.Equal(f.clock.Now()) {
			t.Errorf("rolled_at %s, want now", got)
		}
	}
	if total := f.count(`SELECT count(*) FROM slots`); total != 3*59 {
		t.Errorf("%d slots in all, want %d", total, 3*59)
	}
}

// The job runs again every scheduling.roll-every, without a restart.
func TestRollForwardJob_RunsEveryRollEvery(t *testing.T) {
	t.Parallel()
	cfg := jobsConfig()
	cfg.RollEvery = 300 * time.Millisecond
	f := newFixtureWith(t, cfg)
	d := f.listedDoctor()
	f.mustSet(d, dailyNine())
	f.clock.Advance(2 * 24 * time.Hour) // Wednesday 3 June, 06:00Z

	run(t, f.svc)
	eventually(t, "the roll-forward at start", func() bool { return f.rolledAt(d.id).Equal(f.clock.Now()) })
	wantTimes(t, "slots after the first run", starts(f.slots(d.id)), days("2026-06-01", "2026-07-28"))

	f.clock.Advance(25 * time.Hour)
	eventually(t, "the next roll-forward", func() bool { return f.rolledAt(d.id).Equal(f.clock.Now()) })
	wantTimes(t, "slots after the next run", starts(f.slots(d.id)), days("2026-06-01", "2026-07-29"))
	eventually(t, "two roll-forward jobs completed", func() bool { return f.rollJobs("completed") >= 2 })
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
