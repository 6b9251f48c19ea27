package meetings

import (
	"context"
	"errors"
	"log/slog"

	"healthcore/platform/errs"
	"healthcore/platform/logging"
)

// Failures a caller can act on.
var (
	errMeetingNotFound = errs.NotFound("MEETING_NOT_FOUND",
		"the video provider has no such meeting: it was deleted, or it ended")
	errRejected = errs.InvalidArgument("MEETING_REJECTED",
		"the video provider refused the request's data")
	errUnavailable = errs.Unavailable("MEETINGS_UNAVAILABLE",
		"the video provider cannot be reached right now; retry (every call is idempotent)", nil)
)

// driverError maps a driver failure to the status the caller gets. Unexpected causes
// become INTERNAL: logged by the server, never sent.
func driverError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err // the server answers CANCELED or DEADLINE_EXCEEDED
	case errors.Is(err, ErrUnavailable):
		return errUnavailable.WithCause(err)
	case errors.Is(err, ErrMeetingNotFound):
		// A client error, so the server does not log the cause; record the provider's
		// words (request id included) for whoever investigates.
		logging.AddFields(ctx, slog.String("meetings_error", err.Error()))
		return errMeetingNotFound.WithCause(err)
	case errors.Is(err, ErrRejected):
		logging.AddFields(ctx, slog.String("meetings_error", err.Error()))
		return errRejected.WithCause(err)
	}
	return errs.Internal("meetings: driverError", err)
}
