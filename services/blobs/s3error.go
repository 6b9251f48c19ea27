package blobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"healthcore/platform/awserr"
)

// s3Error classifies a failed S3 call by wrapping ErrNotFound or ErrUnavailable,
// keeping the SDK error (with its request id) for the logs. Anything else — a missing
// bucket, denied access, a bad KMS key — is a fault of the deployment: it stays
// unclassified, so the caller gets INTERNAL and the operator a logged cause.
func s3Error(op, key string, err error) error {
	code := awserr.Code(err)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("s3 %s %s: %w", op, key, err)
	case awserr.Is[*types.NoSuchKey](err), awserr.Is[*types.NotFound](err), code == "NoSuchKey",
		// HeadObject has no body to carry a code: a bare 404 is the missing object.
		op == "HeadObject" && awserr.Status(err) == http.StatusNotFound && code != "NoSuchBucket":
		return fmt.Errorf("%w: s3 %s %s: %w", ErrNotFound, op, key, err)
	case awserr.Transient(err, "SlowDown", "RequestTimeout", "ServiceUnavailable"):
		return fmt.Errorf("%w: s3 %s %s: %w", ErrUnavailable, op, key, err)
	}
	return fmt.Errorf("s3 %s %s: %w", op, key, err)
}
