package pix

import (
	"context"
	"errors"
	"time"
)

// Driver performs PIX operations at a payment provider. Implementations are safe for
// concurrent use. Every write takes an idempotency key derived from the caller's ids:
// repeating a write with the same key and the same arguments returns the first result
// instead of charging, cancelling or refunding again.
type Driver interface {
	// CreateCharge creates a PIX charge.
	CreateCharge(ctx context.Context, req ChargeRequest) (Charge, error)
	// GetCharge reads a charge as the provider has it now.
	GetCharge(ctx context.Context, id string) (Charge, error)
	// CancelCharge cancels a charge that is not paid yet.
	CancelCharge(ctx context.Context, id, idempotencyKey string) (Charge, error)
	// Refund gives back amountCents of a paid charge, or all that is left when
	// amountCents is 0.
	Refund(ctx context.Context, chargeID string, amountCents int64, idempotencyKey string) (Refund, error)
	// VerifyNotification checks a provider notification's x-signature header against
	// the webhook secret and its freshness at now, and returns when it was signed.
	VerifyNotification(xSignature, xRequestID, dataID string, now time.Time) (signTime time.Time, err error)
}

// ChargeRequest describes a charge to create.
type ChargeRequest struct {
	AmountCents       int64 // centavos (BRL), > 0
	Description       string
	PayerEmail        string
	PayerCPF          string // 11 digits
	PayerFirstName    string
	PayerLastName     string
	ExpireTime        time.Time
	ExternalReference string // the caller's id for the charge
	IdempotencyKey    string
}

// Status is a charge's status, named as Mercado Pago names payment statuses.
type Status string

// Statuses of a charge.
const (
	StatusPending     Status = "pending"
	StatusApproved    Status = "approved"
	StatusAuthorized  Status = "authorized"
	StatusInProcess   Status = "in_process"
	StatusInMediation Status = "in_mediation"
	StatusRejected    Status = "rejected"
	StatusCancelled   Status = "cancelled"
	StatusRefunded    Status = "refunded"
	StatusChargedBack Status = "charged_back"
)

// Charge is a PIX charge as the provider has it.
type Charge struct {
	ID                string
	Status            Status
	StatusDetail      string // e.g. pending_waiting_transfer, accredited, partially_refunded
	AmountCents       int64
	RefundedCents     int64
	ExternalReference string
	QRCode            string // PIX copy-and-paste code (EMV string)
	QRCodeBase64      string // PNG image of the QR code, base64
	TicketURL         string
	CreateTime        time.Time
	ExpireTime        time.Time
	ApproveTime       time.Time // zero while unpaid
}

// Refund is one refund and the charge after it.
type Refund struct {
	ID          string
	AmountCents int64
	Charge      Charge
}

// Errors that drivers wrap so the service can tell the caller what happened.
var (
	// ErrChargeNotFound means the provider has no charge with that id.
	ErrChargeNotFound = errors.New("pix: charge not found")
	// ErrNotCancellable means the charge is past the states a cancel applies to
	// (pending, in process, authorized): paid, refunded, already cancelled or expired.
	ErrNotCancellable = errors.New("pix: charge cannot be cancelled in its current status")
	// ErrNotRefundable means the charge is not paid, is already refunded in full, or
	// has reached the provider's limit of partial refunds.
	ErrNotRefundable = errors.New("pix: charge cannot be refunded in its current status")
	// ErrRefundExceedsAmount means the refund asks for more than is left to refund.
	ErrRefundExceedsAmount = errors.New("pix: refund exceeds the amount left to refund")
	// ErrIdempotencyKeyReused means the key was already used for a different request.
	ErrIdempotencyKeyReused = errors.New("pix: idempotency key already used for a different request")
	// ErrRejected means the provider refused the request's data.
	ErrRejected = errors.New("pix: the provider refused the request")
	// ErrUnavailable means the provider could not be reached, timed out, or failed on
	// its side; the same request may be retried with the same idempotency key.
	ErrUnavailable = errors.New("pix: payment provider unavailable")
	// ErrSignatureInvalid means a notification's signature is missing, malformed or
	// does not match.
	ErrSignatureInvalid = errors.New("pix: notification signature invalid")
	// ErrSignatureStale means a genuine signature is older (or further in the future)
	// than the tolerance allows: possibly a replay.
	ErrSignatureStale = errors.New("pix: notification signature too old")
)
