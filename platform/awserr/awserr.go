// Package awserr classifies errors of aws-sdk-go-v2 calls the same way for every AWS
// adapter (keys on KMS, blobs on S3, and later meetings on Chime): the API error code,
// the HTTP status, and whether the failure is transient — AWS unreachable, overloaded or
// faulty — so the adapter answers UNAVAILABLE and the caller retries.
package awserr

import (
	"errors"
	"net/http"
	"slices"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Code returns the AWS API error code carried by err (e.g. "NoSuchKey"), or "".
func Code(err error) string {
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return ""
}

// Status returns the HTTP status of the response err came with, or 0 when the request
// got no response.
func Status(err error) int {
	if respErr, ok := errors.AsType[*smithyhttp.ResponseError](err); ok {
		return respErr.HTTPStatusCode()
	}
	return 0
}

// Transient reports whether err means the service could not answer now: the request
// was never answered, the service reports a server fault, a 5xx or 429 status, or one of
// the given service-specific throttling codes ("ThrottlingException" is always one).
func Transient(err error, codes ...string) bool {
	if _, ok := errors.AsType[*smithyhttp.RequestSendError](err); ok {
		return true
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		if apiErr.ErrorFault() == smithy.FaultServer || apiErr.ErrorCode() == "ThrottlingException" ||
			slices.Contains(codes, apiErr.ErrorCode()) {
			return true
		}
	}
	status := Status(err)
	return status >= 500 || status == http.StatusTooManyRequests
}

// Is reports whether err is (or wraps) an error of type T, such as
// *types.NoSuchKey.
func Is[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}
