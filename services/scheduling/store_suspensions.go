package scheduling

import (
	"context"
	"fmt"
	"time"

	"healthcore/platform/pg"
)

// suspensionStore keeps the doctors identity suspended, and the per-doctor lock that
// orders a suspension against the doctor's bookings.
type suspensionStore struct{}

// lock holds, until the transaction q ends, the doctor's booking lock: shared by
// bookings, exclusive for a suspension.
func (suspensionStore) lock(ctx context.Context, q pg.Querier, doctorID string, exclusive bool) error {
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := q.Exec(ctx, `SELECT `+fn+`(hashtextextended('scheduling.doctor:' || $1::text, 0))`, doctorID); err != nil {
		return fmt.Errorf("lock the doctor's bookings: %w", err)
	}
	return nil
}

// suspend records the doctor's suspension at at; a suspension already recorded stays
// as it was.
func (suspensionStore) suspend(ctx context.Context, q pg.Querier, doctorID string, at time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO suspended_doctors (doctor_id, suspended_at) VALUES ($1, $2)
		ON CONFLICT (doctor_id) DO NOTHING`, doctorID, at); err != nil {
		return fmt.Errorf("record suspension: %w", err)
	}
	return nil
}

// suspended reports whether the doctor is suspended.
func (suspensionStore) suspended(ctx context.Context, q pg.Querier, doctorID string) (bool, error) {
	var yes bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM suspended_doctors WHERE doctor_id = $1)`, doctorID).Scan(&yes); err != nil {
		return false, fmt.Errorf("read suspension: %w", err)
	}
	return yes, nil
}
