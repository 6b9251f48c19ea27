package blobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// s3Error classifies a failed S3 call by wrapping ErrNotFound or ErrUnavailable,
// keeping the SDK error (with its request id) for the logs. Anything else — a missing
// bucket, denied access, a bad KMS key — is a fault of the deployment: it stays
// unclassified, so the caller gets INTERNAL and the operator a logged cause.
func s3Error(op, key string, err error) error {
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
		return fmt.Errorf("s3 %s %s: %w", op, key, err)
	case isType[*types.NoSuchKey](err), isType[*types.NotFound](err), code == "NoSuchKey",
		// HeadObject has no body to carry a code: a bare 404 is the missing object.
		op == "HeadObject" && errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotFound && code != "NoSuchBucket":
		return fmt.Errorf("%w: s3 %s %s: %w", ErrNotFound, op, key, err)
	case errors.As(err, &sendErr),
		apiErr != nil && apiErr.ErrorFault() == smithy.FaultServer,
		code == "SlowDown", code == "ThrottlingException", code == "RequestTimeout", code == "ServiceUnavailable",
		errors.As(err, &respErr) && (respErr.HTTPStatusCode() >= 500 || respErr.HTTPStatusCode() == http.StatusTooManyRequests):
		return fmt.Errorf("%w: s3 %s %s: %w", ErrUnavailable, op, key, err)
	}
	return fmt.Errorf("s3 %s %s: %w", op, key, err)
}

func isType[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}
