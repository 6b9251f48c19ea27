package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// Erasure of a patient account (LGPD art. 18, VI). What the law does not require to
// be kept is removed from the account at once (with its second factors, recovery codes
// and known clients), in one transaction with the end of every session and the identity.erase_subject job; the job then has notifications
// forget the account, and marks what the law keeps — medical records and payments —
// with the date until which it is kept. The account's id stays: the kept records
// name it.
const (
	// recordsRetention is how long medical records are kept after the last entry
	// (Lei 13.787/2018, art. 6; CFM Resolução 1.821/2007, art. 8): 20 years.
	recordsRetentionYears = 20
	// paymentsRetention is how long payment records are kept for tax law (CTN art.
	// 173/174: five years to assess and collect).
	paymentsRetentionYears = 5
	// erasedDomain is the non-routable domain (RFC 2606) of an erased account's
	// placeholder e-mail: <account id>@erased.invalid, which no one can register.
	erasedDomain = "erased.invalid"
	// endErased is the revoke reason of the sessions an erasure ends.
	endErased = "account_erased"
)

// eraseSubjectArgs is the job that finishes an erasure in the other services.
type eraseSubjectArgs struct {
	AccountID string    `json:"account_id"`
	ErasedAt  time.Time `json:"erased_at"`
}

func (eraseSubjectArgs) Kind() string { return "identity.erase_subject" }

// live appointment states: an erasure waits until none is left.
var liveStates = map[schedulingv1.AppointmentState]bool{
	schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT: true,
	schedulingv1.AppointmentState_APPOINTMENT_STATE_AWAITING_DOCTOR: true,
	schedulingv1.AppointmentState_APPOINTMENT_STATE_CONFIRMED:       true,
}

// eraseAccount is EraseAccount.
func (s *Service) eraseAccount(ctx context.Context, password string) (*identityv1.EraseAccountResponse, error) {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if a.Role != accessv1.Role_ROLE_PATIENT {
		_ = s.audit(ctx, s.db, actErase, "", a.ID, outcomeDenied)
		return nil, ReasonErasureNotSelfService.New("a doctor's or an operator's account is erased by an operator, " +
			"since its professional duties outlive it: write to the platform's data protection officer")
	}
	client, err := s.checkCurrentPassword(ctx, a, password, actErase)
	if err != nil {
		return nil, err
	}
	keys := client.keys
	if err := s.checkNoLiveAppointments(ctx, a.ID); err != nil {
		_ = s.audit(ctx, s.db, actErase, "", a.ID, outcomeDenied)
		return nil, err
	}
	// A hash of a random secret no one ever knows: the password can never match, and
	// login takes its usual time whatever is tried.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, errs.Internal("identity: draw unusable password", err)
	}
	hash, err := s.hasher.hash(ctx, hex.EncodeToString(secret))
	if err != nil {
		return nil, errs.Internal("identity: hash unusable password", err)
	}
	now := s.now().UTC()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.succeeded(ctx, tx, keys); err != nil {
			return err
		}
		erased, err := s.accounts.erase(ctx, tx, a.ID, a.ID+"@"+erasedDomain, hash, now)
		if err != nil || !erased {
			return err
		}
		if err := s.sessions.endOthers(ctx, tx, a.ID, "", now, endErased); err != nil {
			return err
		}
		if err := s.accounts.dropCredentials(ctx, tx, a.ID); err != nil {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx, eraseSubjectArgs{AccountID: a.ID, ErasedAt: now}, nil); err != nil {
			return fmt.Errorf("queue erasure: %w", err)
		}
		return s.audit(ctx, tx, actErase, "", a.ID, outcomeOK)
	})
	if err != nil {
		return nil, errs.Internal("identity: erase account", err)
	}
	return &identityv1.EraseAccountResponse{EraseTime: timestamppb.New(now),
		RecordsKeptUntil:  timestamppb.New(now.AddDate(recordsRetentionYears, 0, 0)),
		PaymentsKeptUntil: timestamppb.New(now.AddDate(paymentsRetentionYears, 0, 0))}, nil
}

// checkNoLiveAppointments refuses the erasure while an appointment of the patient is
// pending payment, awaiting the doctor or confirmed.
func (s *Service) checkNoLiveAppointments(ctx context.Context, patientID string) error {
	if s.peers.scheduling == nil {
		return errs.Internal("identity: erase account", errors.New("no scheduling service to ask about appointments"))
	}
	resp, err := s.peers.scheduling.ExportPatientAppointments(ctx, connect.NewRequest(&schedulingv1.ExportPatientAppointmentsRequest{PatientId: patientID}))
	if err != nil {
		return fmt.Errorf("identity: read the patient's appointments: %w", err)
	}
	for _, a := range resp.Msg.GetAppointments() {
		if liveStates[a.GetState()] {
			return ReasonUpcomingAppointments.New("an appointment is still pending, awaiting the doctor or confirmed: " +
				"cancel it first (the cancellation policy applies), then ask again")
		}
	}
	return nil
}

// finishErasure is the erase_subject job: notifications forget the account, records
// and payments are held for their retention, and the account's exports are deleted.
// Each step is idempotent, so a retry after a failure repeats them harmlessly.
func (s *Service) finishErasure(ctx context.Context, j *river.Job[eraseSubjectArgs]) error {
	id, at := j.Args.AccountID, j.Args.ErasedAt
	if _, err := s.notifications.ForgetRecipient(ctx, connect.NewRequest(&notificationsv1.ForgetRecipientRequest{AccountId: id})); err != nil {
		return fmt.Errorf("identity: erasure: notifications: %w", err)
	}
	if _, err := s.peers.records.HoldPatientRecords(ctx, connect.NewRequest(&recordsv1.HoldPatientRecordsRequest{
		PatientId: id, Until: timestamppb.New(at.AddDate(recordsRetentionYears, 0, 0))})); err != nil {
		return fmt.Errorf("identity: erasure: records: %w", err)
	}
	if _, err := s.peers.payments.HoldPatientPayments(ctx, connect.NewRequest(&paymentsv1.HoldPatientPaymentsRequest{
		PatientId: id, Until: timestamppb.New(at.AddDate(paymentsRetentionYears, 0, 0))})); err != nil {
		return fmt.Errorf("identity: erasure: payments: %w", err)
	}
	exports, err := s.exports.liveIDs(ctx, s.db, id)
	if err != nil {
		return fmt.Errorf("identity: erasure: %w", err)
	}
	for _, e := range exports {
		if err := s.expireExport(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
