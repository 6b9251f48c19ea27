package payments

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons payments sends, and those it recognises in the answers of the services it
// calls. Errors are built only from these (ReasonPaymentNotFound.New("…")).
var (
	// ReasonPaymentNotFound: the appointment has no payment, or none the caller may see.
	ReasonPaymentNotFound = errs.Declare(connect.CodeNotFound, "PAYMENT_NOT_FOUND")
	// ReasonPaymentMismatch: StartPayment named another patient, doctor or amount than
	// the appointment's payment already has.
	ReasonPaymentMismatch = errs.Declare(connect.CodeFailedPrecondition, "PAYMENT_MISMATCH")
	// ReasonPaymentNotPaid: only money that arrived can be refunded.
	ReasonPaymentNotPaid = errs.Declare(connect.CodeFailedPrecondition, "PAYMENT_NOT_PAID")
	// ReasonRefundExceedsPayment: the refund is larger than what was paid and not yet
	// refunded (or requested); its metadata says how much is left (refundable_cents).
	ReasonRefundExceedsPayment = errs.Declare(connect.CodeFailedPrecondition, "REFUND_EXCEEDS_PAYMENT")
	// ReasonIdempotencyKeyReused: a refund's key was already used for another refund.
	// Also sent by pix, with the same code.
	ReasonIdempotencyKeyReused = errs.Declare(connect.CodeFailedPrecondition, "IDEMPOTENCY_KEY_REUSED")
	// ReasonProviderUnavailable: the pix adapter or the provider behind it cannot be
	// reached; retry. Also sent by pix, with the same code.
	ReasonProviderUnavailable = errs.Declare(connect.CodeUnavailable, "PROVIDER_UNAVAILABLE")
	// ReasonIdentityUnavailable: the payer's details cannot be read from identity; retry.
	ReasonIdentityUnavailable = errs.Declare(connect.CodeUnavailable, "IDENTITY_UNAVAILABLE")
	// ReasonChargeRefused: the provider refused to create the charge for a reason other
	// than its data (which pix answers with PROVIDER_REJECTED, passed on as it is); the
	// payment was not started.
	ReasonChargeRefused = errs.Declare(connect.CodeFailedPrecondition, "CHARGE_REFUSED")

	// ReasonSignatureInvalid: a provider notification's signature is missing, malformed
	// or wrong. Sent by pix's VerifyNotification; payments passes the verdict on.
	ReasonSignatureInvalid = errs.Declare(connect.CodeUnauthenticated, "SIGNATURE_INVALID")
	// ReasonSignatureStale: a provider notification was signed too long ago (or ahead of
	// now). Sent by pix's VerifyNotification; payments passes the verdict on.
	ReasonSignatureStale = errs.Declare(connect.CodeUnauthenticated, "SIGNATURE_STALE")
	// ReasonChargeNotCancellable: the charge is paid, refunded, cancelled or expired.
	// Sent by pix.
	ReasonChargeNotCancellable = errs.Declare(connect.CodeFailedPrecondition, "CHARGE_NOT_CANCELLABLE")
)

// Errors sent from several places.
var (
	// errPaymentNotFound also answers every caller who may not see a payment, so
	// payment ids and appointment ids cannot be probed.
	errPaymentNotFound = ReasonPaymentNotFound.New("this appointment has no payment you can see")
	errKeyReused       = ReasonIdempotencyKeyReused.New("this idempotency key was already used for another refund")
	errPixUnavailable  = ReasonProviderUnavailable.New("the payment provider cannot be reached right now; retry")
)
