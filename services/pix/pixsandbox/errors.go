package pixsandbox

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrPaymentNotFound is what Approve and Reject return for an id the sandbox has no
// payment with.
var ErrPaymentNotFound = errors.New("pixsandbox: payment not found")

// apiError is an error answer of the sandbox API, shaped as Mercado Pago's.
type apiError struct {
	status  int
	code    string // the "error" field
	cause   int    // Mercado Pago's cause code, 0 for none
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func badRequest(cause int, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "bad_request", cause, fmt.Sprintf(format, args...)}
}

var (
	errNotFound       = &apiError{http.StatusNotFound, "not_found", 2000, "Payment not found"}
	errRefundNotFound = &apiError{http.StatusNotFound, "not_found", 2032, "Refund not found"}
	errState          = badRequest(2063, "The action requested is not valid for the current payment state")
	errKeyUsed        = &apiError{http.StatusConflict, "idempotency_key_already_used", 0,
		"The X-Idempotency-Key was already used with a different request"}
	errNotPending = &apiError{http.StatusConflict, "conflict", 0, "Only a pending payment can be approved or rejected"}
)
