package scheduling

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/testkit"
)

// wantWeekly checks that a doctor's stored slots are firstWeek repeated on each of the
// eight weeks ahead, and nothing else.
func wantWeekly(t *testing.T, f *fixture, doctorID string, firstWeek []time.Time, length time.Duration) {
	t.Helper()
	var want []time.Time
	for w := range 8 {
		for _, s := range firstWeek {
			want = append(want, s.AddDate(0, 0, 7*w)) // São Paulo keeps UTC-3 all year
		}
	}
	got := f.slots(doctorID)
	wantTimes(t, "stored slot starts", starts(got), want)
	for _, s := range got {
		if s.end.Sub(s.start) != length || s.status != "open" {
			t.Errorf("slot %s–%s %s, want %s long and open", s.start.Format(time.RFC3339), s.end.Format(time.RFC3339), s.status, length)
		}
	}
}

func TestSetAvailability_WeeklyWindowsBecomeExactSlotInstants(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name      string
		minutes   int32 // the directory's consultation length; 0 for its default, 50
		avail     *schedulingv1.Availability
		firstWeek []string // UTC starts in the week of Monday 1 June 2026
		length    time.Duration
	}{
		{
			name: "50-minute slots with a 10-minute gap start on the hour", avail: mondayMornings(),
			firstWeek: []string{"2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z"}, length: 50 * time.Minute,
		},
		{
			name: "slot_minutes 0 takes the directory's consultation length", minutes: 40,
			avail:     &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "11:00")}},
			firstWeek: []string{"2026-06-01T12:00:00Z", "2026-06-01T12:40:00Z", "2026-06-01T13:20:00Z"}, length: 40 * time.Minute,
		},
		{
			name:      "the gap follows every slot",
			avail:     &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(tue, "09:00", "11:00")}, SlotMinutes: 30, GapMinutes: 15},
			firstWeek: []string{"2026-06-02T12:00:00Z", "2026-06-02T12:45:00Z", "2026-06-02T13:30:00Z"}, length: 30 * time.Minute,
		},
		{
			name:  "a tail shorter than a slot stays unused",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(wed, "09:00", "11:00")}, SlotMinutes: 45},
			// 09:00, 09:45; 10:30 would end at 11:15.
			firstWeek: []string{"2026-06-03T12:00:00Z", "2026-06-03T12:45:00Z"}, length: 45 * time.Minute,
		},
		{
			name:  "a window may end at 24:00",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "22:00", "24:00")}, SlotMinutes: 60},
			// Monday 22:00 and 23:00 in São Paulo are Tuesday 01:00 and 02:00 UTC.
			firstWeek: []string{"2026-06-02T01:00:00Z", "2026-06-02T02:00:00Z"}, length: time.Hour,
		},
		{
			name: "several windows on a day and the same hours on another day",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{
				weekly(sat, "08:00", "09:00"), weekly(mon, "14:00", "15:00"), weekly(mon, "08:00", "09:00"),
			}, SlotMinutes: 60},
			firstWeek: []string{"2026-06-01T11:00:00Z", "2026-06-01T17:00:00Z", "2026-06-06T11:00:00Z"}, length: time.Hour,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := f.newDoctor()
			f.upsertProfile(d, profile("America/Sao_Paulo", 25000, tc.minutes))
			resp := f.mustSet(d, tc.avail)
			if resp.GetTimeZone() != "America/Sao_Paulo" || resp.GetSlotsCreated() != int32(8*len(tc.firstWeek)) || resp.GetSlotsRemoved() != 0 {
				t.Errorf("response: time zone %q, %d created, %d removed", resp.GetTimeZone(), resp.GetSlotsCreated(), resp.GetSlotsRemoved())
			}
			wantWeekly(t, f, d.id, utc(tc.firstWeek...), tc.length)
		})
	}
}

func TestSetAvailability_MaterialisesEightWeeksFromToday(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	got := f.slots(d.id)
	if len(got) != 24 {
		t.Fatalf("%d slots, want 3 on each of 8 Mondays", len(got))
	}
	// Today (Monday 1 June) is the first day; the horizon's last day is Sunday 26 July,
	// so the last Monday is 20 July.
	if first, last := got[0].start, got[len(got)-1].start; !first.Equal(at("2026-06-01T12:00:00Z")) || !last.Equal(at("2026-07-20T14:00:00Z")) {
		t.Errorf("slots from %s to %s", first.Format(time.RFC3339), last.Format(time.RFC3339))
	}
}

func TestSetAvailability_TodaysPastSlotsAreNotCreated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clock.Advance(6*time.Hour + 30*time.Minute) // 09:30 in São Paulo: the 09:00 slot has begun
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	got := starts(f.slots(d.id))
	if len(got) != 23 || !got[0].Equal(at("2026-06-01T13:00:00Z")) {
		t.Errorf("%d slots, first %s; want 23 from 10:00 local today", len(got), formatTimes(got[:1]))
	}
}

func TestSetAvailability_DateExceptionsChangeThatDateOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name       string
		exceptions []*schedulingv1.DateException
		want       []string // UTC starts between 1 and 21 June
	}{
		{
			name:       "a day off removes that date's weekly slots",
			exceptions: []*schedulingv1.DateException{dayOff("2026-06-08")},
			want:       []string{"2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z", "2026-06-15T12:00:00Z", "2026-06-15T13:00:00Z", "2026-06-15T14:00:00Z"},
		},
		{
			name:       "an extra window adds slots on its date",
			exceptions: []*schedulingv1.DateException{extra("2026-06-10", "14:00", "16:00")}, // a Wednesday
			want: []string{"2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z",
				"2026-06-08T12:00:00Z", "2026-06-08T13:00:00Z", "2026-06-08T14:00:00Z",
				"2026-06-10T17:00:00Z", "2026-06-10T18:00:00Z",
				"2026-06-15T12:00:00Z", "2026-06-15T13:00:00Z", "2026-06-15T14:00:00Z"},
		},
		{
			name:       "an extra window after a weekly one on the same day",
			exceptions: []*schedulingv1.DateException{extra("2026-06-08", "12:00", "13:00")},
			want: []string{"2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z",
				"2026-06-08T12:00:00Z", "2026-06-08T13:00:00Z", "2026-06-08T14:00:00Z", "2026-06-08T15:00:00Z",
				"2026-06-15T12:00:00Z", "2026-06-15T13:00:00Z", "2026-06-15T14:00:00Z"},
		},
		{
			// The doctor replaces that Monday's 09:00–12:00 by 10:00–11:00: the extra
			// window may overlap the weekly window the day off cancels.
			name:       "a day off and an extra window on one date",
			exceptions: []*schedulingv1.DateException{extra("2026-06-08", "10:00", "11:00"), dayOff("2026-06-08")},
			want: []string{"2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z", "2026-06-01T14:00:00Z",
				"2026-06-08T13:00:00Z",
				"2026-06-15T12:00:00Z", "2026-06-15T13:00:00Z", "2026-06-15T14:00:00Z"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := f.listedDoctor()
			a := mondayMornings()
			a.Exceptions = tc.exceptions
			f.mustSet(d, a)
			var got []time.Time
			for _, s := range f.slots(d.id) {
				if s.start.Before(at("2026-06-22T00:00:00Z")) {
					got = append(got, s.start)
				}
			}
			wantTimes(t, "slots of 1–21 June", got, utc(tc.want...))
		})
	}
}

func TestSetAvailability_RefusesInconsistentAvailabilityWithoutWritingAnything(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name  string
		avail *schedulingv1.Availability
		// violations: field → a phrase its description must contain.
		want map[string]string
	}{
		{
			name: "weekly windows overlapping on one weekday",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{
				weekly(mon, "09:00", "12:00"), weekly(mon, "11:00", "13:00"), weekly(tue, "11:00", "13:00"),
			}},
			want: map[string]string{"availability.weekly[1]": "overlaps availability.weekly[0]"},
		},
		{
			name: "extra windows overlapping each other",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "12:00")}, Exceptions: []*schedulingv1.DateException{
				extra("2026-06-10", "10:00", "12:00"), extra("2026-06-10", "11:00", "13:00"), extra("2026-06-11", "11:00", "13:00"),
			}},
			want: map[string]string{"availability.exceptions[1]": "overlaps availability.exceptions[0]"},
		},
		{
			name: "an extra window overlapping a weekly window",
			avail: &schedulingv1.Availability{
				Weekly:     []*schedulingv1.WeeklyWindow{weekly(tue, "14:00", "18:00"), weekly(mon, "09:00", "12:00")},
				Exceptions: []*schedulingv1.DateException{extra("2026-06-08", "11:00", "13:00")},
			},
			want: map[string]string{"availability.exceptions[0]": "overlaps availability.weekly[1]"},
		},
		{
			name:  "a weekly window ending before it starts",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "12:00", "09:00")}},
			want:  map[string]string{"availability.weekly[0].end_time": "after start_time"},
		},
		{
			name:  "an extra window ending when it starts",
			avail: &schedulingv1.Availability{Exceptions: []*schedulingv1.DateException{extra("2026-06-10", "10:00", "10:00")}},
			want:  map[string]string{"availability.exceptions[0].end_time": "after start_time"},
		},
		{
			name:  "a day off with times",
			avail: &schedulingv1.Availability{Exceptions: []*schedulingv1.DateException{{Date: "2026-06-08", Kind: schedulingv1.ExceptionKind_EXCEPTION_KIND_DAY_OFF, StartTime: "09:00"}}},
			want:  map[string]string{"availability.exceptions[0]": "no start_time or end_time"},
		},
		{
			name:  "an extra window without times",
			avail: &schedulingv1.Availability{Exceptions: []*schedulingv1.DateException{{Date: "2026-06-10", Kind: schedulingv1.ExceptionKind_EXCEPTION_KIND_EXTRA, StartTime: "09:00"}}},
			want:  map[string]string{"availability.exceptions[0]": "needs start_time and end_time"},
		},
		{
			name:  "a date that does not exist",
			avail: &schedulingv1.Availability{Exceptions: []*schedulingv1.DateException{dayOff("2026-02-30")}},
			want:  map[string]string{"availability.exceptions[0].date": `"2026-02-30" is not a calendar date`},
		},
		{
			name:  "a weekly window shorter than one slot",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "09:30")}, SlotMinutes: 45},
			want:  map[string]string{"availability.weekly[0]": "shorter than one slot (45 minutes)"},
		},
		{
			name:  "a weekly window shorter than the directory's consultation length",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "09:40")}},
			want:  map[string]string{"availability.weekly[0]": "shorter than one slot (50 minutes)"},
		},
		{
			name:  "an extra window shorter than one slot",
			avail: &schedulingv1.Availability{Exceptions: []*schedulingv1.DateException{extra("2026-06-10", "09:00", "09:30")}, SlotMinutes: 45},
			want:  map[string]string{"availability.exceptions[0]": "shorter than one slot (45 minutes)"},
		},
		{
			name:  "a slot shorter than 10 minutes",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "09:00", "12:00")}, SlotMinutes: 5},
			want:  map[string]string{"availability.slot_minutes": "10 to 240"},
		},
		{
			name: "every problem at once",
			avail: &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{
				weekly(mon, "12:00", "09:00"), weekly(tue, "09:00", "12:00"), weekly(tue, "09:30", "11:00"),
			}, Exceptions: []*schedulingv1.DateException{dayOff("2026-13-01")}},
			want: map[string]string{
				"availability.weekly[0].end_time": "after start_time",
				"availability.weekly[2]":          "overlaps availability.weekly[1]",
				"availability.exceptions[0].date": "not a calendar date",
			},
		},
	}
	d := f.listedDoctor()
	before := f.mustSet(d, mondayMornings()).GetAvailability()
	slotsBefore := f.slots(d.id)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.set(d, tc.avail)
			testkit.WantReason(t, err, ReasonAvailabilityInvalid)
			got := testkit.Violations(t, err)
			if len(got) != len(tc.want) {
				t.Errorf("violations %v, want fields %v", got, tc.want)
			}
			for field, phrase := range tc.want {
				if !strings.Contains(got[field], phrase) {
					t.Errorf("violation on %s: %q, want it to say %q (all: %v)", field, got[field], phrase, got)
				}
			}
			stored, err := f.client.GetAvailability(context.Background(), testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, d.token))
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(stored.Msg.GetAvailability(), before) {
				t.Errorf("availability changed by a refused request: %v", stored.Msg.GetAvailability())
			}
			if after := f.slots(d.id); !sameSlots(after, slotsBefore) {
				t.Errorf("slots changed by a refused request: %d before, %d after", len(slotsBefore), len(after))
			}
		})
	}
}

// sameSlots reports whether two readings hold the same slots, ids included.
func sameSlots(a, b []stored) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].id != b[i].id || !a[i].start.Equal(b[i].start) || !a[i].end.Equal(b[i].end) || a[i].status != b[i].status {
			return false
		}
	}
	return true
}

func TestGetAvailability_ReturnsWhatWasStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.listedDoctor()
	get := func() *schedulingv1.GetAvailabilityResponse {
		t.Helper()
		resp, err := f.client.GetAvailability(context.Background(), testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, d.token))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Msg
	}
	if got := get(); len(got.GetAvailability().GetWeekly()) != 0 || got.GetTimeZone() != "America/Sao_Paulo" {
		t.Errorf("before any availability: %v", got)
	}
	// In the order GetAvailability returns: weekday then start; date then day-offs first.
	a := &schedulingv1.Availability{
		Weekly: []*schedulingv1.WeeklyWindow{
			weekly(mon, "09:00", "12:00"), weekly(mon, "14:30", "18:00"), weekly(wed, "22:00", "24:00"), weekly(sun, "08:00", "10:00"),
		},
		Exceptions: []*schedulingv1.DateException{
			dayOff("2026-06-08"), extra("2026-06-08", "19:00", "24:00"), extra("2026-06-13", "08:15", "09:45"),
		},
		GapMinutes: 5,
	}
	f.mustSet(d, a)
	got := get()
	if !proto.Equal(got.GetAvailability(), a) || got.GetTimeZone() != "America/Sao_Paulo" {
		t.Errorf("stored availability:\n got  %v\n want %v", got.GetAvailability(), a)
	}
}
