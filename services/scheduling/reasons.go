package scheduling

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons scheduling sends, besides the platform's own (authn's token and role
// reasons, server.ReasonValidationFailed, pagetoken.ReasonInvalid), and the ones it
// recognises from the services it calls.
var (
	// ReasonAvailabilityInvalid: an availability breaks a rule the proto cannot state
	// (end before start, overlapping windows, a date that does not exist…).
	ReasonAvailabilityInvalid = errs.Declare(connect.CodeInvalidArgument, "AVAILABILITY_INVALID")
	// ReasonRangeInvalid: a listing's end_time is not after its start_time.
	ReasonRangeInvalid = errs.Declare(connect.CodeInvalidArgument, "RANGE_INVALID")
	// ReasonRangeTooLong: a listing's range is longer than the service answers.
	ReasonRangeTooLong = errs.Declare(connect.CodeInvalidArgument, "RANGE_TOO_LONG")
	// ReasonProfileRequired: the doctor has no directory profile with a time zone.
	ReasonProfileRequired = errs.Declare(connect.CodeFailedPrecondition, "PROFILE_REQUIRED")
	// ReasonDoctorNotFound: no listed doctor has the id. Also sent by directory, whose
	// GetPracticeSettings answers it for a doctor without a profile.
	ReasonDoctorNotFound = errs.Declare(connect.CodeNotFound, "DOCTOR_NOT_FOUND")
	// ReasonDirectoryUnavailable: the directory, which gives each doctor's time zone
	// and price, does not answer.
	ReasonDirectoryUnavailable = errs.Declare(connect.CodeUnavailable, "DIRECTORY_UNAVAILABLE")

	ReasonSlotNotFound = errs.Declare(connect.CodeNotFound, "SLOT_NOT_FOUND")
	// ReasonSlotBooked: the slot holds a live appointment, so the doctor cannot block
	// or reopen it.
	ReasonSlotBooked = errs.Declare(connect.CodeFailedPrecondition, "SLOT_BOOKED")
	// ReasonSlotPast: the slot has started.
	ReasonSlotPast = errs.Declare(connect.CodeFailedPrecondition, "SLOT_PAST")
	// ReasonSlotBlocked: the doctor took the slot out of booking.
	ReasonSlotBlocked = errs.Declare(connect.CodeFailedPrecondition, "SLOT_BLOCKED")
	// ReasonSlotTaken: another patient booked the slot first.
	ReasonSlotTaken = errs.Declare(connect.CodeFailedPrecondition, "SLOT_TAKEN")
	// ReasonPatientBusy: the patient already holds an appointment at an overlapping time.
	ReasonPatientBusy = errs.Declare(connect.CodeFailedPrecondition, "PATIENT_BUSY")
	// ReasonIdempotencyKeyReused: the booking's idempotency key already booked another
	// slot. Also sent by payments and pix, with the same code.
	ReasonIdempotencyKeyReused = errs.Declare(connect.CodeFailedPrecondition, "IDEMPOTENCY_KEY_REUSED")
	// ReasonTooLateToBook: the slot starts sooner than the minimum lead time.
	ReasonTooLateToBook = errs.Declare(connect.CodeFailedPrecondition, "TOO_LATE_TO_BOOK")
	// ReasonTooManyPendingBookings: the patient already holds as many unpaid bookings as
	// allowed (-scheduling.max-pending-bookings). FAILED_PRECONDITION, like the other
	// booking refusals: the patient fixes it by paying or cancelling a hold, not by
	// retrying the same request later (RESOURCE_EXHAUSTED, 429, is for the rate limit).
	ReasonTooManyPendingBookings = errs.Declare(connect.CodeFailedPrecondition, "TOO_MANY_PENDING_BOOKINGS")
	// ReasonBookingThrottled: the patient, or the client address, started more
	// bookings than the rate allows; RetryInfo says when the next one is allowed.
	ReasonBookingThrottled = errs.Declare(connect.CodeResourceExhausted, "BOOKING_THROTTLED")
	// ReasonDoctorNotVerified: the doctor is not verified (pending, rejected or
	// suspended): a doctor whose token says so cannot set availability, accept or
	// refuse, and nobody books a doctor identity does not report VERIFIED now.
	ReasonDoctorNotVerified = errs.Declare(connect.CodeFailedPrecondition, "DOCTOR_NOT_VERIFIED")
	// ReasonDoctorNotBookable: the doctor's profile is unlisted or has no price.
	ReasonDoctorNotBookable = errs.Declare(connect.CodeFailedPrecondition, "DOCTOR_NOT_BOOKABLE")
	// ReasonIdentityUnavailable: identity, which says whether a doctor is verified,
	// could not be reached; retry.
	ReasonIdentityUnavailable = errs.Declare(connect.CodeUnavailable, "IDENTITY_UNAVAILABLE")

	// ReasonAppointmentNotFound: the caller has no appointment with the id (someone
	// else's appointment is answered the same way, so ids reveal nothing).
	ReasonAppointmentNotFound = errs.Declare(connect.CodeNotFound, "APPOINTMENT_NOT_FOUND")
	// ReasonIllegalTransition: the appointment's state does not allow the change.
	ReasonIllegalTransition = errs.Declare(connect.CodeFailedPrecondition, "ILLEGAL_TRANSITION")
	// ReasonAnswerDeadlinePassed: the doctor answered after the deadline; the
	// appointment counts as refused.
	ReasonAnswerDeadlinePassed = errs.Declare(connect.CodeFailedPrecondition, "ANSWER_DEADLINE_PASSED")
	// ReasonAlreadyStarted: the consultation has started and can no longer be cancelled.
	ReasonAlreadyStarted = errs.Declare(connect.CodeFailedPrecondition, "ALREADY_STARTED")
	// ReasonNotEnded: the consultation window has not ended, so it cannot be finished.
	ReasonNotEnded = errs.Declare(connect.CodeFailedPrecondition, "NOT_ENDED")
	// ReasonNotParticipant: only the appointment's patient and doctor join its room.
	ReasonNotParticipant = errs.Declare(connect.CodePermissionDenied, "NOT_PARTICIPANT")

	// ReasonRefundExceedsPayment is sent by payments: everything paid is already
	// refunded or on its way back.
	ReasonRefundExceedsPayment = errs.Declare(connect.CodeFailedPrecondition, "REFUND_EXCEEDS_PAYMENT")
	// ReasonEmailNotVerified: the patient's token says the e-mail address is not
	// confirmed (claim ev); booking waits for it.
	ReasonEmailNotVerified = errs.Declare(connect.CodeFailedPrecondition, "EMAIL_NOT_VERIFIED")
	// ReasonNotAffiliated refuses a partner clinic's call about a doctor not affiliated
	// with the clinic (the clinics service's answer).
	ReasonNotAffiliated = errs.Declare(connect.CodePermissionDenied, "NOT_AFFILIATED")
	// ReasonClinicsUnavailable: the clinics service could not say whether the doctor is
	// affiliated; retry.
	ReasonClinicsUnavailable = errs.Declare(connect.CodeUnavailable, "CLINICS_UNAVAILABLE")
	// ReasonNotDelegated refuses a partner clinic's answer (accept, refuse) for a doctor
	// affiliated with it who has not delegated answering appointments to the clinic.
	ReasonNotDelegated = errs.Declare(connect.CodePermissionDenied, "NOT_DELEGATED")
)
