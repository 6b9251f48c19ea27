package directory

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons the directory sends, besides the platform's own (authn's token and role
// reasons, server.ReasonValidationFailed, pagetoken.ReasonInvalid), and the one it
// recognises from scheduling.
var (
	// ReasonDoctorNotFound: no doctor (no listed one, where only listed ones count) has
	// the id.
	ReasonDoctorNotFound = errs.Declare(connect.CodeNotFound, "DOCTOR_NOT_FOUND")
	// ReasonProfileNotFound: the calling doctor has no profile yet.
	ReasonProfileNotFound = errs.Declare(connect.CodeNotFound, "PROFILE_NOT_FOUND")
	// ReasonCRMMissing: a doctor's access token carries no CRM.
	ReasonCRMMissing = errs.Declare(connect.CodePermissionDenied, "CRM_MISSING")
	// ReasonCRMTaken: another profile holds the caller's CRM and UF.
	ReasonCRMTaken = errs.Declare(connect.CodeAlreadyExists, "CRM_TAKEN")
	// ReasonProfileInvalid: a profile breaks a rule the proto cannot state (unknown or
	// repeated specialty, unknown time zone, consultation length).
	ReasonProfileInvalid = errs.Declare(connect.CodeInvalidArgument, "PROFILE_INVALID")
	// ReasonSearchInvalid: a search combines filters that do not go together.
	ReasonSearchInvalid = errs.Declare(connect.CodeInvalidArgument, "SEARCH_INVALID")

	// ReasonAppointmentNotFound: the reviewer has no appointment with the id. Also sent
	// by scheduling, whose GetAppointment answers it for an unknown appointment.
	ReasonAppointmentNotFound = errs.Declare(connect.CodeNotFound, "APPOINTMENT_NOT_FOUND")
	// ReasonAppointmentNotCompleted: only a completed consultation can be reviewed.
	ReasonAppointmentNotCompleted = errs.Declare(connect.CodeFailedPrecondition, "APPOINTMENT_NOT_COMPLETED")
	ReasonAlreadyReviewed         = errs.Declare(connect.CodeAlreadyExists, "ALREADY_REVIEWED")
	// ReasonSelfReview: a doctor reviewing a consultation they gave.
	ReasonSelfReview = errs.Declare(connect.CodePermissionDenied, "SELF_REVIEW")
	// ReasonSchedulingUnavailable: a review cannot be checked because scheduling does
	// not answer.
	ReasonSchedulingUnavailable = errs.Declare(connect.CodeUnavailable, "SCHEDULING_UNAVAILABLE")
)
