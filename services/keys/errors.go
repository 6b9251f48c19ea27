package keys

import (
	"context"
	"errors"
	"log/slog"

	"healthcore/platform/errs"
	"healthcore/platform/logging"
)

// Failures a caller can act on.
var (
	errDecryptFailed = ReasonDecryptFailed.New(
		"the ciphertext was altered or the encryption context differs from the one used to encrypt")
	errKeyNotFound = ReasonKeyNotFound.New("the master key does not exist, or this service may not use it")
	errUnavailable = ReasonKMSUnavailable.New("the key management service cannot be reached right now; retry")
)

// driverError maps a failure of the driver's operation op ("decrypt") to the status
// the caller gets. Unexpected causes become INTERNAL: logged by the server, never sent.
func driverError(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(err, ErrDecrypt):
		// A client error, so the server does not log the cause; record why anyway, to
		// tell tampering from a wrong context or a foreign key when investigating.
		logging.AddFields(ctx, slog.String("decrypt_error", err.Error()))
		return errDecryptFailed.WithCause(err)
	case errors.Is(err, ErrKeyNotFound):
		logging.AddFields(ctx, slog.String("key_error", err.Error()))
		return errKeyNotFound.WithCause(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err // the server answers CANCELED or DEADLINE_EXCEEDED
	case errors.Is(err, ErrUnavailable):
		return errUnavailable.WithCause(err)
	}
	return errs.Internal("keys: "+op, err)
}
