package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// getAvailability returns the calling doctor's availability and time zone.
func (s *Service) getAvailability(ctx context.Context, doctorID string) (*schedulingv1.GetAvailabilityResponse, error) {
	pr, err := s.practiceOf(ctx, doctorID)
	if err != nil {
		return nil, err
	}
	var a *schedulingv1.Availability
	// Read in one transaction holding the settings row, so a concurrent change is seen
	// whole or not at all.
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		a, _, err = s.availability.getForUpdate(ctx, tx, doctorID)
		return err
	})
	if err != nil {
		return nil, errs.Internal("scheduling: get availability", err)
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
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		a, ok, err := s.availability.getForUpdate(ctx, tx, doctorID)
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
		return s.availability.markRolled(ctx, tx, doctorID, s.now())
	})
	return res, err
}

// rollForwardArgs is the daily roll-forward: a River periodic job, run every
// Config.RollEvery (and when a replica becomes the leader) by the elected leader only,
// so it runs once however many replicas there are.
type rollForwardArgs struct{}

func (rollForwardArgs) Kind() string { return "scheduling.roll_forward" }

// rollForwardJob is the periodic job that extends the slots of doctors not rolled in
// the last day.
func (s *Service) rollForwardJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(s.cfg.RollEvery),
		func() (river.JobArgs, *river.InsertOpts) { return rollForwardArgs{}, nil },
		&river.PeriodicJobOpts{ID: rollForwardArgs{}.Kind(), RunOnStart: true})
}

// rollDue rolls forward every doctor whose slots were last generated more than a day
// ago, a batch at a time, and returns how many it rolled. The work is idempotent, so a
// run cut short (a crash, the job's timeout) only leaves the rest to the next one.
func (s *Service) rollDue(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := s.availability.dueForRoll(ctx, s.db, s.now().Add(-24*time.Hour), 100)
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
				if err := s.availability.markRolled(ctx, s.db, id, s.now()); err != nil {
					return n, err
				}
				continue
			}
			n++
		}
	}
}
