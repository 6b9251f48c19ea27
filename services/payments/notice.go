package payments

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/notify"
)

// What payments tells the patient, each by a "payments.notify" job committed in the
// transaction of the change (a rollback tells nobody) and keyed by the payment or
// refund, so a retried job or change sends it once:
//
//	charge stored (PENDING)   the booking is made: the PIX copy-and-paste code and its expiry
//	refund completed          the amount and the method (PIX)
//
// The appointment's start time is not payments' to keep: the job reads it from
// scheduling when it runs. The booking notice re-reads the payment then too, and is
// dropped if the payment is no longer pending (paid, failed or cancelled meanwhile):
// a code to pay is no news to someone who paid.

// noticeArgs is a notification to send (kind payments.notify; payments.notify_scheduling
// is the saga's step that tells scheduling the outcome).
type noticeArgs struct{ notify.Request }

func (noticeArgs) Kind() string { return "payments.notify" }

// noticeFor builds the notice of event e about p's appointment to its patient.
func noticeFor(p *payment, e notificationsv1.Event, key string, d *notificationsv1.AppointmentDetail) noticeArgs {
	d.AppointmentId, d.PatientId, d.DoctorId, d.PriceCents = p.AppointmentID, p.PatientID, p.DoctorID, p.AmountCents
	return noticeArgs{notify.Request{Msg: &notificationsv1.NotifyRequest{
		IdempotencyKey: key, Event: e, RecipientId: p.PatientID,
		Detail: &notificationsv1.NotifyRequest_Appointment{Appointment: d},
	}}}
}

// tellPending commits, in tx, the notice of a charge just stored.
func (s *Service) tellPending(ctx context.Context, tx pgx.Tx, p *payment) error {
	n := noticeFor(p, notificationsv1.Event_EVENT_BOOKING_PENDING_PAYMENT, "appt-"+p.AppointmentID+"-pending_payment-patient",
		&notificationsv1.AppointmentDetail{PixCopyPaste: p.QRCode, PixExpireTime: timestamppb.New(p.ExpireAt)})
	if _, err := s.jobs.InsertTx(ctx, tx, n, nil); err != nil {
		return fmt.Errorf("queue notice of payment %s: %w", p.ID, err)
	}
	return nil
}

// tellRefunded commits, in tx, the notice of a refund just completed.
func (s *Service) tellRefunded(ctx context.Context, tx pgx.Tx, p *payment, f refund) error {
	n := noticeFor(p, notificationsv1.Event_EVENT_REFUND_COMPLETED, "appt-"+p.AppointmentID+"-refund-"+f.ID+"-patient",
		&notificationsv1.AppointmentDetail{RefundCents: f.AmountCents, RefundMethod: "PIX"})
	if _, err := s.jobs.InsertTx(ctx, tx, n, nil); err != nil {
		return fmt.Errorf("queue notice of refund %s: %w", f.ID, err)
	}
	return nil
}

// workNotice completes a notice and sends it.
func (s *Service) workNotice(ctx context.Context, job *river.Job[noticeArgs]) error {
	if s.notifications == nil {
		return nil
	}
	send, err := s.completeNotice(ctx, job.Args.Msg)
	if err != nil || !send {
		return err
	}
	return notify.Send(ctx, s.notifications, s.log, job.Args.Request)
}

// completeNotice adds the appointment's start time to a notice, and reports whether it
// is still news: a booking's code to pay is not, once the payment has moved on.
func (s *Service) completeNotice(ctx context.Context, m *notificationsv1.NotifyRequest) (bool, error) {
	d := m.GetAppointment()
	if m.GetEvent() == notificationsv1.Event_EVENT_BOOKING_PENDING_PAYMENT {
		p, err := payments.getByAppointment(ctx, s.db, d.GetAppointmentId())
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && p.Status != statusPending) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	if d.GetStartTime() != nil {
		return true, nil
	}
	resp, err := s.scheduling.GetAppointment(ctx, connect.NewRequest(&schedulingv1.GetAppointmentRequest{Id: d.GetAppointmentId()}))
	if connect.CodeOf(err) == connect.CodeNotFound {
		s.log.WarnContext(ctx, "notice of an appointment scheduling does not know: dropped", "appointment_id", d.GetAppointmentId())
		return false, nil
	}
	if err != nil {
		return false, err
	}
	d.StartTime = resp.Msg.GetAppointment().GetStartTime()
	return true, nil
}
