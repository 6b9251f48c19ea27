package notifications

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons notifications sends, besides the platform's own (authn's token and role
// reasons, server.ReasonValidationFailed).
var (
	// ReasonIdempotencyKeyReused: a Notify repeats a key with another event or
	// recipient; the first notification stands.
	ReasonIdempotencyKeyReused = errs.Declare(connect.CodeFailedPrecondition, "IDEMPOTENCY_KEY_REUSED")
	// ReasonDetailMismatch: the request's detail is not the one its event takes (an
	// appointment event with a share detail…).
	ReasonDetailMismatch = errs.Declare(connect.CodeInvalidArgument, "DETAIL_MISMATCH")
	// ReasonSignatureInvalid: a WhatsApp webhook whose X-Hub-Signature-256 is missing
	// or does not match the app secret. The gateway declares it too.
	ReasonSignatureInvalid = errs.Declare(connect.CodeUnauthenticated, "SIGNATURE_INVALID")
	// ReasonVerifyTokenMismatch: the webhook handshake's verify token is not ours.
	ReasonVerifyTokenMismatch = errs.Declare(connect.CodePermissionDenied, "VERIFY_TOKEN_MISMATCH")
	// ReasonUpdateMaskInvalid: update_mask names no field, or one that cannot change.
	ReasonUpdateMaskInvalid = errs.Declare(connect.CodeInvalidArgument, "UPDATE_MASK_INVALID")
	// ReasonTimeZoneUnknown: time_zone is not an IANA zone this server knows.
	ReasonTimeZoneUnknown = errs.Declare(connect.CodeInvalidArgument, "TIME_ZONE_UNKNOWN")
	// ReasonConsentRequired: turning WhatsApp on needs consent_text_version and
	// consent_source (the consent is recorded: LGPD).
	ReasonConsentRequired = errs.Declare(connect.CodeInvalidArgument, "CONSENT_REQUIRED")
	// ReasonNotAUser: the caller is not a patient or doctor account.
	ReasonNotAUser = errs.Declare(connect.CodePermissionDenied, "NOT_A_USER")

	// ReasonAccountNotFound is sent by identity's GetContact for an account that does
	// not exist (deleted): its notifications are suppressed.
	ReasonAccountNotFound = errs.Declare(connect.CodeNotFound, "ACCOUNT_NOT_FOUND")
)
