package scheduling

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// maxSlot is the longest a slot can be (slot_minutes and the directory's consultation
// length are at most 240): a slot under way started less than this long ago, which
// lets its lookup use the (doctor_id, start_at) index.
const maxSlot = 240 * time.Minute

// liveStates are the appointment states that hold a slot.
const liveStates = `('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED')`

// regeneration is what one regeneration did.
type regeneration struct {
	created, removed int
	conflicts        []slotRow
}

// setAvailability replaces the calling doctor's availability and regenerates the
// slots, in one transaction.
func (s *Service) setAvailability(ctx context.Context, a *schedulingv1.Availability) (*schedulingv1.SetAvailabilityResponse, error) {
	doctor, _ := authn.FromContext(ctx)
	pr, err := s.practiceOf(ctx, doctor.UserID)
	if err != nil {
		return nil, err
	}
	r, err := compile(a, pr.minutes)
	if err != nil {
		return nil, err
	}
	var res regeneration
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := storeAvailability(ctx, tx, doctor.UserID, a, s.now()); err != nil {
			return err
		}
		res, err = s.regenerate(ctx, tx, doctor.UserID, r, pr.loc)
		return err
	})
	if err != nil {
		return nil, errs.Internal("scheduling: setAvailability", err)
	}
	out := &schedulingv1.SetAvailabilityResponse{
		Availability: a, TimeZone: pr.zone, SlotsCreated: int32(res.created), SlotsRemoved: int32(res.removed),
	}
	for _, c := range res.conflicts {
		out.Conflicts = append(out.Conflicts, c.proto(doctor.UserID))
	}
	return out, nil
}

func storeAvailability(ctx context.Context, tx pgx.Tx, doctorID string, a *schedulingv1.Availability, now time.Time) error {
	// The row lock serialises concurrent changes (and roll-forwards) of one doctor.
	if _, err := tx.Exec(ctx, `INSERT INTO availability (doctor_id, slot_minutes, gap_minutes, updated_at, rolled_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (doctor_id) DO UPDATE SET slot_minutes = $2, gap_minutes = $3, updated_at = $4, rolled_at = $4`,
		doctorID, a.GetSlotMinutes(), a.GetGapMinutes(), now); err != nil {
		return err
	}
	for _, table := range []string{"availability_windows", "availability_exceptions"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE doctor_id = $1`, doctorID); err != nil {
			return err
		}
	}
	for _, w := range a.GetWeekly() {
		if _, err := tx.Exec(ctx, `INSERT INTO availability_windows (doctor_id, weekday, start_time, end_time) VALUES ($1, $2, $3, $4)`,
			doctorID, int(w.GetWeekday()), w.GetStartTime(), w.GetEndTime()); err != nil {
			return err
		}
	}
	for _, e := range a.GetExceptions() {
		kind, start, end := "day_off", any(nil), any(nil)
		if e.GetKind() == schedulingv1.ExceptionKind_EXCEPTION_KIND_EXTRA {
			kind, start, end = "extra", e.GetStartTime(), e.GetEndTime()
		}
		if _, err := tx.Exec(ctx, `INSERT INTO availability_exceptions (doctor_id, day, kind, start_time, end_time) VALUES ($1, $2, $3, $4, $5)`,
			doctorID, e.GetDate(), kind, start, end); err != nil {
			return err
		}
	}
	return nil
}

// regenerate makes the doctor's future slots match the rules for the coming weeks:
// slots the rules still have are kept as they are (a blocked slot stays blocked), new
// ones are added, and free ones the rules dropped are removed. A slot held by a live
// appointment is never removed or moved; when the rules no longer have it, it is
// returned as a conflict, and new slots that would overlap it are not created. A slot
// under way is left alone, and new slots do not overlap it either.
func (s *Service) regenerate(ctx context.Context, tx pgx.Tx, doctorID string, r rules, loc *time.Location) (regeneration, error) {
	now := s.now()
	first := localDate(now, loc)
	last := first.AddDate(0, 0, 7*s.cfg.Weeks-1)
	want := map[int64]span{}
	for _, sp := range generate(r, loc, first, last) {
		if sp.start.After(now) {
			want[sp.start.Unix()] = sp
		}
	}

	rows, err := tx.Query(ctx, `SELECT s.id::text, s.start_at, s.end_at, s.status,
			EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.state IN `+liveStates+`)
		FROM slots s WHERE s.doctor_id = $1 AND s.start_at > $3 AND s.end_at > $2 ORDER BY s.start_at FOR UPDATE OF s`,
		doctorID, now, now.Add(-maxSlot))
	if err != nil {
		return regeneration{}, err
	}
	existing, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (slotRow, error) {
		var sr slotRow
		return sr, row.Scan(&sr.id, &sr.start, &sr.end, &sr.status, &sr.held)
	})
	if err != nil {
		return regeneration{}, err
	}

	var res regeneration
	var drop []string
	var kept []span // slots under way, and held slots outside the rules: new slots must not overlap them
	for _, e := range existing {
		w, ok := want[e.start.Unix()]
		switch {
		case !e.start.After(now):
			// Under way: it stays as it is, and new slots must not overlap it.
			kept = append(kept, span{e.start, e.end})
		case ok && w.end.Equal(e.end):
			delete(want, e.start.Unix())
		case e.held:
			res.conflicts = append(res.conflicts, e)
			kept = append(kept, span{e.start, e.end})
		default:
			drop = append(drop, e.id)
		}
	}
	if len(drop) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM slots WHERE id = ANY($1::uuid[])`, drop); err != nil {
			return regeneration{}, err
		}
		res.removed = len(drop)
	}
	var ids []string
	var starts, ends []time.Time
	for _, w := range want {
		if overlapsAny(w, kept) {
			continue
		}
		ids = append(ids, uuid.Must(uuid.NewV7()).String())
		starts, ends = append(starts, w.start), append(ends, w.end)
	}
	if len(ids) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO slots (id, doctor_id, start_at, end_at)
			SELECT unnest($1::uuid[]), $2, unnest($3::timestamptz[]), unnest($4::timestamptz[])`,
			ids, doctorID, starts, ends); err != nil {
			return regeneration{}, fmt.Errorf("insert slots: %w", err)
		}
		res.created = len(ids)
	}
	return res, nil
}

func overlapsAny(s span, others []span) bool {
	for _, o := range others {
		if s.start.Before(o.end) && o.start.Before(s.end) {
			return true
		}
	}
	return false
}
