package scheduling

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
)

// loadAvailability reads a doctor's stored availability; ok is false when none is set.
func loadAvailability(ctx context.Context, q pgx.Tx, doctorID string) (a *schedulingv1.Availability, ok bool, err error) {
	a = &schedulingv1.Availability{}
	err = q.QueryRow(ctx, `SELECT slot_minutes, gap_minutes FROM availability WHERE doctor_id = $1 FOR UPDATE`, doctorID).
		Scan(&a.SlotMinutes, &a.GapMinutes)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	rows, err := q.Query(ctx, `SELECT weekday, to_char(start_time, 'HH24:MI'), CASE WHEN end_time = '24:00' THEN '24:00' ELSE to_char(end_time, 'HH24:MI') END
		FROM availability_windows WHERE doctor_id = $1 ORDER BY weekday, start_time`, doctorID)
	if err != nil {
		return nil, false, err
	}
	a.Weekly, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*schedulingv1.WeeklyWindow, error) {
		var w schedulingv1.WeeklyWindow
		var day int32
		err := r.Scan(&day, &w.StartTime, &w.EndTime)
		w.Weekday = schedulingv1.Weekday(day)
		return &w, err
	})
	if err != nil {
		return nil, false, err
	}
	rows, err = q.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), kind, coalesce(to_char(start_time, 'HH24:MI'), ''),
			CASE WHEN end_time IS NULL THEN '' WHEN end_time = '24:00' THEN '24:00' ELSE to_char(end_time, 'HH24:MI') END
		FROM availability_exceptions WHERE doctor_id = $1 ORDER BY day, start_time NULLS FIRST`, doctorID)
	if err != nil {
		return nil, false, err
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
	return a, err == nil, err
}

// getAvailability returns the calling doctor's availability and time zone.
func (s *Service) getAvailability(ctx context.Context, doctorID string) (*schedulingv1.GetAvailabilityResponse, error) {
	pr, err := s.practiceOf(ctx, doctorID)
	if err != nil {
		return nil, err
	}
	var a *schedulingv1.Availability
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		a, _, err = loadAvailability(ctx, tx, doctorID)
		return err
	})
	if err != nil {
		return nil, errs.Internal("scheduling: getAvailability", err)
	}
	return &schedulingv1.GetAvailabilityResponse{Availability: a, TimeZone: pr.zone}, nil
}

// rollForward extends one doctor's slots to the full horizon, from the stored
// availability and the doctor's current time zone. It changes nothing else: slots
// the availability still has stay as they are.
func (s *Service) rollForward(ctx context.Context, doctorID string) (regeneration, error) {
	pr, err := s.practiceOf(ctx, doctorID)
	if err != nil {
		return regeneration{}, err
	}
	var res regeneration
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		a, ok, err := loadAvailability(ctx, tx, doctorID)
		if err != nil || !ok {
			return err
		}
		r, err := compile(a, pr.minutes)
		if err != nil {
			return err
		}
		if res, err = s.regenerate(ctx, tx, doctorID, r, pr.loc); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE availability SET rolled_at = $2 WHERE doctor_id = $1`, doctorID, s.now())
		return err
	})
	return res, err
}

// rollDue rolls forward every doctor whose slots were last generated more than a day
// ago, a batch at a time, and returns how many it rolled.
func (s *Service) rollDue(ctx context.Context) (int, error) {
	n := 0
	for {
		rows, err := s.db.Query(ctx, `SELECT doctor_id::text FROM availability WHERE rolled_at < $1 ORDER BY rolled_at LIMIT 100`,
			s.now().Add(-24*time.Hour))
		if err != nil {
			return n, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, id := range ids {
			if _, err := s.rollForward(ctx, id); err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				// One doctor's problem (e.g. no time zone any more) must not stop the
				// others; mark it rolled and let the next run try again tomorrow.
				s.log.WarnContext(ctx, "roll forward failed", "doctor_id", id, "error", err.Error())
				if _, err := s.db.Exec(ctx, `UPDATE availability SET rolled_at = $2 WHERE doctor_id = $1`, id, s.now()); err != nil {
					return n, err
				}
				continue
			}
			n++
		}
	}
}

// rollLoop is the daily roll-forward job: every RollEvery, the replica holding the
// job's advisory lock extends the slots of doctors not rolled in the last day. The
// work is idempotent, so a crash midway only means the rest waits for the next run.
func (s *Service) rollLoop(ctx context.Context) error {
	t := time.NewTicker(s.cfg.RollEvery)
	defer t.Stop()
	for {
		if err := s.rollOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "roll forward run failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) rollOnce(ctx context.Context) error {
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var leader bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('scheduling.roll_forward'))`).Scan(&leader); err != nil || !leader {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('scheduling.roll_forward'))`)
	n, err := s.rollDue(ctx)
	if n > 0 {
		s.log.InfoContext(ctx, "slots rolled forward", "doctors", n)
	}
	return err
}
