package errs

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"connectrpc.com/connect"
)

// Reason is a declared failure: a stable SCREAMING_SNAKE name (the ErrorInfo reason a
// client switches on) and the one gRPC code it is always sent with. Each service
// declares its reasons once, in its reasons.go, and builds errors only from them:
//
//	var ReasonSlotTaken = errs.Declare(connect.CodeFailedPrecondition, "SLOT_TAKEN")
//	…
//	return ReasonSlotTaken.New("another patient booked this slot first; choose another slot")
//
// A name means one thing across the platform: declaring it again with another code
// panics when the program starts, so two services can share APPOINTMENT_NOT_FOUND only
// if both send it as NOT_FOUND.
type Reason struct {
	code connect.Code
	name string
}

var (
	declaredMu sync.Mutex
	declared   = map[string]connect.Code{}
)

// Declare declares the reason name with its code and returns it. It panics when name
// is empty or was declared before with another code. Call it only in package-level
// variable declarations.
func Declare(code connect.Code, name string) Reason {
	if err := declare(code, name); err != nil {
		panic(err)
	}
	return Reason{code: code, name: name}
}

func declare(code connect.Code, name string) error {
	if name == "" || code == 0 {
		return fmt.Errorf("errs: a reason needs a name and a code (got %q, %v)", name, code)
	}
	declaredMu.Lock()
	defer declaredMu.Unlock()
	if prev, ok := declared[name]; ok && prev != code {
		return fmt.Errorf("errs: reason %s declared as %v and again as %v: one reason keeps one code", name, prev, code)
	}
	declared[name] = code
	return nil
}

// Declared lists every reason declared in this program, by name.
func Declared() []Reason {
	declaredMu.Lock()
	defer declaredMu.Unlock()
	out := make([]Reason, 0, len(declared))
	for name, code := range declared {
		out = append(out, Reason{code: code, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Name is the reason as sent in ErrorInfo.
func (r Reason) Name() string { return r.name }

// Code is the gRPC code the reason is sent with.
func (r Reason) Code() connect.Code { return r.code }

func (r Reason) String() string { return r.name + " (" + r.code.String() + ")" }

// New returns an error of this reason with a message safe to show to the client; add
// details with WithViolations, WithRetryAfter, WithMetadata or WithCause.
func (r Reason) New(message string) *Error {
	return &Error{Code: r.code, Reason: r, Message: message}
}

// Has reports whether err carries reason r with r's code, whether err is a local *Error
// or a *connect.Error received from another service. The code compared is the one the
// error carries (a DATA_LOSS received stays DATA_LOSS here, though ToConnect would
// answer it on as INTERNAL).
func Has(err error, r Reason) bool {
	if r.name == "" || isNil(err) {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code == r.code && e.Reason.name == r.name
	}
	if ce, ok := errors.AsType[*connect.Error](err); ok {
		return ce.Code() == r.code && ReasonOf(ce) == r.name
	}
	return false
}
