package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// maxSlot is the longest a slot can be (slot_minutes and the directory's consultation
// length are at most 240): a slot under way started less than this long ago, which
// lets its lookup use the (doctor_id, start_at) index.
const maxSlot = 240 * time.Minute

// regeneration is what one regeneration did.
type regeneration struct {
	created, removed int
	conflicts        []slotRow
}

// setAvailability replaces the calling doctor's availability and regenerates the
// slots, in one transaction.
func (s *Service) setAvailability(ctx context.Context, a *schedulingv1.Availability) (*schedulingv1.SetAvailabilityResponse, error) {
	doctor, _ := authn.FromContext(ctx)
	if err := verifiedDoctor(ctx); err != nil {
		return nil, err
	}
	return s.replaceAvailability(ctx, doctor.UserID, a, errNotVerified)
}

// replaceAvailability replaces a verified doctor's availability and regenerates the
// slots, in one transaction; a suspended doctor is refused with notVerified.
func (s *Service) replaceAvailability(ctx context.Context, doctorID string, a *schedulingv1.Availability, notVerified error) (*schedulingv1.SetAvailabilityResponse, error) {
	if err := s.notSuspended(ctx, doctorID, notVerified); err != nil {
		return nil, err
	}
	pr, err := s.practiceOf(ctx, doctorID)
	if err != nil {
		return nil, err
	}
	r, err := compile(a, pr.minutes)
	if err != nil {
		return nil, err
	}
	var res regeneration
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.availability.replace(ctx, tx, doctorID, a, s.now()); err != nil {
			return err
		}
		res, err = s.regenerate(ctx, tx, doctorID, r, pr.loc)
		return err
	})
	if err != nil {
		return nil, errs.Internal("scheduling: set availability", err)
	}
	out := &schedulingv1.SetAvailabilityResponse{
		Availability: a, TimeZone: pr.zone, SlotsCreated: int32(res.created), SlotsRemoved: int32(res.removed),
	}
	for _, c := range res.conflicts {
		out.Conflicts = append(out.Conflicts, c.proto())
	}
	return out, nil
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

	existing, err := s.slots.lockCurrent(ctx, tx, doctorID, now)
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
		if res.removed, err = s.slots.delete(ctx, tx, drop); err != nil {
			return regeneration{}, err
		}
	}
	var add []span
	for _, w := range want {
		if !overlapsAny(w, kept) {
			add = append(add, w)
		}
	}
	if len(add) > 0 {
		if res.created, err = s.slots.insert(ctx, tx, doctorID, add); err != nil {
			return regeneration{}, err
		}
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
