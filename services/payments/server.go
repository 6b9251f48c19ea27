package payments

import (
	"context"
	"errors"

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
	p, err := s.getPayment(ctx, req.Msg.GetAppointmentId())
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
