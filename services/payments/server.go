package payments

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// StartPayment implements paymentsv1connect.PaymentsServiceHandler.
func (s *Service) StartPayment(ctx context.Context, req *connect.Request[paymentsv1.StartPaymentRequest]) (*connect.Response[paymentsv1.StartPaymentResponse], error) {
	p, err := s.startPayment(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymentsv1.StartPaymentResponse{Payment: p}), nil
}

// GetPayment implements paymentsv1connect.PaymentsServiceHandler.
func (s *Service) GetPayment(ctx context.Context, req *connect.Request[paymentsv1.GetPaymentRequest]) (*connect.Response[paymentsv1.GetPaymentResponse], error) {
	m := req.Msg
	p, err := s.awaitPayment(ctx, m.GetAppointmentId(), m.GetKnownStatus(), m.GetWait().AsDuration())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymentsv1.GetPaymentResponse{Payment: p}), nil
}

// CancelPayment implements paymentsv1connect.PaymentsServiceHandler.
func (s *Service) CancelPayment(ctx context.Context, req *connect.Request[paymentsv1.CancelPaymentRequest]) (*connect.Response[paymentsv1.CancelPaymentResponse], error) {
	p, err := s.cancelPayment(ctx, req.Msg.GetAppointmentId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymentsv1.CancelPaymentResponse{Payment: p}), nil
}

// Refund implements paymentsv1connect.PaymentsServiceHandler.
func (s *Service) Refund(ctx context.Context, req *connect.Request[paymentsv1.RefundRequest]) (*connect.Response[paymentsv1.RefundResponse], error) {
	out, err := s.refund(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ReceiveNotification implements paymentsv1connect.PaymentsServiceHandler.
func (s *Service) ReceiveNotification(ctx context.Context, req *connect.Request[paymentsv1.ReceiveNotificationRequest]) (*connect.Response[paymentsv1.ReceiveNotificationResponse], error) {
	if err := s.receiveNotification(ctx, req.Msg); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymentsv1.ReceiveNotificationResponse{}), nil
}

// awaitPayment is getPayment as a long-poll: while the payment is not recorded yet (a
// booking's job records it a moment after the booking's answer) or is still in the
// status the caller knows, it waits — up to wait — for the notification of a change,
// re-reading now and then without one. It answers the payment as it stands then, or
// NOT_FOUND if there is still none. A caller that goes away stops the wait at once.
func (s *Service) awaitPayment(ctx context.Context, appointmentID string, known paymentsv1.PaymentStatus, wait time.Duration) (*paymentsv1.Payment, error) {
	if wait <= 0 {
		return s.getPayment(ctx, appointmentID)
	}
	changed, done := s.changes.subscribe(appointmentID) // before the read: no change slips between
	defer done()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		p, err := s.getPayment(ctx, appointmentID)
		switch {
		case errs.Has(err, ReasonPaymentNotFound):
			// Not recorded yet, or not the caller's: wait either way (the answer at the
			// end is the same NOT_FOUND for both, so nothing is given away).
		case err != nil:
			return nil, err
		case known == paymentsv1.PaymentStatus_PAYMENT_STATUS_UNSPECIFIED || p.GetStatus() != known:
			return p, nil
		}
		every := fallbackEvery
		if !s.changes.listening() {
			every = fallbackEvery / 5
		}
		fallback := time.NewTimer(every)
		select {
		case <-changed:
		case <-fallback.C:
		case <-deadline.C:
			fallback.Stop()
			return s.getPayment(ctx, appointmentID)
		case <-ctx.Done():
			fallback.Stop()
			return nil, connect.NewError(connect.CodeCanceled, ctx.Err())
		}
		fallback.Stop()
	}
}

// getPayment returns an appointment's payment to the platform's services and to the
// appointment's patient and doctor. Anyone else is told there is none, so payment ids
// and appointment ids cannot be probed.
func (s *Service) getPayment(ctx context.Context, appointmentID string) (*paymentsv1.Payment, error) {
	caller, _ := authn.FromContext(ctx)
	p, err := payments.getByAppointment(ctx, s.db, appointmentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errPaymentNotFound
	}
	if err != nil {
		return nil, errs.Internal("payments: get payment", err)
	}
	switch {
	case caller.Role == accessv1.Role_ROLE_SERVICE:
	case caller.Role == accessv1.Role_ROLE_PATIENT && caller.UserID == p.PatientID:
	case caller.Role == accessv1.Role_ROLE_DOCTOR && caller.UserID == p.DoctorID:
	default:
		return nil, errPaymentNotFound
	}
	out, err := view(ctx, s.db, p, true)
	if err != nil {
		return nil, errs.Internal("payments: get payment's refunds and history", err)
	}
	return out, nil
}

// ExportPatientPayments implements paymentsv1connect.PaymentsServiceHandler.
func (s *Service) ExportPatientPayments(ctx context.Context, req *connect.Request[paymentsv1.ExportPatientPaymentsRequest]) (*connect.Response[paymentsv1.ExportPatientPaymentsResponse], error) {
	list, err := s.exportPatientPayments(ctx, req.Msg.GetPatientId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymentsv1.ExportPatientPaymentsResponse{Payments: list}), nil
}

// HoldPatientPayments implements paymentsv1connect.PaymentsServiceHandler.
func (s *Service) HoldPatientPayments(ctx context.Context, req *connect.Request[paymentsv1.HoldPatientPaymentsRequest]) (*connect.Response[paymentsv1.HoldPatientPaymentsResponse], error) {
	n, err := s.holdPatientPayments(ctx, req.Msg.GetPatientId(), req.Msg.GetUntil().AsTime())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymentsv1.HoldPatientPaymentsResponse{Held: n}), nil
}
