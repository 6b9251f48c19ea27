package blobs

import (
	"context"
	"errors"
	"strconv"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// Failures a caller can act on.
var (
	errObjectNotFound = errs.NotFound("OBJECT_NOT_FOUND", "no object is stored under this key")
	errUnavailable    = errs.Unavailable("STORAGE_UNAVAILABLE",
		"the object storage cannot be reached right now; retry", nil)
	errInvalidKey = errs.InvalidArgument("KEY_INVALID", "the object key is not valid",
		errs.Violation{Field: "key", Description: "must match ^[a-z0-9][a-z0-9/_-]*$, 1 to 512 characters"})
	errHeaderMissing = errs.InvalidArgument("HEADER_REQUIRED",
		"the first message of a Put must be its header, naming the object",
		errs.Violation{Field: "header", Description: "required in the first message"})
	errHeaderRepeated = errs.InvalidArgument("HEADER_REPEATED",
		"only the first message of a Put may be a header; the others carry chunks",
		errs.Violation{Field: "header", Description: "allowed only in the first message"})
	errTrailerMissing = errs.InvalidArgument("TRAILER_REQUIRED",
		"a Put must end with its trailer (size and SHA-256); nothing was stored",
		errs.Violation{Field: "trailer", Description: "required as the last message"})
	errAfterTrailer = errs.InvalidArgument("TRAILER_NOT_LAST",
		"the trailer must be the last message of a Put; nothing was stored",
		errs.Violation{Field: "trailer", Description: "must be the last message"})
)

// errTrailerMismatch reports a trailer that does not describe the bytes that arrived:
// the stream lost or changed something, so nothing is stored.
func errTrailerMismatch(received int64) error {
	e := errs.InvalidArgument("TRAILER_MISMATCH",
		"the trailer's size or SHA-256 does not match the bytes received; nothing was stored",
		errs.Violation{Field: "trailer", Description: "must give the size and SHA-256 of the chunks sent"})
	e.Metadata = map[string]string{"received_bytes": strconv.FormatInt(received, 10)}
	return e
}

// tooLarge reports an object past its limit. It is INVALID_ARGUMENT, not
// FAILED_PRECONDITION: the request itself (its bytes against its own max_bytes) is at
// fault, and sending it again cannot succeed. ErrorInfo carries the limit applied.
func tooLarge(maxBytes int64, cause error) *errs.Error {
	e := errs.InvalidArgument("OBJECT_TOO_LARGE",
		"the object is larger than the header's max_bytes (or the 5 GiB limit); nothing was stored",
		errs.Violation{Field: "header.max_bytes", Description: "the object's bytes passed this limit"})
	e.Metadata = map[string]string{"max_bytes": strconv.FormatInt(limit(maxBytes), 10)}
	return e.WithCause(cause)
}

// driverError maps a failure to the status the caller gets. Statuses already made
// (the stream's own, the header rules) pass; unexpected causes become INTERNAL:
// logged by the server, never sent.
func driverError(err error) error {
	if _, ok := errors.AsType[*errs.Error](err); ok {
		return err
	}
	if _, ok := errors.AsType[*connect.Error](err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err // the server answers CANCELED or DEADLINE_EXCEEDED
	case errors.Is(err, ErrNotFound):
		return errObjectNotFound.WithCause(err)
	case errors.Is(err, ErrUnavailable):
		return errUnavailable.WithCause(err)
	case errors.Is(err, ErrInvalidKey):
		return errInvalidKey.WithCause(err)
	}
	return errs.Internal("blobs: driverError", err)
}
