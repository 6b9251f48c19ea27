package partneredge

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons the partner edge answers with, before a call reaches a service.
var (
	// ReasonNotPartnerMethod refuses a call of a method partners may not make (an
	// internal one, a person's own) or that does not exist: to a partner, both are
	// methods the API does not have.
	ReasonNotPartnerMethod = errs.Declare(connect.CodeUnimplemented, "NOT_A_PARTNER_METHOD")
	// ReasonPartnerTokenRequired refuses a token that is valid but not a partner
	// client's (a person's): the edge serves partner clients only.
	ReasonPartnerTokenRequired = errs.Declare(connect.CodePermissionDenied, "PARTNER_TOKEN_REQUIRED")
	// ReasonRateLimited refuses a call past the client's rate for the scope that
	// admits it; RetryInfo says when the next call is allowed.
	ReasonRateLimited = errs.Declare(connect.CodeResourceExhausted, "RATE_LIMITED")
	// ReasonRequestTooLarge refuses a request whose body is larger than the edge
	// accepts (RESOURCE_EXHAUSTED, as gRPC itself answers a message over its limit).
	ReasonRequestTooLarge = errs.Declare(connect.CodeResourceExhausted, "REQUEST_TOO_LARGE")
)

// ReasonServiceUnavailable answers a call whose service cannot be reached (the same
// reason the REST edge answers with).
var ReasonServiceUnavailable = errs.Declare(connect.CodeUnavailable, "SERVICE_UNAVAILABLE")
