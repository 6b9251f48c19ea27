package scheduling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"healthcore/platform/errs"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// withinPendingCap refuses a booking when the patient already holds
// Config.MaxPendingBookings unpaid ones. It locks the patient's bookings until tx ends,
// so concurrent bookings of one patient are counted one after another and the cap holds.
func (s *Service) withinPendingCap(ctx context.Context, tx pgx.Tx, patientID string, now time.Time) error {
	if err := s.appointments.lockPatient(ctx, tx, patientID); err != nil {
		return err
	}
	n, err := s.appointments.countPending(ctx, tx, patientID, now)
	if err != nil {
		return err
	}
	if limit := s.cfg.MaxPendingBookings; n >= limit {
		return ReasonTooManyPendingBookings.New(fmt.Sprintf(
			"you already have %d bookings waiting for payment: pay or cancel one before booking another", n)).
			WithMetadata(map[string]string{"max_pending_bookings": fmt.Sprint(limit)})
	}
	return nil
}

// The prefixes of the booking buckets' keys: a patient's, a client address block's.
const (
	patientBuckets = "patient:"
	addressBuckets = "addr:"
)

// takeBookingTokens takes one token from the patient's bucket and one from the client
// address's, or neither: a refusal says when to retry and costs nothing.
func (s *Service) takeBookingTokens(ctx context.Context, patientID, addr string) error {
	r := s.cfg.BookingRate
	type bucket struct {
		key   string
		limit int
	}
	var buckets []bucket
	if r.PerPatient > 0 {
		buckets = append(buckets, bucket{patientBuckets + patientID, r.PerPatient})
	}
	if r.PerAddress > 0 && addr != "" {
		buckets = append(buckets, bucket{addressBuckets + server.AddrBlock(addr), r.PerAddress})
	}
	if len(buckets) == 0 {
		return nil
	}
	now := s.now()
	var wait time.Duration
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		wait = 0
		for _, b := range buckets {
			w, err := s.throttle.take(ctx, tx, b.key, float64(b.limit), float64(b.limit)/r.Period.Seconds(), now)
			if err != nil {
				return err
			}
			wait = max(wait, w)
		}
		if wait > 0 {
			return errBookingThrottled // rolls back what was taken
		}
		return nil
	})
	if errors.Is(err, errBookingThrottled) {
		wait = max(wait.Round(time.Second), time.Second)
		return ReasonBookingThrottled.New("too many booking attempts from you or your address: wait before booking again").WithRetryAfter(wait)
	}
	if err != nil {
		return errs.Internal("scheduling: book: take a booking token", err)
	}
	return nil
}

// errBookingThrottled ends the token transaction, undoing what it took.
var errBookingThrottled = ReasonBookingThrottled.New("too many booking attempts")

// pruneThrottleArgs is the periodic deletion of the booking buckets that have refilled
// (Config.PruneEvery), run by the elected leader.
type pruneThrottleArgs struct{}

func (pruneThrottleArgs) Kind() string { return "scheduling.prune_throttle" }

// InsertOpts keeps at most one prune waiting or running.
func (pruneThrottleArgs) InsertOpts() river.InsertOpts { return jobs.OneAtATime() }

// pruneThrottle deletes the booking buckets that are full again at now: a booking
// finds a missing bucket as full as a kept one. It returns how many it deleted.
func (s *Service) pruneThrottle(ctx context.Context) (int64, error) {
	r := s.cfg.BookingRate
	var kinds []bucketKind
	if r.PerPatient > 0 {
		kinds = append(kinds, bucketKind{patientBuckets, float64(r.PerPatient)})
	}
	if r.PerAddress > 0 {
		kinds = append(kinds, bucketKind{addressBuckets, float64(r.PerAddress)})
	}
	n, err := s.throttle.pruneFull(ctx, s.db, kinds, r.Period, s.now())
	if err != nil {
		return n, errs.Internal("scheduling: prune booking buckets", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "full booking buckets deleted", "rows", n)
	}
	return n, nil
}
