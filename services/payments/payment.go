package payments

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
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

// payment is a row of payments.
type payment struct {
	ID, AppointmentID, PatientID, DoctorID string
	AmountCents                            int64
	Description                            string
	Status                                 string
	ProviderPaymentID                      *string
	QRCode, QRCodeBase64, TicketURL        string
	ExpireAt                               time.Time
	PaidAt                                 *time.Time
	RefundedCents, RefundsRequestedCents   int64
	CreatedAt                              time.Time
}

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

const paymentColumns = `id::text, appointment_id::text, patient_id::text, doctor_id::text, amount_cents, description,
	status, provider_payment_id, qr_code, qr_code_base64, ticket_url, expire_at, paid_at, refunded_cents,
	refunds_requested_cents, created_at`

// querier is what a pool and a transaction both offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var errNoPayment = errors.New("payments: no such payment")

// loadPayment reads the payment whose column (id, appointment_id or
// provider_payment_id) equals value, locking it when forUpdate. It returns errNoPayment
// when there is none.
func loadPayment(ctx context.Context, q querier, column, value string, forUpdate bool) (*payment, error) {
	sql := `SELECT ` + paymentColumns + ` FROM payments WHERE ` + column + ` = $1`
	if column != "provider_payment_id" {
		sql = `SELECT ` + paymentColumns + ` FROM payments WHERE ` + column + ` = $1::uuid`
	}
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var p payment
	err := q.QueryRow(ctx, sql, value).Scan(&p.ID, &p.AppointmentID, &p.PatientID, &p.DoctorID, &p.AmountCents,
		&p.Description, &p.Status, &p.ProviderPaymentID, &p.QRCode, &p.QRCodeBase64, &p.TicketURL, &p.ExpireAt,
		&p.PaidAt, &p.RefundedCents, &p.RefundsRequestedCents, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoPayment
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// addEvent appends to the payment's status history.
func addEvent(ctx context.Context, q querier, paymentID, status, source, detail string, at time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO payment_events (payment_id, status, source, detail, at) VALUES ($1, $2, $3, $4, $5)`,
		paymentID, status, source, detail, at)
	return err
}

var statusProto = map[string]paymentsv1.PaymentStatus{
	statusCreating:          paymentsv1.PaymentStatus_PAYMENT_STATUS_CREATING,
	statusPending:           paymentsv1.PaymentStatus_PAYMENT_STATUS_PENDING,
	statusPaid:              paymentsv1.PaymentStatus_PAYMENT_STATUS_PAID,
	statusFailed:            paymentsv1.PaymentStatus_PAYMENT_STATUS_FAILED,
	statusPartiallyRefunded: paymentsv1.PaymentStatus_PAYMENT_STATUS_PARTIALLY_REFUNDED,
	statusRefunded:          paymentsv1.PaymentStatus_PAYMENT_STATUS_REFUNDED,
}

// view reads a payment's refunds (and, with history, its events) and returns it as the
// API shows it.
func view(ctx context.Context, q querier, p *payment, history bool) (*paymentsv1.Payment, error) {
	out := &paymentsv1.Payment{
		Id: p.ID, AppointmentId: p.AppointmentID, PatientId: p.PatientID, DoctorId: p.DoctorID,
		AmountCents: p.AmountCents, Status: statusProto[p.Status], ProviderPaymentId: p.providerID(),
		QrCode: p.QRCode, QrCodeBase64: p.QRCodeBase64, TicketUrl: p.TicketURL,
		ExpireTime: timestamppb.New(p.ExpireAt), RefundedCents: p.RefundedCents, CreateTime: timestamppb.New(p.CreatedAt),
	}
	if p.PaidAt != nil {
		out.PaidTime = timestamppb.New(*p.PaidAt)
	}
	rows, err := q.Query(ctx, `SELECT `+refundColumns+` FROM refunds WHERE payment_id = $1 ORDER BY created_at, id`, p.ID)
	if err != nil {
		return nil, err
	}
	refunds, err := pgx.CollectRows(rows, scanRefund)
	if err != nil {
		return nil, err
	}
	for _, r := range refunds {
		out.Refunds = append(out.Refunds, r.proto())
	}
	if !history {
		return out, nil
	}
	rows, err = q.Query(ctx, `SELECT status, source, detail, at FROM payment_events WHERE payment_id = $1 ORDER BY id`, p.ID)
	if err != nil {
		return nil, err
	}
	out.History, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*paymentsv1.PaymentEvent, error) {
		var status, source, detail string
		var at time.Time
		if err := r.Scan(&status, &source, &detail, &at); err != nil {
			return nil, err
		}
		return &paymentsv1.PaymentEvent{Status: statusProto[status], Source: source, Detail: detail, Time: timestamppb.New(at)}, nil
	})
	return out, err
}

// refund is a row of refunds.
type refund struct {
	ID, PaymentID    string
	AmountCents      int64
	Reason, Key      string
	Status           string
	ProviderRefundID *string
	CreatedAt        time.Time
	CompletedAt      *time.Time
}

const refundColumns = `id::text, payment_id::text, amount_cents, reason, idempotency_key, status, provider_refund_id,
	created_at, completed_at`

func scanRefund(r pgx.CollectableRow) (refund, error) {
	var f refund
	err := r.Scan(&f.ID, &f.PaymentID, &f.AmountCents, &f.Reason, &f.Key, &f.Status, &f.ProviderRefundID, &f.CreatedAt, &f.CompletedAt)
	return f, err
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
