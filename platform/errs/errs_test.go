package errs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"healthcore/platform/errs"
)

// Reasons of these tests, declared as services declare theirs.
var (
	rConcurrentUpdate = errs.Declare(connect.CodeAborted, "CONCURRENT_UPDATE")
	rBadCRM           = errs.Declare(connect.CodeInvalidArgument, "BAD_CRM")
	rDoctorNotFound   = errs.Declare(connect.CodeNotFound, "DOCTOR_NOT_FOUND")
	rPatientNotFound  = errs.Declare(connect.CodeNotFound, "PATIENT_NOT_FOUND")
	rEmailTaken       = errs.Declare(connect.CodeAlreadyExists, "EMAIL_TAKEN")
	rSlotTaken        = errs.Declare(connect.CodeFailedPrecondition, "SLOT_TAKEN")
	rWrongState       = errs.Declare(connect.CodeFailedPrecondition, "WRONG_STATE")
	rShareExpired     = errs.Declare(connect.CodePermissionDenied, "SHARE_EXPIRED")
	rTokenExpired     = errs.Declare(connect.CodeUnauthenticated, "TOKEN_EXPIRED")
	rLoginThrottled   = errs.Declare(connect.CodeResourceExhausted, "LOGIN_THROTTLED")
	rKMSUnavailable   = errs.Declare(connect.CodeUnavailable, "KMS_UNAVAILABLE")
	rX                = errs.Declare(connect.CodeNotFound, "X")
	rXDenied          = errs.Declare(connect.CodePermissionDenied, "X_DENIED")
)

// details is what a client can read from a status.
type details struct {
	info       *errdetails.ErrorInfo
	violations []errs.Violation
	retry      time.Duration
}

func detailsOf(t *testing.T, ce *connect.Error) details {
	t.Helper()
	var d details
	for _, det := range ce.Details() {
		v, err := det.Value()
		if err != nil {
			t.Fatalf("detail %s: %v", det.Type(), err)
		}
		switch v := v.(type) {
		case *errdetails.ErrorInfo:
			d.info = v
		case *errdetails.BadRequest:
			for _, fv := range v.GetFieldViolations() {
				d.violations = append(d.violations, errs.Violation{Field: fv.GetField(), Description: fv.GetDescription()})
			}
		case *errdetails.RetryInfo:
			d.retry = v.GetRetryDelay().AsDuration()
		default:
			t.Fatalf("unexpected detail %T", v)
		}
	}
	return d
}

func TestToConnect_EachConstructorGivesItsCodeReasonAndDetails(t *testing.T) {
	dbDown := errors.New("dial tcp: connection refused")
	tests := []struct {
		name       string
		err        *errs.Error
		code       connect.Code
		reason     string
		message    string
		violations []errs.Violation
		retry      time.Duration
		logged     bool
	}{
		{
			name: "new", err: rConcurrentUpdate.New("the record changed: reload it"),
			code: connect.CodeAborted, reason: "CONCURRENT_UPDATE", message: "the record changed: reload it",
		},
		{
			name: "invalid argument with violations",
			err: rBadCRM.New("the CRM is not valid").WithViolations(
				errs.Violation{Field: "crm.uf", Description: "not a Brazilian UF"},
				errs.Violation{Field: "crm.number", Description: "must be digits"}),
			code: connect.CodeInvalidArgument, reason: "BAD_CRM", message: "the CRM is not valid",
			violations: []errs.Violation{
				{Field: "crm.uf", Description: "not a Brazilian UF"},
				{Field: "crm.number", Description: "must be digits"},
			},
		},
		{
			name: "not found", err: rDoctorNotFound.New("no such doctor"),
			code: connect.CodeNotFound, reason: "DOCTOR_NOT_FOUND", message: "no such doctor",
		},
		{
			name: "already exists", err: rEmailTaken.New("the e-mail is in use"),
			code: connect.CodeAlreadyExists, reason: "EMAIL_TAKEN", message: "the e-mail is in use",
		},
		{
			name: "failed precondition", err: rSlotTaken.New("the slot is taken"),
			code: connect.CodeFailedPrecondition, reason: "SLOT_TAKEN", message: "the slot is taken",
		},
		{
			name: "permission denied", err: rShareExpired.New("the share has expired"),
			code: connect.CodePermissionDenied, reason: "SHARE_EXPIRED", message: "the share has expired",
		},
		{
			name: "unauthenticated", err: rTokenExpired.New("refresh the token"),
			code: connect.CodeUnauthenticated, reason: "TOKEN_EXPIRED", message: "refresh the token",
		},
		{
			name: "resource exhausted", err: rLoginThrottled.New("too many attempts").WithRetryAfter(90 * time.Second),
			code: connect.CodeResourceExhausted, reason: "LOGIN_THROTTLED", message: "too many attempts", retry: 90 * time.Second,
		},
		{
			name: "unavailable", err: rKMSUnavailable.New("retry later").WithCause(dbDown),
			code: connect.CodeUnavailable, reason: "KMS_UNAVAILABLE", message: "retry later", logged: true,
		},
		{
			name: "internal", err: errs.Internal("test: op", dbDown),
			code: connect.CodeInternal, reason: "INTERNAL", message: "internal error", logged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce, logged := errs.ToConnect(tt.err)
			if ce.Code() != tt.code || ce.Message() != tt.message {
				t.Errorf("got %v %q, want %v %q", ce.Code(), ce.Message(), tt.code, tt.message)
			}
			d := detailsOf(t, ce)
			if d.info.GetReason() != tt.reason || d.info.GetDomain() != errs.Domain {
				t.Errorf("ErrorInfo = %q/%q, want %q/%q", d.info.GetReason(), d.info.GetDomain(), tt.reason, errs.Domain)
			}
			if !slices.Equal(d.violations, tt.violations) {
				t.Errorf("violations = %v, want %v", d.violations, tt.violations)
			}
			if d.retry != tt.retry {
				t.Errorf("RetryInfo delay = %v, want %v", d.retry, tt.retry)
			}
			if (logged != nil) != tt.logged {
				t.Errorf("logged cause = %v, want one: %v", logged, tt.logged)
			}
			if logged != nil && !errors.Is(logged, dbDown) {
				t.Errorf("logged cause %v does not carry the original cause", logged)
			}
		})
	}
}

func TestToConnect_SendsMetadataInErrorInfo(t *testing.T) {
	e := rWrongState.New("the appointment is not pending")
	e.Metadata = map[string]string{"state": "CONFIRMED"}
	ce, _ := errs.ToConnect(e)
	if got := detailsOf(t, ce).info.GetMetadata()["state"]; got != "CONFIRMED" {
		t.Fatalf("ErrorInfo metadata state = %q, want CONFIRMED", got)
	}
}

func TestToConnect_InternalHidesTheCauseButReturnsItForTheLog(t *testing.T) {
	secret := errors.New(`password authentication failed for user "identity" on db-7`)
	for name, err := range map[string]error{
		"errs.Internal": errs.Internal("test: op", secret),
		"plain error":   fmt.Errorf("load account: %w", secret),
	} {
		t.Run(name, func(t *testing.T) {
			ce, logged := errs.ToConnect(err)
			if ce.Code() != connect.CodeInternal || ce.Message() != "internal error" {
				t.Errorf("got %v %q, want internal \"internal error\"", ce.Code(), ce.Message())
			}
			if strings.Contains(ce.Error(), "db-7") || strings.Contains(ce.Error(), "password") {
				t.Errorf("the status leaks the cause: %q", ce.Error())
			}
			if !errors.Is(logged, secret) {
				t.Errorf("logged = %v, want the cause", logged)
			}
			if got := errs.ReasonOf(ce); got != "INTERNAL" {
				t.Errorf("reason = %q, want INTERNAL", got)
			}
		})
	}
}

// withInfo is a status as another Healthcore service sends it: a wire error with an
// ErrorInfo.
func withInfo(code connect.Code, msg, reason string) *connect.Error {
	ce := connect.NewWireError(code, errors.New(msg))
	d, err := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: reason, Domain: errs.Domain})
	if err != nil {
		panic(err)
	}
	ce.AddDetail(d)
	return ce
}

func TestToConnect_DownstreamStatuses(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		code    connect.Code
		message string // "" means the downstream message is kept
		reason  string
		same    bool // passed through as the very same status
		logged  bool
	}{
		{
			name: "internal is re-wrapped", err: withInfo(connect.CodeInternal, "pgx: relation appointments on 10.0.3.4", "INTERNAL"),
			code: connect.CodeInternal, message: "internal error", reason: "INTERNAL", logged: true,
		},
		{
			name: "unknown is re-wrapped", err: connect.NewWireError(connect.CodeUnknown, errors.New("panic at handler.go:42")),
			code: connect.CodeInternal, message: "internal error", reason: "INTERNAL", logged: true,
		},
		{
			name: "data loss is re-wrapped", err: connect.NewWireError(connect.CodeDataLoss, errors.New("blob s3://bucket/k truncated")),
			code: connect.CodeInternal, message: "internal error", reason: "INTERNAL", logged: true,
		},
		{
			name: "not found passes through", err: withInfo(connect.CodeNotFound, "no such doctor", "DOCTOR_NOT_FOUND"),
			code: connect.CodeNotFound, reason: "DOCTOR_NOT_FOUND", same: true,
		},
		{
			name: "wrapped failed precondition passes through",
			err:  fmt.Errorf("book: %w", withInfo(connect.CodeFailedPrecondition, "slot taken", "SLOT_TAKEN")),
			code: connect.CodeFailedPrecondition, reason: "SLOT_TAKEN",
		},
		{
			name: "unavailable sent by a service passes through and is logged",
			err:  withInfo(connect.CodeUnavailable, "retry later", "KMS_UNAVAILABLE"),
			code: connect.CodeUnavailable, reason: "KMS_UNAVAILABLE", same: true, logged: true,
		},
		{
			name: "unavailable raised by our client gets a safe message",
			err:  connect.NewError(connect.CodeUnavailable, errors.New("dial tcp 10.0.3.4:8081: connect: connection refused")),
			code: connect.CodeUnavailable, message: "a service this call needs is unavailable; retry", logged: true,
		},
		{
			name: "unimplemented passes through and is logged",
			err:  connect.NewError(connect.CodeUnimplemented, errors.New("healthcore.identity.v1.IdentityService.GetMe is not implemented")),
			code: connect.CodeUnimplemented, same: true, logged: true,
		},
		{
			name: "canceled passes through", err: connect.NewError(connect.CodeCanceled, context.Canceled),
			code: connect.CodeCanceled, same: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce, logged := errs.ToConnect(tt.err)
			if ce.Code() != tt.code {
				t.Fatalf("code = %v, want %v", ce.Code(), tt.code)
			}
			var in *connect.Error
			errors.As(tt.err, &in)
			want := tt.message
			if want == "" {
				want = in.Message()
			}
			if ce.Message() != want {
				t.Errorf("message = %q, want %q", ce.Message(), want)
			}
			if got := errs.ReasonOf(ce); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
			if tt.same && ce != in {
				t.Errorf("got a new status %v, want the downstream one passed through", ce)
			}
			if (logged != nil) != tt.logged {
				t.Errorf("logged = %v, want one: %v", logged, tt.logged)
			}
			if logged != nil && !errors.Is(logged, in) {
				t.Errorf("logged %v does not carry the downstream status", logged)
			}
		})
	}
}

func TestToConnect_ContextErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		err    error
		code   connect.Code
		logged bool
	}{
		{"canceled", ctx.Err(), connect.CodeCanceled, false},
		{"wrapped canceled", fmt.Errorf("query: %w", context.Canceled), connect.CodeCanceled, false},
		{"canceled wrapped as internal", errs.Internal("test: op", fmt.Errorf("query: %w", context.Canceled)), connect.CodeCanceled, false},
		{"deadline exceeded", context.DeadlineExceeded, connect.CodeDeadlineExceeded, true},
		{"deadline wrapped as internal", errs.Internal("test: op", fmt.Errorf("query: %w", context.DeadlineExceeded)), connect.CodeDeadlineExceeded, true},
		// An explicit code chosen by the service wins over the context in its cause.
		{"unavailable caused by deadline", rKMSUnavailable.New("retry").WithCause(context.DeadlineExceeded), connect.CodeUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce, logged := errs.ToConnect(tt.err)
			if ce.Code() != tt.code {
				t.Errorf("code = %v, want %v", ce.Code(), tt.code)
			}
			if (logged != nil) != tt.logged {
				t.Errorf("logged = %v, want one: %v", logged, tt.logged)
			}
		})
	}
}

func TestToConnect_NilIsNil(t *testing.T) {
	ce, logged := errs.ToConnect(nil)
	if ce != nil || logged != nil {
		t.Fatalf("ToConnect(nil) = %v, %v; want nil, nil", ce, logged)
	}
}

func TestReason_ReadsLocalErrorsAndReceivedStatuses(t *testing.T) {
	sent, _ := errs.ToConnect(rDoctorNotFound.New("no such doctor"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"local", rSlotTaken.New("taken"), "SLOT_TAKEN"},
		{"wrapped local", fmt.Errorf("book: %w", rSlotTaken.New("taken")), "SLOT_TAKEN"},
		{"status made by ToConnect", sent, "DOCTOR_NOT_FOUND"},
		{"wrapped received status", fmt.Errorf("directory: %w", withInfo(connect.CodePermissionDenied, "no", "SHARE_REVOKED")), "SHARE_REVOKED"},
		{"status without ErrorInfo", connect.NewError(connect.CodeNotFound, errors.New("no")), ""},
		{"plain error", io.EOF, ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.ReasonOf(tt.err); got != tt.want {
				t.Errorf("Reason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCode_ReturnsTheCodeTheErrorIsSentWith(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want connect.Code
	}{
		{"nil", nil, 0},
		{"local", rX.New("x"), connect.CodeNotFound},
		{"wrapped local", fmt.Errorf("a: %w", rXDenied.New("x")), connect.CodePermissionDenied},
		{"connect status", connect.NewError(connect.CodeAlreadyExists, io.EOF), connect.CodeAlreadyExists},
		{"plain error", io.EOF, connect.CodeInternal},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), connect.CodeCanceled},
		{"canceled wrapped as internal", errs.Internal("test: op", context.Canceled), connect.CodeCanceled},
		{"downstream unknown", connect.NewWireError(connect.CodeUnknown, io.EOF), connect.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.Code(tt.err); got != tt.want {
				t.Errorf("Code = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIs_SentinelMatchesByCodeAndReasonThroughWithCause(t *testing.T) {
	sentinel := rDoctorNotFound.New("no such doctor")
	err := fmt.Errorf("get doctor: %w", sentinel.WithCause(io.EOF))

	if !errors.Is(err, sentinel) {
		t.Error("errors.Is(err, sentinel) = false, want true")
	}
	if !errors.Is(err, io.EOF) {
		t.Error("errors.Is(err, cause) = false, want true")
	}
	if errors.Is(err, rPatientNotFound.New("no such doctor")) {
		t.Error("matched a sentinel with another reason")
	}
	if errors.Is(err, rSlotTaken.New("no such doctor")) {
		t.Error("matched a sentinel with another reason and code")
	}
	if sentinel.Cause != nil {
		t.Errorf("WithCause changed the sentinel: cause %v", sentinel.Cause)
	}
	if got := err.Error(); !strings.Contains(got, "DOCTOR_NOT_FOUND") || !strings.Contains(got, io.EOF.Error()) {
		t.Errorf("Error() = %q, want the reason and the cause for the log", got)
	}
}

func TestTypedNilPointersAreNoError(t *testing.T) {
	var local *errs.Error
	var status *connect.Error
	for name, err := range map[string]error{"*errs.Error": local, "*connect.Error": status} {
		t.Run(name, func(t *testing.T) {
			if ce, logged := errs.ToConnect(err); ce != nil || logged != nil {
				t.Errorf("ToConnect = %v, %v; want nil, nil", ce, logged)
			}
			if got := errs.ReasonOf(err); got != "" {
				t.Errorf("Reason = %q, want none", got)
			}
			if got := errs.Code(err); got != 0 {
				t.Errorf("Code = %v, want 0", got)
			}
		})
	}
}
