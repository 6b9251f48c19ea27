package scheduling

import (
	"sort"
	"time"
)

// window is a stretch of a local day, in minutes from midnight (end ≤ 1440).
type window struct{ start, end int }

func (w window) overlaps(o window) bool { return w.start < o.end && o.start < w.end }

// rules is an availability ready for slot generation.
type rules struct {
	weekly    [8][]window // by ISO weekday, 1 Monday … 7 Sunday
	dayOff    map[string]bool
	extra     map[string][]window // by local date YYYY-MM-DD
	slot, gap int                 // minutes
}

// span is one slot's instants.
type span struct{ start, end time.Time }

// isoWeekday maps Go's Sunday-first weekday to ISO's Monday-first 1…7.
func isoWeekday(d time.Weekday) int { return (int(d)+6)%7 + 1 }

// generate returns the slots of the local dates first…last (inclusive) in loc, in
// order. Each slot is laid out on the wall clock and converted to an instant; a slot
// whose start does not exist that day (the hour skipped when clocks go forward), or
// with a clock change strictly inside it, is left out, so a daylight-saving change
// never shifts, stretches or duplicates a slot. A wall-clock time lived twice (clocks
// going back) gives its slot once, at the occurrence time.Date picks.
func generate(r rules, loc *time.Location, first, last time.Time) []span {
	var out []span
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		var ws []window
		if !r.dayOff[key] {
			ws = append(ws, r.weekly[isoWeekday(d.Weekday())]...)
		}
		ws = append(ws, r.extra[key]...)
		for _, w := range ws {
			for m := w.start; m+r.slot <= w.end; m += r.slot + r.gap {
				start := time.Date(d.Year(), d.Month(), d.Day(), 0, m, 0, 0, loc)
				if !sameWall(start, loc, d, m) {
					continue // this wall time does not exist today
				}
				end := start.Add(time.Duration(r.slot) * time.Minute)
				// A clock change inside the slot would stretch or shrink it on the wall
				// clock. One at its very end does not: the slot keeps its real length and
				// the next wall-clock slot is judged on its own.
				_, startOffset := start.Zone()
				if _, lastOffset := end.Add(-time.Nanosecond).Zone(); lastOffset != startOffset {
					continue
				}
				out = append(out, span{start: start.UTC(), end: end.UTC()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// sameWall reports whether instant t reads, in loc, as minute m after the midnight
// that begins local date d (m may reach into the next day).
func sameWall(t time.Time, loc *time.Location, d time.Time, m int) bool {
	want := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
	got := t.In(loc)
	return got.Year() == want.Year() && got.Month() == want.Month() && got.Day() == want.Day() &&
		got.Hour() == want.Hour() && got.Minute() == want.Minute()
}

// localDate returns the calendar date of t in loc, as midnight UTC (for date arithmetic
// that no clock change can disturb).
func localDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
