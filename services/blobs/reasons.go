package blobs

import (
	"context"
	"errors"
	"strconv"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons blobs sends, besides the platform's own (authn's token and
// service-only reasons, server.ReasonValidationFailed).
var (
	ReasonObjectNotFound = errs.Declare(connect.CodeNotFound, "OBJECT_NOT_FOUND")
	// ReasonStorageUnavailable: the object storage cannot be reached; retry.
	ReasonStorageUnavailable = errs.Declare(connect.CodeUnavailable, "STORAGE_UNAVAILABLE")
	// ReasonKeyInvalid: an object key the storage refuses.
	ReasonKeyInvalid = errs.Declare(connect.CodeInvalidArgument, "KEY_INVALID")
	// ReasonHeaderRequired: a Put whose first message is not its header.
	ReasonHeaderRequired = errs.Declare(connect.CodeInvalidArgument, "HEADER_REQUIRED")
	// ReasonHeaderRepeated: a Put with a header after its first message.
	ReasonHeaderRepeated = errs.Declare(connect.CodeInvalidArgument, "HEADER_REPEATED")
	// ReasonTrailerRequired: a Put that ends without its trailer (a cut upload).
	ReasonTrailerRequired = errs.Declare(connect.CodeInvalidArgument, "TRAILER_REQUIRED")
	// ReasonTrailerNotLast: a Put that sends more after its trailer.
	ReasonTrailerNotLast = errs.Declare(connect.CodeInvalidArgument, "TRAILER_NOT_LAST")
	// ReasonTrailerMismatch: a trailer whose size or SHA-256 is not that of the bytes
	// received.
	ReasonTrailerMismatch = errs.Declare(connect.CodeInvalidArgument, "TRAILER_MISMATCH")
	// ReasonObjectTooLarge: an object past its header's max_bytes or the 5 GiB limit.
	// It is INVALID_ARGUMENT, not FAILED_PRECONDITION: the request itself (its bytes
	// against its own max_bytes) is at fault, and sending it again cannot succeed.
	ReasonObjectTooLarge = errs.Declare(connect.CodeInvalidArgument, "OBJECT_TOO_LARGE")
)

// Failures a caller can act on.
var (
	errObjectNotFound = ReasonObjectNotFound.New("no object is stored under this key")
	errUnavailable    = ReasonStorageUnavailable.New("the object storage cannot be reached right now; retry")

	errInvalidKey = ReasonKeyInvalid.New("the object key is not valid").WithViolations(
		errs.Violation{Field: "key", Description: "must match ^[a-z0-9][a-z0-9/_-]*$, 1 to 512 characters"})

	errHeaderMissing = ReasonHeaderRequired.New("the first message of a Put must be its header, naming the object").WithViolations(
		errs.Violation{Field: "header", Description: "required in the first message"})

	errHeaderRepeated = ReasonHeaderRepeated.New("only the first message of a Put may be a header; the others carry chunks").WithViolations(
		errs.Violation{Field: "header", Description: "allowed only in the first message"})

	errTrailerMissing = ReasonTrailerRequired.New("a Put must end with its trailer (size and SHA-256); nothing was stored").WithViolations(
		errs.Violation{Field: "trailer", Description: "required as the last message"})

	errAfterTrailer = ReasonTrailerNotLast.New("the trailer must be the last message of a Put; nothing was stored").WithViolations(
		errs.Violation{Field: "trailer", Description: "must be the last message"})
)

// errTrailerMismatch reports a trailer that does not describe the bytes that arrived:
// the stream lost or changed something, so nothing is stored.
func errTrailerMismatch(received int64) error {
	return ReasonTrailerMismatch.New("the trailer's size or SHA-256 does not match the bytes received; nothing was stored").
		WithViolations(errs.Violation{Field: "trailer", Description: "must give the size and SHA-256 of the chunks sent"}).
		WithMetadata(map[string]string{"received_bytes": strconv.FormatInt(received, 10)})
}

// tooLarge reports an object past its limit; ErrorInfo carries the limit applied.
func tooLarge(maxBytes int64, cause error) *errs.Error {
	return ReasonObjectTooLarge.New("the object is larger than the header's max_bytes (or the 5 GiB limit); nothing was stored").
		WithViolations(errs.Violation{Field: "header.max_bytes", Description: "the object's bytes passed this limit"}).
		WithMetadata(map[string]string{"max_bytes": strconv.FormatInt(limit(maxBytes), 10)}).
		WithCause(cause)
}

// driverError maps a failure to the status the caller gets. Statuses already made
// (the stream's own, the header rules) pass; unexpected causes become INTERNAL:
// logged by the server, never sent, naming op ("blobs: put object").
func driverError(op string, err error) error {
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
	return errs.Internal(op, err)
}
