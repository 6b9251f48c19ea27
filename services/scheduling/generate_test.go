package scheduling

import (
	"slices"
	"testing"
	"time"
)

// everyDay returns rules with the same window on all seven weekdays.
func everyDay(start, end string, slot, gap int) rules {
	r := rules{dayOff: map[string]bool{}, extra: map[string][]window{}, slot: slot, gap: gap}
	for d := 1; d <= 7; d++ {
		r.weekly[d] = []window{{parseClock(start), parseClock(end)}}
	}
	return r
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func mustLoad(t *testing.T, zone string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestGenerate_DaylightSavingNeitherShiftsStretchesNorDuplicatesSlots lays windows over
// clock changes: the hour skipped when clocks go forward gets no slot, the hour lived
// twice when they go back gets its slots once, a slot that would straddle the change
// is left out, one that ends exactly as the clocks change is kept, and the days around
// keep their wall-clock times under a different UTC offset.
func TestGenerate_DaylightSavingNeitherShiftsStretchesNorDuplicatesSlots(t *testing.T) {
	cases := []struct {
		name, zone    string
		first, last   string
		rules         rules
		want          []string // UTC starts, all days
		before, after string   // days either side of the change, with the same wall-clock slots
		offsetChange  time.Duration
	}{
		{
			name: "New York spring forward, 30-minute slots", zone: "America/New_York",
			first: "2026-03-07", last: "2026-03-09", rules: everyDay("00:30", "04:00", 30, 0),
			want: []string{
				// Saturday 7, EST (UTC-5): 00:30 … 03:30 local.
				"2026-03-07T05:30:00Z", "2026-03-07T06:00:00Z", "2026-03-07T06:30:00Z", "2026-03-07T07:00:00Z",
				"2026-03-07T07:30:00Z", "2026-03-07T08:00:00Z", "2026-03-07T08:30:00Z",
				// Sunday 8: 00:30, 01:00, 01:30 EST (ending at 03:00 EDT, the instant of the
				// jump), then 03:00 and 03:30 EDT; 02:00–03:00 does not exist.
				"2026-03-08T05:30:00Z", "2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z",
				"2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z",
				// Monday 9, EDT (UTC-4): the same wall-clock times, an hour earlier in UTC.
				"2026-03-09T04:30:00Z", "2026-03-09T05:00:00Z", "2026-03-09T05:30:00Z", "2026-03-09T06:00:00Z",
				"2026-03-09T06:30:00Z", "2026-03-09T07:00:00Z", "2026-03-09T07:30:00Z",
			},
			before: "2026-03-07", after: "2026-03-09", offsetChange: time.Hour,
		},
		{
			name: "New York spring forward, a 50-minute slot would straddle the jump", zone: "America/New_York",
			first: "2026-03-08", last: "2026-03-08", rules: everyDay("00:30", "05:00", 50, 10),
			// 00:30 EST; 01:30 EST would end at 03:20 EDT; 02:30 does not exist; 03:30 EDT.
			want: []string{"2026-03-08T05:30:00Z", "2026-03-08T07:30:00Z"},
		},
		{
			name: "New York fall back, 30-minute slots", zone: "America/New_York",
			first: "2026-10-31", last: "2026-11-02", rules: everyDay("00:30", "04:00", 30, 0),
			want: []string{
				// Saturday 31 October, EDT (UTC-4).
				"2026-10-31T04:30:00Z", "2026-10-31T05:00:00Z", "2026-10-31T05:30:00Z", "2026-10-31T06:00:00Z",
				"2026-10-31T06:30:00Z", "2026-10-31T07:00:00Z", "2026-10-31T07:30:00Z",
				// Sunday 1 November: 00:30, 01:00, 01:30 EDT; the second 01:00–02:00 (EST,
				// 06:00Z–07:00Z) repeats wall-clock times already given; then 02:00 … 03:30 EST.
				"2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z",
				"2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z", "2026-11-01T08:00:00Z", "2026-11-01T08:30:00Z",
				// Monday 2, EST (UTC-5).
				"2026-11-02T05:30:00Z", "2026-11-02T06:00:00Z", "2026-11-02T06:30:00Z", "2026-11-02T07:00:00Z",
				"2026-11-02T07:30:00Z", "2026-11-02T08:00:00Z", "2026-11-02T08:30:00Z",
			},
			before: "2026-10-31", after: "2026-11-02", offsetChange: -time.Hour,
		},
		{
			name: "New York fall back, a 50-minute slot would straddle the change", zone: "America/New_York",
			first: "2026-11-01", last: "2026-11-01", rules: everyDay("00:30", "04:00", 50, 10),
			// 00:30 EDT; 01:30 EDT would run into the repeated hour; 02:30 EST.
			want: []string{"2026-11-01T04:30:00Z", "2026-11-01T07:30:00Z"},
		},
		{
			// East of UTC, time.Date resolves a repeated wall-clock time to its second
			// occurrence: still one slot per wall-clock time, none overlapping.
			name: "Berlin fall back, 30-minute slots", zone: "Europe/Berlin",
			first: "2026-10-24", last: "2026-10-26", rules: everyDay("01:30", "04:00", 30, 0),
			want: []string{
				// Saturday 24, CEST (UTC+2): 01:30 … 03:30 local.
				"2026-10-23T23:30:00Z", "2026-10-24T00:00:00Z", "2026-10-24T00:30:00Z", "2026-10-24T01:00:00Z", "2026-10-24T01:30:00Z",
				// Sunday 25: 01:30 CEST, then 02:00 … 03:30 CET (UTC+1).
				"2026-10-24T23:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z",
				// Monday 26, CET.
				"2026-10-26T00:30:00Z", "2026-10-26T01:00:00Z", "2026-10-26T01:30:00Z", "2026-10-26T02:00:00Z", "2026-10-26T02:30:00Z",
			},
			before: "2026-10-24", after: "2026-10-26", offsetChange: -time.Hour,
		},
		{
			name: "São Paulo 2018, clocks forward at midnight", zone: "America/Sao_Paulo",
			first: "2018-11-03", last: "2018-11-05", rules: everyDay("00:00", "03:00", 60, 0),
			want: []string{
				// Saturday 3, UTC-3.
				"2018-11-03T03:00:00Z", "2018-11-03T04:00:00Z", "2018-11-03T05:00:00Z",
				// Sunday 4: midnight does not exist (00:00 became 01:00, UTC-2).
				"2018-11-04T03:00:00Z", "2018-11-04T04:00:00Z",
				// Monday 5, UTC-2.
				"2018-11-05T02:00:00Z", "2018-11-05T03:00:00Z", "2018-11-05T04:00:00Z",
			},
			before: "2018-11-03", after: "2018-11-05", offsetChange: time.Hour,
		},
		{
			name: "São Paulo 2018, the last slot of Saturday ends as midnight is skipped", zone: "America/Sao_Paulo",
			first: "2018-11-03", last: "2018-11-04", rules: everyDay("23:00", "24:00", 30, 0),
			// 23:00 and 23:30 on Saturday (UTC-3); the second ends at 01:00 UTC-2. On
			// Sunday both run in UTC-2.
			want: []string{"2018-11-04T02:00:00Z", "2018-11-04T02:30:00Z", "2018-11-05T01:00:00Z", "2018-11-05T01:30:00Z"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoad(t, tc.zone)
			got := generate(tc.rules, loc, date(tc.first), date(tc.last))
			gotStarts := make([]time.Time, len(got))
			for i, s := range got {
				gotStarts[i] = s.start
			}
			wantTimes(t, "slot starts", gotStarts, utc(tc.want...))

			length := time.Duration(tc.rules.slot) * time.Minute
			for i, s := range got {
				if s.start.Location() != time.UTC || s.end.Location() != time.UTC {
					t.Errorf("slot %d is not in UTC: %v–%v", i, s.start, s.end)
				}
				if d := s.end.Sub(s.start); d != length {
					t.Errorf("slot at %s lasts %s of real time, want %s", s.start.Format(time.RFC3339), d, length)
				}
				_, startOffset := s.start.In(loc).Zone()
				_, lastOffset := s.end.Add(-time.Nanosecond).In(loc).Zone()
				if startOffset != lastOffset {
					t.Errorf("slot %s–%s spans a clock change", s.start.Format(time.RFC3339), s.end.Format(time.RFC3339))
				}
				if i > 0 && s.start.Before(got[i-1].end) {
					t.Errorf("slot at %s overlaps or repeats the one at %s", s.start.Format(time.RFC3339), got[i-1].start.Format(time.RFC3339))
				}
			}

			if tc.before == "" {
				return
			}
			wall := func(day string) (clock []string, offset int) {
				for _, s := range got {
					l := s.start.In(loc)
					if l.Format(time.DateOnly) == day {
						clock = append(clock, l.Format("15:04"))
						_, offset = l.Zone()
					}
				}
				return clock, offset
			}
			before, offBefore := wall(tc.before)
			after, offAfter := wall(tc.after)
			if len(before) == 0 || !slices.Equal(before, after) {
				t.Errorf("wall-clock slots differ around the change: %s %v, %s %v", tc.before, before, tc.after, after)
			}
			if got := time.Duration(offAfter-offBefore) * time.Second; got != tc.offsetChange {
				t.Errorf("UTC offset changed by %s between %s and %s, want %s", got, tc.before, tc.after, tc.offsetChange)
			}
		})
	}
}

// TestGenerate_WindowsBecomeSlotsOnTheirLocalDates checks the layout rules away from
// clock changes: weekly windows on their weekday, the gap after each slot, a tail too
// short for a slot left unused, 24:00 as the end of the day, day-offs and extra windows
// by local date, in order.
func TestGenerate_WindowsBecomeSlotsOnTheirLocalDates(t *testing.T) {
	loc := mustLoad(t, "America/Sao_Paulo")
	r := rules{dayOff: map[string]bool{"2026-06-08": true}, extra: map[string][]window{
		"2026-06-03": {{parseClock("14:00"), parseClock("15:00")}}, // a Wednesday
		"2026-06-08": {{parseClock("18:00"), parseClock("19:00")}}, // the Monday off
	}, slot: 40, gap: 5}
	r.weekly[1] = []window{{parseClock("08:00"), parseClock("10:00")}, {parseClock("22:30"), parseClock("24:00")}}
	got := generate(r, loc, date("2026-06-01"), date("2026-06-08"))
	var gotStarts []time.Time
	for _, s := range got {
		gotStarts = append(gotStarts, s.start)
		if s.end.Sub(s.start) != 40*time.Minute {
			t.Errorf("slot at %s lasts %s", s.start, s.end.Sub(s.start))
		}
	}
	wantTimes(t, "slot starts", gotStarts, utc(
		// Monday 1: 08:00, 08:45 (09:30 would end at 10:10); 22:30, 23:15 (ends 23:55).
		"2026-06-01T11:00:00Z", "2026-06-01T11:45:00Z", "2026-06-02T01:30:00Z", "2026-06-02T02:15:00Z",
		// Wednesday 3: the extra window's 14:00.
		"2026-06-03T17:00:00Z",
		// Monday 8 is off: only the extra window's 18:00.
		"2026-06-08T21:00:00Z",
	))
}
