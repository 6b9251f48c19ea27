package payments

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	pixv1 "healthcore/gen/healthcore/pix/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
)

// The saga's durable steps. Each worker is idempotent: it may run again after a crash
// or a timeout, and the state it finds tells it what is left to do. Kinds are
// "payments.<verb>" (see platform/jobs); migration 00002 renamed the jobs queued under
// the kinds of before.

// syncChargeArgs re-reads a charge from the provider and settles its payment.
type syncChargeArgs struct {
	ProviderPaymentID string `json:"provider_payment_id" river:"unique"`
	// Followup marks the one extra sync queued while another sync of the charge is
	// already running (and may have read the charge before the news arrived).
	Followup bool `json:"followup" river:"unique"`
	// Source is what asked for it: notification or reconciliation.
	Source string `json:"source"`
}

func (syncChargeArgs) Kind() string { return "payments.sync_charge" }

// syncUniqueStates collapse a burst of notifications into the sync that has not yet
// run (or is waiting to retry), while a sync that has finished blocks nothing: a later
// notification reads the charge again.
var syncUniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

func (syncChargeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: syncUniqueStates}}
}

// notifyArgs tells scheduling a payment's outcome.
type notifyArgs struct {
	PaymentID     string `json:"payment_id"`
	AppointmentID string `json:"appointment_id"`
	Outcome       string `json:"outcome"` // PAID or FAILED
}

func (notifyArgs) Kind() string { return "payments.notify_scheduling" }

// refundArgs asks the provider for a recorded refund.
type refundArgs struct {
	RefundID string `json:"refund_id"`
}

func (refundArgs) Kind() string { return "payments.refund" }

// cancelChargeArgs cancels a charge at the provider: an overdue pending one, or one
// created for a payment cancelled meanwhile.
type cancelChargeArgs struct {
	PaymentID string `json:"payment_id" river:"unique"`
}

func (cancelChargeArgs) Kind() string { return "payments.cancel_charge" }

func (cancelChargeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: syncUniqueStates}}
}

// reconcileArgs is the periodic reconciliation (a River periodic job, which the
// elected leader alone enqueues).
type reconcileArgs struct{}

func (reconcileArgs) Kind() string { return "payments.reconcile" }

func (reconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: syncUniqueStates}}
}

func (s *Service) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(s.workSync))
	river.AddWorker(w, river.WorkFunc(s.workNotify))
	river.AddWorker(w, river.WorkFunc(s.workRefund))
	river.AddWorker(w, river.WorkFunc(s.workCancelCharge))
	river.AddWorker(w, river.WorkFunc(s.workReconcile))
	river.AddWorker(w, river.WorkFunc(s.workNotice))
	return w
}

// enqueueSync queues a sync of the charge. While one waits, another is not added; while
// one runs, one follow-up is, so news that arrives during a read is not lost.
func (s *Service) enqueueSync(ctx context.Context, providerID, source string) error {
	res, err := s.jobs.Insert(ctx, syncChargeArgs{ProviderPaymentID: providerID, Source: source}, nil)
	if err != nil {
		return fmt.Errorf("queue sync of charge %s: %w", providerID, err)
	}
	if res.UniqueSkippedAsDuplicate && res.Job != nil && res.Job.State == rivertype.JobStateRunning {
		if _, err = s.jobs.Insert(ctx, syncChargeArgs{ProviderPaymentID: providerID, Followup: true, Source: source}, nil); err != nil {
			return fmt.Errorf("queue follow-up sync of charge %s: %w", providerID, err)
		}
	}
	return nil
}

// giveUp ends a job whose step cannot succeed by retrying, logging it for a person.
func (s *Service) giveUp(ctx context.Context, what string, err error, args ...any) error {
	s.log.ErrorContext(ctx, what+": giving up", append(args, "error", err.Error())...)
	return river.JobCancel(err)
}

// workSync re-reads a charge and settles its payment.
func (s *Service) workSync(ctx context.Context, job *river.Job[syncChargeArgs]) error {
	id := job.Args.ProviderPaymentID
	p, err := payments.getByCharge(ctx, s.db, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	resp, err := s.pix.GetCharge(ctx, connect.NewRequest(&pixv1.GetChargeRequest{Id: id}))
	if err != nil {
		if permanent(err) {
			return s.giveUp(ctx, "read charge", err, "payment_id", p.ID, "provider_payment_id", id)
		}
		return err
	}
	_, err = s.settle(ctx, p.ID, resp.Msg.GetCharge(), job.Args.Source, true)
	return err
}

// notifyTx queues, in the caller's transaction, the job that tells scheduling.
func (s *Service) notifyTx(ctx context.Context, tx pgx.Tx, p *payment, outcome schedulingv1.PaymentOutcome) error {
	o := statusPaid
	if outcome == schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_FAILED {
		o = statusFailed
	}
	if _, err := s.jobs.InsertTx(ctx, tx, notifyArgs{PaymentID: p.ID, AppointmentID: p.AppointmentID, Outcome: o}, nil); err != nil {
		return fmt.Errorf("queue notice of payment %s: %w", p.ID, err)
	}
	return nil
}

// workNotify tells scheduling the outcome; when the money arrived for an appointment
// that is no longer live, it refunds it in full.
func (s *Service) workNotify(ctx context.Context, job *river.Job[notifyArgs]) error {
	a := job.Args
	outcome := schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID
	if a.Outcome == statusFailed {
		outcome = schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_FAILED
	}
	resp, err := s.scheduling.ApplyPaymentOutcome(ctx, connect.NewRequest(&schedulingv1.ApplyPaymentOutcomeRequest{
		AppointmentId: a.AppointmentID, PaymentId: a.PaymentID, Outcome: outcome,
	}))
	if err != nil {
		if permanent(err) {
			return s.giveUp(ctx, "apply payment outcome", err, "payment_id", a.PaymentID, "appointment_id", a.AppointmentID)
		}
		return err
	}
	s.log.InfoContext(ctx, "scheduling told of payment", "payment_id", a.PaymentID, "appointment_id", a.AppointmentID,
		"outcome", a.Outcome, "appointment_state", resp.Msg.GetState().String(), "refund_due", resp.Msg.GetRefundDue())
	if !resp.Msg.GetRefundDue() || outcome != schedulingv1.PaymentOutcome_PAYMENT_OUTCOME_PAID {
		return nil
	}
	return s.refundLatePayment(ctx, a.PaymentID)
}

// permanent says a downstream failure will not go away by retrying the same call. A
// refused credential or an unimplemented method is not permanent: a deploy fixes it,
// and the job should still be there when it does.
func permanent(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodeFailedPrecondition, connect.CodeAlreadyExists:
		return true
	}
	return false
}
