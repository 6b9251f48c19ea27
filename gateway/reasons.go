package gateway

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons the edge sends itself, for requests that never reach a service or whose
// call failed in transport; besides them it sends server.ReasonValidationFailed for a
// parameter it cannot read.
var (
	// ReasonMalformedJSON: the body is not JSON, or not the JSON form of the request
	// (a field of the wrong type, an unknown field); the message names the field and
	// the position.
	ReasonMalformedJSON = errs.Declare(connect.CodeInvalidArgument, "MALFORMED_JSON")
	// ReasonRouteNotFound: no route has this path (404).
	ReasonRouteNotFound = errs.Declare(connect.CodeNotFound, "ROUTE_NOT_FOUND")
	// ReasonMethodNotAllowed: the path is a route, but not for this method (405; the
	// Allow header lists the methods it takes).
	ReasonMethodNotAllowed = errs.Declare(connect.CodeUnimplemented, "METHOD_NOT_ALLOWED")
	// ReasonBodyTooLarge: the body is over the route's limit (413).
	ReasonBodyTooLarge = errs.Declare(connect.CodeInvalidArgument, "BODY_TOO_LARGE")
	// ReasonHeadersTooLarge: the request's header fields are over the edge's limit (431).
	ReasonHeadersTooLarge = errs.Declare(connect.CodeInvalidArgument, "HEADERS_TOO_LARGE")
	// ReasonServiceUnavailable: a service the call needs cannot be reached now (503);
	// retry.
	ReasonServiceUnavailable = errs.Declare(connect.CodeUnavailable, "SERVICE_UNAVAILABLE")
	// ReasonSignatureInvalid: a provider notification whose signature cannot be
	// checked (no x-signature, or a malformed one). Also sent by payments for a
	// signature that does not verify.
	ReasonSignatureInvalid = errs.Declare(connect.CodeUnauthenticated, "SIGNATURE_INVALID")

	// ReasonDocumentTooLarge is sent by records for a document over its limit; the edge
	// answers it as 413, like a body over its own upload cap.
	ReasonDocumentTooLarge = errs.Declare(connect.CodeInvalidArgument, "DOCUMENT_TOO_LARGE")

	// The web app's session (websession.go).

	// ReasonOriginNotAllowed: a web app call (WebClientHeader) whose Origin is not the
	// web app's (403): another site's page, or a client that sent no Origin.
	ReasonOriginNotAllowed = errs.Declare(connect.CodePermissionDenied, "ORIGIN_NOT_ALLOWED")
	// ReasonWebClientHeaderMissing: a refresh or logout that carries the session cookie
	// without WebClientHeader (403): what a form posted from another site looks like.
	ReasonWebClientHeaderMissing = errs.Declare(connect.CodePermissionDenied, "WEB_CLIENT_HEADER_MISSING")
	// ReasonNoWebSession: a web app refresh or logout with neither the cookie nor a
	// token in the body (401): the browser has no session, log in.
	ReasonNoWebSession = errs.Declare(connect.CodeUnauthenticated, "NO_WEB_SESSION")

	// ReasonPartnerEdgeOnly: a partner client's token on the REST edge (403): partners
	// call the partner edge (partnertokens.go).
	ReasonPartnerEdgeOnly = errs.Declare(connect.CodePermissionDenied, "PARTNER_EDGE_ONLY")
)
