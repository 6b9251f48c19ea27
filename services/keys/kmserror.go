package keys

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// kmsError classifies a failed KMS call by wrapping ErrDecrypt, ErrKeyNotFound or
// ErrUnavailable, keeping the SDK error (with its request id) for the logs.
func kmsError(op string, err error) error {
	var (
		apiErr  smithy.APIError
		sendErr *smithyhttp.RequestSendError
		respErr *smithyhttp.ResponseError
	)
	errors.As(err, &apiErr)
	code := ""
	if apiErr != nil {
		code = apiErr.ErrorCode()
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("kms %s: %w", op, err)
	case isType[*types.InvalidCiphertextException](err), isType[*types.IncorrectKeyException](err):
		return fmt.Errorf("%w: kms %s: %w", ErrDecrypt, op, err)
	case op == "Decrypt" && code == "AccessDeniedException":
		// The blob names a key this service may not use: a key of another account, or
		// key bytes altered in transit. Either way the caller's ciphertext is at fault;
		// a permission problem of our own shows on GenerateDataKey and Encrypt first.
		return fmt.Errorf("%w: kms %s: %w", ErrDecrypt, op, err)
	case isType[*types.NotFoundException](err):
		return fmt.Errorf("%w: kms %s: %w", ErrKeyNotFound, op, err)
	case errors.As(err, &sendErr),
		apiErr != nil && apiErr.ErrorFault() == smithy.FaultServer,
		code == "ThrottlingException",
		isType[*types.DependencyTimeoutException](err),
		isType[*types.KeyUnavailableException](err),
		errors.As(err, &respErr) && (respErr.HTTPStatusCode() >= 500 || respErr.HTTPStatusCode() == http.StatusTooManyRequests):
		return fmt.Errorf("%w: kms %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("kms %s: %w", op, err)
}

func isType[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}
