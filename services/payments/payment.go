package payments

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/pg"
)

// Payment statuses, as stored.
const (
	statusCreating          = "CREATING"
	statusPending           = "PENDING"
	statusPaid              = "PAID"
	statusFailed            = "FAILED"
	statusPartiallyRefunded = "PARTIALLY_REFUNDED"
	statusRefunded          = "REFUNDED"
)

// Refund statuses, as stored.
const (
	refundRequested = "REQUESTED"
	refundCompleted = "COMPLETED"
)

// Event sources.
const (
	sourceStart          = "start"
	sourceNotification   = "notification"
	sourceReconciliation = "reconciliation"
	sourceCancel         = "cancel"
	sourceRefund         = "refund"
)

// paid says the money arrived (whatever was refunded since).
func (p *payment) paid() bool {
	return p.Status == statusPaid || p.Status == statusPartiallyRefunded || p.Status == statusRefunded
}

func (p *payment) providerID() string {
	if p.ProviderPaymentID == nil {
		return ""
	}
	return *p.ProviderPaymentID
}

var statusProto = map[string]paymentsv1.PaymentStatus{
	statusCreating:          paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING,
	statusPending:           paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING,
	statusPaid:              paymentsv1.PaymentStatus_PAYMENT_STATUS_PAID,
	statusFailed:            paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED,
	statusPartiallyRefunded: paymentsv1.PaymentStatus_PAYMENT_STATUS_PARTIALLY_REFUNDED,
	statusRefunded:          paymentsv1.PaymentStatus_PAYMENT_STATUS_REFUNDED,
}

// view reads a payment's refunds (and, with history, its status history) and returns
// it as the API shows it.
func view(ctx context.Context, q pg.Querier, p *payment, history bool) (*paymentsv1.Payment, error) {
	out := &paymentsv1.Payment{
		Id: p.ID, AppointmentId: p.AppointmentID, PatientId: p.PatientID, DoctorId: p.DoctorID,
		AmountCents: p.AmountCents, Status: statusProto[p.Status], ProviderPaymentId: p.providerID(),
		QrCode: p.QRCode, QrCodeBase64: p.QRCodeBase64, TicketUrl: p.TicketURL,
		ExpireTime: timestamppb.New(p.ExpireAt), RefundedCents: p.RefundedCents, CreateTime: timestamppb.New(p.CreatedAt),
	}
	if p.PaidAt != nil {
		out.PaidTime = timestamppb.New(*p.PaidAt)
	}
	rs, err := refunds.listByPayment(ctx, q, p.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		out.Refunds = append(out.Refunds, r.proto())
	}
	if !history {
		return out, nil
	}
	events, err := payments.history(ctx, q, p.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		out.History = append(out.History, &paymentsv1.PaymentEvent{
			Status: statusProto[e.Status], Source: e.Source, Detail: e.Detail, Time: timestamppb.New(e.At)})
	}
	return out, nil
}

func (f refund) proto() *paymentsv1.Refund {
	out := &paymentsv1.Refund{
		Id: f.ID, AmountCents: f.AmountCents, Reason: f.Reason, CreateTime: timestamppb.New(f.CreatedAt),
		Status: paymentsv1.RefundStatus_REFUND_STATUS_REQUESTED,
	}
	if f.Status == refundCompleted {
		out.Status = paymentsv1.RefundStatus_REFUND_STATUS_COMPLETED
	}
	if f.ProviderRefundID != nil {
		out.ProviderRefundId = *f.ProviderRefundID
	}
	if f.CompletedAt != nil {
		out.CompleteTime = timestamppb.New(*f.CompletedAt)
	}
	return out
}
