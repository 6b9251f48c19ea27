package identity

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons identity sends. A wrong login never says which part was wrong, and a
// duplicate registration never says which detail is taken.
var (
	// ReasonInvalidCredentials answers every wrong login, whatever was wrong.
	ReasonInvalidCredentials = errs.Declare(connect.CodeUnauthenticated, "INVALID_CREDENTIALS")
	// ReasonLoginThrottled is sent while the account, the (account, client) pair or the
	// client address has failed too often; RetryInfo says how long to wait.
	ReasonLoginThrottled = errs.Declare(connect.CodeResourceExhausted, "LOGIN_THROTTLED")
	// ReasonRegistrationThrottled is sent when the client address registered too many
	// accounts in the window; RetryInfo says when the window ends.
	ReasonRegistrationThrottled = errs.Declare(connect.CodeResourceExhausted, "REGISTRATION_THROTTLED")
	// ReasonLoginRequired means the login request named no e-mail, CPF or CRM.
	ReasonLoginRequired = errs.Declare(connect.CodeInvalidArgument, "LOGIN_REQUIRED")
	// ReasonAccountExists refuses an operator account (create-admin) whose e-mail is
	// taken. Registration never answers it: it answers the same whatever is taken.
	ReasonAccountExists   = errs.Declare(connect.CodeAlreadyExists, "ACCOUNT_EXISTS")
	ReasonAccountNotFound = errs.Declare(connect.CodeNotFound, "ACCOUNT_NOT_FOUND")
	// ReasonNotAPatient refuses GetPayer for an account that is not a patient's.
	ReasonNotAPatient = errs.Declare(connect.CodeFailedPrecondition, "NOT_A_PATIENT")
	// ReasonCPFInvalid means the CPF's check digits are wrong, or all its digits equal.
	ReasonCPFInvalid       = errs.Declare(connect.CodeInvalidArgument, "CPF_INVALID")
	ReasonBirthDateInvalid = errs.Declare(connect.CodeInvalidArgument, "BIRTH_DATE_INVALID")
	// ReasonPasswordTooWeak refuses a new password the policy does not accept (see
	// passwordpolicy.go); the message and the password field's violation say why and
	// what to choose instead.
	ReasonPasswordTooWeak = errs.Declare(connect.CodeInvalidArgument, "PASSWORD_TOO_WEAK")
	// ReasonRefreshTokenInvalid means the refresh token is unknown.
	ReasonRefreshTokenInvalid = errs.Declare(connect.CodeUnauthenticated, "REFRESH_TOKEN_INVALID")
	// ReasonRefreshTokenExpired means the refresh token or its session outlived its TTL.
	ReasonRefreshTokenExpired = errs.Declare(connect.CodeUnauthenticated, "REFRESH_TOKEN_EXPIRED")
	// ReasonRefreshTokenReused means a spent refresh token came back: the session is
	// ended, since one of the two holders is not the account's owner.
	ReasonRefreshTokenReused = errs.Declare(connect.CodeUnauthenticated, "REFRESH_TOKEN_REUSED")
	// ReasonSessionEnded means the session was logged out or ended after a reuse.
	ReasonSessionEnded = errs.Declare(connect.CodeUnauthenticated, "SESSION_ENDED")
	// ReasonExportNotFound answers a data export that is not the caller's, or none.
	ReasonExportNotFound = errs.Declare(connect.CodeNotFound, "EXPORT_NOT_FOUND")
	// ReasonExportNotReady refuses the download of a data export still being gathered
	// (or one that failed: the message says to ask again).
	ReasonExportNotReady = errs.Declare(connect.CodeFailedPrecondition, "EXPORT_NOT_READY")
	// ReasonExportExpired refuses the download of a data export past its window.
	ReasonExportExpired = errs.Declare(connect.CodeFailedPrecondition, "EXPORT_EXPIRED")
	// ReasonUpcomingAppointments refuses an erasure while an appointment of the patient
	// is pending payment, awaiting the doctor or confirmed: it must be cancelled first,
	// under the cancellation policy (and refunded by it).
	ReasonUpcomingAppointments = errs.Declare(connect.CodeFailedPrecondition, "UPCOMING_APPOINTMENTS")
	// ReasonErasureNotSelfService refuses the erasure of a doctor's or an admin's
	// account from the account itself: their professional duties outlive it (see the
	// README), so an operator handles it.
	ReasonErasureNotSelfService = errs.Declare(connect.CodeFailedPrecondition, "ERASURE_NOT_SELF_SERVICE")
	// ReasonCRMMismatch refuses verification evidence naming another CRM than the
	// account's.
	ReasonCRMMismatch = errs.Declare(connect.CodeInvalidArgument, "CRM_MISMATCH")
	// ReasonCardTypeNotAllowed refuses a CRM card that is not a JPEG, PNG or PDF (by its
	// bytes).
	ReasonCardTypeNotAllowed = errs.Declare(connect.CodeInvalidArgument, "CARD_TYPE_NOT_ALLOWED")
	// ReasonDoctorStatusConflict refuses a verification step that does not apply to the
	// doctor's current status (approving a verified doctor, suspending a pending one,
	// submitting evidence once decided).
	ReasonDoctorStatusConflict = errs.Declare(connect.CodeFailedPrecondition, "DOCTOR_STATUS_CONFLICT")
	// ReasonEvidenceMissing means the doctor has submitted no evidence: nothing to
	// approve, no card to show.
	ReasonEvidenceMissing = errs.Declare(connect.CodeFailedPrecondition, "EVIDENCE_MISSING")
	// ReasonCRMAlreadyVerified refuses approving a claim of a CRM another account holds
	// verified (or suspended).
	ReasonCRMAlreadyVerified = errs.Declare(connect.CodeFailedPrecondition, "CRM_ALREADY_VERIFIED")
	// ReasonMFACodeInvalid answers every wrong second factor (a TOTP code or a recovery
	// code), whatever was wrong.
	ReasonMFACodeInvalid = errs.Declare(connect.CodeUnauthenticated, "MFA_CODE_INVALID")
	// ReasonMFATokenInvalid means LoginMfa's mfa_token is unknown, used or expired: log
	// in again.
	ReasonMFATokenInvalid = errs.Declare(connect.CodeUnauthenticated, "MFA_TOKEN_INVALID")
	// ReasonMFANotEnrolled refuses ConfirmTotp without a pending enrolment (EnrollTotp).
	ReasonMFANotEnrolled = errs.Declare(connect.CodeFailedPrecondition, "MFA_NOT_ENROLLED")
	// ReasonMFANotEnabled refuses DisableTotp and RegenerateRecoveryCodes to an account
	// without a second factor.
	ReasonMFANotEnabled = errs.Declare(connect.CodeFailedPrecondition, "MFA_NOT_ENABLED")
	// ReasonMFAMandatory refuses DisableTotp to doctors and admins, whose second factor
	// the platform requires.
	ReasonMFAMandatory = errs.Declare(connect.CodePermissionDenied, "MFA_MANDATORY")
	// ReasonVerificationTokenInvalid means an e-mail verification token is unknown,
	// used or expired; which one is not said.
	ReasonVerificationTokenInvalid = errs.Declare(connect.CodeInvalidArgument, "VERIFICATION_TOKEN_INVALID")
	// ReasonResetTokenInvalid means a password reset token is unknown, used or expired;
	// which one is not said.
	ReasonResetTokenInvalid = errs.Declare(connect.CodeInvalidArgument, "RESET_TOKEN_INVALID")
	// ReasonEmailAlreadyVerified refuses to resend a verification for an address that is
	// verified.
	ReasonEmailAlreadyVerified = errs.Declare(connect.CodeFailedPrecondition, "EMAIL_ALREADY_VERIFIED")
	// ReasonEmailThrottled is sent when an account, or a client address, asked for too
	// many e-mails with links in the window; RetryInfo says when it ends.
	ReasonEmailThrottled = errs.Declare(connect.CodeResourceExhausted, "EMAIL_THROTTLED")
	// ReasonEmailChangeFailed refuses the confirmation of an e-mail change the address
	// cannot take; it does not say why (another account may hold it).
	ReasonEmailChangeFailed = errs.Declare(connect.CodeFailedPrecondition, "EMAIL_CHANGE_FAILED")
	// ReasonClientNotFound: no partner client has this id.
	ReasonClientNotFound = errs.Declare(connect.CodeNotFound, "CLIENT_NOT_FOUND")
	// ReasonClientRevoked refuses a new secret for a revoked partner client.
	ReasonClientRevoked = errs.Declare(connect.CodeFailedPrecondition, "CLIENT_REVOKED")
	// ReasonClientSecretLimit refuses a third active secret: revoke one first.
	ReasonClientSecretLimit = errs.Declare(connect.CodeFailedPrecondition, "CLIENT_SECRET_LIMIT")
	// ReasonSecretNotFound: the partner client has no secret with this id.
	ReasonSecretNotFound = errs.Declare(connect.CodeNotFound, "SECRET_NOT_FOUND")
	// ReasonClientInvalid answers every failed client authentication at the token
	// endpoint (unknown client, wrong or revoked secret, revoked client), whatever was
	// wrong: RFC 6749's invalid_client.
	ReasonClientInvalid = errs.Declare(connect.CodeUnauthenticated, "CLIENT_INVALID")
	// ReasonScopeInvalid refuses a token request for a scope the client does not hold:
	// RFC 6749's invalid_scope.
	ReasonScopeInvalid = errs.Declare(connect.CodeInvalidArgument, "SCOPE_INVALID")
	// ReasonClinicNotFound refuses a partner client for a clinic the clinics service
	// does not know (the reason clinics itself answers for an unknown clinic).
	ReasonClinicNotFound = errs.Declare(connect.CodeNotFound, "CLINIC_NOT_FOUND")
	// ReasonClinicsUnavailable: the clinics service could not say whether the clinic
	// exists; retry.
	ReasonClinicsUnavailable = errs.Declare(connect.CodeUnavailable, "CLINICS_UNAVAILABLE")
)
