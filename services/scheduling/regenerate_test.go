package scheduling

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/testkit"
)

// mondays returns the given UTC clock times ("12:00") on each of the eight Mondays
// from 1 June 2026, leaving out the Mondays in skip.
func mondays(clocks []string, skip ...string) []time.Time {
	var out []time.Time
	for w := range 8 {
		day := time.Date(2026, 6, 1+7*w, 0, 0, 0, 0, time.UTC)
		for _, c := range clocks {
			t := at(day.Format(time.DateOnly) + "T" + c + ":00Z")
			skipped := false
			for _, s := range skip {
				skipped = skipped || t.Equal(at(s))
			}
			if !skipped {
				out = append(out, t)
			}
		}
	}
	return out
}

func TestSetAvailability_RegenerationKeepsBookedSlotsAndReportsConflicts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings()) // 09:00, 10:00, 11:00 local = 12:00Z, 13:00Z, 14:00Z
	before := map[time.Time]string{}
	for _, s := range f.slots(d.id) {
		before[s.start] = s.id
	}
	booked := f.slotAt(d.id, at("2026-06-08T13:00:00Z"))
	apptID := f.book(booked, d.id, "AWAITING_DOCTOR")
	expired := f.slotAt(d.id, at("2026-06-15T13:00:00Z"))
	expiredAppt := f.book(expired, d.id, "EXPIRED")
	blocked := f.slotAt(d.id, at("2026-06-01T12:00:00Z"))
	if _, err := f.block(d, blocked.id); err != nil {
		t.Fatal(err)
	}

	// 09:00 stays; 10:00 and 11:00 go; 10:30 comes (13:30Z–14:20Z), which would
	// overlap the booked 10:00 of 8 June.
	resp := f.mustSet(d, &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{
		weekly(mon, "09:00", "10:00"), weekly(mon, "10:30", "12:00"),
	}, SlotMinutes: 50, GapMinutes: 10})

	if len(resp.GetConflicts()) != 1 {
		t.Fatalf("conflicts %v, want the booked slot", resp.GetConflicts())
	}
	c := resp.GetConflicts()[0]
	if c.GetId() != booked.id || c.GetStatus() != schedulingv1.SlotStatus_SLOT_STATUS_BOOKED || c.GetDoctorId() != d.id ||
		!c.GetStartTime().AsTime().Equal(booked.start) || !c.GetEndTime().AsTime().Equal(booked.end) {
		t.Errorf("conflict %v, want slot %s booked", c, booked.id)
	}
	// Removed: the seven free 10:00 slots (8 June's is booked; 15 June's appointment
	// expired, so it holds nothing) and the eight 11:00 slots. Created: 10:30 on every
	// Monday but 8 June.
	if resp.GetSlotsRemoved() != 15 || resp.GetSlotsCreated() != 7 {
		t.Errorf("%d removed, %d created; want 15 and 7", resp.GetSlotsRemoved(), resp.GetSlotsCreated())
	}

	got := f.slots(d.id)
	want := append(mondays([]string{"12:00", "13:30"}, "2026-06-08T13:30:00Z"), booked.start)
	slices.SortFunc(want, time.Time.Compare)
	wantTimes(t, "slots after regeneration", starts(got), want)
	for _, s := range got {
		if id, ok := before[s.start]; ok && s.id != id {
			t.Errorf("slot at %s kept its time but changed id %s → %s", s.start.Format(time.RFC3339), id, s.id)
		}
		if s.start.Equal(blocked.start) && s.status != "blocked" {
			t.Errorf("the blocked 09:00 slot is %s after regeneration", s.status)
		}
	}
	if s := f.slotAt(d.id, booked.start); s.id != booked.id || !s.end.Equal(booked.end) {
		t.Errorf("booked slot now %+v, want %+v", s, booked)
	}

	var slotID *string
	if err := f.db.QueryRow(context.Background(), `SELECT slot_id::text FROM appointments WHERE id = $1`, apptID).Scan(&slotID); err != nil {
		t.Fatal(err)
	}
	if slotID == nil || *slotID != booked.id {
		t.Errorf("the live appointment lost its slot: %v", slotID)
	}
	if err := f.db.QueryRow(context.Background(), `SELECT slot_id::text FROM appointments WHERE id = $1`, expiredAppt).Scan(&slotID); err != nil {
		t.Fatal(err)
	}
	if slotID != nil {
		t.Errorf("the expired appointment still points at slot %s, which availability dropped", *slotID)
	}

	// The agenda shows the kept slot with its appointment.
	ag, err := f.agenda(d, at("2026-06-08T00:00:00Z"), at("2026-06-09T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ag.GetSlots()) != 2 || ag.GetSlots()[1].GetId() != booked.id || ag.GetSlots()[1].GetAppointment().GetId() != apptID {
		t.Errorf("agenda of 8 June: %v", ag.GetSlots())
	}
}

func TestSetAvailability_SameAvailabilityAgainChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	before := f.slots(d.id)
	resp := f.mustSet(d, mondayMornings())
	if resp.GetSlotsCreated() != 0 || resp.GetSlotsRemoved() != 0 || len(resp.GetConflicts()) != 0 {
		t.Errorf("second identical set: %d created, %d removed, conflicts %v", resp.GetSlotsCreated(), resp.GetSlotsRemoved(), resp.GetConflicts())
	}
	if after := f.slots(d.id); !sameSlots(after, before) {
		t.Error("slots changed")
	}
}

// A slot under way when the availability changes stays as it is, and new slots are
// laid out around it rather than overlapping it.
func TestSetAvailability_SlotUnderWayIsKeptAndNotOverlapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	running := f.slotAt(d.id, at("2026-06-01T12:00:00Z"))
	f.clock.Advance(6*time.Hour + 10*time.Minute) // 09:10 local: the 09:00–09:50 slot is under way

	// 30-minute slots from 09:00: 09:30 would overlap the running slot.
	resp, err := f.set(d, &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "12:00")}, SlotMinutes: 30})
	if err != nil {
		t.Fatalf("set availability during a slot: %v", err)
	}
	if len(resp.GetConflicts()) != 0 {
		t.Errorf("conflicts %v: a slot under way is not one", resp.GetConflicts())
	}
	got := f.slots(d.id)
	var today []time.Time
	for _, s := range got {
		if s.start.Before(at("2026-06-02T00:00:00Z")) {
			today = append(today, s.start)
		}
	}
	// The running 09:00–09:50 and then 10:00, 10:30, 11:00, 11:30 local.
	wantTimes(t, "today's slots", today, utc("2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T13:30:00Z", "2026-06-01T14:00:00Z", "2026-06-01T14:30:00Z"))
	if s := got[0]; s.id != running.id || !s.end.Equal(running.end) {
		t.Errorf("running slot now %+v, want %+v", s, running)
	}
	if len(got) != 5+7*6 {
		t.Errorf("%d slots, want 5 today and 6 on each later Monday", len(got))
	}
}

// Two changes of one doctor's availability at the same moment are serialised: both
// succeed and the slots are exactly those of whichever committed last.
func TestSetAvailability_ConcurrentChangesLeaveTheLastOnesSlots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hourly := &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "12:00")}, SlotMinutes: 50, GapMinutes: 10}
	halfHourly := &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "12:00")}, SlotMinutes: 30}
	wantFor := map[int32][]time.Time{
		50: mondays([]string{"12:00", "13:00", "14:00"}),
		30: mondays([]string{"12:00", "12:30", "13:00", "13:30", "14:00", "14:30"}),
	}
	for round := range 6 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			d := f.listedDoctor()
			if round%2 == 1 { // odd rounds start from an existing availability
				f.mustSet(d, hourly)
			}
			var wg sync.WaitGroup
			errc := make(chan error, 2)
			for _, a := range []*schedulingv1.Availability{hourly, halfHourly} {
				wg.Go(func() {
					_, err := f.set(d, a)
					errc <- err
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				if err != nil {
					t.Fatalf("concurrent set: %v", err)
				}
			}
			stored, err := f.client.GetAvailability(context.Background(), testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, d.token))
			if err != nil {
				t.Fatal(err)
			}
			last := stored.Msg.GetAvailability().GetSlotMinutes()
			got := f.slots(d.id)
			wantTimes(t, fmt.Sprintf("slots after the %d-minute availability committed last", last), starts(got), wantFor[last])
			for _, s := range got {
				if s.end.Sub(s.start) != time.Duration(last)*time.Minute {
					t.Errorf("slot at %s lasts %s", s.start.Format(time.RFC3339), s.end.Sub(s.start))
				}
			}
		})
	}
}

func TestSetAvailability_NeedsADirectoryProfileWithATimeZone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.newDoctor()
	_, err := f.set(d, mondayMornings())
	testkit.WantReason(t, err, ReasonProfileRequired)
	_, err = f.agenda(d, monday, monday.Add(24*time.Hour))
	testkit.WantReason(t, err, ReasonProfileRequired)
	_, err = f.client.GetAvailability(context.Background(), testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, d.token))
	testkit.WantReason(t, err, ReasonProfileRequired)
	if got := f.slots(d.id); len(got) != 0 {
		t.Errorf("%d slots created without a profile", len(got))
	}
}
