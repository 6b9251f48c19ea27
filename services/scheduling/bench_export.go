package scheduling

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/platform/authn"
)

// RollForward extends one doctor's slots to the full horizon from the stored
// availability, as the daily roll-forward job does. Tools that load many doctors'
// availability rows at once (the slots benchmark) call it to materialise their slots
// with the service's own generation rules.
func (s *Service) RollForward(ctx context.Context, doctorID string) error {
	_, err := s.rollForward(ctx, doctorID)
	return err
}

// BookStatements runs, as the patient, the database work of a booking request and
// nothing else: the read of the idempotency key, the read of the slot, and the
// booking's transaction (hold) — the same statements, through the same stores, as
// BookAppointment when the booking rate limits are off, without its RPCs, sealing or
// answer. The booking benchmark's ceiling ("the booking transaction alone") calls it;
// sealed stands for the sealed reason (its size matters, not its content).
func (s *Service) BookStatements(ctx context.Context, patientID, slotID, key string, price int64, sealed []byte) error {
	ctx = authn.WithPrincipal(ctx, authn.Principal{UserID: patientID, Role: accessv1.Role_ROLE_PATIENT, EmailVerified: true})
	if _, found, err := s.byKey(ctx, patientID, key); err != nil || found {
		if found {
			return fmt.Errorf("scheduling: key %s already booked", key)
		}
		return err
	}
	slot, err := s.slots.get(ctx, s.db, slotID)
	if err != nil {
		return err
	}
	now := s.now()
	hold := now.Add(s.cfg.PaymentWindow)
	a := appointment{
		id: uuid.NewString(), slotID: slot.id, doctorID: slot.doctorID, patientID: patientID, state: statePending,
		start: slot.start, end: slot.end, price: price, idempotencyKey: &key, holdUntil: &hold, sealedReason: sealed,
	}
	return s.hold(ctx, &a, now, hold)
}
