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
	errChargeNotFound = ReasonChargeNotFound.New("the payment provider has no charge with this id")
	errNotCancellable = ReasonChargeNotCancellable.New(
		"the charge can no longer be cancelled: it is paid, refunded, cancelled or expired")
	errNotRefundable = ReasonChargeNotRefundable.New(
		"the charge cannot be refunded: it is unpaid, already refunded in full, or has reached the limit of partial refunds")
	errRefundExceeds = ReasonRefundExceedsAmount.New("the refund is larger than what is left to refund on the charge")
	errKeyReused     = ReasonIdempotencyKeyReused.New("this idempotency key was already used for a different request")
	errRejected      = ReasonProviderRejected.New("the payment provider refused the request's data")
	errUnavailable   = ReasonProviderUnavailable.New(
		"the payment provider cannot be reached right now; retry with the same idempotency key")
	errSignatureInvalid = ReasonSignatureInvalid.New("the notification's signature is missing, malformed or does not match")
	errSignatureStale   = ReasonSignatureStale.New(
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

// driverError maps the failure of op (e.g. "create charge") to the status the caller
// gets. Unexpected causes become INTERNAL, naming op: logged by the server, never sent.
func driverError(ctx context.Context, op string, err error) error {
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
	return errs.Internal("pix: "+op, err)
}
