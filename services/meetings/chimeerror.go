package meetings

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"healthcore/platform/awserr"
)

// retriedCodes are Chime error codes worth another attempt besides those
// awserr.Transient knows (5xx, 429, ThrottlingException): the legacy chime API's
// throttling code, and "the same request is in progress" (ConflictException, 409).
var retriedCodes = []string{"ThrottledClientException", "ConflictException"}

// apiError is an error answer as the SDK would report it: an API error (code, message,
// fault) inside an HTTP response error carrying the status and the request id.
func apiError(resp *http.Response, body []byte) error {
	var b struct {
		Type    string `json:"__type"`
		Code    string `json:"Code"`
		Code2   string `json:"code"`
		Message string `json:"Message"`
		Msg2    string `json:"message"`
	}
	_ = json.Unmarshal(body, &b)
	code := errorCode(resp.Header.Get("X-Amzn-Errortype"), b.Type, b.Code, b.Code2)
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	msg := b.Message
	if msg == "" {
		msg = b.Msg2
	}
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp},
			Err:      &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault},
		},
		RequestID: resp.Header.Get("X-Amzn-Requestid"),
	}
}

// errorCode picks the error code as REST-JSON clients do: the X-Amzn-ErrorType header
// ("NotFoundException:http://internal.amazon.com/…"), else the body's __type
// ("aws.chime#NotFoundException"), else its Code.
func errorCode(candidates ...string) string {
	for _, c := range candidates {
		c, _, _ = strings.Cut(c, ":")
		if i := strings.LastIndexByte(c, '#'); i >= 0 {
			c = c[i+1:]
		}
		if c = strings.TrimSpace(c); c != "" {
			return c
		}
	}
	return ""
}

// retryable reports a failure another attempt may cure.
func retryable(err error) bool {
	return awserr.Transient(err, retriedCodes...)
}

// retryAfter is the provider's Retry-After (seconds), or 0.
func retryAfter(err error) time.Duration {
	re, ok := errors.AsType[*smithyhttp.ResponseError](err)
	if !ok || re.Response == nil {
		return 0
	}
	s, err := strconv.Atoi(re.Response.Header.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// classify wraps a failed operation's last error in the driver error it means,
// keeping the provider's code, message and request id for the logs (never a join
// token: Chime's error answers carry none).
func classify(op string, attempts int, err error) error {
	where := fmt.Sprintf("meetings: chime %s", op)
	if attempts > 1 {
		where += fmt.Sprintf(" (%d attempts)", attempts)
	}
	status, code := awserr.Status(err), awserr.Code(err)
	switch {
	case status == http.StatusNotFound || code == "NotFoundException":
		return fmt.Errorf("%w: %s: %w", ErrMeetingNotFound, where, err)
	case retryable(err), code == "LimitExceededException":
		// LimitExceededException is the account's meeting quota: not the caller's data,
		// and not cured by retrying at once either.
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, where, err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// Our credentials or permissions: a server fault, logged, never the caller's.
		return fmt.Errorf("%s: AWS refused our credentials: %w", where, err)
	case status >= 400 && status < 500:
		return fmt.Errorf("%w: %s: %w", ErrRejected, where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// jitter is a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
