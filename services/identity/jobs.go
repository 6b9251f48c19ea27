package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"healthcore/platform/errs"
	"healthcore/platform/jobs"
	"healthcore/platform/notify"
)

// keyCheckEvery is how often the elected leader checks the active signing key's age.
const keyCheckEvery = time.Minute

// rotateKeysArgs is the periodic check that replaces the token signing key once it is
// older than Config.KeyRotation.
type rotateKeysArgs struct{}

func (rotateKeysArgs) Kind() string { return "identity.rotate_keys" }

// InsertOpts keeps at most one check waiting or running.
func (rotateKeysArgs) InsertOpts() river.InsertOpts { return jobs.OneAtATime() }

// rotateKeysPeriodic schedules the check every keyCheckEvery, and at once when a
// replica becomes the leader, so a key that fell due while no leader ran is replaced.
func rotateKeysPeriodic() *river.PeriodicJob { return jobs.Every(keyCheckEvery, rotateKeysArgs{}) }

func (s *Service) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(s.workRotateKeys))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, _ *river.Job[exportAuditArgs]) error {
		_, err := s.exportAudit(ctx, exportBatch)
		return err
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, _ *river.Job[pruneThrottleArgs]) error {
		_, err := s.pruneThrottle(ctx)
		return err
	}))
	river.AddWorker(w, river.WorkFunc(s.workExport))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[expireDataExportArgs]) error {
		return s.expireExport(ctx, j.Args.ExportID)
	}))
	river.AddWorker(w, river.WorkFunc(s.finishErasure))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[publishListingArgs]) error {
		return s.publishListing(ctx, j.Args)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[suspendAppointmentsArgs]) error {
		return s.suspendAppointments(ctx, j.Args)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[notifyArgs]) error {
		return notify.Send(ctx, s.notifications, s.log, j.Args.Request)
	}))
	return w
}

// workRotateKeys replaces the active signing key if it is due. Running it twice
// replaces a key once.
func (s *Service) workRotateKeys(ctx context.Context, _ *river.Job[rotateKeysArgs]) error {
	rotated, err := s.keys.rotateIfOlder(ctx, s.cfg.KeyRotation)
	if err != nil {
		return fmt.Errorf("identity: rotate signing key: %w", err)
	}
	if rotated {
		s.log.InfoContext(ctx, "signing key rotated", "kid", s.keys.signingKey().KID)
	}
	return nil
}

// pruneThrottleArgs is the periodic deletion of the abuse-control rows that no longer
// change any answer (Config.PruneEvery), run by the elected leader.
type pruneThrottleArgs struct{}

func (pruneThrottleArgs) Kind() string { return "identity.prune_throttle" }

// InsertOpts keeps at most one prune waiting or running.
func (pruneThrottleArgs) InsertOpts() river.InsertOpts { return jobs.OneAtATime() }

// pruneThrottle deletes the login throttle keys neither blocked nor counting any more
// (a new key would answer the same), the registration and e-mail windows that ended
// (the longer window of the two decides), the clients not seen for
// Throttle.KnownClientFor, and the logins that waited for a second factor and expired
// or were completed; it returns how many rows went.
func (s *Service) pruneThrottle(ctx context.Context) (int64, error) {
	now, p := s.now(), s.cfg.Throttle
	n, err := s.throttle.pruneThrottle(ctx, s.db, now, now.Add(-p.Window), now.Add(-max(s.cfg.Register.Window, s.cfg.Mail.Window)), now.Add(-p.KnownClientFor))
	if err != nil {
		return n, errs.Internal("identity: prune throttle", err)
	}
	m, err := s.factors.pruneChallenges(ctx, s.db, now)
	n += m
	if err != nil {
		return n, errs.Internal("identity: prune mfa challenges", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "spent throttle rows deleted", "rows", n)
	}
	return n, nil
}
