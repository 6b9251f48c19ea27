package telehealth

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// Failures a caller can act on.
var (
	errAppointmentNotFound = errs.NotFound("APPOINTMENT_NOT_FOUND", "no appointment has this id")
	errNotParticipant      = errs.PermissionDenied("NOT_PARTICIPANT",
		"only the appointment's patient and doctor may join its consultation room")
	errNotConfirmed = errs.FailedPrecondition("NOT_CONFIRMED",
		"the appointment is not confirmed: the room opens only for a consultation the doctor accepted")
	errEnded = errs.FailedPrecondition("ENDED", "the consultation has ended: its room is closed")
)

// errTooEarly reports a join before the window opens; ErrorInfo says when it opens.
func errTooEarly(opens time.Time) error {
	e := errs.FailedPrecondition("TOO_EARLY", "the consultation room opens at "+opens.UTC().Format(time.RFC3339))
	e.Metadata = map[string]string{"window_start_time": opens.UTC().Format(time.RFC3339)}
	return e
}

// unavailable maps a failed call to another service: the caller's own cancellation
// or deadline passes through, anything else says which dependency to wait for.
func unavailable(reason, what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		connect.CodeOf(err) == connect.CodeCanceled || connect.CodeOf(err) == connect.CodeDeadlineExceeded {
		return err
	}
	return errs.Unavailable(reason, what+" cannot be reached right now; retry", err)
}
