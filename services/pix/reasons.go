package pix

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons the pix service sends, besides the platform's (authentication,
// VALIDATION_FAILED). Each maps a driver error; see errors.go.
var (
	ReasonChargeNotFound       = errs.Declare(connect.CodeNotFound, "CHARGE_NOT_FOUND")
	ReasonChargeNotCancellable = errs.Declare(connect.CodeFailedPrecondition, "CHARGE_NOT_CANCELLABLE")
	// ReasonChargeNotRefundable: unpaid, refunded in full, or out of partial refunds.
	ReasonChargeNotRefundable = errs.Declare(connect.CodeFailedPrecondition, "CHARGE_NOT_REFUNDABLE")
	// ReasonRefundExceedsAmount: more than is left to refund on the charge.
	ReasonRefundExceedsAmount = errs.Declare(connect.CodeFailedPrecondition, "REFUND_EXCEEDS_AMOUNT")
	// ReasonIdempotencyKeyReused: the key was used for a different request.
	ReasonIdempotencyKeyReused = errs.Declare(connect.CodeFailedPrecondition, "IDEMPOTENCY_KEY_REUSED")
	// ReasonProviderRejected: the provider refused the request's data.
	ReasonProviderRejected = errs.Declare(connect.CodeInvalidArgument, "PROVIDER_REJECTED")
	// ReasonProviderUnavailable: the provider could not be reached, timed out or failed
	// on its side; retry with the same idempotency key.
	ReasonProviderUnavailable = errs.Declare(connect.CodeUnavailable, "PROVIDER_UNAVAILABLE")
	// ReasonSignatureInvalid: a notification's x-signature is missing, malformed or wrong.
	ReasonSignatureInvalid = errs.Declare(connect.CodeUnauthenticated, "SIGNATURE_INVALID")
	// ReasonSignatureStale: a genuine signature too old (or too far ahead): a replay?
	ReasonSignatureStale = errs.Declare(connect.CodeUnauthenticated, "SIGNATURE_STALE")
)
