package pix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/mercadopago/sdk-go/pkg/mperror"
)

// apiError is the body of a Mercado Pago error answer.
type apiError struct {
	Message string `json:"message"`
	Error   string `json:"error"`
	Status  int    `json:"status"`
	Cause   []struct {
		Code        any    `json:"code"` // a number or a string, depending on the API
		Description string `json:"description"`
	} `json:"cause"`
}

// fail turns an SDK error into one wrapping a driver error. The SDK returns
// *mperror.ResponseError (status and raw body) for answers above 399 and a wrapped
// transport error otherwise. on4xx names the driver error of a client error the
// operation can meet (it may read the payment to tell which).
func (m *MercadoPago) fail(ctx context.Context, op string, err error, on4xx func() error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("pix: %s: %w", op, ctx.Err())
	}
	var re *mperror.ResponseError
	if !errors.As(err, &re) {
		// Connection refused, reset, TLS, or the http.Client's timeout.
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
	}
	var body apiError
	_ = json.Unmarshal([]byte(re.Message), &body)
	detail := fmt.Errorf("mercado pago answered %d %s: %s", re.StatusCode, body.Error, body.Message)
	if body.Message == "" {
		detail = fmt.Errorf("mercado pago answered %d: %.200q", re.StatusCode, re.Message)
	}
	var kind error
	switch code := re.StatusCode; {
	case code == http.StatusNotFound:
		kind = ErrChargeNotFound
	case code == http.StatusConflict:
		kind = ErrIdempotencyKeyReused
	case code == http.StatusTooManyRequests || code >= 500:
		kind = ErrUnavailable
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		// Our credentials are wrong: a server fault, logged, never the caller's.
		return fmt.Errorf("pix: %s: the access token was refused: %w", op, detail)
	case code >= 400:
		kind = on4xx()
	default:
		return fmt.Errorf("pix: %s: %w", op, detail)
	}
	return fmt.Errorf("%w: %s: %w", kind, op, detail)
}

// always returns an on4xx that names err.
func always(err error) func() error { return func() error { return err } }
