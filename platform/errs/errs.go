package errs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the ErrorInfo domain of every Healthcore error.
const Domain = "healthcore"

// Violation names one bad request field and says what is wrong with it.
type Violation struct {
	Field       string // proto field path, e.g. "crm.uf"
	Description string
}

// Error is a failure a client can act on: a standard code, a declared reason
// (SCREAMING_SNAKE, e.g. SLOT_TAKEN), a message safe to show, and optional details.
// Build one from its Reason (ReasonSlotTaken.New("…")), never by hand.
type Error struct {
	Code       connect.Code
	Reason     Reason
	Message    string
	Violations []Violation
	// RetryAfter, when set, is sent as RetryInfo (HTTP Retry-After at the edge).
	RetryAfter time.Duration
	// Metadata is sent in ErrorInfo; never put personal data in it.
	Metadata map[string]string
	// Cause is logged, never sent.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Reason.name, e.Message, e.Cause)
	}
	return e.Reason.name + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Is matches errors by code and reason, so errors.Is(err, errs.New(...)) works for
// sentinel values.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Reason == e.Reason
}

// ReasonInternal is the reason of every unexpected failure.
var ReasonInternal = Declare(connect.CodeInternal, "INTERNAL")

// Internal wraps an unexpected failure. op names what failed, prefixed by the service
// ("scheduling: insert appointment"), so the log line of every 5xx says where; the
// cause is logged, and the client sees only "internal error".
func Internal(op string, cause error) *Error {
	return &Error{Code: connect.CodeInternal, Reason: ReasonInternal, Message: "internal error",
		Cause: fmt.Errorf("%s: %w", op, cause)}
}

// internal wraps a failure that reached the edge of a call without a named operation:
// a downstream INTERNAL, or a plain error a handler returned.
func internal(cause error) *Error {
	return &Error{Code: connect.CodeInternal, Reason: ReasonInternal, Message: "internal error", Cause: cause}
}

// WithCause returns a copy of e that carries cause for the logs.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// WithViolations returns a copy of e that names each offending request field.
func (e *Error) WithViolations(v ...Violation) *Error {
	c := *e
	c.Violations = v
	return &c
}

// WithRetryAfter returns a copy of e that tells the client when to retry (RetryInfo;
// HTTP Retry-After at the edge).
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// WithMetadata returns a copy of e that sends md in its ErrorInfo; never personal data.
func (e *Error) WithMetadata(md map[string]string) *Error {
	c := *e
	c.Metadata = md
	return &c
}

// Code returns the gRPC code err will be sent with (0 for no error): the code of
// ToConnect(err), so a plain context.Canceled is CANCELED and a downstream UNKNOWN is
// INTERNAL here as on the wire.
func Code(err error) connect.Code {
	ce, _ := ToConnect(err)
	if ce == nil {
		return 0
	}
	return ce.Code()
}

// ToConnect converts err into the *connect.Error sent to the client. The second result
// is the cause to log, or nil when the error is an expected client error.
//
// Errors that are already *connect.Error (from a downstream call or from connect
// itself) pass through, except that an INTERNAL, UNKNOWN or DATA_LOSS one is re-wrapped
// so its message never leaks, and an UNAVAILABLE one raised by our own client (a dial
// or transport failure, whose message names internal hosts) gets a safe message.
// Server faults among them are returned as the cause to log. An unexpected failure
// (Internal) caused by an unreachable database is sent as UNAVAILABLE with
// ReasonDatabaseUnavailable: the client may retry it.
func ToConnect(err error) (*connect.Error, error) {
	if isNil(err) {
		return nil, nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		if e.Code == connect.CodeInternal {
			// A query cut short because the client went away or ran out of time comes back
			// wrapped as INTERNAL by the code that ran it; it is not a server fault.
			if ce, cause, ok := contextError(err); ok {
				return ce, cause
			}
			// So is a query whose database could not be reached: the client may retry.
			if databaseUnreachable(err) {
				return fromError(databaseUnavailable(err), err)
			}
		}
		return fromError(e, err)
	}
	if ce, ok := errors.AsType[*connect.Error](err); ok {
		switch code := ce.Code(); {
		case code == connect.CodeInternal || code == connect.CodeUnknown || code == connect.CodeDataLoss:
			return ToConnect(internal(err))
		case code == connect.CodeUnavailable && !connect.IsWireError(ce):
			return connect.NewError(connect.CodeUnavailable, errors.New("a service this call needs is unavailable; retry")), err
		case isServerFault(code):
			return ce, err
		}
		return ce, nil
	}
	if ce, cause, ok := contextError(err); ok {
		return ce, cause
	}
	return ToConnect(internal(err))
}

// fromError builds the status of a local *Error; err is the whole chain, for the logs.
func fromError(e *Error, err error) (*connect.Error, error) {
	ce := connect.NewError(e.Code, errors.New(e.Message))
	info := &errdetails.ErrorInfo{Reason: e.Reason.name, Domain: Domain, Metadata: e.Metadata}
	addDetail(ce, info)
	if len(e.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range e.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Description,
			})
		}
		addDetail(ce, br)
	}
	if e.RetryAfter > 0 {
		addDetail(ce, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	var logged error
	if isServerFault(e.Code) {
		logged = err
	}
	return ce, logged
}

// contextError maps a cancelled or timed-out context: cancellation is the client's
// doing and is not logged; a missed deadline is.
func contextError(err error) (*connect.Error, error, bool) {
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled")), nil, true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded")), err, true
	}
	return nil, nil, false
}

// ReasonOf returns the ErrorInfo reason name carried by err, whether it is a local
// *Error or a *connect.Error received from another service; "" when there is none.
// Compare reasons with Has, not by name.
func ReasonOf(err error) string {
	if isNil(err) {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason.name
	}
	if ce, ok := errors.AsType[*connect.Error](err); ok {
		for _, d := range ce.Details() {
			if v, err := d.Value(); err == nil {
				if info, ok := v.(*errdetails.ErrorInfo); ok {
					return info.Reason
				}
			}
		}
	}
	return ""
}

// isNil reports no error, counting a nil *Error or *connect.Error in the interface as
// none: a function declared to return one of those pointers hands back such a value on
// success, and reading it must not panic.
func isNil(err error) bool {
	switch e := err.(type) {
	case nil:
		return true
	case *Error:
		return e == nil
	case *connect.Error:
		return e == nil
	}
	return false
}

func isServerFault(c connect.Code) bool {
	switch c {
	case connect.CodeInternal, connect.CodeUnknown, connect.CodeDataLoss,
		connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeUnimplemented:
		return true
	}
	return false
}

func addDetail(ce *connect.Error, m interface {
	ProtoReflect() protoreflect.Message
}) {
	d, err := connect.NewErrorDetail(m)
	if err == nil {
		ce.AddDetail(d)
	}
}
