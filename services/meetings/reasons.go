package meetings

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
	"healthcore/platform/logging"
)

// The reasons meetings sends, besides the platform's own (authn's token and
// service-only reasons, server.ReasonValidationFailed).
var (
	// ReasonMeetingNotFound: the provider has no such meeting (deleted, or ended).
	ReasonMeetingNotFound = errs.Declare(connect.CodeNotFound, "MEETING_NOT_FOUND")
	// ReasonMeetingRejected: the provider refused the request's data.
	ReasonMeetingRejected = errs.Declare(connect.CodeInvalidArgument, "MEETING_REJECTED")
	// ReasonMeetingsUnavailable: the provider cannot be reached; every call may be
	// retried.
	ReasonMeetingsUnavailable = errs.Declare(connect.CodeUnavailable, "MEETINGS_UNAVAILABLE")
)

// Failures a caller can act on.
var (
	errMeetingNotFound = ReasonMeetingNotFound.New("the video provider has no such meeting: it was deleted, or it ended")
	errRejected        = ReasonMeetingRejected.New("the video provider refused the request's data")
	errUnavailable     = ReasonMeetingsUnavailable.New(
		"the video provider cannot be reached right now; retry (every call is idempotent)")
)

// driverError maps a driver failure to the status the caller gets. Unexpected causes
// become INTERNAL, naming op ("meetings: create meeting"): logged by the server, never
// sent.
func driverError(ctx context.Context, op string, err error) error {
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
	return errs.Internal(op, err)
}
