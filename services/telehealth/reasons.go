package telehealth

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons telehealth sends, besides the platform's own (authn's token and role
// reasons, server.ReasonValidationFailed), and those it recognises from the services
// it calls.
var (
	// ReasonAppointmentNotFound: no appointment has the id, or the caller is neither
	// its patient nor its doctor (a stranger cannot tell the two apart). Also sent by
	// scheduling, whose GetAppointment and FinishAppointment answer it for an unknown
	// appointment.
	ReasonAppointmentNotFound = errs.Declare(connect.CodeNotFound, "APPOINTMENT_NOT_FOUND")
	// ReasonNotConfirmed: the room opens only for an appointment the doctor accepted.
	ReasonNotConfirmed = errs.Declare(connect.CodeFailedPrecondition, "NOT_CONFIRMED")
	// ReasonTooEarly: the room is not open yet; ErrorInfo's window_start_time says when.
	ReasonTooEarly = errs.Declare(connect.CodeFailedPrecondition, "TOO_EARLY")
	// ReasonEnded: the consultation has ended and its room is closed.
	ReasonEnded = errs.Declare(connect.CodeFailedPrecondition, "ENDED")
	// ReasonDoctorNotVerified: the calling doctor's token does not say verified (pending,
	// rejected or suspended): such a doctor joins no room.
	ReasonDoctorNotVerified = errs.Declare(connect.CodeFailedPrecondition, "DOCTOR_NOT_VERIFIED")
	// ReasonSchedulingUnavailable: scheduling, which telehealth reads appointments
	// from, does not answer.
	ReasonSchedulingUnavailable = errs.Declare(connect.CodeUnavailable, "SCHEDULING_UNAVAILABLE")
	// ReasonMeetingsUnavailable: the video provider cannot be reached. Also sent by
	// meetings when its provider does not answer.
	ReasonMeetingsUnavailable = errs.Declare(connect.CodeUnavailable, "MEETINGS_UNAVAILABLE")

	// ReasonMeetingNotFound is sent by meetings: the provider no longer has the meeting
	// (it ended, or was deleted).
	ReasonMeetingNotFound = errs.Declare(connect.CodeNotFound, "MEETING_NOT_FOUND")
)

// Failures a caller can act on.
var (
	errAppointmentNotFound = ReasonAppointmentNotFound.New("no appointment has this id")
	errNotConfirmed        = ReasonNotConfirmed.New(
		"the appointment is not confirmed: the room opens only for a consultation the doctor accepted")
	errEnded       = ReasonEnded.New("the consultation has ended: its room is closed")
	errNotVerified = ReasonDoctorNotVerified.New("your CRM is not verified: a doctor joins consultations once an operator verified it")
)

// errTooEarly reports a join before the window opens; ErrorInfo says when it opens.
func errTooEarly(opens time.Time) error {
	at := opens.UTC().Format(time.RFC3339)
	return ReasonTooEarly.New("the consultation room opens at " + at).WithMetadata(map[string]string{"window_start_time": at})
}

// unavailable maps a failed call to another service: the caller's own cancellation
// or deadline passes through, anything else says which dependency to wait for.
func unavailable(r errs.Reason, what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		connect.CodeOf(err) == connect.CodeCanceled || connect.CodeOf(err) == connect.CodeDeadlineExceeded {
		return err
	}
	return r.New(what + " cannot be reached right now; retry").WithCause(err)
}

// internal passes nil, our own errors and the caller's cancellation through, and
// hides anything else behind INTERNAL, naming op ("telehealth: create meeting").
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*errs.Error](err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errs.Internal(op, err)
}
