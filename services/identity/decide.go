package identity

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/notify"
)

// An operator's decision moves a doctor between statuses:
//
//	pending_verification ──approve──▶ verified ──suspend──▶ suspended
//	         │
//	         └──reject──▶ rejected
//
// A suspension is not lifted: scheduling keeps it (see SuspendDoctor there).
//
// Each decision commits in one transaction with: the decision's row, the audit entry,
// the doctor's e-mail, and the jobs that publish it — identity.publish_doctor_listing
// (directory lists verified doctors only) and, on suspension,
// identity.suspend_doctor_appointments (scheduling refuses and refunds the future
// appointments); a suspension also ends the doctor's sessions, so the tokens saying
// "verified" stop working within seconds. Approving a CRM rejects, in the same
// transaction, every other pending claim of it.

// rejectedByOtherClaim is the reason given to a claim rejected by another's approval.
const rejectedByOtherClaim = "another account's claim of this CRM was verified"

// transition is one kind of decision.
type transition struct {
	from, to string
	action   string
	outcome  notificationsv1.VerificationOutcome
}

var (
	approveDoctor = transition{doctorPending, doctorVerified, actDoctorApprove, notificationsv1.VerificationOutcome_VERIFICATION_OUTCOME_VERIFIED}
	rejectDoctor  = transition{doctorPending, doctorRejected, actDoctorReject, notificationsv1.VerificationOutcome_VERIFICATION_OUTCOME_REJECTED}
	suspendDoctor = transition{doctorVerified, doctorSuspended, actDoctorSuspend, notificationsv1.VerificationOutcome_VERIFICATION_OUTCOME_SUSPENDED}
)

// decide applies t to doctor id with the operator's reason, and returns the doctor's
// verification after it and, for an approval, the competing claims it rejected.
func (s *Service) decide(ctx context.Context, t transition, id, reason string) (*identityv1.Verification, []string, error) {
	op, _ := authn.FromContext(ctx)
	var v *identityv1.Verification
	var rejected []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rejected = nil
		a, ok, err := s.verifications.doctorForUpdate(ctx, tx, id)
		switch {
		case err != nil:
			return err
		case !ok:
			return ReasonAccountNotFound.New("no doctor account has this id")
		case a.DoctorStatus != t.from:
			return errStatusConflict(fmt.Sprintf("the doctor is %s; this decision applies to a doctor %s", a.DoctorStatus, t.from))
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		if t == approveDoctor {
			if rejected, err = s.settleClaims(ctx, tx, a, now); err != nil {
				return err
			}
		}
		if err := s.applyDecision(ctx, tx, t, decision{DoctorID: a.ID, From: a.DoctorStatus, To: t.to, Reason: reason, OperatorID: op.UserID, At: now}); err != nil {
			return err
		}
		a.DoctorStatus, a.DoctorStatusAt = t.to, now
		v, err = s.verification(ctx, tx, a)
		return err
	})
	if err != nil {
		for _, refusal := range []errs.Reason{ReasonAccountNotFound, ReasonDoctorStatusConflict, ReasonEvidenceMissing, ReasonCRMAlreadyVerified} {
			if errs.Has(err, refusal) {
				_ = s.audit(ctx, s.db, t.action, "", id, outcomeDenied)
				return nil, nil, err
			}
		}
		return nil, nil, errs.Internal("identity: decide on doctor", err)
	}
	return v, rejected, nil
}

// settleClaims checks that doctor a can be verified — evidence submitted, no other
// account holding the CRM verified or suspended — and rejects every other pending
// claim of the CRM; it returns the rejected accounts.
func (s *Service) settleClaims(ctx context.Context, tx pgx.Tx, a account, now time.Time) ([]string, error) {
	if _, ok, err := s.verifications.getEvidence(ctx, tx, a.ID); err != nil || !ok {
		if err == nil {
			err = ReasonEvidenceMissing.New("the doctor has submitted no evidence yet: nothing to verify")
		}
		return nil, err
	}
	claims, err := s.verifications.claimsForUpdate(ctx, tx, a.CRMNumber, a.CRMUF)
	if err != nil {
		return nil, err
	}
	var rejected []string
	for _, c := range claims {
		if c.ID == a.ID {
			continue
		}
		switch c.DoctorStatus {
		case doctorVerified, doctorSuspended:
			return nil, ReasonCRMAlreadyVerified.New("another account holds this CRM verified")
		case doctorPending:
			d := decision{DoctorID: c.ID, From: doctorPending, To: doctorRejected, Reason: rejectedByOtherClaim, At: now}
			if err := s.applyDecision(ctx, tx, rejectDoctor, d); err != nil {
				return nil, err
			}
			rejected = append(rejected, c.ID)
		}
	}
	return rejected, nil
}

// applyDecision records decision d of kind t in tx, with its audit entry, the
// doctor's notice and the jobs that publish it.
func (s *Service) applyDecision(ctx context.Context, tx pgx.Tx, t transition, d decision) error {
	if err := s.verifications.setStatus(ctx, tx, d); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, t.action, "", d.DoctorID, outcomeOK); err != nil {
		return err
	}
	key := "doctor-" + d.DoctorID + "-" + d.To + "-" + uuid.NewString()
	if _, err := s.jobs.InsertTx(ctx, tx, notifyArgs{notify.Request{Msg: &notificationsv1.NotifyRequest{
		IdempotencyKey: key, Event: notificationsv1.Event_EVENT_DOCTOR_VERIFICATION, RecipientId: d.DoctorID,
		Detail: &notificationsv1.NotifyRequest_Verification{Verification: &notificationsv1.VerificationDetail{
			Outcome: t.outcome, Reason: d.Reason, Time: timestamppb.New(d.At)}},
	}}}, nil); err != nil {
		return fmt.Errorf("queue verification notice: %w", err)
	}
	if _, err := s.jobs.InsertTx(ctx, tx, publishListingArgs{DoctorID: d.DoctorID, Listed: d.To == doctorVerified, ChangeTime: d.At}, nil); err != nil {
		return fmt.Errorf("queue listing: %w", err)
	}
	if d.To != doctorSuspended {
		return nil
	}
	if err := s.sessions.endOthers(ctx, tx, d.DoctorID, "", d.At, "doctor_suspended"); err != nil {
		return err
	}
	if _, err := s.jobs.InsertTx(ctx, tx, suspendAppointmentsArgs{DoctorID: d.DoctorID, Reason: d.Reason}, nil); err != nil {
		return fmt.Errorf("queue appointment suspension: %w", err)
	}
	return nil
}

// publishListingArgs tells directory whether the doctor is listed (verified), as of
// ChangeTime; directory ignores a verdict older than the one it applied, so retries
// and reordering are safe.
type publishListingArgs struct {
	DoctorID   string    `json:"doctor_id"`
	Listed     bool      `json:"listed"`
	ChangeTime time.Time `json:"change_time"`
}

func (publishListingArgs) Kind() string { return "identity.publish_doctor_listing" }

// suspendAppointmentsArgs tells scheduling to refuse and refund the suspended
// doctor's future appointments; scheduling refuses each once, so retries are safe.
type suspendAppointmentsArgs struct {
	DoctorID string `json:"doctor_id"`
	Reason   string `json:"reason"`
}

func (suspendAppointmentsArgs) Kind() string { return "identity.suspend_doctor_appointments" }

// publishListing runs identity.publish_doctor_listing. Without a directory client
// (tests of other services) it completes without sending.
func (s *Service) publishListing(ctx context.Context, a publishListingArgs) error {
	if s.directory == nil {
		return nil
	}
	_, err := s.directory.SetDoctorListing(ctx, connect.NewRequest(&directoryv1.SetDoctorListingRequest{
		DoctorId: a.DoctorID, Listed: a.Listed, ChangeTime: timestamppb.New(a.ChangeTime)}))
	if err != nil {
		return fmt.Errorf("identity: publish doctor listing: %w", err)
	}
	return nil
}

// suspendAppointments runs identity.suspend_doctor_appointments. Without a scheduling
// client (tests of other services) it completes without sending.
func (s *Service) suspendAppointments(ctx context.Context, a suspendAppointmentsArgs) error {
	if s.scheduling == nil {
		return nil
	}
	res, err := s.scheduling.SuspendDoctor(ctx, connect.NewRequest(&schedulingv1.SuspendDoctorRequest{DoctorId: a.DoctorID, Reason: a.Reason}))
	if err != nil {
		return fmt.Errorf("identity: suspend doctor's appointments: %w", err)
	}
	s.log.InfoContext(ctx, "suspended doctor's appointments refused", "doctor_id", a.DoctorID, "refused", res.Msg.GetRefusedCount())
	return nil
}
