package notifications

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// heldFor is how long a status for a message id we never recorded is kept: a send
// records its id within its job's timeout, so a status still held a day later names a
// message of another app on the same business number, or one we never sent.
const heldFor = 24 * time.Hour

// pruneHeldArgs is the hourly job that forgets such statuses.
type pruneHeldArgs struct{}

func (pruneHeldArgs) Kind() string { return "notifications.prune_held" }

func pruneHeldJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return pruneHeldArgs{}, nil },
		&river.PeriodicJobOpts{ID: pruneHeldArgs{}.Kind(), RunOnStart: true})
}

func (s *Service) pruneHeld(ctx context.Context) error {
	return s.notifications.pruneHeld(ctx, s.db, s.now().Add(-heldFor))
}
