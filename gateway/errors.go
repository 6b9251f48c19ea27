package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"healthcore/platform/errs"
	"healthcore/platform/server"
)

var runtimeDefaultHeaderMatcher = runtime.DefaultHeaderMatcher

// reasonStatus is the status of a declared reason, with field violations when given
// (field, description pairs).
func reasonStatus(r errs.Reason, msg string, violations ...string) *status.Status {
	s := status.New(codes.Code(r.Code()), msg)
	info := &errdetails.ErrorInfo{Reason: r.Name(), Domain: errs.Domain}
	var err error
	if len(violations) >= 2 {
		br := &errdetails.BadRequest{}
		for i := 0; i+1 < len(violations); i += 2 {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: violations[i], Description: violations[i+1],
			})
		}
		s, err = s.WithDetails(info, br)
	} else {
		s, err = s.WithDetails(info)
	}
	if err != nil { // only when a detail cannot be marshaled, which these always can
		return status.New(codes.Code(r.Code()), msg)
	}
	return s
}

// errorInfo is the ErrorInfo detail of s, nil when it has none.
func errorInfo(s *status.Status) *errdetails.ErrorInfo {
	for _, d := range s.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// reasonHTTPStatus answers some services' reasons with a more precise status than
// their gRPC code maps to.
var reasonHTTPStatus = map[string]int{
	ReasonDocumentTooLarge.Name(): http.StatusRequestEntityTooLarge,
}

// writeStatus answers s as JSON {code, message, details, traceId}: the form of every
// error of the edge, whether a service or the edge itself produced it; traceId (when
// tracing is on) names the request's trace for whoever reports the error. It turns a
// RetryInfo detail into Retry-After and sends an RFC 6750 challenge with a 401.
func writeStatus(w http.ResponseWriter, r *http.Request, httpStatus int, s *status.Status) {
	h := w.Header()
	h.Del("Trailer")
	h.Del("Transfer-Encoding")
	for _, d := range s.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			secs := int64(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
			h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}
	}
	if httpStatus == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", bearerChallenge(r))
	}
	body, err := protojson.Marshal(s.Proto())
	if err != nil {
		httpStatus, body = http.StatusInternalServerError, []byte(`{"code":13,"message":"internal error"}`)
	}
	body = withTraceID(body, traceID(r.Context()))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// withTraceID adds "traceId" to the JSON object body, unless id is empty.
func withTraceID(body []byte, id string) []byte {
	if id == "" || len(body) < 2 {
		return body
	}
	field := `"traceId":"` + id + `"}`
	if len(body) > 2 { // not {}
		field = "," + field
	}
	return append(body[:len(body)-1:len(body)-1], field...)
}

// bearerChallenge is the WWW-Authenticate of a 401 (RFC 6750 §3): a bare Bearer
// challenge when the request carried no token, and error="invalid_token" when the token
// it carried was refused (expired, malformed, its session ended). The message stays in
// the body.
func bearerChallenge(r *http.Request) string {
	const realm = `Bearer realm="healthcore"`
	scheme, _, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return realm
	}
	return realm + `, error="invalid_token"`
}

// errorHandler answers a failed call (grpc-gateway's routes and the record file
// routes) with the HTTP status of its gRPC code (400, 401, 403, 404, 409, 429…). A
// status that carries a reason passes as the service sent it; one without (the edge's
// own decoding, or a call that failed in transport) is given one here, so that no
// answer carries Go, protojson or dial text.
func (g *Gateway) errorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	httpStatus := 0
	if custom, ok := errors.AsType[*runtime.HTTPStatusError](err); ok {
		httpStatus, err = custom.HTTPStatus, custom.Err
	}
	s := status.Convert(err)
	if httpStatus == 0 {
		httpStatus = runtime.HTTPStatusFromCode(s.Code())
	}
	if info := errorInfo(s); info != nil {
		if st, ok := reasonHTTPStatus[info.GetReason()]; ok {
			httpStatus = st
		}
		writeStatus(w, r, httpStatus, s)
		return
	}
	ns, nst := edgeStatus(ctx, g.opts.Logger, r, s, err)
	if nst != 0 {
		httpStatus = nst
	}
	writeStatus(w, r, httpStatus, ns)
}

// edgeStatus gives a status without a reason the reason and message a client can act
// on; a nonzero HTTP status replaces the one of its code.
func edgeStatus(ctx context.Context, log *slog.Logger, r *http.Request, s *status.Status, err error) (*status.Status, int) {
	if b, ok := r.Body.(*requestBody); ok && b.problem != nil {
		return b.problem, b.httpStatus
	}
	if _, ok := errors.AsType[runtime.MalformedSequenceError](err); ok {
		return reasonStatus(ReasonRouteNotFound, "the path has a malformed %-escape"), http.StatusNotFound
	}
	switch s.Code() {
	case codes.InvalidArgument:
		return parameterStatus(s.Message()), http.StatusBadRequest
	case codes.Unavailable:
		log.WarnContext(ctx, "upstream unavailable", slog.String("path", r.URL.Path), slog.String("error", s.Message()))
		return reasonStatus(ReasonServiceUnavailable, "a service this call needs is unavailable right now; retry shortly"), 0
	case codes.DeadlineExceeded:
		log.WarnContext(ctx, "upstream timed out", slog.String("path", r.URL.Path), slog.String("error", s.Message()))
		return reasonStatus(ReasonServiceUnavailable, "a service this call needs did not answer in time; retry shortly"), http.StatusServiceUnavailable
	case codes.Canceled:
		// The client left; nobody reads this answer, but it carries no transport text.
		return status.New(codes.Canceled, "the request was canceled"), 0
	}
	log.ErrorContext(ctx, "call failed without a reason", slog.String("path", r.URL.Path),
		slog.String("code", s.Code().String()), slog.String("error", s.Message()))
	return reasonStatus(errs.ReasonInternal, "internal error"), http.StatusInternalServerError
}

var (
	// grpc-gateway's messages for a query or path parameter it cannot read.
	queryParamError = regexp.MustCompile(`^parsing field "([^"]+)": (.*)$`)
	pathParamError  = regexp.MustCompile(`^type mismatch, parameter: ([^,]+), error: (.*)$`)
	missingParam    = regexp.MustCompile(`^missing parameter (\S+)$`)
)

// parameterStatus turns grpc-gateway's text for a query or path parameter it cannot
// read into VALIDATION_FAILED naming the parameter.
func parameterStatus(msg string) *status.Status {
	var field, cause string
	if m := queryParamError.FindStringSubmatch(msg); m != nil {
		field, cause = m[1], m[2]
	} else if m := pathParamError.FindStringSubmatch(msg); m != nil {
		field, cause = m[1], m[2]
	} else if m := missingParam.FindStringSubmatch(msg); m != nil {
		return reasonStatus(server.ReasonValidationFailed, "the path lacks "+m[1], m[1], "required")
	} else {
		// Another refusal of the request's parameters, worded by our own code: its
		// message is kept, without the status text grpc-gateway wraps it in.
		if _, desc, ok := strings.Cut(msg, " desc = "); ok && strings.HasPrefix(msg, "rpc error:") {
			msg = desc
		}
		return reasonStatus(server.ReasonValidationFailed, msg)
	}
	desc := "has a value of the wrong type"
	switch {
	case strings.Contains(cause, "parsing time"), strings.Contains(cause, "Timestamp"):
		desc = "must be an RFC 3339 time, e.g. 2026-12-01T14:30:00Z"
	case strings.Contains(cause, "ParseFloat"), strings.Contains(cause, "ParseInt"), strings.Contains(cause, "ParseUint"):
		desc = "must be a number"
	case strings.Contains(cause, "ParseBool"):
		desc = "must be true or false"
	case strings.Contains(cause, "enum"):
		desc = "is not one of the enum's names"
	case strings.Contains(cause, "not a message"), strings.Contains(cause, "no field"):
		desc = "is not a field of this request"
	}
	return reasonStatus(server.ReasonValidationFailed, "parameter "+strconv.Quote(field)+" "+desc, field, desc)
}

// routingErrorHandler answers requests no grpc-gateway route takes: 404 ROUTE_NOT_FOUND,
// or 405 METHOD_NOT_ALLOWED with Allow for a known path (grpc-gateway would map it to
// UNIMPLEMENTED, 501, a server error that pages people).
func (g *Gateway) routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		methodNotAllowed(w, r, g.allowed(r.URL.Path))
	case http.StatusNotFound:
		routeNotFound(w, r)
	default:
		writeStatus(w, r, http.StatusBadRequest, reasonStatus(ReasonRouteNotFound, "the request's path cannot be read"))
	}
}

func routeNotFound(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, r, http.StatusNotFound, reasonStatus(ReasonRouteNotFound,
		"no route for "+r.Method+" "+r.URL.Path+": the API's routes are listed in /openapi.json"))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow []string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeStatus(w, r, http.StatusMethodNotAllowed, reasonStatus(ReasonMethodNotAllowed,
		r.Method+" is not allowed on "+r.URL.Path+"; it takes "+strings.Join(allow, ", ")))
}

// bodyTooLarge answers a body over limit bytes.
func bodyTooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	writeStatus(w, r, http.StatusRequestEntityTooLarge, reasonStatus(ReasonBodyTooLarge,
		"the request body is over the limit of "+strconv.FormatInt(limit, 10)+" bytes"))
}

// badRequest answers VALIDATION_FAILED naming the field (a parameter, header or
// multipart field) the edge refused.
func badRequest(w http.ResponseWriter, r *http.Request, field, msg string) {
	writeStatus(w, r, http.StatusBadRequest, reasonStatus(server.ReasonValidationFailed, msg, field, msg))
}

// httpStatus answers a successful call with the status its RPC asked for in
// server.HTTPStatusHeader (202 for a registration), 200 otherwise. The header itself
// stays inside: the outgoing header matcher passes none.
func httpStatus(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}
	v := md.HeaderMD.Get(server.HTTPStatusHeader)
	if len(v) == 0 {
		return nil
	}
	code, err := strconv.Atoi(v[0])
	if err != nil || code < 200 || code > 299 {
		return fmt.Errorf("gateway: %s %q is not a success status", server.HTTPStatusHeader, v[0])
	}
	w.WriteHeader(code)
	return nil
}
