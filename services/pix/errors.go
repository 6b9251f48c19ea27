package pix

import (
	"context"
	"errors"
	"log/slog"

	"healthcore/platform/errs"
	"healthcore/platform/logging"
)

// Failures a caller can act on.
var (
	errChargeNotFound = errs.NotFound("CHARGE_NOT_FOUND", "the payment provider has no charge with this id")
	errNotCancellable = errs.FailedPrecondition("CHARGE_NOT_CANCELLABLE",
		"the charge can no longer be cancelled: it is paid, refunded, cancelled or expired")
	errNotRefundable = errs.FailedPrecondition("CHARGE_NOT_REFUNDABLE",
		"the charge cannot be refunded: it is unpaid, already refunded in full, or has reached the limit of partial refunds")
	errRefundExceeds = errs.FailedPrecondition("REFUND_EXCEEDS_AMOUNT",
		"the refund is larger than what is left to refund on the charge")
	errKeyReused = errs.FailedPrecondition("IDEMPOTENCY_KEY_REUSED",
		"this idempotency key was already used for a different request")
	errRejected = errs.InvalidArgument("PROVIDER_REJECTED",
		"the payment provider refused the request's data")
	errUnavailable = errs.Unavailable("PROVIDER_UNAVAILABLE",
		"the payment provider cannot be reached right now; retry with the same idempotency key", nil)
	errSignatureInvalid = errs.Unauthenticated("SIGNATURE_INVALID",
		"the notification's signature is missing, malformed or does not match")
	errSignatureStale = errs.Unauthenticated("SIGNATURE_STALE",
		"the notification was signed too long ago (or ahead of now) to be accepted")
)

var driverErrors = []struct {
	cause error
	err   *errs.Error
}{
	{ErrChargeNotFound, errChargeNotFound},
	{ErrNotCancellable, errNotCancellable},
	{ErrNotRefundable, errNotRefundable},
	{ErrRefundExceedsAmount, errRefundExceeds},
	{ErrIdempotencyKeyReused, errKeyReused},
	{ErrRejected, errRejected},
	{ErrSignatureInvalid, errSignatureInvalid},
	{ErrSignatureStale, errSignatureStale},
}

// driverError maps a driver failure to the status the caller gets. Unexpected causes
// become INTERNAL: logged by the server, never sent.
func driverError(ctx context.Context, err error) error {
	if e, ok := errors.AsType[*errs.Error](err); ok {
		return e // already a status, e.g. the expiry window
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err // the server answers CANCELED or DEADLINE_EXCEEDED
	case errors.Is(err, ErrUnavailable):
		return errUnavailable.WithCause(err)
	}
	for _, m := range driverErrors {
		if errors.Is(err, m.cause) {
			// Client errors are not logged by the server; record the provider's words.
			logging.AddFields(ctx, slog.String("pix_error", err.Error()))
			return m.err.WithCause(err)
		}
	}
	return errs.Internal("pix: driverError", err)
}
