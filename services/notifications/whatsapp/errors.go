package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error is an error the Cloud API answered (or a request the client refused to send).
type Error struct {
	// HTTPStatus is the answer's status (0 when the client refused to send).
	HTTPStatus int
	// Code and Subcode are the Graph API's error.code and error.error_subcode.
	Code, Subcode int
	// Type is error.type (such as OAuthException); Message is error.message with
	// error_data.details appended when the API gives them.
	Type, Message string
	// Permanent is true when sending the same message again cannot succeed: a
	// number not on WhatsApp, a template problem, a policy refusal, a bad token.
	Permanent bool
	// RetryAfter is how long the API asked to wait (0 when it did not say).
	RetryAfter time.Duration
}

// Error says what the API answered, never the token.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("whatsapp: ")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d, ", e.HTTPStatus)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, "code %d", e.Code)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, "/%d", e.Subcode)
		}
		b.WriteString(", ")
	}
	if e.Type != "" {
		b.WriteString(e.Type + ": ")
	}
	b.WriteString(e.Message)
	if e.isAuth() {
		b.WriteString(" (the access token was refused: fix the configured token; retrying will not help)")
	}
	if e.Permanent {
		b.WriteString(" [permanent]")
	} else if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " [retry after %s]", e.RetryAfter)
	}
	return b.String()
}

func (e *Error) isAuth() bool {
	return e.Code == codeTokenInvalid || (e.Code == codeAuthUnknown && e.HTTPStatus == http.StatusUnauthorized)
}

// IsPermanent reports whether err says the message can never be sent as it is
// (invalid number, template problems, policy, a refused token): the caller records a
// failure or falls back to another channel. Rate limits, server errors, network
// failures and anything unknown are not permanent.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// Graph API and WhatsApp error codes the classification names.
const (
	codeAuthUnknown      = 0      // AuthException
	codeAPIUnknown       = 1      // API Unknown: invalid request or server error
	codeAPIService       = 2      // temporary downtime or overload
	codeTooManyCalls     = 4      // application request limit reached
	codePermission       = 10     // permission denied
	codePhoneDeleted     = 33     // the business phone number was deleted
	codeInvalidParam     = 100    // invalid parameter
	codeTokenInvalid     = 190    // access token expired or invalid
	codePolicyBlocked    = 368    // temporarily blocked for policy violations
	codeBusinessRate     = 80007  // WhatsApp Business Account rate limit
	codeThroughput       = 130429 // Cloud API throughput reached
	codeGeneric          = 131000 // something went wrong
	codeParamMissing     = 131008 // required parameter missing
	codeParamInvalid     = 131009 // parameter value not valid
	codeServiceDown      = 131016 // service unavailable
	codeSelfSend         = 131021 // recipient cannot be the sender
	codeUndeliverable    = 131026 // not on WhatsApp, old version, terms not accepted
	codeNotAllowed       = 131030 // recipient not in the test number's allowed list
	codeAccountLocked    = 131031 // business account locked
	codePaymentIssue     = 131042 // business eligibility payment issue
	codeReEngagement     = 131047 // more than 24 hours since the user last wrote
	codeSpamRate         = 131048 // spam rate limit
	codeNotDelivered     = 131049 // Meta chose not to deliver (ecosystem limits)
	codeUnsupportedType  = 131051 // unsupported message type
	codePairRate         = 131056 // too many messages to one user in a short time
	codeMaintenance      = 131057 // account in maintenance mode
	codeParamCount       = 132000 // number of parameters does not match the template
	codeTemplateMissing  = 132001 // template does not exist in that language
	codeTextTooLong      = 132005 // translated text too long
	codeFormatPolicy     = 132007 // template format character policy violated
	codeParamFormat      = 132012 // parameter format does not match
	codeTemplatePaused   = 132015 // template paused for low quality
	codeTemplateDisabled = 132016 // template disabled
	codeServerBusy       = 133004 // server temporarily unavailable
)

// permanentCodes can never succeed by sending the same message again.
var permanentCodes = map[int]bool{
	codePermission: true, codePhoneDeleted: true, codeInvalidParam: true,
	codeTokenInvalid: true, codePolicyBlocked: true, codeParamMissing: true, codeParamInvalid: true,
	codeSelfSend: true, codeUndeliverable: true, codeNotAllowed: true, codeAccountLocked: true,
	codePaymentIssue: true, codeReEngagement: true, codeNotDelivered: true, codeUnsupportedType: true,
	codeParamCount: true, codeTemplateMissing: true, codeTextTooLong: true, codeFormatPolicy: true,
	codeParamFormat: true, codeTemplatePaused: true, codeTemplateDisabled: true,
}

// retryableCodes are rate limits and outages: the same message may go through later.
var retryableCodes = map[int]bool{
	codeAPIUnknown: true, codeAPIService: true, codeTooManyCalls: true, codeBusinessRate: true,
	codeThroughput: true, codeGeneric: true, codeServiceDown: true, codeSpamRate: true,
	codePairRate: true, codeMaintenance: true, codeServerBusy: true,
}

// apiError turns a non-2xx answer into an *Error.
func apiError(resp *http.Response, raw []byte) *Error {
	e := &Error{HTTPStatus: resp.StatusCode, RetryAfter: retryAfter(resp.Header, time.Now())}
	var env errorEnvelope
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		e.Code, e.Subcode, e.Type = env.Error.Code, env.Error.ErrorSubcode, env.Error.Type
		e.Message = env.Error.Message
		if d := env.Error.ErrorData.Details; d != "" && !strings.Contains(e.Message, d) {
			e.Message += ": " + d
		}
	} else {
		e.Message = "answer without a Graph API error: " + http.StatusText(resp.StatusCode)
	}
	e.Permanent = permanent(e.HTTPStatus, e.Code)
	return e
}

// permanent classifies by code first (Meta asks error handling to rely on codes), then
// by status: 429 and 5xx are worth retrying, other 4xx are the request's fault.
func permanent(status, code int) bool {
	switch {
	case code != 0 && permanentCodes[code]:
		return true
	case code != 0 && retryableCodes[code]:
		return false
	case code == 0 && status == http.StatusUnauthorized:
		return true // AuthException: the token
	case status >= 200 && status < 400:
		return false // an error in a success answer: unknown, so not permanent
	case (code >= 200 && code <= 299) || (code >= 132000 && code < 133000):
		return true // permission errors; template errors not listed above
	case status == http.StatusTooManyRequests || status >= 500:
		return false
	default:
		return status >= 400
	}
}
