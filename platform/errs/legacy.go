package errs

import (
	"time"

	"connectrpc.com/connect"
)

// The string-taking constructors below are being replaced by declared reasons
// (Reason.New); they are removed once no service calls them.

// Deprecated: declare the reason and use Reason.New.
func New(code connect.Code, reason, message string) *Error {
	return &Error{Code: code, Reason: Reason{code: code, name: reason}, Message: message}
}

// Deprecated: declare the reason and use Reason.New(...).WithViolations.
func InvalidArgument(reason, message string, violations ...Violation) *Error {
	return New(connect.CodeInvalidArgument, reason, message).WithViolations(violations...)
}

// Deprecated: declare the reason and use Reason.New.
func NotFound(reason, message string) *Error { return New(connect.CodeNotFound, reason, message) }

// Deprecated: declare the reason and use Reason.New.
func AlreadyExists(reason, message string) *Error {
	return New(connect.CodeAlreadyExists, reason, message)
}

// Deprecated: declare the reason and use Reason.New.
func FailedPrecondition(reason, message string) *Error {
	return New(connect.CodeFailedPrecondition, reason, message)
}

// Deprecated: declare the reason and use Reason.New.
func PermissionDenied(reason, message string) *Error {
	return New(connect.CodePermissionDenied, reason, message)
}

// Deprecated: declare the reason and use Reason.New.
func Unauthenticated(reason, message string) *Error {
	return New(connect.CodeUnauthenticated, reason, message)
}

// Deprecated: declare the reason and use Reason.New(...).WithRetryAfter.
func ResourceExhausted(reason, message string, retryAfter time.Duration) *Error {
	return New(connect.CodeResourceExhausted, reason, message).WithRetryAfter(retryAfter)
}

// Deprecated: declare the reason and use Reason.New(...).WithCause.
func Unavailable(reason, message string, cause error) *Error {
	return New(connect.CodeUnavailable, reason, message).WithCause(cause)
}
