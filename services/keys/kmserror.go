package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"healthcore/platform/awserr"
)

// kmsError classifies a failed KMS call by wrapping ErrDecrypt, ErrKeyNotFound or
// ErrUnavailable, keeping the SDK error (with its request id) for the logs.
func kmsError(op string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("kms %s: %w", op, err)
	case awserr.Is[*types.InvalidCiphertextException](err), awserr.Is[*types.IncorrectKeyException](err):
		return fmt.Errorf("%w: kms %s: %w", ErrDecrypt, op, err)
	case op == "Decrypt" && awserr.Code(err) == "AccessDeniedException":
		// The blob names a key this service may not use: a key of another account, or
		// key bytes altered in transit. Either way the caller's ciphertext is at fault;
		// a permission problem of our own shows on GenerateDataKey and Encrypt first.
		return fmt.Errorf("%w: kms %s: %w", ErrDecrypt, op, err)
	case awserr.Is[*types.NotFoundException](err):
		return fmt.Errorf("%w: kms %s: %w", ErrKeyNotFound, op, err)
	case awserr.Transient(err),
		awserr.Is[*types.DependencyTimeoutException](err),
		awserr.Is[*types.KeyUnavailableException](err):
		return fmt.Errorf("%w: kms %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("kms %s: %w", op, err)
}
