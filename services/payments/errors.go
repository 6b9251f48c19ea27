package payments

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// Failures a caller can act on.
var (
	errPaymentNotFound = errs.NotFound("PAYMENT_NOT_FOUND", "this appointment has no payment you can see")
	errPaymentMismatch = errs.FailedPrecondition("PAYMENT_MISMATCH",
		"this appointment already has a payment with another patient, doctor or amount")
	errNotPaid = errs.FailedPrecondition("PAYMENT_NOT_PAID", "only a paid payment can be refunded")
	errExceeds = errs.FailedPrecondition("REFUND_EXCEEDS_PAYMENT",
		"the refund is larger than what was paid and not yet refunded")
	errKeyReused = errs.FailedPrecondition("IDEMPOTENCY_KEY_REUSED",
		"this idempotency key was already used for another refund")
	errPixUnavailable = errs.Unavailable("PROVIDER_UNAVAILABLE",
		"the payment provider cannot be reached right now; retry", nil)
	errIdentityUnavailable = errs.Unavailable("IDENTITY_UNAVAILABLE",
		"the payer's details cannot be read right now; retry", nil)
	errProviderRefused = errs.FailedPrecondition("PROVIDER_REJECTED",
		"the payment provider refused the charge; the payment was not started")
)

// expiryViolation reports an expire_time outside the window PIX charges accept.
func expiryViolation(msg string) error {
	return errs.InvalidArgument("VALIDATION_FAILED", "invalid request: expire_time: "+msg,
		errs.Violation{Field: "expire_time", Description: msg})
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
