package scheduling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/pg"
)

// availabilityStore reads and writes doctors' availability: the settings row (which
// also says when slots were last generated), the weekly windows and the date
// exceptions, always replaced and read as a whole.
type availabilityStore struct{}

// replace stores a doctor's availability in place of what they had, as generated at
// now. The settings row's lock, held until the transaction q ends, serialises
// concurrent changes (and roll-forwards) of one doctor.
func (availabilityStore) replace(ctx context.Context, q pg.Querier, doctorID string, a *schedulingv1.Availability, now time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO availability (doctor_id, slot_minutes, gap_minutes, updated_at, rolled_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (doctor_id) DO UPDATE SET slot_minutes = $2, gap_minutes = $3, updated_at = $4, rolled_at = $4`,
		doctorID, a.GetSlotMinutes(), a.GetGapMinutes(), now); err != nil {
		return fmt.Errorf("upsert availability: %w", err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM availability_windows WHERE doctor_id = $1`, doctorID); err != nil {
		return fmt.Errorf("delete weekly windows: %w", err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM availability_exceptions WHERE doctor_id = $1`, doctorID); err != nil {
		return fmt.Errorf("delete date exceptions: %w", err)
	}
	for _, w := range a.GetWeekly() {
		if _, err := q.Exec(ctx, `INSERT INTO availability_windows (doctor_id, weekday, start_time, end_time) VALUES ($1, $2, $3, $4)`,
			doctorID, int(w.GetWeekday()), w.GetStartTime(), w.GetEndTime()); err != nil {
			return fmt.Errorf("insert weekly window: %w", err)
		}
	}
	for _, e := range a.GetExceptions() {
		kind, start, end := "day_off", any(nil), any(nil)
		if e.GetKind() == schedulingv1.ExceptionKind_EXCEPTION_KIND_EXTRA {
			kind, start, end = "extra", e.GetStartTime(), e.GetEndTime()
		}
		if _, err := q.Exec(ctx, `INSERT INTO availability_exceptions (doctor_id, day, kind, start_time, end_time) VALUES ($1, $2, $3, $4, $5)`,
			doctorID, e.GetDate(), kind, start, end); err != nil {
			return fmt.Errorf("insert date exception: %w", err)
		}
	}
	return nil
}

// getForUpdate reads a doctor's availability, locking its settings row until the
// transaction q ends, so that no change or roll-forward of the doctor runs meanwhile;
// ok is false when none is set.
func (availabilityStore) getForUpdate(ctx context.Context, q pg.Querier, doctorID string) (a *schedulingv1.Availability, ok bool, err error) {
	a = &schedulingv1.Availability{}
	err = q.QueryRow(ctx, `SELECT slot_minutes, gap_minutes FROM availability WHERE doctor_id = $1 FOR UPDATE`, doctorID).
		Scan(&a.SlotMinutes, &a.GapMinutes)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get availability: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT weekday, to_char(start_time, 'HH24:MI'), CASE WHEN end_time = '24:00' THEN '24:00' ELSE to_char(end_time, 'HH24:MI') END
		FROM availability_windows WHERE doctor_id = $1 ORDER BY weekday, start_time`, doctorID)
	if err != nil {
		return nil, false, fmt.Errorf("read weekly windows: %w", err)
	}
	a.Weekly, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*schedulingv1.WeeklyWindow, error) {
		var w schedulingv1.WeeklyWindow
		var day int32
		err := r.Scan(&day, &w.StartTime, &w.EndTime)
		w.Weekday = schedulingv1.Weekday(day)
		return &w, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("read weekly windows: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), kind, coalesce(to_char(start_time, 'HH24:MI'), ''),
			CASE WHEN end_time IS NULL THEN '' WHEN end_time = '24:00' THEN '24:00' ELSE to_char(end_time, 'HH24:MI') END
		FROM availability_exceptions WHERE doctor_id = $1 ORDER BY day, start_time NULLS FIRST`, doctorID)
	if err != nil {
		return nil, false, fmt.Errorf("read date exceptions: %w", err)
	}
	a.Exceptions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*schedulingv1.DateException, error) {
		var e schedulingv1.DateException
		var kind string
		err := r.Scan(&e.Date, &kind, &e.StartTime, &e.EndTime)
		e.Kind = schedulingv1.ExceptionKind_EXCEPTION_KIND_DAY_OFF
		if kind == "extra" {
			e.Kind = schedulingv1.ExceptionKind_EXCEPTION_KIND_EXTRA
		}
		return &e, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("read date exceptions: %w", err)
	}
	return a, true, nil
}

// markRolled notes that a doctor's slots were generated at now.
func (availabilityStore) markRolled(ctx context.Context, q pg.Querier, doctorID string, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE availability SET rolled_at = $2 WHERE doctor_id = $1`, doctorID, now); err != nil {
		return fmt.Errorf("mark availability rolled: %w", err)
	}
	return nil
}

// dueForRoll returns up to limit doctors whose slots were last generated before
// before, longest waiting first.
func (availabilityStore) dueForRoll(ctx context.Context, q pg.Querier, before time.Time, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT doctor_id::text FROM availability WHERE rolled_at < $1 ORDER BY rolled_at LIMIT $2`,
		before, limit)
	if err != nil {
		return nil, fmt.Errorf("list doctors due for roll-forward: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list doctors due for roll-forward: %w", err)
	}
	return ids, nil
}
