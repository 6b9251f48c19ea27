package scheduling

import (
	"fmt"
	"sort"
	"strings"
	"time"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
)

// parseClock reads HH:MM (24:00 allowed) as minutes from midnight.
func parseClock(s string) int {
	var h, m int
	fmt.Sscanf(s, "%d:%d", &h, &m)
	return h*60 + m
}

func formatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// compile checks an availability against the rules the proto cannot state — end after
// start, no overlapping windows on a day, real dates, day-offs without times and extra
// windows with them — and turns it into generation rules. Every problem is reported.
func compile(a *schedulingv1.Availability, defaultSlot int) (rules, error) {
	r := rules{dayOff: map[string]bool{}, extra: map[string][]window{}, slot: int(a.GetSlotMinutes()), gap: int(a.GetGapMinutes())}
	if r.slot == 0 {
		r.slot = defaultSlot
	}
	var v []errs.Violation
	bad := func(field, format string, args ...any) {
		v = append(v, errs.Violation{Field: field, Description: fmt.Sprintf(format, args...)})
	}
	if a.GetSlotMinutes() != 0 && a.GetSlotMinutes() < 10 {
		bad("availability.slot_minutes", "must be 0 (the consultation length) or 10 to 240")
	}
	type placed struct {
		w     window
		field string
	}
	weekly := [8][]placed{}
	for i, w := range a.GetWeekly() {
		field := fmt.Sprintf("availability.weekly[%d]", i)
		win := window{parseClock(w.GetStartTime()), parseClock(w.GetEndTime())}
		if win.end <= win.start {
			bad(field+".end_time", "must be after start_time %s", w.GetStartTime())
			continue
		}
		if win.end-win.start < r.slot {
			bad(field, "is shorter than one slot (%d minutes)", r.slot)
		}
		day := int(w.GetWeekday())
		for _, o := range weekly[day] {
			if o.w.overlaps(win) {
				bad(field, "overlaps %s (%s %s–%s)", o.field, weekdayName(day), formatClock(o.w.start), formatClock(o.w.end))
			}
		}
		weekly[day] = append(weekly[day], placed{win, field})
	}
	// A day off cancels that date's weekly windows, so an extra window that date may
	// overlap them: "this Monday, 10:00–11:00 instead of 09:00–12:00".
	off := map[string]bool{}
	for _, e := range a.GetExceptions() {
		if e.GetKind() == schedulingv1.ExceptionKind_EXCEPTION_KIND_DAY_OFF {
			off[e.GetDate()] = true
		}
	}
	extras := map[string][]placed{}
	for i, e := range a.GetExceptions() {
		field := fmt.Sprintf("availability.exceptions[%d]", i)
		d, err := time.Parse(time.DateOnly, e.GetDate())
		if err != nil {
			bad(field+".date", "%q is not a calendar date", e.GetDate())
			continue
		}
		switch e.GetKind() {
		case schedulingv1.ExceptionKind_EXCEPTION_KIND_DAY_OFF:
			if e.GetStartTime() != "" || e.GetEndTime() != "" {
				bad(field, "a day off has no start_time or end_time")
				continue
			}
			r.dayOff[e.GetDate()] = true
		case schedulingv1.ExceptionKind_EXCEPTION_KIND_EXTRA:
			if e.GetStartTime() == "" || e.GetEndTime() == "" {
				bad(field, "an extra window needs start_time and end_time")
				continue
			}
			win := window{parseClock(e.GetStartTime()), parseClock(e.GetEndTime())}
			if win.end <= win.start {
				bad(field+".end_time", "must be after start_time %s", e.GetStartTime())
				continue
			}
			if win.end-win.start < r.slot {
				bad(field, "is shorter than one slot (%d minutes)", r.slot)
			}
			for _, o := range extras[e.GetDate()] {
				if o.w.overlaps(win) {
					bad(field, "overlaps %s on %s", o.field, e.GetDate())
				}
			}
			for _, o := range weekly[isoWeekday(d.Weekday())] {
				if o.w.overlaps(win) && !off[e.GetDate()] {
					bad(field, "overlaps %s, the weekly window of %s %s–%s", o.field, weekdayName(isoWeekday(d.Weekday())),
						formatClock(o.w.start), formatClock(o.w.end))
				}
			}
			extras[e.GetDate()] = append(extras[e.GetDate()], placed{win, field})
		}
	}
	if len(v) > 0 {
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = x.Field + " " + x.Description
		}
		return rules{}, ReasonAvailabilityInvalid.New("invalid availability: " + strings.Join(parts, "; ")).WithViolations(v...)
	}
	for day, ps := range weekly {
		for _, p := range ps {
			r.weekly[day] = append(r.weekly[day], p.w)
		}
	}
	for date, ps := range extras {
		for _, p := range ps {
			r.extra[date] = append(r.extra[date], p.w)
		}
	}
	// An extra window on a day off still applies: the doctor said both on purpose.
	for day := range r.weekly {
		sort.Slice(r.weekly[day], func(i, j int) bool { return r.weekly[day][i].start < r.weekly[day][j].start })
	}
	return r, nil
}

func weekdayName(iso int) string {
	return []string{"", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}[iso]
}
